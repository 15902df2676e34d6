import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { DIFFICULTY_SCALE } from "../stratum/difficulty.ts"
import { feeOf } from "./amounts.ts"
import { creditsFor } from "./credits.ts"
import { MINING_ADDRESS_ACCOUNT, shareBlock, type PayoutScheme } from "./schemes.ts"
import { ShareLog } from "./sharelog.ts"

const schemeArb: fc.Arbitrary<PayoutScheme> = fc.oneof(
  fc.record({ kind: fc.constant("pplns" as const), windowMultiple: fc.constantFrom({ numerator: 1n, denominator: 2n }, { numerator: 2n, denominator: 1n }) }),
  fc.constant({ kind: "pplns-time" as const, periodMs: 60_000 }),
  fc.constant({ kind: "proportional" as const }),
  fc.constant({ kind: "pps" as const }),
  fc.constant({ kind: "solo" as const, atMiningAddress: false }),
  fc.constant({ kind: "solo" as const, atMiningAddress: true }),
)
const splittingSchemeArb = schemeArb.filter((s) => s.kind === "pplns" || s.kind === "pplns-time" || s.kind === "proportional")
const rewardArb = fc.bigInt({ min: 0n, max: 10n ** 12n })
const feeArb = fc.integer({ min: 0, max: 9_999 })
const accountArb = fc.constantFrom("a", "b", "c", "d", "e")
const weightsArb = fc.dictionary(accountArb, fc.bigInt({ min: 0n, max: 10n ** 15n }), { maxKeys: 5 }).map((r) => new Map(Object.entries(r)))

const sum = (credits: ReadonlyArray<{ readonly amount: bigint }>) => credits.reduce((s, c) => s + c.amount, 0n)

describe("a block's credits", () => {
  it("property: credits and the fee add up to the reward exactly under every scheme but PPS, which credits nobody", () => {
    fc.assert(
      fc.property(schemeArb, rewardArb, feeArb, accountArb, weightsArb, (scheme, reward, fee, finder, weights) => {
        const block = creditsFor(scheme, reward, fee, finder, weights)
        if (scheme.kind === "pps") expect(block).toEqual({ fee: 0n, credits: [] })
        else expect(sum(block.credits) + block.fee).toBe(reward)
      }),
    )
  })

  it("property: the fee is the reward's basis points rounded down, and none in solo-pool mode, where the mining address takes it all", () => {
    fc.assert(
      fc.property(schemeArb, rewardArb, feeArb, accountArb, weightsArb, (scheme, reward, fee, finder, weights) => {
        fc.pre(scheme.kind !== "pps")
        const block = creditsFor(scheme, reward, fee, finder, weights)
        if (scheme.kind === "solo" && scheme.atMiningAddress) expect(block).toEqual({ fee: 0n, credits: [{ account: MINING_ADDRESS_ACCOUNT, amount: reward }] })
        else expect(block.fee).toBe((reward * BigInt(fee)) / 10_000n)
      }),
    )
  })

  it("property: a splitting scheme gives each account its exact share of the reward less the fee to within one atom, the leftover atoms to the largest remainders", () => {
    fc.assert(
      fc.property(splittingSchemeArb, rewardArb, feeArb, accountArb, weightsArb, (scheme, reward, fee, finder, weights) => {
        const total = sum([...weights.values()].map((amount) => ({ amount })))
        fc.pre(total > 0n)
        const block = creditsFor(scheme, reward, fee, finder, weights)
        const net = reward - feeOf(reward, fee)
        const accounts = [...weights]
          .filter(([, w]) => w > 0n)
          .map(([a]) => a)
          .sort()
        expect(block.credits.map((c) => c.account)).toEqual(accounts)
        const remainders = block.credits.map((c) => {
          const exact = net * weights.get(c.account)!
          const extra = c.amount - exact / total
          expect(extra === 0n || extra === 1n).toBe(true)
          return { extra, remainder: exact % total }
        })
        // Largest remainder: an account left without the extra atom has no larger remainder than one given it.
        for (const given of remainders.filter((r) => r.extra === 1n)) {
          for (const left of remainders.filter((r) => r.extra === 0n)) expect(given.remainder >= left.remainder).toBe(true)
        }
      }),
    )
  })

  it("property: the finder takes the reward less the fee in solo, and under a splitting scheme whose window holds no work", () => {
    fc.assert(
      fc.property(schemeArb, rewardArb, feeArb, accountArb, weightsArb, (scheme, reward, fee, finder, weights) => {
        const empty = new Map([...weights].map(([a]) => [a, 0n]))
        fc.pre(scheme.kind !== "pps" && !(scheme.kind === "solo" && scheme.atMiningAddress))
        const block = creditsFor(scheme, reward, fee, finder, scheme.kind === "solo" ? weights : empty)
        expect(block.credits).toEqual([{ account: finder, amount: reward - feeOf(reward, fee) }])
      }),
    )
  })

  it("property: on the window the reference engine walks, the credits are the reference engine's", () => {
    const D = 50n * DIFFICULTY_SCALE
    const sharesArb = fc.array(fc.record({ account: accountArb, difficulty: fc.integer({ min: 1, max: 60 }), gap: fc.integer({ min: 0, max: 20_000 }) }), { minLength: 1, maxLength: 60 })
    fc.assert(
      fc.property(schemeArb, rewardArb, feeArb, sharesArb, fc.nat(), (scheme, reward, fee, shares, cut) => {
        fc.pre(scheme.kind !== "pps" && !(scheme.kind === "solo" && scheme.atMiningAddress))
        const log = new ShareLog()
        let time = 0
        shares.forEach((s, i) => {
          time += s.gap
          log.append({ id: `s${i}`, account: s.account, weight: BigInt(s.difficulty) * DIFFICULTY_SCALE, time })
        })
        const finder = shares[shares.length - 1]!.account
        const block = { hash: "b", height: 1, reward, networkDifficulty: D, time, logEnd: log.end, finder }
        const reference = shareBlock(scheme, log, block, fee, cut % log.end)
        const credits = creditsFor(scheme, reward, fee, finder, reference.window?.weights ?? new Map())
        // The engine leaves out a credit of nothing (a reward of 0 atoms in solo); it credits nobody either way.
        expect(credits.credits.filter((c) => scheme.kind !== "solo" || c.amount > 0n)).toEqual(reference.credits)
        expect(credits.fee).toBe(reference.fee)
      }),
    )
  })
})
