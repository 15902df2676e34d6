import { Data } from "effect"

export type TicketRejection = "duplicate" | "price-below-stake-difficulty" | "commitments-do-not-add-up" | "bad-amount" | "expired"

/** A ticket purchase the mempool refuses. */
export class TicketRejected extends Data.TaggedError("TicketRejected")<{
  readonly ticket: string
  readonly reason: TicketRejection
  readonly message: string
}> {}

type BlockRejection =
  | "wrong-height"
  | "bad-header"
  | "header-mismatch"
  | "too-many-tickets"
  | "ticket-not-in-mempool"
  | "ticket-price-too-low"
  | "ticket-expired"
  | "duplicate-ticket"
  | "vote-not-a-winner"
  | "duplicate-vote"
  | "votes-before-stake-validation"
  | "not-enough-votes"
  | "revocation-not-missed"
  | "revocation-not-allowed"
  | "pool-too-small-for-lottery"

/** A block the stake rules refuse; nothing of it was applied. */
export class BlockRejected extends Data.TaggedError("BlockRejected")<{
  readonly height: number
  readonly reason: BlockRejection
  readonly message: string
}> {}
