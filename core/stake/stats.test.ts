import { describe, expect, it } from "vitest"
import { MAINNET, SIMNET, TESTNET3 } from "../chain/params.ts"
import { expiryChance, meanVotingBlocks, medianVotingBlocks, rewardPeriodBlocks, rewardPeriodSeconds, ticketRewardPercent } from "./stats.ts"

describe("stake stats (dcrdata's figures)", () => {
  // dcrdata's txhelpers/stake_test.go pins mean voting blocks and the reward period in blocks
  // (mean + ticket maturity + coinbase maturity) per network.
  it.each([
    [MAINNET, 7_860, 8_372],
    [TESTNET3, 1_006, 1_038],
    [SIMNET, 62, 94],
  ])("$0.name: mean voting blocks and reward period", (params, mean, period) => {
    expect(meanVotingBlocks(params)).toBe(mean)
    expect(rewardPeriodBlocks(params)).toBe(period)
  })

  it("reward period in time: 8,372 blocks of 5 minutes on mainnet (about 29 days)", () => {
    expect(rewardPeriodSeconds(MAINNET)).toBe(8_372 * 300)
  })

  it("median blocks to vote is ln 2 x the pool size (5,678 on mainnet)", () => {
    expect(medianVotingBlocks(MAINNET)).toBe(5_678)
    expect(medianVotingBlocks(SIMNET)).toBe(44)
  })

  it("chance of expiry: 0.674 % on mainnet, 0.24 % on simnet", () => {
    expect((expiryChance(MAINNET) * 100).toFixed(3)).toBe("0.674")
    expect((expiryChance(SIMNET) * 100).toFixed(2)).toBe("0.24")
  })

  it("ticket reward % = 100 x one vote's subsidy / price", () => {
    expect(ticketRewardPercent(1_00000000n, 200_00000000n)).toBe(0.5)
    expect(ticketRewardPercent(1n, 0n)).toBe(0)
  })
})
