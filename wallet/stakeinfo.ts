import { ratio, type Ratio } from "../core/chain/targets.ts"
import type { OwnerTotals, StakeModel } from "../core/stake/model.ts"

/**
 * dcrwallet's `getstakeinfo` for one wallet, derived from the stake state, with exact
 * ratios and atom amounts. Counters follow dcrwallet's meanings:
 * - `missed` counts tickets called to vote that did not (revoked or not), `expired` those
 *   that were never called in time; `revoked` is how many of both were revoked;
 * - `unspent` = immature + live; `unspentexpired` = expired and not yet revoked.
 */
export interface StakeInfo {
  readonly blockheight: number
  readonly poolsize: number
  /** The next block's ticket price, in atoms. */
  readonly difficulty: bigint
  readonly allmempooltix: number
  readonly ownmempooltix: number
  readonly immature: number
  readonly unspent: number
  readonly live: number
  /** live / poolsize. */
  readonly proportionlive: Ratio
  readonly voted: number
  /** Vote subsidies earned, in atoms. */
  readonly totalsubsidy: bigint
  readonly missed: number
  /** missed / (voted + missed). */
  readonly proportionmissed: Ratio
  readonly revoked: number
  readonly expired: number
  readonly unspentexpired: number
}

const safeRatio = (n: number, d: number): Ratio => (d === 0 ? { numerator: 0n, denominator: 1n } : ratio(BigInt(n), BigInt(d)))

export const stakeInfoFor = (model: StakeModel, owner: string): StakeInfo => {
  const own: OwnerTotals = model.totalsFor(owner)
  const network = model.totals
  return {
    blockheight: model.height,
    poolsize: model.poolSize,
    difficulty: model.nextStakeDifficulty(),
    allmempooltix: network.counts.mempool,
    ownmempooltix: own.counts.mempool,
    immature: own.counts.immature,
    unspent: own.counts.immature + own.counts.live,
    live: own.counts.live,
    proportionlive: safeRatio(own.counts.live, model.poolSize),
    voted: own.counts.voted,
    totalsubsidy: own.voteSubsidies,
    missed: own.missedEver,
    proportionmissed: safeRatio(own.missedEver, own.counts.voted + own.missedEver),
    revoked: own.counts.revoked,
    expired: own.expiredEver,
    unspentexpired: own.counts.expired,
  }
}

/**
 * The identities a stake info must satisfy; returns the ones that do not hold (empty = fine).
 * `bought` is how many of the wallet's purchases the mempool accepted and did not drop.
 */
export const stakeInfoInconsistencies = (info: StakeInfo, bought: number): Array<string> => {
  const problems: Array<string> = []
  const unrevokedMissed = info.missed + info.expired - info.revoked - info.unspentexpired
  const accounted = info.ownmempooltix + info.immature + info.live + info.voted + info.revoked + info.unspentexpired + unrevokedMissed
  if (accounted !== bought) problems.push(`mempool+immature+live+voted+revoked+unrevoked = ${accounted}, bought ${bought}`)
  if (info.unspent !== info.immature + info.live) problems.push("unspent != immature + live")
  if (info.live > info.poolsize) problems.push("more own live tickets than the pool holds")
  if (info.ownmempooltix > info.allmempooltix) problems.push("more own mempool tickets than the mempool holds")
  if (info.revoked > info.missed + info.expired) problems.push("more revoked than missed and expired")
  return problems
}
