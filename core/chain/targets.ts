import { readUintLE, toHex, writeUintLE } from "./bytes.ts"
import { Result } from "effect"
import { fromHex } from "./bytes.ts"
import type { HexDecodeError } from "./errors.ts"

const MANTISSA_MASK = 0x007fffff
const SIGN_BIT = 0x00800000

/**
 * Compact "bits" to the target it encodes (Bitcoin's format, dcrd `CompactToBig`):
 * the top byte is a base-256 exponent, bit 23 a sign, the low 23 bits the mantissa.
 */
export const compactToBig = (compact: number): bigint => {
  const mantissa = compact & MANTISSA_MASK
  const negative = (compact & SIGN_BIT) !== 0
  const exponent = compact >>> 24
  const n = exponent <= 3 ? BigInt(mantissa >>> (8 * (3 - exponent))) : BigInt(mantissa) << BigInt(8 * (exponent - 3))
  return negative ? -n : n
}

const byteLength = (n: bigint): number => {
  let length = 0
  for (let v = n; v > 0n; v >>= 8n) length++
  return length
}

/** The inverse of `compactToBig`, truncating to 23 bits of mantissa as dcrd `BigToCompact` does. */
export const bigToCompact = (n: bigint): number => {
  if (n === 0n) return 0
  const magnitude = n < 0n ? -n : n
  let exponent = byteLength(magnitude)
  let mantissa = exponent <= 3 ? Number(magnitude & 0xffffffffn) << (8 * (3 - exponent)) : Number((magnitude >> BigInt(8 * (exponent - 3))) & 0xffffffffn)
  // A set bit 23 would read back as a sign: move one byte into the exponent instead.
  if ((mantissa & SIGN_BIT) !== 0) {
    mantissa >>>= 8
    exponent++
  }
  let compact = ((exponent << 24) | mantissa) >>> 0
  if (n < 0n) compact = (compact | SIGN_BIT) >>> 0
  return compact
}

const TWO_256 = 1n << 256n

/** Expected hashes to find a block at `bits`: 2^256 / (target + 1) (dcrd `CalcWork`). */
export const calcWork = (bits: number): bigint => {
  const target = compactToBig(bits)
  return target <= 0n ? 0n : TWO_256 / (target + 1n)
}

/** A proof-of-work hash (32 stored bytes) as the little-endian 256-bit integer it is compared as. */
export const hashToBig = (hash: Uint8Array): bigint => readUintLE(hash)

/** The target's top 48 bits, for the last target asked about (a pool checks many hashes against few targets). */
let lastTarget = -1n
let lastTargetTop = 0

/**
 * True when the hash, read little-endian, is at or below the target. Every share is checked
 * twice (share and network target), so most answers come from the top 48 bits, exactly and
 * without building a 256-bit integer; only a tie there needs the full comparison.
 */
export const hashMeetsTarget = (hash: Uint8Array, target: bigint): boolean => {
  if (hash.length !== 32) return hashToBig(hash) <= target
  if (target !== lastTarget) {
    lastTarget = target
    lastTargetTop = target >= TWO_256 ? Number.POSITIVE_INFINITY : Number(target >> 208n)
  }
  let top = 0
  for (let i = 31; i >= 26; i--) top = top * 256 + hash[i]!
  // hash >= top * 2^208 and target < (targetTop + 1) * 2^208, and the other way round.
  if (top < lastTargetTop) return true
  if (top > lastTargetTop) return false
  return hashToBig(hash) <= target
}

/** An exact non-negative ratio. */
export interface Ratio {
  readonly numerator: bigint
  readonly denominator: bigint
}

const gcd = (a: bigint, b: bigint): bigint => {
  let x = a < 0n ? -a : a
  let y = b < 0n ? -b : b
  while (y !== 0n) [x, y] = [y, x % y]
  return x
}

export const ratio = (numerator: bigint, denominator: bigint): Ratio => {
  if (denominator <= 0n) throw new RangeError(`ratio denominator must be positive, got ${denominator}`)
  const g = gcd(numerator, denominator)
  return g === 0n ? { numerator: 0n, denominator: 1n } : { numerator: numerator / g, denominator: denominator / g }
}

/** Decimal rendering for people, rounded half up at `digits` fraction digits; never used for decisions. */
export const ratioToDecimal = (r: Ratio, digits = 8): string => {
  const scale = 10n ** BigInt(digits)
  const scaled = (r.numerator * scale * 2n + r.denominator) / (2n * r.denominator)
  const whole = scaled / scale
  if (digits === 0) return whole.toString()
  const fraction = (scaled % scale).toString().padStart(digits, "0")
  return `${whole}.${fraction}`
}

/**
 * The difficulty ratio dcrd reports (`getDifficultyRatio`): how many times harder
 * the target is than the network's easiest, powLimitBits' target. Exact.
 */
export const difficultyRatio = (target: bigint, powLimitBits: number): Ratio => {
  if (target <= 0n) throw new RangeError(`target must be positive, got ${target}`)
  return ratio(compactToBig(powLimitBits), target)
}

/** getwork's `target`: the 32-byte target as little-endian hex. */
export const targetToLEHex = (target: bigint): string => toHex(writeUintLE(target, 32))

export const targetFromLEHex = (hex: string, field = "target"): Result.Result<bigint, HexDecodeError> => Result.map(fromHex(hex, field, 32), readUintLE)
