import type { NetworkParams } from "../chain/params.ts"
import { calcNextStakeDiffV2, purchasedIn, type StakeHistory } from "./difficulty.ts"
import type { StakeModel } from "./model.ts"

/**
 * The next window's ticket price as dcrd's `estimatestakediff` answers it at the tip, in atoms:
 * `min` if no more tickets are bought this window, `max` if every remaining block is full,
 * `expected` if the window goes on buying at its pace so far, `user` for a given count.
 */
export interface StakeDiffEstimate {
  readonly min: bigint
  readonly max: bigint
  readonly expected: bigint
  readonly user?: bigint | undefined
  /** Blocks after the tip that still buy at the current price (0 on a window's last block). */
  readonly blocksLeftInWindow: number
  /** The height of the first block priced by the estimate. */
  readonly nextWindowStartsAt: number
}

/**
 * dcrd's `estimateNextStakeDifficultyV2` (internal/blockchain/difficulty.go): DCP-0001's
 * retarget at the next window boundary, with the pool size it will have projected from the
 * tip's header as if `newTickets` more tickets were mined in the rest of the window, as early
 * as the per-block limit allows, and every remaining block carried all its votes.
 */
const estimateNextWindowPrice = (params: NetworkParams, tipHeight: number, history: StakeHistory, newTickets: number): bigint => {
  const maturity = params.ticketMaturity
  const windowSize = params.stakeDiffWindowSize
  const maxPerBlock = params.maxFreshStakePerBlock
  const blocksUntilRetarget = windowSize - (tipHeight % windowSize)
  const nextRetargetHeight = tipHeight + blocksUntilRetarget

  // Before coinbases mature nobody can buy a ticket: the minimum.
  if (nextRetargetHeight < params.coinbaseMaturity + 1) return params.minimumStakeDiff

  // The pool (live and immature) as the last retarget counted it, from the block before it.
  const prevRetargetHeight = nextRetargetHeight - windowSize - 1
  const prevPoolSize = prevRetargetHeight >= 0 ? history(prevRetargetHeight).poolSize : 0
  const prevPoolSizeAll = BigInt(prevPoolSize) + purchasedIn(history, prevRetargetHeight, maturity)
  const tip = history(tipHeight)
  // No tickets yet at the last retarget: the price stays (DCP-0001 would divide by zero).
  if (prevPoolSizeAll === 0n) return tip.sbits

  // Tickets still immature at the next retarget: the known ones mined after the maturity
  // floor, plus the estimated ones (at most a maturity's worth of full blocks).
  const nextMaturityFloor = nextRetargetHeight - maturity - 1
  let immature = tipHeight > nextMaturityFloor ? purchasedIn(history, tipHeight, tipHeight - nextMaturityFloor) : 0n
  immature += BigInt(Math.min(newTickets, maturity * maxPerBlock))

  // Tickets maturing before the retarget: known ones (a header's PoolSize leaves out those
  // maturing in its own block, hence one block before the floor), plus estimated ones bought
  // early enough to mature in time.
  const finalMaturingHeight = Math.min(nextMaturityFloor - 1, tipHeight)
  const firstMaturingHeight = tipHeight - maturity
  let maturing = purchasedIn(history, finalMaturingHeight, finalMaturingHeight - firstMaturingHeight + 1)
  if (tipHeight < nextMaturityFloor) maturing += BigInt(Math.min(maxPerBlock * (nextMaturityFloor - tipHeight - 1), newTickets))

  // Votes still to come in the window, every block taking TicketsPerBlock of them.
  let pendingVotes = 0
  if (nextRetargetHeight > params.stakeValidationHeight) {
    const votingBlocks = tipHeight < params.stakeValidationHeight ? nextRetargetHeight - params.stakeValidationHeight : blocksUntilRetarget - 1
    pendingVotes = votingBlocks * params.ticketsPerBlock
  }

  const estimatedPoolSizeAll = BigInt(tip.poolSize) + maturing - BigInt(pendingVotes) + immature
  return calcNextStakeDiffV2(params, nextRetargetHeight, tip.sbits, prevPoolSizeAll, estimatedPoolSizeAll)
}

/**
 * What dcrd's `estimatestakediff` RPC (internal/rpcserver/rpcserver.go) answers at the model's
 * tip, from the model's own headers. `expected` projects the fresh stake of the window so far
 * (its first block, the one at the boundary, included) over the blocks left, with the same
 * float arithmetic as dcrd so the rounding agrees. Throws a RangeError, as dcrd refuses, when
 * `ticketsToBuy` is not a whole number or more than the rest of the window can take
 * (`blocksLeftInWindow * MaxFreshStakePerBlock`); callers taking a count from a user check that first.
 */
export const estimateStakeDiff = (model: StakeModel, ticketsToBuy?: number): StakeDiffEstimate => {
  const params = model.params
  const tipHeight = model.height
  const history: StakeHistory = (h) => model.headerFactsAt(h)
  const windowSize = params.stakeDiffWindowSize
  const windowStart = Math.floor(tipHeight / windowSize) * windowSize
  const nextWindowStartsAt = windowStart + windowSize
  const blocksLeftInWindow = nextWindowStartsAt - tipHeight - 1
  const mostTickets = blocksLeftInWindow * params.maxFreshStakePerBlock
  if (ticketsToBuy !== undefined && (!Number.isSafeInteger(ticketsToBuy) || ticketsToBuy < 0 || ticketsToBuy > mostTickets)) {
    throw new RangeError(
      `cannot estimate the stake difficulty with ${ticketsToBuy} tickets: give a whole number from 0 to ${mostTickets}, the most the ${blocksLeftInWindow} blocks left in this window can take`,
    )
  }

  let freshSoFar = 0
  for (let h = windowStart; h <= tipHeight; h++) freshSoFar += history(h).freshStake
  const blocksSoFar = tipHeight - windowStart + 1
  // dcrd: math.Floor(float64(total) / blocksSince * remaining), float64 like a JS number.
  const expectedTickets = Math.floor((freshSoFar / blocksSoFar) * blocksLeftInWindow)

  const estimate = (tickets: number) => estimateNextWindowPrice(params, tipHeight, history, tickets)
  return {
    min: estimate(0),
    max: estimate(mostTickets),
    expected: estimate(expectedTickets),
    ...(ticketsToBuy === undefined ? {} : { user: estimate(ticketsToBuy) }),
    blocksLeftInWindow,
    nextWindowStartsAt,
  }
}
