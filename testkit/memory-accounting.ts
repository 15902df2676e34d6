import { Effect, Layer } from "effect"
import type { AcceptedWork } from "../pool/accepted-work.ts"
import { Accounting } from "../pool/accounting/port.ts"
import type { AcceptedShare } from "../pool/stratum/session.ts"

export type AccountingEvent =
  | { readonly kind: "accepted" | "confirmed" | "unconfirmed" | "orphaned"; readonly work: AcceptedWork }

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
  const events: Array<AccountingEvent> = []
  const counted = { shares: 0 }
  const note = (kind: AccountingEvent["kind"]) => (work: AcceptedWork) => Effect.sync(() => void events.push({ kind, work }))
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
      blockAccepted: note("accepted"),
      blockConfirmed: note("confirmed"),
      blockUnconfirmed: note("unconfirmed"),
      blockOrphaned: note("orphaned"),
      tipChanged: () => Effect.void,
    }),
  )
  return { shares, events, counted, layer }
}
