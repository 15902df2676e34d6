import { Context, Effect } from "effect"
import type { MinerModel } from "../../core/stratum/profiles.ts"
import type { AcceptedShare } from "../stratum/session.ts"

/**
 * A block the pool mined and dcrd accepted, as the mining path hands it to accounting. What
 * becomes of it (confirmed, orphaned, matured) is settlement's to find out, from the chain.
 */
export interface AcceptedWork {
  /** Display hex of the block hash (BLAKE-256 in every era: the PoW hash is not the block's id). */
  readonly hash: string
  readonly height: number
  readonly account: string
  readonly worker: string
  readonly model: MinerModel
  /** Milliseconds, pool clock. */
  readonly foundAt: number
  /** The network difficulty it was mined at, in DIFFICULTY_SCALE units (what PPLNS windows scale by). */
  readonly networkDifficulty: bigint
  /**
   * The share that found it, stored with the block in one transaction (a block goes to dcrd
   * before its share is committed, so its window must not depend on the share committer).
   * Undefined only for blocks reported by hand (tests).
   */
  readonly findingShare: AcceptedShare | undefined
}

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
