import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { hexPrefix, OrderedSet } from "./ordered-set.ts"

describe("OrderedSet", () => {
  it("property: behaves as a sorted array under any sequence of adds and deletes, whatever the chunk size", () => {
    const op = fc.oneof(fc.record({ kind: fc.constant("add" as const), key: fc.string({ maxLength: 3 }) }), fc.record({ kind: fc.constant("delete" as const), key: fc.string({ maxLength: 3 }) }))
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300 }), fc.constantFrom(1, 2, 4, 256), (ops, chunk) => {
        const set = new OrderedSet({ chunk })
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

  it("property: with hex keys and the hex prefix it orders like raw byte comparison", () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ minLength: 32, maxLength: 32 }), { maxLength: 200 }), fc.constantFrom(2, 256), (hashes, chunk) => {
        const set = new OrderedSet({ chunk, prefix: hexPrefix })
        for (const h of hashes) set.add(Buffer.from(h).toString("hex"))
        const byBytes = [...new Set(hashes.map((h) => Buffer.from(h).toString("hex")))].sort((a, b) => Buffer.compare(Buffer.from(a, "hex"), Buffer.from(b, "hex")))
        expect([...set]).toEqual(byBytes)
        byBytes.forEach((k, i) => expect(set.at(i)).toBe(k))
      }),
      { numRuns: 100 },
    )
  })

  it("refuses ranks outside the set", () => {
    const set = new OrderedSet()
    set.add("a")
    expect(() => set.at(1)).toThrow("index 1 is outside the set of 1")
  })
})
