import { Result } from "effect"
import { describe, expect, it } from "vitest"
import { SIMNET } from "../core/chain/params.ts"
import { StakeChainDriver } from "../core/stake/driver.ts"
import { StakeModel } from "../core/stake/model.ts"
import { currentRules } from "../testkit/stake-history.ts"
import { canVote, votingServiceFee, type VotingArrangement } from "./voting.ts"

/** Deterministic up/down pattern: down on heights where (h * k) mod 10 < downTenths. */
const pattern = (k: number, downTenths: number) => (h: number) => (h * k) % 10 >= downTenths

describe("voting availability", () => {
  const solo = { kind: "solo", online: pattern(3, 2) } as const
  const vsp = { kind: "voting-service", servers: [pattern(3, 4), pattern(7, 4), pattern(9, 4)], feeBasisPoints: 200 } as const
  const arrangements: Record<string, VotingArrangement> = { solo, vsp, steady: { kind: "solo", online: () => true } }

  it("a solo wallet misses exactly when it is offline; a voting service only when all its servers are down", () => {
    const model = new StakeModel(SIMNET, currentRules(SIMNET), { keepEndedTickets: true })
    const driver = new StakeChainDriver(model, { seed: "voting", isOnline: (owner, h) => canVote(arrangements[owner]!, h) })
    const missedAt = new Map<string, Array<number>>()
    const votedAt = new Map<string, Array<number>>()
    while (model.height < SIMNET.stakeValidationHeight + 300) {
      if (model.height >= SIMNET.coinbaseMaturity) {
        for (const owner of ["solo", "vsp", "steady", "steady"]) Result.getOrThrow(model.submitTicket(driver.purchase(owner)))
      }
      const mined = driver.mineBlock()
      for (const e of mined.events) {
        if (e._tag === "TicketMissed" && !e.expired) {
          const owner = model.ticket(e.ticket)!.purchase.owner
          missedAt.set(owner, [...(missedAt.get(owner) ?? []), e.height])
        }
        if (e._tag === "TicketVoted") {
          const owner = model.ticket(e.ticket)!.purchase.owner
          votedAt.set(owner, [...(votedAt.get(owner) ?? []), e.height])
        }
      }
    }
    expect(missedAt.get("solo")!.length).toBeGreaterThan(0)
    for (const h of missedAt.get("solo")!) expect(solo.online(h)).toBe(false)
    for (const h of missedAt.get("vsp") ?? []) expect(vsp.servers.every((up) => !up(h))).toBe(true)
    // Each of the service's servers is down 40% of the time; together they miss far less often.
    const vspMissed = (missedAt.get("vsp") ?? []).length
    expect(vspMissed / (vspMissed + votedAt.get("vsp")!.length)).toBeLessThan(0.2)
    expect(missedAt.get("steady")).toBeUndefined()
  })

  it("charges the voting service's fee as a share of the vote subsidy", () => {
    expect(votingServiceFee(200, 8_811_881_188n)).toBe(176_237_623n)
    expect(votingServiceFee(0, 8_811_881_188n)).toBe(0n)
  })
})
