import { Context, Effect, Layer, Redacted, Result, Schema } from "effect"
import { WalletRpcError, type WalletFailure } from "../core/services/wallet.ts"
import { atomsToDcr, dcrToAtoms } from "../core/chain/amounts.ts"
import { makeDcrwalletCall } from "./dcrwallet-rpc.ts"
import { JsonLiteral, trustingPost, type HttpPost } from "./json-rpc.ts"
import type { PurchaseTicketRequest } from "./purchase.ts"
import { safeRatio, type StakeInfo } from "./stakeinfo.ts"

/**
 * The staker's side of a real dcrwallet: buying tickets (`purchaseticket`, in the form the
 * wallet speaks) and reading its `getstakeinfo`, over the same HTTP POST JSON-RPC the payout
 * adapter uses. Voting is the wallet's own business (`--enablevoting`).
 */
export class StakingWallet extends Context.Service<
  StakingWallet,
  {
    /** Buys the request's tickets; the wallet's txids of the tickets it published. */
    readonly purchaseTickets: (request: PurchaseTicketRequest) => Effect.Effect<ReadonlyArray<string>, WalletFailure>
    /** The wallet's `getstakeinfo`, amounts in atoms, ratios rebuilt exactly from its counts. */
    readonly stakeInfo: Effect.Effect<StakeInfo, WalletFailure>
    /** Its tickets (`gettickets true`): mempool, immature and live, as txids. */
    readonly tickets: Effect.Effect<ReadonlyArray<string>, WalletFailure>
  }
>()("dcrforge/StakingWallet") {}

interface StakingWalletOptions {
  /** dcrwallet's JSON-RPC endpoint, e.g. `https://127.0.0.1:19557`. */
  readonly url: string
  readonly user: string
  readonly password: Redacted.Redacted<string>
  /** dcrwallet's rpc.cert (PEM), trusted alone. */
  readonly certificate?: string | undefined
  readonly requestTimeoutMillis: number
}

/**
 * `purchaseticket` params (JSON texts) for a request in its own form; what `parsePurchaseTicket`
 * reads back. Optional trailing params are left out rather than sent as null.
 */
export const purchaseTicketParams = (request: PurchaseTicketRequest): Array<string> => {
  const params: Array<string | undefined> =
    request.form === "current"
      ? [
          JSON.stringify(request.account),
          String(request.minConf),
          String(request.numTickets),
          request.expiry === undefined ? undefined : String(request.expiry),
          request.comment === undefined ? undefined : JSON.stringify(request.comment),
        ]
      : [
          JSON.stringify(request.account),
          // A JSON number literal written from the atoms, never through a float.
          atomsToDcr(request.spendLimit ?? 0n),
          String(request.minConf),
          request.ticketAddress === undefined ? undefined : JSON.stringify(request.ticketAddress.address),
          String(request.numTickets),
          request.pool === undefined ? undefined : JSON.stringify(request.pool.address.address),
          request.pool === undefined ? undefined : basisPointsToPercent(request.pool.feeBasisPoints),
          request.expiry === undefined ? undefined : String(request.expiry),
          request.comment === undefined ? undefined : JSON.stringify(request.comment),
        ]
  // Positional params: a gap must be filled with null, a tail can be dropped.
  let last = params.length - 1
  while (last >= 0 && params[last] === undefined) last--
  return params.slice(0, last + 1).map((p) => p ?? "null")
}

const basisPointsToPercent = (bp: number): string => {
  const fraction = String(bp % 100)
    .padStart(2, "0")
    .replace(/0+$/, "")
  return `${Math.floor(bp / 100)}${fraction === "" ? "" : "." + fraction}`
}

const Count = Schema.optional(Schema.Number)
const StakeInfoReply = Schema.Struct({
  blockheight: Schema.Number,
  difficulty: Schema.Union([Schema.String, Schema.Number]),
  totalsubsidy: Schema.Union([Schema.String, Schema.Number]),
  ownmempooltix: Schema.Number,
  immature: Schema.Number,
  unspent: Schema.Number,
  voted: Schema.Number,
  revoked: Schema.Number,
  unspentexpired: Schema.Number,
  // dcrwallet leaves zero-valued ones out, and SPV wallets all of these.
  poolsize: Count,
  allmempooltix: Count,
  live: Count,
  missed: Count,
  expired: Count,
})
const Hashes = Schema.Array(Schema.String)
const TicketsReply = Schema.Struct({ hashes: Schema.NullOr(Hashes) })

const EXACT_KEYS: ReadonlySet<string> = new Set(["difficulty", "totalsubsidy"])

export const makeDcrwalletStaking = (options: StakingWalletOptions, post: HttpPost): StakingWallet["Service"] => {
  const call = makeDcrwalletCall(options, post, EXACT_KEYS)

  const resultOf = <A>(method: string, schema: Schema.Codec<A, unknown>, value: unknown): Effect.Effect<A, WalletFailure> => {
    const decoded = Schema.decodeUnknownResult(schema)(value)
    return Result.isSuccess(decoded)
      ? Effect.succeed(decoded.success)
      : Effect.fail(new WalletRpcError({ method, code: -1, reason: `unexpected reply shape: ${JSON.stringify(value)?.slice(0, 200)}` }))
  }

  const atoms = (method: string, value: string | number, field: string): Effect.Effect<bigint, WalletFailure> => {
    const r = dcrToAtoms(value, field)
    return Result.isSuccess(r) ? Effect.succeed(r.success) : Effect.fail(new WalletRpcError({ method, code: -1, reason: r.failure.message }))
  }

  const purchaseTickets = (request: PurchaseTicketRequest) =>
    Effect.flatMap(
      call(
        "purchaseticket",
        purchaseTicketParams(request).map((p) => new JsonLiteral(p)),
      ),
      (r) => resultOf("purchaseticket", Hashes, r),
    )

  const stakeInfo = Effect.gen(function* () {
    const r = yield* resultOf("getstakeinfo", StakeInfoReply, yield* call("getstakeinfo", []))
    const live = r.live ?? 0
    const poolsize = r.poolsize ?? 0
    const missed = r.missed ?? 0
    return {
      blockheight: r.blockheight,
      poolsize,
      difficulty: yield* atoms("getstakeinfo", r.difficulty, "difficulty"),
      allmempooltix: r.allmempooltix ?? 0,
      ownmempooltix: r.ownmempooltix,
      immature: r.immature,
      unspent: r.unspent,
      live,
      proportionlive: safeRatio(live, poolsize),
      voted: r.voted,
      totalsubsidy: yield* atoms("getstakeinfo", r.totalsubsidy, "totalsubsidy"),
      missed,
      proportionmissed: safeRatio(missed, r.voted + missed),
      revoked: r.revoked,
      expired: r.expired ?? 0,
      unspentexpired: r.unspentexpired,
    } satisfies StakeInfo
  })

  const tickets = Effect.flatMap(call("gettickets", [true]), (r) => Effect.map(resultOf("gettickets", TicketsReply, r), (t) => t.hashes ?? []))

  return StakingWallet.of({ purchaseTickets, stakeInfo, tickets })
}

/** The live `StakingWallet`: trusts only `certificate` when given, and closes its connections with the layer. */
export const dcrwalletStakingLayer = (options: StakingWalletOptions): Layer.Layer<StakingWallet> =>
  Layer.effect(
    StakingWallet,
    Effect.map(trustingPost(options.certificate), (post) => makeDcrwalletStaking(options, post)),
  )
