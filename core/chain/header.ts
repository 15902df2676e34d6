import { Result } from "effect"
import { fromHex } from "./bytes.ts"
import { HeaderDecodeError } from "./errors.ts"
import { blake256Hash, hashToDisplay, powHashWith, type PowHashAlgorithm } from "./hash.ts"

export const HEADER_BYTES = 180

/**
 * Byte offsets of the serialized header (all integers little-endian). The
 * stratum layer slices notify fields and splices submits at these offsets.
 * DCP-0011 treats nonce..extraData (140..176) as one 36-byte nonce space.
 */
export const HeaderOffset = {
  version: 0,
  prevBlock: 4,
  merkleRoot: 36,
  stakeRoot: 68,
  voteBits: 100,
  finalState: 102,
  voters: 108,
  freshStake: 110,
  revocations: 111,
  poolSize: 112,
  bits: 116,
  sbits: 120,
  height: 128,
  size: 132,
  timestamp: 136,
  nonce: 140,
  extraData: 144,
  stakeVersion: 176,
} as const

/** A Decred block header. Hash fields hold the 32 stored (internal-order) bytes. */
export interface BlockHeader {
  readonly version: number
  readonly prevBlock: Uint8Array
  readonly merkleRoot: Uint8Array
  readonly stakeRoot: Uint8Array
  readonly voteBits: number
  readonly finalState: Uint8Array
  readonly voters: number
  readonly freshStake: number
  readonly revocations: number
  readonly poolSize: number
  readonly bits: number
  /** Ticket price in atoms (int64 on the wire). */
  readonly sbits: bigint
  readonly height: number
  readonly size: number
  /** Unix seconds. */
  readonly timestamp: number
  readonly nonce: number
  readonly extraData: Uint8Array
  readonly stakeVersion: number
}

const checkUint = (name: string, value: number, bits: 8 | 16 | 32): void => {
  if (!Number.isInteger(value) || value < 0 || value > 2 ** bits - 1) {
    throw new RangeError(`header ${name} must be an unsigned ${bits}-bit integer, got ${value}`)
  }
}

const checkBytes = (name: string, value: Uint8Array, length: number): void => {
  if (value.length !== length) throw new RangeError(`header ${name} must be ${length} bytes, got ${value.length}`)
}

/**
 * Serializes a header into its 180 consensus bytes. Out-of-range fields are a
 * programming error here (decoded input goes through `decodeHeader`), so they throw.
 */
export const encodeHeader = (h: BlockHeader): Uint8Array => {
  if (!Number.isInteger(h.version) || h.version < -(2 ** 31) || h.version > 2 ** 31 - 1) {
    throw new RangeError(`header version must be a signed 32-bit integer, got ${h.version}`)
  }
  checkBytes("prevBlock", h.prevBlock, 32)
  checkBytes("merkleRoot", h.merkleRoot, 32)
  checkBytes("stakeRoot", h.stakeRoot, 32)
  checkUint("voteBits", h.voteBits, 16)
  checkBytes("finalState", h.finalState, 6)
  checkUint("voters", h.voters, 16)
  checkUint("freshStake", h.freshStake, 8)
  checkUint("revocations", h.revocations, 8)
  checkUint("poolSize", h.poolSize, 32)
  checkUint("bits", h.bits, 32)
  if (h.sbits < -(1n << 63n) || h.sbits >= 1n << 63n) throw new RangeError(`header sbits must fit int64, got ${h.sbits}`)
  checkUint("height", h.height, 32)
  checkUint("size", h.size, 32)
  checkUint("timestamp", h.timestamp, 32)
  checkUint("nonce", h.nonce, 32)
  checkBytes("extraData", h.extraData, 32)
  checkUint("stakeVersion", h.stakeVersion, 32)

  const out = new Uint8Array(HEADER_BYTES)
  const view = new DataView(out.buffer)
  view.setInt32(HeaderOffset.version, h.version, true)
  out.set(h.prevBlock, HeaderOffset.prevBlock)
  out.set(h.merkleRoot, HeaderOffset.merkleRoot)
  out.set(h.stakeRoot, HeaderOffset.stakeRoot)
  view.setUint16(HeaderOffset.voteBits, h.voteBits, true)
  out.set(h.finalState, HeaderOffset.finalState)
  view.setUint16(HeaderOffset.voters, h.voters, true)
  out[HeaderOffset.freshStake] = h.freshStake
  out[HeaderOffset.revocations] = h.revocations
  view.setUint32(HeaderOffset.poolSize, h.poolSize, true)
  view.setUint32(HeaderOffset.bits, h.bits, true)
  view.setBigInt64(HeaderOffset.sbits, h.sbits, true)
  view.setUint32(HeaderOffset.height, h.height, true)
  view.setUint32(HeaderOffset.size, h.size, true)
  view.setUint32(HeaderOffset.timestamp, h.timestamp, true)
  view.setUint32(HeaderOffset.nonce, h.nonce, true)
  out.set(h.extraData, HeaderOffset.extraData)
  view.setUint32(HeaderOffset.stakeVersion, h.stakeVersion, true)
  return out
}

/** Decodes the first 180 bytes; anything but exactly 180 bytes is refused. */
export const decodeHeader = (bytes: Uint8Array): Result.Result<BlockHeader, HeaderDecodeError> => {
  if (bytes.length !== HEADER_BYTES) {
    return Result.fail(new HeaderDecodeError({ message: `a block header is ${HEADER_BYTES} bytes, got ${bytes.length}` }))
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const slice = (at: number, length: number) => bytes.slice(at, at + length)
  return Result.succeed({
    version: view.getInt32(HeaderOffset.version, true),
    prevBlock: slice(HeaderOffset.prevBlock, 32),
    merkleRoot: slice(HeaderOffset.merkleRoot, 32),
    stakeRoot: slice(HeaderOffset.stakeRoot, 32),
    voteBits: view.getUint16(HeaderOffset.voteBits, true),
    finalState: slice(HeaderOffset.finalState, 6),
    voters: view.getUint16(HeaderOffset.voters, true),
    freshStake: bytes[HeaderOffset.freshStake]!,
    revocations: bytes[HeaderOffset.revocations]!,
    poolSize: view.getUint32(HeaderOffset.poolSize, true),
    bits: view.getUint32(HeaderOffset.bits, true),
    sbits: view.getBigInt64(HeaderOffset.sbits, true),
    height: view.getUint32(HeaderOffset.height, true),
    size: view.getUint32(HeaderOffset.size, true),
    timestamp: view.getUint32(HeaderOffset.timestamp, true),
    nonce: view.getUint32(HeaderOffset.nonce, true),
    extraData: slice(HeaderOffset.extraData, 32),
    stakeVersion: view.getUint32(HeaderOffset.stakeVersion, true),
  })
}

export const decodeHeaderHex = (hex: string): Result.Result<BlockHeader, HeaderDecodeError> =>
  Result.flatMap(
    Result.mapError(fromHex(hex, "block header", HEADER_BYTES), (e) => new HeaderDecodeError({ message: e.message })),
    decodeHeader,
  )

/** The block's identity: BLAKE-256 (14 rounds) of the 180 bytes, whatever the PoW era. */
export const blockHash = (headerBytes: Uint8Array): Uint8Array => blake256Hash(headerBytes)

export const blockHashDisplay = (headerBytes: Uint8Array): string => hashToDisplay(blake256Hash(headerBytes))

/** The proof-of-work hash: BLAKE3 under DCP-0011, BLAKE-256 before (then equal to the block hash). */
export const powHash = (headerBytes: Uint8Array, algorithm: PowHashAlgorithm): Uint8Array => powHashWith(algorithm, headerBytes)
