import fc from "fast-check"
import type { BlockHeader } from "../core/chain/header.ts"

const bytes = (length: number) => fc.uint8Array({ minLength: length, maxLength: length })
const uint = (bits: 8 | 16 | 32) => fc.integer({ min: 0, max: 2 ** bits - 1 })

/** Any header the 180-byte format can carry. */
export const arbitraryHeader: fc.Arbitrary<BlockHeader> = fc.record({
  version: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
  prevBlock: bytes(32),
  merkleRoot: bytes(32),
  stakeRoot: bytes(32),
  voteBits: uint(16),
  finalState: bytes(6),
  voters: uint(16),
  freshStake: uint(8),
  revocations: uint(8),
  poolSize: uint(32),
  bits: uint(32),
  sbits: fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }),
  height: uint(32),
  size: uint(32),
  timestamp: uint(32),
  nonce: uint(32),
  extraData: bytes(32),
  stakeVersion: uint(32),
})

/** Positive 256-bit integers spread over every magnitude (uniform draws would all be huge). */
export const arbitraryTarget: fc.Arbitrary<bigint> = fc
  .tuple(fc.integer({ min: 1, max: 256 }), fc.bigInt({ min: 0n, max: (1n << 256n) - 1n }))
  .map(([bits, n]) => (n & ((1n << BigInt(bits)) - 1n)) | (1n << BigInt(bits - 1)))
