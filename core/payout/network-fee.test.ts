import fc from "fast-check"
import { Result } from "effect"
import { describe, expect, it } from "vitest"
import { PayoutFeeUnpayable } from "../services/wallet.ts"
import { dustLimit, feeForBytes, isDust, P2PKH_SCRIPT_BYTES, P2PKH_SIG_SCRIPT_BYTES, P2SH_SCRIPT_BYTES, poolPayoutRequest, takeNetworkFee, transactionBytes } from "./network-fee.ts"

/** dcrwallet's default relay fee: 0.0001 DCR/kB. */
const RATE = 10_000n

describe("a payout's size and fee, as dcrwallet prices them", () => {
  it("sizes a transaction as txsizes.EstimateSerializeSize: 12 bytes, counts, 166 a P2PKH input, 36 a P2PKH output", () => {
    expect(transactionBytes([P2PKH_SIG_SCRIPT_BYTES], [P2PKH_SCRIPT_BYTES, P2PKH_SCRIPT_BYTES])).toBe(12 + 2 + 1 + 166 + 2 * 36)
    expect(transactionBytes([P2PKH_SIG_SCRIPT_BYTES, P2PKH_SIG_SCRIPT_BYTES], [P2SH_SCRIPT_BYTES])).toBe(12 + 2 + 1 + 2 * 166 + 34)
    // 253 inputs or outputs take a three-byte count.
    expect(transactionBytes(new Array<number>(253).fill(P2PKH_SIG_SCRIPT_BYTES), [P2PKH_SCRIPT_BYTES]) - 253 * 166).toBe(12 + 2 * 3 + 1 + 36)
  })

  it("prices a size as txrules.FeeForSerializeSize: rate x bytes / 1000, rounded down, never 0 at a positive rate", () => {
    expect(feeForBytes(RATE, 253)).toBe(2530n)
    expect(feeForBytes(1_234n, 999)).toBe(1232n)
    expect(feeForBytes(1n, 999)).toBe(1n)
    expect(feeForBytes(0n, 999)).toBe(0n)
  })

  it("calls dust what txrules.IsDustAmount does: under 6030 atoms to a P2PKH script, 5970 to a P2SH one, at 0.0001 DCR/kB", () => {
    expect(dustLimit(P2PKH_SCRIPT_BYTES, RATE)).toBe(6030n)
    expect(dustLimit(P2SH_SCRIPT_BYTES, RATE)).toBe(5970n)
    expect(isDust(6029n, P2PKH_SCRIPT_BYTES, RATE)).toBe(true)
    expect(isDust(6030n, P2PKH_SCRIPT_BYTES, RATE)).toBe(false)
    expect(isDust(0n, P2PKH_SCRIPT_BYTES, 0n)).toBe(false)
  })

  it("property: the dust limit is the smallest amount that is not dust", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 1n, max: 10n ** 7n }), fc.constantFrom(P2PKH_SCRIPT_BYTES, P2SH_SCRIPT_BYTES), (rate, script) => {
        const limit = dustLimit(script, rate)
        expect(isDust(limit, script, rate)).toBe(false)
        expect(isDust(limit - 1n, script, rate)).toBe(true)
      }),
    )
  })
})

const owed = new Map([
  ["fee", 5_000_000n],
  ["alice", 300_000_000n],
  ["bob", 100_000_001n],
])
const dust = () => 6030n

describe("taking the network fee out of the outputs", () => {
  it("takes it all from the one output named, the others paid as owed, in the same order", () => {
    const paid = Result.getOrThrow(takeNetworkFee(owed, { _tag: "Output", address: "fee" }, 2890n, dust))
    expect([...paid]).toEqual([
      ["fee", 5_000_000n - 2890n],
      ["alice", 300_000_000n],
      ["bob", 100_000_001n],
    ])
  })

  it("pro rata: in proportion to the amounts, the odd atoms to the largest remainders, the exempt output untouched", () => {
    const paid = Result.getOrThrow(takeNetworkFee(owed, { _tag: "ProRata", exempt: ["fee"] }, 2891n, dust))
    // 2891 x 3/4 = 2168.25 and 2891 x 1/4 = 722.75 (to an atom): the odd atom goes to bob's .75.
    expect(paid.get("alice")).toBe(300_000_000n - 2168n)
    expect(paid.get("bob")).toBe(100_000_001n - 723n)
    expect(paid.get("fee")).toBe(5_000_000n)
  })

  it("property: the outputs shrink by exactly the fee, only the payers' and none below its dust limit", () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.string({ minLength: 1, maxLength: 3 }), fc.bigInt({ min: 1n, max: 10n ** 12n }), { minKeys: 1, maxKeys: 8 }),
        fc.bigInt({ min: 0n, max: 10n ** 6n }),
        fc.boolean(),
        (record, fee, proRata) => {
          const amounts = new Map(Object.entries(record))
          const [first] = amounts.keys()
          const payer = proRata ? ({ _tag: "ProRata", exempt: [first!] } as const) : ({ _tag: "Output", address: first! } as const)
          const r = takeNetworkFee(amounts, payer, fee, dust)
          if (Result.isFailure(r)) {
            if (r.failure.short === undefined) expect(proRata && amounts.size === 1).toBe(true)
            else expect(r.failure.short.amount - r.failure.short.share).toBeLessThan(6030n)
            return
          }
          let before = 0n
          let after = 0n
          for (const [address, amount] of amounts) {
            const now = r.success.get(address)!
            before += amount
            after += now
            if ((proRata && address === first) || (!proRata && address !== first)) expect(now).toBe(amount)
            else if (now !== amount) expect(now).toBeGreaterThanOrEqual(6030n)
          }
          expect(before - after).toBe(fee)
          expect([...r.success.keys()]).toEqual([...amounts.keys()])
        },
      ),
    )
  })

  it("refuses to leave a payer below its dust limit, saying which, by how much and what to do", () => {
    const r = takeNetworkFee(
      new Map([
        ["fee", 8_000n],
        ["alice", 1_000_000n],
      ]),
      { _tag: "Output", address: "fee" },
      2530n,
      dust,
    )
    const e = Result.isFailure(r) ? r.failure : undefined
    expect(e).toBeInstanceOf(PayoutFeeUnpayable)
    expect(e?.short).toEqual({ address: "fee", amount: 8_000n, share: 2530n, minimum: 6030n })
    expect(e?.message).toBe(
      "the 8000-atom output to fee cannot pay 2530 atoms of the payout's 2530-atom network fee: 5470 atoms would be left, and the network relays no output under 6030 atoms to that address (dust); take the fee from the miners' outputs pro rata instead (the pool's --payoutfeefrom=miners), or let the pool fee grow in a later batch",
    )
    const proRata = takeNetworkFee(
      new Map([
        ["fee", 8_000n],
        ["alice", 100_000n],
        ["bob", 6_050n],
      ]),
      { _tag: "ProRata", exempt: ["fee"] },
      25_300n,
      dust,
    )
    expect(Result.isFailure(proRata) && proRata.failure.short?.address).toBe("bob")
    expect(Result.isFailure(proRata) && proRata.failure.message).toContain("raise the minimum payout (the pool's --minpayment)")
  })

  it("refuses a payer that names none of the outputs", () => {
    const none = takeNetworkFee(owed, { _tag: "Output", address: "carol" }, 1n, dust)
    expect(Result.isFailure(none) && none.failure.message).toBe("the payout has no output to carol to take its 1-atom network fee from; name an address the payout pays")
    const allExempt = takeNetworkFee(owed, { _tag: "ProRata", exempt: ["fee", "alice", "bob"] }, 1n, dust)
    expect(Result.isFailure(allExempt) && allExempt.failure.short).toBeUndefined()
  })
})

describe("the pool's payout request", () => {
  const outputs = [
    { address: "SsFee", amount: 5_000_000n },
    { address: "SsAlice", amount: 300_000_000n },
  ]
  it("has the pool fee output pay by default, and the miners pro rata (the pool fee exempt) with miners", () => {
    expect(poolPayoutRequest(outputs, "poolfee", "SsFee")).toEqual({ outputs, feePaidBy: { _tag: "Output", address: "SsFee" } })
    expect(poolPayoutRequest(outputs, "miners", "SsFee")).toEqual({ outputs, feePaidBy: { _tag: "ProRata", exempt: ["SsFee"] } })
  })

  it("falls back to the other payer when the batch has none of the one asked for", () => {
    const minersOnly = outputs.slice(1)
    const feeOnly = outputs.slice(0, 1)
    expect(poolPayoutRequest(minersOnly, "poolfee", "SsFee").feePaidBy).toEqual({ _tag: "ProRata", exempt: ["SsFee"] })
    expect(poolPayoutRequest(feeOnly, "miners", "SsFee").feePaidBy).toEqual({ _tag: "Output", address: "SsFee" })
  })
})
