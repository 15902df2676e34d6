import { Result } from "effect"
import { describe, expect, it } from "vitest"
import { chainActivations } from "../core/chain/agendas.ts"
import { toHex } from "../core/chain/bytes.ts"
import { powAlgorithmAt } from "../core/chain/difficulty.ts"
import { encodeHeader, HeaderOffset } from "../core/chain/header.ts"
import { REGNET, SIMNET, type NetworkParams } from "../core/chain/params.ts"
import { DIFFICULTY_SCALE } from "../core/payout/amounts.ts"
import { identifyMiner, MINER_PROFILES, profileOf, userAgentOf, type MinerProfile } from "../core/stratum/profiles.ts"
import { decodeMinerLine } from "../core/stratum/protocol.ts"
import { MinerSide } from "../core/testing/stratum-miner.ts"
import { JobBook } from "./jobs.ts"
import { shareTarget } from "./shares.ts"
import { defaultSessionConfig, StratumSession, type SessionOutput } from "./session.ts"
import { defaultVardiffConfig } from "./vardiff.ts"

const SIMNET_ADDRESS = "Sspzuh5xuvqxccYLWJDJjCtqp166NRxcaPB"
const REGNET_ADDRESS = "RsWM2w5LPJip56uxcZ1Scq7Tcbg97EfiwPA"

/** A pool with one session at a fixed vardiff difficulty (default 1: half of all hashes are shares) on `network`. */
const setup = (network: NetworkParams, networkBits = 0x1d00ffff, difficulty = DIFFICULTY_SCALE) => {
  const activations = chainActivations(network.agendas)
  const powAt = (h: number) => powAlgorithmAt(activations, h)
  const jobs = new JobBook(powAt)
  const vardiff = { ...defaultVardiffConfig(difficulty, difficulty), retargetShares: 1_000_000 }
  const config = defaultSessionConfig(network, "pool", vardiff)
  let parent = 1
  const work = (reason: "newparent" | "newvotes" = "newparent", bits = networkBits) => {
    if (reason === "newparent") parent++
    const header = encodeHeader({
      version: 10, prevBlock: new Uint8Array(32).fill(parent), merkleRoot: new Uint8Array(32).fill(7), stakeRoot: new Uint8Array(32).fill(8),
      voteBits: 1, finalState: new Uint8Array(6), voters: 5, freshStake: 0, revocations: 0, poolSize: 100, bits,
      sbits: 20000n, height: 200 + parent, size: 1000, timestamp: 1_700_000_000, nonce: 0, extraData: new Uint8Array(32), stakeVersion: 10,
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
    /** Grinds nonces until the hash meets (or, with `miss`, fails) the announced difficulty. */
    solve: (network: NetworkParams, pow: "blake3" | "blake256", miss = false, start = 0) =>
      side.solve(pow, shareTarget(network.powLimit, BigInt(Math.round(side.difficulty * 2 ** 32))), { miss, start, time: 1_700_000_010 }),
    get job() {
      return side.job
    },
    get difficulty() {
      return side.difficulty
    },
  }
}

const reply = (out: SessionOutput) => {
  const m = Result.getOrThrow(decodeMinerLine(out.lines[0]!))
  return m.kind === "response" ? (m.message.error === null ? m.message.result : `error ${m.message.error[0]}: ${m.message.error[1]}`) : "notification"
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
      expect(m.difficulty).toBe(1)
      const s = m.solve(network, profile.pow)
      const ok = session.onLine(line(3, "mining.submit", s.params), 2000)
      expect(reply(ok)).toBe(true)
      expect(ok.shares).toHaveLength(1)
      // DR3 and DR5 share a user agent: the session starts as the smaller model.
      const identified = identifyMiner(userAgentOf(profile))!.model
      expect(ok.shares[0]).toMatchObject({ account: address, worker: "rig1", difficulty: DIFFICULTY_SCALE, model: identified })
      expect(reply(session.onLine(line(4, "mining.submit", s.params), 2000))).toMatch(/^error 22:/)
      const miss = m.solve(network, profile.pow, true)
      expect(reply(session.onLine(line(5, "mining.submit", miss.params), 2000))).toMatch(/^error 23: low difficulty share/)
      const unknown = [...s.params]
      unknown[1] = "ffffffff00000000"
      expect(reply(session.onLine(line(6, "mining.submit", unknown), 2000))).toMatch(/^error 21: unknown job/)
      // A new block: the old job is stale.
      const next = m.read(session.onJob(work(), 3000))
      expect(next.lines.some((l) => l.includes("mining.notify"))).toBe(true)
      const old = m.solve(network, profile.pow, false, 1_000_000)
      old.params[1] = s.params[1]!
      expect(reply(session.onLine(line(7, "mining.submit", old.params), 3000))).toMatch(/^error 21: job .* is for an old block/)
    })
  }

  it("refuses BLAKE-256 ASICs at subscribe on a BLAKE3 chain, with a message that says why", () => {
    const { session } = setup(SIMNET)
    const out = session.onLine(line(1, "mining.subscribe", ["cgminer/4.9.0"]), 0)
    expect(reply(out)).toBe(
      "error 20: Antminer DR3 computes BLAKE-256 only, and this chain's proof of work is BLAKE3 (DCP-0011): connect a BLAKE3 miner such as decred-gominer 2.x",
    )
    expect(out.logs).toEqual([{ kind: "cannot-mine", model: "antminer-dr3" }])
  })

  it("refuses unknown miners, submits before subscribe or authorize, and bad usernames", () => {
    const { session } = setup(SIMNET)
    const unknown = session.onLine(line(1, "mining.subscribe", ["ccminer/2.3.1"]), 0)
    expect(reply(unknown)).toMatch(/^error 20: miner "ccminer\/2.3.1" is not supported/)
    expect(unknown.logs).toEqual([{ kind: "unknown-miner", userAgent: "ccminer/2.3.1" }])
    expect(reply(session.onLine(line(2, "mining.submit", ["w", "j", "00", "00", "00"]), 0))).toMatch(/^error 25:/)
    session.onLine(line(3, "mining.subscribe", ["cpuminer/1.0.0"]), 0)
    expect(reply(session.onLine(line(4, "mining.submit", ["w", "j", "00", "00", "00"]), 0))).toMatch(/^error 24: not authorized/)
    expect(reply(session.onLine(line(5, "mining.authorize", ["DsUZxxoHJSty8DCfwfartwTYbuhmVct7tJu.rig", ""]), 0))).toMatch(
      /^error 24: username must be address.worker with a simnet address: .* is a mainnet address/,
    )
    expect(reply(session.onLine(line(6, "mining.authorize", [`${SIMNET_ADDRESS}.bad name!`, ""]), 0))).toMatch(/^error 24: worker name/)
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

  it("never asks for more than the job's network difficulty, so every hash that makes a block is a share", () => {
    // Vardiff wants 1000; the network needs 4 (simnet bits 0x201fffff: a quarter of the limit).
    const { session, work } = setup(SIMNET, 0x201fffff, 1000n * DIFFICULTY_SCALE)
    const m = miner(profileOf("gominer"))
    m.read(session.onLine(line(1, "mining.subscribe", ["decred-gominer/2.1.0"]), 0))
    m.read(session.onLine(line(2, "mining.authorize", [SIMNET_ADDRESS, ""]), 0))
    expect(m.difficulty).toBeCloseTo(4, 4)
    const s = m.solve(SIMNET, "blake3")
    const out = session.onLine(line(3, "mining.submit", s.params), 0)
    expect(reply(out)).toBe(true)
    expect(out.blocks).toHaveLength(1)
    // A harder network (mainnet-like bits) lifts the cap: back to vardiff's difficulty.
    m.read(session.onJob(work("newparent", 0x1d00ffff), 1000))
    expect(m.difficulty).toBe(1000)
  })
})
