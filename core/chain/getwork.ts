import { Result } from "effect"
import { bytesEqual, fromHex, toHex } from "./bytes.ts"
import { GetworkDecodeError } from "./errors.ts"
import { type BlockHeader, decodeHeader, HEADER_BYTES } from "./header.ts"
import type { PowHashAlgorithm } from "./hash.ts"

/** getwork `data`: the 180-byte header padded to 192 bytes (384 hex digits). */
export const GETWORK_DATA_BYTES = 192

/**
 * BLAKE-256's own message padding for a 1440-bit message: 0x80, zeros, a final
 * 0x01 bit, then the big-endian bit length. dcrd sent it so that BLAKE-256 ASICs
 * could hash only the final 64-byte chunk from a midstate of the first 128 bytes.
 */
const BLAKE256_PADDING = Uint8Array.from([0x80, 0, 0, 0x01, 0, 0, 0, 0, 0, 0, 0x05, 0xa0])

/** BLAKE3 needs no pre-padding; dcrd sends twelve zero bytes to keep the 192-byte size. */
const BLAKE3_PADDING = new Uint8Array(GETWORK_DATA_BYTES - HEADER_BYTES)

const paddingFor = (algorithm: PowHashAlgorithm): Uint8Array => (algorithm === "blake3" ? BLAKE3_PADDING : BLAKE256_PADDING)

interface GetworkData {
  /** The 180 header bytes as sent (a copy). */
  readonly headerBytes: Uint8Array
  readonly header: BlockHeader
  /** Which PoW hash the padding was made for. */
  readonly padding: PowHashAlgorithm
}

/** Builds getwork `data` from a serialized header and the padding of the PoW era. */
export const encodeGetworkData = (headerBytes: Uint8Array, padding: PowHashAlgorithm): Uint8Array => {
  if (headerBytes.length !== HEADER_BYTES) {
    throw new RangeError(`getwork data needs a ${HEADER_BYTES}-byte header, got ${headerBytes.length}`)
  }
  const out = new Uint8Array(GETWORK_DATA_BYTES)
  out.set(headerBytes, 0)
  out.set(paddingFor(padding), HEADER_BYTES)
  return out
}

export const encodeGetworkDataHex = (headerBytes: Uint8Array, padding: PowHashAlgorithm): string => toHex(encodeGetworkData(headerBytes, padding))

/** Which era a 12-byte padding belongs to, if either. */
export const detectPadding = (padding: Uint8Array): PowHashAlgorithm | undefined => (bytesEqual(padding, BLAKE3_PADDING) ? "blake3" : bytesEqual(padding, BLAKE256_PADDING) ? "blake256" : undefined)

/** Decodes getwork `data` bytes; the padding must be one of the two known ones. */
export const decodeGetworkData = (data: Uint8Array): Result.Result<GetworkData, GetworkDecodeError> => {
  if (data.length !== GETWORK_DATA_BYTES) {
    return Result.fail(
      new GetworkDecodeError({
        message: `getwork data must be ${GETWORK_DATA_BYTES} bytes (${GETWORK_DATA_BYTES * 2} hex digits), got ${data.length} bytes`,
      }),
    )
  }
  const padding = detectPadding(data.subarray(HEADER_BYTES))
  if (padding === undefined) {
    return Result.fail(
      new GetworkDecodeError({
        message: `getwork data padding ${toHex(data.subarray(HEADER_BYTES))} is neither BLAKE-256 (8000000100000000000005a0) nor BLAKE3 (zeros)`,
      }),
    )
  }
  const headerBytes = data.slice(0, HEADER_BYTES)
  return Result.map(
    Result.mapError(decodeHeader(headerBytes), (e) => new GetworkDecodeError({ message: e.message })),
    (header) => ({ headerBytes, header, padding }),
  )
}

export const decodeGetworkDataHex = (hex: string): Result.Result<GetworkData, GetworkDecodeError> =>
  Result.flatMap(
    Result.mapError(fromHex(hex, "getwork data", GETWORK_DATA_BYTES), (e) => new GetworkDecodeError({ message: e.message })),
    decodeGetworkData,
  )
