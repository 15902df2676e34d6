import fc from "fast-check"
import { Result } from "effect"
import { describe, expect, it } from "vitest"
import { DIFFICULTY_SCALE, shareTarget } from "../../core/stratum/difficulty.ts"
import { chainActivations } from "../../core/chain/agendas.ts"
import { toHex } from "../../core/chain/bytes.ts"
import { powAlgorithmAt } from "../../core/chain/difficulty.ts"
import { powHashWith } from "../../core/chain/hash.ts"
import { encodeHeader, HeaderOffset } from "../../core/chain/header.ts"
import { REGNET, SIMNET, type NetworkParams } from "../../core/chain/params.ts"
import { hashMeetsTarget } from "../../core/chain/targets.ts"
import { identifyMiner, MINER_PROFILES, profileOf, userAgentOf, type MinerProfile } from "../../core/stratum/profiles.ts"
import { decodeMinerLine } from "../../core/stratum/protocol.ts"
import { minerSolution, parseNotifyParams, type MinerJob } from "../../core/stratum/work.ts"
import { MinerSide } from "../../testkit/stratum-miner.ts"
import { JobBook, type Job } from "./jobs.ts"
import { defaultSessionConfig, StratumSession, type SessionOutput } from "./session.ts"
import { defaultVardiffConfig } from "./vardiff.ts"

const SIMNET_ADDRESS = "Sspzuh5xuvqxccYLWJDJjCtqp166NRxcaPB"
const REGNET_ADDRESS = "RsWM2w5LPJip56uxcZ1Scq7Tcbg97EfiwPA"

/**
 * A pool with one session at a fixed vardiff difficulty (default 1: half of all hashes are shares)
 * on `network`; with `blake3From`, the chain voted BLAKE3 in at that height (jobs start at 202).
 */
const setup = (network: NetworkParams, networkBits = 0x1d00ffff, difficulty = DIFFICULTY_SCALE, blake3From?: number) => {
  const activations = blake3From === undefined ? chainActivations(network.agendas) : { ...chainActivations(network.agendas), blake3pow: blake3From }
  const powAt = (h: number) => powAlgorithmAt(activations, h)
  const jobs = new JobBook(powAt)
  const vardiff = { ...defaultVardiffConfig(difficulty, difficulty), retargetShares: 1_000_000 }
  const config = defaultSessionConfig(network, "pool", vardiff)
  let parent = 1
  /** dcrd's next work; `template` tells two templates of one parent apart (their merkle root). */
  const work = (reason: "newparent" | "newvotes" = "newparent", bits = networkBits, template = 7) => {
    if (reason === "newparent") parent++
    const header = encodeHeader({
      version: 10,
      prevBlock: new Uint8Array(32).fill(parent),
      merkleRoot: new Uint8Array(32).fill(template),
      stakeRoot: new Uint8Array(32).fill(8),
      voteBits: 1,
      finalState: new Uint8Array(6),
      voters: 5,
      freshStake: 0,
      revocations: 0,
      poolSize: 100,
      bits,
      sbits: 20000n,
      height: 200 + parent,
      size: 1000,
      timestamp: 1_700_000_000,
      nonce: 0,
      extraData: new Uint8Array(32),
      stakeVersion: 10,
    })
    return jobs.addWork(header, reason).job
  }
  work()
  const session = new StratumSession(config, jobs, () => powAt(jobs.current!.height), Uint8Array.of(0xde, 0xad, 0xbe, 0xef), "127.0.0.1:5000", 0)
  return { jobs, session, work, config }
}

/** The miner's side, fed a session's output lines. */
const miner = (profile: MinerProfile) => {
  const side = new MinerSide(profile)
  return {
    read: (out: SessionOutput) => {
      for (const l of out.lines) side.read(l)
      return out
    },
    /** Grinds nonces until the hash meets (or, with `miss`, fails) the target of the difficulty announced, as the miner reads it. */
    solve: (network: NetworkParams, pow: "blake3" | "blake256", miss = false, start = 0) => side.solve(pow, side.shareTarget(network.powLimit), { miss, start, time: 1_700_000_010 }),
    get job() {
      return side.job
    },
    get difficulty() {
      return side.difficulty
    },
    get announced() {
      return side.announcedDifficulty
    },
  }
}

const reply = (out: SessionOutput) => {
  const m = Result.getOrThrow(decodeMinerLine(out.lines[0]!))
  return m.kind === "response" ? (m.message.error === null ? m.message.result : `error ${m.message.error[0]}: ${m.message.error[1]}`) : "notification"
}

/** A refused share or login as the reference pool sends it: `result: false`, `[code, message, null]`, the request's id. */
const refusal = (out: SessionOutput, id: number) => {
  expect(out.lines).toHaveLength(1)
  expect(out.close).toBeUndefined()
  const m = Result.getOrThrow(decodeMinerLine(out.lines[0]!))
  if (m.kind !== "response" || m.message.error === null) throw new Error(`not a refusal: ${out.lines[0]}`)
  expect(m.message.id).toBe(id)
  expect(m.message.result).toBe(false)
  expect(m.message.error[2]).toBe(null)
  return `error ${m.message.error[0]}: ${m.message.error[1]}`
}

const line = (id: number, method: string, params: ReadonlyArray<unknown>) => JSON.stringify({ id, method, params })

describe("stratum session", () => {
  for (const profile of MINER_PROFILES) {
    const network = profile.pow === "blake3" ? SIMNET : REGNET
    const address = profile.pow === "blake3" ? SIMNET_ADDRESS : REGNET_ADDRESS
    it(`${profile.model} on ${network.name}: subscribe, authorize, work, a share accepted, then duplicate, stale and unknown jobs refused`, () => {
      const { session, work } = setup(network)
      const m = miner(profile)
      const sub = m.read(session.onLine(line(1, "mining.subscribe", [userAgentOf(profile)]), 1000))
      expect(Array.isArray(reply(sub))).toBe(true)
      const auth = m.read(session.onLine(line(2, "mining.authorize", [`${address}.rig1`, "x"]), 1000))
      expect(reply(auth)).toBe(true)
      expect(auth.lines).toHaveLength(3) // result, set_difficulty, notify
      expect(m.announced).toBe(1)
      const s = m.solve(network, profile.pow)
      const ok = session.onLine(line(3, "mining.submit", s.params), 2000)
      expect(reply(ok)).toBe(true)
      expect(ok.shares).toHaveLength(1)
      // DR3 and DR5 share a user agent: the session starts as the smaller model.
      const identified = identifyMiner(userAgentOf(profile), profile.pow)!.model
      expect(ok.shares[0]).toMatchObject({ account: address, worker: "rig1", difficulty: DIFFICULTY_SCALE, model: identified })
      expect(refusal(session.onLine(line(4, "mining.submit", s.params), 2000), 4)).toMatch(/^error 22: duplicate share/)
      const miss = m.solve(network, profile.pow, true)
      expect(refusal(session.onLine(line(5, "mining.submit", miss.params), 2000), 5)).toMatch(/^error 23: low difficulty share/)
      const unknown = [...s.params]
      unknown[1] = "ffffffff00000000"
      expect(refusal(session.onLine(line(6, "mining.submit", unknown), 2000), 6)).toMatch(/^error 21: unknown job/)
      // A new block: the old job is stale.
      const next = m.read(session.onJob(work(), 3000))
      expect(next.lines.some((l) => l.includes("mining.notify"))).toBe(true)
      const old = m.solve(network, profile.pow, false, 1_000_000)
      old.params[1] = s.params[1]!
      expect(refusal(session.onLine(line(7, "mining.submit", old.params), 3000), 7)).toMatch(/^error 21: job .* is for an old block/)
    })
  }

  it("refuses BLAKE-256 ASICs at subscribe on a BLAKE3 chain, with a message that says why", () => {
    const { session } = setup(SIMNET)
    const out = session.onLine(line(1, "mining.subscribe", ["cgminer/4.9.0"]), 0)
    expect(reply(out)).toBe("error 20: Antminer DR3 computes BLAKE-256 only, and this chain's proof of work is BLAKE3 (DCP-0011): connect a BLAKE3 miner such as decred-gominer 2.x")
    expect(out.logs).toEqual([{ kind: "cannot-mine", model: "antminer-dr3" }])
  })

  it("closes a BLAKE-256 miner's session at the first BLAKE3 job (DCP-0011 activated), telling it why; a BLAKE3 job goes on to a BLAKE3 miner", () => {
    const { session, work } = setup(REGNET, 0x1d00ffff, DIFFICULTY_SCALE, 204)
    const asic = miner(profileOf("innosilicon-d9"))
    asic.read(session.onLine(line(1, "mining.subscribe", [userAgentOf(profileOf("innosilicon-d9"))]), 0))
    asic.read(session.onLine(line(2, "mining.authorize", [`${REGNET_ADDRESS}.d9`, "x"]), 0))
    // Height 203: still BLAKE-256, an ordinary job.
    const before = session.onJob(work(), 1)
    expect(before.close).toBeUndefined()
    expect(before.lines.some((l) => l.includes("mining.notify"))).toBe(true)
    // Height 204: BLAKE3. One error line under no request's id, and the session closes.
    const at = session.onJob(work(), 2)
    expect(at.close).toBe("proof of work switched to blake3 at height 204")
    expect(at.lines).toHaveLength(1)
    const m = Result.getOrThrow(decodeMinerLine(at.lines[0]!))
    if (m.kind !== "response" || m.message.error === null) throw new Error(`not an error: ${at.lines[0]}`)
    expect(m.message.id).toBe(null)
    expect(m.message.error[1]).toBe(
      "the chain's proof of work is BLAKE3 from height 204: Innosilicon D9 computes BLAKE-256 only, and this chain's proof of work is BLAKE3 (DCP-0011): connect a BLAKE3 miner such as decred-gominer 2.x; closing this connection",
    )
    expect(at.logs).toEqual([{ kind: "pow-switched", model: "innosilicon-d9", height: 204, message: m.message.error[1] }])

    // A BLAKE3 miner that connected after the switch gets the next job as usual.
    const other = setup(SIMNET, 0x1d00ffff, DIFFICULTY_SCALE, 204)
    other.work()
    other.work()
    other.session.onLine(line(1, "mining.subscribe", [userAgentOf(profileOf("gominer"))]), 0)
    other.session.onLine(line(2, "mining.authorize", [`${SIMNET_ADDRESS}.gpu`, "x"]), 0)
    const blake3Job = other.session.onJob(other.work(), 2)
    expect(blake3Job.close).toBeUndefined()
    expect(blake3Job.lines.some((l) => l.includes("mining.notify"))).toBe(true)
  })

  it("refuses unknown miners, submits before subscribe or authorize, and bad usernames", () => {
    const { session } = setup(SIMNET)
    const unknown = session.onLine(line(1, "mining.subscribe", ["ccminer/2.3.1"]), 0)
    expect(reply(unknown)).toMatch(/^error 20: miner "ccminer\/2.3.1" is not supported/)
    expect(unknown.logs).toEqual([{ kind: "unknown-miner", userAgent: "ccminer/2.3.1" }])
    expect(refusal(session.onLine(line(2, "mining.submit", ["w", "j", "00", "00", "00"]), 0), 2)).toMatch(/^error 25:/)
    session.onLine(line(3, "mining.subscribe", ["cpuminer/1.0.0"]), 0)
    expect(refusal(session.onLine(line(4, "mining.submit", ["w", "j", "00", "00", "00"]), 0), 4)).toMatch(/^error 24: not authorized/)
    expect(refusal(session.onLine(line(5, "mining.authorize", ["DsUZxxoHJSty8DCfwfartwTYbuhmVct7tJu.rig", ""]), 0), 5)).toMatch(
      /^error 24: username must be address.worker with a simnet address: .* is a mainnet address/,
    )
    expect(refusal(session.onLine(line(6, "mining.authorize", [`${SIMNET_ADDRESS}.bad name!`, ""]), 0), 6)).toMatch(/^error 24: worker name/)
    expect(reply(session.onLine(line(7, "mining.bogus", []), 0))).toBe('error 20: unknown method "mining.bogus"')
    expect(reply(session.onLine("{oops", 0))).toMatch(/^error 20: malformed JSON/)
    expect(reply(session.onLine(line(8, "mining.extranonce.subscribe", []), 0))).toBe(false)
  })

  it("answers a flood with errors and then closes; closes a connection idle too long", () => {
    const { session, config } = setup(SIMNET)
    let out: SessionOutput | undefined
    let errors = 0
    for (let i = 0; i < 1000 && out?.close === undefined; i++) {
      out = session.onLine(line(i, "mining.extranonce.subscribe", []), 0)
      if (out.close === undefined && reply(out) !== false) errors++
    }
    expect(errors).toBeGreaterThan(0)
    expect(out!.close).toBe("message flood")
    const quiet = setup(SIMNET).session
    expect(quiet.onTick(config.idleTimeoutSeconds * 1000 - 1)?.close).toBeUndefined()
    expect(quiet.onTick(config.idleTimeoutSeconds * 1000)?.close).toBe("idle for 600s")
  })

  it("hands a block candidate on when a share also meets the network target", () => {
    const { session } = setup(SIMNET, SIMNET.powLimitBits)
    const m = miner(profileOf("gominer"))
    m.read(session.onLine(line(1, "mining.subscribe", ["decred-gominer/2.1.0"]), 0))
    m.read(session.onLine(line(2, "mining.authorize", [SIMNET_ADDRESS, ""]), 0))
    const s = m.solve(SIMNET, "blake3")
    const out = session.onLine(line(3, "mining.submit", s.params), 0)
    expect(out.blocks).toHaveLength(1)
    expect(toHex(out.blocks[0]!.header)).toBe(toHex(s.header))
    expect(new DataView(out.blocks[0]!.header.buffer).getUint32(HeaderOffset.nonce, true)).toBe(Number.parseInt(s.params[4]!.match(/../g)!.reverse().join(""), 16))
  })

  it("a share for an older job of the same parent is accepted and is a block on that job's own template; only a new parent is a clean job, and a share for the previous parent is refused as stale", () => {
    // Every share is a block: shows the older job's share would be assembled into a block dcrd takes.
    const { session, work } = setup(SIMNET, SIMNET.powLimitBits)
    const m = miner(profileOf("gominer"))
    m.read(session.onLine(line(1, "mining.subscribe", ["decred-gominer/2.1.0"]), 0))
    m.read(session.onLine(line(2, "mining.authorize", [SIMNET_ADDRESS, ""]), 0))
    const older = m.solve(SIMNET, "blake3")
    const notifyOf = (out: SessionOutput) => {
      const n = out.lines.map((l) => Result.getOrThrow(decodeMinerLine(l))).find((x) => x.kind === "request" && x.message.method === "mining.notify")
      if (n?.kind !== "request") throw new Error("no notify")
      return n.message.params
    }
    // New votes on the same parent: a new template, sent as a job that does not clean the miner's work.
    const votes = m.read(session.onJob(work("newvotes", SIMNET.powLimitBits, 9), 1000))
    expect(notifyOf(votes)[8]).toBe(false)
    const accepted = session.onLine(line(3, "mining.submit", older.params), 1000)
    expect(reply(accepted)).toBe(true)
    expect(accepted.shares).toHaveLength(1)
    expect(accepted.blocks).toHaveLength(1)
    expect(accepted.blocks[0]!.job.id).toBe(older.params[1])
    // The block is the older template's header (its merkle root), the one dcrd keeps for it.
    expect(toHex(accepted.blocks[0]!.header)).toBe(toHex(older.header))
    expect(toHex(accepted.blocks[0]!.header.subarray(HeaderOffset.merkleRoot, HeaderOffset.merkleRoot + 32))).toBe("07".repeat(32))
    // A new parent: the only clean job, and every job of the previous parent is stale.
    const onNewer = m.solve(SIMNET, "blake3")
    expect(onNewer.params[1]).not.toBe(older.params[1])
    const parent = session.onJob(work("newparent", SIMNET.powLimitBits), 2000)
    expect(notifyOf(parent)[8]).toBe(true)
    const stale = session.onLine(line(4, "mining.submit", onNewer.params), 2000)
    expect(refusal(stale, 4)).toBe(`error 21: job ${onNewer.params[1]} is for an old block; work on the latest job`)
    expect(stale.logs).toEqual([{ kind: "share-rejected", reason: "stale-job" }])
    expect(stale.shares).toHaveLength(0)
  })

  it("never asks for more than the job's network difficulty, so every hash that makes a block is a share", () => {
    // Vardiff wants 1000; the network needs 4 (simnet bits 0x201fffff: a quarter of the limit).
    const { session, work } = setup(SIMNET, 0x201fffff, 1000n * DIFFICULTY_SCALE)
    const m = miner(profileOf("gominer"))
    m.read(session.onLine(line(1, "mining.subscribe", ["decred-gominer/2.1.0"]), 0))
    m.read(session.onLine(line(2, "mining.authorize", [SIMNET_ADDRESS, ""]), 0))
    // The network's difficulty is 4.0000002...: announced as the whole 4 below it, so a block is always a share.
    expect(m.announced).toBe(4)
    const s = m.solve(SIMNET, "blake3")
    const out = session.onLine(line(3, "mining.submit", s.params), 0)
    expect(reply(out)).toBe(true)
    expect(out.blocks).toHaveLength(1)
    // A harder network (mainnet-like bits) lifts the cap: back to vardiff's difficulty.
    m.read(session.onJob(work("newparent", 0x1d00ffff), 1000))
    expect(m.announced).toBe(1000)
  })
})

describe("stratum session: what real Decred miners read", () => {
  it("a duplicate from an honest miner costs that share, never the connection (dcrpool's CPU miner repeats solutions by design)", () => {
    const { session } = setup(SIMNET)
    const m = miner(profileOf("cpuminer"))
    m.read(session.onLine(line(1, "mining.subscribe", ["cpuminer/1.0.0"]), 0))
    m.read(session.onLine(line(2, "mining.authorize", [`${SIMNET_ADDRESS}.cpu`, ""]), 0))
    const first = m.solve(SIMNET, "blake3")
    expect(reply(session.onLine(line(3, "mining.submit", first.params), 1000))).toBe(true)
    // Its solver restarts from nonce 0 on an unchanged job and finds the same solution again.
    const again = session.onLine(line(4, "mining.submit", first.params), 2000)
    expect(refusal(again, 4)).toMatch(/^error 22: duplicate share/)
    expect(again.shares).toHaveLength(0)
    expect(again.logs).toEqual([{ kind: "share-rejected", reason: "duplicate" }])
    const next = m.solve(SIMNET, "blake3", false, first.nonce + 1)
    expect(reply(session.onLine(line(5, "mining.submit", next.params), 3000))).toBe(true)
  })

  it("announces a whole difficulty of at least 1 even where the simulator's hash scale makes a miner's rating worth less (0.0000062 for a cpuminer)", () => {
    const { jobs } = setup(SIMNET)
    const activations = chainActivations(SIMNET.agendas)
    const vardiff = defaultVardiffConfig(1n, DIFFICULTY_SCALE << 64n)
    // What `./dcrforge run` gives the pool: difficulty 1 stands for 2 x 2e9 nominal hashes.
    const config = { ...defaultSessionConfig(SIMNET, "pool" as const, { ...vardiff, targetSeconds: 5 }), hashesPerUnitDifficulty: 4_000_000_000n }
    const session = new StratumSession(config, jobs, () => powAlgorithmAt(activations, jobs.current!.height), Uint8Array.of(1, 2, 3, 4), "x", 0)
    const m = miner(profileOf("cpuminer"))
    m.read(session.onLine(line(1, "mining.subscribe", ["cpuminer/1.0.0"]), 0))
    const auth = m.read(session.onLine(line(2, "mining.authorize", [`${SIMNET_ADDRESS}.cpu`, ""]), 0))
    expect(auth.lines[1]).toBe('{"id":null,"method":"mining.set_difficulty","params":[1]}')
    // A gominer (5 GH/s: 6.25 by its rating) starts at the nearest whole difficulty.
    const gpu = new StratumSession(config, jobs, () => powAlgorithmAt(activations, jobs.current!.height), Uint8Array.of(1, 2, 3, 5), "y", 0)
    const g = miner(profileOf("gominer"))
    g.read(gpu.onLine(line(1, "mining.subscribe", ["decred-gominer/2.1.0"]), 0))
    g.read(gpu.onLine(line(2, "mining.authorize", [`${SIMNET_ADDRESS}.gpu`, ""]), 0))
    expect(g.announced).toBe(6)
  })

  it("checks exactly the target of the whole difficulty it announced, not a fractional one it computed", () => {
    // A vardiff bound of 3.5 (not whole): announced as 3, and a hash that meets powLimit / 3 but
    // not powLimit / 3.5 is a share: the miner was told 3 and hashed to 3.
    const { session } = setup(SIMNET, 0x1d00ffff, (7n * DIFFICULTY_SCALE) / 2n)
    const m = miner(profileOf("gominer"))
    m.read(session.onLine(line(1, "mining.subscribe", ["decred-gominer/2.1.0"]), 0))
    m.read(session.onLine(line(2, "mining.authorize", [`${SIMNET_ADDRESS}.gpu`, ""]), 0))
    expect(m.announced).toBe(3)
    const between = (start: number) => {
      for (let n = start; ; ) {
        const s = m.solve(SIMNET, "blake3", false, n)
        if (!hashMeetsTarget(powHashWith("blake3", s.header), shareTarget(SIMNET.powLimit, (7n * DIFFICULTY_SCALE) / 2n))) return s
        n = s.nonce + 1
      }
    }
    const share = between(0)
    const out = session.onLine(line(3, "mining.submit", share.params), 1000)
    expect(reply(out)).toBe(true)
    expect(out.shares[0]!.difficulty).toBe(3n * DIFFICULTY_SCALE)
  })
})

describe("stratum session: each piece of work counts once", () => {
  const gominer = profileOf("gominer")
  const T0 = 1_700_000_000
  const activations = chainActivations(SIMNET.agendas)
  const template = (merkle: number, timestamp: number) =>
    encodeHeader({
      version: 10,
      prevBlock: new Uint8Array(32).fill(9),
      merkleRoot: new Uint8Array(32).fill(merkle),
      stakeRoot: new Uint8Array(32).fill(8),
      voteBits: 1,
      finalState: new Uint8Array(6),
      voters: 5,
      freshStake: 0,
      revocations: 0,
      poolSize: 100,
      bits: 0x1d00ffff,
      sbits: 20000n,
      height: 300,
      size: 1000,
      timestamp,
      nonce: 0,
      extraData: new Uint8Array(32),
      stakeVersion: 10,
    })
  // A handful of solutions per case (small domains, so some coincide anyway), each then sent
  // under one job id or another: an nTime near some job's timestamp (before it, at it, after it).
  const solution = fc.record({
    connection: fc.integer({ min: 0, max: 1 }),
    timeOf: fc.nat(),
    timeDelta: fc.integer({ min: -1, max: 1 }),
    nonce: fc.integer({ min: 0, max: 2 }),
    extraNonce2: fc.integer({ min: 0, max: 1 }),
  })
  const submission = fc.record({ solution: fc.nat(), job: fc.nat() })

  it("property: over a template, its time rolls and a second template of the same parent, each distinct piece of work is accepted exactly once whatever job id it comes under; a repeat costs only itself (result false, error 22)", () => {
    // Cases run, and valid work sent again under a job id other than the one it was credited under.
    let runs = 0
    let repeatsUnderAnotherJob = 0
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 120 }), { minLength: 1, maxLength: 4 }),
        fc.array(fc.integer({ min: 1, max: 120 }), { maxLength: 3 }),
        fc.array(solution, { minLength: 1, maxLength: 12 }),
        fc.array(submission, { minLength: 1, maxLength: 60, size: "max" }),
        (rollsOfA, rollsOfB, solutions, submissions) => {
          runs++
          const jobs = new JobBook((h) => powAlgorithmAt(activations, h))
          const vardiff = { ...defaultVardiffConfig(DIFFICULTY_SCALE, DIFFICULTY_SCALE), retargetShares: 1_000_000 }
          const config = defaultSessionConfig(SIMNET, "pool", vardiff)
          // Two miners on their own connections (their own extraNonce1), each with a view of every job.
          const connections = [Uint8Array.of(0xde, 0xad, 0xbe, 0xef), Uint8Array.of(0xca, 0xfe, 0xba, 0xbe)].map((en1, i) => {
            const session = new StratumSession(config, jobs, () => "blake3", en1, `10.0.0.${i}`, 0)
            const minerJobs = new Map<string, MinerJob>()
            const take = (out: SessionOutput) => {
              for (const l of out.lines) {
                const m = Result.getOrThrow(decodeMinerLine(l))
                if (m.kind === "request" && m.message.method === "mining.notify") {
                  const job = Result.getOrThrow(parseNotifyParams(gominer, m.message.params))
                  minerJobs.set(job.jobId, job)
                }
              }
            }
            return { session, en1, minerJobs, take }
          })
          // Template A, then its rolls; template B (new transactions, same parent), then its rolls.
          const issued: Array<{ readonly id: string; readonly template: Uint8Array; readonly timestamp: number }> = []
          const issue = (job: Job, template: Uint8Array) => {
            issued.push({ id: job.id, template, timestamp: job.timestamp })
            for (const c of connections) c.take(c.session.onJob(job, 0))
          }
          const a = template(7, T0)
          issue(jobs.addWork(a, "newparent").job, a)
          for (const c of connections) {
            c.take(c.session.onLine(line(1, "mining.subscribe", [userAgentOf(gominer)]), 0))
            c.take(c.session.onLine(line(2, "mining.authorize", [`${SIMNET_ADDRESS}.rig`, ""]), 0))
          }
          let t = T0
          for (const step of rollsOfA) issue(jobs.rollTimestamp((t += step))!, a)
          const b = template(6, (t += 1))
          issue(jobs.addWork(b, "newtxns").job, b)
          for (const step of rollsOfB) issue(jobs.rollTimestamp((t += step))!, b)

          // The oracle: the header each submission hashed, built here from the template's bytes
          // (gominer's layout: nTime at 136, nonce at 140, extraNonce1 at 144, extraNonce2 at 148).
          const credited = new Map<string, string>()
          let id = 10
          for (const sent of submissions) {
            const s = solutions[sent.solution % solutions.length]!
            const c = connections[s.connection]!
            const job = issued[sent.job % issued.length]!
            const time = issued[s.timeOf % issued.length]!.timestamp + s.timeDelta
            const en2 = Uint8Array.of(s.extraNonce2, 0, 0, 0)
            const header = job.template.slice()
            const view = new DataView(header.buffer)
            view.setUint32(HeaderOffset.timestamp, time, true)
            view.setUint32(HeaderOffset.nonce, s.nonce, true)
            header.set(c.en1, HeaderOffset.extraData)
            header.set(en2, HeaderOffset.extraData + 4)
            const work = toHex(header)
            const valid = time >= job.timestamp && hashMeetsTarget(powHashWith("blake3", header), SIMNET.powLimit)
            const expected = valid && !credited.has(work)
            if (expected) credited.set(work, job.id)
            else if (valid && credited.get(work) !== job.id) repeatsUnderAnotherJob++

            const solution = minerSolution(gominer, c.minerJobs.get(job.id)!, "rig", toHex(c.en1), en2, time, s.nonce)
            expect(toHex(solution.header)).toBe(work)
            // A second apart: well within the connection's message budget.
            const out = c.session.onLine(line(++id, "mining.submit", solution.params), (id - 10) * 1000)
            const answer = Result.getOrThrow(decodeMinerLine(out.lines[0]!))
            if (answer.kind !== "response") throw new Error(out.lines[0])
            expect(out.close).toBeUndefined()
            expect(answer.message.result, `${work.slice(272, 320)} under job ${job.id}: ${JSON.stringify(answer.message.error)}`).toBe(expected)
            expect(out.shares.length).toBe(expected ? 1 : 0)
            // A refusal of valid work is a duplicate, and says so.
            if (valid && !expected) expect(answer.message.error?.[0]).toBe(22)
          }
        },
      ),
      { numRuns: 200 },
    )
    // The property is only as good as its cases: most runs must send some work again under another job.
    if (runs >= 50) expect(repeatsUnderAnotherJob, `${repeatsUnderAnotherJob} repeats under another job in ${runs} runs`).toBeGreaterThan(runs)
  })
})
