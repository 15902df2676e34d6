import { blake256 } from "@noble/hashes/blake1.js"
import { blake3 } from "@noble/hashes/blake3.js"
import { Result } from "effect"
import { fromHex, reversed, toHex } from "./bytes.ts"
import type { HexDecodeError } from "./errors.ts"

/** The two hash functions a Decred proof of work has used. */
export type PowHashAlgorithm = "blake256" | "blake3"

/** BLAKE-256 with 14 rounds: block hashes, the lottery, address checksums. */
export const blake256Hash = (data: Uint8Array): Uint8Array => blake256(data)

/** BLAKE3 with a 32-byte output: the proof-of-work hash since DCP-0011. */
export const blake3Hash = (data: Uint8Array): Uint8Array => blake3(data)

export const powHashWith = (algorithm: PowHashAlgorithm, data: Uint8Array): Uint8Array => (algorithm === "blake3" ? blake3(data) : blake256(data))

/**
 * Hex as people and RPCs show a hash: the 32 stored bytes reversed, so the
 * leading zeros of a valid proof of work come first.
 */
export const hashToDisplay = (hash: Uint8Array): string => toHex(reversed(hash))

/** Parses a displayed (byte-reversed) hash into its stored, internal byte order. */
export const hashFromDisplay = (hex: string, field = "hash"): Result.Result<Uint8Array, HexDecodeError> => Result.map(fromHex(hex, field, 32), reversed)
