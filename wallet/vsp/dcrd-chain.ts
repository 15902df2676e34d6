import { Effect, Layer, Result, Schema, type Scope } from "effect"
import { dcrToAtoms } from "../../core/chain/amounts.ts"
import { jsonRpcClient, type JsonRpcCall, type JsonRpcEndpoint, type JsonRpcFailure } from "../json-rpc.ts"
import { type AgendaChoices, type BroadcastOutcome, type ChainSync, type ChainTip, type ChainTransaction, type TicketSpend, VspChain, VspChainUnavailable } from "./chain.ts"

/**
 * `VspChain` over dcrd's JSON-RPC (HTTP POST, the same port as its websocket): getbestblock,
 * getblockheader, getblockchaininfo, getrawtransaction, sendrawtransaction, existsliveticket,
 * getblockhash and getblock for the stake transactions. New blocks are found by polling the
 * tip (see lifecycle.ts); dcrd's block notifications need its websocket, and one call a second
 * is cheap.
 */

// dcrd's dcrjson error codes (rpc/jsonrpc/types/jsonrpcerr.go).
const ERR_NO_TX_INFO = -5
const ERR_INVALID_PARAMETER = -8
const ERR_DUPLICATE_TX = -40
/** dcrd's mempool words for a transaction spending outputs it does not know (vspd matches the same). */
const ORPHAN = /orphan transaction \w+ references output \w+:\d+ of unknown or fully-spent transaction/

const BestBlock = Schema.Struct({ hash: Schema.String, height: Schema.Number })
// sbits is a float in DCR; the client keeps fractional numbers as their text (parseJsonExact).
const HeaderSbits = Schema.Struct({ sbits: Schema.Union([Schema.String, Schema.Number]), poolsize: Schema.Number })
const BlockchainInfo = Schema.Struct({
  blocks: Schema.Number,
  syncheight: Schema.Number,
  initialblockdownload: Schema.Boolean,
  deployments: Schema.optionalKey(Schema.Record(Schema.String, Schema.Struct({ status: Schema.String, since: Schema.optionalKey(Schema.Number) }))),
})
const RawTx = Schema.Struct({
  hex: Schema.String,
  confirmations: Schema.optionalKey(Schema.Number),
  blockheight: Schema.optionalKey(Schema.Number),
  blockhash: Schema.optionalKey(Schema.String),
})
const StakeTx = Schema.Struct({
  txid: Schema.String,
  vin: Schema.Array(Schema.Struct({ stakebase: Schema.optionalKey(Schema.String), txid: Schema.optionalKey(Schema.String) })),
  vout: Schema.Array(Schema.Struct({ scriptPubKey: Schema.Struct({ type: Schema.String }) })),
})
const VoteInfo = Schema.Struct({
  agendas: Schema.optionalKey(Schema.Array(Schema.Struct({ id: Schema.String, choices: Schema.Array(Schema.Struct({ id: Schema.String })) }))),
})
const VerboseBlock = Schema.Struct({ height: Schema.Number, rawstx: Schema.optionalKey(Schema.Array(StakeTx)) })

const unavailable = (method: string) => (e: JsonRpcFailure | Schema.SchemaError) =>
  new VspChainUnavailable({ method, reason: e._tag === "SchemaError" ? `an unexpected reply: ${e.message}` : e.message })

const decode =
  <T, E>(method: string, schema: Schema.Codec<T, E>) =>
  (reply: unknown) =>
    Schema.decodeUnknownEffect(schema)(reply).pipe(Effect.mapError(unavailable(method)))

const isRefusal = (e: JsonRpcFailure, code: number): boolean => e._tag === "JsonRpcRefused" && e.code === code

export const makeDcrdVspChain = (call: JsonRpcCall): VspChain["Service"] => {
  const ask = <T, E>(method: string, params: ReadonlyArray<unknown>, schema: Schema.Codec<T, E>) =>
    call(method, params).pipe(Effect.mapError(unavailable(method)), Effect.flatMap(decode(method, schema)))

  const tip: Effect.Effect<ChainTip, VspChainUnavailable> = Effect.gen(function* () {
    const best = yield* ask("getbestblock", [], BestBlock)
    const header = yield* ask("getblockheader", [best.hash, true], HeaderSbits)
    const atoms = dcrToAtoms(String(header.sbits))
    if (Result.isFailure(atoms)) return yield* new VspChainUnavailable({ method: "getblockheader", reason: `sbits ${String(header.sbits)} is no DCR amount` })
    return { height: best.height, hash: best.hash, stakeDifficulty: atoms.success, poolSize: header.poolsize }
  })

  const sync: Effect.Effect<ChainSync, VspChainUnavailable> = Effect.map(ask("getblockchaininfo", [], BlockchainInfo), (info) => {
    const activeSince: Record<string, number> = {}
    for (const [id, d] of Object.entries(info.deployments ?? {})) if (d.status === "active" && d.since !== undefined) activeSince[id] = d.since
    return { blocks: info.blocks, syncHeight: info.syncheight, initialBlockDownload: info.initialblockdownload, activeSince }
  })

  const transaction = (hash: string): Effect.Effect<ChainTransaction | undefined, VspChainUnavailable> =>
    call("getrawtransaction", [hash, 1]).pipe(
      Effect.map((reply): unknown => reply),
      Effect.catchIf(
        (e) => isRefusal(e, ERR_NO_TX_INFO),
        () => Effect.succeed(undefined),
      ),
      Effect.mapError(unavailable("getrawtransaction")),
      Effect.flatMap((reply) =>
        reply === undefined
          ? Effect.succeed(undefined)
          : Effect.map(decode("getrawtransaction", RawTx)(reply), (tx) => ({
              hex: tx.hex,
              confirmations: tx.confirmations ?? 0,
              blockHeight: tx.blockhash === undefined || tx.blockhash === "" ? undefined : tx.blockheight,
              blockHash: tx.blockhash === undefined || tx.blockhash === "" ? undefined : tx.blockhash,
            })),
      ),
    )

  const broadcast = (hex: string): Effect.Effect<BroadcastOutcome, VspChainUnavailable> =>
    call("sendrawtransaction", [hex, false]).pipe(
      Effect.map((): BroadcastOutcome => ({ kind: "accepted" })),
      Effect.catch((e): Effect.Effect<BroadcastOutcome, VspChainUnavailable> => {
        if (e._tag !== "JsonRpcRefused") return Effect.fail(unavailable("sendrawtransaction")(e))
        if (e.code === ERR_DUPLICATE_TX) return Effect.succeed({ kind: "already-known" })
        if (ORPHAN.test(e.reason)) return Effect.succeed({ kind: "orphan", reason: e.reason })
        return Effect.succeed({ kind: "rejected", reason: e.reason })
      }),
    )

  const isLiveTicket = (hash: string) => ask("existsliveticket", [hash], Schema.Boolean)

  const ticketSpends = (height: number): Effect.Effect<ReadonlyArray<TicketSpend>, VspChainUnavailable> =>
    Effect.gen(function* () {
      const hash = yield* ask("getblockhash", [height], Schema.String)
      const block = yield* ask("getblock", [hash, true, true], VerboseBlock)
      const spends: Array<TicketSpend> = []
      for (const tx of block.rawstx ?? []) {
        const [first, second] = tx.vin
        // A vote's first input is the stakebase and its second the ticket; a revocation's only
        // input is the ticket and every output pays a stakerevoke-pubkeyhash or -scripthash script. Tickets (one input
        // too) and treasury transactions spend no ticket.
        const revocation = tx.vin.length === 1 && tx.vout.length > 0 && tx.vout.every((o) => o.scriptPubKey.type.startsWith("stakerevoke"))
        if (first?.stakebase !== undefined && second?.txid !== undefined) spends.push({ ticketHash: second.txid, kind: "vote", spenderHash: tx.txid, height })
        else if (revocation && first?.txid !== undefined) spends.push({ ticketHash: first.txid, kind: "revocation", spenderHash: tx.txid, height })
      }
      return spends
    })

  const agendas = (voteVersion: number): Effect.Effect<ReadonlyArray<AgendaChoices> | undefined, VspChainUnavailable> =>
    call("getvoteinfo", [voteVersion]).pipe(
      Effect.map((reply): unknown => reply),
      // "N: unrecognized vote version"
      Effect.catchIf(
        (e) => isRefusal(e, ERR_INVALID_PARAMETER),
        () => Effect.succeed(undefined),
      ),
      Effect.mapError(unavailable("getvoteinfo")),
      Effect.flatMap((reply) =>
        reply === undefined
          ? Effect.succeed(undefined)
          : Effect.map(decode("getvoteinfo", VoteInfo)(reply), (info) => (info.agendas ?? []).map((a) => ({ id: a.id, choices: a.choices.map((c) => c.id) }))),
      ),
    )

  return { tip, sync, transaction, broadcast, isLiveTicket, agendas, ticketSpends }
}

/** The live chain: dcrd's JSON-RPC at `endpoint`, trusting only its certificate. */
export const dcrdVspChainLayer = (endpoint: JsonRpcEndpoint): Layer.Layer<VspChain> =>
  Layer.effect(VspChain, Effect.map(jsonRpcClient(endpoint, { server: "dcrd" }), makeDcrdVspChain) as Effect.Effect<VspChain["Service"], never, Scope.Scope>)
