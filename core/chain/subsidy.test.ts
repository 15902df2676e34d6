import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { chainActivations } from "./agendas.ts"
import { MAINNET, REGNET, SIMNET } from "./params.ts"
import { blockSubsidies, fullBlockSubsidy, subsidySplitAt, treasurySubsidy, voteSubsidy, workSubsidy, type SubsidySplit } from "./subsidy.ts"

describe("subsidy on mainnet (values of the live chain's consensus)", () => {
  // [height, voters, split, full, work, one vote (of that height), treasury without the treasury agenda]
  const rows: ReadonlyArray<readonly [number, number, SubsidySplit, bigint, bigint, bigint, bigint]> = [
    [-1, 0, "original", 0n, 0n, 0n, 0n],
    [0, 0, "original", 0n, 0n, 0n, 0n],
    [1, 0, "original", 168000000000000n, 168000000000000n, 0n, 0n],
    [2, 0, "original", 3119582664n, 1871749598n, 0n, 311958266n],
    [2, 0, "dcp0010", 3119582664n, 311958266n, 0n, 311958266n],
    [2, 0, "dcp0012", 3119582664n, 31195826n, 0n, 311958266n],
    [4095, 0, "original", 3119582664n, 1871749598n, 187174959n, 311958266n],
    [4095, 0, "dcp0012", 3119582664n, 31195826n, 555285714n, 311958266n],
    [4096, 5, "original", 3119582664n, 1871749598n, 187174959n, 311958266n],
    [4096, 4, "original", 3119582664n, 1497399678n, 187174959n, 249566612n],
    [4096, 3, "dcp0010", 3119582664n, 187174959n, 499133226n, 187174959n],
    [4096, 2, "original", 3119582664n, 0n, 187174959n, 0n],
    [6144, 5, "original", 3088695706n, 1853217423n, 185321742n, 308869570n],
    [6144, 4, "dcp0012", 3088695706n, 24709565n, 549787835n, 247095656n],
    [12288, 5, "dcp0010", 3058114560n, 305811456n, 489298329n, 305811456n],
    [307200, 3, "dcp0012", 1896827356n, 11380963n, 337635269n, 113809641n],
    [10911744, 5, "original", 16n, 9n, 0n, 1n],
    [11010048, 5, "dcp0012", 0n, 0n, 0n, 0n],
  ]
  for (const [height, voters, split, full, work, vote, treasury] of rows) {
    it(`height ${height}, ${voters} votes, ${split}`, () => {
      expect(fullBlockSubsidy(MAINNET, height)).toBe(full)
      expect(workSubsidy(MAINNET, height, voters, split)).toBe(work)
      expect(voteSubsidy(MAINNET, height, split)).toBe(vote)
      expect(treasurySubsidy(MAINNET, height, voters, false, split)).toBe(treasury)
    })
  }

  it("treasury subsidy is not scaled by voters once the treasury agenda is active", () => {
    expect(treasurySubsidy(MAINNET, 4096, 4, true, "original")).toBe(311958266n)
    expect(treasurySubsidy(MAINNET, 307200, 3, true, "original")).toBe(189682735n)
    expect(treasurySubsidy(MAINNET, 4096, 2, true, "original")).toBe(0n) // still needs 3 votes
  })
})

describe("subsidy split by agenda state", () => {
  const mainnet = chainActivations(MAINNET.agendas)
  it("mainnet moved 60/30/10 -> 10/80/10 -> 1/89/10", () => {
    expect(subsidySplitAt(mainnet, 657279)).toBe("original")
    expect(subsidySplitAt(mainnet, 657280)).toBe("dcp0010")
    expect(subsidySplitAt(mainnet, 794367)).toBe("dcp0010")
    expect(subsidySplitAt(mainnet, 794368)).toBe("dcp0012")
  })
  it("simnet is 1/89/10 from block 2; regnet stays 60/30/10 until its chain votes", () => {
    expect(subsidySplitAt(chainActivations(SIMNET.agendas), 2)).toBe("dcp0012")
    expect(subsidySplitAt(chainActivations(REGNET.agendas), 100000)).toBe("original")
    expect(subsidySplitAt(chainActivations(REGNET.agendas, { changesubsidysplitr2: 1000 }), 1000)).toBe("dcp0012")
  })
})

describe("subsidy on simnet", () => {
  const activations = chainActivations(SIMNET.agendas)
  it("pays 500 DCR blocks, 1% to work, and the vote subsidy of the voted-on block", () => {
    expect(blockSubsidies(SIMNET, activations, 2, 0)).toEqual({
      split: "dcp0012",
      full: 50000000000n,
      work: 500000000n,
      perVote: 0n,
      treasury: 5000000000n,
    })
    // Block 144 (SVH) carries votes on 143, paid from 143's subsidy (after one 100/101 reduction).
    expect(blockSubsidies(SIMNET, activations, 144, 3)).toEqual({
      split: "dcp0012",
      full: 49504950495n,
      work: 297029702n,
      perVote: 8811881188n,
      treasury: 4950495049n,
    })
    expect(blockSubsidies(SIMNET, activations, 144, 2).work).toBe(0n)
  })

  it("property: the full subsidy never increases with height and the parts never exceed it", () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 400000 }), fc.integer({ min: 0, max: 5 }), (height, voters) => {
        const s = blockSubsidies(SIMNET, activations, height, voters)
        expect(fullBlockSubsidy(SIMNET, height + 1)).toBeLessThanOrEqual(s.full)
        expect(s.work + s.treasury + 5n * voteSubsidy(SIMNET, height, s.split)).toBeLessThanOrEqual(s.full)
      }),
      { numRuns: 300 },
    )
  })
})
