import fc from "fast-check"
import { Result } from "effect"
import { describe, expect, it } from "vitest"
import { atomsToDcr, dcrToAtoms, MAX_ATOMS, percentToBasisPoints } from "./amounts.ts"

const atoms = (v: unknown) => Result.getOrThrow(dcrToAtoms(v, "amount"))
const problem = (v: unknown) => {
  const r = dcrToAtoms(v, "spendlimit")
  return Result.isFailure(r) ? r.failure.message : "accepted"
}

describe("DCR amounts to atoms, exactly", () => {
  it("reads JSON numbers and decimal strings without floating-point arithmetic", () => {
    expect(atoms(0.1)).toBe(10_000_000n)
    expect(atoms(0.3)).toBe(30_000_000n) // 0.1 + 0.2 is not 0.3 in floats; here it never comes up
    expect(atoms(1e-8)).toBe(1n)
    expect(atoms(999999)).toBe(99_999_900_000_000n)
    expect(atoms("21000000")).toBe(MAX_ATOMS)
    expect(atoms("1.5e2")).toBe(15_000_000_000n)
  })

  it("refuses what is not an amount, saying what is wrong", () => {
    expect(problem(0.123456789)).toBe("spendlimit: 0.123456789 DCR has more than 8 decimal places (1 atom = 0.00000001 DCR)")
    expect(problem(-1)).toContain("is not a non-negative decimal amount")
    expect(problem("21000000.00000001")).toContain("more than the 21 million DCR")
    expect(problem(Number.NaN)).toContain("is not an amount")
    expect(problem(true)).toBe("spendlimit: expected an amount in DCR, got boolean")
  })

  it("property: atoms -> DCR text -> atoms is the identity", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: MAX_ATOMS }), (a) => {
        expect(atoms(atomsToDcr(a))).toBe(a)
      }),
    )
  })

  it("percentages to basis points", () => {
    expect(Result.getOrThrow(percentToBasisPoints(7.5, "poolfees"))).toBe(750)
    expect(Result.getOrThrow(percentToBasisPoints("0.01", "poolfees"))).toBe(1)
    expect(Result.isFailure(percentToBasisPoints(100.5, "poolfees"))).toBe(true)
    expect(Result.isFailure(percentToBasisPoints(1.234, "poolfees"))).toBe(true)
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
