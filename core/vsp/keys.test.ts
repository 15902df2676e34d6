import { readFileSync } from "node:fs"
import { join } from "node:path"
import { Result } from "effect"
import { describe, expect, it } from "vitest"
import { hexToBytes, toHex } from "../chain/bytes.ts"
import { NETWORKS, MAINNET, SIMNET, TESTNET3, type NetworkName } from "../chain/params.ts"
import {
  decodeExtendedPublicKey,
  decodeWif,
  deriveChild,
  encodeExtendedPublicKey,
  encodeWif,
  feeAddress,
  nextFeeAddress,
  HARDENED_KEY_START,
  KeyError,
  p2pkhAddressOf,
  publicKeyOf,
  type ExtendedPublicKey,
} from "./keys.ts"

/** Printed by dcrd's hdkeychain, dcrutil and stdaddr (scenarios/simnet/tools/vsp-vectors). */
interface KeyVectors {
  readonly extendedKeys: ReadonlyArray<{
    readonly network: NetworkName
    readonly masterXpub: string
    readonly accountXpub: string
    readonly external0Xpub: string
    readonly childXpubsOfAccount: Readonly<Record<string, string>>
    readonly feeAddresses: Readonly<Record<string, string>>
  }>
  readonly wifs: ReadonlyArray<{ readonly network: NetworkName; readonly privateKey: string; readonly wif: string; readonly publicKey: string; readonly address: string }>
}
const vectors: KeyVectors = JSON.parse(readFileSync(join(import.meta.dirname, "keys.vectors.json"), "utf8"))

// A real dcrwallet (2.1.5, the harness's build) made with --createtemp --simnet: its default
// account's extended public key (getmasterpubkey default) and the first two addresses
// getnewaddress gave (validateaddress: branch 0, index 0 and 1), with dumpprivkey's WIFs.
const DCRWALLET = {
  accountXpub: "spubVVWbwuwqtvyZkF1kDQmEru2FQnx3HM9Smp68WUgbRRnMHvT5H6Fvxt2TSiGFa5NXdUhbuNKuRuhrCrNhQEfQFB5m5SWCRMwDrGmqbNJ3xCF",
  addresses: [
    {
      index: 0,
      address: "Sss9XsixdVdPqWqqamByKhvrrFjWpwpS6Lx",
      wif: "PsUR6HLDK95BnriV6HngDoJgUzUXL3RZbPH6xacn9j58tGDV49d4B",
      publicKey: "02e33128cffb703a0ea6708c4ab4388010201b68ecf73fb08ef418af49c555f12c",
    },
    { index: 1, address: "SsqY7oKHTiEp2jDUQ8Nwr3LRkt3kmn225bb", wif: "PsURfefmF7UTk5xj7C74jgSqNDigx5abz5YArdb6ePdKzdU6JHQBt", publicKey: undefined },
  ],
} as const

describe("WIF private keys, as dcrutil encodes and decodes them", () => {
  it("round-trips dcrutil's WIFs for every network, and gives the key's P2PKH address", () => {
    for (const v of vectors.wifs) {
      const network = NETWORKS[v.network]
      expect(encodeWif(hexToBytes(v.privateKey), network)).toBe(v.wif)
      const key = Result.getOrThrow(decodeWif(v.wif, network))
      expect(toHex(key)).toBe(v.privateKey)
      expect(toHex(publicKeyOf(key))).toBe(v.publicKey)
      expect(p2pkhAddressOf(publicKeyOf(key), network)).toBe(v.address)
    }
  })

  it("decodes dcrwallet's dumpprivkey WIFs to the keys of the addresses they were dumped for", () => {
    for (const a of DCRWALLET.addresses) {
      const key = Result.getOrThrow(decodeWif(a.wif, SIMNET))
      expect(p2pkhAddressOf(publicKeyOf(key), SIMNET)).toBe(a.address)
      if (a.publicKey !== undefined) expect(toHex(publicKeyOf(key))).toBe(a.publicKey)
    }
  })

  it("refuses another network's key, a mistyped one and a non-key, saying which", () => {
    const wif = DCRWALLET.addresses[0].wif
    const problem = (text: string, network = SIMNET) => {
      const r = decodeWif(text, network)
      if (Result.isSuccess(r)) return "decoded"
      expect(r.failure).toBeInstanceOf(KeyError)
      return r.failure.problem
    }
    expect(problem(wif, MAINNET)).toBe("wrong-network")
    expect(problem(`${wif.slice(0, 10)}${wif[10] === "a" ? "b" : "a"}${wif.slice(11)}`)).toBe("bad-checksum")
    expect(problem(DCRWALLET.addresses[0].address)).toBe("malformed")
    expect(problem("0OIl")).toBe("malformed")
    expect(problem("")).toBe("malformed")
  })
})

describe("extended public keys and fee addresses, as hdkeychain and vspd derive them", () => {
  it("round-trips hdkeychain's serialization of master, account and child keys on every network", () => {
    for (const v of vectors.extendedKeys) {
      const network = NETWORKS[v.network]
      for (const text of [v.masterXpub, v.accountXpub, v.external0Xpub, ...Object.values(v.childXpubsOfAccount)]) {
        expect(encodeExtendedPublicKey(Result.getOrThrow(decodeExtendedPublicKey(text, network)), network)).toBe(text)
      }
    }
  })

  it("derives hdkeychain's non-hardened children (fingerprint, index, depth, chain code, key)", () => {
    for (const v of vectors.extendedKeys) {
      const network = NETWORKS[v.network]
      const account = Result.getOrThrow(decodeExtendedPublicKey(v.accountXpub, network))
      for (const [index, xpub] of Object.entries(v.childXpubsOfAccount)) {
        expect(encodeExtendedPublicKey(Result.getOrThrow(deriveChild(account, Number(index))), network), `${v.network} child ${index}`).toBe(xpub)
      }
    }
  })

  it("gives vspd's fee addresses: external branch (child 0), then the index", () => {
    for (const v of vectors.extendedKeys) {
      for (const [index, address] of Object.entries(v.feeAddresses)) {
        expect(Result.getOrThrow(feeAddress(v.accountXpub, Number(index), NETWORKS[v.network])), `${v.network} index ${index}`).toBe(address)
      }
    }
  })

  it("hands out the next address as vspd does: lastUsed + 1, so a new key (lastUsed 0) starts at index 1", () => {
    for (const v of vectors.extendedKeys) {
      const network = NETWORKS[v.network]
      expect(Result.getOrThrow(nextFeeAddress(v.accountXpub, 0, network))).toEqual({ address: v.feeAddresses["1"], index: 1 })
      expect(Result.getOrThrow(nextFeeAddress(v.accountXpub, 9, network))).toEqual({ address: v.feeAddresses["10"], index: 10 })
    }
    const last = nextFeeAddress(vectors.extendedKeys[0]!.accountXpub, HARDENED_KEY_START - 1, MAINNET)
    expect(Result.isFailure(last) && last.failure.problem).toBe("invalid-child")
  })

  it("derives the addresses a real dcrwallet handed out from its account's extended public key", () => {
    for (const a of DCRWALLET.addresses) expect(Result.getOrThrow(feeAddress(DCRWALLET.accountXpub, a.index, SIMNET))).toBe(a.address)
  })

  it("refuses another network's key, a private key, a hardened index and a mistyped key", () => {
    const problemOf = <A>(r: Result.Result<A, { readonly problem: string }>) => (Result.isFailure(r) ? r.failure.problem : "ok")
    const testnet = vectors.extendedKeys.find((v) => v.network === "testnet3")!
    expect(problemOf(decodeExtendedPublicKey(testnet.accountXpub, SIMNET))).toBe("wrong-network")
    expect(problemOf(decodeExtendedPublicKey(testnet.accountXpub, TESTNET3))).toBe("ok")
    const account = Result.getOrThrow(decodeExtendedPublicKey(testnet.accountXpub, TESTNET3))
    expect(problemOf(deriveChild(account, HARDENED_KEY_START))).toBe("invalid-child")
    expect(problemOf(deriveChild(account, HARDENED_KEY_START - 1))).toBe("ok")
    expect(problemOf(deriveChild(account, -1))).toBe("invalid-child")
    const typo = `${testnet.accountXpub.slice(0, 20)}${testnet.accountXpub[20] === "a" ? "b" : "a"}${testnet.accountXpub.slice(21)}`
    expect(problemOf(decodeExtendedPublicKey(typo, TESTNET3))).toBe("bad-checksum")
    // The same key serialized with the private version and a 0x00-prefixed key: an xprv.
    const privateShaped: ExtendedPublicKey = { ...account, publicKey: Uint8Array.of(0, ...new Uint8Array(32).fill(1)) }
    const asPrivate = encodeExtendedPublicKey(privateShaped, { ...TESTNET3, hdKeyIds: { public: TESTNET3.hdKeyIds.private, private: TESTNET3.hdKeyIds.private } })
    expect(problemOf(decodeExtendedPublicKey(asPrivate, TESTNET3))).toBe("private-extended-key")
    expect(problemOf(feeAddress("not a key", 1, TESTNET3))).toBe("malformed")
  })
})
