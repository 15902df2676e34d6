import { readFileSync } from "node:fs"
import { join } from "node:path"
import { Result } from "effect"
import { describe, expect, it } from "vitest"
import { findVectors } from "../../testkit/vectors.ts"
import { toHex } from "./bytes.ts"
import { calcAsertBits } from "./difficulty.ts"
import { encodeGetworkData, decodeGetworkData } from "./getwork.ts"
import { blake3Hash, hashFromDisplay, hashToDisplay } from "./hash.ts"
import { blockHashDisplay, encodeHeader, powHash } from "./header.ts"
import { hashMeetsTarget, compactToBig } from "./targets.ts"

/**
 * The DCP-0011 test vectors (../shared/vectors/dcp-0011 or $DCRFORGE_VECTORS): BLAKE3
 * PoW hashes of real testnet headers and the ASERT difficulty scenarios. Outside CI a
 * missing folder skips with a message; in CI it fails.
 */
const dir = findVectors("dcp-0011")

/** JSON with integers beyond 2^53 kept exact (the ASERT vectors use uint64 heights). */
const parseJsonExact = (text: string): unknown =>
  JSON.parse(text, (_key, value: unknown, context?: { source?: string }) =>
    typeof value === "number" && !Number.isSafeInteger(value) && context?.source !== undefined && /^-?\d+$/.test(context.source) ? BigInt(context.source) : value,
  )

const int = (v: unknown): bigint => {
  if (typeof v === "bigint") return v
  if (typeof v === "number" && Number.isInteger(v)) return BigInt(v)
  throw new Error(`vector field is not an integer: ${String(v)}`)
}
const num = (v: unknown): number => Number(int(v))
const str = (v: unknown): string => {
  if (typeof v !== "string") throw new Error(`vector field is not a string: ${String(v)}`)
  return v
}
/** Field lookup that ignores case, as Go's JSON decoder does (one published vector spells it "extradata"). */
const field = (t: Record<string, unknown>, name: string): unknown => t[name] ?? Object.entries(t).find(([k]) => k.toLowerCase() === name.toLowerCase())?.[1]
const hash = (display: unknown) => Result.getOrThrow(hashFromDisplay(str(display)))
const bytesOf = (hex: unknown) => Uint8Array.from(Buffer.from(str(hex), "hex"))

describe.skipIf(dir === undefined)("DCP-0011 vectors", () => {
  const load = (name: string) => parseJsonExact(readFileSync(join(dir!, name), "utf8")) as Record<string, unknown>

  describe("BLAKE3 proof-of-work hashes of serialized headers", () => {
    const tests = (load("blake3_powhash_test_vectors.json")["tests"] as ReadonlyArray<Record<string, unknown>>) ?? []
    it("has vectors", () => expect(tests.length).toBeGreaterThan(0))
    tests.forEach((t, i) => {
      it(`vector ${i}: height ${String(t["blockHeight"])} serializes and hashes as published`, () => {
        // DCP-0011 treats nonce + extraData as one 36-byte nonce space; the vectors give it whole.
        const nonceSpace = bytesOf(field(t, "extraData"))
        expect(nonceSpace.length).toBe(36)
        const bytes = encodeHeader({
          version: num(t["version"]),
          prevBlock: hash(t["prevHash"]),
          merkleRoot: hash(t["merkleRoot"]),
          stakeRoot: hash(t["commitmentRoot"]),
          voteBits: num(t["voteBits"]),
          finalState: bytesOf(t["finalState"]),
          voters: num(t["numVoters"]),
          freshStake: num(t["freshStake"]),
          revocations: num(t["revocations"]),
          poolSize: num(t["poolSize"]),
          bits: num(t["diffBits"]),
          sbits: int(t["stakeDiff"]),
          height: num(t["blockHeight"]),
          size: num(t["blockSize"]),
          timestamp: num(t["timestamp"]),
          nonce: new DataView(nonceSpace.buffer).getUint32(0, true),
          extraData: nonceSpace.slice(4),
          stakeVersion: num(t["stakeVersion"]),
        })
        const serialized = bytesOf(t["serialized"])
        expect(toHex(bytes)).toBe(str(t["serialized"]))
        expect(hashToDisplay(powHash(bytes, "blake3"))).toBe(str(t["powHash"]))
        expect(hashToDisplay(blake3Hash(serialized))).toBe(str(t["powHash"]))
        // Real blocks: the hash meets their own target, and the block hash is BLAKE-256, not BLAKE3.
        expect(hashMeetsTarget(powHash(bytes, "blake3"), compactToBig(num(t["diffBits"])))).toBe(true)
        expect(blockHashDisplay(bytes)).not.toBe(str(t["powHash"]))
        // getwork carries them with BLAKE3 (zero) padding and gives them back unchanged.
        const decoded = Result.getOrThrow(decodeGetworkData(encodeGetworkData(bytes, "blake3")))
        expect(decoded.padding).toBe("blake3")
        expect(toHex(decoded.headerBytes)).toBe(toHex(bytes))
      })
    })
  })

  describe("ASERT difficulty", () => {
    const data = load("asert_test_vectors.json")
    const params = data["params"] as Record<string, Record<string, unknown>>
    const scenarios = data["scenarios"] as ReadonlyArray<Record<string, unknown>>
    it("has scenarios", () => expect(scenarios.length).toBeGreaterThan(0))
    for (const scenario of scenarios) {
      it(str(scenario["description"]), () => {
        const p = params[str(scenario["params"])]!
        const tests = scenario["tests"] as ReadonlyArray<Record<string, unknown>>
        expect(tests.length).toBeGreaterThan(0)
        for (const t of tests) {
          const got = calcAsertBits({
            startDiffBits: num(scenario["startDiffBits"]),
            powLimit: BigInt("0x" + str(p["powLimit"])),
            targetSecsPerBlock: num(p["targetSecsPerBlock"]),
            timeDelta: int(t["timestamp"]) - int(scenario["startTime"]),
            heightDelta: int(t["height"]) - int(scenario["startHeight"]),
            halfLifeSecs: num(p["halfLifeSecs"]),
          })
          expect({ height: String(t["height"]), bits: got.toString(16) }).toEqual({
            height: String(t["height"]),
            bits: num(t["expectedDiffBits"]).toString(16),
          })
        }
      })
    }
  })
})
