import { afterEach, describe, expect, it } from "vitest"
import { MAINNET, SIMNET } from "../../core/chain/params.ts"
import { feeTx, makeStaker, startTestService, txHash } from "../../testkit/vsp.ts"
import { VspErrorCode } from "./api-types.ts"

const network = SIMNET
type Service = Awaited<ReturnType<typeof startTestService>>
const running: Array<Service> = []
afterEach(async () => {
  for (const s of running.splice(0)) await s.close()
})
const start = async (options: Omit<Parameters<typeof startTestService>[0], "network"> = {}) => {
  const s = await startTestService({ network, ...options })
  running.push(s)
  await s.poll()
  return s
}

type Staker = ReturnType<typeof makeStaker>
const PRICE = 10_000_000_000n

const feeAddressRequest = (t: ReturnType<Staker["ticket"]>, timestamp = 1_700_000_000) => JSON.stringify({ timestamp, tickethash: t.ticketHash, tickethex: t.ticketHex, parenthex: t.parentHex })

/** A ticket quoted by the service: its fee address and amount. */
const quoted = async (s: Service, staker: Staker, nonce = 0) => {
  const t = staker.ticket(PRICE, nonce)
  const body = feeAddressRequest(t)
  const reply = await s.post("feeaddress", body, staker.sign(body))
  expect(reply.status, reply.text).toBe(200)
  return { t, feeAddress: String(reply.json.feeaddress), feeAmount: BigInt(Number(reply.json.feeamount)) }
}

const payFeeRequest = (hash: string, fee: string, wif: string, timestamp = 1_700_000_001) =>
  JSON.stringify({ timestamp, tickethash: hash, feetx: fee, votingkey: wif, votechoices: {}, tspendpolicy: {}, treasurypolicy: {} })

/** The refusal is vspd's: its HTTP status, its code, signed like every answer, and nothing stored changed. */
const expectRefusal = async (s: Service, request: () => Promise<{ status: number; json: Record<string, unknown>; signed: boolean; text: string }>, status: number, code: number) => {
  const before = await s.snapshot()
  const reply = await request()
  expect({ status: reply.status, code: reply.json.code }, reply.text).toEqual({ status, code })
  expect(Object.keys(reply.json).sort()).toEqual(["code", "message"])
  expect(reply.signed).toBe(true)
  expect(await s.snapshot()).toEqual(before)
  return reply
}

describe("bad requests are refused with vspd's codes and change nothing stored", () => {
  it("a request without a signature", async () => {
    const s = await start()
    const t = makeStaker("a", network).ticket(PRICE)
    const reply = await expectRefusal(s, () => s.post("feeaddress", feeAddressRequest(t), undefined), 400, VspErrorCode.BadRequest)
    expect(reply.json.message).toBe("no VSP-Client-Signature header")
  })

  it("a ticket that is not the requester's: signed by another key than its commitment address", async () => {
    const s = await start()
    const owner = makeStaker("owner", network)
    const thief = makeStaker("thief", network)
    const body = feeAddressRequest(owner.ticket(PRICE))
    await expectRefusal(s, () => s.post("feeaddress", body, thief.sign(body)), 400, VspErrorCode.BadSignature)
    // A signature over another body does not do either.
    await expectRefusal(s, () => s.post("feeaddress", body, owner.sign(`${body} `)), 400, VspErrorCode.BadSignature)
  })

  it("a ticket that is not on chain: unknown to dcrd, or one dcrd refuses to take", async () => {
    const s = await start()
    const staker = makeStaker("a", network)
    const t = staker.ticket(PRICE)
    const status = JSON.stringify({ tickethash: t.ticketHash })
    await expectRefusal(s, () => s.post("ticketstatus", status, staker.sign(status)), 400, VspErrorCode.UnknownTicket)
    s.dcrd.state.refuse = () => "rejected transaction: inputs spent"
    const body = feeAddressRequest(t)
    await expectRefusal(s, () => s.post("feeaddress", body, staker.sign(body)), 500, VspErrorCode.CannotBroadcastTicket)
  })

  it("a parent whose inputs dcrd has not seen yet is tried again a second apart, as vspd does, then refused after 7 more tries", async () => {
    const s = await start()
    const staker = makeStaker("a", network)
    const late = staker.ticket(PRICE)
    s.dcrd.state.orphanFor.set(txHash(late.parentHex), 2)
    const body = feeAddressRequest(late)
    const reply = await s.post("feeaddress", body, staker.sign(body))
    expect(reply.status, reply.text).toBe(200)
    expect(s.dcrd.broadcasts.filter((h) => h === txHash(late.parentHex))).toHaveLength(3)
    const never = staker.ticket(PRICE, 1)
    s.dcrd.state.orphanFor.set(txHash(never.parentHex), 100)
    const refused = feeAddressRequest(never)
    await expectRefusal(s, () => s.post("feeaddress", refused, staker.sign(refused)), 500, VspErrorCode.CannotBroadcastTicket)
    expect(s.dcrd.broadcasts.filter((h) => h === txHash(never.parentHex))).toHaveLength(8)
  }, 20_000)

  it("a ticket hex that is no ticket, or does not match its hash", async () => {
    const s = await start()
    const staker = makeStaker("a", network)
    const t = staker.ticket(PRICE)
    const notATicket = JSON.stringify({ timestamp: 1, tickethash: t.ticketHash, tickethex: t.parentHex, parenthex: t.parentHex })
    await expectRefusal(s, () => s.post("feeaddress", notATicket, staker.sign(notATicket)), 400, VspErrorCode.InvalidTicket)
    const other = staker.ticket(PRICE, 1)
    const mismatch = JSON.stringify({ timestamp: 1, tickethash: t.ticketHash, tickethex: other.ticketHex, parenthex: other.parentHex })
    await expectRefusal(s, () => s.post("feeaddress", mismatch, staker.sign(mismatch)), 400, VspErrorCode.BadRequest)
  })

  it("an expired quote", async () => {
    const s = await start({ settings: { quoteLifetimeMillis: 1 } })
    const staker = makeStaker("a", network)
    const q = await quoted(s, staker)
    await new Promise((resolve) => setTimeout(resolve, 10))
    const body = payFeeRequest(q.t.ticketHash, feeTx(q.feeAddress, q.feeAmount, network), staker.votingWif)
    await expectRefusal(s, () => s.post("payfee", body, staker.sign(body)), 400, VspErrorCode.FeeExpired)
  })

  it("an underpaid fee", async () => {
    const s = await start()
    const staker = makeStaker("a", network)
    const q = await quoted(s, staker)
    const body = payFeeRequest(q.t.ticketHash, feeTx(q.feeAddress, q.feeAmount - 1n, network), staker.votingWif)
    await expectRefusal(s, () => s.post("payfee", body, staker.sign(body)), 400, VspErrorCode.FeeTooSmall)
  })

  it("a fee paid to another address than the one quoted", async () => {
    const s = await start()
    const staker = makeStaker("a", network)
    const q = await quoted(s, staker)
    const body = payFeeRequest(q.t.ticketHash, feeTx(staker.commitmentAddress, q.feeAmount, network), staker.votingWif)
    const reply = await expectRefusal(s, () => s.post("payfee", body, staker.sign(body)), 400, VspErrorCode.InvalidFeeTx)
    expect(reply.json.message).toBe(`feetx did not include any payments for fee address ${q.feeAddress}`)
  })

  it("a voting key that is not the ticket's", async () => {
    const s = await start()
    const staker = makeStaker("a", network)
    const q = await quoted(s, staker)
    const body = payFeeRequest(q.t.ticketHash, feeTx(q.feeAddress, q.feeAmount, network), makeStaker("b", network).votingWif)
    await expectRefusal(s, () => s.post("payfee", body, staker.sign(body)), 400, VspErrorCode.InvalidPrivKey)
  })

  it("another network's keys: a mainnet voting key, a mainnet alternate signing address", async () => {
    const s = await start()
    const staker = makeStaker("a", network)
    const q = await quoted(s, staker)
    const body = payFeeRequest(q.t.ticketHash, feeTx(q.feeAddress, q.feeAmount, network), makeStaker("a", MAINNET).votingWif)
    await expectRefusal(s, () => s.post("payfee", body, staker.sign(body)), 400, VspErrorCode.InvalidPrivKey)
    const alt = JSON.stringify({ timestamp: 1, tickethash: q.t.ticketHash, tickethex: q.t.ticketHex, parenthex: q.t.parentHex, altsignaddress: makeStaker("a", MAINNET).commitmentAddress })
    await expectRefusal(s, () => s.post("setaltsignaddr", alt, staker.sign(alt)), 400, VspErrorCode.BadRequest)
  })

  it("a second fee for a ticket whose fee was received", async () => {
    const s = await start()
    const staker = makeStaker("a", network)
    const q = await quoted(s, staker)
    const first = payFeeRequest(q.t.ticketHash, feeTx(q.feeAddress, q.feeAmount, network), staker.votingWif)
    expect((await s.post("payfee", first, staker.sign(first))).status).toBe(200)
    const second = payFeeRequest(q.t.ticketHash, feeTx(q.feeAddress, q.feeAmount + 5n, network, "again"), staker.votingWif, 1_700_000_002)
    await expectRefusal(s, () => s.post("payfee", second, staker.sign(second)), 400, VspErrorCode.FeeAlreadyReceived)
    const quoteAgain = feeAddressRequest(q.t, 1_700_000_003)
    await expectRefusal(s, () => s.post("feeaddress", quoteAgain, staker.sign(quoteAgain)), 400, VspErrorCode.FeeAlreadyReceived)
  })

  it("a replayed vote choice change: a timestamp not newer than the last accepted", async () => {
    const s = await start()
    const staker = makeStaker("a", network)
    const q = await quoted(s, staker)
    const pay = payFeeRequest(q.t.ticketHash, feeTx(q.feeAddress, q.feeAmount, network), staker.votingWif, 1_700_000_100)
    expect((await s.post("payfee", pay, staker.sign(pay))).status).toBe(200)
    const change = (timestamp: number) => JSON.stringify({ timestamp, tickethash: q.t.ticketHash, votechoices: { autorevocations: "no" }, tspendpolicy: {}, treasurypolicy: {} })
    await expectRefusal(s, () => s.post("setvotechoices", change(1_700_000_100), staker.sign(change(1_700_000_100))), 400, VspErrorCode.InvalidTimestamp)
    expect((await s.post("setvotechoices", change(1_700_000_101), staker.sign(change(1_700_000_101)))).status).toBe(200)
    // The same accepted request sent again is a replay.
    await expectRefusal(s, () => s.post("setvotechoices", change(1_700_000_101), staker.sign(change(1_700_000_101))), 400, VspErrorCode.InvalidTimestamp)
  })

  it("vote choices not of the voting wallets' vote version: setvotechoices refused, payfee registers the ticket without them (as vspd)", async () => {
    const s = await start()
    const staker = makeStaker("a", network)
    const q = await quoted(s, staker)
    const pay = JSON.stringify({
      timestamp: 1_700_000_001,
      tickethash: q.t.ticketHash,
      feetx: feeTx(q.feeAddress, q.feeAmount, network),
      votingkey: staker.votingWif,
      votechoices: { nosuchagenda: "yes" },
      tspendpolicy: {},
      treasurypolicy: {},
    })
    expect((await s.post("payfee", pay, staker.sign(pay))).status).toBe(200)
    const statusBody = JSON.stringify({ tickethash: q.t.ticketHash })
    expect((await s.post("ticketstatus", statusBody, staker.sign(statusBody))).json.votechoices).toEqual({})
    const change = (choices: Record<string, string>, timestamp: number) => JSON.stringify({ timestamp, tickethash: q.t.ticketHash, votechoices: choices, tspendpolicy: {}, treasurypolicy: {} })
    const unknownAgenda = change({ nosuchagenda: "yes" }, 1_700_000_010)
    const r1 = await expectRefusal(s, () => s.post("setvotechoices", unknownAgenda, staker.sign(unknownAgenda)), 400, VspErrorCode.InvalidVoteChoices)
    expect(r1.json.message).toBe('agenda "nosuchagenda" not found for vote version 11')
    const unknownChoice = change({ autorevocations: "maybe" }, 1_700_000_011)
    await expectRefusal(s, () => s.post("setvotechoices", unknownChoice, staker.sign(unknownChoice)), 400, VspErrorCode.InvalidVoteChoices)
    const good = change({ autorevocations: "no" }, 1_700_000_012)
    expect((await s.post("setvotechoices", good, staker.sign(good))).status).toBe(200)
    expect((await s.post("ticketstatus", statusBody, staker.sign(statusBody))).json.votechoices).toEqual({ autorevocations: "no" })
  })

  it("a body over 1 MiB", async () => {
    const s = await start()
    const staker = makeStaker("a", network)
    const t = staker.ticket(PRICE)
    const body = JSON.stringify({ timestamp: 1, tickethash: t.ticketHash, tickethex: t.ticketHex, parenthex: t.parentHex, padding: "x".repeat(1 << 20) })
    await expectRefusal(s, () => s.post("feeaddress", body, staker.sign(body)), 400, VspErrorCode.BadRequest)
  })

  it("a flood from one address: beyond its burst the service answers 429", async () => {
    const s = await start({ rateLimit: { perSecond: 1, burst: 3 } })
    const statuses: Array<number> = []
    for (let i = 0; i < 5; i++) statuses.push((await s.get("/api/v3/vspinfo")).status)
    expect(statuses).toEqual([200, 200, 200, 429, 429])
    const staker = makeStaker("a", network)
    const body = feeAddressRequest(staker.ticket(PRICE))
    await expectRefusal(s, () => s.post("feeaddress", body, staker.sign(body)), 429, VspErrorCode.BadRequest)
  })

  it("behind a trusted proxy each client has its own limit (X-Forwarded-For's last hop), and a forged first hop does not help", async () => {
    const s = await start({ rateLimit: { perSecond: 1, burst: 2 }, trustProxy: true })
    const from = async (forwarded: string) => (await s.get("/api/v3/vspinfo", { "x-forwarded-for": forwarded })).status
    expect([await from("10.0.0.1"), await from("10.0.0.1"), await from("10.0.0.1")]).toEqual([200, 200, 429])
    expect(await from("10.0.0.2")).toBe(200)
    expect(await from("1.2.3.4, 10.0.0.1")).toBe(429)
  })
})

describe("new tickets are refused while the service could not vote them reliably", () => {
  it("fewer than two voting wallets online: vsp closed, and open again once one is back", async () => {
    const s = await start()
    s.fleet.online.delete("vw1")
    s.fleet.online.delete("vw2")
    await s.poll()
    const info = await s.get("/api/v3/vspinfo")
    expect(info.json).toMatchObject({ vspclosed: true, votingwalletsonline: 1, totalvotingwallets: 3 })
    const staker = makeStaker("a", network)
    const body = feeAddressRequest(staker.ticket(PRICE))
    const reply = await expectRefusal(s, () => s.post("feeaddress", body, staker.sign(body)), 400, VspErrorCode.VspClosed)
    expect(reply.json.message).toContain("1 of 3 voting wallets are online")
    s.fleet.online.add("vw2")
    await s.poll()
    expect((await s.post("feeaddress", body, staker.sign(body))).status).toBe(200)
  })

  it("closed by the operator: vspinfo says so with the operator's message, feeaddress and payfee are refused, ticketstatus still answers", async () => {
    const s = await start({ settings: { closedMessage: "moving to a new server, back tomorrow" } })
    expect((await s.get("/api/v3/vspinfo")).json).toMatchObject({ vspclosed: true, vspclosedmsg: "moving to a new server, back tomorrow" })
    const staker = makeStaker("a", network)
    const body = feeAddressRequest(staker.ticket(PRICE))
    expect((await expectRefusal(s, () => s.post("feeaddress", body, staker.sign(body)), 400, VspErrorCode.VspClosed)).json.message).toBe("vsp is closed")
    // ticketstatus is not behind the open check (as vspd): it answers, here that the ticket is unknown.
    const status = JSON.stringify({ tickethash: staker.ticket(PRICE).ticketHash })
    await expectRefusal(s, () => s.post("ticketstatus", status, staker.sign(status)), 400, VspErrorCode.UnknownTicket)
  })

  it("dcrd behind the network or in its initial block download: vsp closed", async () => {
    const s = await start()
    const staker = makeStaker("a", network)
    const body = feeAddressRequest(staker.ticket(PRICE))
    s.dcrd.state.sync = { syncHeight: s.dcrd.height + 10 }
    await s.poll()
    expect((await expectRefusal(s, () => s.post("feeaddress", body, staker.sign(body)), 400, VspErrorCode.VspClosed)).json.message).toContain("10 blocks behind")
    s.dcrd.state.sync = { initialBlockDownload: true }
    await s.poll()
    await expectRefusal(s, () => s.post("feeaddress", body, staker.sign(body)), 400, VspErrorCode.VspClosed)
    s.dcrd.state.sync = undefined
    await s.poll()
    expect((await s.post("feeaddress", body, staker.sign(body))).status).toBe(200)
  })
})
