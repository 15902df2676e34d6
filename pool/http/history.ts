import { Cause, Clock, Effect, Schedule } from "effect"
import { difficultyNumberOfTarget } from "../../core/stratum/difficulty.ts"
import type { PoolLiveState } from "../pool.ts"
import { CrashPoints } from "../ops/crash-points.ts"

/** One periodic reading of the pool's and the network's hashrate (hashes per second). */
interface HashrateSample {
  readonly timeMs: number
  readonly pool: number
  readonly network: number
  readonly accounts: ReadonlyMap<string, number>
}

interface HashrateHistoryOptions {
  /** Time between samples. */
  readonly intervalMillis: number
  /** Samples kept; older ones are dropped (a day of 5-minute samples is 288). */
  readonly capacity: number
  /** The window each sample's pool and account hashrates are measured over. */
  readonly windowMillis: number
  /** The shortest window a sample is measured over (default 30 s): no samples before it has passed. */
  readonly minWindowMillis?: number | undefined
}

/**
 * The network's hashrate implied by the current work: difficulty (powLimit / target) times the
 * hashes difficulty 1 takes, over the target block time. Undefined before the first work.
 */
export const networkHashrate = (live: PoolLiveState): number | undefined => {
  const work = live.work()
  if (work === undefined) return undefined
  const difficulty = difficultyNumberOfTarget(live.network.powLimit, work.networkTarget)
  return (difficulty * Number(live.hashesPerUnitDifficulty)) / live.network.targetTimePerBlock
}

/**
 * A ring of hashrate samples for the charts, kept in memory (a restart starts a new chart; the
 * shares behind it are in the store). Sampling runs on the Effect clock, so it follows virtual
 * time in simulations, and stops with the scope.
 */
export const makeHashrateHistory = (live: PoolLiveState, options: HashrateHistoryOptions) =>
  Effect.gen(function* () {
    const ring: Array<HashrateSample> = []
    const startedMs = yield* Clock.currentTimeMillis
    const faults = yield* Effect.serviceOption(CrashPoints)
    const sample = Effect.gen(function* () {
      if (faults._tag === "Some") yield* faults.value.at("history:sample")
      const network = networkHashrate(live)
      // Nothing to chart before the first work from dcrd.
      if (network === undefined) return
      const now = yield* Clock.currentTimeMillis
      // A young pool is measured over its own lifetime: a full window would count time before
      // it started as idle and draw a slow ramp that never happened. Under a minimum window a
      // few shares decide the figure, so there is no sample before it.
      const lifetime = now - startedMs
      const minimum = Math.min(options.minWindowMillis ?? 30_000, options.windowMillis)
      if (lifetime < minimum) return
      const window = Math.min(options.windowMillis, lifetime)
      const rates = yield* live.hashrates(window)
      let pool = 0
      for (const r of rates.accounts.values()) pool += r
      ring.push({ timeMs: now, pool, network, accounts: rates.accounts })
      if (ring.length > options.capacity) ring.splice(0, ring.length - options.capacity)
    }).pipe(Effect.catch((error) => Effect.logWarning("hashrate sample skipped; the next interval tries again", Cause.fail(error))))
    yield* live.tasks.supervise("hashrate-sampler", Effect.repeat(sample, Schedule.spaced(options.intervalMillis)))
    return {
      samples: (): ReadonlyArray<HashrateSample> => ring,
      /** The window hashrates are measured over now: the full window, or the pool's lifetime while shorter (at least the minimum). */
      windowMillis: Effect.map(Clock.currentTimeMillis, (now) => Math.min(options.windowMillis, Math.max(now - startedMs, Math.min(options.minWindowMillis ?? 30_000, options.windowMillis)))),
    }
  })

export type HashrateHistory = Effect.Success<ReturnType<typeof makeHashrateHistory>>
