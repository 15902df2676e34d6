import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterEach, describe, expect, it } from "vitest"
import { SIMNET } from "../../core/chain/params.ts"
import { feeTx, makeFakeDcrd, makeRecordingFleet, makeStaker, startTestService, testFeeXpub } from "../../testkit/vsp.ts"
import { feeAddress } from "../../core/vsp/keys.ts"
import { Result } from "effect"
import { VspErrorCode } from "./api-types.ts"

const network = SIMNET
type Service = Awaited<ReturnType<typeof startTestService>>
const running: Array<Service> = []
const dirs: Array<string> = []
afterEach(async () => {
  for (const s of running.splice(0)) await s.close()
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})
const start = async (options: Omit<Parameters<typeof startTestService>[0], "network"> = {}) => {
  const s = await startTestService({ network, ...options })
  running.push(s)
  await s.poll()
  return s
}

const PRICE = 10_000_000_000n
type Staker = ReturnType<typeof makeStaker>

/** feeaddress then payfee, as dcrwallet sends them; answers the ticket and its fee tx. */
const register = async (s: Service, staker: Staker, nonce = 0) => {
  const t = staker.ticket(PRICE, nonce)
  const quoteBody = JSON.stringify({ timestamp: 1_700_000_000, tickethash: t.ticketHash, tickethex: t.ticketHex, parenthex: t.parentHex })
  const quote = await s.post("feeaddress", quoteBody, staker.sign(quoteBody))
  expect(quote.status, quote.text).toBe(200)
  const fee = feeTx(String(quote.json.feeaddress), BigInt(Number(quote.json.feeamount)), network, `${nonce}`)
  const payBody = JSON.stringify({ timestamp: 1_700_000_001, tickethash: t.ticketHash, feetx: fee, votingkey: staker.votingWif, votechoices: {}, tspendpolicy: {}, treasurypolicy: {} })
  const paid = await s.post("payfee", payBody, staker.sign(payBody))
  return { t, fee, feeAddress: String(quote.json.feeaddress), paid, payBody }
}

const mineAndPoll = async (s: Service, blocks: number) => {
  for (let i = 0; i < blocks; i++) {
    s.dcrd.mine(1)
    await s.poll()
  }
}

describe("the lifecycle survives a restart: the store is the queue", () => {
  it("after a kill, the fee is not taken twice, the ticket is not lost, and no fee address index is handed out again", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "vsp-restart-"))
    dirs.push(dataDir)
    const dcrd = makeFakeDcrd(network)
    const fleet = makeRecordingFleet()
    const staker = makeStaker("alice", network)
    const first = await startTestService({ network, dcrd, fleet, dataDir })
    await first.poll()
    const r = await register(first, staker)
    expect(r.paid.status, r.paid.text).toBe(200)
    dcrd.mine(3)
    await first.poll()
    await first.close()

    const again = await start({ dcrd, fleet, dataDir })
    // The staker's wallet retries payfee (it never saw the answer): the fee is already received.
    const retry = await again.post("payfee", r.payBody, staker.sign(r.payBody))
    expect(retry.json.code).toBe(VspErrorCode.FeeAlreadyReceived)
    await mineAndPoll(again, 3)
    const statusBody = JSON.stringify({ tickethash: r.t.ticketHash })
    const feeHash = String((await again.post("ticketstatus", statusBody, staker.sign(statusBody))).json.feetxhash)
    expect(dcrd.has(feeHash)).toBe(true)
    await mineAndPoll(again, 6)
    expect(fleet.added.map((v) => v.hash)).toEqual([r.t.ticketHash])
    // Broadcast once when the ticket reached 6 confirmations, never again after.
    expect(dcrd.broadcasts.filter((h) => h === feeHash)).toHaveLength(1)
    const second = await register(again, staker, 1)
    // vspd's generator: index 0 is never handed out, then 1, 2, ... across restarts.
    const xpub = testFeeXpub("fees", network)
    expect([r.feeAddress, second.feeAddress]).toEqual([1, 2].map((i) => Result.getOrThrow(feeAddress(xpub, i, network))))
  })

  it("a ticket whose hand-over was lost still reaches the wallets: every block's consistency check carries every votable ticket", async () => {
    const fleet = makeRecordingFleet()
    const s = await start({ fleet })
    const staker = makeStaker("bob", network)
    const r = await register(s, staker)
    // Every wallet down when the fee confirms: addTicket fails.
    for (const name of ["vw1", "vw2", "vw3"]) fleet.online.delete(name)
    await mineAndPoll(s, 12)
    expect(fleet.added).toEqual([])
    expect(fleet.reconciled.at(-1)?.map((v) => v.hash)).toEqual([r.t.ticketHash])
  })

  it("a ticket dcrd forgot is offered again; one dcrd refuses is forgotten, as vspd forgets it", async () => {
    const s = await start()
    const staker = makeStaker("carol", network)
    const kept = await register(s, staker)
    const dropped = await register(s, staker, 1)
    // dcrd restarted with an empty mempool; the second ticket's inputs were spent meanwhile.
    s.dcrd.forget(kept.t.ticketHash)
    s.dcrd.forget(dropped.t.ticketHash)
    s.dcrd.state.refuse = (hash) => (hash === dropped.t.ticketHash ? "rejected transaction: double spend" : undefined)
    await mineAndPoll(s, 1)
    expect(s.dcrd.has(kept.t.ticketHash)).toBe(true)
    const status = (hash: string) => JSON.stringify({ tickethash: hash })
    expect((await s.post("ticketstatus", status(kept.t.ticketHash), staker.sign(status(kept.t.ticketHash)))).json.feetxstatus).toBe("received")
    expect((await s.post("ticketstatus", status(dropped.t.ticketHash), staker.sign(status(dropped.t.ticketHash)))).json.code).toBe(VspErrorCode.UnknownTicket)
  })
})

describe("the timed polls", () => {
  it("a pass that dies is logged and the next poll runs: the fee is still broadcast", async () => {
    const dcrd = makeFakeDcrd(network)
    const s = await start({ dcrd, pollMillis: 20 })
    const staker = makeStaker("dan", network)
    const r = await register(s, staker)
    dcrd.state.dyingTips = 3
    dcrd.mine(6)
    const statusBody = JSON.stringify({ tickethash: r.t.ticketHash })
    let status = ""
    for (let i = 0; i < 100 && status !== "broadcast"; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20))
      status = String((await s.post("ticketstatus", statusBody, staker.sign(statusBody))).json.feetxstatus)
    }
    expect(dcrd.state.dyingTips).toBe(0)
    expect(status).toBe("broadcast")
  })
})

describe("outcomes from the chain's votes and revocations", () => {
  it("a vote settles voted; a revocation before the expiry height settles missed; both are counted in vspinfo and /metrics", async () => {
    const s = await start()
    const a = makeStaker("a", network)
    const b = makeStaker("b", network)
    const ra = await register(s, a)
    const rb = await register(s, b)
    await mineAndPoll(s, 12)
    expect((await s.get("/api/v3/vspinfo")).json).toMatchObject({ voting: 2, voted: 0, missed: 0, estimatednetworkproportion: 2 / 40_960 })
    s.dcrd.spendInNextBlock([
      { ticketHash: ra.t.ticketHash, kind: "vote", spenderHash: "e".repeat(64) },
      { ticketHash: rb.t.ticketHash, kind: "revocation", spenderHash: "f".repeat(64) },
    ])
    await mineAndPoll(s, 1)
    expect((await s.get("/api/v3/vspinfo")).json).toMatchObject({ voting: 0, voted: 1, missed: 1, expired: 0 })
    const metrics = (await s.get("/metrics")).text
    expect(metrics).toContain('dcrforge_vsp_tickets{status="voted"} 1')
    expect(metrics).toContain('dcrforge_vsp_tickets{status="missed"} 1')
    expect(metrics).toContain("dcrforge_vsp_voting_wallets_online 3")
    expect(metrics).toMatch(/dcrforge_vsp_fees_collected_atoms [1-9]\d*/)
    // A spent ticket's choices cannot change any more.
    const change = JSON.stringify({ timestamp: 1_800_000_000, tickethash: ra.t.ticketHash, votechoices: {}, tspendpolicy: {}, treasurypolicy: {} })
    expect((await s.post("setvotechoices", change, a.sign(change))).json.code).toBe(VspErrorCode.TicketCannotVote)
  })
})

describe("operators", () => {
  it("/admin/status: basic auth as admin; 200 while every voting wallet votes, 500 when one is down, with vspd's fields", async () => {
    const fleet = makeRecordingFleet()
    const s = await start({ fleet, adminPassword: "pw" })
    const auth = (p: string) => ({ authorization: `Basic ${Buffer.from(`admin:${p}`).toString("base64")}` })
    expect((await s.get("/admin/status")).status).toBe(401)
    expect((await s.get("/admin/status", auth("wrong"))).status).toBe(401)
    const healthy = await s.get("/admin/status", auth("pw"))
    expect(healthy.status).toBe(200)
    expect(healthy.json).toMatchObject({
      wallets: { vw1: { connected: true, unlocked: true, voting: true, voteversion: 11, bestblockheight: 0, infoerror: false, daemonconnected: true, bestblockerror: false } },
      dcrd: { connected: true, bestblockheight: s.dcrd.height },
    })
    // 3 a second per client, as vspd: the fourth within the second is refused.
    expect((await s.get("/admin/status", auth("pw"))).status).toBe(429)
    await new Promise((resolve) => setTimeout(resolve, 1100))
    fleet.online.delete("vw2")
    const sick = await s.get("/admin/status", auth("pw"))
    expect(sick.status).toBe(500)
    expect(sick.json).toMatchObject({ wallets: { vw2: { connected: false } } })
  })

  it("/admin: the page with counts, and a ticket found by its hash", async () => {
    const s = await start({ adminPassword: "pw" })
    const staker = makeStaker("a", network)
    const r = await register(s, staker)
    const headers = { authorization: `Basic ${Buffer.from("admin:pw").toString("base64")}` }
    const page = await s.get(`/admin?ticket=${r.t.ticketHash}`, headers)
    expect(page.status).toBe(200)
    expect(page.text).toContain(r.feeAddress)
    expect(page.text).toContain("received")
    expect((await s.get("/admin")).status).toBe(401)
  })
})

describe("the alternate signing address", () => {
  it("once set, requests signed by it are accepted; a second one is refused", async () => {
    const s = await start()
    const staker = makeStaker("a", network)
    const alt = makeStaker("alt", network)
    const t = staker.ticket(PRICE)
    const body = JSON.stringify({ timestamp: 1, tickethash: t.ticketHash, tickethex: t.ticketHex, parenthex: t.parentHex, altsignaddress: alt.commitmentAddress })
    const set = await s.post("setaltsignaddr", body, staker.sign(body))
    expect(set.status, set.text).toBe(200)
    const quote = JSON.stringify({ timestamp: 2, tickethash: t.ticketHash, tickethex: t.ticketHex, parenthex: t.parentHex })
    expect((await s.post("feeaddress", quote, alt.sign(quote))).status).toBe(200)
    const status = JSON.stringify({ tickethash: t.ticketHash })
    expect((await s.post("ticketstatus", status, alt.sign(status))).json.altsignaddress).toBe(alt.commitmentAddress)
    expect((await s.post("setaltsignaddr", body, staker.sign(body))).json).toMatchObject({ code: VspErrorCode.BadRequest, message: "alternate sign address data already exists" })
  })
})
