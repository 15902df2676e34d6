import { ECDH } from "node:crypto"
import fc from "fast-check"
import { base58 } from "@scure/base"
import { Result } from "effect"
import { describe, expect, it } from "vitest"
import { fromHex, toHex } from "./bytes.ts"
import { decodeAddress, encodeAddress, type AddressKind } from "./address.ts"
import { blake256Hash } from "./hash.ts"
import type { AddressProblem } from "./errors.ts"
import { NETWORKS, type NetworkName } from "./params.ts"

// Public addresses (dcrd's stdaddr tests and simnet tooling), one or more kinds per network.
const VALID: ReadonlyArray<readonly [NetworkName, string, AddressKind]> = [
  ["mainnet", "DsUZxxoHJSty8DCfwfartwTYbuhmVct7tJu", "p2pkh-ecdsa-secp256k1"],
  ["mainnet", "DsU7xcg53nxaKLLcAUSKyRndjG78Z2VZnX9", "p2pkh-ecdsa-secp256k1"],
  ["mainnet", "DcqgK4N4Ccucu2Sq4VDAdu4wH4LASLhzLVp", "p2sh"],
  ["mainnet", "DeZ1gU2ta8auk5et79R74GYR3pnF31KXbFo", "p2pkh-ed25519"],
  ["mainnet", "DSXAZZwbBmmqzdTxnxRgDN1kxEqA4xJfufA", "p2pkh-schnorr-secp256k1"],
  ["mainnet", "DkM3ZigNyiwHrsXRjkDQ8t8tW6uKGW9g61qEkG3bMqQPQWYEf5X3J", "p2pk-ecdsa-secp256k1"],
  ["mainnet", "DkM5zR8tqWNAHngZQDTyAeqzabZxMKrkSbCFULDhmvySn3uHmm221", "p2pk-ed25519"],
  ["mainnet", "DkRQx3y6YoJPnMKom23nuDFdfhmEnu8oDLTp4YVyWC6RjND19UxHk", "p2pk-schnorr-secp256k1"],
  ["testnet3", "Tso2MVTUeVrjHTBFedFhiyM7yVTbieqp91h", "p2pkh-ecdsa-secp256k1"],
  ["testnet3", "TccWLgcquqvwrfBocq5mcK5kBiyw8MvyvCi", "p2sh"],
  ["testnet3", "TeeXvqZJrc7KnFZCT27fHfzcrTTzSF1aSRG", "p2pkh-ed25519"],
  ["testnet3", "TSr4xSiznUfzxkJcH7F3xuaFCUBdEb5Jfzg", "p2pkh-schnorr-secp256k1"],
  ["simnet", "Sspzuh5xuvqxccYLWJDJjCtqp166NRxcaPB", "p2pkh-ecdsa-secp256k1"],
  ["simnet", "ScrkZMau4jj7JUHUvU4YMMRRi4w1o3Wp1vY", "p2sh"],
  ["regnet", "RsWM2w5LPJip56uxcZ1Scq7Tcbg97EfiwPA", "p2pkh-ecdsa-secp256k1"],
  ["regnet", "RcKq28Eheeo2eJvWakqWWAr5pqCUWykwDHe", "p2sh"],
  ["regnet", "ReMrcHBAbQyQZuHuQwsQBXkxVZgXpnbqX72", "p2pkh-ed25519"],
  ["regnet", "RSZPdtLrXHY5kQ3KF2znrmLaqaQAdB3CRu7", "p2pkh-schnorr-secp256k1"],
  ["regnet", "Rk41kKgrecrxQ8bLg8GJm1feMPBFtFeb4rG56tDfMdAtvPy4HneyR", "p2pk-ecdsa-secp256k1"],
]

const problemOf = (address: string, network: NetworkName): AddressProblem | "ok" => {
  const r = decodeAddress(address, NETWORKS[network])
  return Result.isSuccess(r) ? "ok" : r.failure.problem
}

describe("valid addresses on every network", () => {
  for (const [network, address, kind] of VALID) {
    it(`${network} ${kind}: ${address}`, () => {
      const decoded = Result.getOrThrow(decodeAddress(address, NETWORKS[network]))
      expect(decoded.kind).toBe(kind)
      expect(decoded.network).toBe(network)
      expect(encodeAddress(kind, decoded.payload, NETWORKS[network])).toBe(address)
    })
  }

  it("property: every kind on every network round-trips through encode and decode", () => {
    const kinds = ["p2pkh-ecdsa-secp256k1", "p2pkh-ed25519", "p2pkh-schnorr-secp256k1", "p2sh"] as const
    fc.assert(
      fc.property(fc.constantFrom(...Object.values(NETWORKS)), fc.constantFrom(...kinds), fc.uint8Array({ minLength: 20, maxLength: 20 }), (params, kind, payload) => {
        const address = encodeAddress(kind, payload, params)
        const decoded = Result.getOrThrow(decodeAddress(address, params))
        expect(decoded.kind).toBe(kind)
        expect(toHex(decoded.payload)).toBe(toHex(payload))
      }),
    )
  })
})

describe("invalid addresses say what is wrong", () => {
  it("another network's address, naming both networks", () => {
    const r = decodeAddress("DsUZxxoHJSty8DCfwfartwTYbuhmVct7tJu", NETWORKS.testnet3)
    expect(Result.isFailure(r) && r.failure.message).toBe('"DsUZxxoHJSty8DCfwfartwTYbuhmVct7tJu" is a mainnet address, but this is testnet3: use a testnet3 address')
    for (const [network, address] of VALID) {
      for (const other of Object.keys(NETWORKS) as Array<NetworkName>) {
        if (other !== network) expect(problemOf(address, other)).toBe("wrong-network")
      }
    }
  })

  it("a bad checksum", () => {
    expect(problemOf("TsmWaPM77WSyA3aiQ2Q1KnwGDVWvEkhip23", "testnet3")).toBe("bad-checksum")
    // Any single-character change of a valid address breaks its checksum.
    fc.assert(
      fc.property(fc.constantFrom(...VALID), fc.nat(), fc.constantFrom(..."123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"), ([network, address], at, c) => {
        const i = at % address.length
        fc.pre(address[i] !== c)
        const changed = address.slice(0, i) + c + address.slice(i + 1)
        expect(problemOf(changed, network)).not.toBe("ok")
      }),
    )
  })

  it("characters outside base58", () => {
    expect(problemOf("DsUZxxoHlSty8DCfwfartwTYbuhmVct7tJu", "mainnet")).toBe("not-base58")
    expect(problemOf("DsUZxxoH0Sty8DCfwfartwTYbuhmVct7tJu", "mainnet")).toBe("not-base58")
  })

  it("a length no address has", () => {
    expect(problemOf("Aiz5jz1s", "mainnet")).toBe("bad-length")
    // A 21-byte hash behind the mainnet P2PKH prefix, correctly checksummed.
    const params = NETWORKS.mainnet
    const body = Uint8Array.from([params.addressPrefixes.pubKeyHash >> 8, params.addressPrefixes.pubKeyHash & 0xff, ...new Uint8Array(21)])
    const long = withChecksum(body)
    expect(problemOf(long, "mainnet")).toBe("bad-length")
    expect(problemOf("5HLcANeEU3u2pxrCZFmLoyY4bAH7sgEuiTGcionhA7tzHdecFmgg1LJk", "mainnet")).toBe("too-long")
    expect(problemOf("", "mainnet")).toBe("empty")
  })

  it("a prefix no network uses, and a private key pasted by mistake", () => {
    expect(problemOf(withChecksum(Uint8Array.from([0x00, 0x00, ...new Uint8Array(20)])), "mainnet")).toBe("unknown-prefix")
    const wif = withChecksum(Uint8Array.from([0x22, 0xde, 0x00, ...new Uint8Array(32)]))
    const r = decodeAddress(wif, NETWORKS.mainnet)
    expect(Result.isFailure(r) && r.failure.message).toContain("is a mainnet private key, not an address")
  })

  it("a pay-to-pubkey address whose key is no point of its curve, as dcrd refuses it (issue 16)", () => {
    // A simnet secp256k1 Schnorr P2PK address whose X coordinate no point has: it was accepted at
    // mining.authorize, credited and paid, and a real dcrwallet refuses the output.
    const issue = "SkLXmxb92d75QTaXFXYWSFqzBKNwjH49hLEQkaTP7QbmD5YsKwod8"
    const r = decodeAddress(issue, NETWORKS.simnet)
    expect(Result.isFailure(r) && r.failure.problem).toBe("bad-public-key")
    expect(Result.isFailure(r) && r.failure.message).toBe(
      `"${issue}" holds a secp256k1 public key that is not a point of the curve (no point of secp256k1 has its X coordinate (x^3 + 7 is not a square mod p)), so nothing could ever spend what it is paid and Decred wallets refuse it; use an address your wallet gave you`,
    )
    const params = NETWORKS.simnet
    const offCurveX = Result.getOrThrow(fromHex("ce0b14fb842b1ba549fdd675c98075f12e9c510f8ef52bd021a9a1f4809d3b4c", "x"))
    const onCurveX = Result.getOrThrow(fromHex("ce0b14fb842b1ba549fdd675c98075f12e9c510f8ef52bd021a9a1f4809d3b4d", "x"))
    const p = Result.getOrThrow(fromHex("fffffffffffffffffffffffffffffffffffffffffffffffffffffffefffffc2f", "p"))
    for (const typeByte of [0x00, 0x80, 0x02, 0x82]) {
      const kind = typeByte & 2 ? "p2pk-schnorr-secp256k1" : "p2pk-ecdsa-secp256k1"
      expect(problemOf(encodeAddress(kind, Uint8Array.of(typeByte, ...offCurveX), params), "simnet")).toBe("bad-public-key")
      expect(problemOf(encodeAddress(kind, Uint8Array.of(typeByte, ...p), params), "simnet")).toBe("bad-public-key")
      expect(problemOf(encodeAddress(kind, Uint8Array.of(typeByte, ...onCurveX), params), "simnet")).toBe("ok")
    }
    // Ed25519: y = 2 is on no point; y = 1 with the sign bit set would be x = -0.
    const y = (n: number, sign = false) => Uint8Array.from({ length: 32 }, (_, i) => (i === 0 ? n : i === 31 && sign ? 0x80 : 0))
    expect(problemOf(encodeAddress("p2pk-ed25519", Uint8Array.of(0x01, ...y(2)), params), "simnet")).toBe("bad-public-key")
    expect(problemOf(encodeAddress("p2pk-ed25519", Uint8Array.of(0x01, ...y(1, true)), params), "simnet")).toBe("bad-public-key")
    expect(problemOf(encodeAddress("p2pk-ed25519", Uint8Array.of(0x01, ...y(3)), params), "simnet")).toBe("ok")
  })

  it("an Ed25519 key's type byte with the oddness bit set is still Ed25519, as dcrd masks that bit off first", () => {
    const key = Result.getOrThrow(fromHex("cecc1507dc1ddd7295951c290888f095adb9044d1b73d696e6df065d683bd4fc", "key"))
    const address = encodeAddress("p2pk-ed25519", Uint8Array.of(0x81, ...key), NETWORKS.mainnet)
    expect(Result.getOrThrow(decodeAddress(address, NETWORKS.mainnet)).kind).toBe("p2pk-ed25519")
  })

  it("property: a secp256k1 P2PK address decodes exactly when OpenSSL (node:crypto) decompresses its key", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.constantFrom(0x00, 0x80, 0x02, 0x82), (x, typeByte) => {
        const kind = typeByte & 2 ? "p2pk-schnorr-secp256k1" : "p2pk-ecdsa-secp256k1"
        const address = encodeAddress(kind, Uint8Array.of(typeByte, ...x), NETWORKS.testnet3)
        let openssl = true
        try {
          ECDH.convertKey(Uint8Array.of(typeByte & 0x80 ? 3 : 2, ...x), "secp256k1")
        } catch {
          openssl = false
        }
        expect(problemOf(address, "testnet3")).toBe(openssl ? "ok" : "bad-public-key")
      }),
      { numRuns: 200 },
    )
  })

  it("a public key of a type Decred does not define", () => {
    const params = NETWORKS.mainnet
    const body = Uint8Array.from([params.addressPrefixes.pubKey >> 8, params.addressPrefixes.pubKey & 0xff, 0x05, ...new Uint8Array(32)])
    expect(problemOf(withChecksum(body), "mainnet")).toBe("bad-public-key")
  })
})

function withChecksum(body: Uint8Array): string {
  const sum = blake256Hash(blake256Hash(body)).subarray(0, 4)
  return base58.encode(Uint8Array.from([...body, ...sum]))
}
