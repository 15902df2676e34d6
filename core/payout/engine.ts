import { Result } from "effect"
import { checkPoolFee, compareIds, PayoutConfigError, splitProportionally, type Allocation } from "./amounts.ts"
import { Ledger, LedgerRejected, POOL_FEE_ACCOUNT, PPS_RESERVE_ACCOUNT, type LedgerEntry } from "./ledger.ts"
import { MINING_ADDRESS_ACCOUNT, ppsCredit, shareBlock, type FoundBlock, type PayoutScheme } from "./schemes.ts"
import { ShareLog, type Share } from "./sharelog.ts"

export interface PayoutConfig {
  readonly scheme: PayoutScheme
  /** The pool's fee in basis points (1% = 100). */
  readonly feeBasisPoints: number
  /** Balances below this wait for a later payout (they are never forfeited). */
  readonly minimumPayout: bigint
}

/** For PPS: what a block would pay and how hard it is, at the time of a share. */
interface ShareValueContext {
  readonly blockReward: bigint
  readonly networkDifficulty: bigint
}

const checkScheme = (scheme: PayoutScheme): void => {
  if (scheme.kind === "pplns" && (scheme.windowMultiple.numerator <= 0n || scheme.windowMultiple.denominator <= 0n)) {
    throw new PayoutConfigError({ field: "pplnswindow", message: "the PPLNS window multiple X must be positive (2 = two blocks' worth of work)" })
  }
  if (scheme.kind === "pplns-time" && !(scheme.periodMs >= 60_000)) {
    throw new PayoutConfigError({ field: "lastnperiod", message: `lastnperiod must be at least 60s, got ${scheme.periodMs}ms` })
  }
}

/**
 * Shares in, credits and payouts out, as ledger entries. Deterministic: the same events in the
 * same order give the same ledger, byte for byte; a share whose id was seen counts once.
 */
export class PayoutEngine {
  readonly config: PayoutConfig
  readonly log = new ShareLog()
  readonly ledger = new Ledger()
  /** Where the current proportional round started, and where each credited block's round started. */
  private roundStart = 0
  private readonly roundStarts = new Map<string, { start: number; end: number }>()
  private readonly ppsPending = new Map<string, bigint>()
  private lastBlockEnd = 0

  constructor(config: PayoutConfig) {
    checkPoolFee(config.feeBasisPoints)
    checkScheme(config.scheme)
    if (config.minimumPayout <= 0n) throw new PayoutConfigError({ field: "minpayout", message: "the minimum payout must be above zero atoms" })
    this.config = config
  }

  /** Records an accepted share; false when it was a duplicate. PPS needs `value` to credit it. */
  recordShare(share: Share, value?: ShareValueContext): boolean {
    if (!this.log.append(share)) return false
    if (this.config.scheme.kind === "pps") {
      if (value === undefined) throw new RangeError("PPS needs the block reward and network difficulty of each share")
      const credit = ppsCredit(share, value.blockReward, value.networkDifficulty, this.config.feeBasisPoints)
      if (credit > 0n) this.ppsPending.set(share.account, (this.ppsPending.get(share.account) ?? 0n) + credit)
    }
    return true
  }

  /** Credits a block found by the last recorded share (PPS: the reward goes to the reserve). */
  blockFound(block: Omit<FoundBlock, "logEnd">): Result.Result<LedgerEntry, LedgerRejected> {
    const found: FoundBlock = { ...block, logEnd: this.log.end }
    if (found.logEnd <= this.lastBlockEnd) {
      // Every block is found by a share of its own; a second block on the same share is a bug upstream.
      return Result.fail(new LedgerRejected({ message: `block ${block.hash} has no share of its own since the previous block` }))
    }
    this.lastBlockEnd = found.logEnd
    this.flushPps()
    if (this.config.scheme.kind === "pps") {
      return this.ledger.append({ kind: "block-to-reserve", block: block.hash, height: block.height, reward: block.reward })
    }
    const share = shareBlock(this.config.scheme, this.log, found, this.config.feeBasisPoints, this.roundStart)
    const r = this.ledger.append({
      kind: "block-credited",
      block: block.hash,
      height: block.height,
      reward: block.reward,
      fee: share.fee,
      credits: share.credits,
    })
    if (Result.isSuccess(r)) {
      this.roundStarts.set(block.hash, { start: this.roundStart, end: found.logEnd })
      this.roundStart = found.logEnd
    }
    return r
  }

  /**
   * The block left the main chain before maturity: its credits are reversed. Under the
   * proportional scheme the shares of its round count again toward the next block when it was
   * the latest one.
   */
  blockOrphaned(hash: string): Result.Result<LedgerEntry, LedgerRejected> {
    const r = this.ledger.append({ kind: "block-orphaned", block: hash })
    const round = this.roundStarts.get(hash)
    if (Result.isSuccess(r) && round !== undefined && round.end === this.roundStart) this.roundStart = round.start
    return r
  }

  blockMatured(hash: string): Result.Result<LedgerEntry, LedgerRejected> {
    return this.ledger.append({ kind: "block-matured", block: hash })
  }

  /**
   * A payout batch: every miner with at least the minimum available, less its pro-rata part of
   * the transaction fee, and the pool fee account (which bears none of it). Undefined when no
   * miner is due. The entry is in the ledger before any transaction is built, so a batch is
   * recorded once and paid once.
   */
  payout(txFee: bigint): Result.Result<LedgerEntry | undefined, LedgerRejected> {
    this.flushPps()
    const special = new Set([POOL_FEE_ACCOUNT, PPS_RESERVE_ACCOUNT, MINING_ADDRESS_ACCOUNT])
    let due = this.ledger.accounts().filter((a) => !special.has(a) && this.ledger.balance(a).available >= this.config.minimumPayout)
    for (;;) {
      if (due.length === 0) return Result.succeed(undefined)
      const weights = new Map(due.map((a) => [a, this.ledger.balance(a).available]))
      const txFeeShares = splitProportionally(txFee, weights)
      const short = due.filter((a) => (txFeeShares.find((f) => f.account === a)?.amount ?? 0n) >= weights.get(a)!)
      if (short.length > 0) {
        // Someone's share of the fee would eat their whole payment: leave them for a later batch.
        due = due.filter((a) => !short.includes(a))
        continue
      }
      const payments: Array<Allocation> = due.map((a) => ({
        account: a,
        amount: weights.get(a)! - (txFeeShares.find((f) => f.account === a)?.amount ?? 0n),
      }))
      const fee = this.ledger.balance(POOL_FEE_ACCOUNT).available
      if (fee > 0n) payments.push({ account: POOL_FEE_ACCOUNT, amount: fee })
      payments.sort((x, y) => compareIds(x.account, y.account))
      return this.ledger.append({ kind: "payout", batch: this.ledger.nextBatch, payments, txFee, txFeeShares })
    }
  }

  private flushPps(): void {
    if (this.ppsPending.size === 0) return
    const credits = [...this.ppsPending.entries()].map(([account, amount]) => ({ account, amount })).sort((a, b) => compareIds(a.account, b.account))
    this.ppsPending.clear()
    Result.getOrThrow(this.ledger.append({ kind: "pps-accrued", throughPosition: this.log.end, credits }))
  }
}
