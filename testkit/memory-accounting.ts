import { Effect, Layer } from "effect"
import { Accounting, type AcceptedWork } from "../pool/accounting/port.ts"
import type { AcceptedShare } from "../pool/stratum/session.ts"

/**
 * Keeps everything in memory, for tests and benches (solo mode in production still stores shares). With `keepShares: false`
 * it only counts shares (a load benchmark must not measure a growing array's GC cost).
 */
export const memoryAccounting = (
  options: {
    readonly keepShares: boolean
    /** Runs before each batch is recorded: a test's stand-in for a slow or stuck store commit. */
    readonly beforeRecord?: Effect.Effect<void> | undefined
  } = { keepShares: true },
) => {
  const shares: Array<AcceptedShare> = []
  /** The blocks dcrd accepted, in order. */
  const blocks: Array<AcceptedWork> = []
  /** Every tip the mining path reported, in order. */
  const tips: Array<number> = []
  const counted = { shares: 0 }
  const layer = Layer.succeed(Accounting)(
    Accounting.of({
      recordShares: (batch) =>
        Effect.andThen(
          options.beforeRecord ?? Effect.void,
          Effect.sync(() => {
            counted.shares += batch.length
            if (options.keepShares) shares.push(...batch)
          }),
        ),
      blockAccepted: (work) => Effect.sync(() => void blocks.push(work)),
      tipChanged: (height) => Effect.sync(() => void tips.push(height)),
    }),
  )
  return { shares, blocks, tips, counted, layer }
}
