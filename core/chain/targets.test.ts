import fc from "fast-check"
import { Result } from "effect"
import { describe, expect, it } from "vitest"
import { arbitraryTarget } from "../../testkit/arbitraries.ts"
import { hexToBytes, reversed } from "./bytes.ts"
import { MAINNET, SIMNET } from "./params.ts"
import { bigToCompact, calcWork, compactToBig, difficultyRatio, hashMeetsTarget, hashToBig, ratioToDecimal, targetFromLEHex, targetToLEHex } from "./targets.ts"

describe("compact bits", () => {
  it("decodes known values", () => {
    expect(compactToBig(0x1d00ffff)).toBe(0xffffn << 208n) // mainnet pow limit bits
    expect(compactToBig(0x1b01ffff)).toBe(0x1ffffn << 192n) // mainnet genesis
    expect(compactToBig(0x207fffff)).toBe(0x7fffffn << 232n) // simnet pow limit bits
    expect(compactToBig(0x01003456)).toBe(0n)
    expect(compactToBig(0x01123456)).toBe(0x12n)
    expect(compactToBig(0x02008000)).toBe(0x80n)
    expect(compactToBig(0x04923456)).toBe(-0x12345600n)
    expect(compactToBig(0x05009234)).toBe(0x92340000n)
  })

  it("encodes known values", () => {
    expect(bigToCompact(0n)).toBe(0)
    expect(bigToCompact(0x80n)).toBe(0x02008000) // bit 23 would be the sign: exponent grows
    expect(bigToCompact(0x12345600n)).toBe(0x04123456)
    expect(bigToCompact(-0x12345600n)).toBe(0x04923456)
    expect(bigToCompact(MAINNET.powLimit)).toBe(0x1d00ffff)
    expect(bigToCompact(SIMNET.powLimit)).toBe(0x207fffff)
  })

  it("property: compact(target) is canonical: it decodes to the target truncated to 23 bits and re-encodes to itself", () => {
    fc.assert(
      fc.property(arbitraryTarget, (t) => {
        const c = bigToCompact(t)
        const back = compactToBig(c)
        expect(back).toBeLessThanOrEqual(t)
        expect(back).toBeGreaterThan(0n)
        // At most 23 significant bits survive.
        expect(t - back).toBeLessThan(t >> 15n > 0n ? t >> 15n : 1n)
        expect(bigToCompact(back)).toBe(c)
      }),
      { numRuns: 1000 },
    )
  })

  it("property: compact encoding preserves order (a <= b implies target(compact(a)) <= target(compact(b)))", () => {
    fc.assert(
      fc.property(arbitraryTarget, arbitraryTarget, (a, b) => {
        const [lo, hi] = a <= b ? [a, b] : [b, a]
        expect(compactToBig(bigToCompact(lo))).toBeLessThanOrEqual(compactToBig(bigToCompact(hi)))
      }),
      { numRuns: 1000 },
    )
  })
})

describe("work and difficulty", () => {
  it("calcWork = 2^256 / (target + 1)", () => {
    expect(calcWork(0x1d00ffff)).toBe((1n << 256n) / ((0xffffn << 208n) + 1n))
    expect(calcWork(0x207fffff)).toBe(2n) // simnet's easiest target is just under 2^255
    expect(calcWork(0)).toBe(0n)
  })

  it("difficulty ratio is exact and 1 at the network's limit", () => {
    expect(difficultyRatio(compactToBig(0x1d00ffff), MAINNET.powLimitBits)).toEqual({ numerator: 1n, denominator: 1n })
    // Mainnet genesis bits 0x1b01ffff: 0xffff * 2^208 / (0x1ffff * 2^192) = 32767.75...
    const r = difficultyRatio(compactToBig(0x1b01ffff), MAINNET.powLimitBits)
    expect(ratioToDecimal(r, 8)).toBe("32767.74999809")
    // DCP-0011's mainnet start bits 0x1b00a5a6: 0xffff * 2^16 / 0xa5a6 = 101280.5206...
    expect(difficultyRatio(compactToBig(0x1b00a5a6), MAINNET.powLimitBits)).toEqual({
      numerator: (0xffffn << 16n) >> 1n,
      denominator: 0xa5a6n >> 1n,
    })
    expect(ratioToDecimal(difficultyRatio(compactToBig(0x1b00a5a6), MAINNET.powLimitBits), 4)).toBe("101280.5207")
  })
})

describe("hash versus target", () => {
  it("reads the stored hash bytes as a little-endian integer", () => {
    // dcrd's HashToBig example: mainnet block 1's displayed hash is the big-endian form.
    const display = "000000000000437482b6d47f82f374cde539440ddb108b0a76886f0d87d126b9"
    const stored = reversed(hexToBytes(display))
    expect(hashToBig(stored)).toBe(BigInt("0x" + display))
  })

  it("accepts a hash equal to the target and refuses one above it", () => {
    const target = 0x00ffn << 240n
    const atTarget = hexToBytes(targetToLEHex(target))
    expect(hashMeetsTarget(atTarget, target)).toBe(true)
    expect(hashMeetsTarget(hexToBytes(targetToLEHex(target + 1n)), target)).toBe(false)
    expect(hashMeetsTarget(hexToBytes(targetToLEHex(target - 1n)), target)).toBe(true)
  })

  it("property: hashMeetsTarget agrees with the full 256-bit comparison, ties in the top bits included", () => {
    const near = fc.tuple(arbitraryTarget, fc.bigInt({ min: -(1n << 210n), max: 1n << 210n })).map(([t, d]) => {
      const h = t + d
      return { target: t, hash: h < 0n ? 0n : h >= 1n << 256n ? (1n << 256n) - 1n : h }
    })
    const any = fc.tuple(arbitraryTarget, fc.bigInt({ min: 0n, max: (1n << 256n) - 1n })).map(([target, hash]) => ({ target, hash }))
    fc.assert(
      fc.property(fc.oneof(near, any), ({ target, hash }) => {
        expect(hashMeetsTarget(hexToBytes(targetToLEHex(hash)), target)).toBe(hash <= target)
      }),
      { numRuns: 2000 },
    )
  })

  it("property: target LE hex round-trips and is 64 digits", () => {
    fc.assert(
      fc.property(arbitraryTarget, (t) => {
        const hex = targetToLEHex(t)
        expect(hex).toHaveLength(64)
        expect(Result.getOrThrow(targetFromLEHex(hex))).toBe(t)
      }),
    )
  })

  it("reads getwork's little-endian target hex", () => {
    const t = Result.getOrThrow(targetFromLEHex("0000000000000000000000000000000000000000008c96010000000000000000"))
    expect(t).toBe(0x01968cn << 168n)
  })
})
