import { blake256Hash } from "../core/chain/hash.ts"

/**
 * One seeded stream of random draws for one simulated component. Every component forks its own
 * stream by name from the run's seed, so a draw in one (a miner's next share) never shifts the
 * draws of another (the network's next block) when fibers interleave differently or a
 * component is added: a run is a function of its seed. Floats only drive draws (times, picks),
 * never amounts.
 */
export class SimRandom {
  readonly seed: number
  readonly label: string
  private state: Uint32Array

  constructor(seed: number, label = "run") {
    this.seed = seed
    this.label = label
    const digest = blake256Hash(new TextEncoder().encode(`${seed >>> 0}/${label}`))
    const view = new DataView(digest.buffer, digest.byteOffset, digest.byteLength)
    this.state = Uint32Array.of(view.getUint32(0), view.getUint32(4), view.getUint32(8), view.getUint32(12) | 1)
  }

  /** An independent stream for a sub-component, named by its role (`miner/3`, `network`). */
  fork(label: string): SimRandom {
    return new SimRandom(this.seed, `${this.label}/${label}`)
  }

  /** 32 random bits (xoshiro128**: small, fast, and good enough for simulation draws). */
  next32(): number {
    const s = this.state
    const result = Math.imul(rotl(Math.imul(s[1]!, 5), 7), 9) >>> 0
    const t = s[1]! << 9
    s[2]! ^= s[0]!
    s[3]! ^= s[1]!
    s[1]! ^= s[2]!
    s[0]! ^= s[3]!
    s[2]! ^= t
    s[3] = rotl(s[3]!, 11)
    return result
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.next32() / 4294967296
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n)
  }

  /** Uniform integer in [min, max]. */
  between(min: number, max: number): number {
    return min + this.int(max - min + 1)
  }

  chance(probability: number): boolean {
    return this.next() < probability
  }

  /** Exponentially distributed with this mean: the wait to the next event of a Poisson process. */
  exponential(mean: number): number {
    return -Math.log(1 - this.next()) * mean
  }

  pick<A>(items: ReadonlyArray<A>): A {
    return items[this.int(items.length)]!
  }

  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n)
    for (let i = 0; i < n; i++) out[i] = this.next32() & 0xff
    return out
  }
}

const rotl = (x: number, k: number): number => ((x << k) | (x >>> (32 - k))) >>> 0
