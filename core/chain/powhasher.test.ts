import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { toHex } from "./bytes.ts"
import { powHashWith } from "./hash.ts"
import { makeHeaderHasher } from "./powhasher.ts"

describe("midstate header hasher", () => {
  it("property: equals the library's whole-header hash for any header tail, for both algorithms", () => {
    fc.assert(
      fc.property(
        fc.constantFrom("blake256" as const, "blake3" as const),
        fc.uint8Array({ minLength: 180, maxLength: 180 }),
        fc.array(fc.uint8Array({ minLength: 52, maxLength: 52 }), { minLength: 1, maxLength: 5 }),
        (algorithm, header, tails) => {
          const hasher = makeHeaderHasher(algorithm, header)
          // Several shares of one job, in a row: the reused state must not leak between them.
          for (const tail of tails) {
            const h = header.slice()
            h.set(tail, 128)
            expect(toHex(hasher.hash(h))).toBe(toHex(powHashWith(algorithm, h)))
          }
        },
      ),
      { numRuns: 300 },
    )
  })

  it("refuses a header of the wrong size", () => {
    expect(() => makeHeaderHasher("blake3", new Uint8Array(180)).hash(new Uint8Array(179))).toThrow("180-byte header")
  })
})
