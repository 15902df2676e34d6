import { readFileSync } from "node:fs"
import { join } from "node:path"
import { Result } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { hexToBytes } from "../chain/bytes.ts"
import { MAINNET, NETWORKS, SIMNET, TESTNET3, type NetworkName } from "../chain/params.ts"
import { decodeWif, p2pkhAddressOf, publicKeyOf } from "./keys.ts"
import { signMessage, verifySignedMessage } from "./signed-message.ts"

/** Signed by dcrd's ecdsa.SignCompact as dcrwallet's signmessage calls it, each checked by dcrutil.VerifyMessage (scenarios/simnet/tools/vsp-vectors). */
interface MessageVector {
  readonly network: NetworkName
  readonly privateKey: string
  readonly address: string
  readonly message: string
  readonly signature: string
}
const goVectors: ReadonlyArray<MessageVector> = JSON.parse(readFileSync(join(import.meta.dirname, "keys.vectors.json"), "utf8")).signedMessages

// A real dcrwallet 2.1.5 (--createtemp --simnet): `signmessage <address> <message>` answers; the
// address's key is dumpprivkey PsUR6HLDK95BnriV6HngDoJgUzUXL3RZbPH6xacn9j58tGDV49d4B.
const DCRWALLET_ADDRESS = "Sss9XsixdVdPqWqqamByKhvrrFjWpwpS6Lx"
const DCRWALLET_WIF = "PsUR6HLDK95BnriV6HngDoJgUzUXL3RZbPH6xacn9j58tGDV49d4B"
const DCRWALLET_SIGNATURES = [
  { message: "vsp v3 request", signature: "HyNHYa7U1g5EnsfJ/8JIh33bdCSUYHL5xf3k5xL086rPEFkgKJH7Yh0swEK//YuvghloLitjbF21MQG0eY7PzKM=" },
  { message: '{"timestamp":1700000000,"tickethash":"00"}', signature: "IG4TAqNmN1PmUJpv30ElfpiSgc8lTM4y5oBTSO5uKSVNNLfDpmiLNklh9iGMvD5GSWj10dSi9N4WfTiFq25GbXU=" },
  { message: "", signature: "H56QZksiI3KlzbDVmhtACNTySB491nfTa/7ER+22UJHOA7gmNfjRGydlav+IVQcNsvTFICZaLAuQGc+/UXOG5rY=" },
] as const

// dcrd's own: dcrutil/util_test.go TestVerifyMessage (testnet) and internal/rpcserver
// TestHandleVerifyMessage (mainnet, private key 1, compressed and uncompressed key addresses).
const DCRD_TESTNET = {
  address: "TsdbYVDoh3JsyP6oEg2aHVoTjsFuHzUgGKv",
  message: "verifymessage test",
  signature: "IITPXfmkfLPULbX9Im3XIyHAKiXRw5N9j6P7qf0MdEP9YQinn51lWjS+8jbTceRxCWckKKssu3ZpQm1xCWKz9GA=",
}
const DCRD_MAINNET = {
  message: "test message",
  compressedAddress: "DsmcYVbP1Nmag2H4AS17UTvmWXmGeA7nLDx",
  compressedSignature: "H18ier4CIfSBOk0FKPjO4mggno0ES1w2P+41GpJnnyiSRWdE2n02YwE29Sw0n2ALT3M1Q1+GQW7moKqsem1COF8=",
  uncompressedAddress: "DsbnCMAYV13buumdjHuwiJeJWZWvgjZRTbE",
  uncompressedSignature: "G18ier4CIfSBOk0FKPjO4mggno0ES1w2P+41GpJnnyiSRWdE2n02YwE29Sw0n2ALT3M1Q1+GQW7moKqsem1COF8=",
  p2shAddress: "DcXTb4QtmnyRsnzUVViYQawqFE5PuYTdX2C",
  derSignature: "MEUCIQD8wKh2jPvO/PLK3Xz7D7GO0I3S4q6EvvGkdKPTUbJvAwIgD8GjULRfRvoAEBORMCgY10jCsiYVURo//Vu2OL13cgc=",
  signatureOfTest: "II57fsP8WEHAwfrSlx3u3wu4PHqTnP1fk/r0LM9dzm0lYr6GAD+HAFIHWUTAN623ONsG+yq6onSbZvu5vW8YI/0=",
}
const KEY_ONE = hexToBytes("0000000000000000000000000000000000000000000000000000000000000001")

describe("Decred signed messages: verify as dcrutil.VerifyMessage (vspd) does, sign as dcrwallet does", () => {
  it("accepts what a real dcrwallet's signmessage produced, and signs the same bytes from the same key", () => {
    const key = Result.getOrThrow(decodeWif(DCRWALLET_WIF, SIMNET))
    for (const s of DCRWALLET_SIGNATURES) {
      expect(verifySignedMessage(DCRWALLET_ADDRESS, s.signature, s.message, SIMNET), s.message).toBe(true)
      expect(signMessage(key, s.message), s.message).toBe(s.signature)
    }
  })

  it("accepts dcrd's own test signatures, compressed and uncompressed keys, and signs dcrd's bytes from key 1", () => {
    expect(verifySignedMessage(DCRD_TESTNET.address, DCRD_TESTNET.signature, DCRD_TESTNET.message, TESTNET3)).toBe(true)
    expect(verifySignedMessage(DCRD_MAINNET.compressedAddress, DCRD_MAINNET.compressedSignature, DCRD_MAINNET.message, MAINNET)).toBe(true)
    expect(verifySignedMessage(DCRD_MAINNET.uncompressedAddress, DCRD_MAINNET.uncompressedSignature, DCRD_MAINNET.message, MAINNET)).toBe(true)
    expect(p2pkhAddressOf(publicKeyOf(KEY_ONE), MAINNET)).toBe(DCRD_MAINNET.compressedAddress)
    expect(signMessage(KEY_ONE, DCRD_MAINNET.message)).toBe(DCRD_MAINNET.compressedSignature)
  })

  it("refuses what dcrd refuses: wrong address, wrong message, wrong network, P2SH, DER, the other key form", () => {
    expect(verifySignedMessage("TsWeG3TJzucZgYyMfZFC2GhBvbeNfA48LTo", DCRD_TESTNET.signature, DCRD_TESTNET.message, TESTNET3)).toBe(false)
    expect(verifySignedMessage(DCRD_TESTNET.address, DCRD_TESTNET.signature, DCRD_TESTNET.message, MAINNET)).toBe(false)
    expect(verifySignedMessage(DCRD_MAINNET.compressedAddress, DCRD_MAINNET.signatureOfTest, DCRD_MAINNET.message, MAINNET)).toBe(false)
    expect(verifySignedMessage(DCRD_MAINNET.p2shAddress, DCRD_MAINNET.compressedSignature, DCRD_MAINNET.message, MAINNET)).toBe(false)
    expect(verifySignedMessage(DCRD_MAINNET.compressedAddress, DCRD_MAINNET.derSignature, DCRD_MAINNET.message, MAINNET)).toBe(false)
    // The recovery byte says which serialization the address hashes: swapping it points elsewhere.
    expect(verifySignedMessage(DCRD_MAINNET.compressedAddress, DCRD_MAINNET.uncompressedSignature, DCRD_MAINNET.message, MAINNET)).toBe(false)
  })

  it("matches every Go-made signature on every network, both ways", () => {
    for (const v of goVectors) {
      expect(verifySignedMessage(v.address, v.signature, v.message, NETWORKS[v.network]), v.message).toBe(true)
      expect(signMessage(hexToBytes(v.privateKey), v.message), v.message).toBe(v.signature)
    }
  })

  it("signs and verifies raw bytes as Go does a string of them, invalid UTF-8 included", () => {
    const body = Uint8Array.of(0x7b, 0xff, 0xfe, 0x7d)
    const address = p2pkhAddressOf(publicKeyOf(KEY_ONE), MAINNET)
    const signature = signMessage(KEY_ONE, body)
    expect(verifySignedMessage(address, signature, body, MAINNET)).toBe(true)
    // Decoding the bytes to a string first replaces them (U+FFFD): another message.
    expect(verifySignedMessage(address, signature, new TextDecoder().decode(body), MAINNET)).toBe(false)
    expect(signMessage(KEY_ONE, new TextEncoder().encode(DCRD_MAINNET.message))).toBe(DCRD_MAINNET.compressedSignature)
  })

  it("answers false, never throws, for malformed input", () => {
    const good = DCRD_MAINNET.compressedSignature
    const bytes = Buffer.from(good, "base64")
    const withByte = (i: number, b: number) => Buffer.from(bytes.map((x, j) => (j === i ? b : x))).toString("base64")
    const cases = [
      "",
      "not base64!",
      good.slice(0, -1),
      Buffer.from(bytes.subarray(0, 64)).toString("base64"),
      withByte(0, 26),
      withByte(0, 35),
      Buffer.concat([bytes.subarray(0, 1), Buffer.alloc(32, 0), bytes.subarray(33)]).toString("base64"), // R = 0
      Buffer.concat([bytes.subarray(0, 33), Buffer.alloc(32, 0xff)]).toString("base64"), // S >= N
    ]
    for (const sig of cases) expect(verifySignedMessage(DCRD_MAINNET.compressedAddress, sig, DCRD_MAINNET.message, MAINNET), sig).toBe(false)
    expect(verifySignedMessage("", good, DCRD_MAINNET.message, MAINNET)).toBe(false)
    expect(verifySignedMessage("garbage address", good, DCRD_MAINNET.message, MAINNET)).toBe(false)
  })

  it("property: a signature verifies for its own key and message and for no other message", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.string(), fc.string(), (seed, message, other) => {
        const key = Uint8Array.from(seed, (b, i) => (i === 31 ? b | 1 : b))
        const address = p2pkhAddressOf(publicKeyOf(key), SIMNET)
        const signature = signMessage(key, message)
        expect(verifySignedMessage(address, signature, message, SIMNET)).toBe(true)
        if (other !== message) expect(verifySignedMessage(address, signature, other, SIMNET)).toBe(false)
      }),
      { numRuns: 30 },
    )
  })
})
