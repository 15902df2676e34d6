import fc from "fast-check"
import { Result } from "effect"
import { describe, expect, it } from "vitest"
import { chainActivations } from "../core/chain/agendas.ts"
import { MAINNET, SIMNET } from "../core/chain/params.ts"
import { StakeChainDriver } from "../core/stake/driver.ts"
import { StakeModel } from "../core/stake/model.ts"
import { arbitraryPlan, OWNERS, playHistory } from "../testkit/stake-history.ts"
import { stakeInfoFor, stakeInfoInconsistencies } from "./stakeinfo.ts"

describe("getstakeinfo from the stake state", () => {
  for (const [params, runs] of [
    [SIMNET, 15],
    [MAINNET, 3],
  ] as const) {
    it(`property: on ${params.name}, every wallet's stake info adds up after any history`, () => {
      fc.assert(
        fc.property(arbitraryPlan(150), (plan) => {
          const h = playHistory(params, plan)
          for (const owner of OWNERS) {
            const info = stakeInfoFor(h.model, owner)
            const bought = [...h.offered.entries()].filter(([id, o]) => o.owner === owner && h.model.ticket(id)!.status !== "dropped").length
            expect(stakeInfoInconsistencies(info, bought)).toEqual([])
            expect(info.poolsize).toBe(h.model.headerFactsAt(h.model.height).poolSize)
            expect(info.difficulty).toBe(h.model.nextStakeDifficulty())
          }
          // Every consensus-live ticket is the wallet's live or (matured in the tip block) immature.
          const all = OWNERS.map((o) => stakeInfoFor(h.model, o))
          const counts = h.model.totals.counts
          expect(all.reduce((n, i) => n + i.live + i.immature, 0)).toBe(counts.live + counts.immature + counts.missed + counts.expired)
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

  // What a real dcrwallet 2.1.5 answered on simnet (scenarios/simnet/staking.test.ts compares
  // the two on a live chain): maturity one block later than consensus, the tip header's pool size.
  it("counts a ticket immature in the block that made it live, as dcrwallet does, and reports the tip header's pool size", () => {
    const model = new StakeModel(SIMNET, chainActivations(SIMNET.agendas), { keepEndedTickets: true })
    const driver = new StakeChainDriver(model, { seed: "maturity" })
    while (model.height < 25) {
      if (model.height >= SIMNET.coinbaseMaturity) Result.getOrThrow(model.submitTicket(driver.purchase(model.height === 20 ? "alice" : "bob")))
      driver.mineBlock()
    }
    const mined = [...model.allTickets()].find((t) => t.purchase.owner === "alice")!.minedAt!
    while (model.height < mined + SIMNET.ticketMaturity) driver.mineBlock()
    expect(model.ticket([...model.allTickets()].find((t) => t.purchase.owner === "alice")!.id)!.status).toBe("live")
    const atMaturity = stakeInfoFor(model, "alice")
    expect([atMaturity.immature, atMaturity.live, atMaturity.unspent]).toEqual([1, 0, 0])
    driver.mineBlock()
    const after = stakeInfoFor(model, "alice")
    expect([after.immature, after.live, after.unspent]).toEqual([0, 1, 1])
    // The pool the tip's lottery drew from, not the one after the tip.
    expect(after.poolsize).toBe(model.headerFactsAt(model.height).poolSize)
    expect(after.poolsize).not.toBe(model.poolSize)
  })
})
