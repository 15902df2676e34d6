import { Clock, Effect } from "effect"
import { DIFFICULTY_SCALE } from "../core/stratum/difficulty.ts"
import type { PowHashAlgorithm } from "../core/chain/hash.ts"
import type { NetworkParams } from "../core/chain/params.ts"
import type { PayoutScheme } from "../core/payout/schemes.ts"
import { ChainRpc } from "../core/services/chain.ts"
import { PayoutWallet } from "../core/services/wallet.ts"
import { Accounting } from "./accounting/port.ts"
import { currentPoolMetrics, PoolMetrics, timedChainRpc, timedPayoutWallet, watchPool } from "./ops/metrics.ts"
import { runMining } from "./mining.ts"
import { defaultSessionConfig, type SessionConfig } from "./stratum/session.ts"
import { makeStoreAccounting, type StoreAccountingOptions } from "./accounting/store-accounting.ts"
import { makeHealthCheck, type HealthReport } from "./ops/health.ts"
import type { PpsReserveReport } from "./accounting/reserve.ts"
import { migrate } from "./store/schema.ts"
import { PoolStore } from "./store/store.ts"
import { currentTaskSupervisor, TaskSupervisor, type TaskSupervisorShape } from "./ops/supervisor.ts"
import { defaultServerLimits, type ServerCounters, type ServerLimits } from "./stratum/server.ts"
import { defaultVardiffConfig } from "./stratum/vardiff.ts"

/** What the API reports that is not in the database: the running pool's live state. */
export interface PoolLiveState {
  readonly network: NetworkParams
  readonly mode: "pool" | "solo"
  readonly scheme: PayoutScheme
  readonly feeBasisPoints: number
  readonly counters: ServerCounters
  /** Height of the job miners are working on. */
  readonly workHeight: () => number | undefined
  /** The current work's height, network target and proof of work. */
  readonly work: () => { readonly height: number; readonly networkTarget: bigint; readonly pow: PowHashAlgorithm } | undefined
  /** Hashes difficulty 1 stands for (the sessions' unit; scaled in simulations). */
  readonly hashesPerUnitDifficulty: bigint
  readonly hashrates: (windowMs: number) => Effect.Effect<
    {
      readonly clients: ReadonlyArray<{ readonly account: string; readonly worker: string; readonly model: string; readonly hashesPerSecond: number; readonly lastMs: number }>
      readonly accounts: ReadonlyMap<string, number>
    },
    unknown
  >
  /** Each account's work in the next block's split (the scheme's own window); undefined for PPS and solo. */
  readonly nextRewardWeights: (networkDifficulty: bigint) => Effect.Effect<ReadonlyMap<string, bigint> | undefined, unknown>
  /** The PPS reserve: what blocks paid in against what PPS credited for shares (admin page and API). */
  readonly ppsReserve: Effect.Effect<PpsReserveReport, unknown>
  /** The pool's long-running tasks (the web server's run under it too). */
  readonly tasks: TaskSupervisorShape
  /** Every task and dependency, checked now (GET /api/health). */
  readonly health: Effect.Effect<HealthReport>
}

export interface PoolOptions {
  readonly network: NetworkParams
  readonly accounting: StoreAccountingOptions
  readonly vardiffTargetSeconds: number
  readonly maxConnectionsPerHost: number
  /** Overrides for tests and simulations (e.g. a fixed share difficulty). */
  readonly session?: Partial<SessionConfig>
  readonly limits?: Partial<ServerLimits>
  readonly rollTimestampSeconds?: number
}

/**
 * The pool, assembled: schema brought up to date, store-backed accounting, and the mining path
 * on whatever listener, node and wallet the caller's layers provide (TCP, dcrd and dcrwallet
 * in production; loopback, a simulated node and a test wallet in tests). Runs until its scope
 * closes.
 */
export const runPool = (options: PoolOptions) =>
  Effect.gen(function* () {
    yield* migrate
    // One metric set for every part (the caller's PoolMetrics, or the pool's own), and the
    // calls to dcrd and the wallet timed into it.
    const metrics = yield* currentPoolMetrics
    // One supervisor for every long-running task, so health lists them all.
    const tasks = yield* currentTaskSupervisor.pipe(Effect.provideService(PoolMetrics, metrics))
    const clock = yield* Clock.Clock
    const rawChain = yield* ChainRpc
    const rawWallet = yield* PayoutWallet
    const chain = timedChainRpc(rawChain, metrics, clock)
    const wallet = timedPayoutWallet(rawWallet, metrics, clock)
    const instrumented = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
      effect.pipe(Effect.provideService(PoolMetrics, metrics), Effect.provideService(TaskSupervisor, tasks), Effect.provideService(ChainRpc, chain), Effect.provideService(PayoutWallet, wallet))
    const mode = options.accounting.scheme.kind === "solo" ? "solo" : "pool"
    // Share difficulty between 2^-32 and 2^64 of the network's unit; vardiff picks within.
    const vardiff = { ...defaultVardiffConfig(1n, DIFFICULTY_SCALE << 64n), targetSeconds: options.vardiffTargetSeconds }
    const session = { ...defaultSessionConfig(options.network, mode, vardiff), ...options.session }
    // Hashrates are reported in the same hashes the sessions size difficulties by.
    const accounting = yield* makeStoreAccounting({ hashesPerUnitDifficulty: session.hashesPerUnitDifficulty, ...options.accounting }).pipe(instrumented)
    const limits = { ...defaultServerLimits, maxConnectionsPerHost: options.maxConnectionsPerHost, ...options.limits }
    const mining = yield* runMining({ session, limits, rollTimestampSeconds: options.rollTimestampSeconds ?? 30 }).pipe(Effect.provideService(Accounting, accounting.accounting), instrumented)
    watchPool(metrics, { powLimit: options.network.powLimit, currentJob: () => mining.jobs.current, hashrates: accounting.hashrates })
    const live: PoolLiveState = {
      network: options.network,
      mode,
      scheme: options.accounting.scheme,
      feeBasisPoints: options.accounting.feeBasisPoints,
      counters: mining.server.counters,
      workHeight: () => mining.jobs.current?.height,
      work: () => {
        const job = mining.jobs.current
        return job === undefined ? undefined : { height: job.height, networkTarget: job.networkTarget, pow: job.pow }
      },
      hashesPerUnitDifficulty: session.hashesPerUnitDifficulty,
      hashrates: accounting.hashrates,
      nextRewardWeights: accounting.nextRewardWeights,
      ppsReserve: accounting.ppsReserve,
      tasks,
      // Health asks dcrd and the wallet directly: its polls are not the pool's work, so they stay out of the RPC timings.
      health: makeHealthCheck({ chain: rawChain, wallet: rawWallet, store: yield* PoolStore, tasks }),
    }
    return { accounting, mining, live, metrics }
  })
