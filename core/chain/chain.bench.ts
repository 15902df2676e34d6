import { Result } from "effect"
import { opsPerSecond, sig3, type Bench } from "../../testkit/bench.ts"
import { encodeGetworkDataHex, decodeGetworkDataHex } from "./getwork.ts"
import { blake256Hash, blake3Hash } from "./hash.ts"
import { makeHeaderHasher } from "./powhasher.ts"
import { NETWORKS } from "./params.ts"

const header = Uint8Array.from(Buffer.from(NETWORKS.mainnet.genesis.headerHex, "hex"))

/** Hashes/s of one algorithm over a header whose nonce changes every call, one core. */
const hashRate = (hash: (h: Uint8Array) => Uint8Array): number => {
  const h = header.slice()
  const view = new DataView(h.buffer)
  let nonce = 0
  return opsPerSecond(() => {
    view.setUint32(140, nonce++, true)
    return hash(h)
  })
}

const midstateRate = (algorithm: "blake256" | "blake3"): number => {
  const h = header.slice()
  const view = new DataView(h.buffer)
  const hasher = makeHeaderHasher(algorithm, h)
  let nonce = 0
  return opsPerSecond(() => {
    view.setUint32(140, nonce++, true)
    return hasher.hash(h)
  })
}

export const benches: ReadonlyArray<Bench> = [
  {
    name: "pow-hash",
    run: () => [
      { name: "pow_hash_blake256_180B", value: sig3(hashRate(blake256Hash)), unit: "hashes/s" },
      { name: "pow_hash_blake3_180B", value: sig3(hashRate(blake3Hash)), unit: "hashes/s" },
      { name: "pow_hash_blake256_180B_midstate", value: sig3(midstateRate("blake256")), unit: "hashes/s" },
      { name: "pow_hash_blake3_180B_midstate", value: sig3(midstateRate("blake3")), unit: "hashes/s" },
    ],
  },
  {
    name: "getwork-decode",
    run: () => {
      const hex = encodeGetworkDataHex(header, "blake3")
      const rate = opsPerSecond(() => Result.getOrThrow(decodeGetworkDataHex(hex)))
      return [{ name: "getwork_decode", value: sig3(rate), unit: "decodes/s" }]
    },
  },
]
