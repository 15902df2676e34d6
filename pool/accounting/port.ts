import { Context, Effect } from "effect"
import type { AcceptedWork } from "../accepted-work.ts"
import type { AcceptedShare } from "../stratum/session.ts"

/**
 * Where the mining path hands its results: accepted shares, the pool's blocks dcrd accepted, and
 * the main chain's tip. Payments and storage implement it (the store-backed accounting); the
 * mining path does not know how work is paid, nor follows its blocks: whether a block is
 * confirmed or orphaned is settlement's to ask the chain.
 */
export class Accounting extends Context.Service<
  Accounting,
  {
    readonly recordShares: (shares: ReadonlyArray<AcceptedShare>) => Effect.Effect<void>
    readonly blockAccepted: (work: AcceptedWork) => Effect.Effect<void>
    /** The main chain's tip moved (connect or disconnect): time to settle blocks and payouts. */
    readonly tipChanged: (height: number) => Effect.Effect<void>
  }
>()("dcrforge/Accounting") {}
