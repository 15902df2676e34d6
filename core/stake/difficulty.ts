import type { NetworkParams } from "../chain/params.ts"

/** What stake difficulty needs of a past block: its header's SBits, PoolSize and FreshStake. */
export interface StakeHeaderFacts {
  readonly sbits: bigint
  readonly poolSize: number
  readonly freshStake: number
}

/** Blocks of one branch by height, genesis included. */
export type StakeHistory = (height: number) => StakeHeaderFacts

/**
 * The coins in existence after `height` as DCP-0001 estimates them (dcrd `estimateSupply`):
 * the block-1 ledger plus every block's full subsidy, less two base subsidies (blocks 0 and 1
 * pay none of it).
 */
export const estimateSupply = (params: NetworkParams, height: number): bigint => {
  if (height <= 0) return 0n
  const interval = BigInt(params.subsidyReductionInterval)
  let supply = params.blockOneSubsidy
  let subsidy = params.baseSubsidy
  const reductions = Math.floor(height / params.subsidyReductionInterval)
  for (let i = 0; i < reductions; i++) {
    supply += interval * subsidy
    subsidy = (subsidy * params.mulSubsidy) / params.divSubsidy
  }
  supply += BigInt(1 + (height % params.subsidyReductionInterval)) * subsidy
  return supply - params.baseSubsidy * 2n
}

/**
 * DCP-0001's next price: curDiff * curAll^2 / prevAll / target, where "all" counts live
 * and immature tickets and target = TicketsPerBlock * (TicketPoolSize + TicketMaturity),
 * clamped to [MinimumStakeDiff, estimated supply / TicketPoolSize]. Shared with the estimate
 * (`estimate.ts`), which feeds it a projected pool size instead of the tip's.
 */
export const calcNextStakeDiffV2 = (params: NetworkParams, nextHeight: number, curDiff: bigint, prevPoolSizeAll: bigint, curPoolSizeAll: bigint): bigint => {
  const target = BigInt(params.ticketsPerBlock * (params.ticketPoolSize + params.ticketMaturity))
  let next = (curDiff * curPoolSizeAll * curPoolSizeAll) / prevPoolSizeAll / target
  const maximum = estimateSupply(params, nextHeight) / BigInt(params.ticketPoolSize)
  if (next > maximum) next = maximum
  if (next < params.minimumStakeDiff) next = params.minimumStakeDiff
  return next
}

/** Tickets bought in `count` blocks ending at `height` (fewer near genesis; none below height 0 or for count <= 0). */
export const purchasedIn = (history: StakeHistory, height: number, count: number): bigint => {
  let sum = 0
  for (let h = height; h >= 0 && h > height - count; h--) sum += history(h).freshStake
  return BigInt(sum)
}

/**
 * The ticket price required of the block after `parentHeight` (dcrd
 * `calcNextRequiredStakeDifficultyV2`): the minimum until coinbases mature, the parent's
 * price inside a window, and a DCP-0001 retarget at each window boundary.
 */
export const nextStakeDifficulty = (params: NetworkParams, parentHeight: number, history: StakeHistory): bigint => {
  const nextHeight = parentHeight + 1
  if (nextHeight < params.coinbaseMaturity + 1) return params.minimumStakeDiff
  const parent = history(parentHeight)
  if (nextHeight % params.stakeDiffWindowSize !== 0) return parent.sbits

  const prevRetargetHeight = nextHeight - params.stakeDiffWindowSize - 1
  let prevPoolSizeAll = 0n
  if (prevRetargetHeight >= 0) {
    prevPoolSizeAll = BigInt(history(prevRetargetHeight).poolSize) + purchasedIn(history, prevRetargetHeight, params.ticketMaturity)
  }
  if (prevPoolSizeAll === 0n) return parent.sbits
  const curPoolSizeAll = BigInt(parent.poolSize) + purchasedIn(history, parentHeight, params.ticketMaturity)
  return calcNextStakeDiffV2(params, nextHeight, parent.sbits, prevPoolSizeAll, curPoolSizeAll)
}
