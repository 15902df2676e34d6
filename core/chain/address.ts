import { base58 } from "@scure/base"
import { Result } from "effect"
import { bytesEqual } from "./bytes.ts"
import { ed25519Point, secp256k1Point } from "./curve-points.ts"
import { AddressError, type AddressProblem } from "./errors.ts"
import { blake256Hash } from "./hash.ts"
import { NETWORKS, type AddressPrefixes, type NetworkName, type NetworkParams } from "./params.ts"

/** The standard version-0 address kinds (dcrd `txscript/stdaddr`). */
export type AddressKind = "p2pkh-ecdsa-secp256k1" | "p2pkh-ed25519" | "p2pkh-schnorr-secp256k1" | "p2sh" | "p2pk-ecdsa-secp256k1" | "p2pk-ed25519" | "p2pk-schnorr-secp256k1"

export interface DecodedAddress {
  readonly address: string
  readonly network: NetworkName
  readonly kind: AddressKind
  /** The 20-byte hash160 for the hash kinds; for p2pk, a signature-type byte and the 32-byte key. */
  readonly payload: Uint8Array
}

/** dcrd's bound on a version-0 address string: ceil((33 + 2 + 4) * log58(256)). */
export const MAX_ADDRESS_LENGTH = 54

type PrefixKind = Exclude<AddressKind, `p2pk-${string}`> | "p2pk" | "private-key"

const KIND_BY_PREFIX_FIELD: ReadonlyArray<readonly [keyof AddressPrefixes, PrefixKind]> = [
  ["pubKeyHash", "p2pkh-ecdsa-secp256k1"],
  ["pubKeyHashEd25519", "p2pkh-ed25519"],
  ["pubKeyHashSchnorr", "p2pkh-schnorr-secp256k1"],
  ["scriptHash", "p2sh"],
  ["pubKey", "p2pk"],
  ["privateKey", "private-key"],
]

const lookupPrefix = (prefix: number): { readonly network: NetworkName; readonly kind: PrefixKind } | undefined => {
  for (const params of Object.values(NETWORKS)) {
    for (const [field, kind] of KIND_BY_PREFIX_FIELD) {
      if (params.addressPrefixes[field] === prefix) return { network: params.name, kind }
    }
  }
  return undefined
}

const checksum = (data: Uint8Array): Uint8Array => blake256Hash(blake256Hash(data)).subarray(0, 4)

const fail = (address: string, problem: AddressProblem, message: string) => Result.fail(new AddressError({ address, problem, message }))

// A p2pk payload is a type byte and a 32-byte key. The type byte holds the signature type
// (0 ECDSA secp256k1, 1 Ed25519, 2 Schnorr secp256k1) and, for secp256k1, the Y-oddness
// of the point in its top bit, the X coordinate being the 32 bytes that follow. dcrd masks
// the top bit off before it reads the type, for Ed25519 too (where the bit means nothing), so
// 0x81 is an Ed25519 key as 0x01 is; a wallet writes 0x01.
const SIG_TYPE_ODD_FLAG = 0x80
const p2pkKind = (typeByte: number): AddressKind | undefined => {
  const sigType = typeByte & ~SIG_TYPE_ODD_FLAG
  return sigType === 0 ? "p2pk-ecdsa-secp256k1" : sigType === 1 ? "p2pk-ed25519" : sigType === 2 ? "p2pk-schnorr-secp256k1" : undefined
}

/**
 * Why the key a p2pk payload carries is no point of its curve (dcrd's `ParsePubKey` for the
 * curve), or undefined when it is one. Such a key can never sign: dcrd and dcrwallet refuse the
 * address, so a pool that took it would credit work it can never pay.
 */
const p2pkKeyProblem = (kind: AddressKind, payload: Uint8Array): string | undefined => {
  const key = payload.subarray(1)
  const point = kind === "p2pk-ed25519" ? ed25519Point(key) : secp256k1Point(key, (payload[0]! & SIG_TYPE_ODD_FLAG) !== 0)
  return Result.isFailure(point) ? point.failure : undefined
}

/**
 * Decodes a Decred address and checks that it belongs to `params`' network, by dcrd's rules
 * (`stdaddr.DecodeAddressV0`), public keys included: a pay-to-pubkey address must carry a point
 * of its curve. Errors say what is wrong: not base58, bad checksum, a length that no address
 * has, a prefix no network uses, another network's address, a private key pasted by mistake, or
 * a public key that is no point.
 */
export const decodeAddress = (address: string, params: NetworkParams): Result.Result<DecodedAddress, AddressError> => {
  if (address.length === 0) return fail(address, "empty", "the address is empty")
  if (address.length > MAX_ADDRESS_LENGTH) {
    return fail(address, "too-long", `an address is at most ${MAX_ADDRESS_LENGTH} characters, got ${address.length}`)
  }
  let raw: Uint8Array
  try {
    raw = base58.decode(address)
  } catch {
    return fail(address, "not-base58", `"${address}" is not base58 (it may contain 0, O, I or l)`)
  }
  if (raw.length < 2 + 4 + 1) {
    return fail(address, "bad-length", `"${address}" decodes to ${raw.length} bytes, too short for any address`)
  }
  const body = raw.subarray(0, raw.length - 4)
  if (!bytesEqual(checksum(body), raw.subarray(raw.length - 4))) {
    return fail(address, "bad-checksum", `"${address}" has a bad checksum: a character is mistyped or missing`)
  }
  const prefix = (body[0]! << 8) | body[1]!
  const payload = body.slice(2)
  const found = lookupPrefix(prefix)
  if (found === undefined) {
    return fail(address, "unknown-prefix", `"${address}" has prefix 0x${prefix.toString(16).padStart(4, "0")}, which no Decred network uses`)
  }
  if (found.kind === "private-key") {
    return fail(address, "unknown-prefix", `"${address}" is a ${found.network} private key, not an address: never paste a private key; use an address`)
  }
  if (found.network !== params.name) {
    return fail(address, "wrong-network", `"${address}" is a ${found.network} address, but this is ${params.name}: use a ${params.name} address`)
  }
  const expected = found.kind === "p2pk" ? 33 : 20
  if (payload.length !== expected) {
    return fail(address, "bad-length", `"${address}" carries ${payload.length} bytes where a ${found.kind} address carries ${expected}`)
  }
  const kind = found.kind === "p2pk" ? p2pkKind(payload[0]!) : found.kind
  if (kind === undefined) {
    return fail(address, "bad-public-key", `"${address}" holds a public key of unknown type 0x${payload[0]!.toString(16).padStart(2, "0")}`)
  }
  if (kind.startsWith("p2pk-")) {
    const problem = p2pkKeyProblem(kind, payload)
    if (problem !== undefined) {
      const curve = kind === "p2pk-ed25519" ? "Ed25519" : "secp256k1"
      return fail(
        address,
        "bad-public-key",
        `"${address}" holds a ${curve} public key that is not a point of the curve (${problem}), so nothing could ever spend what it is paid and Decred wallets refuse it; use an address your wallet gave you`,
      )
    }
  }
  return Result.succeed({ address, network: found.network, kind, payload })
}

/** Encodes an address of `kind` for `params`' network (for tests, emulators and wallets' fixtures). */
export const encodeAddress = (kind: AddressKind, payload: Uint8Array, params: NetworkParams): string => {
  const isP2pk = kind.startsWith("p2pk-")
  const field = KIND_BY_PREFIX_FIELD.find(([, k]) => k === (isP2pk ? "p2pk" : kind))![0]
  const expected = isP2pk ? 33 : 20
  if (payload.length !== expected) throw new RangeError(`${kind} payload must be ${expected} bytes, got ${payload.length}`)
  const prefix = params.addressPrefixes[field]
  const body = new Uint8Array(2 + payload.length)
  body[0] = prefix >> 8
  body[1] = prefix & 0xff
  body.set(payload, 2)
  const raw = new Uint8Array(body.length + 4)
  raw.set(body, 0)
  raw.set(checksum(body), body.length)
  return base58.encode(raw)
}
