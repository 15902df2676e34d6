import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { MAINNET, SIMNET } from "../chain/params.ts"
import { DIFFICULTY_SCALE, difficultyForHashes, difficultyOfTarget, expectedHashesAtDifficulty, expectedHashesForTarget, hashesPerUnitDifficulty, minerShareTarget, shareTarget } from "./difficulty.ts"

describe("the stratum difficulty unit", () => {
  it("difficulty 1 is the proof-of-work limit: 2^32 hashes on mainnet, 2 on simnet", () => {
    expect(hashesPerUnitDifficulty(MAINNET.powLimit)).toBe(1n << 32n)
    expect(hashesPerUnitDifficulty(SIMNET.powLimit)).toBe(2n)
    expect(shareTarget(MAINNET.powLimit, DIFFICULTY_SCALE)).toBe(MAINNET.powLimit)
    expect(difficultyOfTarget(MAINNET.powLimit, MAINNET.powLimit)).toBe(DIFFICULTY_SCALE)
  })

  it("the pool's share target for a whole difficulty is the one the miner derives", () => {
    expect(minerShareTarget(SIMNET.powLimit, 4n)).toBe(SIMNET.powLimit / 4n)
    fc.assert(
      fc.property(fc.bigInt({ min: 1n, max: 1n << 53n }), fc.constantFrom(MAINNET.powLimit, SIMNET.powLimit), (whole, powLimit) => {
        expect(shareTarget(powLimit, whole * DIFFICULTY_SCALE)).toBe(minerShareTarget(powLimit, whole))
      }),
    )
  })

  it("property: a share target never asks for less than its difficulty, and rounds to at most one unit above it", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 1n, max: 1n << 90n }), fc.constantFrom(MAINNET.powLimit, SIMNET.powLimit), (difficulty, powLimit) => {
        const target = shareTarget(powLimit, difficulty)
        const back = difficultyOfTarget(powLimit, target)
        expect(back >= difficulty).toBe(true)
        expect(back - difficulty <= 1n).toBe(true)
      }),
    )
  })

  it("expected hashes: of a target, of a difficulty, and the difficulty of a number of hashes", () => {
    expect(expectedHashesForTarget(MAINNET.powLimit)).toBe(2 ** 32)
    expect(expectedHashesAtDifficulty(16n * DIFFICULTY_SCALE, hashesPerUnitDifficulty(MAINNET.powLimit))).toBe(16 * 2 ** 32)
    expect(expectedHashesAtDifficulty(DIFFICULTY_SCALE / 2n, 2n)).toBe(1)
    expect(difficultyForHashes(16n << 32n, hashesPerUnitDifficulty(MAINNET.powLimit))).toBe(16n * DIFFICULTY_SCALE)
    expect(difficultyForHashes(3n, 2n)).toBe((3n * DIFFICULTY_SCALE) / 2n)
  })
})
