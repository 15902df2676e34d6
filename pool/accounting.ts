import { Context, Effect, Layer } from "effect"
import type { AcceptedWork } from "./accepted-work.ts"
import type { AcceptedShare } from "./session.ts"

/**
 * Where the mining path hands its results: accepted shares, and the pool's blocks as the chain
 * confirms or drops them. Payments and storage implement it (the payout engine and the store);
 * the mining path does not know how work is paid.
 */
export class Accounting extends Context.Service<
  Accounting,
  {
    readonly recordShares: (shares: ReadonlyArray<AcceptedShare>) => Effect.Effect<void>
    readonly blockAccepted: (work: AcceptedWork) => Effect.Effect<void>
    readonly blockConfirmed: (work: AcceptedWork) => Effect.Effect<void>
    /** Lost its confirmation in a reorg (it may come back). */
    readonly blockUnconfirmed: (work: AcceptedWork) => Effect.Effect<void>
    /** Never made it: unconfirmed too far below the tip. */
    readonly blockOrphaned: (work: AcceptedWork) => Effect.Effect<void>
    /** The main chain's tip moved (connect or disconnect): time to settle blocks and payouts. */
    readonly tipChanged: (height: number) => Effect.Effect<void>
  }
>()("dcrforge/Accounting") {}

export type AccountingEvent =
  | { readonly kind: "accepted" | "confirmed" | "unconfirmed" | "orphaned"; readonly work: AcceptedWork }

/**
 * Keeps everything in memory: solo mode (nothing to pay) and tests. With `keepShares: false`
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
