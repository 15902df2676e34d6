import { Hash256PRNG } from "./lottery.ts"

/**
 * How a vote or revocation pays a ticket's commitments back (dcrd `calcTicketReturnAmounts`):
 * each commitment gets floor(commitment * total / sum of commitments) in 64.32 fixed point,
 * where total = ticket price (+ vote subsidy for a vote). The commitments add up to what was
 * put in, purchase fee included, so the fee is what is not paid back.
 */
const ticketReturnShares = (commitments: ReadonlyArray<bigint>, total: bigint): Array<bigint> => {
  const sum = commitments.reduce((a, b) => a + b, 0n)
  if (sum <= 0n) throw new RangeError("a ticket needs commitments that add up to more than zero")
  return commitments.map((c) => (((c * total) << 32n) / sum) >> 32n)
}

/** A vote pays price + vote subsidy pro rata; whatever rounding leaves goes to the vote's fee. */
export const voteReturns = (commitments: ReadonlyArray<bigint>, price: bigint, voteSubsidy: bigint): Array<bigint> => ticketReturnShares(commitments, price + voteSubsidy)

/**
 * A revocation pays the price pro rata. Under automatic revocations (DCP-0009) the leftover
 * atoms go one by one to commitments drawn by dcrd's PRNG seeded with the previous block's
 * header, so the whole price comes back; before it, the leftover went to the fee.
 */
export const revocationReturns = (commitments: ReadonlyArray<bigint>, price: bigint, prevHeaderBytes: Uint8Array, autoRevocations: boolean): Array<bigint> => {
  const shares = ticketReturnShares(commitments, price)
  if (!autoRevocations) return shares
  let remainder = price - shares.reduce((a, b) => a + b, 0n)
  if (remainder > 0n) {
    const prng = Hash256PRNG.fromSeed(prevHeaderBytes)
    for (; remainder > 0n; remainder--) shares[prng.uniform(shares.length)]! += 1n
  }
  return shares
}
