import fc from "fast-check"
import { Result } from "effect"
import { describe, expect, it } from "vitest"
import { chainActivations } from "../chain/agendas.ts"
import { SIMNET } from "../chain/params.ts"
import { currentRules, OWNERS, playHistory } from "../../testkit/stake-history.ts"
import { StakeChainDriver } from "./driver.ts"
import { StakeModel, type StakeEvent } from "./model.ts"

const freshChain = (activations = currentRules(SIMNET), isOnline?: (owner: string, height: number) => boolean) => {
  const model = new StakeModel(SIMNET, activations, { keepEndedTickets: true, maxReorgDepth: 64 })
  const driver = new StakeChainDriver(model, isOnline === undefined ? { seed: "unit" } : { seed: "unit", isOnline })
  return { model, driver }
}

/** Mines to `height`, buying `perBlock` tickets (alternating owners) from coinbase maturity on. */
const mineTo = (c: ReturnType<typeof freshChain>, height: number, perBlock = 8) => {
  const events: Array<StakeEvent> = []
  while (c.model.height < height) {
    if (c.model.height >= SIMNET.coinbaseMaturity) {
      for (let i = 0; i < perBlock; i++) Result.getOrThrow(c.model.submitTicket(c.driver.purchase(OWNERS[i % 3]!)))
    }
    events.push(...c.driver.mineBlock().events)
  }
  return events
}

describe("mempool", () => {
  it("refuses a purchase below the stake difficulty, with both prices in the message", () => {
    const c = freshChain()
    mineTo(c, 20)
    const p = { ...c.driver.purchase("alice"), price: SIMNET.minimumStakeDiff - 1n }
    const r = c.model.submitTicket({ ...p, commitments: [{ address: "alice", amount: p.price + p.fee }] })
    expect(Result.isFailure(r) && r.failure.reason).toBe("price-below-stake-difficulty")
    expect(Result.isFailure(r) && r.failure.message).toContain(`is below the stake difficulty ${SIMNET.minimumStakeDiff}`)
  })

  it("refuses commitments that do not add up to price + fee, and duplicates", () => {
    const c = freshChain()
    mineTo(c, 20)
    const p = c.driver.purchase("alice")
    const bad = c.model.submitTicket({ ...p, commitments: [{ address: "alice", amount: p.price }] })
    expect(Result.isFailure(bad) && bad.failure.reason).toBe("commitments-do-not-add-up")
    Result.getOrThrow(c.model.submitTicket(p))
    const again = c.model.submitTicket(p)
    expect(Result.isFailure(again) && again.failure.reason).toBe("duplicate")
  })

  it("drops a ticket priced for the past window when the price rises, and one whose expiry passes", () => {
    const c = freshChain()
    // Heavy demand: 40 tickets a block, 20 get in, the price climbs at each window boundary.
    const events = mineTo(c, 100, 40)
    const dropped = events.filter((e) => e._tag === "TicketDropped")
    expect(dropped.some((e) => e._tag === "TicketDropped" && e.reason === "price-below-stake-difficulty")).toBe(true)
    for (const e of dropped) {
      const t = c.model.ticket(e.ticket)!
      expect(t.status).toBe("dropped")
      expect(t.minedAt).toBeUndefined()
    }
    // A purchase that must be mined by the next block, behind 40 better-paying ones.
    const h = c.model.height
    for (let i = 0; i < 40; i++) Result.getOrThrow(c.model.submitTicket(c.driver.purchase("bob", 50_000n)))
    const late = Result.getOrThrow(c.model.submitTicket(c.driver.purchase("carol", 1n, 300, h + 2)))
    c.driver.mineBlock()
    expect(c.model.ticket(late.id)!.status).toBe("dropped")
    expect(c.model.ticket(late.id)!.dropReason).toBe("transaction-expired")
  })
})

describe("blocks the rules refuse", () => {
  it("too few votes, a vote by a ticket that was not called, too many purchases, wrong header fields", () => {
    const c = freshChain()
    mineTo(c, SIMNET.stakeValidationHeight - 1)
    const winners = c.model.nextWinners
    const reason = (r: ReturnType<typeof c.model.connectBlock>) => (Result.isFailure(r) ? r.failure.reason : "accepted")
    const block = (votes: ReadonlyArray<string>, tickets: ReadonlyArray<string> = []) => c.driver.buildBlock({ tickets, votes, revocations: [] })
    expect(reason(c.model.connectBlock(block(winners.slice(0, 2))))).toBe("not-enough-votes")
    const someLive = [...c.model.liveTickets()].find((id) => !winners.includes(id))!
    expect(reason(c.model.connectBlock(block([...winners.slice(0, 3), someLive])))).toBe("vote-not-a-winner")
    for (let i = 0; i < 21; i++) Result.getOrThrow(c.model.submitTicket(c.driver.purchase("dave")))
    const pending = c.model.mempoolTickets().map((t) => t.id)
    expect(reason(c.model.connectBlock(block(winners, pending.slice(0, 21))))).toBe("too-many-tickets")
    const good = block(winners)
    const tampered = good.header.slice()
    tampered[112] = tampered[112]! ^ 1 // PoolSize
    const r = c.model.connectBlock({ ...good, header: tampered })
    expect(reason(r)).toBe("header-mismatch")
    expect(Result.isFailure(r) && r.failure.message).toContain("poolsize")
    // Nothing of the refused blocks was applied.
    expect(c.model.height).toBe(SIMNET.stakeValidationHeight - 1)
    expect(reason(c.model.connectBlock(good))).toBe("accepted")
  })
})

describe("reorgs", () => {
  it("property: disconnecting blocks and connecting them again gives the same state and events", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 30 }), fc.integer({ min: 150, max: 220 }), (depth, height) => {
        const c = freshChain()
        mineTo(c, height)
        const before = JSON.stringify(snapshot(c.model), bigintJson)
        // Take the last `depth` blocks off, remembering their content, then put them back in order.
        const contents = []
        for (let i = 0; i < depth; i++) {
          contents.unshift(lastContent(c.model))
          c.model.disconnectBlock()
        }
        expect(c.model.height).toBe(height - depth)
        for (const content of contents) Result.getOrThrow(c.model.connectBlock(content))
        expect(JSON.stringify(snapshot(c.model), bigintJson)).toBe(before)
      }),
      { numRuns: 20 },
    )
  })
})

describe("before automatic revocations (DCP-0009)", () => {
  it("a missed ticket stays missed until its owner is online to revoke it, then returns its price", () => {
    const activations = chainActivations(SIMNET.agendas, { autorevocations: 1_000_000 })
    // alice is offline from SVH to SVH + 40.
    const away = (owner: string, height: number) => !(owner === "alice" && height >= SIMNET.stakeValidationHeight && height < SIMNET.stakeValidationHeight + 40)
    const c = freshChain(activations, away)
    const events = mineTo(c, SIMNET.stakeValidationHeight + 80)
    const missed = events.filter((e) => e._tag === "TicketMissed")
    expect(missed.length).toBeGreaterThan(0)
    for (const e of missed) {
      const t = c.model.ticket(e.ticket)!
      expect(t.purchase.owner).toBe("alice")
      expect(t.status).toBe("revoked")
      // Revoked only once alice was back, not in the block that missed it.
      expect(t.revokedAt!).toBeGreaterThanOrEqual(SIMNET.stakeValidationHeight + 40)
      expect(t.voteSubsidy).toBe(0n)
      expect(t.returns!.reduce((a, b) => a + b, 0n)).toBe(t.purchase.price)
    }
  })
})

describe("history runner", () => {
  it("plays the same plan to the same events (determinism)", () => {
    const plan = { seed: "det", blocksAfterSvh: 60, purchases: [[[1, 999, 300, 0] as const]], offlinePercent: [10, 0, 20, 0, 5] }
    const a = playHistory(SIMNET, plan)
    const b = playHistory(SIMNET, plan)
    expect(
      JSON.stringify(
        a.blocks.map((x) => x.events),
        bigintJson,
      ),
    ).toBe(
      JSON.stringify(
        b.blocks.map((x) => x.events),
        bigintJson,
      ),
    )
  })
})

const bigintJson = (_: string, v: unknown) => (typeof v === "bigint" ? `${v}n` : v instanceof Uint8Array ? Buffer.from(v).toString("hex") : v)

const snapshot = (m: StakeModel) => ({
  height: m.height,
  pool: [...m.liveTickets()],
  winners: m.nextWinners,
  finalState: m.finalState,
  sdiff: m.nextStakeDifficulty(),
  totals: m.totals,
  tickets: [...m.allTickets()].map((t) => ({ ...t, purchase: t.id })),
  mempool: m
    .mempoolTickets()
    .map((t) => t.id)
    .sort(),
})

/** The tip block's content, rebuilt from the model's records of it. */
const lastContent = (m: StakeModel) => {
  const h = m.height
  const tickets = [...m.allTickets()]
    .filter((t) => t.minedAt === h)
    .sort((a, b) => a.sequence - b.sequence)
    .map((t) => t.id)
  const votes = [...m.allTickets()].filter((t) => t.status === "voted" && t.spentAt === h).map((t) => t.id)
  return { header: m.tipHeaderBytes, tickets, votes, revocations: [] }
}
