import { describe, expect, it } from "@effect/vitest"
import { Effect, Result, Stream } from "effect"
import { TestClock } from "effect/testing"
import { powAlgorithmAt } from "../core/chain/difficulty.ts"
import { encodeGetworkData } from "../core/chain/getwork.ts"
import type { PowHashAlgorithm } from "../core/chain/hash.ts"
import { blockHashDisplay, decodeHeader, HEADER_BYTES, HeaderOffset, powHash } from "../core/chain/header.ts"
import { MAINNET, REGNET, SIMNET } from "../core/chain/params.ts"
import { subsidySplitAt, workSubsidy } from "../core/chain/subsidy.ts"
import { bigToCompact, compactToBig, hashMeetsTarget } from "../core/chain/targets.ts"
import type { ChainEvent } from "../core/services/chain.ts"
import { bitsForHashrate, describeSimDcrdEvent, makeSimDcrd, simulatedNetwork, type SimDcrd, type SimDcrdEvent, type SimDcrdOptions } from "./dcrd.ts"
import { SimRandom } from "./random.ts"

/** 2023-11-14: well past every network's genesis plus any bootstrap used here. */
const START_MILLIS = 1_700_000_000_000
const SIM_SIMNET = simulatedNetwork(SIMNET)
/** One hash in 256 meets it: a test finds blocks by really hashing in microseconds. */
const EASY_BITS = bigToCompact(1n << 248n)
const always = () => true

/**
 * A simulated simnet node at START_MILLIS. Without a network hashrate the chain only grows by
 * the test's hand, at EASY_BITS; with one, the difficulty starts where that hashrate needs it.
 */
const startSim = (overrides: Partial<SimDcrdOptions> = {}) =>
  Effect.gen(function* () {
    yield* TestClock.setTime(START_MILLIS)
    const bits = overrides.networkHashrate === undefined ? { bits: EASY_BITS } : {}
    return yield* makeSimDcrd({ network: SIM_SIMNET, random: new SimRandom(7), hashScale: 1, networkHashrate: 0, ...bits, ...overrides })
  })

/** Every ChainEvent the node sends from now on, as the pool would read them. */
const collectEvents = (sim: SimDcrd) =>
  Effect.gen(function* () {
    const seen: Array<ChainEvent> = []
    yield* Effect.forkScoped(Stream.runForEach(sim.service.events, (e) => Effect.sync(() => void seen.push(e))))
    yield* settle
    return seen
  })

/** Lets forked fibers (the event reader) catch up without moving the clock. */
const settle = Effect.gen(function* () {
  for (let i = 0; i < 20; i++) yield* Effect.yieldNow
})

const heightOf = (header: Uint8Array): number => Result.getOrThrow(decodeHeader(header)).height

/** Grinds the nonce (header offset 140) until the proof of work meets, or with `fail`, misses the target. */
const grind = (header: Uint8Array, algorithm: PowHashAlgorithm, target: bigint, fail = false): Uint8Array => {
  const out = header.slice(0, HEADER_BYTES)
  const view = new DataView(out.buffer)
  for (let nonce = 0; nonce < 1_000_000; nonce++) {
    view.setUint32(HeaderOffset.nonce, nonce, true)
    if (hashMeetsTarget(powHash(out, algorithm), target) !== fail) return out
  }
  throw new Error("no nonce found")
}

/** Gets work and solves it with the active proof of work, as a miner would. */
const solveWork = (sim: SimDcrd) =>
  Effect.gen(function* () {
    const work = yield* sim.service.getWork
    const height = heightOf(work.data.slice(0, HEADER_BYTES))
    const algorithm = powAlgorithmAt(sim.activations, height)
    const header = grind(work.data, algorithm, work.target)
    return { header, algorithm, data: encodeGetworkData(header, algorithm), work }
  })

describe("simulatedNetwork and bitsForHashrate", () => {
  it("keeps the base network's rules at a hashable difficulty, with BLAKE3 and today's agendas from block 1", () => {
    const net = simulatedNetwork(MAINNET, { startBits: 0x1f00ffff })
    expect(net.ticketMaturity).toBe(MAINNET.ticketMaturity)
    expect(net.stakeValidationHeight).toBe(4096)
    expect(net.ports).toEqual(MAINNET.ports)
    expect(net.powLimitBits).toBe(0x207fffff)
    expect(net.workDiffV2Blake3StartBits).toBe(0x1f00ffff)
    expect(net.agendas.blake3pow).toEqual({ kind: "forced" })
    expect(net.agendas.sdiffalgorithm).toEqual({ kind: "forced" })
    expect(net.agendas.autorevocations).toEqual({ kind: "forced" })
    expect(simulatedNetwork(MAINNET, { blake3: "as-base" }).agendas.blake3pow).toEqual(MAINNET.agendas.blake3pow)
  })

  it("bits for a hashrate expect hashrate / hashScale x targetTimePerBlock real hashes per block", () => {
    const net = simulatedNetwork(MAINNET)
    const bits = bitsForHashrate(net, 1e12, 1e9) // 1,000 real H/s x 300 s
    const expected = Number((1n << 256n) / (compactToBig(bits) + 1n))
    expect(expected).toBeGreaterThan(299_000)
    expect(expected).toBeLessThan(301_000)
    expect(bitsForHashrate(net, 0, 1e9)).toBe(net.powLimitBits)
  })
})

describe("simulated dcrd", () => {
  it.effect("network blocks arrive every targetTimePerBlock on average in virtual time", () =>
    Effect.gen(function* () {
      const network = simulatedNetwork(MAINNET)
      const sim = yield* startSim({ network, networkHashrate: 1e12, hashScale: 1e9 })
      // 200 expected blocks: the count's standard deviation is about 14.
      yield* TestClock.adjust(200 * 300 * 1000)
      const blocks = sim.height()
      expect(blocks).toBeGreaterThan(150)
      expect(blocks).toBeLessThan(260)
      expect(sim.counts().networkBlocks).toBe(blocks)
      const mean = (sim.blockAt(blocks)!.timestamp - sim.blockAt(1)!.timestamp) / (blocks - 1)
      expect(mean).toBeGreaterThan(230)
      expect(mean).toBeLessThan(400)
    }),
  )

  it.effect("a block solved by really hashing a getWork template is accepted; a bad nonce, wrong prevBlock or wrong padding is refused", () =>
    Effect.gen(function* () {
      const sim = yield* startSim()
      const events = yield* collectEvents(sim)
      const { header, algorithm, data } = yield* solveWork(sim)
      expect(algorithm).toBe("blake3")
      const target = compactToBig(Result.getOrThrow(decodeHeader(header)).bits)

      const badNonce = encodeGetworkData(grind(header, algorithm, target, true), algorithm)
      expect(yield* sim.service.submitWork(badNonce)).toBe(false)

      const otherParent = header.slice()
      otherParent.fill(0x42, HeaderOffset.prevBlock, HeaderOffset.prevBlock + 32)
      expect(yield* sim.service.submitWork(encodeGetworkData(grind(otherParent, algorithm, target), algorithm))).toBe(false)

      expect(yield* sim.service.submitWork(encodeGetworkData(header, "blake256"))).toBe(false)
      // Garbage never throws: the wrong length is dcrd's invalid-parameter error, the right length a refusal.
      const short = yield* Effect.flip(sim.service.submitWork(new Uint8Array(10)))
      expect(short._tag === "ChainRpcError" && short.code).toBe(-8)
      expect(yield* sim.service.submitWork(new SimRandom(1).bytes(192))).toBe(false)
      expect(sim.height()).toBe(0)

      expect(yield* sim.service.submitWork(data)).toBe(true)
      expect(sim.height()).toBe(1)
      expect(sim.blockAt(1)!.finder).toBe("pool")
      expect(sim.tipHash()).toBe(blockHashDisplay(header))
      expect((yield* sim.service.getBestBlock).hash).toBe(blockHashDisplay(header))
      // The same block again is stale now.
      expect(yield* sim.service.submitWork(data)).toBe(false)

      yield* settle
      const connected = events.findIndex((e) => e._tag === "BlockConnected")
      expect(connected).toBeGreaterThanOrEqual(0)
      const event = events[connected]!
      expect(event._tag === "BlockConnected" && blockHashDisplay(event.header)).toBe(blockHashDisplay(header))
      const next = events[connected + 1]!
      expect(next._tag === "Work" && next.work.reason).toBe("newparent")
      expect(next._tag === "Work" && heightOf(next.work.data.slice(0, HEADER_BYTES))).toBe(2)
    }),
  )

  it.effect("bootstrap past SVH on simnet gives a full set of winners, and templates carry the votes as they arrive", () =>
    Effect.gen(function* () {
      const log: Array<SimDcrdEvent> = []
      const sim = yield* startSim({
        bootstrapHeight: 200,
        stakers: [
          { owner: "alice", canVote: always },
          { owner: "bob", canVote: always },
        ],
        voteDelayMillis: { min: 100, max: 900 },
        log: (e) => log.push(e),
      })
      expect(sim.height()).toBe(200)
      expect(sim.model.nextWinners).toHaveLength(5)
      expect(sim.model.poolSize).toBeGreaterThan(100)
      // The tip at the clock's start, targetTimePerBlock after its parent.
      expect(sim.blockAt(200)!.timestamp).toBe(START_MILLIS / 1000)
      expect(sim.blockAt(200)!.timestamp - sim.blockAt(199)!.timestamp).toBe(SIMNET.targetTimePerBlock)

      const early = yield* Effect.flip(sim.service.getWork)
      expect(early._tag).toBe("ChainRpcError")
      expect(early._tag === "ChainRpcError" && early.code).toBe(-1)
      expect(early.message).toContain("not enough voters")

      yield* TestClock.adjust(1_000)
      const work = yield* sim.service.getWork
      const header = Result.getOrThrow(decodeHeader(work.data.slice(0, HEADER_BYTES)))
      expect(header.height).toBe(201)
      expect(header.voters).toBe(5)
      expect(header.poolSize).toBe(sim.model.poolSize)
      expect(header.sbits).toBe(sim.model.nextStakeDifficulty())
      expect(header.finalState).toEqual(sim.model.finalState)
      const issued = log.filter((e) => e._tag === "WorkIssued").map((e) => (e._tag === "WorkIssued" ? [e.reason, e.voters] : []))
      expect(issued.slice(0, 3)).toEqual([
        ["newparent", 3],
        ["newvotes", 4],
        ["newvotes", 5],
      ])
    }),
  )

  it.effect("a pool block at SVH with real votes is accepted and its coinbase is the work subsidy of its voters", () =>
    Effect.gen(function* () {
      const sim = yield* startSim({ bootstrapHeight: 160, stakers: [{ owner: "alice", canVote: always }] })
      yield* TestClock.adjust(3_000)
      const { header, data } = yield* solveWork(sim)
      expect(yield* sim.service.submitWork(data)).toBe(true)
      const h = Result.getOrThrow(decodeHeader(header))
      const value = yield* sim.service.coinbaseValue(blockHashDisplay(header))
      expect(h.voters).toBe(5)
      expect(value).toBe(workSubsidy(sim.network, 161, 5, subsidySplitAt(sim.activations, 161)))
    }),
  )

  it.effect("regnet before its votes: BLAKE-256 work with its padding, and owners revoke their missed tickets", () =>
    Effect.gen(function* () {
      const network = simulatedNetwork(REGNET, { blake3: "as-base", agendas: "as-base" })
      const sim = yield* startSim({
        network,
        bootstrapHeight: 200,
        stakers: [
          { owner: "steady", canVote: always, ticketsPerBlock: 15 },
          { owner: "flaky", canVote: (h) => h % 2 === 0, ticketsPerBlock: 5 },
        ],
      })
      expect(sim.model.autoRevocations).toBe(false)
      const flaky = sim.model.totalsFor("flaky")
      expect(flaky.missedEver).toBeGreaterThan(0)
      expect(flaky.counts.revoked).toBeGreaterThan(0)
      let revokedInBlocks = 0
      for (let h = 1; h <= 200; h++) revokedInBlocks += sim.blockAt(h)!.revocations.length
      expect(revokedInBlocks).toBe(sim.model.totals.counts.revoked)

      yield* TestClock.adjust(3_000)
      const { data, algorithm } = yield* solveWork(sim)
      expect(algorithm).toBe("blake256")
      expect(Array.from(data.subarray(HEADER_BYTES))).toEqual([0x80, 0, 0, 0x01, 0, 0, 0, 0, 0, 0, 0x05, 0xa0])
      expect(yield* sim.service.submitWork(encodeGetworkData(data.slice(0, HEADER_BYTES), "blake3"))).toBe(false)
      expect(yield* sim.service.submitWork(data)).toBe(true)
    }),
  )

  it.effect("tickets mature after ticketMaturity blocks and are called to vote", () =>
    Effect.gen(function* () {
      const sim = yield* startSim({
        bootstrapHeight: 160,
        stakers: [
          { owner: "bulk", canVote: always },
          { owner: "carol", canVote: always, ticketsPerBlock: 0 },
        ],
      })
      const bought = yield* sim.buyTickets("carol", 4, { fee: 50_000n })
      const ids = bought.map((t) => t.id)
      yield* sim.mineNetworkBlock
      const minedAt = sim.height()
      for (const id of ids) expect(sim.model.ticket(id)?.minedAt).toBe(minedAt)
      while (sim.height() < minedAt + SIMNET.ticketMaturity - 1) yield* sim.mineNetworkBlock
      for (const id of ids) expect(sim.model.ticket(id)?.status).toBe("immature")
      yield* sim.mineNetworkBlock
      for (const id of ids) {
        expect(sim.model.ticket(id)?.status).toBe("live")
        expect(sim.model.ticket(id)?.liveAt).toBe(minedAt + SIMNET.ticketMaturity)
      }
      for (let i = 0; i < 1_500 && sim.model.totalsFor("carol").counts.voted === 0; i++) yield* sim.mineNetworkBlock
      expect(sim.model.totalsFor("carol").counts.voted).toBeGreaterThan(0)
      expect(sim.model.totalsFor("carol").missedEver).toBe(0)
    }),
  )

  it.effect("an offline staker's called tickets are missed and revoked automatically (DCP-0009)", () =>
    Effect.gen(function* () {
      const sim = yield* startSim({
        bootstrapHeight: 400,
        stakers: [
          { owner: "online", canVote: always, ticketsPerBlock: 15 },
          { owner: "offline", canVote: () => false, ticketsPerBlock: 5 },
        ],
      })
      const off = sim.model.totalsFor("offline")
      expect(off.missedEver).toBeGreaterThan(0)
      expect(off.counts.voted).toBe(0)
      expect(off.counts.missed).toBe(0)
      expect(off.counts.revoked).toBe(off.missedEver + off.expiredEver - off.counts.expired)
      expect(sim.model.unrevokedTickets()).toHaveLength(0)
      expect(sim.model.totalsFor("online").missedEver).toBe(0)
      expect(sim.model.totalsFor("online").counts.voted).toBeGreaterThan(0)
    }),
  )

  it.effect("with too few online voters the network re-mines the tip: BlockDisconnected then BlockConnected at the same height", () =>
    Effect.gen(function* () {
      const log: Array<SimDcrdEvent> = []
      const sim = yield* startSim({
        bootstrapHeight: 200,
        stakers: [{ owner: "s", canVote: (height) => height <= 200 }],
        networkHashrate: 1_000,
        stallAfterRemines: 5,
        log: (e) => log.push(e),
      })
      const events = yield* collectEvents(sim)
      const original = sim.blockAt(200)!
      yield* TestClock.adjust(30_000)
      yield* settle
      expect(sim.height()).toBe(200)
      expect(sim.counts().remines).toBeGreaterThan(5)
      expect(sim.counts().stalls).toBe(1)
      expect(log.some((e) => e._tag === "Stalled")).toBe(true)
      const [first, second] = events
      expect(first?._tag === "BlockDisconnected" && blockHashDisplay(first.header)).toBe(original.hash)
      expect(second?._tag === "BlockConnected" && heightOf(second.header)).toBe(200)
      expect(second?._tag === "BlockConnected" && blockHashDisplay(second.header)).not.toBe(original.hash)
      expect(sim.block(original.hash)?.onMainChain).toBe(false)
      // The replaced version is still a block dcrd has seen.
      expect(yield* sim.service.coinbaseValue(original.hash)).toBe(original.workSubsidy)
      expect((yield* Effect.flip(sim.service.getWork))._tag).toBe("ChainRpcError")
    }),
  )

  it.effect("orphanRate 1 makes every pool block lose its race: BlockDisconnected, then a sibling and its child", () =>
    Effect.gen(function* () {
      const sim = yield* startSim({ orphanRate: 1 })
      const events = yield* collectEvents(sim)
      for (let round = 0; round < 2; round++) {
        const start = events.length
        const { header, data } = yield* solveWork(sim)
        const height = heightOf(header)
        expect(yield* sim.service.submitWork(data)).toBe(true)
        yield* TestClock.adjust(10_000)
        yield* settle
        const blocks = events.slice(start).flatMap((e) => (e._tag === "BlockConnected" || e._tag === "BlockDisconnected" ? [e] : []))
        expect(blocks.map((e) => e._tag)).toEqual(["BlockConnected", "BlockDisconnected", "BlockConnected", "BlockConnected"])
        expect(blocks.map((e) => heightOf(e.header))).toEqual([height, height, height, height + 1])
        const hash = blockHashDisplay(header)
        expect(sim.block(hash)?.onMainChain).toBe(false)
        expect(sim.blockAt(height)!.finder).toBe("network")
        expect(yield* sim.service.coinbaseValue(hash)).toBe(sim.block(hash)!.workSubsidy)
      }
      expect(sim.counts().orphanedPoolBlocks).toBe(2)
      expect(sim.counts().poolBlocks).toBe(2)
    }),
  )

  it.effect("coinbaseValue is the work subsidy of the block's voters and split; unknown hashes and heights are errors", () =>
    Effect.gen(function* () {
      const sim = yield* startSim({
        bootstrapHeight: 200,
        stakers: [
          { owner: "a", canVote: (h) => h % 3 !== 0 },
          { owner: "b", canVote: always },
        ],
      })
      for (const height of [1, 2, 100, 143, 144, 150, 199, 200]) {
        const block = sim.blockAt(height)!
        const voters = Result.getOrThrow(decodeHeader(block.header)).voters
        expect(yield* sim.service.coinbaseValue(block.hash)).toBe(workSubsidy(sim.network, height, voters, subsidySplitAt(sim.activations, height)))
        expect(yield* sim.service.getBlockHash(height)).toBe(block.hash)
      }
      const unknown = yield* Effect.flip(sim.service.coinbaseValue("00".repeat(32)))
      expect(unknown._tag === "ChainRpcError" && unknown.code).toBe(-5)
      const beyond = yield* Effect.flip(sim.service.getBlockHash(201))
      expect(beyond._tag === "ChainRpcError" && beyond.reason).toBe("Block number out of range: 201")
    }),
  )

  it.effect("reorg(depth) replaces the last blocks with a longer branch; deeper than the undo data is refused", () =>
    Effect.gen(function* () {
      const sim = yield* startSim({ bootstrapHeight: 170, stakers: [{ owner: "a", canVote: always }] })
      const events = yield* collectEvents(sim)
      const replaced = [sim.blockAt(169)!.hash, sim.blockAt(170)!.hash]
      yield* sim.reorg(2)
      yield* settle
      expect(sim.height()).toBe(171)
      expect(events.filter((e) => e._tag !== "Work").map((e) => e._tag)).toEqual(["BlockDisconnected", "BlockDisconnected", "BlockConnected", "BlockConnected", "BlockConnected"])
      for (const hash of replaced) expect(sim.block(hash)?.onMainChain).toBe(false)
      expect((yield* Effect.flip(sim.reorg(100)))._tag).toBe("ReorgTooDeep")
    }),
  )

  it.effect("offline and dropped connections: calls fail, notifications in the gap are lost, Reconnected follows", () =>
    Effect.gen(function* () {
      const sim = yield* startSim()
      const events = yield* collectEvents(sim)
      const from = events.length
      yield* sim.setOffline(true)
      expect((yield* Effect.flip(sim.service.getBestBlock))._tag).toBe("ChainUnavailable")
      yield* sim.mineNetworkBlock
      yield* sim.setOffline(false)
      yield* sim.dropConnection(5_000)
      expect((yield* Effect.flip(sim.service.getWork))._tag).toBe("ChainUnavailable")
      yield* sim.mineNetworkBlock
      yield* TestClock.adjust(5_000)
      yield* settle
      expect(events.slice(from).map((e) => e._tag)).toEqual(["Reconnected", "Reconnected"])
      expect(sim.counts().lostNotifications).toBe(4)
      expect((yield* sim.service.getBestBlock).height).toBe(2)
    }),
  )

  it.effect("determinism: the same seed gives the same log, another seed a different one", () =>
    Effect.gen(function* () {
      const run = (seed: number) =>
        Effect.gen(function* () {
          const lines: Array<string> = []
          const sim = yield* startSim({
            random: new SimRandom(seed),
            bootstrapHeight: 150,
            networkHashrate: 1_000,
            stakers: [
              { owner: "a", canVote: (h) => h % 4 !== 0 },
              { owner: "b", canVote: always },
            ],
            log: (e) => lines.push(`${e.atMillis} ${describeSimDcrdEvent(e)}`),
          })
          yield* TestClock.adjust(60_000)
          return { lines, height: sim.height() }
        }).pipe(Effect.scoped, Effect.provide(TestClock.layer()))
      const a = yield* run(11)
      const b = yield* run(11)
      const c = yield* run(12)
      expect(a.height).toBeGreaterThan(170)
      expect(b.lines).toEqual(a.lines)
      expect(c.lines).not.toEqual(a.lines)
    }),
  )
})
