import { Clock, Context, Effect, Layer, Option } from "effect"
import { difficultyNumberOfTarget } from "../../core/stratum/difficulty.ts"
import { ChainRpc } from "../../core/services/chain.ts"
import { PayoutWallet } from "../../core/services/wallet.ts"
import type { SessionLog } from "../stratum/session.ts"

/**
 * The pool's metrics for Prometheus: a small registry of counters, gauges and histograms with
 * fixed label sets, rendered in the text exposition format 0.0.4, and the pool's own metric
 * set (`PoolMetrics`). No client library: the format is a page of text, and the hot path (a
 * share every few hundred microseconds under load) must cost an increment on an object found
 * once at start-up, not a label lookup or a string built per share.
 */

/** One label set's value at scrape time, for gauges read from the pool's state. */
interface Sample {
  readonly labels: ReadonlyArray<string>
  readonly value: number
}

class CounterChild {
  value = 0
  /** Exact amounts (atoms) kept apart from `value`, so a total of money never rounds. */
  exact = 0n
  inc(by = 1): void {
    this.value += by
  }
  incExact(by: bigint): void {
    this.exact += by
  }
}

class HistogramChild {
  readonly upperBounds: ReadonlyArray<number>
  /** Observations per bucket (not cumulative; the renderer adds them up), the last for +Inf. */
  readonly counts: Array<number>
  sum = 0
  count = 0
  constructor(upperBounds: ReadonlyArray<number>) {
    this.upperBounds = upperBounds
    this.counts = new Array<number>(upperBounds.length + 1).fill(0)
  }
  observe(value: number): void {
    const bounds = this.upperBounds
    let i = 0
    while (i < bounds.length && value > bounds[i]!) i++
    this.counts[i]!++
    this.sum += value
    this.count++
  }
  /** Records the seconds since `startNanos`, both from `clock`'s monotonic time (the pool's Clock service: virtual in a simulation). */
  observeSince(clock: Clock.Clock, startNanos: bigint): void {
    this.observe(Number(clock.monotonicTimeNanosUnsafe() - startNanos) / 1e9)
  }
}

type Kind = "counter" | "gauge" | "histogram"

/** A metric name with its labels; children (one per label-value tuple) are made once and kept. */
class Family<Child> {
  readonly name: string
  readonly help: string
  readonly kind: Kind
  readonly labelNames: ReadonlyArray<string>
  readonly children = new Map<string, { readonly labels: ReadonlyArray<string>; readonly child: Child }>()
  private readonly make: () => Child
  constructor(name: string, help: string, kind: Kind, labelNames: ReadonlyArray<string>, make: () => Child) {
    this.name = name
    this.help = help
    this.kind = kind
    this.labelNames = labelNames
    this.make = make
  }
  /** The child for these label values, made on first use. Resolve children at start-up, not per event. */
  labels(...values: ReadonlyArray<string>): Child {
    if (values.length !== this.labelNames.length) {
      throw new RangeError(`${this.name} takes labels (${this.labelNames.join(", ")}), got ${values.length} values`)
    }
    const key = values.join("\u0000")
    let entry = this.children.get(key)
    if (entry === undefined) {
      entry = { labels: [...values], child: this.make() }
      this.children.set(key, entry)
    }
    return entry.child
  }
}

/** A gauge whose samples are read from the pool's state when scraped (connections, hashrate, height). */
class ScrapedGauge {
  readonly name: string
  readonly help: string
  readonly kind = "gauge" as const
  readonly labelNames: ReadonlyArray<string>
  read: Effect.Effect<ReadonlyArray<Sample>, unknown> | undefined = undefined
  constructor(name: string, help: string, labelNames: ReadonlyArray<string>) {
    this.name = name
    this.help = help
    this.labelNames = labelNames
  }
  /** Where the samples come from; the part of the pool that owns the state sets it (the latest wins). */
  from(read: Effect.Effect<ReadonlyArray<Sample>, unknown>): void {
    this.read = read
  }
}

/** Seconds, for latencies from a loopback round trip (~0.1 ms) to a dcrd or wallet call timing out (30 s). */
const LATENCY_BUCKETS: ReadonlyArray<number> = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/

type AnyFamily = Family<CounterChild> | Family<HistogramChild> | ScrapedGauge

/** Label values may hold any text: backslash, double quote and newline are escaped. */
const escapeLabelValue = (value: string): string => value.replace(/[\\"\n]/g, (c) => (c === "\\" ? "\\\\" : c === '"' ? '\\"' : "\\n"))
const escapeHelp = (text: string): string => text.replace(/[\\\n]/g, (c) => (c === "\\" ? "\\\\" : "\\n"))

/** A sample value as Prometheus parses it (Go's ParseFloat, with +Inf, -Inf and NaN). */
export const formatValue = (value: number): string => (Number.isNaN(value) ? "NaN" : value === Number.POSITIVE_INFINITY ? "+Inf" : value === Number.NEGATIVE_INFINITY ? "-Inf" : String(value))

const labelText = (names: ReadonlyArray<string>, values: ReadonlyArray<string>, extra?: string): string => {
  const parts = names.map((n, i) => `${n}="${escapeLabelValue(values[i] ?? "")}"`)
  if (extra !== undefined) parts.push(extra)
  return parts.length === 0 ? "" : `{${parts.join(",")}}`
}

const counterText = (c: CounterChild): string => (c.exact === 0n ? formatValue(c.value) : c.value === 0 ? c.exact.toString() : formatValue(Number(c.exact) + c.value))

/** Metric families in the order they were registered; rendering reads them, nothing else does. */
export class MetricsRegistry {
  private readonly families = new Map<string, AnyFamily>()

  private register<F extends AnyFamily>(name: string, kind: Kind, labelNames: ReadonlyArray<string>, scraped: boolean, make: () => F): F {
    const existing = this.families.get(name)
    if (existing !== undefined) {
      // The same definition again (a second pool on one registry) shares the family.
      if (existing.kind === kind && existing.labelNames.join(",") === labelNames.join(",") && existing instanceof ScrapedGauge === scraped) return existing as F
      throw new RangeError(`metric ${name} is already registered with another type or labels`)
    }
    if (!METRIC_NAME.test(name)) throw new RangeError(`metric name ${JSON.stringify(name)} is not a Prometheus name`)
    for (const l of labelNames) {
      if (!LABEL_NAME.test(l) || l.startsWith("__")) throw new RangeError(`label name ${JSON.stringify(l)} of ${name} is not a Prometheus label name`)
      if (kind === "histogram" && l === "le") throw new RangeError(`histogram ${name} cannot have a label named le`)
    }
    const family = make()
    this.families.set(name, family)
    return family
  }

  counter(name: string, help: string, labelNames: ReadonlyArray<string> = []): Family<CounterChild> {
    return this.register(name, "counter", labelNames, false, () => new Family(name, help, "counter", labelNames, () => new CounterChild()))
  }

  histogram(name: string, help: string, labelNames: ReadonlyArray<string> = [], upperBounds: ReadonlyArray<number> = LATENCY_BUCKETS): Family<HistogramChild> {
    for (let i = 0; i < upperBounds.length; i++) {
      if (!Number.isFinite(upperBounds[i]!) || (i > 0 && upperBounds[i]! <= upperBounds[i - 1]!)) throw new RangeError(`histogram ${name}: buckets must be finite and increasing`)
    }
    const bounds = [...upperBounds]
    return this.register(name, "histogram", labelNames, false, () => new Family(name, help, "histogram", labelNames, () => new HistogramChild(bounds)))
  }

  scrapedGauge(name: string, help: string, labelNames: ReadonlyArray<string> = []): ScrapedGauge {
    return this.register(name, "gauge", labelNames, true, () => new ScrapedGauge(name, help, labelNames))
  }

  /** Every family's name, type and label names, whether or not it has samples yet (what a dashboard may query). */
  get schema(): ReadonlyArray<{ readonly name: string; readonly kind: Kind; readonly labelNames: ReadonlyArray<string> }> {
    return [...this.families.values()].map((f) => ({ name: f.name, kind: f.kind, labelNames: f.labelNames }))
  }

  /**
   * The text exposition format 0.0.4: per family a HELP and a TYPE line, then its samples;
   * histograms as cumulative `_bucket{le=...}` series ending in `+Inf`, then `_sum` and
   * `_count`. A scraped gauge whose read fails is left without samples for this scrape.
   */
  get render(): Effect.Effect<string> {
    const families = [...this.families.values()]
    return Effect.gen(function* () {
      const out: Array<string> = []
      for (const f of families) {
        out.push(`# HELP ${f.name} ${escapeHelp(f.help)}`, `# TYPE ${f.name} ${f.kind}`)
        if (f instanceof ScrapedGauge) {
          if (f.read === undefined) continue
          const samples = yield* f.read.pipe(Effect.orElseSucceed((): ReadonlyArray<Sample> => []))
          for (const s of samples) out.push(`${f.name}${labelText(f.labelNames, s.labels)} ${formatValue(s.value)}`)
          continue
        }
        for (const { labels, child } of f.children.values()) {
          if (child instanceof CounterChild) out.push(`${f.name}${labelText(f.labelNames, labels)} ${counterText(child)}`)
          else {
            let cumulative = 0
            for (let i = 0; i < child.upperBounds.length; i++) {
              cumulative += child.counts[i]!
              out.push(`${f.name}_bucket${labelText(f.labelNames, labels, `le="${formatValue(child.upperBounds[i]!)}"`)} ${cumulative}`)
            }
            out.push(`${f.name}_bucket${labelText(f.labelNames, labels, 'le="+Inf"')} ${child.count}`)
            out.push(`${f.name}_sum${labelText(f.labelNames, labels)} ${formatValue(child.sum)}`)
            out.push(`${f.name}_count${labelText(f.labelNames, labels)} ${child.count}`)
          }
        }
      }
      return out.length === 0 ? "" : `${out.join("\n")}\n`
    })
  }
}

export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

// ---- the pool's metric set

/** Every reason a share is refused, as the session reports it. */
export type ShareRejectReason = Extract<SessionLog, { readonly kind: "share-rejected" }>["reason"]
// A record, not a list: the compiler checks that every reason the session can give is here.
const REJECT_REASONS: Readonly<Record<ShareRejectReason, true>> = {
  "bad-params": true,
  "unknown-job": true,
  "stale-job": true,
  "bad-extranonce": true,
  "time-out-of-range": true,
  duplicate: true,
  "low-difficulty": true,
  unauthorized: true,
  "not-subscribed": true,
}

/** Why the pool refused or closed a stratum connection. */
type ConnectionCloseReason = "per-host-limit" | "message-flood" | "line-too-long" | "idle" | "not-reading" | "pow-switched"
const CLOSE_REASONS: Readonly<Record<ConnectionCloseReason, true>> = { "per-host-limit": true, "message-flood": true, "line-too-long": true, idle: true, "not-reading": true, "pow-switched": true }

/** Why a miner's mining.subscribe was refused. */
type MinerRefusal = "unsupported" | "cannot-mine"
const MINER_REFUSALS: Readonly<Record<MinerRefusal, true>> = { unsupported: true, "cannot-mine": true }

/** What happened to a block: found, then dcrd's verdict, then the chain's. */
type BlockEvent = "candidate" | "accepted" | "rejected" | "unsubmitted" | "confirmed" | "orphaned" | "matured"
const BLOCK_EVENTS: Readonly<Record<BlockEvent, true>> = { candidate: true, accepted: true, rejected: true, unsubmitted: true, confirmed: true, orphaned: true, matured: true }

const childrenOf = <K extends string, C>(keys: Readonly<Record<K, true>>, make: (key: K) => C): Readonly<Record<K, C>> => {
  const out = {} as Record<K, C>
  for (const key of Object.keys(keys) as Array<K>) out[key] = make(key)
  return out
}

/** The pool's metrics, each child resolved once here so the hot path only increments. */
export const makePoolMetrics = (registry: MetricsRegistry = new MetricsRegistry()) => {
  // Registered in the order a scrape lists them: miners, shares, the pool's state, blocks, payouts, calls out.
  const connections = registry.scrapedGauge("dcrforge_stratum_connections", "Open stratum connections, by miner model (unidentified until mining.subscribe).", ["model"])
  const connectionsOpened = registry.counter("dcrforge_stratum_connections_total", "Stratum connections accepted since the pool started.").labels()
  const connectionsRefused = registry.counter("dcrforge_stratum_connections_refused_total", "Stratum connections refused for exceeding the per-host limit.").labels()
  const connectionsClosedFamily = registry.counter(
    "dcrforge_stratum_connections_closed_total",
    "Stratum connections the pool refused or closed, by reason: per-host-limit (refused at connect), message-flood (far over its line budget), line-too-long, idle, not-reading (writes blocked past the time-out), pow-switched (a miner that cannot mine the proof of work the chain switched to, closed at the switch).",
    ["reason"],
  )
  const connectionsClosed = childrenOf(CLOSE_REASONS, (reason) => connectionsClosedFamily.labels(reason))
  const minersRefusedFamily = registry.counter(
    "dcrforge_stratum_miners_refused_total",
    "mining.subscribe refused, by reason: unsupported (a user agent of no supported model), cannot-mine (a model that cannot mine the chain's active proof of work).",
    ["reason"],
  )
  const minersRefused = childrenOf(MINER_REFUSALS, (reason) => minersRefusedFamily.labels(reason))
  const linesThrottled = registry
    .counter("dcrforge_stratum_lines_throttled_total", "Stratum lines (blank ones too) over their connection's budget: refused with 'too many messages', not handled.")
    .labels()
  const badMessages = registry.counter("dcrforge_stratum_bad_messages_total", "Stratum lines that were not valid requests (bad JSON, over-long lines).").labels()
  const shares = registry.counter("dcrforge_shares_total", "Shares submitted by miners, by result and, for rejected ones, the pool's rejection reason.", ["result", "reason"])
  const sharesAccepted = shares.labels("accepted", "none")
  const sharesRejected = childrenOf(REJECT_REASONS, (reason) => shares.labels("rejected", reason))
  const shareRecordSeconds = registry
    .histogram("dcrforge_share_record_duration_seconds", "Time an accepted share waits for accounting (the store's group commit) before the miner hears 'accepted'.")
    .labels()
  const shareCommitSeconds = registry.histogram("dcrforge_share_commit_duration_seconds", "Duration of one group commit of shares to the store.").labels()
  const sharesCommitted = registry.counter("dcrforge_shares_committed_total", "Shares written to the store.").labels()
  const hashrate = registry.scrapedGauge("dcrforge_pool_hashrate_hashes_per_second", "The pool's hashrate from the shares of the last 10 minutes, in hashes per second.")
  const networkDifficulty = registry.scrapedGauge("dcrforge_network_difficulty", "Network difficulty of the current job (proof-of-work limit over target).")
  const workHeight = registry.scrapedGauge("dcrforge_work_height", "Height of the block miners are working on.")
  const blockFamily = registry.counter(
    "dcrforge_blocks_total",
    "The pool's blocks by event: candidate (a share met the network target), accepted or rejected (false or an error) by dcrd, unsubmitted (dcrd unreachable through the retries), then confirmed, orphaned and matured as settled from the chain.",
    ["status"],
  )
  const blocks = childrenOf(BLOCK_EVENTS, (status) => blockFamily.labels(status))
  const blockSubmitSeconds = registry.histogram("dcrforge_block_submit_duration_seconds", "Time from a block candidate to dcrd's verdict, retries included.").labels()
  const ppsReserve = registry.scrapedGauge(
    "dcrforge_pps_reserve_atoms",
    "PPS only: the reserve in atoms (1 DCR = 1e8 atoms), by figure: blocks_in (rewards of the pool's blocks in the main chain), credited_to_shares (what PPS credited for shares), balance (the difference, negative while PPS has paid more than blocks brought) and low_threshold (below it the pool warns).",
    ["figure"],
  )
  const payouts = registry.counter("dcrforge_payouts_total", "Payout transactions published.").labels()
  const payoutAtoms = registry.counter("dcrforge_payout_atoms_total", "Atoms paid out in published payout transactions (1 DCR = 1e8 atoms).").labels()
  const taskFailures = registry.counter(
    "dcrforge_task_failures_total",
    "Failures and defects of the pool's long-running tasks (share committer, settler, chain events, ...), by task; each was logged with its cause and the task restarted.",
    ["task"],
  )
  const tasksUp = registry.scrapedGauge("dcrforge_task_up", "1 while a long-running task runs, 0 while it waits to restart after a failure.", ["task"])
  const itemFailures = registry.counter(
    "dcrforge_item_failures_total",
    "Single items a defect stopped while the rest went on: a share batch row that could not be written, a block that could not be settled, a payout batch that could not be advanced.",
    ["kind"],
  )
  const rpcSeconds = registry.histogram("dcrforge_rpc_duration_seconds", "Duration of calls to dcrd and the payout wallet, by service and method (wallet build = create, fund and sign).", [
    "service",
    "method",
  ])
  return {
    registry,
    connections,
    connectionsOpened,
    connectionsRefused,
    connectionsClosed,
    minersRefused,
    linesThrottled,
    badMessages,
    sharesAccepted,
    sharesRejected,
    shareRecordSeconds,
    shareCommitSeconds,
    sharesCommitted,
    hashrate,
    networkDifficulty,
    workHeight,
    blocks,
    blockSubmitSeconds,
    ppsReserve,
    payouts,
    payoutAtoms,
    taskFailures,
    tasksUp,
    itemFailures: { share: itemFailures.labels("share"), block: itemFailures.labels("block"), payout: itemFailures.labels("payout") },
    rpcSeconds,
  }
}

export type PoolMetricSet = ReturnType<typeof makePoolMetrics>

/**
 * The pool's metrics as a service. `runPool` uses the one it is given, or makes its own, and
 * hands it to every part it builds; parts built on their own (tests, benchmarks) get a private
 * set that nobody reads.
 */
export class PoolMetrics extends Context.Service<PoolMetrics, PoolMetricSet>()("dcrforge/PoolMetrics") {
  static readonly layer: Layer.Layer<PoolMetrics> = Layer.sync(PoolMetrics)(() => makePoolMetrics())
}

/** The metric set in context, or a private one. */
export const currentPoolMetrics: Effect.Effect<PoolMetricSet> = Effect.map(
  Effect.serviceOption(PoolMetrics),
  Option.getOrElse(() => makePoolMetrics()),
)

/** Times every run of `effect` into `histogram`, success or failure, by `clock`. */
const timedBy =
  (clock: Clock.Clock, histogram: HistogramChild) =>
  <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    Effect.suspend(() => {
      const start = clock.monotonicTimeNanosUnsafe()
      return Effect.onExitPrimitive(effect, () => {
        histogram.observeSince(clock, start)
        return undefined
      })
    })

/** dcrd's calls timed by the JSON-RPC method each one is. */
export const timedChainRpc = (chain: ChainRpc["Service"], metrics: PoolMetricSet, clock: Clock.Clock): ChainRpc["Service"] => {
  const time = (method: string) => timedBy(clock, metrics.rpcSeconds.labels("dcrd", method))
  const getWork = time("getwork")
  // A submission is getwork with the solved data.
  const submitWork = time("getwork_submit")
  const getBestBlock = time("getbestblock")
  const getBlockHash = time("getblockhash")
  const getBlock = time("getblock")
  return ChainRpc.of({
    getWork: getWork(chain.getWork),
    submitWork: (data) => submitWork(chain.submitWork(data)),
    getBestBlock: getBestBlock(chain.getBestBlock),
    getBlockHash: (height) => getBlockHash(chain.getBlockHash(height)),
    coinbaseValue: (hash) => getBlock(chain.coinbaseValue(hash)),
    events: chain.events,
  })
}

/** The payout wallet's calls timed (build is walletpassphrase, getwalletfee, createrawtransaction, fundrawtransaction and signrawtransaction). */
export const timedPayoutWallet = (wallet: PayoutWallet["Service"], metrics: PoolMetricSet, clock: Clock.Clock): PayoutWallet["Service"] => {
  const build = timedBy(clock, metrics.rpcSeconds.labels("wallet", "build"))
  const publish = timedBy(clock, metrics.rpcSeconds.labels("wallet", "sendrawtransaction"))
  const status = timedBy(clock, metrics.rpcSeconds.labels("wallet", "gettransaction"))
  return PayoutWallet.of({
    build: (outputs) => build(wallet.build(outputs)),
    publish: (payout) => publish(wallet.publish(payout)),
    status: (txid) => status(wallet.status(txid)),
  })
}

const HASHRATE_WINDOW_MS = 10 * 60_000

/** The gauges read from the running pool when scraped: its hashrate, the network difficulty and the work height. */
export const watchPool = (
  metrics: PoolMetricSet,
  pool: {
    readonly powLimit: bigint
    readonly currentJob: () => { readonly height: number; readonly networkTarget: bigint } | undefined
    readonly hashrates: (windowMs: number) => Effect.Effect<{ readonly accounts: ReadonlyMap<string, number> }, unknown>
  },
): void => {
  metrics.workHeight.from(
    Effect.sync(() => {
      const job = pool.currentJob()
      return job === undefined ? [] : [{ labels: [], value: job.height }]
    }),
  )
  metrics.networkDifficulty.from(
    Effect.sync(() => {
      const job = pool.currentJob()
      // Six decimals survive the bigint division; difficulty is far above 2^53 only on paper.
      return job === undefined ? [] : [{ labels: [], value: difficultyNumberOfTarget(pool.powLimit, job.networkTarget) }]
    }),
  )
  metrics.hashrate.from(
    Effect.map(pool.hashrates(HASHRATE_WINDOW_MS), (rates) => {
      let sum = 0
      for (const r of rates.accounts.values()) sum += r
      return [{ labels: [], value: sum }]
    }),
  )
}
