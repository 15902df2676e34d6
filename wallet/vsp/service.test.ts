import { Effect, Exit, Layer, Scope } from "effect"
import { afterEach, describe, expect, it } from "vitest"
import { SIMNET } from "../../core/chain/params.ts"
import { verifyResponse } from "../../core/vsp/server-key.ts"
import { feeTx, makeFakeDcrd, makeRecordingFleet, makeStaker, memoryStore, testFeeXpub, testKey } from "../../testkit/vsp.ts"
import { runVotingService, type RunningVotingService } from "./service.ts"

const network = SIMNET
const scopes: Array<Scope.Closeable> = []
afterEach(async () => {
  for (const s of scopes.splice(0)) await Effect.runPromise(Scope.close(s, Exit.void))
})

interface Reply {
  readonly status: number
  readonly text: string
  readonly json: Record<string, unknown>
}

/** A service on a free port over a fake dcrd and a recording fleet; polls only when the test says. */
const start = async (overrides: { readonly minVotingWallets?: number; readonly walletNames?: ReadonlyArray<string> } = {}) => {
  const dcrd = makeFakeDcrd(network)
  const fleet = makeRecordingFleet(overrides.walletNames)
  const scope = await Effect.runPromise(Scope.make())
  scopes.push(scope)
  const services = await Effect.runPromise(Layer.buildWithScope(Layer.mergeAll(memoryStore, dcrd.layer, fleet.layer), scope))
  const service: RunningVotingService = await Effect.runPromise(
    runVotingService({
      settings: {
        network,
        feePercent: 3,
        serverSeed: testKey("server"),
        requiredConfirmations: 6,
        quoteLifetimeMillis: 3_600_000,
        minVotingWallets: overrides.minVotingWallets ?? 2,
        maxSyncLagBlocks: 2,
        closedMessage: undefined,
      },
      feeXpub: testFeeXpub("fees", network),
      http: { host: "127.0.0.1", port: 0, adminPassword: undefined, dcrdHost: "fake" },
      pollMillis: 3_600_000,
    }).pipe(Effect.provide(services), Scope.provide(scope)),
  )
  const send = async (path: string, init: RequestInit): Promise<Reply> => {
    const res = await fetch(`${service.url}${path}`, init)
    const text = await res.text()
    // Every answer, refusals included, is signed by the service key over the exact bytes.
    expect(verifyResponse(service.publicKey, new TextEncoder().encode(text), res.headers.get("vsp-server-signature") ?? "")).toBe(true)
    return { status: res.status, text, json: JSON.parse(text) as Record<string, unknown> }
  }
  const post = (path: string, body: string, signature: string | undefined) =>
    send(`/api/v3/${path}`, { method: "POST", body, headers: signature === undefined ? {} : { "VSP-Client-Signature": signature } })
  const poll = () => Effect.runPromise(service.poll)
  return { dcrd, fleet, service, post, get: (path: string) => send(path, { method: "GET" }), poll }
}

const base64 = (text: string) => Buffer.from(text).toString("base64")

describe("the voting service's happy path, as dcrwallet drives it", () => {
  it("quotes a fee, takes the payment, broadcasts the fee once the ticket has 6 confirmations, and hands the ticket to the voting wallets once the fee has 6", async () => {
    const { dcrd, fleet, post, get, poll } = await start()
    await poll()
    const info = await get("/api/v3/vspinfo")
    expect(info.status).toBe(200)
    expect(info.json).toMatchObject({ apiversions: [3], network: "simnet", vspclosed: false, feepercentage: 3, totalvotingwallets: 3, votingwalletsonline: 3 })

    const staker = makeStaker("alice", network)
    const t = staker.ticket(10_000_000_000n)
    const feeRequest = JSON.stringify({ timestamp: 1_700_000_000, tickethash: t.ticketHash, tickethex: t.ticketHex, parenthex: t.parentHex })
    const quote = await post("feeaddress", feeRequest, staker.sign(feeRequest))
    expect(quote.status, quote.text).toBe(200)
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
