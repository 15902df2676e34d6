/**
 * The simulator checked against dcrd, block by block.
 *
 * dcrd's blocks are read over JSON-RPC (amounts parsed exactly, never through a float) and fed
 * into our own `StakeModel`, so our live ticket set evolves by our rules. Before each block
 * connects, what `core/` says the block must carry is compared with what dcrd put in it:
 *
 * - **lottery**: every vote in block h spends a ticket our lottery drew from block h - 1's
 *   header and our live set, and every winner that did not vote is revoked in h; when dcrd's
 *   `winningtickets` notification for a block was heard, our winners equal it, in draw order;
 * - **stake difficulty**: our DCP-0001 price for h equals the header's SBits (and, at the tip,
 *   `getstakedifficulty`'s `next`);
 * - **pool size**: our live count before h equals the header's PoolSize (and, at the tip, our
 *   live set equals `livetickets` and its value `getticketpoolvalue`);
 * - **subsidies**: `core/chain/subsidy` for h with the header's voters equals the coinbase's
 *   input (work), the treasurybase's input (treasury) and each vote's stakebase input;
 * - **work bits**: `core/chain/difficulty`'s ASERT for h from our record of the chain equals
 *   the header's Bits;
 * - **stake difficulty estimate**: at each tip, `core/stake/estimate`'s min, expected and max
 *   equal `estimatestakediff`'s, so do both answers for a ticket count that changes with the
 *   height (0 up to all the rest of the window can take), and one ticket more than that is
 *   refused by both.
 *
 * Then the block connects to the model, which re-checks every header stake field (FinalState
 * included) the way dcrd does; a refusal is a mismatch too. Each comparison counts as a check.
 */
import { Data, Effect, Redacted, Result, Schema, Scope } from "effect"
import { Agent, WebSocket as UndiciWebSocket } from "undici"
import type { AgendaActivations } from "../../core/chain/agendas.ts"
import { fromHex, reversed, toHex } from "../../core/chain/bytes.ts"
import { type BlockTime, nextWorkBits } from "../../core/chain/difficulty.ts"
import { hashToDisplay } from "../../core/chain/hash.ts"
import { type BlockHeader, decodeHeader } from "../../core/chain/header.ts"
import type { NetworkParams } from "../../core/chain/params.ts"
import { blockSubsidies } from "../../core/chain/subsidy.ts"
import { estimateStakeDiff } from "../../core/stake/estimate.ts"
import { StakeModel, type StakeEvent } from "../../core/stake/model.ts"
import { dcrToAtoms } from "../../core/chain/amounts.ts"
import type { JsonRpcCall, JsonRpcEndpoint, JsonRpcFailure } from "../../wallet/json-rpc.ts"

// ---- dcrd's JSON-RPC ------------------------------------------------------------------------------
// Calls go through the pool's own client (wallet/json-rpc.ts): amounts come back as the text of
// their JSON numbers, for `dcrToAtoms` to read exactly. Endpoints are `JsonRpcEndpoint`s.

/** A failure of the tooling's own (a reply it cannot use, a websocket that would not subscribe). */
export class SimnetRpcError extends Data.TaggedError("SimnetRpcError")<{
  readonly method: string
  /** dcrd's / dcrwallet's error code, when it answered with one. */
  readonly code: number | undefined
  readonly message: string
}> {}

/** What a call of the tooling can fail with: the client's failures, or a reply it cannot use. */
type SimnetCallFailure = SimnetRpcError | JsonRpcFailure

/** A JSON-RPC endpoint as the tooling has it (the harness's dcrd, a wallet of a suite's own), with a 30 s timeout. */
export const simnetEndpoint = (url: string, user: string, password: string, certificate?: string): JsonRpcEndpoint => ({
  url,
  user,
  password: Redacted.make(password),
  certificate,
  requestTimeoutMillis: 30_000,
})

/** Decodes an RPC result against a schema; a different shape is an error naming the method. */
export const decodeResult = <S extends Schema.Top>(method: string, schema: S, value: unknown): Effect.Effect<S["Type"], SimnetRpcError> => {
  const r = Schema.decodeUnknownResult(schema as unknown as Schema.Codec<S["Type"], unknown>)(value)
  return Result.isSuccess(r)
    ? Effect.succeed(r.success)
    : Effect.fail(new SimnetRpcError({ method, code: undefined, message: `${method}: unexpected reply ${JSON.stringify(value)?.slice(0, 300)}: ${r.failure.message}` }))
}

/** Atoms of a DCR amount as dcrd writes it (kept as text by the client's `parseJsonExact`). */
const atomsOf = (value: string | number, field: string): bigint => Result.getOrThrow(dcrToAtoms(value, field))

// ---- dcrd's blocks ---------------------------------------------------------------------------------

const Amount = Schema.Union([Schema.String, Schema.Number])
const Vin = Schema.Struct({
  coinbase: Schema.optional(Schema.String),
  stakebase: Schema.optional(Schema.String),
  treasurybase: Schema.optional(Schema.Boolean),
  txid: Schema.optional(Schema.String),
  vout: Schema.optional(Schema.Number),
  amountin: Amount,
})
const Vout = Schema.Struct({
  value: Amount,
  scriptPubKey: Schema.Struct({
    type: Schema.String,
    addresses: Schema.optional(Schema.Array(Schema.String)),
    commitamt: Schema.optional(Amount),
  }),
})
const VerboseTx = Schema.Struct({
  txid: Schema.String,
  hex: Schema.String,
  expiry: Schema.Number,
  vin: Schema.Array(Vin),
  vout: Schema.Array(Vout),
})
const VerboseBlock = Schema.Struct({
  hash: Schema.String,
  height: Schema.Number,
  rawtx: Schema.Array(VerboseTx),
  rawstx: Schema.optional(Schema.Array(VerboseTx)),
})
type VerboseBlock = typeof VerboseBlock.Type

/** A ticket purchase as the block carries it. */
interface MinedTicket {
  /** Display-order txid. */
  readonly txid: string
  readonly price: bigint
  readonly fee: bigint
  readonly size: number
  readonly expiry: number
  readonly commitments: ReadonlyArray<{ readonly address: string; readonly amount: bigint }>
}

type VerboseTx = typeof VerboseTx.Type

/** A ticket purchase from its verbose transaction: output 0 stakes the price, the commitments say who put in what. */
const ticketOf = (tx: VerboseTx): MinedTicket => {
  const price = atomsOf(tx.vout[0]!.value, "ticket price")
  const commitments = tx.vout
    .filter((o) => o.scriptPubKey.type === "sstxcommitment")
    .map((o) => ({ address: o.scriptPubKey.addresses?.[0] ?? "", amount: atomsOf(o.scriptPubKey.commitamt ?? 0, "commitamt") }))
  const committed = commitments.reduce((a, c) => a + c.amount, 0n)
  // The commitments add up to what went in; what the ticket does not stake is its fee.
  return { txid: tx.txid, price, fee: committed - price, size: tx.hex.length / 2, expiry: tx.expiry, commitments }
}

/** What the differential needs of one of dcrd's blocks. */
export interface ChainBlock {
  readonly height: number
  /** Display-order block hash. */
  readonly hash: string
  readonly headerBytes: Uint8Array
  readonly header: BlockHeader
  /** The coinbase's input: the work subsidy dcrd paid. */
  readonly workPaid: bigint
  /** The treasurybase's input, when the block has one. */
  readonly treasuryPaid: bigint | undefined
  /** Votes: the ticket each spends (display txid) and its stakebase input (the vote subsidy). */
  readonly votes: ReadonlyArray<{ readonly ticket: string; readonly subsidy: bigint }>
  readonly tickets: ReadonlyArray<MinedTicket>
  /** Tickets revoked in the block (display txids). */
  readonly revocations: ReadonlyArray<string>
}

/** Splits a verbose block into the parts the comparison reads. */
const chainBlockOf = (headerBytes: Uint8Array, block: VerboseBlock): ChainBlock => {
  const header = Result.getOrThrow(decodeHeader(headerBytes))
  const coinbase = block.rawtx[0]
  if (coinbase === undefined || coinbase.vin[0]?.coinbase === undefined) {
    throw new RangeError(`block ${block.height}: the first regular transaction is not a coinbase`)
  }
  let treasuryPaid: bigint | undefined
  const votes: Array<{ ticket: string; subsidy: bigint }> = []
  const tickets: Array<MinedTicket> = []
  const revocations: Array<string> = []
  for (const tx of block.rawstx ?? []) {
    const first = tx.vin[0]
    const out0 = tx.vout[0]?.scriptPubKey.type ?? ""
    if (first?.treasurybase === true) {
      treasuryPaid = atomsOf(first.amountin, "treasurybase amountin")
    } else if (first?.stakebase !== undefined) {
      const spent = tx.vin[1]?.txid
      if (spent === undefined) throw new RangeError(`block ${block.height}: vote ${tx.txid} spends no ticket`)
      votes.push({ ticket: spent, subsidy: atomsOf(first.amountin, "stakebase amountin") })
    } else if (out0.startsWith("stakesubmission")) {
      tickets.push(ticketOf(tx))
    } else if (out0.startsWith("stakerevoke") || (tx.vout.length === 0 && first?.txid !== undefined)) {
      revocations.push(first!.txid!)
    }
  }
  return {
    height: block.height,
    hash: block.hash,
    headerBytes,
    header,
    workPaid: atomsOf(coinbase.vin[0]!.amountin, "coinbase amountin"),
    treasuryPaid,
    votes,
    tickets,
    revocations,
  }
}

/** dcrd's block at `height`: its 180 header bytes and its verbose form with transactions. */
const fetchChainBlock = (dcrd: JsonRpcCall, height: number): Effect.Effect<ChainBlock, SimnetCallFailure> =>
  Effect.gen(function* () {
    const hash = yield* decodeResult("getblockhash", Schema.String, yield* dcrd("getblockhash", [height]))
    const headerHex = yield* decodeResult("getblockheader", Schema.String, yield* dcrd("getblockheader", [hash, false]))
    const verbose = yield* decodeResult("getblock", VerboseBlock, yield* dcrd("getblock", [hash, true, true]))
    const bytes = fromHex(headerHex, "block header", 180)
    if (Result.isFailure(bytes)) return yield* Effect.fail(new SimnetRpcError({ method: "getblockheader", code: undefined, message: bytes.failure.message }))
    return chainBlockOf(bytes.success, verbose)
  })

/** What only the tip tells: dcrd's answers right after the block connected. */
interface TipFacts {
  readonly nextStakeDifficulty: bigint
  /** Display-order txids. */
  readonly liveTickets: ReadonlyArray<string>
  readonly ticketPoolValue: bigint
  /** dcrd's `winningtickets` notification for the tip, if it was heard (display txids, draw order). */
  readonly winners: ReadonlyArray<string> | undefined
  /** `estimatestakediff` without a count, with `ticketsAsked`, and with one ticket more than the window can take. */
  readonly estimate: StakeDiffAnswer
  readonly ticketsAsked: number
  readonly estimateFor: StakeDiffAnswer
  readonly estimateBeyondWindow: StakeDiffAnswer | "refused"
}

/** `estimatestakediff`'s reply in atoms. */
interface StakeDiffAnswer {
  readonly min: bigint
  readonly max: bigint
  readonly expected: bigint
  readonly user: bigint | undefined
}

const StakeDifficulty = Schema.Struct({ current: Amount, next: Amount })
const LiveTickets = Schema.Struct({ tickets: Schema.NullOr(Schema.Array(Schema.String)) })
const EstimateStakeDiff = Schema.Struct({ min: Amount, max: Amount, expected: Amount, user: Schema.optional(Amount) })

/** Tickets the rest of the window after `tip` can take: the most `estimatestakediff` accepts. */
const ticketsLeftInWindow = (params: NetworkParams, tip: number): number => (params.stakeDiffWindowSize - 1 - (tip % params.stakeDiffWindowSize)) * params.maxFreshStakePerBlock

/** A count for `estimatestakediff` that varies over 0..most with the height, both ends included. */
const ticketsToAskAt = (params: NetworkParams, tip: number): number => {
  const most = ticketsLeftInWindow(params, tip)
  const pick = tip % 4
  return pick === 0 ? 0 : pick === 1 ? most : Math.floor((most * ((tip * 7) % 11)) / 10)
}

const answerOf = (reply: typeof EstimateStakeDiff.Type): StakeDiffAnswer => ({
  min: atomsOf(reply.min, "estimatestakediff min"),
  max: atomsOf(reply.max, "estimatestakediff max"),
  expected: atomsOf(reply.expected, "estimatestakediff expected"),
  user: reply.user === undefined ? undefined : atomsOf(reply.user, "estimatestakediff user"),
})

const fetchTipFacts = (dcrd: JsonRpcCall, params: NetworkParams, tip: number, winners: ReadonlyArray<string> | undefined): Effect.Effect<TipFacts, SimnetCallFailure> =>
  Effect.gen(function* () {
    const sdiff = yield* decodeResult("getstakedifficulty", StakeDifficulty, yield* dcrd("getstakedifficulty"))
    const live = yield* decodeResult("livetickets", LiveTickets, yield* dcrd("livetickets"))
    const value = yield* decodeResult("getticketpoolvalue", Amount, yield* dcrd("getticketpoolvalue"))
    const estimate = (params: ReadonlyArray<unknown>) => Effect.flatMap(dcrd("estimatestakediff", params), (r) => Effect.map(decodeResult("estimatestakediff", EstimateStakeDiff, r), answerOf))
    const ticketsAsked = ticketsToAskAt(params, tip)
    // One ticket more than the window can take: dcrd answers with an error (code -32603).
    const beyond = yield* Effect.result(estimate([ticketsLeftInWindow(params, tip) + 1]))
    if (Result.isFailure(beyond) && beyond.failure._tag !== "JsonRpcRefused") return yield* Effect.fail(beyond.failure)
    return {
      nextStakeDifficulty: atomsOf(sdiff.next, "getstakedifficulty next"),
      liveTickets: live.tickets ?? [],
      ticketPoolValue: atomsOf(value, "getticketpoolvalue"),
      winners,
      estimate: yield* estimate([]),
      ticketsAsked,
      estimateFor: yield* estimate([ticketsAsked]),
      estimateBeyondWindow: Result.isSuccess(beyond) ? beyond.success : "refused",
    }
  })

// ---- dcrd's websocket: lottery winners and new work -----------------------------------------------

/**
 * dcrd has no RPC that returns a block's winners; it announces them per connected block from
 * SVH - 1 on in the `winningtickets` websocket notification (what voting wallets act on). It
 * also announces every block template it builds (`work`), which is how a miner learns that a
 * template it asked for (`regentemplate`) exists. This listens for both.
 */
export interface DcrdListener {
  readonly winnersOf: (blockHash: string) => ReadonlyArray<string> | undefined
  /** Waits (polling briefly) until the notification for `blockHash` arrived or `millis` passed. */
  readonly awaitWinners: (blockHash: string, millis: number) => Effect.Effect<ReadonlyArray<string> | undefined>
  /** How many `work` notifications arrived so far. */
  readonly workCount: () => number
  /** The getwork data (hex) of the latest `work` notification. */
  readonly latestWork: () => string | undefined
}

export const listenToDcrd = (endpoint: JsonRpcEndpoint): Effect.Effect<DcrdListener, SimnetRpcError, Scope.Scope> =>
  Effect.gen(function* () {
    const byHash = new Map<string, ReadonlyArray<string>>()
    let workCount = 0
    let latestWork: string | undefined
    const wsUrl = endpoint.url.replace(/^http/, "ws").replace(/\/?$/, "/ws")
    yield* Effect.acquireRelease(
      Effect.callback<UndiciWebSocket, SimnetRpcError>((resume) => {
        const dispatcher = endpoint.certificate === undefined ? undefined : new Agent({ connect: { ca: endpoint.certificate } })
        const ws = new UndiciWebSocket(wsUrl, {
          headers: { Authorization: `Basic ${Buffer.from(`${endpoint.user}:${Redacted.value(endpoint.password)}`).toString("base64")}` },
          ...(dispatcher === undefined ? {} : { dispatcher }),
        })
        let acknowledged = 0
        ws.addEventListener("message", (event) => {
          const data = typeof event.data === "string" ? event.data : Buffer.from(event.data as ArrayBuffer).toString()
          const msg = JSON.parse(data) as { method?: string; params?: ReadonlyArray<unknown>; id?: unknown; error?: unknown }
          if (msg.method === "winningtickets" && msg.params !== undefined) {
            const [hash, , tickets] = msg.params as [string, number, Record<string, string>]
            const ordered = Object.keys(tickets)
              .map(Number)
              .sort((a, b) => a - b)
              .map((i) => tickets[String(i)]!)
            byHash.set(hash, ordered)
          } else if (msg.method === "work" && msg.params !== undefined) {
            latestWork = msg.params[0] as string
            workCount++
          } else if (msg.id === 1 || msg.id === 2) {
            if (msg.error !== null && msg.error !== undefined) {
              resume(Effect.fail(new SimnetRpcError({ method: "notifywinningtickets/notifywork", code: undefined, message: JSON.stringify(msg.error) })))
            } else if (++acknowledged === 2) resume(Effect.succeed(ws))
          }
        })
        ws.addEventListener("open", () => {
          ws.send(JSON.stringify({ jsonrpc: "1.0", id: 1, method: "notifywinningtickets", params: [] }))
          ws.send(JSON.stringify({ jsonrpc: "1.0", id: 2, method: "notifywork", params: [] }))
        })
        ws.addEventListener("error", () => resume(Effect.fail(new SimnetRpcError({ method: "notifywinningtickets", code: undefined, message: `websocket ${wsUrl} failed` }))))
      }),
      (ws) => Effect.sync(() => ws.close()),
    )
    return {
      winnersOf: (hash) => byHash.get(hash),
      awaitWinners: (hash, millis) =>
        Effect.gen(function* () {
          for (let waited = 0; waited <= millis; waited += 20) {
            const w = byHash.get(hash)
            if (w !== undefined) return w
            yield* Effect.sleep(20)
          }
          return undefined
        }),
      workCount: () => workCount,
      latestWork: () => latestWork,
    }
  })

// ---- the comparison --------------------------------------------------------------------------------

type Quantity =
  | "lottery"
  | "stake-difficulty"
  | "stake-difficulty-estimate"
  | "pool-size"
  | "work-subsidy"
  | "vote-subsidy"
  | "treasury-subsidy"
  | "work-bits"
  | "revocations"
  | "live-tickets"
  | "pool-value"
  | "stake-rules"

export interface Mismatch {
  readonly height: number
  readonly quantity: Quantity
  readonly ours: string
  readonly dcrds: string
}

export const describeMismatch = (m: Mismatch): string => `block ${m.height}: ${m.quantity}: ours ${m.ours}, dcrd ${m.dcrds}`

/** Raw (internal-order) hex, the stake model's ticket id, from a display txid. */
export const ticketIdOf = (displayTxid: string): string => toHex(reversed(Result.getOrThrow(fromHex(displayTxid, "txid", 32))))
/** A display txid from the stake model's ticket id. */
export const displayOf = (ticketId: string): string => hashToDisplay(Result.getOrThrow(fromHex(ticketId, "ticket id", 32)))

const sortedJoin = (xs: Iterable<string>): string => [...xs].sort().join(",")

/**
 * Our model of the chain, advanced with dcrd's blocks and compared with them. `ownerOf` names
 * the wallet a ticket belongs to (for per-wallet stake info); the default puts all in one.
 */
export class ChainDifferential {
  readonly model: StakeModel
  readonly params: NetworkParams
  readonly activations: AgendaActivations
  private readonly times: Array<BlockTime> = []
  private readonly ownerOf: (txid: string) => string
  private readonly perQuantity = new Map<Quantity, number>()
  readonly mismatches: Array<Mismatch> = []
  readonly events: Array<StakeEvent> = []
  blocks = 0
  checks = 0

  constructor(params: NetworkParams, activations: AgendaActivations, ownerOf: (txid: string) => string = () => "network") {
    this.params = params
    this.activations = activations
    this.ownerOf = ownerOf
    // Undo data is not needed (dcrd is the only miner, no reorgs); ended tickets are kept for stake info.
    this.model = new StakeModel(params, activations, { keepEndedTickets: true, maxReorgDepth: 1 })
    const genesis = Result.getOrThrow(decodeHeader(this.model.tipHeaderBytes))
    this.times.push({ height: 0, timestamp: genesis.timestamp, bits: genesis.bits })
  }

  get height(): number {
    return this.model.height
  }

  /** Checks per quantity, for the summary line. */
  checksByQuantity(): ReadonlyMap<Quantity, number> {
    return this.perQuantity
  }

  private check(height: number, quantity: Quantity, ours: string, dcrds: string): boolean {
    this.checks++
    this.perQuantity.set(quantity, (this.perQuantity.get(quantity) ?? 0) + 1)
    if (ours === dcrds) return true
    this.mismatches.push({ height, quantity, ours, dcrds })
    return false
  }

  /**
   * Compares dcrd's next block with what our rules require of it, then connects it to the
   * model. Returns the mismatches this block added. After a stake-rule refusal the model
   * cannot follow dcrd any more; the caller should stop.
   */
  connect(block: ChainBlock): ReadonlyArray<Mismatch> {
    const before = this.mismatches.length
    const h = block.height
    const model = this.model
    const params = this.params
    if (h !== model.height + 1) throw new RangeError(`block ${h} does not follow our tip ${model.height}`)
    const header = block.header

    // Proof-of-work difficulty (ASERT on simnet) from our record of the chain.
    const parent = this.times[h - 1]!
    const bits = nextWorkBits(params, this.activations, parent, (i) => this.times[i]!, header.timestamp)
    this.check(h, "work-bits", hex32(bits), hex32(header.bits))

    // Stake difficulty and pool size, as our model requires them of this block.
    this.check(h, "stake-difficulty", String(model.nextStakeDifficulty()), String(header.sbits))
    this.check(h, "pool-size", String(model.poolSize), String(header.poolSize))

    // The lottery: the votes spend tickets we drew; winners that did not vote are revoked now.
    const winners = model.nextWinners.map(displayOf)
    const voted = new Set(block.votes.map((v) => v.ticket))
    const revoked = new Set(block.revocations)
    if (h >= params.stakeValidationHeight) {
      const strangers = [...voted].filter((t) => !winners.includes(t))
      const unaccounted = winners.filter((w) => !voted.has(w) && !revoked.has(w))
      const ours = `votes only from our winners [${sortedJoin(winners)}], the rest revoked`
      this.check(
        h,
        "lottery",
        ours,
        strangers.length === 0 && unaccounted.length === 0 ? ours : `votes from tickets we did not draw [${sortedJoin(strangers)}]; winners neither voting nor revoked [${sortedJoin(unaccounted)}]`,
      )
    }

    // Subsidies for this height and its voters.
    const subsidies = blockSubsidies(params, this.activations, h, header.voters)
    this.check(h, "work-subsidy", String(subsidies.work), String(block.workPaid))
    this.check(h, "treasury-subsidy", String(subsidies.treasury), String(block.treasuryPaid ?? 0n))
    for (const v of block.votes) this.check(h, "vote-subsidy", String(subsidies.perVote), String(v.subsidy))

    // Connect: the purchases enter our mempool (unless offered there already), then the block
    // goes through our stake rules.
    for (const t of block.tickets) {
      if (model.ticket(ticketIdOf(t.txid))?.status === "mempool") continue
      const offered = this.offer(t)
      if (Result.isFailure(offered)) this.check(h, "stake-rules", `ticket refused: ${offered.failure.message}`, "ticket mined")
    }
    const connected = model.connectBlock({
      header: block.headerBytes,
      tickets: block.tickets.map((t) => ticketIdOf(t.txid)),
      votes: block.votes.map((v) => ticketIdOf(v.ticket)),
      revocations: [],
    })
    if (Result.isFailure(connected)) {
      this.check(h, "stake-rules", `block refused: ${connected.failure.message}`, "block connected")
      return this.mismatches.slice(before)
    }
    this.checks++
    this.perQuantity.set("stake-rules", (this.perQuantity.get("stake-rules") ?? 0) + 1)
    this.events.push(...connected.success)

    // The revocations dcrd made are the ones our rules make (DCP-0009: missed and expired, now).
    const ours = connected.success.filter((e) => e._tag === "TicketRevoked").map((e) => displayOf(e.ticket))
    this.check(h, "revocations", sortedJoin(ours), sortedJoin(revoked))

    this.times.push({ height: h, timestamp: header.timestamp, bits: header.bits })
    this.blocks++
    return this.mismatches.slice(before)
  }

  /** Offers a purchase to our mempool, as dcrd's mempool holds it. */
  offer(t: MinedTicket): Result.Result<unknown, { readonly message: string }> {
    return this.model.submitTicket({
      hash: reversed(Result.getOrThrow(fromHex(t.txid, "ticket txid", 32))),
      owner: this.ownerOf(t.txid),
      price: t.price,
      fee: t.fee,
      size: t.size,
      commitments: t.commitments,
      expiry: t.expiry,
    })
  }

  /** Compares what dcrd says at its tip (our tip too) with the model. */
  compareTip(facts: TipFacts): ReadonlyArray<Mismatch> {
    const before = this.mismatches.length
    const h = this.model.height
    this.check(h, "stake-difficulty", String(this.model.nextStakeDifficulty()), String(facts.nextStakeDifficulty))
    const live = [...this.model.liveTickets()]
    this.check(h, "live-tickets", `${live.length} [${sortedJoin(live.map(displayOf))}]`, `${facts.liveTickets.length} [${sortedJoin(facts.liveTickets)}]`)
    const value = live.reduce((sum, id) => sum + (this.model.ticket(id)?.purchase.price ?? 0n), 0n)
    this.check(h, "pool-value", String(value), String(facts.ticketPoolValue))
    if (facts.winners !== undefined) {
      this.check(h, "lottery", this.model.nextWinners.map(displayOf).join(","), facts.winners.join(","))
    }
    const ours = estimateStakeDiff(this.model)
    this.check(h, "stake-difficulty-estimate", describeAnswer(ours), describeAnswer(facts.estimate))
    const oursFor = estimateStakeDiff(this.model, facts.ticketsAsked)
    this.check(h, "stake-difficulty-estimate", `user(${facts.ticketsAsked}) ${oursFor.user}`, `user(${facts.ticketsAsked}) ${facts.estimateFor.user}`)
    const most = ours.blocksLeftInWindow * this.params.maxFreshStakePerBlock
    const oursBeyond = Result.try(() => estimateStakeDiff(this.model, most + 1))
    this.check(
      h,
      "stake-difficulty-estimate",
      `${most + 1} tickets: ${Result.isSuccess(oursBeyond) ? describeAnswer(oursBeyond.success) : "refused"}`,
      `${most + 1} tickets: ${facts.estimateBeyondWindow === "refused" ? "refused" : describeAnswer(facts.estimateBeyondWindow)}`,
    )
    return this.mismatches.slice(before)
  }

  /** How many tickets were mined, voted, missed, expired and revoked over the run. */
  ticketEvents(): { readonly mined: number; readonly voted: number; readonly missed: number; readonly expired: number; readonly revoked: number } {
    const count = (f: (e: StakeEvent) => boolean) => this.events.filter(f).length
    return {
      mined: count((e) => e._tag === "TicketMined"),
      voted: count((e) => e._tag === "TicketVoted"),
      missed: count((e) => e._tag === "TicketMissed" && !e.expired),
      expired: count((e) => e._tag === "TicketMissed" && e.expired),
      revoked: count((e) => e._tag === "TicketRevoked"),
    }
  }

  /** `differential: compared N blocks, M checks (per quantity ...)`. */
  summary(): string {
    const parts = [...this.perQuantity.entries()].map(([q, n]) => `${q} ${n.toLocaleString("en-US")}`).join(", ")
    const t = this.ticketEvents()
    return (
      `differential: compared ${this.blocks.toLocaleString("en-US")} blocks, ${this.checks.toLocaleString("en-US")} checks (${parts}), ` +
      `${this.mismatches.length} mismatches; tickets mined ${t.mined}, voted ${t.voted}, missed ${t.missed}, expired ${t.expired}, revoked ${t.revoked}`
    )
  }
}

const hex32 = (n: number): string => n.toString(16).padStart(8, "0")

const describeAnswer = (a: { readonly min: bigint; readonly max: bigint; readonly expected: bigint }): string => `min ${a.min} expected ${a.expected} max ${a.max}`

/**
 * Offers dcrd's mempool tickets to our mempool, so that mempool counts (stake info) can be
 * compared. Mempool policy is not consensus: a purchase our mempool refuses is left out.
 */
export const offerMempoolTickets = (dcrd: JsonRpcCall, diff: ChainDifferential): Effect.Effect<number, SimnetCallFailure> =>
  Effect.gen(function* () {
    const txids = yield* decodeResult("getrawmempool", Schema.Array(Schema.String), yield* dcrd("getrawmempool", [false, "tickets"]))
    let offered = 0
    for (const txid of txids) {
      if (diff.model.ticket(ticketIdOf(txid)) !== undefined) continue
      const tx = yield* decodeResult("getrawtransaction", VerboseTx, yield* dcrd("getrawtransaction", [txid, 1]))
      if (Result.isSuccess(diff.offer(ticketOf(tx)))) offered++
    }
    return offered
  })

/**
 * Brings the differential to dcrd's tip, comparing every new block, then compares what only
 * the tip tells (with dcrd's announced winners for it, when a listener is given). `blocks`
 * collects the blocks read, for callers that replay them.
 */
export const followChain = (dcrd: JsonRpcCall, diff: ChainDifferential, winners: DcrdListener | undefined, blocks?: Array<ChainBlock>): Effect.Effect<ReadonlyArray<Mismatch>, SimnetCallFailure> =>
  Effect.gen(function* () {
    const found: Array<Mismatch> = []
    const tip = yield* decodeResult("getblockcount", Schema.Number, yield* dcrd("getblockcount"))
    let last: ChainBlock | undefined
    while (diff.height < tip) {
      last = yield* fetchChainBlock(dcrd, diff.height + 1)
      blocks?.push(last)
      found.push(...diff.connect(last))
      if (found.some((m) => m.quantity === "stake-rules")) return found
    }
    if (last === undefined) return found
    const announced = winners !== undefined && tip >= diff.params.stakeValidationHeight - 1 ? yield* winners.awaitWinners(last.hash, 5000) : undefined
    found.push(...diff.compareTip(yield* fetchTipFacts(dcrd, diff.params, tip, announced)))
    return found
  })
