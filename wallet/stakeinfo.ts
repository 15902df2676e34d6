import { ratio, type Ratio } from "../core/chain/targets.ts"
import type { OwnerTotals, StakeModel } from "../core/stake/model.ts"

/**
 * dcrwallet's `getstakeinfo` for one wallet, derived from the stake state, with exact
 * ratios and atom amounts. The fields mean what a dcrwallet (release-v2.1) connected to dcrd
 * answers, which is not always the consensus view (checked against a real dcrwallet on simnet
 * by scenarios/simnet/staking.test.ts):
 * - `poolsize` is the tip header's PoolSize: the pool the tip's own lottery drew from, before
 *   the tip's votes, misses and newly matured tickets changed it.
 * - A ticket counts as `immature` until the block after the one that made it live (dcrwallet
 *   counts maturity one block later than consensus), so a ticket that went live in the tip
 *   block is immature here.
 * - `live` is every matured ticket not yet spent by a vote or revocation: the live ones, and
 *   before automatic revocations (DCP-0009) also the missed or expired ones awaiting
 *   revocation. `unspent` equals `live`, and `unspentexpired` stays 0 (dcrwallet's non-SPV
 *   answer never fills it).
 * - `missed` and `expired` count revoked tickets only, by why they were revoked.
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

export const safeRatio = (n: number, d: number): Ratio => (d === 0 ? { numerator: 0n, denominator: 1n } : ratio(BigInt(n), BigInt(d)))

export const stakeInfoFor = (model: StakeModel, owner: string): StakeInfo => {
  const own: OwnerTotals = model.totalsFor(owner)
  const network = model.totals
  // Live since the tip block itself: consensus-live, but dcrwallet still calls them immature.
  let maturedAtTip = 0
  for (const id of model.liveTickets()) {
    const t = model.ticket(id)
    if (t !== undefined && t.liveAt === model.height && t.purchase.owner === owner) maturedAtTip++
  }
  const awaitingRevocation = own.counts.missed + own.counts.expired
  const live = own.counts.live - maturedAtTip + awaitingRevocation
  const missed = own.missedEver - own.counts.missed
  const expired = own.expiredEver - own.counts.expired
  const poolsize = model.headerFactsAt(model.height).poolSize
  return {
    blockheight: model.height,
    poolsize,
    difficulty: model.nextStakeDifficulty(),
    allmempooltix: network.counts.mempool,
    ownmempooltix: own.counts.mempool,
    immature: own.counts.immature + maturedAtTip,
    unspent: live,
    live,
    proportionlive: safeRatio(live, poolsize),
    voted: own.counts.voted,
    totalsubsidy: own.voteSubsidies,
    missed,
    proportionmissed: safeRatio(missed, own.counts.voted + missed),
    revoked: own.counts.revoked,
    expired,
    unspentexpired: 0,
  }
}

/**
 * The identities a stake info must satisfy; returns the ones that do not hold (empty = fine).
 * `bought` is how many of the wallet's purchases the mempool accepted and did not drop.
 */
export const stakeInfoInconsistencies = (info: StakeInfo, bought: number): Array<string> => {
  const problems: Array<string> = []
  const accounted = info.ownmempooltix + info.immature + info.live + info.voted + info.revoked
  if (accounted !== bought) problems.push(`mempool+immature+live+voted+revoked = ${accounted}, bought ${bought}`)
  if (info.unspent !== info.live) problems.push("unspent != live")
  if (info.ownmempooltix > info.allmempooltix) problems.push("more own mempool tickets than the mempool holds")
  if (info.revoked !== info.missed + info.expired) problems.push("revoked != missed + expired")
  if (info.unspentexpired !== 0) problems.push("unspentexpired is never filled by dcrwallet's non-SPV answer")
  return problems
}
