import { blake256, type _BLAKE256 } from "@noble/hashes/blake1.js"
import { blake3, type _BLAKE3 } from "@noble/hashes/blake3.js"
import type { PowHashAlgorithm } from "./hash.ts"
import { HEADER_BYTES } from "./header.ts"

/**
 * Bytes 0..128 of a header (version through stake difficulty) are the same for every
 * share of a job: both BLAKE-256 and BLAKE3 absorb them as two 64-byte blocks before
 * anything a miner can change (timestamp 136, nonce 140, extra nonces 144..). Absorbing
 * them once per job and copying that state per share is what a BLAKE-256 ASIC's
 * midstate does; the library's own state copy keeps the hash itself the library's.
 */
const MIDSTATE_PREFIX_BYTES = 128

export interface HeaderHasher {
  readonly algorithm: PowHashAlgorithm
  /**
   * The PoW hash of a 180-byte header whose first 128 bytes equal the prefix this
   * hasher was made with; only bytes 128..180 of `header` are read.
   */
  readonly hash: (header: Uint8Array) => Uint8Array
}

export const makeHeaderHasher = (algorithm: PowHashAlgorithm, prefixSource: Uint8Array): HeaderHasher => {
  if (prefixSource.length < MIDSTATE_PREFIX_BYTES) {
    throw new RangeError(`a header hasher needs the first ${MIDSTATE_PREFIX_BYTES} header bytes`)
  }
  const prefix = prefixSource.subarray(0, MIDSTATE_PREFIX_BYTES)
  const midstate: _BLAKE256 | _BLAKE3 = algorithm === "blake3" ? blake3.create({}) : blake256.create({})
  midstate.update(prefix)
  // One working copy, overwritten from the midstate on every call: no allocation but the output.
  const work = midstate.clone()
  return {
    algorithm,
    hash: (header) => {
      if (header.length !== HEADER_BYTES)
        throw new RangeError(`expected a ${HEADER_BYTES}-byte header, got ${header.length}`)
        // The two objects are of the same class; the union only hides that from the checker.
      ;(midstate as _BLAKE256)._cloneInto(work as _BLAKE256)
      work.update(header.subarray(MIDSTATE_PREFIX_BYTES))
      const out = new Uint8Array(32)
      work.digestInto(out)
      return out
    },
  }
}
