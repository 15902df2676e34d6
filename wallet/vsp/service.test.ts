import { afterEach, describe, expect, it } from "vitest"
import { SIMNET } from "../../core/chain/params.ts"
import { feeTx, makeStaker, startTestService } from "../../testkit/vsp.ts"

const network = SIMNET
const running: Array<{ close: () => Promise<void> }> = []
afterEach(async () => {
  for (const s of running.splice(0)) await s.close()
})
const start = async (options: Omit<Parameters<typeof startTestService>[0], "network"> = {}) => {
  const s = await startTestService({ network, ...options })
  running.push(s)
  return s
}

const base64 = (text: string) => Buffer.from(text).toString("base64")

describe("the voting service's happy path, as dcrwallet drives it", () => {
  it("quotes a fee, takes the payment, broadcasts the fee once the ticket has 6 confirmations, and hands the ticket to the voting wallets once the fee has 6", async () => {
    const { dcrd, fleet, post, get, poll } = await start()
    await poll()
    const info = await get("/api/v3/vspinfo")
    expect(info.status).toBe(200)
    expect(info.signed).toBe(true)
    expect(info.json).toMatchObject({ apiversions: [3], network: "simnet", vspclosed: false, feepercentage: 3, totalvotingwallets: 3, votingwalletsonline: 3 })

    const staker = makeStaker("alice", network)
    const t = staker.ticket(10_000_000_000n)
    const feeRequest = JSON.stringify({ timestamp: 1_700_000_000, tickethash: t.ticketHash, tickethex: t.ticketHex, parenthex: t.parentHex })
    const quote = await post("feeaddress", feeRequest, staker.sign(feeRequest))
    expect(quote.status, quote.text).toBe(200)
    expect(quote.signed).toBe(true)
    expect(quote.json.request).toBe(base64(feeRequest))
    expect(dcrd.has(t.ticketHash)).toBe(true)
    const feeAddress = String(quote.json.feeaddress)
    const feeAmount = BigInt(Number(quote.json.feeamount))
    expect(feeAmount > 0n).toBe(true)

    const fee = feeTx(feeAddress, feeAmount, network)
    const payRequest = JSON.stringify({
      timestamp: 1_700_000_001,
      tickethash: t.ticketHash,
      feetx: fee,
      votingkey: staker.votingWif,
      votechoices: { autorevocations: "yes" },
      tspendpolicy: {},
      treasurypolicy: {},
    })
    const paid = await post("payfee", payRequest, staker.sign(payRequest))
    expect(paid.status, paid.text).toBe(200)
    expect(paid.signed).toBe(true)

    const statusRequest = JSON.stringify({ tickethash: t.ticketHash })
    const status = async () => (await post("ticketstatus", statusRequest, staker.sign(statusRequest))).json
    expect(await status()).toMatchObject({ ticketconfirmed: false, feetxstatus: "received", votechoices: { autorevocations: "yes" } })

    dcrd.mine(5)
    await poll()
    expect(await status()).toMatchObject({ ticketconfirmed: false, feetxstatus: "received" })
    dcrd.mine(1)
    await poll()
    expect(await status()).toMatchObject({ ticketconfirmed: true, feetxstatus: "broadcast" })
    expect(fleet.added).toEqual([])
    dcrd.mine(5)
    await poll()
    expect(fleet.added).toEqual([])
    dcrd.mine(1)
    await poll()
    expect(await status()).toMatchObject({ ticketconfirmed: true, feetxstatus: "confirmed" })
    expect(fleet.added.map((v) => [v.hash, v.votingKeyWif, v.voteChoices])).toEqual([[t.ticketHash, staker.votingWif, { autorevocations: "yes" }]])
    // The consistency check runs on every block with every votable ticket.
    expect(fleet.reconciled.at(-1)?.map((v) => v.hash)).toEqual([t.ticketHash])
  })
})
