import { blake256Hash } from "../chain/hash.ts"

/** The constant dcrd appends to a seed to form the PRNG's initialization vector (first digits of pi). */
const SEED_CONSTANT = Uint8Array.from([0x24, 0x3f, 0x6a, 0x88, 0x85, 0xa3, 0x08, 0xd3])

/** IV = BLAKE-256(seed ‖ 0x243F6A8885A308D3); for the lottery the seed is the 180-byte header. */
export const prngIV = (seed: Uint8Array): Uint8Array => {
  const buf = new Uint8Array(seed.length + SEED_CONSTANT.length)
  buf.set(seed, 0)
  buf.set(SEED_CONSTANT, seed.length)
  return blake256Hash(buf)
}

const TWO_32 = 0x1_0000_0000

/**
 * dcrd's deterministic PRNG (`stake.Hash256PRNG`): big-endian 32-bit words read from
 * the IV, then from BLAKE-256(IV ‖ BE32(i)) for i = 0, 1, ..., eight words per hash.
 * Used for the ticket lottery and for spreading revocation remainders.
 */
export class Hash256PRNG {
  private seed: Uint8Array
  private lastHash: Uint8Array
  private hashIdx = 0
  private idx = 0
  private readonly indexBuf = new Uint8Array(36)

  constructor(iv: Uint8Array) {
    if (iv.length !== 32) throw new RangeError(`a PRNG IV is 32 bytes, got ${iv.length}`)
    this.seed = iv.slice()
    this.lastHash = this.seed
    this.indexBuf.set(this.seed, 0)
  }

  /** A PRNG seeded with arbitrary bytes (dcrd `NewHash256PRNG`). */
  static fromSeed(seed: Uint8Array): Hash256PRNG {
    return new Hash256PRNG(prngIV(seed))
  }

  next32(): number {
    const at = this.hashIdx * 4
    const h = this.lastHash
    const r = ((h[at]! << 24) | (h[at + 1]! << 16) | (h[at + 2]! << 8) | h[at + 3]!) >>> 0
    this.hashIdx++
    if (this.hashIdx > 7) {
      new DataView(this.indexBuf.buffer).setUint32(32, this.idx, false)
      this.lastHash = blake256Hash(this.indexBuf)
      this.idx++
      this.hashIdx = 0
    }
    if (this.idx > 0xffffffff) {
      // Unreachable in practice (2^35 draws); kept so the sequence matches dcrd's definition.
      this.seed = blake256Hash(this.seed)
      this.indexBuf.set(this.seed, 0)
      this.lastHash = this.seed
      this.idx = 0
    }
    return r
  }

  /** Uniform in [0, upperBound) by rejection of the 2^32 mod n lowest draws. */
  uniform(upperBound: number): number {
    if (upperBound < 2) return 0
    const min = TWO_32 % upperBound
    for (;;) {
      const r = this.next32()
      if (r >= min) return r % upperBound
    }
  }

  /** BLAKE-256(lastHash ‖ BE32(idx) ‖ byte(hashIdx)): the PRNG's position, committed in FinalState. */
  stateHash(): Uint8Array {
    const buf = new Uint8Array(37)
    buf.set(this.lastHash, 0)
    new DataView(buf.buffer).setUint32(32, this.idx, false)
    buf[36] = this.hashIdx & 0xff
    return blake256Hash(buf)
  }
}

/** `count` distinct indices into a pool of `poolSize`, in draw order (dcrd `findTicketIdxs`). */
export const drawTicketIndices = (prng: Hash256PRNG, poolSize: number, count: number): Array<number> => {
  if (poolSize < count) throw new RangeError(`cannot draw ${count} distinct tickets from a pool of ${poolSize}`)
  const picked: Array<number> = []
  while (picked.length < count) {
    const r = prng.uniform(poolSize)
    if (!picked.includes(r)) picked.push(r)
  }
  return picked
}

interface LotteryResult {
  /** Winning indices into the live pool sorted by raw hash bytes, in draw order. */
  readonly indices: ReadonlyArray<number>
  /** The PRNG once the draw is done, for the final state. */
  readonly prng: Hash256PRNG
}

/** The draw of a block: IV from its serialized header, then `count` distinct indices. */
export const drawWinners = (headerBytes: Uint8Array, poolSize: number, count: number): LotteryResult => {
  const prng = new Hash256PRNG(prngIV(headerBytes))
  return { indices: drawTicketIndices(prng, poolSize, count), prng }
}

/**
 * FinalState: the first 6 bytes of BLAKE-256(winner hashes ‖ PRNG state hash), committed by
 * the next block's header. Winner hashes are the raw (internal-order) bytes.
 */
export const lotteryFinalState = (winners: ReadonlyArray<Uint8Array>, prng: Hash256PRNG): Uint8Array => {
  const buf = new Uint8Array(32 * (winners.length + 1))
  winners.forEach((w, i) => buf.set(w, 32 * i))
  buf.set(prng.stateHash(), 32 * winners.length)
  return blake256Hash(buf).slice(0, 6)
}
