import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { TestClock } from "effect/testing"
import { encodeAddress } from "../../core/chain/address.ts"
import { toHex } from "../../core/chain/bytes.ts"
import { bigToCompact } from "../../core/chain/targets.ts"
import { SIMNET } from "../../core/chain/params.ts"
import { makeSimDcrd, simulatedNetwork } from "../../emulators/dcrd.ts"
import { SimRandom } from "../../emulators/random.ts"
import { makeSimStakeView } from "./staking-view.ts"

const NETWORK = simulatedNetwork(SIMNET)
const address = (byte: number) => encodeAddress("p2pkh-ecdsa-secp256k1", new Uint8Array(20).fill(byte), NETWORK)
const BULK = address(1)
const CAROL = address(2)
const DAVE = address(3)

const startSim = Effect.gen(function* () {
  yield* TestClock.setTime(1_700_000_000_000)
  return yield* makeSimDcrd({
    network: NETWORK,
    random: new SimRandom(11),
    hashScale: 1,
    networkHashrate: 0,
    bits: bigToCompact(1n << 248n),
    bootstrapHeight: 160,
    stakers: [
      { owner: BULK, canVote: () => true },
      { owner: CAROL, canVote: () => true, ticketsPerBlock: 0 },
      // Never votes: its called tickets are missed and revoked in the same block (DCP-0009).
      { owner: DAVE, canVote: () => false, ticketsPerBlock: 1 },
    ],
  })
})

describe("the simulated staking view", () => {
  it.effect("follows a staker's tickets through their life, and keeps their end after the stake model forgot them", () =>
    Effect.gen(function* () {
      const sim = yield* startSim
      const view = yield* makeSimStakeView(sim)
      const bought = yield* sim.buyTickets(CAROL, 3)
      const display = bought.map((t) => toHex(Uint8Array.from(t.purchase.hash).reverse()))
      expect((yield* view.ticketsOf(CAROL)).map((t) => t.status)).toEqual(["unmined", "unmined", "unmined"])
      // A block a second, as the main job's chain runs: the view's refresh runs between them.
      const block = Effect.andThen(sim.mineNetworkBlock, TestClock.adjust(1_000))
      yield* block
      const minedAt = sim.height()
      expect(new Set((yield* view.ticketsOf(CAROL)).map((t) => t.status))).toEqual(new Set(["immature"]))
      while (sim.height() < minedAt + NETWORK.ticketMaturity) yield* block
      expect(new Set((yield* view.ticketsOf(CAROL)).map((t) => t.status))).toEqual(new Set(["live"]))
      for (let i = 0; i < 2_000 && sim.model.totalsFor(CAROL).counts.voted === 0; i++) yield* block
      const votedId = bought.find((t) => sim.model.ticket(t.id)?.status === "voted")!
      const votedAt = sim.model.ticket(votedId.id)!.spentAt!
      // Long enough for the model to let the voted ticket go.
      while (sim.height() < votedAt + 40) yield* block
      expect(sim.model.ticket(votedId.id)).toBeUndefined()
      const shown = (yield* view.ticketsOf(CAROL)).find((t) => t.ticket === display[bought.indexOf(votedId)])
      expect(shown).toMatchObject({ status: "voted", minedAt, liveAt: minedAt + NETWORK.ticketMaturity, spentAt: votedAt, price: votedId.purchase.price })
      expect(shown!.returned).toBeGreaterThan(votedId.purchase.price)

      const daves = yield* view.ticketsOf(DAVE)
      const revoked = daves.filter((t) => t.status === "revoked")
      expect(revoked.length).toBeGreaterThan(0)
      for (const t of revoked) expect([t.revokedBecause, t.revokedAt]).toEqual(["missed", t.spentAt])
      expect(yield* view.ticketsOf(address(9))).toEqual([])
    }),
  )

  it.effect("reads the price, the next window's band, the pool against its target, the price by window and each block's votes and misses", () =>
    Effect.gen(function* () {
      const sim = yield* startSim
      const view = yield* makeSimStakeView(sim)
      for (let i = 0; i < 30; i++) yield* sim.mineNetworkBlock
      const o = yield* view.overview
      const model = sim.model
      expect(o).toMatchObject({ height: sim.height(), price: model.nextStakeDifficulty(), poolSize: model.poolSize, windowSize: NETWORK.stakeDiffWindowSize })
      expect(o.poolTarget).toBe(NETWORK.ticketPoolSize * NETWORK.ticketsPerBlock)
      expect(o.estimate.min).toBeLessThanOrEqual(o.estimate.expected)
      expect(o.estimate.expected).toBeLessThanOrEqual(o.estimate.max)
      expect(o.estimate.nextWindowStartsAt % NETWORK.stakeDiffWindowSize).toBe(0)
      expect(o.estimate.nextWindowStartsAt - o.height - 1).toBe(o.estimate.blocksLeftInWindow)
      expect(o.estimate.blocksLeftInWindow).toBeLessThan(NETWORK.stakeDiffWindowSize)

      const history = yield* view.priceHistory(5)
      expect(history).toHaveLength(5)
      for (const w of history) expect(w.price).toBe(model.headerFactsAt(w.startHeight).sbits)
      expect(history.at(-1)!.startHeight).toBe(Math.floor(o.height / NETWORK.stakeDiffWindowSize) * NETWORK.stakeDiffWindowSize)

      const { blocks, total } = yield* view.recentBlocks(10, 2)
      expect(total).toBe(sim.height() + 1)
      expect(blocks.map((b) => b.height)).toEqual(Array.from({ length: 10 }, (_, i) => sim.height() - 2 - i))
      for (const b of blocks) {
        expect(b.hash).toBe(sim.blockAt(b.height)!.hash)
        expect(b.votes + b.misses).toBe(NETWORK.ticketsPerBlock)
        expect(b.revocations).toBe(b.misses)
      }
      // Dave never votes: some of those blocks missed his winners.
      expect(blocks.some((b) => b.misses > 0)).toBe(true)
    }),
  )
})
