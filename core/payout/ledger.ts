import { Data, Result } from "effect"
import { toHex } from "../chain/bytes.ts"
import { blake256Hash } from "../chain/hash.ts"
import { compareIds, type Allocation } from "./amounts.ts"

/** The pool operator's fee account. */
export const POOL_FEE_ACCOUNT = "pool:fee"
/** The PPS reserve: block rewards in, per-share credits out; it carries the pool's variance. */
export const PPS_RESERVE_ACCOUNT = "pool:reserve"

/**
 * The append-only record from shares to credits to payouts. Balances are never stored, only
 * derived from entries, so replaying the same events gives the same ledger byte for byte.
 */
export type LedgerEntry =
  | {
      readonly kind: "block-credited"
      readonly block: string
      readonly height: number
      readonly reward: bigint
      readonly fee: bigint
      readonly credits: ReadonlyArray<Allocation>
    }
  /** PPS: a block's reward goes to the reserve. */
  | { readonly kind: "block-to-reserve"; readonly block: string; readonly height: number; readonly reward: bigint }
  /** PPS: share credits accrued since the last accrual, paid from the reserve. */
  | { readonly kind: "pps-accrued"; readonly throughPosition: number; readonly credits: ReadonlyArray<Allocation> }
  /** The block left the main chain before maturity: its credits are reversed. */
  | { readonly kind: "block-orphaned"; readonly block: string }
  /** The coinbase can be spent: the block's credits become payable. */
  | { readonly kind: "block-matured"; readonly block: string }
  | {
      readonly kind: "payout"
      readonly batch: number
      /** What each account receives in the transaction. */
      readonly payments: ReadonlyArray<Allocation>
      /** The transaction fee, borne by the miners paid, pro rata. */
      readonly txFee: bigint
      readonly txFeeShares: ReadonlyArray<Allocation>
    }

export class LedgerRejected extends Data.TaggedError("LedgerRejected")<{ readonly message: string }> {}

interface Balance {
  /** Credited from blocks not yet mature. */
  readonly immature: bigint
  /** Payable now. */
  readonly available: bigint
  readonly paid: bigint
}

type BlockState = { status: "credited" | "matured" | "orphaned"; credits: ReadonlyArray<Allocation>; fee: bigint; toReserve: bigint }

const ZERO: Balance = { immature: 0n, available: 0n, paid: 0n }

export class Ledger {
  private readonly log: Array<LedgerEntry> = []
  private readonly blocks = new Map<string, BlockState>()
  private readonly balances = new Map<string, { immature: bigint; available: bigint; paid: bigint }>()
  private batches = 0

  get entries(): ReadonlyArray<LedgerEntry> {
    return this.log
  }

  get nextBatch(): number {
    return this.batches + 1
  }

  balance(account: string): Balance {
    return this.balances.get(account) ?? ZERO
  }

  accounts(): Array<string> {
    return [...this.balances.keys()].sort(compareIds)
  }

  blockStatus(block: string): BlockState["status"] | undefined {
    return this.blocks.get(block)?.status
  }

  /** Appends an entry after checking it against the ledger so far; a refused entry changes nothing. */
  append(entry: LedgerEntry): Result.Result<LedgerEntry, LedgerRejected> {
    const problem = this.check(entry)
    if (problem !== undefined) return Result.fail(new LedgerRejected({ message: problem }))
    this.apply(entry)
    this.log.push(entry)
    return Result.succeed(entry)
  }

  /** One line per entry, fixed key order, amounts as decimal strings: the ledger's bytes. */
  serialize(): string {
    return this.log.map(canonicalLine).join("\n")
  }

  /** BLAKE-256 of the serialization: equal ledgers have equal digests. */
  digest(): string {
    return toHex(blake256Hash(new TextEncoder().encode(this.serialize())))
  }

  private check(entry: LedgerEntry): string | undefined {
    switch (entry.kind) {
      case "block-credited":
      case "block-to-reserve": {
        if (this.blocks.has(entry.block)) return `block ${entry.block} is already in the ledger`
        if (entry.kind === "block-credited") {
          const total = entry.fee + entry.credits.reduce((s, c) => s + c.amount, 0n)
          if (total !== entry.reward) return `block ${entry.block}: credits and fee add up to ${total}, the reward is ${entry.reward}`
        }
        return undefined
      }
      case "block-orphaned": {
        const b = this.blocks.get(entry.block)
        if (b === undefined) return `block ${entry.block} is not in the ledger`
        if (b.status !== "credited") return `block ${entry.block} is ${b.status}; only an immature block can be orphaned`
        return undefined
      }
      case "block-matured": {
        const b = this.blocks.get(entry.block)
        if (b === undefined) return `block ${entry.block} is not in the ledger`
        if (b.status !== "credited") return `block ${entry.block} is ${b.status}, not waiting for maturity`
        return undefined
      }
      case "pps-accrued":
        return entry.credits.some((c) => c.amount < 0n) ? "negative PPS credit" : undefined
      case "payout": {
        if (entry.batch !== this.batches + 1) return `payout batch ${entry.batch} is out of order (next is ${this.batches + 1})`
        for (const p of entry.payments) {
          const fee = entry.txFeeShares.find((f) => f.account === p.account)?.amount ?? 0n
          const available = this.balance(p.account).available
          if (p.amount <= 0n) return `payout to ${p.account} of ${p.amount} atoms`
          if (p.amount + fee > available) {
            return `payout to ${p.account} of ${p.amount} + ${fee} fee exceeds its available ${available}: it would be paid twice`
          }
        }
        const fees = entry.txFeeShares.reduce((s, f) => s + f.amount, 0n)
        if (fees !== entry.txFee) return `transaction fee shares add up to ${fees}, the fee is ${entry.txFee}`
        return undefined
      }
    }
  }

  private bal(account: string) {
    let b = this.balances.get(account)
    if (b === undefined) {
      b = { immature: 0n, available: 0n, paid: 0n }
      this.balances.set(account, b)
    }
    return b
  }

  private apply(entry: LedgerEntry): void {
    switch (entry.kind) {
      case "block-credited":
        this.blocks.set(entry.block, { status: "credited", credits: entry.credits, fee: entry.fee, toReserve: 0n })
        for (const c of entry.credits) this.bal(c.account).immature += c.amount
        if (entry.fee > 0n) this.bal(POOL_FEE_ACCOUNT).immature += entry.fee
        return
      case "block-to-reserve":
        this.blocks.set(entry.block, { status: "credited", credits: [], fee: 0n, toReserve: entry.reward })
        this.bal(PPS_RESERVE_ACCOUNT).immature += entry.reward
        return
      case "pps-accrued":
        for (const c of entry.credits) {
          this.bal(c.account).available += c.amount
          this.bal(PPS_RESERVE_ACCOUNT).available -= c.amount
        }
        return
      case "block-orphaned": {
        const b = this.blocks.get(entry.block)!
        b.status = "orphaned"
        for (const c of b.credits) this.bal(c.account).immature -= c.amount
        if (b.fee > 0n) this.bal(POOL_FEE_ACCOUNT).immature -= b.fee
        if (b.toReserve > 0n) this.bal(PPS_RESERVE_ACCOUNT).immature -= b.toReserve
        return
      }
      case "block-matured": {
        const b = this.blocks.get(entry.block)!
        b.status = "matured"
        const move = (account: string, amount: bigint) => {
          const x = this.bal(account)
          x.immature -= amount
          x.available += amount
        }
        for (const c of b.credits) move(c.account, c.amount)
        if (b.fee > 0n) move(POOL_FEE_ACCOUNT, b.fee)
        if (b.toReserve > 0n) move(PPS_RESERVE_ACCOUNT, b.toReserve)
        return
      }
      case "payout":
        this.batches = entry.batch
        for (const p of entry.payments) {
          const b = this.bal(p.account)
          b.available -= p.amount
          b.paid += p.amount
        }
        for (const f of entry.txFeeShares) this.bal(f.account).available -= f.amount
        return
    }
  }
}

const allocations = (xs: ReadonlyArray<Allocation>) => xs.map((a) => [a.account, a.amount.toString()])

const canonicalLine = (e: LedgerEntry): string => {
  switch (e.kind) {
    case "block-credited":
      return JSON.stringify([e.kind, e.block, e.height, e.reward.toString(), e.fee.toString(), allocations(e.credits)])
    case "block-to-reserve":
      return JSON.stringify([e.kind, e.block, e.height, e.reward.toString()])
    case "pps-accrued":
      return JSON.stringify([e.kind, e.throughPosition, allocations(e.credits)])
    case "block-orphaned":
    case "block-matured":
      return JSON.stringify([e.kind, e.block])
    case "payout":
      return JSON.stringify([e.kind, e.batch, allocations(e.payments), e.txFee.toString(), allocations(e.txFeeShares)])
  }
}
