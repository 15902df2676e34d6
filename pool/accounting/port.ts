import { Context, Effect } from "effect"
import type { AcceptedWork } from "../accepted-work.ts"
import type { AcceptedShare } from "../stratum/session.ts"

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
