import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { DIFFICULTY_SCALE } from "../core/payout/amounts.ts"
import { seededRandom } from "../core/testing/pool-sim.ts"
import {
  defaultVardiffConfig,
  difficultyToWire,
  initialDifficultyFor,
  initialVardiff,
  sendableDifficulty,
  vardiffOnShare,
  vardiffOnTick,
} from "./vardiff.ts"

const MAINNET_HASHES_PER_DIFF = 1n << 32n // 2^(256 - bitlen(2^224 - 1))

/**
 * A miner of `hashrate` behind vardiff for `seconds` of virtual time, shares arriving as a
 * Poisson process at its current difficulty, retargets applying from the next share (a job
 * comes within a second; one share in flight changes nothing measurable).
 */
const simulate = (seed: number, hashrate: number, startDifficulty: bigint, seconds: number) => {
  const config = defaultVardiffConfig(1n, 1n << 80n)
  const random = seededRandom(seed)
  let state = initialVardiff(startDifficulty, 0)
  let now = 0
  const shares: Array<{ time: number; difficulty: bigint }> = []
  while (now < seconds * 1000) {
    const meanSeconds = (Number(state.difficulty) / Number(DIFFICULTY_SCALE)) * Number(MAINNET_HASHES_PER_DIFF) / hashrate
    const next = now + -Math.log(1 - random()) * meanSeconds * 1000
    // Ticks on a fixed 5 s grid (the pool's clock, independent of when shares arrive) retarget
    // slow miners on time and let an idle miner's difficulty come down before its next share.
    while (Math.floor(now / 5000) * 5000 + 5000 < next) {
      now = Math.floor(now / 5000) * 5000 + 5000
      const t = vardiffOnTick(state, now, config)
      state = t.state
      if (t.retarget !== undefined) break
    }
    if (next > Math.floor(now / 5000) * 5000 + 5000) continue
    if (next >= seconds * 1000) break
    now = Math.max(now, next)
    shares.push({ time: now, difficulty: state.difficulty })
    state = vardiffOnShare(state, now, config).state
  }
  return { shares, final: state.difficulty }
}

describe("vardiff", () => {
  it("property: converges to the 15 s target interval within ±20% for hashrates over six orders of magnitude (1 kH/s to 1 TH/s), from a start 100x off either way", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 31 }), fc.integer({ min: 3, max: 12 }), fc.constantFrom(0.01, 1, 100), (seed, exponent, startOff) => {
        const hashrate = 10 ** exponent
        const ideal = (BigInt(Math.round(hashrate * 15)) * DIFFICULTY_SCALE) / MAINNET_HASHES_PER_DIFF
        const start = sendableDifficulty(BigInt(Math.max(1, Math.round(Number(ideal) * startOff))))
        const { shares } = simulate(seed, hashrate, start, 4 * 3600)
        // Measure after the first hour: mean interval of the shares that followed.
        const settled = shares.filter((s) => s.time > 3600_000)
        const intervals = settled.slice(1).map((s, i) => s.time - settled[i]!.time)
        const mean = intervals.reduce((a, b) => a + b, 0) / intervals.length / 1000
        expect(intervals.length).toBeGreaterThan(400)
        expect(mean, `hashrate 1e${exponent}, start x${startOff}`).toBeGreaterThan(15 * 0.8)
        expect(mean, `hashrate 1e${exponent}, start x${startOff}`).toBeLessThan(15 * 1.2)
      }),
      { numRuns: 40 },
    )
  })

  it("sends exactly the difficulty it checks: the wire number times 2^32 is the integer difficulty", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 1n, max: 1n << 90n }), (units) => {
        const d = sendableDifficulty(units)
        expect(d <= units && d >= 1n).toBe(true)
        const wire = JSON.parse(JSON.stringify(difficultyToWire(d))) as number
        // Exact: scale the double back to units with no rounding.
        expect(BigInt(wire * 2 ** 32)).toBe(d)
      }),
    )
  })

  it("starts from the profile's rated hashrate", () => {
    const config = defaultVardiffConfig(1n, 1n << 80n)
    // decred-gominer rated 5 GH/s on mainnet at 15 s: 5e9 * 15 / 2^32 = 17.46...
    const d = initialDifficultyFor(5e9, 15, MAINNET_HASHES_PER_DIFF, config)
    expect(difficultyToWire(d)).toBeCloseTo(17.4622, 3)
    // cpuminer on simnet (difficulty 1 = 2 hashes): 5e3 * 15 / 2 = 37,500.
    expect(difficultyToWire(initialDifficultyFor(5e3, 15, 2n, config))).toBe(37500)
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
