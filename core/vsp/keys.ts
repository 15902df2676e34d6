import { secp256k1 } from "@noble/curves/secp256k1.js"
import { ripemd160 } from "@noble/hashes/legacy.js"
import { hmac } from "@noble/hashes/hmac.js"
import { sha512 } from "@noble/hashes/sha2.js"
import { base58 } from "@scure/base"
import { Data, Result } from "effect"
import { encodeAddress } from "../chain/address.ts"
import { bytesEqual } from "../chain/bytes.ts"
import { blake256Hash } from "../chain/hash.ts"
import type { NetworkParams } from "../chain/params.ts"

/** Why a key string (WIF or extended key) or a derivation was refused. */
type KeyProblem = "malformed" | "bad-checksum" | "wrong-network" | "unsupported-type" | "private-extended-key" | "bad-public-key" | "invalid-child"

/** A private key (WIF), an extended public key or a child derivation that cannot be used; the message says what to do. */
export class KeyError extends Data.TaggedError("KeyError")<{
  readonly problem: KeyProblem
  readonly message: string
}> {}

const fail = (problem: KeyProblem, message: string) => Result.fail(new KeyError({ problem, message }))

const CURVE_ORDER = secp256k1.Point.Fn.ORDER

/** dcrutil's Hash160: RIPEMD-160 of BLAKE-256. What a P2PKH address and an extended key's fingerprint hash. */
export const hash160 = (data: Uint8Array): Uint8Array => ripemd160(blake256Hash(data))

const bigEndian = (bytes: Uint8Array): bigint => {
  let n = 0n
  for (const b of bytes) n = (n << 8n) | BigInt(b)
  return n
}

const scalarBytes = (n: bigint): Uint8Array => {
  const out = new Uint8Array(32)
  let rest = n
  for (let i = 31; i >= 0; i--) {
    out[i] = Number(rest & 0xffn)
    rest >>= 8n
  }
  return out
}

const twoBytePrefix = (id: number): Uint8Array => Uint8Array.of(id >> 8, id & 0xff)

// ---- public keys and addresses -----------------------------------------------------------------

/** The compressed (33-byte) secp256k1 public key of a 32-byte private key. */
export const publicKeyOf = (privateKey: Uint8Array): Uint8Array => secp256k1.getPublicKey(privateKey, true)

/**
 * The P2PKH (secp256k1 ECDSA) address of a serialized public key, as dcrd's
 * `NewAddressPubKeyHashEcdsaSecp256k1V0(Hash160(key))`: the voting address of a ticket whose
 * voting key this is, and a fee address of the key derived for it.
 */
export const p2pkhAddressOf = (publicKey: Uint8Array, network: NetworkParams): string => encodeAddress("p2pkh-ecdsa-secp256k1", hash160(publicKey), network)

// ---- WIF -----------------------------------------------------------------------------------------

// dcrutil/wif.go: 2-byte network id, 1-byte signature type, 32-byte key, 4-byte checksum.
const WIF_BYTES = 2 + 1 + 32 + 4
const MAX_WIF_LENGTH = 54
/** dcrec.STEcdsaSecp256k1: the only kind a ticket's voting key is. */
const SIGNATURE_TYPE_ECDSA_SECP256K1 = 0

/**
 * Decodes a Decred WIF private key the way dcrutil's `DecodeWIF` does for `network` (its
 * `PrivateKeyID`; the checksum is the first 4 bytes of one BLAKE-256 of the rest), keeping only
 * secp256k1 ECDSA keys: a ticket's voting key (what `payfee` carries) is one. The 32 key bytes
 * are returned as given; secp256k1 reduces them modulo the group order as dcrd does, and a key
 * that is zero (or the order) is refused because it has no public key.
 */
export const decodeWif = (wif: string, network: NetworkParams): Result.Result<Uint8Array, KeyError> => {
  if (wif.length > MAX_WIF_LENGTH) return fail("malformed", `a private key (WIF) is at most ${MAX_WIF_LENGTH} characters, got ${wif.length}`)
  let raw: Uint8Array
  try {
    raw = base58.decode(wif)
  } catch {
    return fail("malformed", "the private key (WIF) is not base58")
  }
  if (raw.length !== WIF_BYTES) return fail("malformed", `a private key (WIF) decodes to ${WIF_BYTES} bytes, this one to ${raw.length}`)
  const body = raw.subarray(0, WIF_BYTES - 4)
  if (!bytesEqual(blake256Hash(body).subarray(0, 4), raw.subarray(WIF_BYTES - 4))) {
    return fail("bad-checksum", "the private key (WIF) has a bad checksum: a character is mistyped or missing")
  }
  if (!bytesEqual(body.subarray(0, 2), twoBytePrefix(network.addressPrefixes.privateKey))) {
    return fail("wrong-network", `the private key (WIF) is not a ${network.name} key: use the voting key of a ${network.name} ticket`)
  }
  if (body[2] !== SIGNATURE_TYPE_ECDSA_SECP256K1) {
    return fail("unsupported-type", `the private key (WIF) is of signature type ${body[2]}; a ticket's voting key is secp256k1 ECDSA (type 0)`)
  }
  const key = body.slice(3)
  if (bigEndian(key) % CURVE_ORDER === 0n) return fail("malformed", "the private key (WIF) is zero modulo the curve order and has no public key")
  return Result.succeed(key)
}

/** Encodes a 32-byte secp256k1 ECDSA private key as a WIF for `network` (dcrutil `WIF.String`). */
export const encodeWif = (privateKey: Uint8Array, network: NetworkParams): string => {
  if (privateKey.length !== 32) throw new RangeError(`a private key is 32 bytes, got ${privateKey.length}`)
  const body = new Uint8Array(WIF_BYTES - 4)
  body.set(twoBytePrefix(network.addressPrefixes.privateKey), 0)
  body[2] = SIGNATURE_TYPE_ECDSA_SECP256K1
  body.set(privateKey, 3)
  const raw = new Uint8Array(WIF_BYTES)
  raw.set(body, 0)
  raw.set(blake256Hash(body).subarray(0, 4), body.length)
  return base58.encode(raw)
}

// ---- extended public keys (dcrd hdkeychain) ------------------------------------------------------

/** An extended public key as dcrd's hdkeychain serializes it (never a private one here). */
export interface ExtendedPublicKey {
  readonly depth: number
  /** The first 4 bytes of Hash160 of the parent's public key; zeros for a master key. */
  readonly parentFingerprint: Uint8Array
  readonly childIndex: number
  readonly chainCode: Uint8Array
  /** The compressed secp256k1 public key (33 bytes). */
  readonly publicKey: Uint8Array
}

// version(4) depth(1) parent fingerprint(4) child number(4) chain code(32) key(33), then a 4-byte
// checksum: the first 4 bytes of BLAKE-256 twice.
const SERIALIZED_KEY_BYTES = 4 + 1 + 4 + 4 + 32 + 33
const MAX_EXTENDED_KEY_LENGTH = Math.floor(((SERIALIZED_KEY_BYTES + 4) * 137) / 100) + 1
/** Indexes from 2^31 on are hardened, which a public key cannot derive. */
export const HARDENED_KEY_START = 0x8000_0000

const doubleBlakeChecksum = (data: Uint8Array): Uint8Array => blake256Hash(blake256Hash(data)).subarray(0, 4)

const u32be = (n: number): Uint8Array => Uint8Array.of((n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff)

const pointOf = (publicKey: Uint8Array) => {
  try {
    return secp256k1.Point.fromBytes(publicKey)
  } catch {
    return undefined
  }
}

/**
 * Decodes an extended public key (`dpub...`, `tpub...`, `spub...`, `rpub...`) the way hdkeychain's
 * `NewKeyFromString` does for `network`, and refuses a private one as vspd does (a voting service
 * holds only the public key of its fee account).
 */
export const decodeExtendedPublicKey = (text: string, network: NetworkParams): Result.Result<ExtendedPublicKey, KeyError> => {
  if (text.length > MAX_EXTENDED_KEY_LENGTH) return fail("malformed", `an extended key is at most ${MAX_EXTENDED_KEY_LENGTH} characters, got ${text.length}`)
  let raw: Uint8Array
  try {
    raw = base58.decode(text)
  } catch {
    return fail("malformed", "the extended key is not base58")
  }
  if (raw.length !== SERIALIZED_KEY_BYTES + 4) return fail("malformed", `an extended key decodes to ${SERIALIZED_KEY_BYTES + 4} bytes, this one to ${raw.length}`)
  const payload = raw.subarray(0, SERIALIZED_KEY_BYTES)
  if (!bytesEqual(doubleBlakeChecksum(payload), raw.subarray(SERIALIZED_KEY_BYTES))) {
    return fail("bad-checksum", "the extended key has a bad checksum: a character is mistyped or missing")
  }
  const versionNumber = ((payload[0]! << 24) | (payload[1]! << 16) | (payload[2]! << 8) | payload[3]!) >>> 0
  if (versionNumber !== network.hdKeyIds.public && versionNumber !== network.hdKeyIds.private) {
    return fail("wrong-network", `the extended key is not a ${network.name} key: export the fee account's extended public key from a ${network.name} wallet`)
  }
  const key = payload.slice(45, 78)
  if (key[0] === 0x00 || versionNumber === network.hdKeyIds.private) {
    return fail("private-extended-key", "this is an extended private key: give the voting service only the fee account's extended public key (its xpub), never the private key")
  }
  if (pointOf(key) === undefined) return fail("bad-public-key", "the extended key's public key is not a point of secp256k1")
  return Result.succeed({
    depth: payload[4]!,
    parentFingerprint: payload.slice(5, 9),
    childIndex: ((payload[9]! << 24) | (payload[10]! << 16) | (payload[11]! << 8) | payload[12]!) >>> 0,
    chainCode: payload.slice(13, 45),
    publicKey: key,
  })
}

/** Serializes an extended public key for `network` (hdkeychain `ExtendedKey.String`). */
export const encodeExtendedPublicKey = (key: ExtendedPublicKey, network: NetworkParams): string => {
  const payload = new Uint8Array(SERIALIZED_KEY_BYTES)
  payload.set(u32be(network.hdKeyIds.public), 0)
  payload[4] = key.depth % 256
  payload.set(key.parentFingerprint, 5)
  payload.set(u32be(key.childIndex), 9)
  payload.set(key.chainCode, 13)
  payload.set(key.publicKey, 45)
  const raw = new Uint8Array(SERIALIZED_KEY_BYTES + 4)
  raw.set(payload, 0)
  raw.set(doubleBlakeChecksum(payload), SERIALIZED_KEY_BYTES)
  return base58.encode(raw)
}

/**
 * The non-hardened child `index` of an extended public key (BIP32 CKDpub, as hdkeychain's
 * `Child`): HMAC-SHA512 keyed by the chain code over the public key and the index; the left half
 * times G plus the parent key. When the left half is not below the curve order or is zero, or
 * the sum is the point at infinity, there is no such child (`invalid-child`): the caller skips
 * the index, as vspd does. Hardened indexes are refused.
 */
export const deriveChild = (parent: ExtendedPublicKey, index: number): Result.Result<ExtendedPublicKey, KeyError> => {
  if (!Number.isInteger(index) || index < 0 || index >= HARDENED_KEY_START) {
    return fail("invalid-child", `child index ${index} is not a non-hardened index (0 to ${HARDENED_KEY_START - 1}); a public key cannot derive hardened children`)
  }
  const data = new Uint8Array(37)
  data.set(parent.publicKey, 0)
  data.set(u32be(index), 33)
  const ilr = hmac(sha512, parent.chainCode, data)
  const il = bigEndian(ilr.subarray(0, 32))
  if (il === 0n || il >= CURVE_ORDER) return fail("invalid-child", `child ${index} does not exist for this key (its tweak is out of range); use the next index`)
  const parentPoint = pointOf(parent.publicKey)
  if (parentPoint === undefined) return fail("bad-public-key", "the parent's public key is not a point of secp256k1")
  const child = secp256k1.Point.BASE.multiply(il).add(parentPoint)
  if (child.is0()) return fail("invalid-child", `child ${index} is the point at infinity; use the next index`)
  return Result.succeed({
    depth: parent.depth + 1,
    parentFingerprint: hash160(parent.publicKey).slice(0, 4),
    childIndex: index,
    chainCode: ilr.slice(32),
    publicKey: child.toBytes(true),
  })
}

/**
 * The fee address at `index` of a voting service's fee extended public key, as vspd derives it:
 * the external branch (child 0 of the key), then child `index` of that, as a P2PKH address.
 * vspd hands out lastUsed + 1, and skips an index that has no child (`invalid-child` here; vspd
 * gives up after three in a row).
 */
export const feeAddress = (xpub: string, index: number, network: NetworkParams): Result.Result<string, KeyError> =>
  Result.flatMap(decodeExtendedPublicKey(xpub, network), (key) =>
    Result.flatMap(deriveChild(key, 0), (external) => Result.map(deriveChild(external, index), (child) => p2pkhAddressOf(child.publicKey, network))),
  )

/** How many indexes in a row without a child vspd skips before it gives up (more means a broken key). */
const MAX_INVALID_CHILDREN = 3

/**
 * The next fee address after `lastUsedIndex`, as vspd's address generator hands them out: index
 * lastUsed + 1, skipping an index that has no child, giving up on the third in a row. A new key
 * starts with lastUsed 0, so index 0 is never handed out. Store the returned index as the new
 * lastUsed only once the address is stored with its ticket.
 */
export const nextFeeAddress = (xpub: string, lastUsedIndex: number, network: NetworkParams): Result.Result<{ readonly address: string; readonly index: number }, KeyError> =>
  Result.flatMap(decodeExtendedPublicKey(xpub, network), (key) =>
    Result.flatMap(deriveChild(key, 0), (external) => {
      for (let index = lastUsedIndex + 1, invalid = 0; ; index++) {
        const child = deriveChild(external, index)
        if (Result.isSuccess(child)) return Result.succeed({ address: p2pkhAddressOf(child.success.publicKey, network), index })
        if (child.failure.problem !== "invalid-child" || index >= HARDENED_KEY_START - 1 || ++invalid >= MAX_INVALID_CHILDREN) return Result.fail(child.failure)
      }
    }),
  )

/** Decodes a 32-byte secp256k1 private key from big-endian bytes modulo the order (dcrd's `PrivKeyFromBytes`), for signing. */
export const reducedPrivateKey = (privateKey: Uint8Array): Uint8Array => scalarBytes(bigEndian(privateKey) % CURVE_ORDER)
