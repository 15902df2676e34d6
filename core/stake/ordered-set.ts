/**
 * A set of strings in sorted order with selection by rank: the live-ticket pool, which
 * the lottery indexes by position (dcrd keeps it in a treap for the same reason).
 *
 * Keys sort by JavaScript string order; the stake model uses lower-case hex of the raw hash
 * bytes, whose string order is the `bytes.Compare` order of the bytes.
 *
 * Layout: sorted chunks of at most 2 * chunk keys, the largest key of each chunk for a binary
 * search to the right chunk, and a Fenwick tree over chunk lengths so that the key at a rank
 * is found in O(log n). Insert and delete are O(log n) searches plus a move of at most
 * 2 * chunk entries within one array; chunks split or go away rarely, and only then is the
 * Fenwick tree rebuilt (O(n / chunk)).
 *
 * Searches compare a numeric prefix of each key first (kept in packed number arrays beside
 * the keys) and the strings only on a tie: comparing strings scattered over a large heap
 * costs a cache miss each, which measured as most of the pool's time at mainnet size.
 */
interface OrderedSetOptions {
  /** Keys per chunk before a split doubles it; small values are for tests. */
  readonly chunk?: number
  /**
   * A number that orders like the key: prefix(a) < prefix(b) implies a < b, and a <= b
   * implies prefix(a) <= prefix(b). Must be exact in a double (< 2^53).
   */
  readonly prefix?: (key: string) => number
}

/** The first three UTF-16 code units: orders like any string. */
const codeUnitPrefix = (key: string): number => (key.length > 0 ? key.charCodeAt(0) * 2 ** 32 : 0) + (key.length > 1 ? key.charCodeAt(1) * 2 ** 16 : 0) + (key.length > 2 ? key.charCodeAt(2) : 0)

/** The first 12 hex digits (48 bits) of a lower-case hex key. */
export const hexPrefix = (key: string): number => parseInt(key.substring(0, 12).padEnd(12, "0"), 16)

interface Chunk {
  readonly keys: Array<string>
  readonly prefixes: Array<number>
}

export class OrderedSet {
  private readonly chunkSize: number
  private readonly prefix: (key: string) => number
  private chunks: Array<Chunk> = []
  private maxKeys: Array<string> = []
  private maxPrefixes: Array<number> = []
  /** Fenwick (binary indexed) tree over chunk lengths, 1-based. */
  private fenwick: Array<number> = [0]
  private count = 0

  constructor(options: OrderedSetOptions = {}) {
    this.chunkSize = options.chunk ?? 256
    this.prefix = options.prefix ?? codeUnitPrefix
  }

  get size(): number {
    return this.count
  }

  has(key: string): boolean {
    const p = this.prefix(key)
    const c = this.chunkFor(key, p)
    if (c < 0) return false
    const chunk = this.chunks[c]!
    const i = lowerBound(chunk.keys, chunk.prefixes, key, p)
    return i < chunk.keys.length && chunk.keys[i] === key
  }

  /** Adds `key`; returns false if it was already there. */
  add(key: string): boolean {
    const p = this.prefix(key)
    if (this.chunks.length === 0) {
      this.chunks.push({ keys: [key], prefixes: [p] })
      this.maxKeys.push(key)
      this.maxPrefixes.push(p)
      this.count = 1
      this.rebuildFenwick()
      return true
    }
    let c = this.chunkFor(key, p)
    if (c < 0) c = this.chunks.length - 1 // above every key: append to the last chunk
    const chunk = this.chunks[c]!
    const i = lowerBound(chunk.keys, chunk.prefixes, key, p)
    if (i < chunk.keys.length && chunk.keys[i] === key) return false
    chunk.keys.splice(i, 0, key)
    chunk.prefixes.splice(i, 0, p)
    if (i === chunk.keys.length - 1) {
      this.maxKeys[c] = key
      this.maxPrefixes[c] = p
    }
    this.count++
    if (chunk.keys.length > 2 * this.chunkSize) {
      const upper: Chunk = { keys: chunk.keys.splice(this.chunkSize), prefixes: chunk.prefixes.splice(this.chunkSize) }
      this.chunks.splice(c + 1, 0, upper)
      const last = (ch: Chunk) => ch.keys.length - 1
      this.maxKeys.splice(c, 1, chunk.keys[last(chunk)]!, upper.keys[last(upper)]!)
      this.maxPrefixes.splice(c, 1, chunk.prefixes[last(chunk)]!, upper.prefixes[last(upper)]!)
      this.rebuildFenwick()
    } else {
      this.fenwickAdd(c, 1)
    }
    return true
  }

  /** Removes `key`; returns false if it was not there. */
  delete(key: string): boolean {
    const p = this.prefix(key)
    const c = this.chunkFor(key, p)
    if (c < 0) return false
    const chunk = this.chunks[c]!
    const i = lowerBound(chunk.keys, chunk.prefixes, key, p)
    if (i >= chunk.keys.length || chunk.keys[i] !== key) return false
    chunk.keys.splice(i, 1)
    chunk.prefixes.splice(i, 1)
    this.count--
    if (chunk.keys.length === 0) {
      this.chunks.splice(c, 1)
      this.maxKeys.splice(c, 1)
      this.maxPrefixes.splice(c, 1)
      this.rebuildFenwick()
    } else {
      if (i === chunk.keys.length) {
        this.maxKeys[c] = chunk.keys[i - 1]!
        this.maxPrefixes[c] = chunk.prefixes[i - 1]!
      }
      this.fenwickAdd(c, -1)
    }
    return true
  }

  /** The key at 0-based rank `index` in sorted order. */
  at(index: number): string {
    if (!Number.isInteger(index) || index < 0 || index >= this.count) {
      throw new RangeError(`index ${index} is outside the set of ${this.count}`)
    }
    // Descend the Fenwick tree: the longest run of whole chunks holding at most `index` keys.
    let pos = 0
    let rest = index
    const n = this.chunks.length
    for (let step = highestPowerOfTwo(n); step > 0; step >>= 1) {
      const next = pos + step
      if (next <= n && this.fenwick[next]! <= rest) {
        pos = next
        rest -= this.fenwick[next]!
      }
    }
    return this.chunks[pos]!.keys[rest]!
  }

  /** Keys in sorted order. */
  *[Symbol.iterator](): IterableIterator<string> {
    for (const chunk of this.chunks) yield* chunk.keys
  }

  /** The first chunk whose largest key is >= key, or -1 when key is above them all. */
  private chunkFor(key: string, p: number): number {
    const c = lowerBound(this.maxKeys, this.maxPrefixes, key, p)
    return c < this.maxKeys.length ? c : -1
  }

  private fenwickAdd(chunkIndex: number, delta: number): void {
    for (let i = chunkIndex + 1; i < this.fenwick.length; i += i & -i) this.fenwick[i]! += delta
  }

  private rebuildFenwick(): void {
    const n = this.chunks.length
    const tree = new Array<number>(n + 1).fill(0)
    for (let i = 1; i <= n; i++) {
      tree[i]! += this.chunks[i - 1]!.keys.length
      const parent = i + (i & -i)
      if (parent <= n) tree[parent]! += tree[i]!
    }
    this.fenwick = tree
  }
}

/** First index whose key is >= key, comparing prefixes first and strings only on a tie. */
const lowerBound = (keys: ReadonlyArray<string>, prefixes: ReadonlyArray<number>, key: string, p: number): number => {
  let lo = 0
  let hi = keys.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    const q = prefixes[mid]!
    if (q < p || (q === p && keys[mid]! < key)) lo = mid + 1
    else hi = mid
  }
  return lo
}

const highestPowerOfTwo = (n: number): number => (n === 0 ? 0 : 2 ** Math.floor(Math.log2(n)))
