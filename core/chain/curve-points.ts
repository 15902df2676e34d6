import { Result } from "effect"

/**
 * Public keys as points, checked the way dcrd checks the keys a pay-to-pubkey address carries
 * (`txscript/stdaddr` hands them to `dcrec/secp256k1.ParsePubKey` and `dcrec/edwards.ParsePubKey`).
 * A key that is no point can never sign, so an output paying it is lost for good; dcrd and
 * dcrwallet refuse to decode such an address at all. Exact integer arithmetic on bigints: these
 * run once per address a miner or an operator gives, never in a hot loop, so clarity wins over
 * constant time (nothing here is secret).
 */
interface CurvePoint {
  readonly x: bigint
  readonly y: bigint
}

/** base^exponent mod modulus, by square and multiply (exponent >= 0, modulus > 1). */
const modPow = (base: bigint, exponent: bigint, modulus: bigint): bigint => {
  let result = 1n
  let b = ((base % modulus) + modulus) % modulus
  let e = exponent
  while (e > 0n) {
    if ((e & 1n) === 1n) result = (result * b) % modulus
    b = (b * b) % modulus
    e >>= 1n
  }
  return result
}

const mod = (a: bigint, m: bigint): bigint => ((a % m) + m) % m

const bigEndian = (bytes: Uint8Array): bigint => {
  let n = 0n
  for (const b of bytes) n = (n << 8n) | BigInt(b)
  return n
}

const littleEndian = (bytes: Uint8Array): bigint => {
  let n = 0n
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i]!)
  return n
}

// ---- secp256k1: y^2 = x^3 + 7 over F_p -----------------------------------------------------------

/** secp256k1's field prime, 2^256 - 2^32 - 977. */
export const SECP256K1_P = 2n ** 256n - 2n ** 32n - 977n

/**
 * The point a compressed secp256k1 key names: `x` (32 bytes, big-endian) and the oddness of y,
 * as dcrd's `ParsePubKey` reads a 0x02/0x03 key (a Decred P2PK address carries the same two
 * things: the X coordinate and the oddness in the top bit of its type byte). Refused when x is
 * not below p (dcrd does not reduce it: p + 1 is not 1) or when x^3 + 7 has no square root mod p
 * (no point has that X). Either oddness then exists: y and p - y differ in parity, and y is
 * never 0 (secp256k1's order is prime, so no point has order 2).
 */
export const secp256k1Point = (xBytes: Uint8Array, oddY: boolean): Result.Result<CurvePoint, string> => {
  if (xBytes.length !== 32) return Result.fail(`a secp256k1 X coordinate is 32 bytes, got ${xBytes.length}`)
  const x = bigEndian(xBytes)
  if (x >= SECP256K1_P) return Result.fail("its X coordinate is not below the field prime p")
  const p = SECP256K1_P
  const rhs = mod(x * x * x + 7n, p)
  // p = 3 mod 4, so a square root of a square r is r^((p+1)/4); squaring it back says whether r was one.
  const root = modPow(rhs, (p + 1n) / 4n, p)
  if ((root * root) % p !== rhs) return Result.fail("no point of secp256k1 has its X coordinate (x^3 + 7 is not a square mod p)")
  const y = ((root & 1n) === 1n) === oddY ? root : p - root
  return Result.succeed({ x, y })
}

// ---- Ed25519: -x^2 + y^2 = 1 + d x^2 y^2 over F_p (RFC 8032) -------------------------------------

/** Ed25519's field prime, 2^255 - 19. */
export const ED25519_P = 2n ** 255n - 19n
/** The curve constant d = -121665 / 121666. */
export const ED25519_D = mod(-121665n * modPow(121666n, ED25519_P - 2n, ED25519_P), ED25519_P)
/** A square root of -1 mod p: 2^((p-1)/4). */
const SQRT_MINUS_ONE = modPow(2n, (ED25519_P - 1n) / 4n, ED25519_P)

/**
 * The point a 32-byte Ed25519 public key encodes (RFC 8032 5.1.3: y little-endian in the low 255
 * bits, the sign of x in the top bit), decoded as dcrd's `edwards.ParsePubKey` decodes it:
 * refused when (y^2 - 1) / (d y^2 + 1) has no square root mod p (no point has that y), and when
 * x is 0 but the sign bit is set (dcrd ends up with x = p there and refuses it, as RFC 8032
 * does). One difference from RFC 8032, kept because dcrd and dcrwallet accept it: a y encoded
 * at or above p is read mod p (agl/ed25519's `FeFromBytes`) rather than refused.
 */
export const ed25519Point = (encoded: Uint8Array): Result.Result<CurvePoint, string> => {
  if (encoded.length !== 32) return Result.fail(`an Ed25519 public key is 32 bytes, got ${encoded.length}`)
  const p = ED25519_P
  const xIsOdd = (encoded[31]! & 0x80) !== 0
  const y = (littleEndian(encoded) & ((1n << 255n) - 1n)) % p
  const yy = (y * y) % p
  const u = mod(yy - 1n, p)
  // Never 0: that would make d = -1/y^2 a square, and d is not one.
  const v = mod(ED25519_D * yy + 1n, p)
  // x = u v^3 (u v^7)^((p-5)/8) is a square root of u/v if u/v has one, up to a factor sqrt(-1).
  const v3 = modPow(v, 3n, p)
  let x = (u * v3 * modPow(u * v3 * v3 * v, (p - 5n) / 8n, p)) % p
  const vxx = (v * x * x) % p
  if (vxx !== u) {
    if (vxx !== mod(-u, p)) return Result.fail("no point of Ed25519 has its y coordinate ((y^2 - 1) / (d y^2 + 1) is not a square mod p)")
    x = (x * SQRT_MINUS_ONE) % p
  }
  if (x === 0n && xIsOdd) return Result.fail("its x coordinate is 0, yet its sign bit says x is odd")
  if (((x & 1n) === 1n) !== xIsOdd) x = p - x
  return Result.succeed({ x, y })
}
