import { Effect, Redacted } from "effect"
import { describe, expect, it } from "vitest"
import { memoryPost, type RpcOutcome, type RpcValue } from "../../emulators/json-rpc-server.ts"
import { makeJsonRpcCall } from "../json-rpc.ts"
import { makeDcrdVspChain } from "./dcrd-chain.ts"

const TIP = "0".repeat(63) + "a"
const TICKET = "1".repeat(64)
const VOTE = "2".repeat(64)
const REVOCATION = "3".repeat(64)
const OTHER_TICKET = "4".repeat(64)

/** dcrd's replies, shaped as dcrd 2.x writes them (rpc/jsonrpc/types). */
const dcrd = (method: string, params: ReadonlyArray<unknown>): RpcOutcome => {
  const ok = (result: RpcValue): RpcOutcome => ({ result })
  switch (method) {
    case "getbestblock":
      return ok({ hash: TIP, height: 1234 })
    case "getblockheader":
      return ok({ hash: TIP, height: 1234, sbits: 2_310_000_001n, poolsize: 40960, confirmations: 1 })
    case "getblockchaininfo":
      return ok({
        chain: "simnet",
        blocks: 1234,
        headers: 1234,
        syncheight: 1240,
        bestblockhash: TIP,
        initialblockdownload: false,
        deployments: { changesubsidysplit: { status: "active", since: 100, starttime: 0, expiretime: 1 }, changesubsidysplitr2: { status: "started", starttime: 0, expiretime: 1 } },
      })
    case "getrawtransaction":
      if (params[0] === TICKET) return ok({ hex: "00", txid: TICKET, version: 1, vin: [], vout: [], blockhash: TIP, blockheight: 1229, blockindex: 0, confirmations: 6 })
      if (params[0] === VOTE) return ok({ hex: "01", txid: VOTE, version: 1, vin: [], vout: [] })
      return { error: { code: -5, message: "No information available about transaction" } }
    case "sendrawtransaction":
      if (params[0] === "dup") return { error: { code: -40, message: "rejected transaction 5: already have transaction 5" } }
      if (params[0] === "orphan") return { error: { code: -22, message: "rejected transaction 6: orphan transaction 6 references output 7:0 of unknown or fully-spent transaction 7" } }
      if (params[0] === "bad") return { error: { code: -22, message: "rejected transaction 8: transaction 8 has insufficient fee" } }
      return ok("5".repeat(64))
    case "existsliveticket":
      return ok(params[0] === TICKET)
    case "getvoteinfo":
      if (params[0] !== 11) return { error: { code: -8, message: `${String(params[0])}: unrecognized vote version` } }
      return ok({
        currentheight: 1234,
        voteversion: 11,
        agendas: [
          {
            id: "maxtreasuryspend",
            description: "",
            mask: 6,
            status: "active",
            choices: [
              { id: "abstain", bits: 0 },
              { id: "no", bits: 2 },
              { id: "yes", bits: 4 },
            ],
          },
        ],
      })
    case "getblockhash":
      return ok(TIP)
    case "getblock":
      return ok({
        hash: TIP,
        height: 1234,
        rawstx: [
          {
            txid: VOTE,
            vin: [
              { stakebase: "00", amountin: 1n },
              { txid: TICKET, vout: 0, tree: 1, amountin: 2n },
            ],
            vout: [
              { value: 0n, scriptPubKey: { type: "nulldata" } },
              { value: 0n, scriptPubKey: { type: "nulldata" } },
              { value: 2n, scriptPubKey: { type: "stakegen-pubkeyhash" } },
            ],
          },
          { txid: REVOCATION, vin: [{ txid: OTHER_TICKET, vout: 0, tree: 1 }], vout: [{ value: 2n, scriptPubKey: { type: "stakerevoke-pubkeyhash" } }] },
          // A ticket purchase also has one input: it spends no ticket.
          { txid: "5".repeat(64), vin: [{ txid: "6".repeat(64), vout: 0, tree: 0 }], vout: [{ value: 2n, scriptPubKey: { type: "stakesubmission-pubkeyhash" } }] },
        ],
      })
    default:
      return { error: { code: -32601, message: "Method not found" } }
  }
}

const chain = makeDcrdVspChain(
  makeJsonRpcCall(
    { url: "http://dcrd", user: "u", password: Redacted.make("p"), requestTimeoutMillis: 5_000 },
    memoryPost(() => (m, p) => Effect.succeed(dcrd(m, p))),
    { server: "dcrd" },
  ),
)
const run = <A, E>(e: Effect.Effect<A, E>) => Effect.runPromise(e)

describe("the voting service's dcrd over its JSON-RPC", () => {
  it("reads the tip's price exactly in atoms, and whether dcrd is in sync with the activations it reports", async () => {
    expect(await run(chain.tip)).toEqual({ height: 1234, hash: TIP, stakeDifficulty: 2_310_000_001n, poolSize: 40960 })
    expect(await run(chain.sync)).toEqual({ blocks: 1234, syncHeight: 1240, initialBlockDownload: false, activeSince: { changesubsidysplit: 100 } })
  })

  it("a mined transaction with its block, a mempool one without, an unknown one as nothing (dcrd's -5)", async () => {
    expect(await run(chain.transaction(TICKET))).toEqual({ hex: "00", confirmations: 6, blockHeight: 1229, blockHash: TIP })
    expect(await run(chain.transaction(VOTE))).toEqual({ hex: "01", confirmations: 0, blockHeight: undefined, blockHash: undefined })
    expect(await run(chain.transaction("f".repeat(64)))).toBeUndefined()
  })

  it("tells a duplicate broadcast (taken) from an orphan and from a refusal", async () => {
    expect(await run(chain.broadcast("good"))).toEqual({ kind: "accepted" })
    expect(await run(chain.broadcast("dup"))).toEqual({ kind: "already-known" })
    expect((await run(chain.broadcast("orphan"))).kind).toBe("orphan")
    expect(await run(chain.broadcast("bad"))).toEqual({ kind: "rejected", reason: "rejected transaction 8: transaction 8 has insufficient fee" })
  })

  it("reads a vote version's agendas and choices, and an unknown version as nothing (dcrd's -8)", async () => {
    expect(await run(chain.agendas(11))).toEqual([{ id: "maxtreasuryspend", choices: ["abstain", "no", "yes"] }])
    expect(await run(chain.agendas(99))).toBeUndefined()
  })

  it("finds the tickets a block's votes and revocations spend, and not a purchase's input", async () => {
    expect(await run(chain.ticketSpends(1234))).toEqual([
      { ticketHash: TICKET, kind: "vote", spenderHash: VOTE, height: 1234 },
      { ticketHash: OTHER_TICKET, kind: "revocation", spenderHash: REVOCATION, height: 1234 },
    ])
    expect(await run(chain.isLiveTicket(TICKET))).toBe(true)
  })
})
