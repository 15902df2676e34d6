import { Context, Data, type Effect } from "effect"

/**
 * Where a ticket is in its life, as dcrwallet's `tickets` names it: `unmined` (in the mempool),
 * `immature` (mined, not yet in the pool), `live`, then one end: `voted`, or `missed`/`expired`
 * and later `revoked` (in the same block since automatic revocations, DCP-0009).
 */
export type StakeTicketStatus = "unmined" | "immature" | "live" | "voted" | "missed" | "expired" | "revoked"

/** The next price window's price as dcrd's `estimatestakediff` gives it, in atoms. */
interface NextPriceEstimate {
  /** If nobody buys another ticket this window. */
  readonly min: bigint
  /** If every block to the window's end is full of fresh tickets. */
  readonly max: bigint
  /** If buying goes on at this window's rate so far. */
  readonly expected: bigint
  /** Blocks after the tip still priced at today's price. */
  readonly blocksLeftInWindow: number
  /** Height of the first block priced at the new price. */
  readonly nextWindowStartsAt: number
}

/** The stake figures of the chain at its tip. */
export interface StakeOverview {
  readonly height: number
  /** The price the next block's tickets must pay, atoms. */
  readonly price: bigint
  readonly estimate: NextPriceEstimate
  /** Blocks per price window (StakeDiffWindowSize). */
  readonly windowSize: number
  /** Live tickets (the next header's PoolSize). */
  readonly poolSize: number
  /** The size the price steers the pool towards: TicketPoolSize x TicketsPerBlock. */
  readonly poolTarget: number
  /** Tickets waiting in the mempool. */
  readonly mempoolTickets: number
}

/** One price window: its first block's height and the price every block of it required. */
interface PriceWindow {
  readonly startHeight: number
  readonly price: bigint
}

/** What one main-chain block did to the stake pool. */
interface StakeBlockSummary {
  readonly height: number
  /** Display hex, as dcrd prints it. */
  readonly hash: string
  readonly votes: number
  /** Winners of the parent's lottery that did not vote (TicketsPerBlock - votes, from stake validation on). */
  readonly misses: number
  readonly revocations: number
  /** Ticket purchases mined in it (FreshStake). */
  readonly tickets: number
  readonly poolSize: number
  /** The ticket price it required, atoms. */
  readonly price: bigint
}

/** One ticket whose commitment (returns) address is the one looked up. */
export interface StakerTicket {
  /** The purchase's transaction hash, display hex. */
  readonly ticket: string
  readonly status: StakeTicketStatus
  /** What the ticket stakes (output 0), atoms. */
  readonly price: bigint
  /** The purchase's transaction fee, when known. */
  readonly fee: bigint | undefined
  readonly minedAt: number | undefined
  readonly liveAt: number | undefined
  /** The block that carried its vote, or in which it was missed or expired. */
  readonly spentAt: number | undefined
  readonly revokedAt: number | undefined
  /** For a revoked ticket: why it was revoked. */
  readonly revokedBecause: "missed" | "expired" | undefined
  /** What the vote or revocation paid back to the commitments, atoms. */
  readonly returned: bigint | undefined
}

/** The node could not be asked (down, unreachable, a bad reply): a 503 that says to check it. */
export class StakeViewUnavailable extends Data.TaggedError("StakeViewUnavailable")<{
  readonly reason: string
  readonly cause?: unknown
}> {
  override get message(): string {
    return `the staking figures are not available: ${this.reason}; check that dcrd runs and answers`
  }
}

/**
 * The node cannot look tickets up by address. dcrd has had no address index since 1.8
 * (`--addrindex` and `searchrawtransactions` were removed): a live view says where to look instead.
 */
export class TicketLookupUnavailable extends Data.TaggedError("TicketLookupUnavailable")<{
  readonly reason: string
}> {
  override get message(): string {
    return `looking tickets up by address is not available: ${this.reason}`
  }
}

/**
 * What the Staking page and its API read of the stake side of the chain. Simulated: the emulated
 * dcrd's stake model; live: dcrd's JSON-RPC.
 */
export class StakeView extends Context.Service<
  StakeView,
  {
    readonly overview: Effect.Effect<StakeOverview, StakeViewUnavailable>
    /** The price of each window from the first, oldest first, at most `windows` of the newest. */
    readonly priceHistory: (windows: number) => Effect.Effect<ReadonlyArray<PriceWindow>, StakeViewUnavailable>
    /** Main-chain blocks newest first, skipping `offset` from the tip; and the tip's height + 1 (how many there are). */
    readonly recentBlocks: (limit: number, offset: number) => Effect.Effect<{ readonly blocks: ReadonlyArray<StakeBlockSummary>; readonly total: number }, StakeViewUnavailable>
    /** Tickets committing to `address` (checked to be of the chain's network), newest first. */
    readonly ticketsOf: (address: string) => Effect.Effect<ReadonlyArray<StakerTicket>, StakeViewUnavailable | TicketLookupUnavailable>
  }
>()("dcrforge/StakeView") {}
