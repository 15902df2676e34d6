import { feeOf, splitProportionally, type Allocation } from "./amounts.ts"
import { MINING_ADDRESS_ACCOUNT, type PayoutScheme } from "./schemes.ts"

/** What a confirmed block credits: the pool's fee, and each account's part of the rest. */
interface BlockCredits {
  /** The pool's fee in atoms (0 in solo-pool mode and under PPS). */
  readonly fee: bigint
  /**
   * Each account's credit in atoms, sorted by account, the pool's fee not among them. With the
   * fee they add up to the block's reward exactly, except under PPS, which credits nobody here.
   */
  readonly credits: ReadonlyArray<Allocation>
}

/**
 * How a scheme shares a block's `reward` (atoms), given the `finder` (the account whose share
 * found the block) and `weights`, each account's work in the block's window as the scheme
 * defines it (read by whoever holds the shares; ignored by solo and PPS). The one place the
 * pool splits a reward: the pool fee is rounded down, and the rest is split exactly by
 * `splitProportionally` (largest remainder).
 * - solo: the finder takes the reward less the fee; in solo-pool mode (`atMiningAddress`) the
 *   whole reward stays at the node's mining address, with no fee.
 * - pps: nobody; PPS paid the shares already, and the block's reward stays in the pool's wallet
 *   as the reserve that carries PPS's variance.
 * - pplns, pplns-time, proportional: the reward less the fee, in proportion to the weights. A
 *   window without work gives it to the finder: a reward goes to the work that found the block,
 *   never to nobody.
 */
export const creditsFor = (scheme: PayoutScheme, reward: bigint, feeBasisPoints: number, finder: string, weights: ReadonlyMap<string, bigint>): BlockCredits => {
  if (scheme.kind === "pps") return { fee: 0n, credits: [] }
  if (scheme.kind === "solo" && scheme.atMiningAddress) return { fee: 0n, credits: [{ account: MINING_ADDRESS_ACCOUNT, amount: reward }] }
  const fee = feeOf(reward, feeBasisPoints)
  const net = reward - fee
  if (scheme.kind === "solo" || !hasWork(weights)) return { fee, credits: [{ account: finder, amount: net }] }
  return { fee, credits: splitProportionally(net, weights) }
}

/** Does any account have work in the window? */
export const hasWork = (weights: ReadonlyMap<string, bigint>): boolean => {
  let total = 0n
  for (const w of weights.values()) total += w
  return total > 0n
}
