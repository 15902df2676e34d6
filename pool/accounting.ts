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
  }
>()("dcrforge/Accounting") {}

export type AccountingEvent =
  | { readonly kind: "accepted" | "confirmed" | "unconfirmed" | "orphaned"; readonly work: AcceptedWork }

/** Keeps everything in memory: solo mode (nothing to pay) and tests. */
export const memoryAccounting = () => {
  const shares: Array<AcceptedShare> = []
  const events: Array<AccountingEvent> = []
  const note = (kind: AccountingEvent["kind"]) => (work: AcceptedWork) => Effect.sync(() => void events.push({ kind, work }))
  const layer = Layer.succeed(Accounting)(
    Accounting.of({
      recordShares: (batch) => Effect.sync(() => void shares.push(...batch)),
      blockAccepted: note("accepted"),
      blockConfirmed: note("confirmed"),
      blockUnconfirmed: note("unconfirmed"),
      blockOrphaned: note("orphaned"),
    }),
  )
  return { shares, events, layer }
}
