import fc from "fast-check"
import { Result } from "effect"
import { describe, expect, it } from "vitest"
import { arbitraryHeader } from "../../testkit/arbitraries.ts"
import { toHex } from "./bytes.ts"
import { decodeHeader, decodeHeaderHex, encodeHeader, HEADER_BYTES, HeaderOffset } from "./header.ts"

describe("block header codec", () => {
  it("property: decode(encode(h)) = h and encode(decode(b)) = b for every header", () => {
    fc.assert(
      fc.property(arbitraryHeader, (h) => {
        const bytes = encodeHeader(h)
        expect(bytes.length).toBe(HEADER_BYTES)
        const back = Result.getOrThrow(decodeHeader(bytes))
        expect(back).toEqual(h)
        expect(toHex(encodeHeader(back))).toBe(toHex(bytes))
      }),
      { numRuns: 500 },
    )
  })

  it("property: each field lands at its documented offset", () => {
    fc.assert(
      fc.property(arbitraryHeader, (h) => {
        const b = encodeHeader(h)
        const v = new DataView(b.buffer)
        expect(v.getUint32(HeaderOffset.timestamp, true)).toBe(h.timestamp)
        expect(v.getUint32(HeaderOffset.nonce, true)).toBe(h.nonce)
        expect(v.getUint32(HeaderOffset.bits, true)).toBe(h.bits)
        expect(v.getUint32(HeaderOffset.height, true)).toBe(h.height)
        expect(toHex(b.subarray(HeaderOffset.extraData, HeaderOffset.extraData + 32))).toBe(toHex(h.extraData))
        expect(toHex(b.subarray(HeaderOffset.prevBlock, HeaderOffset.prevBlock + 32))).toBe(toHex(h.prevBlock))
        expect(v.getUint32(HeaderOffset.stakeVersion, true)).toBe(h.stakeVersion)
      }),
    )
  })

  it("refuses anything but 180 bytes, saying how long it was", () => {
    for (const length of [0, 179, 181, 192]) {
      const r = decodeHeader(new Uint8Array(length))
      expect(Result.isFailure(r) && r.failure.message).toBe(`a block header is 180 bytes, got ${length}`)
    }
  })

  it("refuses hex that is not hex or has the wrong length", () => {
    const notHex = decodeHeaderHex("zz".repeat(180))
    expect(Result.isFailure(notHex) && notHex.failure._tag).toBe("HeaderDecodeError")
    expect(Result.isFailure(notHex) && notHex.failure.message).toContain("not hex at position 0")
    const odd = decodeHeaderHex("0".repeat(359))
    expect(Result.isFailure(odd) && odd.failure.message).toContain("odd number of digits")
  })

  it("refuses to encode out-of-range fields with a message naming the field", () => {
    const h = fc.sample(arbitraryHeader, { seed: 1, numRuns: 1 })[0]!
    expect(() => encodeHeader({ ...h, voters: 70000 })).toThrow("header voters must be an unsigned 16-bit integer")
    expect(() => encodeHeader({ ...h, extraData: new Uint8Array(31) })).toThrow("header extraData must be 32 bytes")
  })
})
