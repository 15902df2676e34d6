import { DIFFICULTY_SCALE, difficultyForHashes } from "../../core/stratum/difficulty.ts"

/**
 * Per-connection variable difficulty, as a pure function of the share history and the clock.
 *
 * Difficulties are held in DIFFICULTY_SCALE units (difficulty x 2^32), like every weight in the
 * pool, but vardiff only ever picks whole difficulties of at least 1: Decred miners read
 * `mining.set_difficulty` as an integer (dcrpool's CPU miner truncates it and divides by zero on
 * 0; decred-gominer floors it and lifts it to 1), so a fraction on the wire means shares hashed to
 * an easier target than the pool checks, and below 1 a dead miner. The pool checks exactly the
 * whole difficulty it announced. A miner too slow to find a difficulty-1 share every target
 * interval simply shares less often, as on mainnet, where difficulty 1 is 2^32 hashes.
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

/** The largest difficulty `mining.set_difficulty` carries exactly: 2^53, as a JSON number and a Go float64 hold it. */
export const MAX_WIRE_DIFFICULTY = 1n << 53n

/** `units` rounded down to a whole difficulty in [1, 2^53], in DIFFICULTY_SCALE units. */
export const wholeDifficulty = (units: bigint): bigint => {
  const whole = units / DIFFICULTY_SCALE
  return (whole < 1n ? 1n : whole > MAX_WIRE_DIFFICULTY ? MAX_WIRE_DIFFICULTY : whole) * DIFFICULTY_SCALE
}

/** The difficulty as `mining.set_difficulty` carries it: a whole number (a fraction here is a bug). */
export const difficultyToWire = (units: bigint): number => {
  if (units < DIFFICULTY_SCALE || units % DIFFICULTY_SCALE !== 0n || units > MAX_WIRE_DIFFICULTY * DIFFICULTY_SCALE) {
    throw new RangeError(`difficulty ${units} units is not a whole difficulty in [1, 2^53]: pass it through wholeDifficulty`)
  }
  return Number(units / DIFFICULTY_SCALE)
}

/**
 * The starting difficulty for a miner rated at `hashrate` hashes/s to find a share every
 * `targetSeconds`, where difficulty 1 takes `hashesPerUnitDifficulty` hashes on average
 * (2^(256 - bitlen(powLimit)): 2^32 on mainnet, 2 on simnet).
 */
export const initialDifficultyFor = (hashrate: number, targetSeconds: number, hashesPerUnitDifficulty: bigint, config: VardiffConfig): bigint => {
  const ideal = difficultyForHashes(BigInt(Math.max(1, Math.floor(hashrate * targetSeconds))), hashesPerUnitDifficulty)
  // The nearest whole difficulty, not the one below: 6.9 starts at 7.
  return clamp(ideal + DIFFICULTY_SCALE / 2n, config)
}

/** Within the configured bounds, then whole (so a bound that is not whole rounds down, and never below 1). */
const clamp = (d: bigint, c: VardiffConfig): bigint => wholeDifficulty(d < c.minDifficulty ? c.minDifficulty : d > c.maxDifficulty ? c.maxDifficulty : d)

interface VardiffStep {
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
  // Scale in integers (factor to 1/1024 is plenty for a rate estimate), to the nearest whole difficulty.
  const whole = state.difficulty / DIFFICULTY_SCALE
  let next = clamp(((whole * BigInt(Math.round(factor * 1024)) + 512n) / 1024n) * DIFFICULTY_SCALE, c)
  if (next === state.difficulty) {
    // Half way can round back to where it started at small difficulties (2 x 0.75 = 1.5 -> 2). One
    // whole step is the finest move there is: take it when it lands nearer the on-target
    // difficulty (current x ratio) than staying does.
    const current = Number(whole)
    const onTarget = current * ratio
    const step = ratio > 1 ? current + 1 : current - 1
    if (Math.abs(Math.log(step / onTarget)) < Math.abs(Math.log(current / onTarget))) next = clamp(BigInt(step) * DIFFICULTY_SCALE, c)
  }
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
