import { describe, expect, it } from "@effect/vitest"
import { Effect, Result } from "effect"
import { TestClock } from "effect/testing"
import { powAlgorithmAt } from "../core/chain/difficulty.ts"
import { encodeGetworkData } from "../core/chain/getwork.ts"
import { HEADER_BYTES, HeaderOffset, decodeHeader, powHash } from "../core/chain/header.ts"
import { SIMNET } from "../core/chain/params.ts"
import { bigToCompact, hashMeetsTarget } from "../core/chain/targets.ts"
import { makeSimDcrd, simulatedNetwork, type SimDcrd } from "./dcrd.ts"
import { INSUFFICIENT_FUNDS_CODE, makeSimWallet } from "./dcrwallet.ts"
import { SimRandom } from "./random.ts"

const START_MILLIS = 1_700_000_000_000
const DCR = 100_000_000n

const startSim = Effect.gen(function* () {
  yield* TestClock.setTime(START_MILLIS)
  return yield* makeSimDcrd({
    network: simulatedNetwork(SIMNET),
    random: new SimRandom(3),
    hashScale: 1,
    networkHashrate: 0,
    bits: bigToCompact(1n << 248n),
  })
})

/** The pool finds the next block by really hashing dcrd's work. */
const poolFindsBlock = (sim: SimDcrd) =>
  Effect.gen(function* () {
    const work = yield* sim.service.getWork
    const header = work.data.slice(0, HEADER_BYTES)
    const algorithm = powAlgorithmAt(sim.activations, Result.getOrThrow(decodeHeader(header)).height)
    const view = new DataView(header.buffer)
    for (let nonce = 0; !hashMeetsTarget(powHash(header, algorithm), work.target); nonce++) view.setUint32(HeaderOffset.nonce, nonce, true)
    expect(yield* sim.service.submitWork(encodeGetworkData(header, algorithm))).toBe(true)
    return sim.blockAt(sim.height())!
  })

describe("simulated dcrwallet", () => {
  it.effect("refuses a payout above its matured balance and pays one within it exactly once across a lost publish reply", () =>
    Effect.gen(function* () {
      const sim = yield* startSim
      const wallet = yield* makeSimWallet({ dcrd: sim })
      yield* sim.mineNetworkBlock
      const found = yield* poolFindsBlock(sim)
      expect(found.height).toBe(2)
      expect(found.workSubsidy).toBe(5n * DCR) // 1% of simnet's 500 DCR under DCP-0012

      // Immature: spendable only from the block CoinbaseMaturity above it.
      while (sim.height() < found.height + SIMNET.coinbaseMaturity - 2) yield* sim.mineNetworkBlock
      expect(wallet.spendable()).toBe(0n)
      const early = yield* Effect.flip(wallet.service.build([{ address: "SsA", amount: 1n * DCR }]))
      expect(early._tag === "WalletRpcError" && early.code).toBe(INSUFFICIENT_FUNDS_CODE)
      yield* sim.mineNetworkBlock
      expect(wallet.spendable()).toBe(5n * DCR)

      const tooMuch = yield* Effect.flip(wallet.service.build([{ address: "SsA", amount: 5n * DCR }]))
      expect(tooMuch._tag).toBe("WalletRpcError")
      expect(tooMuch.message).toContain("insufficient balance")

      const outputs = [
        { address: "SsA", amount: 3n * DCR },
        { address: "SsB", amount: 1n * DCR },
      ]
      const signed = yield* wallet.service.build(outputs)
      expect(yield* wallet.service.status(signed.txid)).toEqual({ _tag: "Unknown" })
      wallet.faults.loseNextPublishReply = true
      const lost = yield* Effect.flip(wallet.service.publish(signed))
      expect(lost._tag).toBe("WalletUnavailable")
      // The pool's reconciliation: the wallet knows the txid, and sending again is harmless.
      expect(yield* wallet.service.status(signed.txid)).toEqual({ _tag: "Known", confirmations: 0 })
      yield* wallet.service.publish(signed)
      expect(wallet.published).toHaveLength(1)
      expect(wallet.paidTo()).toEqual(
        new Map([
          ["SsA", 3n * DCR],
          ["SsB", 1n * DCR],
        ]),
      )
      expect(wallet.spendable()).toBe(1n * DCR - signed.fee)
      yield* sim.mineNetworkBlock
      yield* sim.mineNetworkBlock
      expect(yield* wallet.service.status(signed.txid)).toEqual({ _tag: "Known", confirmations: 2 })
    }),
  )

  it.effect("an orphaned pool block never becomes spendable", () =>
    Effect.gen(function* () {
      const sim = yield* startSim
      const wallet = yield* makeSimWallet({ dcrd: sim })
      const found = yield* poolFindsBlock(sim)
      yield* sim.reorg(1)
      expect(sim.block(found.hash)?.onMainChain).toBe(false)
      while (sim.height() < 40) yield* sim.mineNetworkBlock
      expect(wallet.maturedCoinbase()).toBe(0n)
    }),
  )

  it.effect("fault switches: offline calls fail as unavailable, failNextBuild refuses one build", () =>
    Effect.gen(function* () {
      const sim = yield* startSim
      const wallet = yield* makeSimWallet({ dcrd: sim })
      wallet.faults.offline = true
      expect((yield* Effect.flip(wallet.service.status("00")))._tag).toBe("WalletUnavailable")
      wallet.faults.offline = false
      wallet.faults.failNextBuild = true
      expect((yield* Effect.flip(wallet.service.build([{ address: "SsA", amount: 1n }])))._tag).toBe("WalletRpcError")
      expect(wallet.faults.failNextBuild).toBe(false)
    }),
  )

  it.effect("buys tickets through dcrd's mempool, refusing a price above the maximum or a passed expiry", () =>
    Effect.gen(function* () {
      const sim = yield* startSim
      const wallet = yield* makeSimWallet({ dcrd: sim })
      const price = sim.model.nextStakeDifficulty()
      const tickets = yield* wallet.purchaseTickets("dave", 3, { maxPrice: price })
      expect(tickets).toHaveLength(3)
      expect(wallet.stakeTotals("dave").counts.mempool).toBe(3)
      const dear = yield* Effect.flip(wallet.purchaseTickets("dave", 1, { maxPrice: price - 1n }))
      expect(dear.reason).toBe("price-above-max-price")
      const late = yield* Effect.flip(wallet.purchaseTickets("dave", 1, { expiry: sim.height() + 1 }))
      expect(late.reason).toBe("expired")
      yield* sim.mineNetworkBlock
      expect(wallet.stakeTotals("dave").counts.immature).toBe(3)
    }),
  )
})
