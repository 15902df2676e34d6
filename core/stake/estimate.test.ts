import { Result } from "effect"
import { describe, expect, it } from "vitest"
import { SIMNET } from "../chain/params.ts"
import { currentRules, OWNERS } from "../../testkit/stake-history.ts"
import { StakeChainDriver } from "./driver.ts"
import { estimateStakeDiff, type StakeDiffEstimate } from "./estimate.ts"
import { StakeModel } from "./model.ts"

const WINDOW = SIMNET.stakeDiffWindowSize
const MAX_PER_BLOCK = SIMNET.maxFreshStakePerBlock

/** A simnet chain where demand changes with the height, so the price moves both ways. */
const chain = () => {
  const model = new StakeModel(SIMNET, currentRules(SIMNET), { maxReorgDepth: 4 })
  const driver = new StakeChainDriver(model, { seed: "estimate" })
  const demand = (height: number) => [0, 3, 25, 12, 1, 40, 7, 0][Math.floor(height / 37) % 8]!
  const mineOne = () => {
    if (model.height >= SIMNET.coinbaseMaturity) {
      for (let i = 0; i < demand(model.height); i++) Result.getOrThrow(model.submitTicket(driver.purchase(OWNERS[i % OWNERS.length]!)))
    }
    driver.mineBlock()
  }
  return { model, mineOne }
}

describe("estimatestakediff", () => {
  it("before coinbases mature nobody can buy: every estimate is the minimum", () => {
    const { model, mineOne } = chain()
    const atGenesis: StakeDiffEstimate = {
      min: SIMNET.minimumStakeDiff,
      max: SIMNET.minimumStakeDiff,
      expected: SIMNET.minimumStakeDiff,
      blocksLeftInWindow: WINDOW - 1,
      nextWindowStartsAt: WINDOW,
    }
    expect(estimateStakeDiff(model)).toEqual(atGenesis)
    while (model.height < 5) mineOne()
    expect(estimateStakeDiff(model, 20)).toMatchObject({ user: SIMNET.minimumStakeDiff, blocksLeftInWindow: 2, nextWindowStartsAt: 8 })
  })

  it("on a window's last block min, expected and max are the price the next block must pay", () => {
    const { model, mineOne } = chain()
    let windowEnds = 0
    let moved = 0
    while (model.height < 400) {
      mineOne()
      const e = estimateStakeDiff(model)
      expect(e.nextWindowStartsAt % WINDOW).toBe(0)
      expect(e.blocksLeftInWindow).toBe(e.nextWindowStartsAt - model.height - 1)
      if (e.blocksLeftInWindow === 0) {
        windowEnds++
        const next = model.nextStakeDifficulty()
        expect([e.min, e.expected, e.max, estimateStakeDiff(model, 0).user], `tip ${model.height}`).toEqual([next, next, next, next])
        if (next !== model.headerFactsAt(model.height).sbits) moved++
      }
    }
    expect(windowEnds).toBe(50)
    expect(moved).toBeGreaterThan(10)
  })

  it("inside a window: min <= expected <= max, more tickets never lower the estimate", () => {
    const { model, mineOne } = chain()
    let spread = 0
    while (model.height < 400) {
      mineOne()
      const e = estimateStakeDiff(model)
      expect(e.min <= e.expected && e.expected <= e.max, `tip ${model.height}`).toBe(true)
      if (e.min < e.max) spread++
      const most = e.blocksLeftInWindow * MAX_PER_BLOCK
      let previous = e.min
      for (const n of [0, 1, Math.floor(most / 3), most - 1, most].filter((n) => n >= 0 && n <= most)) {
        const user = estimateStakeDiff(model, n).user!
        expect(user >= previous, `tip ${model.height}, ${n} tickets`).toBe(true)
        previous = user
      }
      expect(estimateStakeDiff(model, most).user).toBe(e.max)
    }
    expect(spread).toBeGreaterThan(100)
  })

  it("expected projects the window's pace so far; a window's first block counts itself alone", () => {
    const { model, mineOne } = chain()
    let firstBlocks = 0
    while (model.height < 400) {
      mineOne()
      const e = estimateStakeDiff(model)
      if (model.height % WINDOW !== 0 || model.height < SIMNET.coinbaseMaturity + 2) continue
      firstBlocks++
      const fresh = model.headerFactsAt(model.height).freshStake
      expect(e.blocksLeftInWindow).toBe(WINDOW - 1)
      expect(e.expected, `tip ${model.height} with ${fresh} fresh`).toBe(estimateStakeDiff(model, fresh * (WINDOW - 1)).user)
    }
    expect(firstBlocks).toBeGreaterThan(40)
  })

  it("refuses a ticket count the rest of the window cannot take, as dcrd does", () => {
    const { model, mineOne } = chain()
    while (model.height < 60) mineOne()
    const left = estimateStakeDiff(model).blocksLeftInWindow
    expect(() => estimateStakeDiff(model, left * MAX_PER_BLOCK + 1)).toThrow(
      `cannot estimate the stake difficulty with ${left * MAX_PER_BLOCK + 1} tickets: give a whole number from 0 to ${left * MAX_PER_BLOCK}, the most the ${left} blocks left in this window can take`,
    )
    expect(() => estimateStakeDiff(model, -1)).toThrow("give a whole number from 0")
    expect(() => estimateStakeDiff(model, 1.5)).toThrow("give a whole number from 0")
  })
})
