import { Result } from "effect"
import { toHex } from "../../core/chain/bytes.ts"
import { HeaderOffset } from "../../core/chain/header.ts"
import { hashMeetsTarget } from "../../core/chain/targets.ts"
import { DIFFICULTY_SCALE, shareTarget } from "../../core/stratum/difficulty.ts"
import type { MinerProfile } from "../../core/stratum/profiles.ts"
import { StratumErrorCode, stratumError, type StratumError } from "../../core/stratum/protocol.ts"
import { decodeSubmitParams, rebuildHeader } from "../../core/stratum/work.ts"
import type { Job, JobBook } from "./jobs.ts"

/** A miner may roll the timestamp forward, within the two hours dcrd accepts ahead of now. */
const MAX_TIME_ROLL_SECONDS = 7200

export type RejectReason = "bad-params" | "unknown-job" | "stale-job" | "bad-extranonce" | "time-out-of-range" | "duplicate" | "low-difficulty"

type ShareVerdict =
  | {
      readonly kind: "accepted"
      readonly job: Job
      readonly header: Uint8Array
      readonly hash: Uint8Array
      /**
       * Identifies the work, whatever job it came under: the hex of its proof-of-work hash, a
       * digest of the whole header the miner hashed (template, extra nonces, nTime, nonce).
       */
      readonly workKey: string
      /** The difficulty the share was checked at (the one in force when its job was sent). */
      readonly difficulty: bigint
      /** The hash also meets the network target: submit it to dcrd. */
      readonly block: boolean
    }
  | { readonly kind: "rejected"; readonly reason: RejectReason; readonly error: StratumError }

const reject = (reason: RejectReason, code: StratumError["code"], message: string): ShareVerdict => ({
  kind: "rejected",
  reason,
  error: stratumError(code, message),
})

interface ShareContext {
  readonly jobs: JobBook
  readonly profile: MinerProfile
  readonly extraNonce1: Uint8Array
  readonly powLimit: bigint
  /** The difficulty this connection had when it was sent `jobId`, if it was sent that job. */
  readonly difficultyForJob: (jobId: string) => bigint | undefined
}

/**
 * A `mining.submit`, checked in order: params for the profile, a known job, not stale, the
 * connection's own extra nonce, a sane timestamp, the proof of work of the job's era against the
 * connection's difficulty, not seen before, and finally against the network target.
 */
export const validateShare = (ctx: ShareContext, params: ReadonlyArray<unknown>): ShareVerdict => {
  const decoded = decodeSubmitParams(ctx.profile, params)
  if (Result.isFailure(decoded)) return { kind: "rejected", reason: "bad-params", error: decoded.failure }
  const s = decoded.success
  const found = ctx.jobs.lookup(s.jobId)
  const difficulty = ctx.difficultyForJob(s.jobId)
  if (found === undefined || difficulty === undefined) {
    return reject("unknown-job", StratumErrorCode.staleJob, `unknown job ${s.jobId}: it expired or was never sent to this connection; work on the latest job`)
  }
  if (found.stale) return reject("stale-job", StratumErrorCode.staleJob, `job ${s.jobId} is for an old block; work on the latest job`)
  const job = found.job
  const rebuilt = rebuildHeader(ctx.profile, job.header, ctx.extraNonce1, s)
  if (Result.isFailure(rebuilt)) return { kind: "rejected", reason: "bad-extranonce", error: rebuilt.failure }
  const header = rebuilt.success
  const time = new DataView(header.buffer).getUint32(HeaderOffset.timestamp, true)
  if (time < job.timestamp || time > job.timestamp + MAX_TIME_ROLL_SECONDS) {
    return reject("time-out-of-range", StratumErrorCode.other, `nTime ${time} is outside ${job.timestamp}..${job.timestamp + MAX_TIME_ROLL_SECONDS} for job ${job.id}`)
  }
  const hash = job.hasher.hash(header)
  if (!hashMeetsTarget(hash, shareTarget(ctx.powLimit, difficulty))) {
    return reject(
      "low-difficulty",
      StratumErrorCode.lowDifficulty,
      `low difficulty share: the hash does not meet difficulty ${difficulty / DIFFICULTY_SCALE}, the one this connection was given with job ${s.jobId}`,
    )
  }
  // The work, not the job: a time roll gives the same template a new job id, and a share whose
  // nTime is at or after the roll's timestamp rebuilds to the same header under the original job
  // and every roll (the miner overwrites the only byte the roll changed), so keying by job id
  // would credit it once per roll. Different templates differ in their header, so in their hash.
  // Only valid work is remembered.
  const workKey = toHex(hash)
  if (!ctx.jobs.firstSubmission(job, workKey)) {
    return reject("duplicate", StratumErrorCode.duplicateShare, "duplicate share: this work was already credited, under this job or another job of the same template; each piece of work counts once")
  }
  return { kind: "accepted", job, header, hash, workKey, difficulty, block: hashMeetsTarget(hash, job.networkTarget) }
}
