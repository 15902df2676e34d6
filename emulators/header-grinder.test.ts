import { describe, expect, it } from "vitest"
import fc from "fast-check"
import { HEADER_BYTES } from "../core/chain/header.ts"
import { makeHeaderHasher } from "../core/chain/powhasher.ts"
import { makeGrindHasher } from "./header-grinder.ts"

describe("the emulated miner's grind hasher", () => {
  for (const algorithm of ["blake256", "blake3"] as const) {
    it(`property: ${algorithm}: hashes every header as the pool's hasher does, for any job prefix and any nonce, extra nonce and time`, () => {
      fc.assert(
        fc.property(fc.uint8Array({ minLength: HEADER_BYTES, maxLength: HEADER_BYTES }), fc.array(fc.uint8Array({ minLength: 52, maxLength: 52 }), { minLength: 1, maxLength: 4 }), (header, tails) => {
          const grind = makeGrindHasher(algorithm, header)
          const pool = makeHeaderHasher(algorithm, header)
          // One hasher per job, many shares over it: each share changes only bytes 128..180.
          for (const tail of tails) {
            header.set(tail, 128)
            expect(grind.hash(header)).toEqual(pool.hash(header))
          }
        }),
      )
    })
  }

  it("refuses a header of the wrong length, as the pool's hasher does", () => {
    const grind = makeGrindHasher("blake3", new Uint8Array(HEADER_BYTES))
    expect(() => grind.hash(new Uint8Array(HEADER_BYTES - 1))).toThrow(RangeError)
  })
})
