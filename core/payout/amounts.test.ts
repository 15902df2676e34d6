import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { checkPoolFee, feeOf, splitProportionally } from "./amounts.ts"

const weightsArb = fc.dictionary(fc.string({ minLength: 1, maxLength: 4 }), fc.bigInt({ min: 0n, max: 10n ** 15n }), { minKeys: 1, maxKeys: 12 })

describe("splitting an amount", () => {
  it("property: the parts add up to the total exactly, each within one atom of its exact share", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 10n ** 16n }), weightsArb, (total, record) => {
        const weights = new Map(Object.entries(record))
        const sum = [...weights.values()].reduce((a, b) => a + b, 0n)
        fc.pre(sum > 0n)
        const parts = splitProportionally(total, weights)
        expect(parts.reduce((s, p) => s + p.amount, 0n)).toBe(total)
        for (const p of parts) {
          const exactFloor = (total * weights.get(p.account)!) / sum
          expect(p.amount - exactFloor >= 0n && p.amount - exactFloor <= 1n).toBe(true)
        }
      }),
    )
  })

  it("property: the result does not depend on the order the weights come in", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 10n ** 12n }), weightsArb, (total, record) => {
        const entries = Object.entries(record)
        fc.pre(entries.some(([, w]) => w > 0n))
        const forward = splitProportionally(total, new Map(entries))
        const backward = splitProportionally(total, new Map([...entries].reverse()))
        expect(backward).toEqual(forward)
      }),
    )
  })

  it("gives the leftover atoms to the largest fractions, ties to the smaller account id", () => {
    // 10 atoms over three equal weights: 3 each, the odd atom to "a".
    expect(
      splitProportionally(
        10n,
        new Map([
          ["c", 1n],
          ["a", 1n],
          ["b", 1n],
        ]),
      ),
    ).toEqual([
      { account: "a", amount: 4n },
      { account: "b", amount: 3n },
      { account: "c", amount: 3n },
    ])
    // 100 atoms, weights 2:1 => 66.67 and 33.33: the larger fraction (.67) gets the atom.
    expect(
      splitProportionally(
        100n,
        new Map([
          ["x", 2n],
          ["y", 1n],
        ]),
      ),
    ).toEqual([
      { account: "x", amount: 67n },
      { account: "y", amount: 33n },
    ])
  })

  it("checks the pool fee range and rounds the fee down", () => {
    expect(checkPoolFee(100)).toBe(100)
    expect(() => checkPoolFee(10_000)).toThrow("poolfee must be a whole number of basis points from 0 to 9999")
    expect(() => checkPoolFee(-1)).toThrow("poolfee")
    expect(() => checkPoolFee(1.5)).toThrow("poolfee")
    expect(feeOf(999n, 100)).toBe(9n)
  })
})
