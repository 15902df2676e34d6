import type { PayoutFeeSource } from "../../core/payout/network-fee.ts"
import type { PayoutScheme } from "../../core/payout/schemes.ts"
import type { NetworkParams } from "../../core/chain/params.ts"

/** 30 s: a payer that dies hands over well within a mainnet block interval. */
export const DEFAULT_SETTLER_LEASE_MILLIS = 30_000

export interface StoreAccountingOptions {
  /** The chain's parameters: PPS values shares by its block subsidy. */
  readonly network: NetworkParams
  /** Distinguishes this process's shares from other instances' on a shared database. */
  readonly instance: string
  readonly scheme: PayoutScheme
  readonly feeBasisPoints: number
  /** Accounts owed less wait for the next batch (the pool's fee account never waits). */
  readonly minimumPayout: bigint
  /**
   * Where the pool's fee is paid: one address, or several used in turn, one per payout batch
   * (batch n pays address (n - 1) mod count; see `feeAddressOf`).
   */
  readonly feeAddress: string | ReadonlyArray<string>
  /** Whose outputs a payout's network fee comes out of (default "poolfee": the pool fee's output). */
  readonly payoutFeeFrom?: PayoutFeeSource | undefined
  /** Blocks a coinbase must be buried under before it can be spent (256 mainnet, 16 simnet). */
  readonly coinbaseMaturity: number
  /** Most shares written in one transaction (a group commit); larger batches amortise the commit. */
  readonly maxShareBatch: number
  /**
   * How long a commit waits for more shares after the first (default 0: commit at once). A
   * few milliseconds cut the commits of a busy pool at the cost of that much reply latency;
   * the simulator uses seconds of virtual time, where a commit costs real time and a reply's
   * latency costs nothing.
   */
  readonly shareCommitLingerMillis?: number | undefined
  /**
   * PPS: below this reserve balance (atoms, may be negative) the pool warns, once per crossing,
   * and the admin page says so (default 0: PPS has paid more than blocks brought in).
   */
  readonly ppsReserveLow?: bigint | undefined
  /**
   * Set when several pool processes may share the database (a Postgres server): every one
   * accepts shares and submits blocks, and only the holder of the settler lease settles blocks
   * and pays (one payer). Each keeps trying to take or renew the lease every third of this
   * time, so a holder that dies or loses the database is replaced within about this long.
   * Undefined (the embedded store, which is one process's): this process settles and pays.
   */
  readonly settlerLeaseMillis?: number | undefined
  /** Hashes difficulty 1 stands for, for hashrates (default 2^256 / powLimit; the simulator scales it). */
  readonly hashesPerUnitDifficulty?: bigint | undefined
}

/**
 * Share commits since the accounting started, for tests and the simulator's summary (what
 * blocks and payouts did is in the store and in the metrics).
 */
export interface StoreAccountingCounters {
  shareBatches: number
  sharesWritten: number
}
