import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { DIFFICULTY_SCALE, expectedHashesAtDifficulty } from "../../core/stratum/difficulty.ts"
import { seededRandom } from "../../testkit/pool-sim.ts"
import { defaultVardiffConfig, difficultyToWire, initialDifficultyFor, initialVardiff, MAX_WIRE_DIFFICULTY, vardiffOnShare, vardiffOnTick, wholeDifficulty } from "./vardiff.ts"

const MAINNET_HASHES_PER_DIFF = 1n << 32n // 2^(256 - bitlen(2^224 - 1))
const SIMNET_HASHES_PER_DIFF = 2n // 2^(256 - bitlen(2^255 - 1))

/**
 * A miner of `hashrate` behind vardiff for `seconds` of virtual time, shares arriving as a
 * Poisson process at its current difficulty, retargets applying from the next share (a job
 * comes within a second; one share in flight changes nothing measurable).
 */
const simulate = (seed: number, hashrate: number, startDifficulty: bigint, seconds: number, hashesPerDiff = MAINNET_HASHES_PER_DIFF) => {
  const config = defaultVardiffConfig(1n, 1n << 80n)
  const random = seededRandom(seed)
  let state = initialVardiff(startDifficulty, 0)
  let now = 0
  const shares: Array<{ time: number; difficulty: bigint }> = []
  while (now < seconds * 1000) {
    const meanSeconds = expectedHashesAtDifficulty(state.difficulty, hashesPerDiff) / hashrate
    const next = now + -Math.log(1 - random()) * meanSeconds * 1000
    // Ticks on a fixed 5 s grid (the pool's clock, independent of when shares arrive) retarget
    // slow miners on time and let an idle miner's difficulty come down before its next share.
    // (Up to the end of the run: a miner held at difficulty 1 may not share for days.)
    while (now < seconds * 1000 && Math.floor(now / 5000) * 5000 + 5000 < next) {
      now = Math.floor(now / 5000) * 5000 + 5000
      const t = vardiffOnTick(state, now, config)
      state = t.state
      if (t.retarget !== undefined) break
    }
    if (next > Math.floor(now / 5000) * 5000 + 5000) continue
    if (next >= seconds * 1000) break
    now = Math.max(now, next)
    shares.push({ time: now, difficulty: state.difficulty })
    // A difficulty so low that shares outrun the clock's resolution: fail, rather than fill memory.
    if (shares.length > 1_000_000) throw new Error(`runaway: a million shares by ${now} ms at difficulty ${state.difficulty} units`)
    state = vardiffOnShare(state, now, config).state
  }
  return { shares, final: state.difficulty }
}

describe("vardiff", () => {
  it("property: converges to the 15 s target interval within ±20% for every miner whose on-target difficulty is 8 or more (8 to 10^9, on mainnet and simnet), from a start 100x off either way", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2 ** 31 }),
        fc.double({ min: Math.log10(8), max: 9, noNaN: true }),
        fc.constantFrom(MAINNET_HASHES_PER_DIFF, SIMNET_HASHES_PER_DIFF),
        fc.constantFrom(0.01, 1, 100),
        (seed, log10OnTarget, hashesPerDiff, startOff) => {
          // The hashrate whose 15 s of hashes are worth exactly this difficulty (2.3 GH/s and up on
          // mainnet, where difficulty 1 is 2^32 hashes; 5 H/s and up on simnet, where it is 2).
          const onTarget = 10 ** log10OnTarget
          const hashrate = (onTarget * Number(hashesPerDiff)) / 15
          const start = wholeDifficulty(BigInt(Math.max(1, Math.round(onTarget * startOff * Number(DIFFICULTY_SCALE)))))
          const { shares } = simulate(seed, hashrate, start, 4 * 3600, hashesPerDiff)
          // Measure after the first hour: mean interval of the shares that followed.
          const settled = shares.filter((s) => s.time > 3600_000)
          const intervals = settled.slice(1).map((s, i) => s.time - settled[i]!.time)
          const mean = intervals.reduce((a, b) => a + b, 0) / intervals.length / 1000
          const context = `on-target difficulty ${onTarget.toPrecision(4)}, start x${startOff}`
          expect(intervals.length, context).toBeGreaterThan(400)
          expect(mean, context).toBeGreaterThan(15 * 0.8)
          expect(mean, context).toBeLessThan(15 * 1.2)
        },
      ),
      { numRuns: 40 },
    )
  })

  it("property: every difficulty vardiff picks is a whole number from 1 to 2^53, what Decred miners read, whatever the miner's speed", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 31 }), fc.double({ min: 1, max: 1e16, noNaN: true }), fc.bigInt({ min: 1n, max: 1n << 100n }), (seed, hashrate, start) => {
        const config = defaultVardiffConfig(1n, 1n << 120n)
        expect(initialDifficultyFor(hashrate, 15, MAINNET_HASHES_PER_DIFF, config) % DIFFICULTY_SCALE).toBe(0n)
        const { shares, final } = simulate(seed, hashrate, wholeDifficulty(start), 1800)
        for (const d of [final, ...shares.map((s) => s.difficulty)]) {
          expect(d % DIFFICULTY_SCALE, `${d}`).toBe(0n)
          expect(d >= DIFFICULTY_SCALE && d <= MAX_WIRE_DIFFICULTY * DIFFICULTY_SCALE, `${d}`).toBe(true)
          // The wire number is an integer, and exactly the difficulty the pool checks.
          const wire = JSON.parse(JSON.stringify(difficultyToWire(d))) as number
          expect(Number.isInteger(wire)).toBe(true)
          expect(BigInt(wire) * DIFFICULTY_SCALE).toBe(d)
        }
      }),
      { numRuns: 60 },
    )
  })

  it("holds a miner too slow for difficulty 1 at difficulty 1, never below (a CPU on mainnet, where 1 is 2^32 hashes)", () => {
    const config = defaultVardiffConfig(1n, 1n << 80n)
    // 5 kH/s on mainnet: difficulty 1 takes ~10 days; vardiff would like 1.7e-5.
    expect(initialDifficultyFor(5e3, 15, MAINNET_HASHES_PER_DIFF, config)).toBe(DIFFICULTY_SCALE)
    let state = initialVardiff(DIFFICULTY_SCALE, 0)
    for (let period = 1; period <= 20; period++) {
      const t = vardiffOnTick(state, period * config.retargetSeconds * 1000, config)
      expect(t.retarget).toBeUndefined()
      state = t.state
    }
    expect(state.difficulty).toBe(DIFFICULTY_SCALE)
    expect(() => difficultyToWire(DIFFICULTY_SCALE / 2n)).toThrow(/not a whole difficulty/)
    expect(() => difficultyToWire(DIFFICULTY_SCALE * 3n + 1n)).toThrow(/not a whole difficulty/)
  })

  it("moves one whole step at small difficulties when half way rounds back to where it started", () => {
    const config = defaultVardiffConfig(1n, 1n << 80n)
    // Difficulty 2, shares coming at half the target rate: on target is 1; half way (1.5) rounds to 2.
    const slow = initialVardiff(2n * DIFFICULTY_SCALE, 0)
    const down = vardiffOnTick({ ...slow, sharesInWindow: 3 }, config.retargetSeconds * 1000, config)
    expect(down.retarget).toBe(DIFFICULTY_SCALE)
    // Difficulty 2, shares 25% too fast: on target is 2.5, and 3 is nearer to it (in ratio) than 2.
    const fast = vardiffOnTick({ ...slow, sharesInWindow: 7.5 }, config.retargetSeconds * 1000, config)
    expect(fast.retarget).toBe(3n * DIFFICULTY_SCALE)
  })

  it("starts from the profile's rated hashrate, at the nearest whole difficulty", () => {
    const config = defaultVardiffConfig(1n, 1n << 80n)
    // decred-gominer rated 5 GH/s on mainnet at 15 s: 5e9 * 15 / 2^32 = 17.46..., announced as 17 (as dcrpool does).
    const d = initialDifficultyFor(5e9, 15, MAINNET_HASHES_PER_DIFF, config)
    expect(difficultyToWire(d)).toBe(17)
    // cpuminer on simnet (difficulty 1 = 2 hashes): 5e3 * 15 / 2 = 37,500.
    expect(difficultyToWire(initialDifficultyFor(5e3, 15, 2n, config))).toBe(37500)
    // Near, not below: 6.9 starts at 7.
    expect(difficultyToWire(initialDifficultyFor(6.9e9, 1, 1_000_000_000n, config))).toBe(7)
  })

  it("lowers the difficulty of a miner that went quiet, by at most the step factor per period", () => {
    const config = defaultVardiffConfig(1n, 1n << 80n)
    const start = 1000n * DIFFICULTY_SCALE
    let state = initialVardiff(start, 0)
    let last = start
    for (let period = 1; period <= 5; period++) {
      const t = vardiffOnTick(state, period * config.retargetSeconds * 1000, config)
      expect(t.retarget).toBeDefined()
      expect(t.retarget! < last && t.retarget! >= last / 4n).toBe(true)
      last = t.retarget!
      state = t.state
    }
  })

  it("counts a share solved at a capped, lower difficulty for its fraction of the work: on target stays on target", () => {
    const config = defaultVardiffConfig(1n, 1n << 80n)
    const start = 1000n * DIFFICULTY_SCALE
    // Shares at a quarter of vardiff's difficulty, four times as often: the same work per second
    // as one full share every targetSeconds, so no retarget; counted as whole shares it would
    // look four times too fast and push the difficulty up.
    let state = initialVardiff(start, 0)
    const every = (config.targetSeconds * 1000) / 4
    let step = vardiffOnShare(state, every, config, start / 4n)
    for (let i = 2; step.state.sharesInWindow > 0; i++) {
      state = step.state
      expect(state.difficulty).toBe(start)
      step = vardiffOnShare(state, i * every, config, start / 4n)
    }
    expect(step.retarget).toBeUndefined()
  })
})
