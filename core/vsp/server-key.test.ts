import { readFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { hexToBytes } from "../chain/bytes.ts"
import { SERVER_SEED_BYTES, serverPublicKey, signResponse, verifyResponse } from "./server-key.ts"

/** Go's crypto/ed25519 (NewKeyFromSeed, Sign), what vspd signs its responses with (scenarios/simnet/tools/vsp-vectors). */
interface Ed25519Vector {
  readonly seed: string
  readonly publicKey: string
  readonly body: string
  readonly signature: string
}
const vectors: ReadonlyArray<Ed25519Vector> = JSON.parse(readFileSync(join(import.meta.dirname, "keys.vectors.json"), "utf8")).ed25519

describe("the voting service's Ed25519 key and VSP-Server-Signature, as vspd makes them and dcrwallet checks them", () => {
  it("gives Go's public key (base64, what --vsp.pubkey takes) and Go's signature of the exact body bytes", () => {
    for (const v of vectors) {
      const seed = hexToBytes(v.seed)
      const body = Buffer.from(v.body, "base64")
      expect(serverPublicKey(seed)).toBe(v.publicKey)
      expect(signResponse(seed, body)).toBe(v.signature)
      expect(verifyResponse(v.publicKey, body, v.signature)).toBe(true)
    }
  })

  it("refuses a body changed by one byte (a trailing newline dropped), another key, and malformed input, without throwing", () => {
    const [a, b] = vectors
    const body = Buffer.from(a!.body, "base64")
    expect(verifyResponse(a!.publicKey, body.subarray(0, body.length - 1), a!.signature)).toBe(false)
    expect(verifyResponse(b!.publicKey, body, a!.signature)).toBe(false)
    for (const [key, sig] of [
      ["", a!.signature],
      [a!.publicKey, ""],
      ["***", a!.signature],
      [a!.publicKey, a!.signature.slice(4)],
      [Buffer.alloc(31).toString("base64"), a!.signature],
    ] as const) {
      expect(verifyResponse(key, body, sig)).toBe(false)
    }
  })

  it("refuses a seed that is not 32 bytes", () => {
    expect(() => serverPublicKey(new Uint8Array(SERVER_SEED_BYTES - 1))).toThrow(/32 bytes/)
    expect(() => signResponse(new Uint8Array(SERVER_SEED_BYTES + 1), new Uint8Array())).toThrow(/32 bytes/)
  })
})
