import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { MAINNET, SIMNET, type NetworkParams } from "../chain/params.ts"
import { arbitraryPlan, offline, OWNERS, playHistory, type History } from "../../testkit/stake-history.ts"
import { TICKET_STATUSES, type StakeEvent, type Ticket } from "./model.ts"

/**
 * The stake rules' properties over generated histories, on mainnet and simnet parameters.
 * Mainnet histories are long (SVH is block 4096), so they get fewer runs; each run still
 * covers thousands of blocks and hundreds of tickets. fast-check prints the seed and path
 * of a failing run; `fc.assert(..., { seed, path })` replays it.
 */
const networks: ReadonlyArray<readonly [NetworkParams, number, number]> = [
  [SIMNET, 25, 250], // params, runs, blocks after SVH at most
  [MAINNET, 8, 150],
]

const eventsOf = (h: History): Array<StakeEvent> => h.blocks.flatMap((b) => [...b.events])
const feeRateGreater = (a: Ticket, b: Ticket) => a.purchase.fee * BigInt(b.purchase.size) > b.purchase.fee * BigInt(a.purchase.size)
const feeRateEqual = (a: Ticket, b: Ticket) => a.purchase.fee * BigInt(b.purchase.size) === b.purchase.fee * BigInt(a.purchase.size)
const sum = (xs: ReadonlyArray<bigint>) => xs.reduce((a, b) => a + b, 0n)

for (const [params, runs, maxAfterSvh] of networks) {
  const tm = params.ticketMaturity
  describe(`stake model properties on ${params.name}`, () => {
    it(`maturity: every ticket goes live exactly ${tm} blocks after the block that mined it, and is never drawn before`, () => {
      fc.assert(
        fc.property(arbitraryPlan(maxAfterSvh), (plan) => {
          const h = playHistory(params, plan)
          const liveAt = new Map<string, number>()
          for (const e of eventsOf(h)) {
            if (e._tag === "TicketMatured") {
              const t = h.model.ticket(e.ticket)!
              expect(e.height - t.minedAt!).toBe(tm)
              liveAt.set(e.ticket, e.height)
            }
            if (e._tag === "TicketsDrawn") {
              for (const w of e.winners) {
                expect(liveAt.get(w), `winner ${w} at ${e.height}`).toBeDefined()
                expect(liveAt.get(w)!).toBeLessThanOrEqual(e.height)
              }
            }
          }
          // Every ticket mined long enough ago did go live (or had already ended, which needs going live first).
          for (const t of h.model.allTickets()) {
            if (t.minedAt !== undefined && t.minedAt + tm <= h.model.height) expect(t.liveAt).toBe(t.minedAt + tm)
          }
        }),
        { numRuns: runs },
      )
    })

    it("admission: at most 20 new tickets a block, highest fee rate first, and every ticket mined or dropped with a reason", () => {
      fc.assert(
        fc.property(arbitraryPlan(maxAfterSvh), (plan) => {
          const h = playHistory(params, plan)
          for (const b of h.blocks) {
            const mined = new Set(b.events.filter((e) => e._tag === "TicketMined").map((e) => (e as { ticket: string }).ticket))
            expect(mined.size).toBeLessThanOrEqual(params.maxFreshStakePerBlock)
            const minedTickets = b.mempoolBefore.filter((t) => mined.has(t.id))
            expect(minedTickets.length).toBe(mined.size)
            const waiting = b.mempoolBefore.filter((t) => !mined.has(t.id) && t.purchase.price >= b.sdiff && (t.purchase.expiry === 0 || b.height < t.purchase.expiry))
            // A block leaves an eligible ticket waiting only when it is full...
            if (waiting.length > 0) expect(mined.size).toBe(params.maxFreshStakePerBlock)
            // ...and never for a lower-paying one (or, at the same rate, a later arrival).
            for (const w of waiting) {
              for (const m of minedTickets) {
                expect(feeRateGreater(w, m), `${w.id} waits behind ${m.id} at ${b.height}`).toBe(false)
                if (feeRateEqual(w, m)) expect(w.sequence).toBeGreaterThan(m.sequence)
              }
            }
          }
          for (const id of h.offered.keys()) {
            const t = h.model.ticket(id)!
            if (t.status === "dropped") expect(t.dropReason).toBeDefined()
            else if (t.status !== "mempool") expect(t.minedAt).toBeDefined()
            else expect(h.model.height - t.receivedAt).toBeLessThanOrEqual(288) // still waiting, recently offered
          }
        }),
        { numRuns: runs },
      )
    })

    it("missed votes: a called ticket whose owner is offline is missed, then revoked, returning its price and no reward", () => {
      fc.assert(
        fc.property(arbitraryPlan(maxAfterSvh), (plan) => {
          const h = playHistory(params, plan)
          let drawn: ReadonlyArray<string> = []
          for (const b of h.blocks) {
            const missed = b.events.filter((e) => e._tag === "TicketMissed" && !e.expired).map((e) => (e as { ticket: string }).ticket)
            const voted = b.events.filter((e) => e._tag === "TicketVoted").map((e) => (e as { ticket: string }).ticket)
            if (b.height >= params.stakeValidationHeight) {
              // Exactly the previous draw's winners leave, split by whether their owner was online.
              expect(new Set([...missed, ...voted])).toEqual(new Set(drawn))
              for (const id of missed) expect(offline(plan, h.model.ticket(id)!.purchase.owner, b.height)).toBe(true)
              for (const id of voted) expect(offline(plan, h.model.ticket(id)!.purchase.owner, b.height)).toBe(false)
            }
            for (const id of missed) {
              const t = h.model.ticket(id)!
              // Automatic revocation (DCP-0009) in the same block: the price back, no subsidy.
              expect(t.status).toBe("revoked")
              expect(t.revokedAt).toBe(b.height)
              expect(t.voteSubsidy).toBe(0n)
              expect(sum(t.returns!)).toBe(t.purchase.price)
            }
            const draw = b.events.find((e) => e._tag === "TicketsDrawn")
            drawn = draw === undefined ? [] : (draw as { winners: ReadonlyArray<string> }).winners
          }
        }),
        { numRuns: runs },
      )
    })

    it("conservation: every ticket ends once; returned atoms = prices + vote subsidies (less vote rounding), fees never", () => {
      fc.assert(
        fc.property(arbitraryPlan(maxAfterSvh), (plan) => {
          const h = playHistory(params, plan)
          const ended = new Map<string, string>()
          let prices = 0n
          let subsidies = 0n
          let returned = 0n
          for (const e of eventsOf(h)) {
            if (e._tag === "TicketVoted" || e._tag === "TicketRevoked" || e._tag === "TicketDropped") {
              expect(ended.has(e.ticket), `${e.ticket} ended twice`).toBe(false)
              ended.set(e.ticket, e._tag)
              const t = h.model.ticket(e.ticket)!
              if (e._tag === "TicketDropped") continue
              const paid = sum(e.returns)
              const subsidy = e._tag === "TicketVoted" ? e.voteSubsidy : 0n
              // Never more than price + subsidy: the purchase fee is not paid back.
              expect(paid).toBeLessThanOrEqual(t.purchase.price + subsidy)
              if (e._tag === "TicketRevoked") expect(paid).toBe(t.purchase.price)
              else expect(t.purchase.price + subsidy - paid).toBeLessThan(BigInt(t.purchase.commitments.length))
              prices += t.purchase.price
              subsidies += subsidy
              returned += paid
            }
          }
          expect(returned + h.model.voteRoundingRemainder).toBe(prices + subsidies)
          expect(h.model.totals.returned).toBe(returned)
          expect(h.model.totals.voteSubsidies).toBe(subsidies)
          // Ended tickets are in an end state and nothing else is.
          for (const t of h.model.allTickets()) {
            const end = ended.get(t.id)
            expect(end === undefined).toBe(!["voted", "revoked", "dropped"].includes(t.status))
          }
        }),
        { numRuns: runs },
      )
    })

    it("stake info: per owner and for the network, the status counters always add up to the tickets accepted", () => {
      fc.assert(
        fc.property(arbitraryPlan(maxAfterSvh), (plan) => {
          const h = playHistory(params, plan)
          const offeredBy = new Map<string, number>()
          for (const { owner } of h.offered.values()) offeredBy.set(owner, (offeredBy.get(owner) ?? 0) + 1)
          for (const owner of OWNERS) {
            const totals = h.model.totalsFor(owner)
            const counted = TICKET_STATUSES.reduce((n, s) => n + totals.counts[s], 0)
            expect(counted).toBe(offeredBy.get(owner) ?? 0)
            // Under automatic revocations every missed or expired ticket is revoked at once.
            expect(totals.counts.missed + totals.counts.expired).toBe(0)
            expect(totals.counts.revoked).toBe(totals.missedEver + totals.expiredEver)
            // Counters agree with the tickets themselves.
            const own = [...h.model.allTickets()].filter((t) => t.purchase.owner === owner)
            for (const s of TICKET_STATUSES) expect(totals.counts[s]).toBe(own.filter((t) => t.status === s).length)
          }
          expect(h.model.totals.counts.live).toBe(h.model.poolSize)
        }),
        { numRuns: runs },
      )
    })
  })
}

describe("expiry on simnet", () => {
  it("a live ticket never called in TicketExpiry blocks expires and is revoked with its price", () => {
    // A pool far above target makes many tickets go uncalled for 384 blocks.
    const plan = {
      seed: "expiry",
      blocksAfterSvh: SIMNET.ticketExpiry + 60,
      purchases: [Array.from({ length: 20 }, (_, i) => [i % OWNERS.length, 1000, 300, 0] as const)],
      offlinePercent: [0, 0, 0, 0, 0],
    }
    const h = playHistory(SIMNET, plan)
    const expired = eventsOf(h).filter((e) => e._tag === "TicketMissed" && e.expired)
    expect(expired.length).toBeGreaterThan(0)
    for (const e of expired) {
      const t = h.model.ticket((e as { ticket: string }).ticket)!
      expect(e.height - t.liveAt!).toBe(SIMNET.ticketExpiry)
      expect(t.status).toBe("revoked")
      expect(sum(t.returns!)).toBe(t.purchase.price)
    }
  })
})
