import { Effect, Result, Schedule, type Scope } from "effect"
import { decodeAddress } from "../../core/chain/address.ts"
import { hexToBytes, toHex } from "../../core/chain/bytes.ts"
import { decodeHeader } from "../../core/chain/header.ts"
import type { StakerTicket, StakeTicketStatus, StakeView } from "../../core/services/stake-view.ts"
import { StakeViewUnavailable } from "../../core/services/stake-view.ts"
import { estimateStakeDiff } from "../../core/stake/estimate.ts"
import type { StakeModel, Ticket } from "../../core/stake/model.ts"
import type { SimDcrd } from "../../emulators/dcrd.ts"

// ---- tickets by address ----------------------------------------------------------------------

/** dcrd prints a hash byte-reversed; the model keys tickets by their raw bytes. */
const displayHash = (id: string): string => toHex(hexToBytes(id).reverse())

const statusOf = (t: Ticket): StakeTicketStatus | undefined => (t.status === "dropped" ? undefined : t.status === "mempool" ? "unmined" : t.status)

const stakerTicket = (model: StakeModel, t: Ticket, status: StakeTicketStatus): StakerTicket => ({
  ticket: displayHash(t.id),
  status,
  price: t.purchase.price,
  fee: t.purchase.fee,
  minedAt: t.minedAt,
  liveAt: t.liveAt,
  spentAt: t.spentAt,
  revokedAt: t.revokedAt,
  // Expiry takes a ticket exactly TicketExpiry blocks after it went live; a miss, earlier.
  revokedBecause: status !== "revoked" || t.spentAt === undefined ? undefined : t.liveAt !== undefined && t.spentAt >= t.liveAt + model.params.ticketExpiry ? "expired" : "missed",
  returned: t.returns === undefined ? undefined : t.returns.reduce((a, b) => a + b, 0n),
})

/** Tickets kept per address, beyond which the oldest ended ones are let go. */
const MAX_TICKETS_PER_ADDRESS = 2_000

/**
 * The simulated node's stake state as the Staking page reads it. The stake model forgets a ticket
 * some blocks after it ended (its memory stays bounded), so this view keeps its own record of
 * every ticket by commitment address, refreshed from the model every second and before each
 * lookup: a ticket's last state is caught before the model lets it go (16 blocks later).
 */
export const makeSimStakeView = (dcrd: SimDcrd): Effect.Effect<StakeView["Service"], never, Scope.Scope> =>
  Effect.gen(function* () {
    const model = dcrd.model
    const network = dcrd.network
    /** Every ticket seen, by commitment address, then by id. */
    const byAddress = new Map<string, Map<string, StakerTicket>>()
    const refresh = Effect.sync(() => {
      for (const t of model.allTickets()) {
        const status = statusOf(t)
        for (const c of t.purchase.commitments) {
          let tickets = byAddress.get(c.address)
          if (tickets === undefined) {
            tickets = new Map()
            byAddress.set(c.address, tickets)
          }
          // A dropped purchase never reached the chain: as dcrd forgets it, so does the view.
          if (status === undefined) tickets.delete(t.id)
          else tickets.set(t.id, stakerTicket(model, t, status))
        }
      }
      // A demo chain runs a block a second for as long as it is left up: keep each address's
      // newest ended tickets only (a Map iterates in arrival order, oldest first).
      for (const tickets of byAddress.values()) {
        let excess = tickets.size - MAX_TICKETS_PER_ADDRESS
        for (const [id, t] of tickets) {
          if (excess <= 0) break
          if (t.status === "voted" || t.status === "revoked") {
            tickets.delete(id)
            excess--
          }
        }
      }
    })
    yield* Effect.forkScoped(Effect.repeat(refresh, Schedule.spaced("1 second")))

    const service: StakeView["Service"] = {
      overview: Effect.sync(() => {
        const p = model.params
        const estimate = estimateStakeDiff(model)
        return {
          height: model.height,
          price: model.nextStakeDifficulty(),
          estimate: { min: estimate.min, max: estimate.max, expected: estimate.expected, blocksLeftInWindow: estimate.blocksLeftInWindow, nextWindowStartsAt: estimate.nextWindowStartsAt },
          windowSize: p.stakeDiffWindowSize,
          poolSize: model.poolSize,
          poolTarget: p.ticketPoolSize * p.ticketsPerBlock,
          mempoolTickets: model.totals.counts.mempool,
        }
      }),
      priceHistory: (windows) =>
        Effect.sync(() => {
          const size = model.params.stakeDiffWindowSize
          const last = Math.floor(model.height / size)
          const first = Math.max(0, last - windows + 1)
          return Array.from({ length: last - first + 1 }, (_, i) => {
            const startHeight = (first + i) * size
            return { startHeight, price: model.headerFactsAt(startHeight).sbits }
          })
        }),
      recentBlocks: (limit, offset) =>
        Effect.suspend(() => {
          const tip = dcrd.height()
          const blocks = []
          for (let height = tip - offset; height >= 0 && height > tip - offset - limit; height--) {
            const block = dcrd.blockAt(height)
            const header = block === undefined ? undefined : decodeHeader(block.header)
            if (block === undefined || header === undefined || Result.isFailure(header)) {
              return Effect.fail(new StakeViewUnavailable({ reason: `the simulated node has no readable block at height ${height}` }))
            }
            const h = header.success
            blocks.push({
              height,
              hash: block.hash,
              votes: h.voters,
              misses: height >= network.stakeValidationHeight ? network.ticketsPerBlock - h.voters : 0,
              revocations: h.revocations,
              tickets: h.freshStake,
              poolSize: h.poolSize,
              price: h.sbits,
            })
          }
          return Effect.succeed({ blocks, total: tip + 1 })
        }),
      ticketsOf: (address) =>
        Effect.gen(function* () {
          if (Result.isFailure(decodeAddress(address, network))) return yield* Effect.fail(new StakeViewUnavailable({ reason: `${address} is not a ${network.name} address` }))
          yield* refresh
          const tickets = [...(byAddress.get(address)?.values() ?? [])]
          // Newest first: unmined ones on top, then by the height they were mined.
          return tickets.sort((a, b) => (b.minedAt ?? Number.MAX_SAFE_INTEGER) - (a.minedAt ?? Number.MAX_SAFE_INTEGER))
        }),
    }
    return service
  })
