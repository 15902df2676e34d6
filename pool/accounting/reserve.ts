import { Effect } from "effect"
import { atomsToDcr as dcr } from "../../core/chain/amounts.ts"
import { currentPoolMetrics } from "../ops/metrics.ts"
import { PoolStore } from "../store/store.ts"
import type { StoreAccountingOptions } from "./options.ts"

/**
 * The PPS reserve. PPS pays every share its expected value whether or not the pool finds
 * blocks, and keeps the blocks' rewards: what blocks paid in against what PPS paid out is the
 * reserve that carries the pool's luck. It is read from the store (both sides are rows there),
 * so it survives restarts and agrees across instances; here it is also watched, with one
 * warning each time it falls below the operator's threshold.
 */
export interface PpsReserveReport {
  /** True under PPS; under other schemes the figures are the PPS blocks and credits of any earlier PPS period. */
  readonly applies: boolean
  /** The pool's PPS blocks in the main chain (confirmed or matured). */
  readonly blocks: number
  /** Their rewards in atoms. */
  readonly blocksIn: bigint
  /** What PPS credited for shares, in atoms (immature, payable, pending and paid alike). */
  readonly creditedToShares: bigint
  /** blocksIn - creditedToShares: negative while PPS has paid out more than blocks brought in. */
  readonly balance: bigint
  /** Below this balance the reserve is low (atoms; may be negative). */
  readonly lowThreshold: bigint
  /** applies and balance < lowThreshold. */
  readonly low: boolean
}

/**
 * Warn when the balance is below this by default: 0, when PPS has paid out more than the blocks
 * brought in and the payouts come out of the wallet's other funds. A new PPS pool starts there
 * (it pays shares before its first block matures); an operator who funded the wallet sets the
 * threshold to minus that sum plus a margin (`ppsreservelow`).
 */
const DEFAULT_PPS_RESERVE_LOW = 0n

export const makePpsReserve = (options: Pick<StoreAccountingOptions, "scheme" | "ppsReserveLow">) =>
  Effect.gen(function* () {
    const store = yield* PoolStore
    const metrics = yield* currentPoolMetrics
    const applies = options.scheme.kind === "pps"
    const lowThreshold = options.ppsReserveLow ?? DEFAULT_PPS_RESERVE_LOW

    const report = Effect.map(store.ppsReserve, (totals): PpsReserveReport => {
      const balance = totals.blocksIn - totals.creditedToShares
      return { applies, ...totals, balance, lowThreshold, low: applies && balance < lowThreshold }
    })

    // Atoms fit a float exactly up to 2^53 (90 million DCR), far above any reserve.
    if (applies) {
      metrics.ppsReserve.from(
        Effect.map(report, (r) => [
          { labels: ["blocks_in"], value: Number(r.blocksIn) },
          { labels: ["credited_to_shares"], value: Number(r.creditedToShares) },
          { labels: ["balance"], value: Number(r.balance) },
          { labels: ["low_threshold"], value: Number(r.lowThreshold) },
        ]),
      )
    }

    /** Whether the last check found the reserve low; unknown before the first (so a pool started low says so once). */
    let wasLow: boolean | undefined
    /** Logs a warning when the reserve goes below the threshold and a line when it is back above: once per crossing. */
    const check = Effect.gen(function* () {
      if (!applies) return
      const r = yield* report
      if (r.low && wasLow !== true) {
        yield* Effect.logWarning(
          `PPS reserve low: ${dcr(r.balance)} DCR (blocks paid in ${dcr(r.blocksIn)}, PPS credited ${dcr(r.creditedToShares)}), below the threshold ${dcr(r.lowThreshold)} DCR: ` +
            "payouts come out of the wallet's other funds until blocks make it up; keep the payout wallet funded, or lower --ppsreservelow once it is",
        )
      } else if (!r.low && wasLow === true) {
        yield* Effect.logInfo(`PPS reserve back above its threshold: ${dcr(r.balance)} DCR (threshold ${dcr(r.lowThreshold)} DCR)`)
      }
      wasLow = r.low
    })

    return { report, check }
  })
