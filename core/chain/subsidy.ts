import { isAgendaActive, type AgendaActivations } from "./agendas.ts"
import type { NetworkParams } from "./params.ts"

/**
 * How the block reward is split between proof of work, proof of stake and the treasury:
 * 60/30/10 originally, 10/80/10 under DCP-0010, 1/89/10 under DCP-0012.
 */
export type SubsidySplit = "original" | "dcp0010" | "dcp0012"

interface Proportions {
  readonly work: bigint
  readonly stake: bigint
  readonly treasury: bigint
  readonly total: bigint
}

const proportions = (params: NetworkParams, split: SubsidySplit): Proportions => {
  switch (split) {
    case "dcp0010":
      return { work: 10n, stake: 80n, treasury: 10n, total: 100n }
    case "dcp0012":
      return { work: 1n, stake: 89n, treasury: 10n, total: 100n }
    case "original": {
      const work = BigInt(params.workRewardProportion)
      const stake = BigInt(params.stakeRewardProportion)
      const treasury = BigInt(params.blockTaxProportion)
      return { work, stake, treasury, total: work + stake + treasury }
    }
  }
}

/** The split that governs the block at `height` on a chain with these activations. */
export const subsidySplitAt = (activations: AgendaActivations, height: number): SubsidySplit =>
  isAgendaActive(activations, "changesubsidysplitr2", height) ? "dcp0012" : isAgendaActive(activations, "changesubsidysplit", height) ? "dcp0010" : "original"

// Subsidy per reduction interval, computed once per network and extended on demand:
// the value depends on every earlier interval's truncation, so it is built in order.
const intervalCache = new WeakMap<NetworkParams, Array<bigint>>()

/**
 * The full block subsidy in atoms: 0 at or below genesis, the block-1 ledger at
 * height 1, else baseSubsidy reduced by mul/div once per interval, truncating each step.
 */
export const fullBlockSubsidy = (params: NetworkParams, height: number): bigint => {
  if (height <= 0) return 0n
  if (height === 1) return params.blockOneSubsidy
  const interval = Math.floor(height / params.subsidyReductionInterval)
  let cache = intervalCache.get(params)
  if (cache === undefined) {
    cache = [params.baseSubsidy]
    intervalCache.set(params, cache)
  }
  while (cache.length <= interval) {
    const last = cache[cache.length - 1]!
    // Once it reaches zero it stays there; stop growing the cache.
    if (last === 0n) return 0n
    cache.push((last * params.mulSubsidy) / params.divSubsidy)
  }
  return cache[interval]!
}

/** Votes a block needs from stake validation height on: a majority of TicketsPerBlock. */
export const minimumVotesRequired = (params: NetworkParams): number => Math.floor(params.ticketsPerBlock / 2) + 1

/**
 * The proof-of-work subsidy of the block at `height` with `voters` votes: the work share
 * of the full subsidy, scaled by voters / TicketsPerBlock from stake validation height,
 * and zero when the block has too few votes to be valid. Block 1 pays the ledger.
 */
export const workSubsidy = (params: NetworkParams, height: number, voters: number, split: SubsidySplit): bigint => {
  if (height === 1) return params.blockOneSubsidy
  const svh = params.stakeValidationHeight
  if (height >= svh && voters < minimumVotesRequired(params)) return 0n
  const p = proportions(params, split)
  const subsidy = (fullBlockSubsidy(params, height) * p.work) / p.total
  if (height < svh) return subsidy
  return (BigInt(voters) * subsidy) / BigInt(params.ticketsPerBlock)
}

/**
 * The subsidy one vote earns, for votes on the block at `votedOnHeight` (a block at
 * height h carries votes on h - 1, and pays them from h - 1's subsidy). Zero below SVH - 1.
 */
export const voteSubsidy = (params: NetworkParams, votedOnHeight: number, split: SubsidySplit): bigint => {
  if (votedOnHeight < params.stakeValidationHeight - 1) return 0n
  const p = proportions(params, split)
  return (fullBlockSubsidy(params, votedOnHeight) * p.stake) / (p.total * BigInt(params.ticketsPerBlock))
}

/**
 * The treasury's share of the block at `height`. Before the treasury agenda it is scaled
 * by voters like the work subsidy; after it, it is not. Zero with too few votes.
 */
export const treasurySubsidy = (params: NetworkParams, height: number, voters: number, treasuryActive: boolean, split: SubsidySplit): bigint => {
  if (height <= 1) return 0n
  const svh = params.stakeValidationHeight
  if (height >= svh && voters < minimumVotesRequired(params)) return 0n
  const p = proportions(params, split)
  const subsidy = (fullBlockSubsidy(params, height) * p.treasury) / p.total
  if (height < svh || treasuryActive) return subsidy
  return (BigInt(voters) * subsidy) / BigInt(params.ticketsPerBlock)
}

interface BlockSubsidies {
  readonly split: SubsidySplit
  readonly full: bigint
  readonly work: bigint
  /** What each vote in this block earns (paid from the parent's subsidy). */
  readonly perVote: bigint
  readonly treasury: bigint
}

/** Everything a block at `height` with `voters` votes pays, under the chain's agendas. */
export const blockSubsidies = (params: NetworkParams, activations: AgendaActivations, height: number, voters: number): BlockSubsidies => {
  const split = subsidySplitAt(activations, height)
  return {
    split,
    full: fullBlockSubsidy(params, height),
    work: workSubsidy(params, height, voters, split),
    perVote: voteSubsidy(params, height - 1, split),
    treasury: treasurySubsidy(params, height, voters, isAgendaActive(activations, "treasury", height), split),
  }
}
