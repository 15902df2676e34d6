import type { PowHashAlgorithm } from "../core/chain/hash.ts"
import { HEADER_BYTES } from "../core/chain/header.ts"
import type { HeaderHasher } from "../core/chain/powhasher.ts"

/**
 * The emulated miner's proof-of-work hash, for grinding nonces: the same function as the pool's
 * (`core/chain/powhasher.ts`, the library's BLAKE-256 and BLAKE3), written for the one input a
 * miner hashes over and over, a 180-byte header whose first 128 bytes are fixed per job. Those two
 * 64-byte blocks are absorbed once (the midstate); each nonce then costs one compression of the
 * last 52 bytes, with no state copy, buffering or output stage around it. The pool checks every
 * share with its own hasher, so a share this got wrong would be refused, and
 * `header-grinder.test.ts` compares the two on random headers.
 *
 * Why a second implementation: a simnet share costs ~100 real hashes at the scenarios' scale,
 * and the grind was the largest cost of a property seed that is not the pool's own work.
 */
export const makeGrindHasher = (algorithm: PowHashAlgorithm, prefixSource: Uint8Array): HeaderHasher => {
  if (prefixSource.length < 128) throw new RangeError("a grind hasher needs the first 128 header bytes")
  return algorithm === "blake3" ? blake3Grinder(prefixSource) : blake256Grinder(prefixSource)
}

const IV = Uint32Array.of(0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19)

const checkLength = (header: Uint8Array) => {
  if (header.length !== HEADER_BYTES) throw new RangeError(`expected a ${HEADER_BYTES}-byte header, got ${header.length}`)
}

// ---- BLAKE3: one chunk of three blocks (64, 64, 52 bytes); the last one is the root ------------

const B3_CHUNK_START = 1
const B3_CHUNK_END = 2
const B3_ROOT = 8
/** Which message word each of a round's 16 slots reads, for the 7 rounds (the spec's permutation applied round after round). */
const B3_SCHEDULE: ReadonlyArray<Uint8Array> = (() => {
  const permutation = [2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8]
  const rounds: Array<Uint8Array> = []
  let order = Array.from({ length: 16 }, (_, i) => i)
  for (let r = 0; r < 7; r++) {
    rounds.push(Uint8Array.from(order))
    order = permutation.map((p) => order[p]!)
  }
  return rounds
})()

/** BLAKE3's compression of `m` into chaining value `cv` (8 words), writing the first 8 output words to `out`. */
const blake3Compress = (cv: Uint32Array, m: Uint32Array, blockLength: number, flags: number, v: Uint32Array, out: Uint32Array): void => {
  for (let i = 0; i < 8; i++) v[i] = cv[i]!
  v[8] = IV[0]!
  v[9] = IV[1]!
  v[10] = IV[2]!
  v[11] = IV[3]!
  v[12] = 0 // chunk counter, low and high: the header is chunk 0
  v[13] = 0
  v[14] = blockLength
  v[15] = flags
  for (let r = 0; r < 7; r++) {
    const s = B3_SCHEDULE[r]!
    g3(v, 0, 4, 8, 12, m[s[0]!]!, m[s[1]!]!)
    g3(v, 1, 5, 9, 13, m[s[2]!]!, m[s[3]!]!)
    g3(v, 2, 6, 10, 14, m[s[4]!]!, m[s[5]!]!)
    g3(v, 3, 7, 11, 15, m[s[6]!]!, m[s[7]!]!)
    g3(v, 0, 5, 10, 15, m[s[8]!]!, m[s[9]!]!)
    g3(v, 1, 6, 11, 12, m[s[10]!]!, m[s[11]!]!)
    g3(v, 2, 7, 8, 13, m[s[12]!]!, m[s[13]!]!)
    g3(v, 3, 4, 9, 14, m[s[14]!]!, m[s[15]!]!)
  }
  for (let i = 0; i < 8; i++) out[i] = v[i]! ^ v[i + 8]!
}

const g3 = (v: Uint32Array, a: number, b: number, c: number, d: number, x: number, y: number): void => {
  let va = v[a]!
  let vb = v[b]!
  let vc = v[c]!
  let vd = v[d]!
  va = (va + vb + x) | 0
  vd = rotr(vd ^ va, 16)
  vc = (vc + vd) | 0
  vb = rotr(vb ^ vc, 12)
  va = (va + vb + y) | 0
  vd = rotr(vd ^ va, 8)
  vc = (vc + vd) | 0
  vb = rotr(vb ^ vc, 7)
  v[a] = va
  v[b] = vb
  v[c] = vc
  v[d] = vd
}

const rotr = (x: number, n: number): number => (x >>> n) | (x << (32 - n))

const wordsLE = (bytes: Uint8Array, offset: number, length: number, into: Uint32Array): void => {
  into.fill(0)
  for (let i = 0; i < length; i++) into[i >> 2]! |= bytes[offset + i]! << (8 * (i & 3))
}

const blake3Grinder = (prefix: Uint8Array): HeaderHasher => {
  const m = new Uint32Array(16)
  const v = new Uint32Array(16)
  const midstate = new Uint32Array(8)
  wordsLE(prefix, 0, 64, m)
  blake3Compress(IV, m, 64, B3_CHUNK_START, v, midstate)
  wordsLE(prefix, 64, 64, m)
  blake3Compress(midstate, m, 64, 0, v, midstate)
  const out = new Uint32Array(8)
  return {
    algorithm: "blake3",
    hash: (header) => {
      checkLength(header)
      wordsLE(header, 128, 52, m)
      blake3Compress(midstate, m, 52, B3_CHUNK_END | B3_ROOT, v, out)
      const hash = new Uint8Array(32)
      for (let i = 0; i < 32; i++) hash[i] = out[i >> 2]! >>> (8 * (i & 3))
      return hash
    },
  }
}

// ---- BLAKE-256 (14 rounds): three blocks, the last one the 52 bytes and the padding ------------

/** The first digits of pi, BLAKE-256's round constants. */
const B256_C = Uint32Array.of(
  0x243f6a88,
  0x85a308d3,
  0x13198a2e,
  0x03707344,
  0xa4093822,
  0x299f31d0,
  0x082efa98,
  0xec4e6c89,
  0x452821e6,
  0x38d01377,
  0xbe5466cf,
  0x34e90c6c,
  0xc0ac29b7,
  0xc97c50dd,
  0x3f84d5b5,
  0xb5470917,
)

/** The ten message permutations; rounds 10 to 13 reuse the first four. */
const B256_SIGMA: ReadonlyArray<Uint8Array> = [
  [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
  [14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3],
  [11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4],
  [7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8],
  [9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13],
  [2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9],
  [12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11],
  [13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10],
  [6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5],
  [10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0],
].map((s) => Uint8Array.from(s))

/** BLAKE-256's compression of block `m` (big-endian words) into `h` in place, `bits` the message bits counted so far. */
const blake256Compress = (h: Uint32Array, m: Uint32Array, bits: number, v: Uint32Array): void => {
  for (let i = 0; i < 8; i++) v[i] = h[i]!
  for (let i = 0; i < 4; i++) v[8 + i] = B256_C[i]! // a zero salt
  v[12] = bits ^ B256_C[4]!
  v[13] = bits ^ B256_C[5]!
  v[14] = B256_C[6]! // the counter's high word is 0 for a header
  v[15] = B256_C[7]!
  for (let r = 0; r < 14; r++) {
    const s = B256_SIGMA[r % 10]!
    g256(v, m, s, 0, 0, 4, 8, 12)
    g256(v, m, s, 1, 1, 5, 9, 13)
    g256(v, m, s, 2, 2, 6, 10, 14)
    g256(v, m, s, 3, 3, 7, 11, 15)
    g256(v, m, s, 4, 0, 5, 10, 15)
    g256(v, m, s, 5, 1, 6, 11, 12)
    g256(v, m, s, 6, 2, 7, 8, 13)
    g256(v, m, s, 7, 3, 4, 9, 14)
  }
  for (let i = 0; i < 8; i++) h[i] = h[i]! ^ v[i]! ^ v[i + 8]!
}

const g256 = (v: Uint32Array, m: Uint32Array, s: Uint8Array, i: number, a: number, b: number, c: number, d: number): void => {
  const x = s[2 * i]!
  const y = s[2 * i + 1]!
  let va = v[a]!
  let vb = v[b]!
  let vc = v[c]!
  let vd = v[d]!
  va = (va + vb + (m[x]! ^ B256_C[y]!)) | 0
  vd = rotr(vd ^ va, 16)
  vc = (vc + vd) | 0
  vb = rotr(vb ^ vc, 12)
  va = (va + vb + (m[y]! ^ B256_C[x]!)) | 0
  vd = rotr(vd ^ va, 8)
  vc = (vc + vd) | 0
  vb = rotr(vb ^ vc, 7)
  v[a] = va
  v[b] = vb
  v[c] = vc
  v[d] = vd
}

const wordsBE = (bytes: Uint8Array, offset: number, length: number, into: Uint32Array): void => {
  into.fill(0)
  for (let i = 0; i < length; i++) into[i >> 2]! |= bytes[offset + i]! << (8 * (3 - (i & 3)))
}

const blake256Grinder = (prefix: Uint8Array): HeaderHasher => {
  const m = new Uint32Array(16)
  const v = new Uint32Array(16)
  const midstate = Uint32Array.from(IV)
  wordsBE(prefix, 0, 64, m)
  blake256Compress(midstate, m, 512, v)
  wordsBE(prefix, 64, 64, m)
  blake256Compress(midstate, m, 1024, v)
  const h = new Uint32Array(8)
  return {
    algorithm: "blake256",
    hash: (header) => {
      checkLength(header)
      // The last 52 bytes, then the padding: a 1 bit, zeros, a 1 bit ending byte 55, and the
      // message length in bits (1440) in the last 8 bytes.
      wordsBE(header, 128, 52, m)
      m[13]! |= 0x80000000
      m[13]! |= 0x01
      m[15] = HEADER_BYTES * 8
      h.set(midstate)
      blake256Compress(h, m, HEADER_BYTES * 8, v)
      const hash = new Uint8Array(32)
      for (let i = 0; i < 32; i++) hash[i] = h[i >> 2]! >>> (8 * (3 - (i & 3)))
      return hash
    },
  }
}
