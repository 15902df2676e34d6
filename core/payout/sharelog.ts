/** An accepted share, as accounting records it. */
export interface Share {
  /** Unique per submitted solution (job, extranonces, time, nonce): a duplicate counts once. */
  readonly id: string
  readonly account: string
  /** Its difficulty in DIFFICULTY_SCALE units. */
  readonly weight: bigint
  /** Milliseconds since the epoch, from the pool's Clock. */
  readonly time: number
}

/** Per-account weights of a window of the log, with how the window was cut. */
export interface WindowWeights {
  readonly weights: Map<string, bigint>
  /** Sum of the weights (what they are a share of). */
  readonly total: bigint
  /** First log position that counts (wholly or in part). */
  readonly start: number
  /** The part of the first share's weight inside the window (its whole weight unless pro-rated). */
  readonly firstShareWeight: bigint
}

/**
 * The share log, indexed so that any window's per-account weights come out in
 * O(accounts x log n) instead of a pass over the window: global cumulative weights find where
 * a window starts, and each account's cumulative weights at its own shares give its part.
 * Appending a share is amortised O(1). Positions are global and stable; `forgetBefore` drops
 * a prefix that no window will reach again.
 */
export class ShareLog {
  private readonly ids = new Set<string>()
  private readonly shares: Array<Share> = []
  /** cumulative[i] = sum of weights of positions [offset, offset + i], plus `base`. */
  private readonly cumulative: Array<bigint> = []
  private readonly accounts = new Map<string, { positions: Array<number>; cumulative: Array<bigint> }>()
  private offset = 0

  /** Adds a share; false (and no change) when its id was seen before. */
  append(share: Share): boolean {
    if (this.ids.has(share.id)) return false
    if (share.weight <= 0n) throw new RangeError(`share ${share.id} has weight ${share.weight}; weights are positive`)
    const last = this.shares[this.shares.length - 1]
    if (last !== undefined && share.time < last.time) {
      throw new RangeError(`share ${share.id} is older (${share.time}) than the log's last share (${last.time}); append in time order`)
    }
    this.ids.add(share.id)
    const position = this.offset + this.shares.length
    this.shares.push(share)
    this.cumulative.push((this.cumulative[this.cumulative.length - 1] ?? 0n) + share.weight)
    let a = this.accounts.get(share.account)
    if (a === undefined) {
      a = { positions: [], cumulative: [] }
      this.accounts.set(share.account, a)
    }
    a.positions.push(position)
    a.cumulative.push((a.cumulative[a.cumulative.length - 1] ?? 0n) + share.weight)
    return true
  }

  /** One past the last position. */
  get end(): number {
    return this.offset + this.shares.length
  }

  /** The first position still held. */
  get first(): number {
    return this.offset
  }

  at(position: number): Share {
    const s = this.shares[position - this.offset]
    if (s === undefined) throw new RangeError(`no share at position ${position} (log holds ${this.offset}..${this.end})`)
    return s
  }

  has(id: string): boolean {
    return this.ids.has(id)
  }

  /** Total weight of positions [first, end). */
  weightBefore(end: number): bigint {
    return end <= this.offset ? 0n : this.cumulative[end - 1 - this.offset]!
  }

  /**
   * The last `units` of weight before `end` (a PPLNS window): the share that straddles its
   * start counts for the part inside. When the log holds less, all of it.
   */
  lastUnits(end: number, units: bigint): WindowWeights {
    const total = this.weightBefore(end)
    if (total <= units) return this.span(this.offset, end, undefined)
    const cutoff = total - units
    // First position whose cumulative weight passes the cutoff: it straddles the window's start.
    let lo = this.offset
    let hi = end - 1
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (this.cumulative[mid - this.offset]! > cutoff) hi = mid
      else lo = mid + 1
    }
    return this.span(lo, end, this.cumulative[lo - this.offset]! - cutoff)
  }

  /** Positions before `end` whose time is after `afterTime` (a time window), whole shares. */
  sinceTime(end: number, afterTime: number): WindowWeights {
    let lo = this.offset
    let hi = end
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (this.shares[mid - this.offset]!.time > afterTime) hi = mid
      else lo = mid + 1
    }
    return this.span(lo, end, undefined)
  }

  /** Positions [start, end), whole shares. */
  between(start: number, end: number): WindowWeights {
    return this.span(Math.max(start, this.offset), end, undefined)
  }

  /** Drops positions before `position` (they can no longer be part of any window). */
  forgetBefore(position: number): void {
    const drop = Math.min(position, this.end) - this.offset
    if (drop <= 0) return
    for (const s of this.shares.slice(0, drop)) this.ids.delete(s.id)
    const droppedWeight = this.cumulative[drop - 1]!
    this.shares.splice(0, drop)
    this.cumulative.splice(0, drop)
    for (let i = 0; i < this.cumulative.length; i++) this.cumulative[i]! -= droppedWeight
    this.offset += drop
    for (const [account, a] of this.accounts) {
      const keep = lowerBoundNumber(a.positions, this.offset)
      if (keep === 0) continue
      const base = a.cumulative[keep - 1]!
      a.positions.splice(0, keep)
      a.cumulative.splice(0, keep)
      for (let i = 0; i < a.cumulative.length; i++) a.cumulative[i]! -= base
      if (a.positions.length === 0) this.accounts.delete(account)
    }
  }

  /**
   * Weights of positions [start, end), with the share at `start` counting `firstPart` of its
   * weight when given (pro-rated), in O(accounts x log n).
   */
  private span(start: number, end: number, firstPart: bigint | undefined): WindowWeights {
    const weights = new Map<string, bigint>()
    let total = 0n
    if (start >= end) return { weights, total, start, firstShareWeight: 0n }
    const firstShare = this.at(start)
    const firstShareWeight = firstPart ?? firstShare.weight
    for (const [account, a] of this.accounts) {
      // Shares of this account in [start, end): cumulative at the last one minus before the first.
      const from = lowerBoundNumber(a.positions, start)
      const to = lowerBoundNumber(a.positions, end)
      if (from >= to) continue
      let w = a.cumulative[to - 1]! - (from === 0 ? 0n : a.cumulative[from - 1]!)
      if (account === firstShare.account && firstPart !== undefined) w -= firstShare.weight - firstPart
      if (w > 0n) {
        weights.set(account, w)
        total += w
      }
    }
    return { weights, total, start, firstShareWeight }
  }
}

const lowerBoundNumber = (sorted: ReadonlyArray<number>, value: number): number => {
  let lo = 0
  let hi = sorted.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (sorted[mid]! < value) lo = mid + 1
    else hi = mid
  }
  return lo
}
