import { Effect, Result, Schema, SchemaTransformation } from "effect"
import { difficultyOfTarget } from "../../core/stratum/difficulty.ts"
import { decodeAddress, MAX_ADDRESS_LENGTH } from "../../core/chain/address.ts"
import { POOL_FEE_ACCOUNT } from "../../core/payout/ledger.ts"
import { cannotMineReason, MINER_PROFILES, userAgentOf } from "../../core/stratum/profiles.ts"
import { PoolStore, type BlockRow } from "../store/store.ts"
import { networkHashrate, type HashrateHistory } from "./history.ts"
import { HealthReport } from "../ops/health.ts"
import type { PoolLiveState } from "../pool.ts"
import { TicketLookupUnavailable, type StakerTicket, type StakeView, type StakeViewUnavailable } from "../../core/services/stake-view.ts"

/** What the API serves beside the live state: the pool's name and the hashrate history. */
export interface ApiContext {
  readonly live: PoolLiveState
  readonly designation: string
  readonly history: HashrateHistory
  /** The stratum port miners dial (the host is the one the browser used). */
  readonly stratumPort: number
  /** The stake side of the chain, for /api/staking; without it those routes answer 501. */
  readonly stakeView: StakeView["Service"] | undefined
}

const MAX_PAGE = 500
const DEFAULT_PAGE = 50

// ---- response schemas (the OpenAPI document is generated from these) ----------------------------

/**
 * A bigint that JSON carries as a decimal string, exactly (JSON numbers lose precision past
 * 2^53). The description sits on the string side, the side the OpenAPI document shows.
 */
const decimalBigInt = (description?: string) =>
  (description === undefined ? Schema.String : Schema.String.annotate({ description })).pipe(Schema.decodeTo(Schema.BigInt, SchemaTransformation.bigintFromString))

const Atoms = decimalBigInt("DCR atoms (1e-8 DCR) as a decimal string")
const Millis = Schema.Int.annotate({ description: "Unix time in milliseconds" })
const Hashrate = Schema.Finite.annotate({ description: "hashes per second" })
const Count = Schema.Int

const pageOf = <S extends Schema.Top>(item: S) =>
  Schema.Struct({
    items: Schema.Array(item),
    total: Count.annotate({ description: "items in the whole list" }),
    limit: Count,
    offset: Count,
  })

const ErrorReply = Schema.Struct({ error: Schema.String })

const PoolInfo = Schema.Struct({
  designation: Schema.String,
  network: Schema.String,
  mode: Schema.Literals(["pool", "solo"]),
  scheme: Schema.String.annotate({ description: "pplns, pplns-time, proportional, pps or solo" }),
  feeBasisPoints: Count,
  pow: Schema.NullOr(Schema.String).annotate({ description: "the proof of work the current job needs (blake3 or blake256)" }),
  workHeight: Schema.NullOr(Count),
  targetBlockSeconds: Count,
  connectedMiners: Count,
  sharesAccepted: Count,
  sharesRejected: Count,
  blockCandidates: Count,
  blocksFound: Count,
  hashesPerSecond: Hashrate,
  networkHashesPerSecond: Schema.NullOr(Hashrate),
  clients: Count,
  stratumPort: Count,
})

const Block = Schema.Struct({
  hash: Schema.String,
  height: Count,
  account: Schema.String,
  worker: Schema.String,
  model: Schema.String,
  foundMs: Millis,
  networkDifficulty: decimalBigInt("network difficulty x 2^32, decimal"),
  status: Schema.Literals(["accepted", "confirmed", "matured", "orphaned"]),
  reward: Schema.NullOr(Atoms),
  fee: Schema.NullOr(Atoms),
})

const AccountSummary = Schema.Struct({
  account: Schema.String,
  immature: Atoms,
  payable: Atoms,
  pending: Atoms,
  paid: Atoms,
  hashesPerSecond: Hashrate,
})

const Client = Schema.Struct({ account: Schema.String, worker: Schema.String, model: Schema.String, hashesPerSecond: Hashrate, lastShareMs: Millis })

const Payment = Schema.Struct({ account: Schema.String, address: Schema.String, amount: Atoms })

const Payout = Schema.Struct({
  id: decimalBigInt(),
  status: Schema.Literals(["building", "signed", "published"]),
  height: Count,
  createdMs: Millis,
  txid: Schema.NullOr(Schema.String),
  txFee: Schema.NullOr(Atoms),
  payments: Schema.Array(Payment),
})

const AccountPayment = Schema.Struct({
  batchId: decimalBigInt(),
  address: Schema.String,
  amount: Atoms,
  status: Schema.Literals(["building", "signed", "published"]).annotate({ description: "published = paid; building or signed = pending" }),
  txid: Schema.NullOr(Schema.String),
  height: Count,
  createdMs: Millis,
  publishedMs: Schema.NullOr(Millis),
})

const Quota = Schema.Struct({
  account: Schema.String,
  weight: decimalBigInt("work in the window, difficulty x 2^32"),
  fraction: Schema.Finite.annotate({ description: "share of the next block's net reward, 0 to 1" }),
})

const Quotas = Schema.Struct({
  scheme: Schema.String,
  applies: Schema.Boolean.annotate({ description: "false for PPS and solo, which do not split a block by shares" }),
  items: Schema.Array(Quota),
  total: Count,
  limit: Count,
  offset: Count,
})

const HashratePoint = Schema.Struct({ timeMs: Millis, pool: Hashrate, network: Hashrate })
const HashrateSeries = Schema.Struct({ points: Schema.Array(HashratePoint) })
const AccountHashrateSeries = Schema.Struct({ points: Schema.Array(Schema.Struct({ timeMs: Millis, hashesPerSecond: Hashrate })) })

const Account = Schema.Struct({
  account: Schema.String,
  immature: Atoms,
  payable: Atoms,
  pending: Atoms,
  paid: Atoms,
  hashesPerSecond: Hashrate,
  blocksFound: Count,
  clients: Schema.Array(Client),
  quota: Schema.NullOr(Schema.Finite).annotate({ description: "share of the next block's net reward, 0 to 1" }),
})

const SignedAtoms = decimalBigInt("DCR atoms as a decimal string; negative below zero")

const PpsReserve = Schema.Struct({
  applies: Schema.Boolean.annotate({ description: "true when the pool pays PPS; otherwise the figures are those of any earlier PPS period" }),
  blocks: Count.annotate({ description: "the pool's PPS blocks in the main chain (confirmed or matured)" }),
  blocksIn: Atoms.annotate({ description: "their rewards: what blocks paid in" }),
  creditedToShares: Atoms.annotate({ description: "what PPS credited for shares: what it paid out (immature, payable, pending and paid alike)" }),
  balance: SignedAtoms.annotate({ description: "blocksIn - creditedToShares; negative while PPS has paid more than blocks brought in" }),
  lowThreshold: SignedAtoms.annotate({ description: "below this balance the reserve is low (ppsreservelow)" }),
  low: Schema.Boolean.annotate({ description: "applies and balance < lowThreshold: the pool logged a warning and the admin page shows one" }),
})

const MinerModel = Schema.Struct({
  model: Schema.String,
  displayName: Schema.String,
  pow: Schema.String,
  userAgent: Schema.String,
  usable: Schema.Boolean.annotate({ description: "false when the chain's active proof of work rules the model out" }),
  reason: Schema.NullOr(Schema.String),
})
const Miners = Schema.Struct({ pow: Schema.NullOr(Schema.String), stratumPort: Count, usernameFormat: Schema.String, models: Schema.Array(MinerModel) })

export const LiveEvent = Schema.Struct({
  workHeight: Schema.NullOr(Count),
  blocksFound: Count,
  connectedMiners: Count,
  sharesAccepted: Count,
  hashesPerSecond: Hashrate,
}).annotate({ description: "the data of each `stats` event (text/event-stream); a `block` event carries the same when the pool's block count changes" })

const Height = Count.annotate({ description: "block height" })
const PriceWindow = Schema.Struct({ startHeight: Height, price: Atoms })

const Staking = Schema.Struct({
  network: Schema.String,
  height: Height.annotate({ description: "the tip's height" }),
  price: Atoms.annotate({ description: "the ticket price the next block requires, atoms as a decimal string" }),
  estimate: Schema.Struct({
    min: Atoms,
    expected: Atoms,
    max: Atoms,
    blocksLeftInWindow: Count.annotate({ description: "blocks after the tip still priced at today's price" }),
    nextWindowStartsAt: Height,
  }).annotate({ description: "the next window's price as dcrd's estimatestakediff gives it: min if nobody buys, max if every block is full of tickets" }),
  windowSize: Count.annotate({ description: "blocks per price window" }),
  poolSize: Count.annotate({ description: "live tickets" }),
  poolTarget: Count.annotate({ description: "TicketPoolSize x TicketsPerBlock, the size the price steers towards" }),
  mempoolTickets: Count,
  history: Schema.Array(PriceWindow).annotate({ description: "the price of each window, oldest first (the newest windows)" }),
})

const StakeBlock = Schema.Struct({
  height: Height,
  hash: Schema.String,
  votes: Count,
  misses: Count.annotate({ description: "winners of the parent's lottery that did not vote" }),
  revocations: Count,
  tickets: Count.annotate({ description: "ticket purchases mined in the block" }),
  poolSize: Count,
  price: Atoms,
})

const StakerTicketReply = Schema.Struct({
  ticket: Schema.String.annotate({ description: "the purchase's transaction hash" }),
  status: Schema.Literals(["unmined", "immature", "live", "voted", "missed", "expired", "revoked"]),
  price: Atoms,
  fee: Schema.NullOr(Atoms),
  minedAt: Schema.NullOr(Height),
  liveAt: Schema.NullOr(Height),
  spentAt: Schema.NullOr(Height).annotate({ description: "the block that carried its vote, or in which it was missed or expired" }),
  revokedAt: Schema.NullOr(Height),
  revokedBecause: Schema.NullOr(Schema.Literals(["missed", "expired"])),
  returned: Schema.NullOr(Atoms).annotate({ description: "what its vote or revocation paid back" }),
})

const StakerTickets = Schema.Struct({
  address: Schema.String,
  counts: Schema.Struct({
    unmined: Count,
    immature: Count,
    live: Count,
    voted: Count,
    missed: Count,
    expired: Count,
    revoked: Count,
  }),
  items: Schema.Array(StakerTicketReply),
  total: Count,
  limit: Count,
  offset: Count,
})

// ---- routes --------------------------------------------------------------------------------------

interface Params {
  readonly path: Readonly<Record<string, string>>
  readonly query: URLSearchParams
}

/**
 * A refusal a handler gives once it looked: `{error}`, a 400 or a 404 (a bad page, no such
 * account), a 501 (this server cannot answer it: no staking view, no address index) or a 503
 * whose message is the server's own (the node did not answer), never a backend's text.
 */
interface Refusal {
  readonly refused: true
  readonly status: 400 | 404 | 501 | 503
  readonly body: typeof ErrorReply.Type
}

/** What a route's handler answers: a body of its response schema's type (200; /api/health 503 too), or a refusal. */
type Reply<A> = { readonly status: 200 | 503; readonly body: A } | Refusal

/** A reply as it goes on the wire: the status and the JSON its schema encoded. */
interface EncodedReply {
  readonly status: number
  readonly json: string
}

interface ApiRoute {
  readonly path: string
  readonly summary: string
  readonly response: Schema.Codec<unknown, unknown>
  readonly paginated?: true
  /** Needs an admin session (cookie). */
  readonly admin?: true
  readonly contentType?: "application/json" | "text/event-stream"
  /**
   * Runs the route's handler and encodes its reply through `response` (a refusal through
   * `ErrorReply`): the bytes the server sends. Absent on the routes the server serves itself
   * (the event stream, the document).
   */
  readonly serve?: (ctx: ApiContext, params: Params) => Effect.Effect<EncodedReply, unknown, PoolStore>
}

/**
 * `value` encoded through `schema`, as JSON text. This is the only way a reply body becomes
 * bytes: a bigint is a decimal string because the schema says so (no replacer), a key the
 * schema does not list is not sent, and a value the schema refuses fails the request (a 503
 * and a log line naming the field) instead of reaching a client the document told otherwise.
 */
export const encodeJson = <T, E>(schema: Schema.Codec<T, E>) => {
  const encode = Schema.encodeEffect(schema)
  return (value: T) => Effect.map(encode(value), (encoded) => JSON.stringify(encoded))
}

const encodeErrorReply = encodeJson(ErrorReply)
/** `{"error": message}` through ErrorReply, for the replies the server gives before any handler (401, 404, 429...). */
export const errorJson = (message: string): string => JSON.stringify(Schema.encodeSync(ErrorReply)({ error: message }))

const refused = <A>(reply: Reply<A>): reply is Refusal => "refused" in reply

/** A route whose handler answers its response schema's Type, encoded through that schema. */
const route = <T, E>(
  spec: Omit<ApiRoute, "response" | "serve"> & {
    readonly response: Schema.Codec<T, E>
    readonly handle: (ctx: ApiContext, params: Params) => Effect.Effect<Reply<NoInfer<T>>, unknown, PoolStore>
  },
): ApiRoute => {
  const { handle, ...rest } = spec
  const encode = encodeJson(spec.response)
  return {
    ...rest,
    serve: (ctx, params) => Effect.flatMap(handle(ctx, params), (reply) => Effect.map(refused(reply) ? encodeErrorReply(reply.body) : encode(reply.body), (json) => ({ status: reply.status, json }))),
  }
}

const ok = <A>(body: A) => ({ status: 200, body }) as const
const refusal = (status: Refusal["status"], message: string): Refusal => ({ refused: true, status, body: { error: message } })
const bad = (message: string): Refusal => refusal(400, message)

/** Digits only: `Number` alone would also take " 5", "1e2", "0x10" and "". */
const WHOLE_NUMBER = /^[0-9]{1,15}$/

/** `limit` (1 to 500, default 50) and `offset` (default 0), the same on every list. */
const pageParams = (query: URLSearchParams): { readonly limit: number; readonly offset: number } | string => {
  const limitText = query.get("limit")
  const offsetText = query.get("offset")
  const limit = limitText === null ? DEFAULT_PAGE : WHOLE_NUMBER.test(limitText) ? Number(limitText) : Number.NaN
  const offset = offsetText === null ? 0 : WHOLE_NUMBER.test(offsetText) ? Number(offsetText) : Number.NaN
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_PAGE) return `limit must be a whole number from 1 to ${MAX_PAGE}, got ${shown(limitText ?? "")}`
  if (!Number.isSafeInteger(offset) || offset < 0) return `offset must be a whole number from 0, got ${shown(offsetText ?? "")}`
  return { limit, offset }
}

// ---- input: checked before any lookup ----------------------------------------------------------
// A path or query the API cannot use is refused with a 400 that names it, before it reaches the
// store: a NUL, say, would otherwise come back as the database's own error, which names its
// internals and blames the server for the client's input.

/** The longest query value the API reads (a page number is 15 digits at most). */
const MAX_QUERY_VALUE = 100

/** C0 and C1 control characters (NUL, newline, escape...): in no address, number or name. */
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f-\u009f]/

/** decodeURIComponent, or undefined for malformed percent-encoding (a lone %, %ZZ, bytes that are not UTF-8). */
const percentDecoded = (text: string): string | undefined => {
  try {
    return decodeURIComponent(text)
  } catch {
    return undefined
  }
}

/** A caller's input as an error shows it: quoted and escaped, long ones cut short. */
const shown = (text: string): string => JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text)

/**
 * Why `text` cannot name an account at this pool, or undefined when it can: a payout address of
 * the pool's network (what miners' usernames start with), "solo" on a solo pool, or the pool's
 * fee account. `where` says which input it is ("the address in the path").
 */
export const accountInputError = (live: Pick<PoolLiveState, "network" | "mode">, text: string, where: string): string | undefined => {
  if (text === "") return `${where} is empty: give a ${live.network.name} payout address`
  if (CONTROL_CHARACTER.test(text)) return `${where} contains a control character (such as NUL or a newline): give a ${live.network.name} payout address`
  if (text.length > MAX_ADDRESS_LENGTH) return `${where} is ${text.length} characters long; a payout address has at most ${MAX_ADDRESS_LENGTH}`
  if (text === POOL_FEE_ACCOUNT || (live.mode === "solo" && text === "solo")) return undefined
  const decoded = decodeAddress(text, live.network)
  return Result.isFailure(decoded) ? `${where} is not a ${live.network.name} payout address: ${decoded.failure.message}` : undefined
}

/** The query parameters a route reads: the page's on lists, none elsewhere. */
const acceptedQuery = (route: ApiRoute): ReadonlyArray<string> => (route.paginated ? ["limit", "offset"] : [])

/**
 * A route's query, strictly: each parameter known to the route, given once, well
 * percent-encoded, without control characters and at most MAX_QUERY_VALUE characters; or why not.
 * An unknown parameter is refused rather than ignored, so `?limt=5` is not silently a page of 50.
 */
const queryOf = (route: ApiRoute, search: string): URLSearchParams | string => {
  const accepted = acceptedQuery(route)
  const query = new URLSearchParams()
  for (const pair of search.replace(/^\?/, "").split("&")) {
    if (pair === "") continue
    const eq = pair.indexOf("=")
    const rawName = eq < 0 ? pair : pair.slice(0, eq)
    const rawValue = eq < 0 ? "" : pair.slice(eq + 1)
    const name = percentDecoded(rawName.replaceAll("+", " "))
    if (name === undefined || !accepted.includes(name)) {
      return `unknown query parameter ${shown(rawName)} on ${route.path}: ${accepted.length === 0 ? "it takes none" : `it takes ${accepted.join(" and ")}`}`
    }
    if (query.has(name)) return `query parameter ${name} is given twice: give it once`
    const value = percentDecoded(rawValue.replaceAll("+", " "))
    if (value === undefined) return `query parameter ${name} has malformed percent-encoding (a % must start a UTF-8 byte as two hex digits): ${shown(rawValue)}`
    if (CONTROL_CHARACTER.test(value)) return `query parameter ${name} contains a control character (such as NUL or a newline)`
    if (value.length > MAX_QUERY_VALUE) return `query parameter ${name} is ${value.length} characters long; at most ${MAX_QUERY_VALUE}`
    query.set(name, value)
  }
  return query
}

/**
 * A matched route's input, checked: the path parameters decoded and valid (each `{address}` an
 * account this pool can have) and the query as `queryOf` takes it; or the 400's message.
 */
export const apiInput = (live: Pick<PoolLiveState, "network" | "mode">, route: ApiRoute, rawPath: Readonly<Record<string, string>>, search: string): Params | string => {
  const path: Record<string, string> = {}
  for (const [name, raw] of Object.entries(rawPath)) {
    const where = `the ${name} in the path`
    const value = percentDecoded(raw)
    if (value === undefined) return `${where} has malformed percent-encoding (a % must start a UTF-8 byte as two hex digits): ${shown(raw)}`
    const problem = name === "address" ? accountInputError(live, value, where) : undefined
    if (problem !== undefined) return problem
    path[name] = value
  }
  const query = queryOf(route, search)
  return typeof query === "string" ? query : { path, query }
}

const paged = <A>(query: URLSearchParams, body: (limit: number, offset: number) => Effect.Effect<{ readonly items: ReadonlyArray<A>; readonly total: number }, unknown, PoolStore>) =>
  Effect.gen(function* () {
    const page = pageParams(query)
    if (typeof page === "string") return bad(page)
    const { items, total } = yield* body(page.limit, page.offset)
    return ok({ items, total, limit: page.limit, offset: page.offset })
  })

const inMemoryPage = <A>(all: ReadonlyArray<A>, limit: number, offset: number) => ({ items: all.slice(offset, offset + limit), total: all.length })

const blockJson = (b: BlockRow) => ({ ...b, reward: b.reward ?? null, fee: b.fee ?? null })

const clientsOf = (ctx: ApiContext, account?: string) =>
  Effect.map(Effect.flatMap(ctx.history.windowMillis, ctx.live.hashrates), (rates) =>
    rates.clients
      .filter((c) => account === undefined || c.account === account)
      .map((c) => ({ account: c.account, worker: c.worker, model: c.model, hashesPerSecond: Math.round(c.hashesPerSecond), lastShareMs: c.lastMs })),
  )

/** The next reward's split per account, largest first, from the scheme's own window. */
const quotasOf = (live: PoolLiveState) =>
  Effect.gen(function* () {
    const work = live.work()
    const weights = work === undefined ? undefined : yield* live.nextRewardWeights(difficultyOfTarget(live.network.powLimit, work.networkTarget))
    if (weights === undefined) return { applies: live.scheme.kind !== "pps" && live.scheme.kind !== "solo", quotas: [] }
    let total = 0n
    for (const w of weights.values()) total += w
    const quotas = [...weights]
      .filter(([, w]) => w > 0n)
      .sort(([a, wa], [b, wb]) => (wa === wb ? (a < b ? -1 : 1) : wa > wb ? -1 : 1))
      // A ratio for display only; the credits themselves are split exactly in atoms.
      .map(([account, weight]) => ({ account, weight, fraction: Number((weight * 1_000_000n) / total) / 1_000_000 }))
    return { applies: true, quotas }
  })

/** A snapshot of the figures the live view shows: pushed as a server-sent event when it changes. */
export const liveStats = (live: PoolLiveState, windowMillis: Effect.Effect<number>) =>
  Effect.gen(function* () {
    const store = yield* PoolStore
    const rates = yield* live.hashrates(yield* windowMillis)
    let hashrate = 0
    for (const r of rates.accounts.values()) hashrate += r
    return {
      workHeight: live.workHeight() ?? null,
      blocksFound: yield* store.blockCount(),
      connectedMiners: live.counters.connected,
      sharesAccepted: live.counters.sharesAccepted,
      hashesPerSecond: Math.round(hashrate),
    }
  })

export const USERNAME_FORMAT = "<payout address>.<worker name>"

/**
 * The pool's JSON API, one table: the routes the server dispatches and the OpenAPI document
 * lists. Lists take `limit` and `offset` and answer `{items, total, limit, offset}`; amounts are
 * atoms as decimal strings; times are Unix milliseconds.
 */
export const API_ROUTES: ReadonlyArray<ApiRoute> = [
  route({
    path: "/api/health",
    summary: "Health for monitors: 200 when every task runs and dcrd, the wallet and the store answer, 503 otherwise, with one entry per component and task",
    response: HealthReport,
    handle: (ctx) => Effect.map(ctx.live.health, (report) => ({ status: report.ok ? 200 : 503, body: report })),
  }),
  route({
    path: "/api/pool",
    summary: "Pool and network figures: mode, scheme, fee, work height, miners, shares, hashrates, blocks found",
    response: PoolInfo,
    handle: (ctx) =>
      Effect.gen(function* () {
        const stats = yield* liveStats(ctx.live, ctx.history.windowMillis)
        const rates = yield* ctx.live.hashrates(yield* ctx.history.windowMillis)
        const network = networkHashrate(ctx.live)
        return ok({
          designation: ctx.designation,
          network: ctx.live.network.name,
          mode: ctx.live.mode,
          scheme: ctx.live.scheme.kind,
          feeBasisPoints: ctx.live.feeBasisPoints,
          pow: ctx.live.work()?.pow ?? null,
          workHeight: stats.workHeight,
          targetBlockSeconds: ctx.live.network.targetTimePerBlock,
          connectedMiners: stats.connectedMiners,
          sharesAccepted: stats.sharesAccepted,
          sharesRejected: ctx.live.counters.sharesRejected,
          blockCandidates: ctx.live.counters.blockCandidates,
          blocksFound: stats.blocksFound,
          hashesPerSecond: stats.hashesPerSecond,
          networkHashesPerSecond: network === undefined ? null : Math.round(network),
          clients: rates.clients.length,
          stratumPort: ctx.stratumPort,
        })
      }),
  }),
  route({
    path: "/api/hashrate",
    summary: "Pool and network hashrate over time (periodic samples kept in memory)",
    response: HashrateSeries,
    handle: (ctx) => Effect.succeed(ok({ points: ctx.history.samples().map((s) => ({ timeMs: s.timeMs, pool: Math.round(s.pool), network: Math.round(s.network) })) })),
  }),
  route({
    path: "/api/blocks",
    summary: "The pool's blocks, newest first, with status and reward",
    response: pageOf(Block),
    paginated: true,
    handle: (_ctx, { query }) =>
      paged(query, (limit, offset) =>
        Effect.gen(function* () {
          const store = yield* PoolStore
          return { items: (yield* store.blocksPage(limit, offset)).map(blockJson), total: yield* store.blockCount() }
        }),
      ),
  }),
  route({
    path: "/api/quotas",
    summary: "Each account's share of the next block reward under the active scheme, largest first",
    response: Quotas,
    paginated: true,
    handle: (ctx, { query }) =>
      Effect.gen(function* () {
        const page = pageParams(query)
        if (typeof page === "string") return bad(page)
        const { applies, quotas } = yield* quotasOf(ctx.live)
        return ok({ scheme: ctx.live.scheme.kind, applies, ...inMemoryPage(quotas, page.limit, page.offset), limit: page.limit, offset: page.offset })
      }),
  }),
  route({
    path: "/api/miners",
    summary: "Supported miner models, the stratum port and username format; models the active proof of work rules out are marked unusable",
    response: Miners,
    handle: (ctx) => {
      const pow = ctx.live.work()?.pow
      return Effect.succeed(
        ok({
          pow: pow ?? null,
          stratumPort: ctx.stratumPort,
          usernameFormat: USERNAME_FORMAT,
          models: MINER_PROFILES.map((p) => {
            const reason = pow === undefined ? undefined : cannotMineReason(p, pow)
            return { model: p.model, displayName: p.displayName, pow: p.pow, userAgent: userAgentOf(p), usable: reason === undefined, reason: reason ?? null }
          }),
        }),
      )
    },
  }),
  route({
    path: "/api/accounts",
    summary: "Every account's immature, payable, pending and paid atoms and hashrate",
    response: pageOf(AccountSummary),
    paginated: true,
    handle: (ctx, { query }) =>
      paged(query, (limit, offset) =>
        Effect.gen(function* () {
          const store = yield* PoolStore
          const rates = yield* ctx.live.hashrates(yield* ctx.history.windowMillis)
          const totals = yield* store.accountTotals
          const all = totals.map((t) => ({ ...t, hashesPerSecond: Math.round(rates.accounts.get(t.account) ?? 0) }))
          return inMemoryPage(all, limit, offset)
        }),
      ),
  }),
  route({
    path: "/api/accounts/{address}",
    summary: "One account: balances, hashrate, connected clients, blocks found, next-reward quota",
    response: Account,
    handle: (ctx, { path }) =>
      Effect.gen(function* () {
        const address = path.address!
        const store = yield* PoolStore
        const totals = (yield* store.accountTotals).find((t) => t.account === address)
        const clients = yield* clientsOf(ctx, address)
        const blocksFound = yield* store.blockCount(address)
        const payments = yield* store.accountPaymentCount(address)
        if (totals === undefined && clients.length === 0 && blocksFound === 0 && payments === 0) {
          return refusal(404, `no account ${address} at this pool: it has no shares, credits or payments (the username is <address>.<worker>)`)
        }
        const { quotas, applies } = yield* quotasOf(ctx.live)
        return ok({
          account: address,
          immature: totals?.immature ?? 0n,
          payable: totals?.payable ?? 0n,
          pending: totals?.pending ?? 0n,
          paid: totals?.paid ?? 0n,
          hashesPerSecond: clients.reduce((s, c) => s + c.hashesPerSecond, 0),
          blocksFound,
          clients,
          quota: applies ? (quotas.find((q) => q.account === address)?.fraction ?? 0) : null,
        })
      }),
  }),
  route({
    path: "/api/accounts/{address}/blocks",
    summary: "Blocks this account's miners found, newest first",
    response: pageOf(Block),
    paginated: true,
    handle: (_ctx, { path, query }) =>
      paged(query, (limit, offset) =>
        Effect.gen(function* () {
          const store = yield* PoolStore
          return { items: (yield* store.blocksPage(limit, offset, path.address!)).map(blockJson), total: yield* store.blockCount(path.address!) }
        }),
      ),
  }),
  route({
    path: "/api/accounts/{address}/payments",
    summary: "This account's payments, pending and paid, with amounts and transaction ids, newest first",
    response: pageOf(AccountPayment),
    paginated: true,
    handle: (_ctx, { path, query }) => paged(query, (limit, offset) => accountPayments(path.address!, limit, offset)),
  }),
  route({
    path: "/api/accounts/{address}/hashrate",
    summary: "This account's hashrate over time",
    response: AccountHashrateSeries,
    handle: (ctx, { path }) => Effect.succeed(ok({ points: ctx.history.samples().map((s) => ({ timeMs: s.timeMs, hashesPerSecond: Math.round(s.accounts.get(path.address!) ?? 0) })) })),
  }),
  route({
    path: "/api/payouts",
    summary: "Payout batches, newest first, with their transactions and outputs",
    response: pageOf(Payout),
    paginated: true,
    handle: (_ctx, { query }) =>
      paged(query, (limit, offset) =>
        Effect.gen(function* () {
          const store = yield* PoolStore
          const batches = yield* store.batchesPage(limit, offset)
          const items = yield* Effect.forEach(batches, (b) =>
            Effect.map(store.paymentsOf(b.id), (payments) => ({
              id: b.id,
              status: b.status,
              height: b.height,
              createdMs: b.createdMs,
              txid: b.txid ?? null,
              txFee: b.txFee ?? null,
              payments: payments.map((p) => ({ account: p.account, address: p.address, amount: p.amount })),
            })),
          )
          return { items, total: yield* store.batchCount }
        }),
      ),
  }),
  route({
    path: "/api/admin/clients",
    summary: "Every client that sent shares in the last ten minutes (admin session)",
    response: pageOf(Client),
    paginated: true,
    admin: true,
    handle: (ctx, { query }) => paged(query, (limit, offset) => Effect.map(clientsOf(ctx), (all) => inMemoryPage(all, limit, offset))),
  }),
  route({
    path: "/api/admin/fees",
    summary: "Payments of the pool's fee, pending and paid (admin session)",
    response: pageOf(AccountPayment),
    paginated: true,
    admin: true,
    handle: (_ctx, { query }) => paged(query, (limit, offset) => accountPayments(POOL_FEE_ACCOUNT, limit, offset)),
  }),
  route({
    path: "/api/admin/pps-reserve",
    summary: "The PPS reserve: what the pool's blocks paid in, what PPS credited for shares, the balance and whether it is below the warning threshold (admin session)",
    response: PpsReserve,
    admin: true,
    handle: (ctx) => Effect.map(ctx.live.ppsReserve, ok),
  }),
  route({
    path: "/api/staking",
    summary: "Stake figures at the tip: the ticket price now, the next window's estimate (min, expected, max) and blocks left, pool size against its target, the price of each window",
    response: Staking,
    handle: (ctx) =>
      withStakeView(ctx, (view) =>
        Effect.gen(function* () {
          const overview = yield* view.overview
          const history = yield* view.priceHistory(PRICE_WINDOWS)
          return ok({ network: ctx.live.network.name, ...overview, history })
        }),
      ),
  }),
  route({
    path: "/api/staking/blocks",
    summary: "Main-chain blocks newest first, each with its votes, misses, revocations, ticket purchases, pool size and price",
    response: pageOf(StakeBlock),
    paginated: true,
    handle: (ctx, { query }) =>
      withStakeView(ctx, (view) =>
        Effect.gen(function* () {
          const page = pageParams(query)
          if (typeof page === "string") return bad(page)
          const { blocks, total } = yield* view.recentBlocks(page.limit, page.offset)
          return ok({ items: blocks, total, limit: page.limit, offset: page.offset })
        }),
      ),
  }),
  route({
    path: "/api/staking/tickets/{address}",
    summary: "The tickets whose commitment (returns) address is this one, newest first, with their status through the lifecycle, price, heights and returns",
    response: StakerTickets,
    paginated: true,
    handle: (ctx, { path, query }) =>
      withStakeView(ctx, (view) =>
        Effect.gen(function* () {
          const address = path.address!
          // The path check lets the pool's own account names through; a ticket commits to an address.
          const decoded = decodeAddress(address, ctx.live.network)
          if (Result.isFailure(decoded)) return bad(`the address in the path is not a ${ctx.live.network.name} address: ${decoded.failure.message}`)
          const page = pageParams(query)
          if (typeof page === "string") return bad(page)
          const tickets = yield* view.ticketsOf(address)
          const counts = { unmined: 0, immature: 0, live: 0, voted: 0, missed: 0, expired: 0, revoked: 0 }
          for (const t of tickets) counts[t.status]++
          return ok({ address, counts, ...inMemoryPage(tickets.map(ticketJson), page.limit, page.offset), limit: page.limit, offset: page.offset })
        }),
      ),
  }),
  {
    path: "/api/events",
    summary: "Server-sent events: `stats` when the live figures change (checked every second), `block` when the pool's block count changes",
    response: LiveEvent,
    contentType: "text/event-stream",
  },
  {
    path: "/api/openapi.json",
    summary: "This document",
    response: Schema.Struct({ openapi: Schema.String }),
  },
]

/** Windows of price history /api/staking carries: a chart's width. */
const PRICE_WINDOWS = 120

/**
 * Runs a staking route with the server's staking view: without one, a 501 that says so; the view's
 * own failures are refusals with its message (the node's state, never a backend's text).
 */
const withStakeView = <A>(ctx: ApiContext, body: (view: StakeView["Service"]) => Effect.Effect<Reply<A>, StakeViewUnavailable | TicketLookupUnavailable, PoolStore>) =>
  ctx.stakeView === undefined
    ? Effect.succeed(refusal(501, "staking figures are not available: this server runs without a staking view (the main job and `pool run` give it one)"))
    : body(ctx.stakeView).pipe(Effect.catch((e) => Effect.succeed<Reply<A>>(refusal(e instanceof TicketLookupUnavailable ? 501 : 503, e.message))))

const ticketJson = (t: StakerTicket) => ({
  ...t,
  fee: t.fee ?? null,
  minedAt: t.minedAt ?? null,
  liveAt: t.liveAt ?? null,
  spentAt: t.spentAt ?? null,
  revokedAt: t.revokedAt ?? null,
  revokedBecause: t.revokedBecause ?? null,
  returned: t.returned ?? null,
})

const accountPayments = (account: string, limit: number, offset: number) =>
  Effect.gen(function* () {
    const store = yield* PoolStore
    const rows = yield* store.accountPayments(account, limit, offset)
    return {
      items: rows.map((r) => ({ ...r, txid: r.txid ?? null, publishedMs: r.publishedMs ?? null })),
      total: yield* store.accountPaymentCount(account),
    }
  })

const compiled = API_ROUTES.map((route) => {
  const names: Array<string> = []
  // Literal parts match only themselves (the "." in openapi.json is not "any character").
  const pattern = route.path
    .split(/(\{\w+\})/)
    .map((part) => {
      const name = /^\{(\w+)\}$/.exec(part)?.[1]
      if (name === undefined) return part.replace(/[.*+?^$()|[\]\\]/g, "\\$&")
      names.push(name)
      return "([^/]+)"
    })
    .join("")
  return { route, pattern: new RegExp(`^${pattern}$`), names }
})

/**
 * The route serving `pathname`, with its path parameters as they came (still percent-encoded:
 * `apiInput` decodes and checks them), or undefined.
 */
export const matchRoute = (pathname: string): { readonly route: ApiRoute; readonly rawPath: Readonly<Record<string, string>> } | undefined => {
  for (const c of compiled) {
    const m = c.pattern.exec(pathname)
    if (m === null) continue
    const rawPath: Record<string, string> = {}
    c.names.forEach((name, i) => (rawPath[name] = m[i + 1]!))
    return { route: c.route, rawPath }
  }
  return undefined
}

// ---- OpenAPI ------------------------------------------------------------------------------------

const jsonSchemaOf = (schema: Schema.Codec<unknown, unknown>): unknown => {
  const doc = Schema.toJsonSchemaDocument(schema)
  return Object.keys(doc.definitions).length === 0 ? doc.schema : { ...doc.schema, $defs: doc.definitions }
}

/** The OpenAPI 3.1 description of every route, from the same schemas the tests check replies against. */
export const openApiDocument = (designation: string) => {
  const paths: Record<string, unknown> = {}
  const pageParameters = [
    { name: "limit", in: "query", description: `items per page, 1 to ${MAX_PAGE}`, schema: { type: "integer", minimum: 1, maximum: MAX_PAGE, default: DEFAULT_PAGE } },
    { name: "offset", in: "query", description: "items to skip", schema: { type: "integer", minimum: 0, default: 0 } },
  ]
  for (const route of API_ROUTES) {
    const pathParameters = [...route.path.matchAll(/\{(\w+)\}/g)].map((m) => ({
      name: m[1],
      in: "path",
      required: true,
      description: route.path.startsWith("/api/staking") ? "an address of the pool's network: a ticket's commitment (returns) address" : "a payout address of the pool's network",
      schema: { type: "string", minLength: 1, maxLength: MAX_ADDRESS_LENGTH },
    }))
    const errorReply = (description: string) => ({ description, content: { "application/json": { schema: jsonSchemaOf(ErrorReply) } } })
    const responses: Record<string, unknown> = {
      "200": { description: "OK", content: { [route.contentType ?? "application/json"]: { schema: jsonSchemaOf(route.response) } } },
      "400": errorReply(
        [
          ...(route.paginated ? ["a bad limit or offset"] : []),
          ...(pathParameters.length > 0 ? ["a path that is not a payout address of the pool's network"] : []),
          "an unknown, repeated, malformed or over-long query parameter",
        ].join("; "),
      ),
      "429": errorReply(route.contentType === "text/event-stream" ? "Too many requests, or too many open streams from this client; see Retry-After" : "Too many requests; see Retry-After"),
    }
    const staking = route.path.startsWith("/api/staking")
    if (pathParameters.length > 0 && !staking) responses["404"] = errorReply("No such account")
    if (staking) {
      responses["501"] = errorReply(
        route.path.includes("{address}")
          ? "This server has no staking view, or its view cannot look tickets up by address (dcrd has had no address index since 1.8); the message says where to look"
          : "This server has no staking view",
      )
    }
    if (route.admin) responses["401"] = errorReply("No admin session: log in at /admin")
    if (route.serve !== undefined && route.response !== HealthReport) {
      responses["503"] = errorReply(staking ? "dcrd did not answer; the message says what to check" : "The pool's database did not answer; the cause is in the pool's log")
    }
    paths[route.path] = {
      get: {
        summary: route.summary,
        operationId: route.path
          .replace(/^\/api\//, "")
          .replace(/[{}]/g, "")
          .replace(/[/.]/g, "_"),
        parameters: [...pathParameters, ...(route.paginated ? pageParameters : [])],
        ...(route.admin ? { security: [{ adminSession: [] }] } : {}),
        responses,
      },
    }
  }
  return {
    openapi: "3.1.0",
    info: {
      title: `${designation} (dcrforge pool) API`,
      version: "1",
      description:
        "Read-only JSON for the pool's web UI and scripts. Lists take limit and offset and answer {items, total, limit, offset}. Amounts are atoms as decimal strings. Rate-limited per client (429 with Retry-After).",
    },
    paths,
    components: {
      securitySchemes: { adminSession: { type: "apiKey", in: "cookie", name: "dcrforge_session", description: "set by logging in at /admin" } },
    },
  }
}
