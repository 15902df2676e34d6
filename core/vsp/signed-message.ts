import { secp256k1 } from "@noble/curves/secp256k1.js"
import { Result } from "effect"
import { decodeAddress } from "../chain/address.ts"
import { bytesEqual } from "../chain/bytes.ts"
import { blake256Hash } from "../chain/hash.ts"
import type { NetworkParams } from "../chain/params.ts"
import { decodeStdBase64, encodeStdBase64 } from "./base64.ts"
import { hash160, reducedPrivateKey } from "./keys.ts"

/**
 * Decred's signed messages, as dcrwallet's `signmessage` makes them and dcrd's `verifymessage`
 * and vspd (dcrutil `VerifyMessage`) check them: a 65-byte compact ECDSA signature, base64, over
 * BLAKE-256 of the var-string "Decred Signed Message:\n" followed by the var-string message.
 * The first byte is 27 + the public key recovery code (+ 4 when the key is compressed); the
 * signer's public key is recovered from it and its P2PKH address compared with the claimed one.
 */

const MAGIC = "Decred Signed Message:\n"
const COMPACT_SIGNATURE_BYTES = 65
const RECOVERY_CODE_OFFSET = 27
const COMPRESSED_FLAG = 4

const Point = secp256k1.Point
const N = Point.Fn.ORDER
const P = Point.Fp.ORDER

/** wire.WriteVarInt, for the lengths a message can have. */
const varInt = (n: number): Uint8Array => {
  if (n < 0xfd) return Uint8Array.of(n)
  if (n <= 0xffff) return Uint8Array.of(0xfd, n & 0xff, n >> 8)
  return Uint8Array.of(0xfe, n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff)
}

const varString = (bytes: Uint8Array): Uint8Array => {
  const length = varInt(bytes.length)
  const out = new Uint8Array(length.length + bytes.length)
  out.set(length, 0)
  out.set(bytes, length.length)
  return out
}

/**
 * The 32-byte hash a Decred signed message signs. A string is taken as its UTF-8 bytes (a Go
 * string from JSON); bytes are taken as they are: vspd verifies `string(body)` of the raw request
 * body, so pass the body's bytes to agree with it even where they are not valid UTF-8.
 */
const messageHash = (message: string | Uint8Array): Uint8Array => {
  const magic = varString(new TextEncoder().encode(MAGIC))
  const body = varString(typeof message === "string" ? new TextEncoder().encode(message) : message)
  const data = new Uint8Array(magic.length + body.length)
  data.set(magic, 0)
  data.set(body, magic.length)
  return blake256Hash(data)
}

const bigEndian = (bytes: Uint8Array): bigint => {
  let n = 0n
  for (const b of bytes) n = (n << 8n) | BigInt(b)
  return n
}

const mod = (a: bigint, m: bigint): bigint => ((a % m) + m) % m

const invert = (a: bigint, m: bigint): bigint => {
  // Extended Euclid; a is a non-zero scalar below the prime m.
  let [r0, r1] = [mod(a, m), m]
  let [s0, s1] = [1n, 0n]
  while (r1 !== 0n) {
    const q = r0 / r1
    ;[r0, r1] = [r1, r0 - q * r1]
    ;[s0, s1] = [s1, s0 - q * s1]
  }
  return mod(s0, m)
}

/**
 * dcrd's `ecdsa.RecoverCompact`: the public key (serialized compressed or not, as the recovery
 * byte says) that made `signature` over `hash`, or undefined where dcrd returns an error. Written
 * out rather than taken from a library so that what it accepts is dcrd's: any S in [1, N) (high S
 * included), R in [1, N), R + N only when it is below P.
 */
const recoverCompact = (signature: Uint8Array, hash: Uint8Array): Uint8Array | undefined => {
  if (signature.length !== COMPACT_SIGNATURE_BYTES) return undefined
  const code = signature[0]!
  if (code < RECOVERY_CODE_OFFSET || code > RECOVERY_CODE_OFFSET + COMPRESSED_FLAG + 3) return undefined
  const recovery = code - RECOVERY_CODE_OFFSET
  const compressed = (recovery & COMPRESSED_FLAG) !== 0
  const r = bigEndian(signature.subarray(1, 33))
  const s = bigEndian(signature.subarray(33, 65))
  if (r === 0n || r >= N || s === 0n || s >= N) return undefined
  let x = r
  if ((recovery & 2) !== 0) {
    if (r >= P - N) return undefined
    x = r + N
  }
  const encodedX = new Uint8Array(33)
  encodedX[0] = (recovery & 1) !== 0 ? 0x03 : 0x02
  let rest = x
  for (let i = 32; i >= 1; i--) {
    encodedX[i] = Number(rest & 0xffn)
    rest >>= 8n
  }
  let R
  try {
    R = Point.fromBytes(encodedX)
  } catch {
    return undefined
  }
  const e = mod(bigEndian(hash), N)
  const w = invert(r, N)
  const u1 = mod(-e * w, N)
  const u2 = mod(s * w, N)
  const Q = Point.BASE.multiplyUnsafe(u1).add(R.multiplyUnsafe(u2))
  if (Q.is0()) return undefined
  return Q.toBytes(compressed)
}

/**
 * True when `signatureBase64` is `address`'s signature of `message` on `network`, by dcrutil's
 * `VerifyMessage` (what vspd checks every request with): the address must be a secp256k1 ECDSA
 * P2PKH address of this network. False for anything malformed, never a throw.
 */
export const verifySignedMessage = (address: string, signatureBase64: string, message: string | Uint8Array, network: NetworkParams): boolean => {
  const decoded = decodeAddress(address, network)
  if (Result.isFailure(decoded) || decoded.success.kind !== "p2pkh-ecdsa-secp256k1") return false
  const signature = decodeStdBase64(signatureBase64)
  if (signature === undefined) return false
  let publicKey: Uint8Array | undefined
  try {
    publicKey = recoverCompact(signature, messageHash(message))
  } catch {
    return false
  }
  return publicKey !== undefined && bytesEqual(hash160(publicKey), decoded.success.payload)
}

/**
 * Signs `message` with a 32-byte secp256k1 private key as dcrwallet's `signmessage` does
 * (RFC 6979 nonce, low S, compressed-key recovery byte): base64 of the 65-byte compact signature.
 * For tests, emulators and dcrforge's own client; the same key and message give dcrwallet's bytes.
 */
export const signMessage = (privateKey: Uint8Array, message: string | Uint8Array): string => {
  const key = reducedPrivateKey(privateKey)
  const signature = secp256k1.sign(messageHash(message), key, { prehash: false, lowS: true, format: "recovered" })
  // noble's recovered format is the recovery id then R and S; Decred's puts 27 + id + 4 first.
  const compact = new Uint8Array(COMPACT_SIGNATURE_BYTES)
  compact[0] = RECOVERY_CODE_OFFSET + COMPRESSED_FLAG + signature[0]!
  compact.set(signature.subarray(1), 1)
  return encodeStdBase64(compact)
}
