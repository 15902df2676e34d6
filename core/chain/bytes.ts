import { Result } from "effect"
import { HexDecodeError } from "./errors.ts"

const HEX_CODES = Uint16Array.from("0123456789abcdef", (c) => c.charCodeAt(0))
// Character codes of each byte's two digits, packed as (high << 8) | low.
const BYTE_TO_CODES = Uint16Array.from({ length: 256 }, (_, b) => (HEX_CODES[b >> 4]! << 8) | HEX_CODES[b & 15]!)
const CHUNK = 8192

/**
 * Lower-case hex of `bytes`, in the order they are stored. Built from character codes in
 * one go rather than by concatenation: the result is a flat string, which compares and
 * hashes several times faster (ticket ids are sort and map keys).
 */
export const toHex = (bytes: Uint8Array): string => {
  const codes = new Uint16Array(bytes.length * 2)
  for (let i = 0; i < bytes.length; i++) {
    const c = BYTE_TO_CODES[bytes[i]!]!
    codes[2 * i] = c >> 8
    codes[2 * i + 1] = c & 0xff
  }
  if (codes.length <= CHUNK) return String.fromCharCode.apply(null, codes as unknown as Array<number>)
  let out = ""
  for (let at = 0; at < codes.length; at += CHUNK) {
    out += String.fromCharCode.apply(null, codes.subarray(at, at + CHUNK) as unknown as Array<number>)
  }
  return out
}

const nibble = (code: number): number => {
  if (code >= 48 && code <= 57) return code - 48 // 0-9
  if (code >= 97 && code <= 102) return code - 87 // a-f
  if (code >= 65 && code <= 70) return code - 55 // A-F
  return -1
}

/**
 * Decodes hex (either case). With `expectedBytes`, anything but exactly that
 * many bytes is an error: the wire formats here are fixed-size, and a wrong
 * length is the most common way a miner or a config gets them wrong.
 */
export const fromHex = (hex: string, field: string, expectedBytes?: number): Result.Result<Uint8Array, HexDecodeError> => {
  if (hex.length % 2 !== 0) {
    return Result.fail(new HexDecodeError({ field, message: `${field}: hex has an odd number of digits (${hex.length})` }))
  }
  const length = hex.length / 2
  if (expectedBytes !== undefined && length !== expectedBytes) {
    return Result.fail(
      new HexDecodeError({
        field,
        message: `${field}: expected ${expectedBytes} bytes (${expectedBytes * 2} hex digits), got ${length} bytes`,
      }),
    )
  }
  const out = new Uint8Array(length)
  for (let i = 0; i < length; i++) {
    const hi = nibble(hex.charCodeAt(2 * i))
    const lo = nibble(hex.charCodeAt(2 * i + 1))
    if (hi < 0 || lo < 0) {
      return Result.fail(new HexDecodeError({ field, message: `${field}: not hex at position ${2 * i + (hi < 0 ? 0 : 1)}` }))
    }
    out[i] = (hi << 4) | lo
  }
  return Result.succeed(out)
}

/** Decodes hex that the caller knows is valid (constants, test fixtures); throws otherwise. */
export const hexToBytes = (hex: string): Uint8Array => Result.getOrThrow(fromHex(hex, "constant"))

/** A reversed copy. Decred shows hashes byte-reversed relative to how they are stored and hashed. */
export const reversed = (bytes: Uint8Array): Uint8Array => {
  const out = new Uint8Array(bytes.length)
  for (let i = 0; i < bytes.length; i++) out[i] = bytes[bytes.length - 1 - i]!
  return out
}

export const bytesEqual = (a: Uint8Array, b: Uint8Array): boolean => {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

/** Reads `bytes` as an unsigned little-endian integer of any length. */
export const readUintLE = (bytes: Uint8Array): bigint => {
  let n = 0n
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i]!)
  return n
}

/** Writes `n` as an unsigned little-endian integer of exactly `length` bytes; throws if it does not fit. */
export const writeUintLE = (n: bigint, length: number): Uint8Array => {
  if (n < 0n) throw new RangeError(`cannot encode negative ${n} as unsigned`)
  const out = new Uint8Array(length)
  let rest = n
  for (let i = 0; i < length; i++) {
    out[i] = Number(rest & 0xffn)
    rest >>= 8n
  }
  if (rest !== 0n) throw new RangeError(`${n} does not fit in ${length} bytes`)
  return out
}

/** The bytes of `parts` one after another, in one new array. */
export const concatBytes = (parts: ReadonlyArray<Uint8Array>): Uint8Array => {
  let size = 0
  for (const p of parts) size += p.length
  const out = new Uint8Array(size)
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.length
  }
  return out
}
