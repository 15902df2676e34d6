import { describe, expect, it } from "vitest"
import { hexToBytes, toHex } from "./bytes.ts"
import { blake256Hash, blake3Hash, hashFromDisplay, hashToDisplay } from "./hash.ts"
import { blockHashDisplay, decodeHeaderHex, encodeHeader } from "./header.ts"
import { NETWORKS } from "./params.ts"
import { Result } from "effect"

const ascii = (s: string) => new TextEncoder().encode(s)

describe("BLAKE-256 (14 rounds) known answers", () => {
  // Published BLAKE-256 outputs (the BLAKE submission's examples and dcrd's chainhash tests).
  const cases: ReadonlyArray<readonly [Uint8Array, string]> = [
    [ascii(""), "716f6e863f744b9ac22c97ec7b76ea5f5908bc5b2f67c61510bfc4751384ea7a"],
    [ascii("abc"), "1833a9fa7cf4086bd5fda73da32e5a1d75b4c3f89d5c436369f9d78bb2da5c28"],
    [new Uint8Array(1), "0ce8d4ef4dd7cd8d62dfded9d4edb0a774ae6a41929a74da23109e8f11139c87"],
    [new Uint8Array(72), "d419bad32d504fb7d44d460c42c5593fe544fa4c135dec31e21bd9abdcc22d41"],
    [ascii("Nepal premier won't resign."), "d56eab6927e371e2148b0788779aaf565d30567af2af822b6be3b90db9767a70"],
  ]
  for (const [input, expected] of cases) {
    it(`hashes ${input.length} bytes`, () => expect(toHex(blake256Hash(input))).toBe(expected))
  }
})

describe("BLAKE3 known answers", () => {
  it("hashes the empty input", () => expect(toHex(blake3Hash(ascii("")))).toBe("af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"))
})

describe("genesis headers of every network (real headers, public hashes)", () => {
  for (const params of Object.values(NETWORKS)) {
    it(`${params.name}: decodes, re-encodes byte for byte, and hashes to ${params.genesis.hash.slice(0, 12)}…`, () => {
      const header = Result.getOrThrow(decodeHeaderHex(params.genesis.headerHex))
      const bytes = encodeHeader(header)
      expect(toHex(bytes)).toBe(params.genesis.headerHex)
      expect(blockHashDisplay(bytes)).toBe(params.genesis.hash)
      expect(header.height).toBe(0)
      expect(header.bits).toBe(params.name === "mainnet" ? 0x1b01ffff : params.powLimitBits)
    })
  }

  it("mainnet genesis fields are the launch values", () => {
    const h = Result.getOrThrow(decodeHeaderHex(NETWORKS.mainnet.genesis.headerHex))
    expect(h.version).toBe(1)
    expect(h.timestamp).toBe(1454954400) // 2016-02-08 18:00 UTC
    expect(h.sbits).toBe(200000000n) // 2 DCR
    expect(hashToDisplay(h.merkleRoot)).toBe("66aa7491b9adce110585ccab7e3fb5fe280de174530cca10eba2c6c3df01c10d")
  })
})

describe("display order", () => {
  it("is the reverse of the stored bytes and round-trips", () => {
    const stored = hexToBytes("00".repeat(31) + "ff")
    expect(hashToDisplay(stored)).toBe("ff" + "00".repeat(31))
    expect(toHex(Result.getOrThrow(hashFromDisplay(hashToDisplay(stored))))).toBe(toHex(stored))
  })

  it("refuses a hash of the wrong length, naming the field", () => {
    const r = hashFromDisplay("abcd", "prevhash")
    expect(Result.isFailure(r) && r.failure.message).toBe("prevhash: expected 32 bytes (64 hex digits), got 2 bytes")
  })
})
