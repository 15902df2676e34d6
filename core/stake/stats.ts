import type { NetworkParams } from "../chain/params.ts"

// The figures stakers look up on dcrdata, computed as dcrdata computes them (txhelpers/stake.go
// and the explorer's ticket reward), so that dcrforge and a block explorer agree. Floats are
// fine here: these are estimates shown to people, never amounts that move money.

/**
 * A ticket's chance of being drawn in one block once live: TicketsPerBlock winners among a pool
 * of TicketsPerBlock x TicketPoolSize tickets at target, i.e. 1 / TicketPoolSize.
 */
const drawChancePerBlock = (params: NetworkParams): number => 1 / params.ticketPoolSize

/**
 * Mean blocks from maturity to vote, for tickets that vote before they expire: sum over
 * i = 1..TicketExpiry of i p (1 - p)^(i-1), with p = 1 / TicketPoolSize, truncated to whole
 * blocks like dcrdata's (mainnet 7,860, testnet 1,006, simnet 62).
 */
export const meanVotingBlocks = (params: NetworkParams): number => {
  const p = drawChancePerBlock(params)
  let sum = 0
  let stillLive = 1 // (1 - p)^(i-1)
  for (let i = 1; i <= params.ticketExpiry; i++) {
    sum += i * p * stillLive
    stillLive *= 1 - p
  }
  return Math.floor(sum)
}

/**
 * Blocks from purchase to spendable returns on average: mean voting blocks + ticket maturity +
 * coinbase maturity (the vote's outputs mature like a coinbase). dcrdata's pinned second
 * values: mainnet 8,372, testnet 1,038, simnet 94.
 */
export const rewardPeriodBlocks = (params: NetworkParams): number => meanVotingBlocks(params) + params.ticketMaturity + params.coinbaseMaturity

/** The reward period in seconds at the target block time: what dcrdata's ticket reward is "per". */
export const rewardPeriodSeconds = (params: NetworkParams): number => rewardPeriodBlocks(params) * params.targetTimePerBlock

/** Median blocks to vote once live: the geometric distribution's median, about ln 2 / p. */
export const medianVotingBlocks = (params: NetworkParams): number => Math.round(Math.LN2 / drawChancePerBlock(params))

/** The chance a live ticket is never drawn before it expires: (1 - p)^TicketExpiry (0.674 % on mainnet). */
export const expiryChance = (params: NetworkParams): number => (1 - drawChancePerBlock(params)) ** params.ticketExpiry

/**
 * Ticket reward in percent per reward period, as dcrdata shows it: 100 x one vote's subsidy
 * (the next block's PoS subsidy / TicketsPerBlock) / the ticket price.
 */
export const ticketRewardPercent = (voteSubsidyAtoms: bigint, priceAtoms: bigint): number => (priceAtoms <= 0n ? 0 : (100 * Number(voteSubsidyAtoms)) / Number(priceAtoms))
