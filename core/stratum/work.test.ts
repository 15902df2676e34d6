import fc from "fast-check"
import { Result } from "effect"
import { describe, expect, it } from "vitest"
import { toHex } from "../chain/bytes.ts"
import { encodeHeader, HeaderOffset } from "../chain/header.ts"
import { arbitraryHeader } from "../../testkit/arbitraries.ts"
import { cannotMineReason, identifyMiner, MINER_PROFILES, profileOf, userAgentOf } from "./profiles.ts"
import { decodeSubmitParams, encodeNotifyParams, minerSolution, parseNotifyParams, readSetDifficulty, readSubmitReply, rebuildHeader, subscribeExtraNonce1, subscribeResult } from "./work.ts"

describe("miner profiles: byte-level round trip", () => {
  for (const profile of MINER_PROFILES) {
    it(`property: ${profile.model}: notify as the miner parses it, submit as it sends it, header rebuilt identical`, () => {
      fc.assert(
        fc.property(
          arbitraryHeader,
          fc.uint8Array({ minLength: 4, maxLength: 4 }),
          fc.uint8Array({ minLength: profile.extraNonce.en2Size, maxLength: profile.extraNonce.en2Size }),
          fc.nat({ max: 0xffffffff }),
          fc.nat({ max: 0xffffffff }),
          fc.boolean(),
          (h, en1, en2, time, nonce, clean) => {
            const jobHeader = encodeHeader(h)
            // Pool -> miner: the notify over JSON, parsed by the miner's firmware rules.
            const wire = JSON.parse(JSON.stringify(encodeNotifyParams(profile, "job-1", jobHeader, clean))) as Array<unknown>
            const job = Result.getOrThrow(parseNotifyParams(profile, wire))
            expect(job.jobId).toBe("job-1")
            expect(job.clean).toBe(clean)
            // The miner sees the job's header exactly, up to the nonce space it fills itself.
            const fillEnd = profile.notify.layout === "header-tail" ? HeaderOffset.extraData : HeaderOffset.stakeVersion
            expect(toHex(job.header.subarray(0, HeaderOffset.extraData))).toBe(toHex(jobHeader.subarray(0, HeaderOffset.extraData)))
            expect(toHex(job.header.subarray(fillEnd))).toBe(toHex(jobHeader.subarray(fillEnd)))
            // Miner -> pool: the submit, and the header the pool rebuilds from it.
            const sent = subscribeExtraNonce1(profile, en1)
            const solution = minerSolution(profile, job, "worker", sent, en2, time, nonce)
            const submitWire = JSON.parse(JSON.stringify(solution.params)) as Array<unknown>
            const submission = Result.getOrThrow(decodeSubmitParams(profile, submitWire))
            const rebuilt = Result.getOrThrow(rebuildHeader(profile, jobHeader, en1, submission))
            expect(toHex(rebuilt)).toBe(toHex(solution.header))
            const view = new DataView(rebuilt.buffer)
            expect(view.getUint32(HeaderOffset.timestamp, true)).toBe(time)
            expect(view.getUint32(HeaderOffset.nonce, true)).toBe(nonce)
            // The connection's extraNonce1 is in the header, so connections never share nonce space.
            expect(toHex(rebuilt.subarray(HeaderOffset.extraData, HeaderOffset.stakeVersion))).toContain(toHex(en1))
          },
        ),
        { numRuns: 200 },
      )
    })
  }

  it("refuses a submit whose sizes do not fit the profile, naming the field", () => {
    const d9 = profileOf("innosilicon-d9")
    const r = decodeSubmitParams(d9, ["w", "job", "00000000000000", "00000000", "00000000"])
    expect(Result.isFailure(r) && r.failure.message).toBe("extraNonce2: expected 4 bytes (8 hex digits), got 7 bytes")
    const missing = decodeSubmitParams(d9, ["w", "job", "00000000"])
    expect(Result.isFailure(missing) && missing.failure.message).toBe("param 4 (nTime) must be a string, got nothing")
    const notHex = decodeSubmitParams(d9, ["w", "job", "0000000z", "00000000", "00000000"])
    expect(Result.isFailure(notHex) && notHex.failure.code).toBe(20)
  })

  it("refuses an extraNonce2 that does not end with the connection's extraNonce1 (DR3/DR5, D1)", () => {
    const dr5 = profileOf("antminer-dr5")
    const s = Result.getOrThrow(decodeSubmitParams(dr5, ["w", "j", "000000000000000011223344", "00000000", "00000000"]))
    const r = rebuildHeader(dr5, new Uint8Array(180), Uint8Array.of(0xaa, 0xbb, 0xcc, 0xdd), s)
    expect(Result.isFailure(r) && r.failure.message).toContain("must end with this connection's extraNonce1 aabbccdd")
  })

  it("subscribe replies carry each profile's extraNonce1 padding and extraNonce2 size", () => {
    const en1 = Uint8Array.of(1, 2, 3, 4)
    expect(subscribeResult(profileOf("gominer"), en1, "mn01020304")).toEqual([
      [
        ["mining.set_difficulty", "mn01020304"],
        ["mining.notify", "mn01020304"],
      ],
      "01020304",
      4,
    ])
    expect(subscribeResult(profileOf("antminer-dr3"), en1, "x")[1]).toBe("000000000000000001020304")
    expect(subscribeResult(profileOf("antminer-dr3"), en1, "x")[2]).toBe(8)
    expect(subscribeResult(profileOf("whatsminer-d1"), en1, "x")[1]).toBe("0000000001020304")
  })
})

describe("identifying miners", () => {
  it("by user agent: semver name, major and maximum minor, or the ASICs' exact strings", () => {
    expect(identifyMiner("decred-gominer/2.1.0")?.model).toBe("gominer")
    expect(identifyMiner("decred-gominer/2.0.3-beta+build7")?.model).toBe("gominer")
    expect(identifyMiner("decred-gominer/2.2.0")).toBeUndefined()
    expect(identifyMiner("decred-gominer/1.0.0")).toBeUndefined()
    expect(identifyMiner("cpuminer/1.0.0")?.model).toBe("cpuminer")
    expect(identifyMiner("NiceHash/1.0.0")?.model).toBe("nicehash")
    expect(identifyMiner("cgminer/4.9.0")?.model).toBe("antminer-dr3")
    expect(identifyMiner("cgminer/4.10.0")?.model).toBe("obelisk-dcr1")
    expect(identifyMiner("sgminer/4.4.2")?.model).toBe("innosilicon-d9")
    expect(identifyMiner("whatsminer/d1-v1.0")?.model).toBe("whatsminer-d1")
    expect(identifyMiner("ccminer/2.3.1")).toBeUndefined()
    for (const p of MINER_PROFILES) expect(identifyMiner(userAgentOf(p))?.userAgent).toEqual(p.userAgent)
  })

  it("says clearly when a model cannot mine the chain's proof of work", () => {
    expect(cannotMineReason(profileOf("antminer-dr5"), "blake3")).toBe(
      "Antminer DR5 computes BLAKE-256 only, and this chain's proof of work is BLAKE3 (DCP-0011): connect a BLAKE3 miner such as decred-gominer 2.x",
    )
    expect(cannotMineReason(profileOf("antminer-dr5"), "blake256")).toBeUndefined()
    expect(cannotMineReason(profileOf("gominer"), "blake3")).toBeUndefined()
  })
})

describe("the miner's reading of the pool's replies", () => {
  it("takes mining.set_difficulty as a whole number, as Decred miners do, and fails below 1", () => {
    expect(Result.getOrThrow(readSetDifficulty([17]))).toBe(17n)
    // decred-gominer floors, dcrpool's cmd/miner truncates: a fraction is hashed to the integer below it.
    expect(Result.getOrThrow(readSetDifficulty([1625.54]))).toBe(1625n)
    for (const dead of [0.0000062498, 0, -3, "16", null, undefined]) {
      const read = readSetDifficulty([dead])
      expect(Result.isFailure(read), JSON.stringify(dead)).toBe(true)
      if (Result.isFailure(read)) expect(read.failure.message).toMatch(/whole difficulty of at least 1/)
    }
  })

  it("reads a submit reply's result as a boolean, as dcrpool's CPU miner does: false is a refused share, null a broken pool", () => {
    expect(Result.getOrThrow(readSubmitReply({ id: 3, result: true, error: null })).accepted).toBe(true)
    const refused = Result.getOrThrow(readSubmitReply({ id: 3, result: false, error: [22, "duplicate share", null] }))
    expect(refused).toEqual({ accepted: false, error: [22, "duplicate share", null] })
    expect(Result.isFailure(readSubmitReply({ id: 3, result: null, error: [22, "duplicate share", null] }))).toBe(true)
  })
})
