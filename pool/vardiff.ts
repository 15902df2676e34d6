import { DIFFICULTY_SCALE } from "../core/payout/amounts.ts"

/**
 * Per-connection variable difficulty, as a pure function of the share history and the clock.
 *
 * Difficulties are DIFFICULTY_SCALE units (difficulty x 2^32) and always "sendable": at most
 * 53 significant bits, so difficulty = units / 2^32 is exactly a JSON number and the value a
 * miner reads from `mining.set_difficulty` is exactly the one the pool checks shares against
 * (the reference pool sent a truncated integer and checked the exact value).
 */
export interface VardiffConfig {
  /** The share interval aimed at (the reference pool's maxgentime; 15 s). */
  readonly targetSeconds: number
  /** Retarget on the first tick once this much time has passed since the last retarget... */
  readonly retargetSeconds: number
  /** ...or as soon as this many shares arrived (a miner far too fast for its difficulty). */
  readonly retargetShares: number
  /** Leave the difficulty alone while the observed rate is within this fraction of the target. */
  readonly tolerance: number
  /** One retarget changes the difficulty by at most this factor either way. */
  readonly maxStep: number
  readonly minDifficulty: bigint
  readonly maxDifficulty: bigint
}

export const defaultVardiffConfig = (minDifficulty: bigint, maxDifficulty: bigint): VardiffConfig => ({
  targetSeconds: 15,
  retargetSeconds: 90,
  retargetShares: 24,
  tolerance: 0.1,
  maxStep: 4,
  minDifficulty,
  maxDifficulty,
})

export interface VardiffState {
  readonly difficulty: bigint
  /** Start of the current measuring window (ms). */
  readonly windowStart: number
  /**
   * Work in the window, counted in shares at `difficulty`: a share the miner solved at a lower
   * difficulty (capped at the network's, see the session) counts for its fraction of one.
   */
  readonly sharesInWindow: number
}

export const initialVardiff = (difficulty: bigint, now: number): VardiffState => ({ difficulty, windowStart: now, sharesInWindow: 0 })

/** The largest sendable difficulty at or below `units`: 53 significant bits at most, and at least 1 unit. */
export const sendableDifficulty = (units: bigint): bigint => {
  if (units < 1n) return 1n
  let bits = 0
  for (let v = units; v > 0n; v >>= 1n) bits++
  if (bits <= 53) return units
  const drop = BigInt(bits - 53)
  return (units >> drop) << drop
}

/** The difficulty as the JSON number `mining.set_difficulty` carries (exact, see above). */
export const difficultyToWire = (units: bigint): number => Number(units) / Number(DIFFICULTY_SCALE)

/**
 * The starting difficulty for a miner rated at `hashrate` hashes/s to find a share every
 * `targetSeconds`, where difficulty 1 takes `hashesPerUnitDifficulty` hashes on average
 * (2^(256 - bitlen(powLimit)): 2^32 on mainnet, 2 on simnet).
 */
export const initialDifficultyFor = (hashrate: number, targetSeconds: number, hashesPerUnitDifficulty: bigint, config: VardiffConfig): bigint => {
  const ideal = BigInt(Math.max(1, Math.floor(hashrate * targetSeconds))) * DIFFICULTY_SCALE / hashesPerUnitDifficulty
  return clamp(sendableDifficulty(ideal), config)
}

const clamp = (d: bigint, c: VardiffConfig): bigint => sendableDifficulty(d < c.minDifficulty ? c.minDifficulty : d > c.maxDifficulty ? c.maxDifficulty : d)

export interface VardiffStep {
  readonly state: VardiffState
  /** Set when the difficulty should change: send it before the next job, and use it from that job on. */
  readonly retarget: bigint | undefined
}

const retargetAt = (state: VardiffState, now: number, c: VardiffConfig, shares: number, lastShareWeight: number): VardiffStep => {
  const elapsed = Math.max(now - state.windowStart, 1) / 1000
  // Observed shares per target interval; 1 means on target. A window that ends on a share holds
  // one share more than its rate (n - 1 arrivals in the time to the n-th is the unbiased count).
  // With no shares, assume one: an upper bound on the rate, so an idle miner's difficulty falls
  // by at most maxStep a period.
  const counted = shares - lastShareWeight
  const ratio = (Math.max(counted, 1) * c.targetSeconds) / elapsed
  const fresh = { difficulty: state.difficulty, windowStart: now, sharesInWindow: 0 }
  if (Math.abs(ratio - 1) <= c.tolerance && counted > 0) return { state: fresh, retarget: undefined }
  // Move half way, in linear terms: a rate measured from a handful of shares is noisy, and a full
  // step would pass the noise straight into the difficulty. (Half way in log terms would settle
  // where the mean log-rate is on target, which is a rate ~10% too high with six shares a window.)
  const factor = Math.min(c.maxStep, Math.max(1 / c.maxStep, 1 + (ratio - 1) / 2))
  // Scale in integers: factor to 1/1024 precision is plenty for a rate estimate.
  const next = clamp((state.difficulty * BigInt(Math.round(factor * 1024))) / 1024n, c)
  if (next === state.difficulty) return { state: fresh, retarget: undefined }
  return { state: { ...fresh, difficulty: next }, retarget: next }
}

/**
 * A share arrived at `now` (ms), solved at `shareDifficulty` (the state's own difficulty unless
 * the session capped it at a lower network difficulty for that job).
 */
export const vardiffOnShare = (state: VardiffState, now: number, c: VardiffConfig, shareDifficulty: bigint = state.difficulty): VardiffStep => {
  const weight = shareDifficulty === state.difficulty ? 1 : Number(shareDifficulty) / Number(state.difficulty)
  const shares = state.sharesInWindow + weight
  const counted = { ...state, sharesInWindow: shares }
  // Only a count closes a window here; time closes it on a tick. A window closed by "the first
  // share after 90 s" would undercount the rate (the stopping time depends on the arrivals).
  if (shares >= c.retargetShares) return retargetAt(counted, now, c, shares, weight)
  return { state: counted, retarget: undefined }
}

/**
 * Called on a clock tick (every few seconds): closes the measuring window once a retarget period
 * has passed, so slow miners retarget on time and a miner that went quiet gets an easier difficulty.
 */
export const vardiffOnTick = (state: VardiffState, now: number, c: VardiffConfig): VardiffStep =>
  now - state.windowStart >= c.retargetSeconds * 1000 ? retargetAt(state, now, c, state.sharesInWindow, 0) : { state, retarget: undefined }
