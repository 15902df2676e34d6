import { Data } from "effect"

export const BASIS_POINTS = 10_000n

/** A configuration value the payout engine refuses; the message names it and the allowed range. */
export class PayoutConfigError extends Data.TaggedError("PayoutConfigError")<{
  readonly field: string
  readonly message: string
}> {}

/** The pool's fee in basis points (1% = 100), checked to be within [0, 100%). */
export const checkPoolFee = (basisPoints: number): number => {
  if (!Number.isInteger(basisPoints) || basisPoints < 0 || basisPoints >= 10_000) {
    throw new PayoutConfigError({
      field: "poolfee",
      message: `poolfee must be a whole number of basis points from 0 to 9999 (1% = 100), got ${basisPoints}`,
    })
  }
  return basisPoints
}

/** The fee part of an amount, rounded down (the miners' part gets the odd atom). */
export const feeOf = (amount: bigint, feeBasisPoints: number): bigint => (amount * BigInt(feeBasisPoints)) / BASIS_POINTS

export interface Allocation {
  readonly account: string
  readonly amount: bigint
}

/**
 * Splits `total` atoms over accounts in proportion to their weights, exactly: each gets the
 * floor of its share, and the atoms left over (fewer than the number of accounts) go one each
 * to the largest fractional parts, ties to the smaller account id. The result adds up to
 * `total`, is the same whatever order the weights come in, and is sorted by account.
 */
export const splitProportionally = (total: bigint, weights: ReadonlyMap<string, bigint>): Array<Allocation> => {
  if (total < 0n) throw new RangeError(`cannot split a negative amount ${total}`)
  let sum = 0n
  for (const w of weights.values()) {
    if (w < 0n) throw new RangeError("weights must not be negative")
    sum += w
  }
  const accounts = [...weights.keys()].filter((a) => weights.get(a)! > 0n).sort(compareIds)
  if (accounts.length === 0 || sum === 0n) {
    if (total === 0n) return []
    throw new RangeError(`cannot split ${total} atoms over no weight`)
  }
  const parts = accounts.map((account) => {
    const exact = total * weights.get(account)!
    return { account, amount: exact / sum, remainder: exact % sum }
  })
  let left = total - parts.reduce((s, p) => s + p.amount, 0n)
  if (left > 0n) {
    const order = [...parts].sort((a, b) => (a.remainder === b.remainder ? compareIds(a.account, b.account) : a.remainder > b.remainder ? -1 : 1))
    for (const p of order) {
      if (left === 0n) break
      p.amount += 1n
      left -= 1n
    }
  }
  return parts.map(({ account, amount }) => ({ account, amount }))
}

export const compareIds = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0)
