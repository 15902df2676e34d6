import type { Ratio } from "../chain/targets.ts"
import { BASIS_POINTS, feeOf, splitProportionally, type Allocation } from "./amounts.ts"
import type { Share, ShareLog, WindowWeights } from "./sharelog.ts"

/**
 * How a found block's reward is shared:
 * - `pplns`: the last X x D difficulty units of shares before the block (D = network difficulty
 *   when the block is found), each share weighted by its difficulty, the one straddling the
 *   window's start pro-rated. Each share's expected pay is (1 - fee) x B x d / D whenever it
 *   was submitted: hop-proof. Exactly so only as d / (X x D) -> 0: with the block-finding share
 *   counted in full, a share of difficulty d earns a factor 1 + (d - w) / (2 X D) more, w being
 *   the work-weighted mean share difficulty (measured in fairness.properties.test.ts); live
 *   share difficulties make that term below 1e-4.
 * - `pplns-time`: shares of the last `periodMs` before the block (the reference pool's
 *   `lastnperiod`), for operators migrating from it. Hoppable: a share's value depends on the
 *   pool's hashrate around it.
 * - `proportional`: shares since the previous block (what the reference pool calls "PPS").
 *   Hoppable: a share early in a round is worth more than one late in a long round.
 * - `pps`: each share is paid its expected value (1 - fee) x B x d / D when accepted; blocks go
 *   to the pool's reserve, which carries the variance.
 * - `solo`: the finder takes the reward, less the fee; in solo-pool mode (`atMiningAddress`) the
 *   reward stays at the node's mining address and nobody is paid by the pool.
 */
export type PayoutScheme =
  | { readonly kind: "pplns"; readonly windowMultiple: Ratio }
  | { readonly kind: "pplns-time"; readonly periodMs: number }
  | { readonly kind: "proportional" }
  | { readonly kind: "pps" }
  | { readonly kind: "solo"; readonly atMiningAddress: boolean }

/** A block the pool found, as the payout engine needs it. */
export interface FoundBlock {
  readonly hash: string
  readonly height: number
  /** What the pool's coinbase output pays, in atoms. */
  readonly reward: bigint
  /** Network difficulty when it was found, in DIFFICULTY_SCALE units. */
  readonly networkDifficulty: bigint
  readonly time: number
  /** Log position one past the share that found it. */
  readonly logEnd: number
  /** The account whose share found it. */
  readonly finder: string
}

interface BlockShare {
  readonly fee: bigint
  readonly credits: ReadonlyArray<Allocation>
  /** Whose weight the credits were split by (empty for solo). */
  readonly window: WindowWeights | undefined
}

/** Solo-pool mode's only account: the reward stays where dcrd's --miningaddr put it. */
export const MINING_ADDRESS_ACCOUNT = "node:mining-address"

/** PPLNS window size: X x D in difficulty units, rounded down. */
export const pplnsWindowUnits = (windowMultiple: Ratio, networkDifficulty: bigint): bigint => (windowMultiple.numerator * networkDifficulty) / windowMultiple.denominator

/**
 * Shares a block's reward by a scheme. `previousBlockEnd` is the log position where the
 * previous block's round ended (proportional only). For PPLNS with a window not yet filled
 * (a new pool), the reward is shared over what there is; hop-proofness holds once the pool has
 * X x D units of history. PPS blocks credit nobody here: the reward goes to the reserve.
 */
export const shareBlock = (scheme: PayoutScheme, log: ShareLog, block: FoundBlock, feeBasisPoints: number, previousBlockEnd: number): BlockShare => {
  const fee = feeOf(block.reward, feeBasisPoints)
  const net = block.reward - fee
  switch (scheme.kind) {
    case "solo": {
      if (scheme.atMiningAddress) return { fee: 0n, credits: [{ account: MINING_ADDRESS_ACCOUNT, amount: block.reward }], window: undefined }
      return { fee, credits: net > 0n ? [{ account: block.finder, amount: net }] : [], window: undefined }
    }
    case "pps":
      return { fee: 0n, credits: [], window: undefined }
    case "pplns": {
      const units = pplnsWindowUnits(scheme.windowMultiple, block.networkDifficulty)
      const window = log.lastUnits(block.logEnd, units)
      return { fee, credits: splitProportionally(net, window.weights), window }
    }
    case "pplns-time": {
      const window = log.sinceTime(block.logEnd, block.time - scheme.periodMs)
      return { fee, credits: splitProportionally(net, window.weights), window }
    }
    case "proportional": {
      const window = log.between(previousBlockEnd, block.logEnd)
      return { fee, credits: splitProportionally(net, window.weights), window }
    }
  }
}

/**
 * What one share earns under PPS, in atoms: (1 - fee) x B x d / D, rounded down (the fraction
 * stays with the pool, so the pool never pays more than a share is worth). B is the reward a
 * block would bring, D the network difficulty, both as of the share.
 */
export const ppsCredit = (share: Share, blockReward: bigint, networkDifficulty: bigint, feeBasisPoints: number): bigint =>
  ((BASIS_POINTS - BigInt(feeBasisPoints)) * blockReward * share.weight) / (BASIS_POINTS * networkDifficulty)

/**
 * The definition of a PPLNS window, walked share by share from the block back (O(window)):
 * the reference the indexed `ShareLog.lastUnits` is tested against.
 */
export const pplnsWindowByWalking = (shares: ReadonlyArray<Share>, end: number, units: bigint): Map<string, bigint> => {
  const weights = new Map<string, bigint>()
  let remaining = units
  for (let i = end - 1; i >= 0 && remaining > 0n; i--) {
    const s = shares[i]!
    const counted = s.weight < remaining ? s.weight : remaining
    weights.set(s.account, (weights.get(s.account) ?? 0n) + counted)
    remaining -= counted
  }
  return weights
}
