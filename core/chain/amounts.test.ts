import fc from "fast-check"
import { Result } from "effect"
import { describe, expect, it } from "vitest"
import { atomsToDcr, dcrToAtoms, MAX_ATOMS, parseDcr } from "./amounts.ts"

const atoms = (v: unknown) => Result.getOrThrow(dcrToAtoms(v, "amount"))
const problem = (v: unknown) => {
  const r = dcrToAtoms(v, "spendlimit")
  return Result.isFailure(r) ? r.failure.message : "accepted"
}
const typed = (text: string) => {
  const r = parseDcr(text)
  return Result.isFailure(r) ? `${r.failure.kind}: ${r.failure.problem}` : r.success
}

describe("DCR amounts to atoms, exactly", () => {
  it("reads JSON numbers and decimal strings without floating-point arithmetic", () => {
    expect(atoms(0.1)).toBe(10_000_000n)
    expect(atoms(0.3)).toBe(30_000_000n) // 0.1 + 0.2 is not 0.3 in floats; here it never comes up
    expect(atoms(1e-8)).toBe(1n)
    expect(atoms(999999)).toBe(99_999_900_000_000n)
    expect(atoms("21000000")).toBe(MAX_ATOMS)
    expect(atoms("1.5e2")).toBe(15_000_000_000n)
    expect(atoms("1e-08")).toBe(1n) // as Go's encoding/json writes a tiny float64
    expect(atoms("0e99999")).toBe(0n)
  })

  it("refuses what is not an amount, saying what is wrong", () => {
    expect(problem(0.123456789)).toBe("spendlimit: 0.123456789 DCR has more than 8 decimal places (1 atom = 0.00000001 DCR)")
    expect(problem(-1)).toBe("spendlimit: -1 DCR is negative: an amount in DCR cannot be")
    expect(problem("21000000.00000001")).toBe("spendlimit: 21000000.00000001 DCR is more than the 21000000 DCR that can exist")
    expect(problem(Number.NaN)).toBe("spendlimit: NaN is not an amount")
    expect(problem(true)).toBe("spendlimit: expected an amount in DCR, got boolean")
    expect(problem("1 DCR")).toBe('spendlimit: "1 DCR" is not an amount in DCR (a non-negative decimal, as JSON writes numbers)')
  })

  it("an exponent far out of range is refused as too large or too fine, without building its digits", () => {
    expect(problem("1e999999999")).toContain("is more than the 21000000 DCR")
    expect(problem("1e-999999999")).toContain("more than 8 decimal places")
    expect(problem("1e9999999999999999999999")).toContain("is more than the 21000000 DCR")
  })

  it("what people type: digits and a decimal point, no exponent or sign", () => {
    expect(typed("0.00000001")).toBe(1n)
    expect(typed(".5")).toBe(50_000_000n)
    expect(typed("5.")).toBe(500_000_000n)
    expect(typed("1e-3")).toBe("not-an-amount: is not an amount in DCR (digits with an optional decimal point)")
    expect(typed("-0.1")).toBe("negative: is negative: an amount in DCR cannot be")
    expect(typed("0.000000001")).toBe("too-many-decimals: has more than 8 decimal places (1 atom = 0.00000001 DCR)")
    expect(typed("21000000.00000001")).toBe("too-large: is more than the 21000000 DCR that can exist")
    expect(typed(".")).toBe("not-an-amount: is not an amount in DCR (digits with an optional decimal point)")
  })

  it("property: atoms -> DCR text -> atoms is the identity, typed or on the wire", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: MAX_ATOMS }), (a) => {
        expect(atoms(atomsToDcr(a))).toBe(a)
        expect(Result.getOrThrow(parseDcr(atomsToDcr(a)))).toBe(a)
      }),
    )
  })
})

describe("DCR amounts on the RPC wire", () => {
  it("property: any amount up to the supply, written as dcrd writes it and read back as a JSON number, gives the same atoms", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 2_100_000_000_000_000n }), (a) => {
        const text = atomsToDcr(a)
        expect(atoms(JSON.parse(text) as number)).toBe(a)
        expect(atoms(Number((Number(a) / 1e8).toFixed(8)))).toBe(a)
      }),
      { numRuns: 2000 },
    )
  })
  it("formats exact decimals", () => {
    expect(atomsToDcr(123_456_789n)).toBe("1.23456789")
    expect(atomsToDcr(5n)).toBe("0.00000005")
    expect(atomsToDcr(200_000_000n)).toBe("2")
    expect(atomsToDcr(-150_000_000n)).toBe("-1.5")
  })
})
