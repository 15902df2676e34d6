import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { pplnsWindowByWalking } from "./schemes.ts"
import { ShareLog, type Share } from "./sharelog.ts"

const sharesArb = fc.array(fc.record({ account: fc.constantFrom("a", "b", "c", "d"), weight: fc.bigInt({ min: 1n, max: 1000n }), gap: fc.integer({ min: 0, max: 5000 }) }), {
  minLength: 1,
  maxLength: 120,
})

const build = (spec: ReadonlyArray<{ account: string; weight: bigint; gap: number }>) => {
  let time = 0
  const shares: Array<Share> = spec.map((s, i) => ({ id: `s${i}`, account: s.account, weight: s.weight, time: (time += s.gap) }))
  const log = new ShareLog()
  for (const s of shares) log.append(s)
  return { shares, log }
}

const sumOf = (m: ReadonlyMap<string, bigint>) => [...m.values()].reduce((a, b) => a + b, 0n)

describe("share log windows", () => {
  it("property: window exactness: the indexed PPLNS window equals walking back share by share, sums to X x D, and pro-rates the straddling share", () => {
    fc.assert(
      fc.property(sharesArb, fc.nat(), fc.bigInt({ min: 1n, max: 60_000n }), (spec, endPick, units) => {
        const { shares, log } = build(spec)
        const end = 1 + (endPick % shares.length)
        const window = log.lastUnits(end, units)
        expect(window.weights).toEqual(pplnsWindowByWalking(shares, end, units))
        const total = shares.slice(0, end).reduce((s, x) => s + x.weight, 0n)
        expect(window.total).toBe(total < units ? total : units)
        expect(sumOf(window.weights)).toBe(window.total)
        // Shares before the window's first one count for nothing; the first counts for a part of itself.
        expect(window.firstShareWeight > 0n && window.firstShareWeight <= shares[window.start]!.weight).toBe(true)
      }),
      { numRuns: 500 },
    )
  })

  it("property: time windows and rounds match a direct filter of the log", () => {
    fc.assert(
      fc.property(sharesArb, fc.nat(), fc.nat(), fc.integer({ min: 0, max: 100_000 }), (spec, a, b, period) => {
        const { shares, log } = build(spec)
        const end = 1 + (a % shares.length)
        const start = b % end
        const byFilter = (keep: (s: Share, i: number) => boolean) => {
          const m = new Map<string, bigint>()
          shares.slice(0, end).forEach((s, i) => keep(s, i) && m.set(s.account, (m.get(s.account) ?? 0n) + s.weight))
          return m
        }
        const after = shares[end - 1]!.time - period
        expect(log.sinceTime(end, after).weights).toEqual(byFilter((s) => s.time > after))
        expect(log.between(start, end).weights).toEqual(byFilter((_, i) => i >= start))
      }),
      { numRuns: 300 },
    )
  })

  it("property: forgetting shares before a window's start changes no window that starts after it", () => {
    fc.assert(
      fc.property(sharesArb, fc.bigInt({ min: 1n, max: 20_000n }), (spec, units) => {
        const { shares, log } = build(spec)
        const end = shares.length
        const before = log.lastUnits(end, units)
        log.forgetBefore(before.start)
        expect(log.lastUnits(end, units)).toEqual(before)
        expect(log.first).toBe(before.start)
      }),
      { numRuns: 300 },
    )
  })

  it("counts a duplicate share once and refuses shares out of time order", () => {
    const log = new ShareLog()
    expect(log.append({ id: "x", account: "a", weight: 5n, time: 10 })).toBe(true)
    expect(log.append({ id: "x", account: "a", weight: 5n, time: 11 })).toBe(false)
    expect(log.weightBefore(log.end)).toBe(5n)
    expect(() => log.append({ id: "y", account: "a", weight: 5n, time: 9 })).toThrow("older")
  })
})
