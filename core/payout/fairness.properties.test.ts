import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { DIFFICULTY_SCALE } from "../stratum/difficulty.ts"
import { earningRate, meanAndError, simulatePool, type SimMiner } from "../../testkit/pool-sim.ts"
import type { PayoutScheme } from "./schemes.ts"

/**
 * Statistical fairness, through the production payout engine over simulated pools.
 *
 * Bound: each run simulates 4,000 blocks split into 40 batches of 100; a claim "x = y" passes
 * when |mean - y| <= 6 standard errors of the batch means (Student t with 39 degrees of
 * freedom: a false alarm about once in 10^6 checks), and "x > y" needs mean - 6 SE > y. With
 * these sizes one standard error is 1-2% of an earning rate, so "fair" means within about
 * 6-12%, while the hops the unfair schemes allow are worth 40-90% (measured: proportional
 * 1.93x, time-window PPLNS 1.41x). Runs per property: 6, each a fresh seed and parameters
 * drawn by fast-check (its seed is printed on failure); about 1.5 s per property.
 */
const SCALE = Number(DIFFICULTY_SCALE)
const D = 1000n * DIFFICULTY_SCALE
const REWARD = 500_000_000n
const RUNS = 6
const BLOCKS = 4000
const BATCHES = 40
const SIGMAS = 6

const pplns = (x: bigint): PayoutScheme => ({ kind: "pplns", windowMultiple: { numerator: x, denominator: 1n } })
const proportional: PayoutScheme = { kind: "proportional" }
const pps: PayoutScheme = { kind: "pps" }
const timeWindow: PayoutScheme = { kind: "pplns-time", periodMs: 600_000 }

const run = (seed: number, miners: ReadonlyArray<SimMiner>, scheme: PayoutScheme) =>
  simulatePool({ seed, miners, blocks: BLOCKS, networkDifficulty: D, reward: REWARD, scheme, feeBasisPoints: 100, batches: BATCHES })

/** hopper's earnings per unit of work relative to the steady miner's, batch by batch. */
const hopRatio = (seed: number, miners: ReadonlyArray<SimMiner>, scheme: PayoutScheme) => {
  const r = run(seed, miners, scheme)
  return meanAndError(r.batches.map((b) => earningRate(b, "hopper") / earningRate(b, "steady")))
}

/** Hops at the start of rounds: mines only while the round is younger than 40% of D. */
const earlyHopper = (shareDiff: bigint): ReadonlyArray<SimMiner> => [
  { account: "steady", rate: 8 * SCALE, shareDifficulty: shareDiff },
  { account: "hopper", rate: 2 * SCALE, shareDifficulty: shareDiff, active: (s) => s.roundWork < (D * 4n) / 10n },
]

/** The pool's hashrate alternates low/high every 600 s; the hopper mines late in low phases. */
const fluctuationHopper = (shareDiff: bigint): ReadonlyArray<SimMiner> => {
  const phase = 600
  return [
    { account: "steady", rate: 2 * SCALE, shareDifficulty: shareDiff },
    { account: "boost", rate: 8 * SCALE, shareDifficulty: shareDiff, active: (s) => Math.floor(s.time / phase) % 2 === 1 },
    { account: "hopper", rate: 2 * SCALE, shareDifficulty: shareDiff, active: (s) => Math.floor(s.time / phase) % 2 === 0 && s.time % phase > phase / 2 },
  ]
}

const seedArb = fc.integer({ min: 1, max: 2 ** 31 - 1 })
const shareDiffArb = fc.constantFrom(20n, 50n, 100n).map((d) => d * DIFFICULTY_SCALE)

describe("payout fairness (statistical, production engine over simulated pools)", () => {
  it("hop-proofness: hopping at round starts or into hashrate dips earns no more per unit of work under difficulty-window PPLNS and PPS", () => {
    fc.assert(
      fc.property(seedArb, shareDiffArb, fc.constantFrom(1n, 2n, 4n), (seed, shareDiff, x) => {
        for (const scheme of [pplns(x), pps]) {
          for (const miners of [earlyHopper(shareDiff), fluctuationHopper(shareDiff)]) {
            const { mean, error } = hopRatio(seed, miners, scheme)
            expect(Math.abs(mean - 1), `${scheme.kind} ${mean} ± ${error}`).toBeLessThanOrEqual(SIGMAS * error + 1e-9)
          }
        }
      }),
      { numRuns: RUNS },
    )
  })

  it("hoppability: proportional pays round-start hoppers more, and time-window PPLNS pays hashrate-dip hoppers more", () => {
    fc.assert(
      fc.property(seedArb, shareDiffArb, (seed, shareDiff) => {
        const prop = hopRatio(seed, earlyHopper(shareDiff), proportional)
        expect(prop.mean - SIGMAS * prop.error, `proportional ${prop.mean} ± ${prop.error}`).toBeGreaterThan(1.1)
        const time = hopRatio(seed, fluctuationHopper(shareDiff), timeWindow)
        expect(time.mean - SIGMAS * time.error, `time window ${time.mean} ± ${time.error}`).toBeGreaterThan(1.1)
      }),
      { numRuns: RUNS },
    )
  })

  it("proportionality: with steady miners, long-run payout shares converge to hashrate shares under every scheme", () => {
    fc.assert(
      fc.property(seedArb, fc.array(fc.integer({ min: 1, max: 10 }), { minLength: 2, maxLength: 4 }), (seed, rates) => {
        const miners = rates.map((r, i) => ({ account: `m${i}`, rate: r * SCALE, shareDifficulty: 25n * DIFFICULTY_SCALE }))
        const totalRate = rates.reduce((a, b) => a + b, 0)
        for (const scheme of [pplns(2n), proportional, pps, timeWindow]) {
          const r = run(seed, miners, scheme)
          rates.forEach((rate, i) => {
            const fractions = r.batches.map((b) => {
              const all = [...b.values()].reduce((s, x) => s + x.credited, 0n)
              return Number(b.get(`m${i}`)?.credited ?? 0n) / Number(all)
            })
            const { mean, error } = meanAndError(fractions)
            expect(Math.abs(mean - rate / totalRate), `${scheme.kind} m${i}`).toBeLessThanOrEqual(SIGMAS * error + 0.002)
          })
        }
      }),
      { numRuns: RUNS },
    )
  })

  // Proportional is left out: it pays R x d / W over a round whose W includes the share, which is
  // not linear in d; with shares a tenth of D the large-share miner got 0.93 of the small one's rate.
  //
  // PPLNS is invariant only up to a discretisation term, stated here rather than hidden by a wide
  // tolerance. The block-finding share is credited in full and the window is measured from the
  // end of that share, so a share of difficulty d earns (R / D) x (1 + (d - w) / 2N) per unit of
  // work, where N is the window and w the work-weighted mean share difficulty around it (a point
  // of work lies in a share of mean size w). Derivation: the share's own block chance adds d^2/2
  // over the continuous ideal, and measuring later windows from share ends takes back d x w / 2.
  // Measured over 240 batches: k = 2, 4, 10 give 1.0024, 1.0077, 1.0228 against 1.0025, 1.0075,
  // 1.0228 predicted. In a live pool d / N is below 1e-4, so the term is negligible; it only shows
  // here because this simulation uses shares a tenth of D to stay fast.
  it("difficulty invariance: from equal hashrates, small and large shares earn the same under PPS, and under PPLNS up to the (d - w) / 2N discretisation term", () => {
    fc.assert(
      fc.property(seedArb, fc.constantFrom(2n, 4n, 10n), (seed, k) => {
        const small = 10n * DIFFICULTY_SCALE
        const large = small * k
        const miners: ReadonlyArray<SimMiner> = [
          { account: "steady", rate: 5 * SCALE, shareDifficulty: small },
          { account: "hopper", rate: 5 * SCALE, shareDifficulty: large }, // "hopper" is just the large-share miner here
        ]
        const window = Number(D) * 2
        const meanShare = (Number(small) + Number(large)) / 2 // equal work from each miner
        const pplnsRate = (d: bigint) => 1 + (Number(d) - meanShare) / (2 * window)
        const cases: ReadonlyArray<readonly [PayoutScheme, number]> = [
          [pplns(2n), pplnsRate(large) / pplnsRate(small)],
          [pps, 1],
        ]
        for (const [scheme, want] of cases) {
          const { mean, error } = hopRatio(seed, miners, scheme)
          expect(Math.abs(mean - want), `${scheme.kind} ${mean} ± ${error}, expected ${want}`).toBeLessThanOrEqual(SIGMAS * error + 1e-9)
        }
      }),
      { numRuns: RUNS },
    )
  })
})
