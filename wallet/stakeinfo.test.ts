import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { MAINNET, SIMNET } from "../core/chain/params.ts"
import { arbitraryPlan, OWNERS, playHistory } from "../core/testing/stake-history.ts"
import { stakeInfoFor, stakeInfoInconsistencies } from "./stakeinfo.ts"

describe("getstakeinfo from the stake state", () => {
  for (const [params, runs] of [[SIMNET, 15], [MAINNET, 3]] as const) {
    it(`property: on ${params.name}, every wallet's stake info adds up after any history`, () => {
      fc.assert(
        fc.property(arbitraryPlan(150), (plan) => {
          const h = playHistory(params, plan)
          for (const owner of OWNERS) {
            const info = stakeInfoFor(h.model, owner)
            const bought = [...h.offered.entries()].filter(([id, o]) => o.owner === owner && h.model.ticket(id)!.status !== "dropped").length
            expect(stakeInfoInconsistencies(info, bought)).toEqual([])
            expect(info.poolsize).toBe(h.model.poolSize)
            expect(info.difficulty).toBe(h.model.nextStakeDifficulty())
          }
          const all = OWNERS.map((o) => stakeInfoFor(h.model, o))
          expect(all.reduce((n, i) => n + i.live, 0)).toBe(h.model.poolSize)
          expect(all.reduce((n, i) => n + i.ownmempooltix, 0)).toBe(all[0]!.allmempooltix)
        }),
        { numRuns: runs },
      )
    })
  }

  it("reports missed tickets and their proportion for a wallet that was often offline", () => {
    const plan = { seed: "info", blocksAfterSvh: 200, purchases: [[[0, 500, 300, 0] as const]], offlinePercent: [30, 0, 0, 0, 0] }
    const h = playHistory(SIMNET, plan)
    const alice = stakeInfoFor(h.model, "alice")
    expect(alice.missed).toBeGreaterThan(0)
    expect(alice.revoked).toBe(alice.missed + alice.expired) // DCP-0009 revokes at once
    expect(alice.proportionmissed.numerator * BigInt(alice.voted + alice.missed)).toBe(BigInt(alice.missed) * alice.proportionmissed.denominator)
    expect(alice.totalsubsidy).toBeGreaterThan(0n)
    const bob = stakeInfoFor(h.model, "bob")
    expect(bob.missed).toBe(0)
  })
})
