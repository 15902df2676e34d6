import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { OrderedSet } from "./ordered-set.ts"

describe("OrderedSet", () => {
  it("property: behaves as a sorted array under any sequence of adds and deletes", () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant("add" as const), key: fc.string({ maxLength: 3 }) }),
      fc.record({ kind: fc.constant("delete" as const), key: fc.string({ maxLength: 3 }) }),
    )
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300 }), (ops) => {
        const set = new OrderedSet()
        const model = new Set<string>()
        for (const { kind, key } of ops) {
          if (kind === "add") {
            expect(set.add(key)).toBe(!model.has(key))
            model.add(key)
          } else {
            expect(set.delete(key)).toBe(model.has(key))
            model.delete(key)
          }
        }
        const sorted = [...model].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
        expect(set.size).toBe(sorted.length)
        expect([...set]).toEqual(sorted)
        sorted.forEach((k, i) => {
          expect(set.at(i)).toBe(k)
          expect(set.has(k)).toBe(true)
        })
      }),
      { numRuns: 200 },
    )
  })

  it("refuses ranks outside the set", () => {
    const set = new OrderedSet()
    set.add("a")
    expect(() => set.at(1)).toThrow("index 1 is outside the set of 1")
  })
})
