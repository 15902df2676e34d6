import { Result } from "effect"
import type { PowHashAlgorithm } from "../core/chain/hash.ts"
import { powHashWith } from "../core/chain/hash.ts"
import { hashMeetsTarget } from "../core/chain/targets.ts"
import type { MinerProfile } from "../core/stratum/profiles.ts"
import { decodeMinerLine } from "../core/stratum/protocol.ts"
import { minerShareTarget } from "../core/stratum/difficulty.ts"
import { minerSolution, parseNotifyParams, readSetDifficulty, type MinerJob } from "../core/stratum/work.ts"

/**
 * The miner's half of a stratum conversation, as its firmware holds it: the extraNonce1 from
 * the subscribe reply, the latest job and difficulty; and a grinder for solutions. Tests use it
 * to talk to the pool exactly as the profile's miner would.
 */
export class MinerSide {
  readonly profile: MinerProfile
  readonly worker: string
  extraNonce1 = ""
  job: MinerJob | undefined
  /** The whole difficulty it works to, read from `mining.set_difficulty` as Decred miners read it (0: none yet). */
  difficulty = 0
  /** Exactly what the last `mining.set_difficulty` carried, to check the wire. */
  announcedDifficulty: unknown = undefined
  jobs = 0

  constructor(profile: MinerProfile, worker = "rig1") {
    this.profile = profile
    this.worker = worker
  }

  /** Takes one line from the pool; returns the decoded response, if it was one. */
  read(line: string): { readonly id: unknown; readonly result: unknown; readonly error: unknown } | undefined {
    const m = Result.getOrThrow(decodeMinerLine(line))
    if (m.kind === "response") {
      if (Array.isArray(m.message.result) && typeof m.message.result[1] === "string") this.extraNonce1 = m.message.result[1]
      return { id: m.message.id, result: m.message.result, error: m.message.error }
    }
    if (m.message.method === "mining.notify") {
      this.job = Result.getOrThrow(parseNotifyParams(this.profile, m.message.params))
      this.jobs++
    }
    if (m.message.method === "mining.set_difficulty") {
      this.announcedDifficulty = m.message.params[0]
      // A difficulty no Decred miner could work to fails the test here, as it would the miner.
      this.difficulty = Number(Result.getOrThrow(readSetDifficulty(m.message.params)))
    }
    return undefined
  }

  /** The share target the miner works to: the proof-of-work limit over its whole difficulty. */
  shareTarget(powLimit: bigint): bigint {
    if (this.difficulty === 0) throw new Error("no difficulty yet")
    return minerShareTarget(powLimit, BigInt(this.difficulty))
  }

  /** Grinds nonces from `start` until the hash meets (or, with `miss`, fails) `target`. */
  solve(pow: PowHashAlgorithm, target: bigint, options: { readonly miss?: boolean; readonly start?: number; readonly time?: number } = {}) {
    const job = this.job
    if (job === undefined) throw new Error("no job yet")
    const time = options.time ?? new DataView(job.header.buffer).getUint32(136, true)
    for (let nonce = options.start ?? 0; ; nonce++) {
      const s = minerSolution(this.profile, job, this.worker, this.extraNonce1, new Uint8Array(this.profile.extraNonce.en2Size).fill(3), time, nonce)
      if (hashMeetsTarget(powHashWith(pow, s.header), target) !== (options.miss ?? false)) return { ...s, nonce }
    }
  }
}
