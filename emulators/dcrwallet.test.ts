import { describe, expect, it } from "@effect/vitest"
import { Effect, Result } from "effect"
import { TestClock } from "effect/testing"
import { encodeAddress } from "../core/chain/address.ts"
import { powAlgorithmAt } from "../core/chain/difficulty.ts"
import { encodeGetworkData } from "../core/chain/getwork.ts"
import { HEADER_BYTES, HeaderOffset, decodeHeader, powHash } from "../core/chain/header.ts"
import { MAINNET, SIMNET } from "../core/chain/params.ts"
import { bigToCompact, hashMeetsTarget } from "../core/chain/targets.ts"
import { feeForBytes, P2PKH_SIG_SCRIPT_BYTES, transactionBytes } from "../core/payout/network-fee.ts"
import type { PayoutFeePayer, PayoutOutput } from "../core/services/wallet.ts"
import { makeSimDcrd, simulatedNetwork, type SimDcrd } from "./dcrd.ts"
import { makeSimWallet } from "./dcrwallet.ts"
import { SimRandom } from "./random.ts"

const START_MILLIS = 1_700_000_000_000
const DCR = 100_000_000n
/** The network fee of a payout from one input to `outputs` P2PKH outputs, at dcrwallet's 0.0001 DCR/kB. */
const feeFor = (outputs: number) => feeForBytes(10_000n, transactionBytes([P2PKH_SIG_SCRIPT_BYTES], new Array<number>(outputs).fill(25)))
const byFirst = (outputs: ReadonlyArray<PayoutOutput>): PayoutFeePayer => ({ _tag: "Output", address: outputs[0]!.address })

// Real simnet addresses: the wallet refuses, as dcrwallet does, an address it cannot pay.
const ADDRESS_A = encodeAddress("p2pkh-ecdsa-secp256k1", new Uint8Array(20).fill(0xaa), SIMNET)
const ADDRESS_B = encodeAddress("p2pkh-ecdsa-secp256k1", new Uint8Array(20).fill(0xbb), SIMNET)
const FEE_ADDRESS = encodeAddress("p2pkh-ecdsa-secp256k1", new Uint8Array(20).fill(0xfe), SIMNET)

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

/** The pool's first block, matured: the wallet can spend its 5 DCR. */
const walletWithOneMaturedBlock = Effect.gen(function* () {
  const sim = yield* startSim
  const wallet = yield* makeSimWallet({ dcrd: sim })
  // Past block 1, whose subsidy is the premine.
  yield* sim.mineNetworkBlock
  const found = yield* poolFindsBlock(sim)
  while (sim.height() < found.height + SIMNET.coinbaseMaturity - 1) yield* sim.mineNetworkBlock
  expect(wallet.spendable()).toBe(5n * DCR)
  return { sim, wallet }
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
      const oneDcr = [{ address: ADDRESS_A, amount: 1n * DCR }]
      const early = yield* Effect.flip(wallet.service.build({ outputs: oneDcr, feePaidBy: byFirst(oneDcr) }))
      expect(early).toMatchObject({ _tag: "PayoutUnfunded", account: "default", needed: 1n * DCR, spendable: 0n, missing: 1n * DCR, immature: 5n * DCR })
      expect(early.message).toContain(`send at least that much to account "default", or wait until enough of the 5 DCR of coinbase rewards still maturing there has matured`)
      yield* sim.mineNetworkBlock
      expect(wallet.spendable()).toBe(5n * DCR)

      const tooMuch = [{ address: ADDRESS_A, amount: 5n * DCR + 1n }]
      expect(yield* Effect.flip(wallet.service.build({ outputs: tooMuch, feePaidBy: byFirst(tooMuch) }))).toMatchObject({ _tag: "PayoutUnfunded", missing: 1n, immature: 0n })

      const outputs = [
        { address: ADDRESS_A, amount: 3n * DCR },
        { address: ADDRESS_B, amount: 1n * DCR },
      ]
      const signed = yield* wallet.service.build({ outputs, feePaidBy: byFirst(outputs) })
      // 1 DCR left over is change, so the transaction has three outputs, and A pays its fee.
      expect(signed.fee).toBe(feeFor(3))
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
          [ADDRESS_A, 3n * DCR - signed.fee],
          [ADDRESS_B, 1n * DCR],
        ]),
      )
      expect(wallet.spendable()).toBe(1n * DCR)
      yield* sim.mineNetworkBlock
      yield* sim.mineNetworkBlock
      expect(yield* wallet.service.status(signed.txid)).toEqual({ _tag: "Known", confirmations: 2 })
    }),
  )

  it.effect("a wallet holding exactly the outputs' sum pays them, the network fee out of the pool fee output", () =>
    Effect.gen(function* () {
      const { wallet } = yield* walletWithOneMaturedBlock
      const outputs = [
        { address: FEE_ADDRESS, amount: 5_000_000n },
        { address: ADDRESS_A, amount: 395_000_000n },
        { address: ADDRESS_B, amount: 100_000_000n },
      ]
      const signed = yield* wallet.service.build({ outputs, feePaidBy: { _tag: "Output", address: FEE_ADDRESS } })
      yield* wallet.service.publish(signed)
      // No change: one input, three outputs.
      expect(signed.fee).toBe(feeFor(3))
      expect(wallet.paidTo()).toEqual(
        new Map([
          [FEE_ADDRESS, 5_000_000n - signed.fee],
          [ADDRESS_A, 395_000_000n],
          [ADDRESS_B, 100_000_000n],
        ]),
      )
      // The fee is what the input holds beyond the outputs, and the wallet is empty.
      expect(5n * DCR - [...wallet.paidTo().values()].reduce((a, b) => a + b, 0n)).toBe(signed.fee)
      expect(wallet.spendable()).toBe(0n)
    }),
  )

  it.effect("pro rata: the miners' outputs pay the fee in proportion to their amounts, the pool fee output none", () =>
    Effect.gen(function* () {
      const { wallet } = yield* walletWithOneMaturedBlock
      const outputs = [
        { address: FEE_ADDRESS, amount: 5_000_000n },
        { address: ADDRESS_A, amount: 395_000_000n },
        { address: ADDRESS_B, amount: 100_000_000n },
      ]
      const signed = yield* wallet.service.build({ outputs, feePaidBy: { _tag: "ProRata", exempt: [FEE_ADDRESS] } })
      yield* wallet.service.publish(signed)
      const fee = feeFor(3)
      expect(signed.fee).toBe(fee)
      // 2890 x 395/495 = 2306.16 and 2890 x 100/495 = 583.83: the odd atom to B's larger remainder.
      expect(wallet.paidTo()).toEqual(
        new Map([
          [FEE_ADDRESS, 5_000_000n],
          [ADDRESS_A, 395_000_000n - 2306n],
          [ADDRESS_B, 100_000_000n - 584n],
        ]),
      )
      expect(wallet.spendable()).toBe(0n)
    }),
  )

  it.effect("a surplus too small for change goes to the fee; a payer the fee would leave below dust is refused", () =>
    Effect.gen(function* () {
      const { wallet } = yield* walletWithOneMaturedBlock
      const small = [
        { address: FEE_ADDRESS, amount: 8_000n },
        { address: ADDRESS_A, amount: 5n * DCR - 9_000n },
      ]
      const refused = yield* Effect.flip(wallet.service.build({ outputs: small, feePaidBy: { _tag: "Output", address: FEE_ADDRESS } }))
      expect(refused).toMatchObject({ _tag: "PayoutFeeUnpayable", short: { address: FEE_ADDRESS, amount: 8_000n, share: feeFor(2), minimum: 6_030n } })
      const outputs = [
        { address: FEE_ADDRESS, amount: 5_000_000n },
        { address: ADDRESS_A, amount: 5n * DCR - 5_001_000n },
      ]
      const signed = yield* wallet.service.build({ outputs, feePaidBy: { _tag: "Output", address: FEE_ADDRESS } })
      expect(signed.fee).toBe(feeFor(2) + 1_000n)
      yield* wallet.service.publish(signed)
      expect(wallet.paidTo().get(FEE_ADDRESS)).toBe(5_000_000n - feeFor(2))
      expect(wallet.spendable()).toBe(0n)
    }),
  )

  it.effect("names an address dcrwallet would not pay and builds nothing: a key that is no point (issue 16), a P2PK address, another network's", () =>
    Effect.gen(function* () {
      const { wallet } = yield* walletWithOneMaturedBlock
      const offCurve = "SkLXmxb92d75QTaXFXYWSFqzBKNwjH49hLEQkaTP7QbmD5YsKwod8"
      const key = Uint8Array.from(Buffer.from("ce0b14fb842b1ba549fdd675c98075f12e9c510f8ef52bd021a9a1f4809d3b4d", "hex"))
      const p2pk = encodeAddress("p2pk-schnorr-secp256k1", Uint8Array.of(0x02, ...key), SIMNET)
      const mainnet = encodeAddress("p2pkh-ecdsa-secp256k1", new Uint8Array(20).fill(0xaa), MAINNET)
      for (const [address, reason] of [
        [offCurve, "not a point of the curve"],
        [p2pk, "dcrwallet pays only p2pkh (secp256k1 ECDSA) and p2sh addresses"],
        [mainnet, "is a mainnet address, but this is simnet"],
      ] as const) {
        const outputs = [
          { address: FEE_ADDRESS, amount: 5_000_000n },
          { address, amount: 1n * DCR },
          { address: ADDRESS_A, amount: 1n * DCR },
        ]
        const refused = yield* Effect.flip(wallet.service.build({ outputs, feePaidBy: { _tag: "Output", address: FEE_ADDRESS } }))
        expect(refused).toMatchObject({ _tag: "PayoutAddressRefused", address, reason: expect.stringContaining(reason) })
      }
      // Without it, the same payout is built.
      const outputs = [
        { address: FEE_ADDRESS, amount: 5_000_000n },
        { address: ADDRESS_A, amount: 1n * DCR },
      ]
      yield* wallet.service.publish(yield* wallet.service.build({ outputs, feePaidBy: { _tag: "Output", address: FEE_ADDRESS } }))
      expect(wallet.published).toHaveLength(1)
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
      const outputs = [{ address: ADDRESS_A, amount: 1n }]
      expect((yield* Effect.flip(wallet.service.build({ outputs, feePaidBy: byFirst(outputs) })))._tag).toBe("WalletRpcError")
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
