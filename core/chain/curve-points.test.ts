import { ECDH, generateKeyPairSync } from "node:crypto"
import fc from "fast-check"
import { Result } from "effect"
import { describe, expect, it } from "vitest"
import { fromHex } from "./bytes.ts"
import { ED25519_D, ED25519_P, SECP256K1_P, ed25519Point, secp256k1Point } from "./curve-points.ts"

const hex = (s: string) => Result.getOrThrow(fromHex(s, "key"))
const big = (s: string) => BigInt(`0x${s}`)
const le32 = (n: bigint) => Uint8Array.from({ length: 32 }, (_, i) => Number((n >> BigInt(8 * i)) & 0xffn))
const be32 = (n: bigint) => le32(n).reverse()

/** r^e mod m, written apart from the module's own so the checks below do not share its code. */
const power = (r: bigint, e: bigint, m: bigint): bigint => {
  let out = 1n
  for (let b = ((r % m) + m) % m, k = e; k > 0n; k >>= 1n, b = (b * b) % m) if (k & 1n) out = (out * b) % m
  return out
}
const isSquareModP = (r: bigint, p: bigint) => {
  const v = ((r % p) + p) % p
  return v === 0n || power(v, (p - 1n) / 2n, p) === 1n // Euler's criterion
}

describe("secp256k1 keys as dcrd's ParsePubKey reads a compressed key", () => {
  // dcrec/secp256k1/pubkey_test.go, the generator, and a key of dcrd's address tests.
  const points: ReadonlyArray<readonly [string, string]> = [
    ["02ce0b14fb842b1ba549fdd675c98075f12e9c510f8ef52bd021a9a1f4809d3b4d", "0890ff84d7999d878a57bee170e19ef4b4803b4bdede64503a6ac352b03c8032"],
    ["032689c7c2dab13309fb143e0e8fe396342521887e976690b6b47f5b2a4b7d448e", "499dd7852849a38aa23ed9f306f07794063fe7904e0f347bc209fdddaf37691f"],
    ["0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798", "483ada7726a3c4655da4fbfc0e1108a8fd17b448a68554199c47d08ffb10d4b8"],
    // txscript/stdaddr/address_test.go's mainnet p2pk key (its Y is not listed there).
    ["028f53838b7639563f27c94845549a41e5146bcd52e7fef0ea6da143a02b0fe2ed", ""],
  ]

  it("decompresses known keys to their Y with the oddness asked for", () => {
    for (const [key, y] of points) {
      const point = Result.getOrThrow(secp256k1Point(hex(key.slice(2)), key.startsWith("03")))
      if (y !== "") expect(point.y).toBe(big(y))
      expect((point.y & 1n) === 1n).toBe(key.startsWith("03"))
      expect((point.y * point.y) % SECP256K1_P).toBe((point.x ** 3n + 7n) % SECP256K1_P)
    }
  })

  it("refuses an X no point has, and an X at or above p (not reduced: p + 1 is not 1)", () => {
    // pubkey_test.go: "compressed with invalid x coord", "compressed x == p", "x > p".
    expect(secp256k1Point(hex("ce0b14fb842b1ba549fdd675c98075f12e9c510f8ef52bd021a9a1f4809d3b4c"), true)).toMatchObject({ _tag: "Failure" })
    expect(secp256k1Point(hex("2689c7c2dab13309fb143e0e8fe396342521887e976690b6b47f5b2a4b7d448d"), true)).toMatchObject({ _tag: "Failure" })
    for (const x of [SECP256K1_P, SECP256K1_P + 1n, SECP256K1_P + 2n, 2n ** 256n - 1n]) {
      const r = secp256k1Point(be32(x), false)
      expect(Result.isFailure(r) && r.failure).toBe("its X coordinate is not below the field prime p")
    }
    // 1 and 2 are X coordinates of points: what p + 1 and p + 2 would have been, reduced.
    expect(Result.isSuccess(secp256k1Point(be32(1n), false))).toBe(true)
    expect(Result.isSuccess(secp256k1Point(be32(2n), true))).toBe(true)
    // The key of the simnet P2PK address of issue 16 (SkLXmxb92d...): no point has that X.
    expect(secp256k1Point(hex("43607d9ab7d4f10e2b4865829fbcd9f613304d6a87a4c1defb1835526f8ca9c6"), false)).toMatchObject({ _tag: "Failure" })
  })

  it("property: accepts exactly the compressed keys OpenSSL decompresses (node:crypto), with the same Y", () => {
    const nearP = fc.bigInt({ min: SECP256K1_P - 50n, max: 2n ** 256n - 1n }).map(be32)
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ minLength: 32, maxLength: 32 }), nearP), fc.boolean(), (x, odd) => {
        const key = Uint8Array.of(odd ? 3 : 2, ...x)
        let openssl: bigint | undefined
        try {
          openssl = big(
            Buffer.from(ECDH.convertKey(key, "secp256k1", undefined, "hex", "uncompressed") as string, "hex")
              .subarray(33)
              .toString("hex"),
          )
        } catch {
          openssl = undefined
        }
        const ours = secp256k1Point(x, odd)
        expect(Result.isSuccess(ours) ? ours.success.y : undefined).toBe(openssl)
      }),
      { numRuns: 400 },
    )
  })

  it("property: every key a wallet makes is accepted", () => {
    fc.assert(
      fc.property(fc.integer(), () => {
        const pair = generateKeyPairSync("ec", { namedCurve: "secp256k1" })
        const jwk = pair.publicKey.export({ format: "jwk" })
        const x = Buffer.from(jwk.x!, "base64url")
        const y = big(Buffer.from(jwk.y!, "base64url").toString("hex"))
        expect(Result.getOrThrow(secp256k1Point(x, (y & 1n) === 1n)).y).toBe(y)
      }),
      { numRuns: 30 },
    )
  })
})

describe("Ed25519 keys as dcrd's edwards.ParsePubKey reads them", () => {
  it("accepts RFC 8032's test keys, dcrd's and the base point, decoding the base point to its known x", () => {
    for (const key of [
      "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
      "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
      "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
      "278117fc144c72340f67d0f2316e8386ceffbf2b2428c9c51fef7c597f1d426e",
      "cecc1507dc1ddd7295951c290888f095adb9044d1b73d696e6df065d683bd4fc",
    ]) {
      expect(Result.isSuccess(ed25519Point(hex(key))), key).toBe(true)
    }
    const base = Result.getOrThrow(ed25519Point(hex("5866666666666666666666666666666666666666666666666666666666666666")))
    expect(base.x).toBe(15112221349535400772501151409588531511454012693041857206046113283949847762202n)
    expect(base.y).toBe(46316835694926478169428394003475163141307993866256225615783033603165251855960n)
  })

  it("refuses a y no point has, and x = 0 with the sign bit set; reads a y at or above p mod p, as dcrd does", () => {
    // y = 2: (4 - 1) / (4d + 1) is not a square mod p.
    expect(ed25519Point(le32(2n))).toMatchObject({ _tag: "Failure" })
    expect(isSquareModP((3n * power(4n * ED25519_D + 1n, ED25519_P - 2n, ED25519_P)) % ED25519_P, ED25519_P)).toBe(false)
    const signBit = 1n << 255n
    // y = 1 is the neutral element (0, 1) and y = p - 1 the point (0, -1): x = 0, so a set sign bit is wrong.
    expect(Result.isSuccess(ed25519Point(le32(1n)))).toBe(true)
    expect(ed25519Point(le32(1n | signBit))).toMatchObject({ _tag: "Failure", failure: "its x coordinate is 0, yet its sign bit says x is odd" })
    expect(Result.isSuccess(ed25519Point(le32(ED25519_P - 1n)))).toBe(true)
    expect(ed25519Point(le32((ED25519_P - 1n) | signBit))).toMatchObject({ _tag: "Failure" })
    // y = p + 1 encodes y = 1 (agl/ed25519 reads the field element mod p; RFC 8032 would refuse it).
    expect(Result.getOrThrow(ed25519Point(le32(ED25519_P + 1n))).y).toBe(1n)
    expect(ed25519Point(le32((ED25519_P + 1n) | signBit))).toMatchObject({ _tag: "Failure" })
    expect(ed25519Point(new Uint8Array(31))).toMatchObject({ _tag: "Failure" })
  })

  it("property: a key is accepted exactly when (y^2 - 1)/(d y^2 + 1) is a square (Euler's criterion) and not x = 0 with the sign bit; the point is on the curve with x's parity the sign bit", () => {
    const p = ED25519_P
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (key) => {
        const sign = (key[31]! & 0x80) !== 0
        let y = 0n
        for (let i = 31; i >= 0; i--) y = (y << 8n) | BigInt(i === 31 ? key[i]! & 0x7f : key[i]!)
        y %= p
        const x2 = ((y * y - 1n) * power(ED25519_D * y * y + 1n, p - 2n, p)) % p
        const expected = isSquareModP(x2, p) && !(((x2 % p) + p) % p === 0n && sign)
        const decoded = ed25519Point(key)
        expect(Result.isSuccess(decoded)).toBe(expected)
        if (Result.isSuccess(decoded)) {
          const { x, y: dy } = decoded.success
          expect(dy).toBe(y)
          expect((((-x * x + dy * dy - 1n - ED25519_D * x * x * dy * dy) % p) + p) % p).toBe(0n)
          expect((x & 1n) === 1n).toBe(sign)
          expect(x < p).toBe(true)
        }
      }),
      { numRuns: 300 },
    )
  })

  it("property: every key a wallet makes (node:crypto's Ed25519) is accepted", () => {
    fc.assert(
      fc.property(fc.integer(), () => {
        const raw = Buffer.from(generateKeyPairSync("ed25519").publicKey.export({ format: "jwk" }).x!, "base64url")
        expect(Result.isSuccess(ed25519Point(raw))).toBe(true)
      }),
      { numRuns: 30 },
    )
  })
})
