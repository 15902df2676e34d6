import { Cause, Effect } from "effect"
import type { PoolMetricSet } from "../ops/metrics.ts"

/**
 * One item's defect is that item's: logged at error level with its cause and counted, and the
 * loop goes on to the next block or batch. Typed failures (store, dcrd or wallet down) still
 * end the pass, which the next tip retries.
 */
export const isolated =
  (metrics: PoolMetricSet, kind: "block" | "payout", what: string) =>
  <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A | void, E, R> =>
    Effect.catchDefect(effect, (defect) =>
      Effect.sync(() => metrics.itemFailures[kind].inc()).pipe(Effect.andThen(Effect.logError(`${what} skipped this pass: a defect stopped it`, Cause.die(defect)))),
    )
