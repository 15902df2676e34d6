import fc from "fast-check"
import { Result } from "effect"
import { describe, expect, it } from "vitest"
import { arbitraryHeader } from "../../testkit/arbitraries.ts"
import { toHex } from "./bytes.ts"
import { decodeGetworkData, decodeGetworkDataHex, detectPadding, encodeGetworkData, encodeGetworkDataHex, GETWORK_DATA_BYTES } from "./getwork.ts"
import { encodeHeader } from "./header.ts"
import { NETWORKS } from "./params.ts"

const genesis = Buffer.from(NETWORKS.mainnet.genesis.headerHex, "hex")

describe("getwork data", () => {
  it("pads with BLAKE-256's message padding: 0x80 .. 0x01, then the bit length 1440", () => {
    const hex = encodeGetworkDataHex(genesis, "blake256")
    expect(hex).toHaveLength(384)
    expect(hex.slice(360)).toBe("8000000100000000000005a0")
  })

  it("pads with twelve zero bytes for BLAKE3", () => {
    expect(encodeGetworkDataHex(genesis, "blake3").slice(360)).toBe("0".repeat(24))
  })

  it("property: decode(encode(header, padding)) gives back the header, its bytes and the padding", () => {
    fc.assert(
      fc.property(arbitraryHeader, fc.constantFrom("blake256" as const, "blake3" as const), (h, padding) => {
        const bytes = encodeHeader(h)
        const data = encodeGetworkData(bytes, padding)
        expect(data.length).toBe(GETWORK_DATA_BYTES)
        const back = Result.getOrThrow(decodeGetworkDataHex(toHex(data)))
        expect(back.padding).toBe(padding)
        expect(back.header).toEqual(h)
        expect(toHex(back.headerBytes)).toBe(toHex(bytes))
      }),
      { numRuns: 300 },
    )
  })

  it("tells the paddings apart and recognises neither when altered", () => {
    const data = encodeGetworkData(genesis, "blake256")
    expect(detectPadding(data.subarray(180))).toBe("blake256")
    data[191] = 0xa1
    expect(detectPadding(data.subarray(180))).toBeUndefined()
    const r = decodeGetworkData(data)
    expect(Result.isFailure(r) && r.failure.message).toContain("is neither BLAKE-256")
  })

  it("refuses wrong lengths with the sizes in the message", () => {
    const short = decodeGetworkDataHex("00".repeat(180))
    expect(Result.isFailure(short) && short.failure.message).toBe("getwork data: expected 192 bytes (384 hex digits), got 180 bytes")
    const long = decodeGetworkData(new Uint8Array(193))
    expect(Result.isFailure(long) && long.failure._tag).toBe("GetworkDecodeError")
  })
})
