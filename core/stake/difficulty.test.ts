import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { fullBlockSubsidy } from "../chain/subsidy.ts"
import { MAINNET, SIMNET } from "../chain/params.ts"
import { estimateSupply, nextStakeDifficulty, type StakeHeaderFacts } from "./difficulty.ts"

/**
 * Builds a chain the way dcrd's TestCalcNextRequiredStakeDiffV2 does (runs of blocks with a
 * number of fresh tickets each at a given price; tickets join the pool TicketMaturity blocks
 * later and five leave per block from SVH), checking the price of every run as it goes.
 */
const priceAfter = (runs: ReadonlyArray<readonly [blocks: number, tickets: number, price: bigint]>): bigint => {
  const params = MAINNET
  const chain: Array<StakeHeaderFacts> = [{ sbits: params.minimumStakeDiff, poolSize: 0, freshStake: 0 }]
  const history = (h: number) => chain[h]!
  const maturing = new Map<number, number>()
  let poolSize = 0
  for (const [blocks, tickets, price] of runs) {
    expect(nextStakeDifficulty(params, chain.length - 1, history)).toBe(price)
    for (let i = 0; i < blocks; i++) {
      const height = chain.length
      chain.push({ sbits: price, poolSize, freshStake: tickets })
      poolSize += maturing.get(height) ?? 0
      maturing.delete(height)
      if (height >= params.stakeValidationHeight) poolSize -= params.ticketsPerBlock
      maturing.set(height + params.ticketMaturity, tickets)
    }
  }
  return nextStakeDifficulty(params, chain.length - 1, history)
}

describe("stake difficulty (DCP-0001) on mainnet, dcrd's scenarios", () => {
  const min = MAINNET.minimumStakeDiff
  it("stays at the minimum before coinbases mature and with half demand", () => {
    expect(priceAfter([[143, 0, min]])).toBe(min)
    expect(priceAfter([[255, 20, min]])).toBe(min)
    expect(
      priceAfter([
        [256, 0, min],
        [3919, 10, min],
      ]),
    ).toBe(min)
  })
  it("16th and 17th retargets at 100% demand", () => {
    expect(
      priceAfter([
        [256, 0, min],
        [2046, 20, min],
      ]),
    ).toBe(min)
    expect(
      priceAfter([
        [256, 0, min],
        [2047, 20, min],
      ]),
    ).toBe(208418769n)
    expect(
      priceAfter([
        [256, 0, min],
        [2047, 20, min],
        [143, 20, 208418769n],
      ]),
    ).toBe(208418769n)
    expect(
      priceAfter([
        [256, 0, min],
        [2047, 20, min],
        [144, 20, 208418769n],
      ]),
    ).toBe(231326567n)
  })
  it("24th retarget with varying demand", () => {
    const runs: Array<readonly [number, number, bigint]> = [
      [256, 0, min],
      [31, 20, min],
    ]
    for (let i = 0; i < 18; i++) runs.push([144, i % 2 === 0 ? 10 : 20, min])
    runs.push([144, 9, 201743368n], [144, 20, 201093236n], [144, 8, 222625877n], [144, 20, 242331291n])
    expect(priceAfter(runs)).toBe(291317641n)
  })
  it("29th and 31st retargets, rising then waning demand", () => {
    const prices = [208418769n, 231326567n, 272451490n, 339388424n, 445827839n, 615949254n, 892862990n, 1354989669n, 2148473276n, 3552797658n, 6116808441n, 10947547379n, 20338554623n]
    const rising: Array<readonly [number, number, bigint]> = [[256, 0, min], [2047, 20, min], ...prices.map((p) => [144, 20, p] as const)]
    expect(priceAfter(rising)).toBe(22097687698n)
    const waning: Array<readonly [number, number, bigint]> = [
      [256, 0, min],
      [2047, 20, min],
      ...prices.slice(0, 10).map((p) => [144, 20, p] as const),
      [144, 13, 6116808441n],
      [144, 0, 10645659768n],
      [144, 0, 18046712136n],
      [144, 0, 22097687698n],
      [144, 0, 22152524112n],
    ]
    expect(priceAfter(waning)).toBe(22207360526n)
  })
})

describe("estimated supply", () => {
  it("property: equals the block-1 ledger plus the full subsidy of blocks 2..h", () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 1000 }), (height) => {
        let sum = SIMNET.blockOneSubsidy
        for (let h = 2; h <= height; h++) sum += fullBlockSubsidy(SIMNET, h)
        expect(estimateSupply(SIMNET, height)).toBe(sum)
      }),
      { numRuns: 50 },
    )
  })
})
