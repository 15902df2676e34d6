import type { NetworkParams } from "../core/chain/params.ts"

export interface AutoBuyerConfig {
  /** Never spend the account below this. */
  readonly balanceToMaintain: bigint
  /** Skip while the price is above this (undefined = any price). */
  readonly maxPrice: bigint | undefined
  /** Tickets per block at most (dcrwallet `--ticketbuyer.limit`); capped at MaxFreshStakePerBlock. */
  readonly limitPerBlock: number
  /** Blocks a purchase may wait to be mined before it expires (undefined = until the price window ends). */
  readonly expiryBlocks: number | undefined
}

interface AutoBuyerContext {
  readonly params: NetworkParams
  /** The block just connected. */
  readonly height: number
  /** The next block's ticket price. */
  readonly price: bigint
  readonly feePerTicket: bigint
  readonly spendable: bigint
}

type AutoBuyDecision = { readonly buy: number; readonly expiry: number } | { readonly buy: 0; readonly skipped: "window-ends-soon" | "price-above-max" | "balance-at-or-below-maintain" }

/**
 * What the automatic buyer does when a block connects, following dcrwallet's ticket buyer:
 * - two blocks before a price window ends it skips (a purchase could only be mined at the old
 *   price in one block);
 * - otherwise purchases expire at the window's end, so that none is left in the mempool at a
 *   price the next window no longer accepts (or after `expiryBlocks`, if sooner);
 * - it buys what the balance above `balanceToMaintain` pays for, fees included (dcrwallet
 *   divides by the price alone and lets the purchase fail for the fee), at most `limitPerBlock`
 *   and MaxFreshStakePerBlock, and nothing while the price is above `maxPrice`.
 */
export const decideAutoBuy = (config: AutoBuyerConfig, ctx: AutoBuyerContext): AutoBuyDecision => {
  const window = ctx.params.stakeDiffWindowSize
  const nextWindowStart = (Math.floor(ctx.height / window) + 1) * window
  if (ctx.height + 2 === nextWindowStart) return { buy: 0, skipped: "window-ends-soon" }
  if (config.maxPrice !== undefined && ctx.price > config.maxPrice) return { buy: 0, skipped: "price-above-max" }
  // The next block opens a window: buy at its price, good until the window after.
  let expiry = ctx.height + 1 === nextWindowStart ? nextWindowStart + window : nextWindowStart
  if (config.expiryBlocks !== undefined) expiry = Math.min(expiry, ctx.height + 1 + config.expiryBlocks)
  if (ctx.spendable <= config.balanceToMaintain) return { buy: 0, skipped: "balance-at-or-below-maintain" }
  const affordable = Number((ctx.spendable - config.balanceToMaintain) / (ctx.price + ctx.feePerTicket))
  const buy = Math.min(affordable, config.limitPerBlock, ctx.params.maxFreshStakePerBlock)
  return { buy, expiry }
}
