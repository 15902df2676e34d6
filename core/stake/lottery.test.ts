import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { blake256Hash, hashToDisplay } from "../chain/hash.ts"
import { drawTicketIndices, Hash256PRNG, prngIV } from "./lottery.ts"

// Known answers of dcrd's own lottery tests (blockchain/stake/lottery_test.go): the same
// seed must give the same words, indices and state hash, or our lottery is not dcrd's.
const dcrdSeed = () => blake256Hash(Uint8Array.of(0x01))

describe("Hash256PRNG matches dcrd's definition", () => {
  it("state after 100,000 words (dcrd TestBasicPRNG)", () => {
    const prng = Hash256PRNG.fromSeed(dcrdSeed())
    for (let i = 0; i < 100000; i++) prng.next32()
    expect(hashToDisplay(prng.stateHash())).toBe("24f1cd72aefbfc85a9d3e21e2eb732615688d3634bf94499af5a81e0eb45c4e4")
  })

  it("winning indices and state for pools of 56,789 and 5 tickets (dcrd TestLotteryNumSelection)", () => {
    const prng = Hash256PRNG.fromSeed(dcrdSeed())
    expect(() => drawTicketIndices(prng, 4, 5)).toThrow("cannot draw 5 distinct tickets from a pool of 4")
    expect(drawTicketIndices(prng, 56789, 5)).toEqual([34850, 8346, 27636, 54482, 25482])
    expect(drawTicketIndices(prng, 5, 5)).toEqual([3, 0, 4, 2, 1])
    expect(hashToDisplay(prng.stateHash())).toBe("e97ce54aea63a883a82871e752c6ec3c5731fffc63dafc3767c06861b0b2fa65")
  })

  it("reads the IV's own eight words first, big-endian", () => {
    const iv = prngIV(Uint8Array.of(1, 2, 3))
    const prng = new Hash256PRNG(iv)
    const view = new DataView(iv.buffer)
    for (let i = 0; i < 8; i++) expect(prng.next32()).toBe(view.getUint32(4 * i, false))
  })

  it("property: draws are distinct, in range, and the same for the same seed", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 64 }), fc.integer({ min: 5, max: 100000 }), (seed, pool) => {
        const a = drawTicketIndices(Hash256PRNG.fromSeed(seed), pool, 5)
        expect(new Set(a).size).toBe(5)
        for (const i of a) expect(i >= 0 && i < pool).toBe(true)
        expect(drawTicketIndices(Hash256PRNG.fromSeed(seed), pool, 5)).toEqual(a)
      }),
    )
  })
})
