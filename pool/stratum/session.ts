import { Result } from "effect"
import { decodeAddress } from "../../core/chain/address.ts"
import { toHex } from "../../core/chain/bytes.ts"
import type { PowHashAlgorithm } from "../../core/chain/hash.ts"
import type { NetworkParams } from "../../core/chain/params.ts"
import { difficultyOfTarget, expectedHashesAtDifficulty, hashesPerUnitDifficulty } from "../../core/stratum/difficulty.ts"
import { cannotMineReason, identifyMiner, profileOf, type MinerProfile } from "../../core/stratum/profiles.ts"
import {
  decodeRequestLine,
  encodeError,
  encodeRefusal,
  encodeRefusalFor,
  encodeRequest,
  encodeResult,
  MAX_LINE_BYTES,
  StratumErrorCode,
  stratumError,
  type StratumError,
} from "../../core/stratum/protocol.ts"
import { encodeNotifyParams, subscribeResult } from "../../core/stratum/work.ts"
import type { Job, JobBook } from "./jobs.ts"
import { validateShare, type RejectReason } from "./shares.ts"
import { difficultyToWire, initialDifficultyFor, initialVardiff, vardiffOnShare, vardiffOnTick, wholeDifficulty, type VardiffConfig, type VardiffState } from "./vardiff.ts"

export interface SessionConfig {
  readonly network: NetworkParams
  /** `pool`: usernames are `address.worker` and shares are credited; `solo`: any name, rewards stay with the node. */
  readonly mode: "pool" | "solo"
  readonly vardiff: VardiffConfig
  /** Hashes difficulty 1 takes on average: 2^256 / powLimit (2^32 mainnet, 2 simnet). */
  readonly hashesPerUnitDifficulty: bigint
  readonly maxLineBytes: number
  /** Token bucket per connection: messages per second, and how many may come at once. */
  readonly messagesPerSecond: number
  readonly messageBurst: number
  /** A connection silent for this long is closed (zombies). */
  readonly idleTimeoutSeconds: number
}

export const defaultSessionConfig = (network: NetworkParams, mode: "pool" | "solo", vardiff: VardiffConfig): SessionConfig => ({
  network,
  mode,
  vardiff,
  hashesPerUnitDifficulty: hashesPerUnitDifficulty(network.powLimit),
  maxLineBytes: MAX_LINE_BYTES,
  messagesPerSecond: 20,
  messageBurst: 40,
  idleTimeoutSeconds: 600,
})

export interface AcceptedShare {
  /** Unique per piece of work, whatever job it came under: the hex of its proof-of-work hash. */
  readonly id: string
  readonly account: string
  readonly worker: string
  readonly difficulty: bigint
  /** Milliseconds, from the pool's clock. */
  readonly time: number
  readonly jobId: string
  readonly height: number
  /** The network difficulty of the share's job, in the same units as `difficulty` (PPS values shares by it). */
  readonly networkDifficulty: bigint
  readonly model: MinerProfile["model"]
}

export interface BlockCandidate {
  /** The accepted share that met the network target (also in the output's shares). */
  readonly share: AcceptedShare
  readonly header: Uint8Array
  readonly hash: Uint8Array
  readonly job: Job
  readonly account: string
  readonly worker: string
  readonly model: MinerProfile["model"]
}

export type SessionLog =
  | { readonly kind: "unknown-miner"; readonly userAgent: string }
  | { readonly kind: "cannot-mine"; readonly model: string }
  | { readonly kind: "pow-switched"; readonly model: string; readonly height: number; readonly message: string }
  | { readonly kind: "share-rejected"; readonly reason: RejectReason | "unauthorized" | "not-subscribed" }
  | { readonly kind: "upgraded"; readonly from: string; readonly to: string }
  | { readonly kind: "bad-message"; readonly message: string }

export interface SessionOutput {
  readonly lines: Array<string>
  readonly shares: Array<AcceptedShare>
  readonly blocks: Array<BlockCandidate>
  readonly logs: Array<SessionLog>
  /** Set when the connection should be closed, with why. */
  close: string | undefined
}

const emptyOutput = (): SessionOutput => ({ lines: [], shares: [], blocks: [], logs: [], close: undefined })

const WORKER = /^[A-Za-z0-9_-]{1,32}$/

// A job goes to every connection; its notify line differs only by miner profile and the clean
// flag, so it is encoded once per pair rather than once per connection.
const notifyLines = new WeakMap<Job, Map<string, string>>()
const notifyLine = (profile: MinerProfile, job: Job, clean: boolean): string => {
  let lines = notifyLines.get(job)
  if (lines === undefined) {
    lines = new Map()
    notifyLines.set(job, lines)
  }
  const key = `${profile.model}:${clean}`
  let line = lines.get(key)
  if (line === undefined) {
    line = encodeRequest(null, "mining.notify", encodeNotifyParams(profile, job.id, job.header, clean))
    lines.set(key, line)
  }
  return line
}

/**
 * One miner connection's stratum conversation, as a pure state machine: lines and jobs in,
 * lines to write, accepted shares, block candidates and log records out. Time comes in as an
 * argument, so the same code runs on TCP or in a simulation.
 */
export class StratumSession {
  readonly extraNonce1: Uint8Array
  readonly remote: string
  private readonly config: SessionConfig
  private readonly jobs: JobBook
  private readonly activePow: () => PowHashAlgorithm
  private profile: MinerProfile | undefined
  private account: string | undefined
  private worker: string | undefined
  private vardiff: VardiffState | undefined
  /** Difficulty to announce with the next job (vardiff changes apply from the next job). */
  private pendingDifficulty: bigint | undefined
  /** The difficulty the miner was last told: vardiff's, or lower where a job's network difficulty is. */
  private announcedDifficulty: bigint | undefined
  private readonly difficultyByJob = new Map<string, bigint>()
  private tokens: number
  private lastRefill: number
  private lastMessage: number
  private lastJobSent: number

  constructor(config: SessionConfig, jobs: JobBook, activePow: () => PowHashAlgorithm, extraNonce1: Uint8Array, remote: string, now: number) {
    this.config = config
    this.jobs = jobs
    this.activePow = activePow
    this.extraNonce1 = extraNonce1
    this.remote = remote
    this.tokens = config.messageBurst
    this.lastRefill = now
    this.lastMessage = now
    this.lastJobSent = now
  }

  get model(): MinerProfile["model"] | undefined {
    return this.profile?.model
  }

  get difficulty(): bigint | undefined {
    return this.vardiff?.difficulty
  }

  get ready(): boolean {
    return this.profile !== undefined && this.account !== undefined
  }

  get lastWorkAt(): number {
    return this.lastJobSent
  }

  /** Handles one line from the miner. */
  onLine(line: string, now: number): SessionOutput {
    const out = emptyOutput()
    this.lastMessage = now
    if (!this.takeToken(now)) {
      if (this.tokens < -2 * this.config.messageBurst) {
        out.close = "message flood"
        return out
      }
      // Answered under the request's own id, and `false` for a submit, as the reference pool does:
      // its CPU miner drops a connection on a reply whose id it never sent (null included).
      const request = decodeRequestLine(line, this.config.maxLineBytes)
      const tooMany = stratumError(StratumErrorCode.other, "too many messages: slow down")
      out.lines.push(Result.isSuccess(request) ? encodeRefusalFor(request.success.method, request.success.id, tooMany) : encodeError(null, tooMany))
      return out
    }
    const decoded = decodeRequestLine(line, this.config.maxLineBytes)
    if (Result.isFailure(decoded)) {
      out.logs.push({ kind: "bad-message", message: decoded.failure.message })
      out.lines.push(encodeError(null, decoded.failure))
      return out
    }
    const { id, method, params } = decoded.success
    const fail = (error: StratumError) => out.lines.push(encodeError(id, error))
    switch (method) {
      case "mining.subscribe":
        this.subscribe(id, params, now, out)
        break
      case "mining.authorize":
        this.authorize(id, params, now, out)
        break
      case "mining.extranonce.subscribe":
        // Extra nonce changes are not sent mid-connection; a miner asking is told so.
        out.lines.push(encodeResult(id, false))
        break
      case "mining.submit":
        this.submit(id, params, now, out)
        break
      default:
        fail(stratumError(StratumErrorCode.other, `unknown method ${JSON.stringify(method).slice(0, 64)}`))
    }
    return out
  }

  /**
   * New work: a clean job (new parent), a new template of the same parent, or a rolled timestamp. Work of a proof of work
   * the miner cannot compute (the chain switched, DCP-0011) ends the session: told why in an
   * error line, then closed. Left open, the device would hash the old proof of work into shares
   * that can only be refused, and reconnect into the refusal at subscribe anyway.
   */
  onJob(job: Job, now: number): SessionOutput {
    const out = emptyOutput()
    const cannot = this.profile === undefined ? undefined : cannotMineReason(this.profile, job.pow)
    if (cannot !== undefined) {
      const message = `the chain's proof of work is ${job.pow === "blake3" ? "BLAKE3" : "BLAKE-256"} from height ${job.height}: ${cannot}; closing this connection`
      out.lines.push(encodeError(null, stratumError(StratumErrorCode.other, message)))
      out.logs.push({ kind: "pow-switched", model: this.profile!.model, height: job.height, message })
      out.close = `proof of work switched to ${job.pow} at height ${job.height}`
      return out
    }
    if (this.ready) this.sendJob(job, job.clean, now, out)
    return out
  }

  /** A clock tick: vardiff for quiet miners, and closing zombies. Undefined when there is nothing to do. */
  onTick(now: number): SessionOutput | undefined {
    if (now - this.lastMessage >= this.config.idleTimeoutSeconds * 1000) {
      const out = emptyOutput()
      out.close = `idle for ${this.config.idleTimeoutSeconds}s`
      return out
    }
    if (this.vardiff !== undefined && this.ready) {
      const step = vardiffOnTick(this.vardiff, now, this.config.vardiff)
      this.vardiff = step.state
      if (step.retarget !== undefined) this.pendingDifficulty = step.retarget
    }
    // Nothing to say: no output object (a tick visits every connection every second).
    return undefined
  }

  private subscribe(id: string | number | null, params: ReadonlyArray<unknown>, now: number, out: SessionOutput): void {
    const userAgent = typeof params[0] === "string" ? params[0] : ""
    const profile = identifyMiner(userAgent, this.activePow())
    if (profile === undefined) {
      out.logs.push({ kind: "unknown-miner", userAgent: userAgent.slice(0, 64) })
      out.lines.push(encodeError(id, stratumError(StratumErrorCode.other, `miner ${JSON.stringify(userAgent.slice(0, 64))} is not supported; see the pool's connection page for supported miners`)))
      return
    }
    const cannot = cannotMineReason(profile, this.activePow())
    if (cannot !== undefined) {
      out.logs.push({ kind: "cannot-mine", model: profile.model })
      out.lines.push(encodeError(id, stratumError(StratumErrorCode.other, cannot)))
      return
    }
    this.profile = profile
    const start = initialDifficultyFor(profile.nominalHashrate, this.config.vardiff.targetSeconds, this.config.hashesPerUnitDifficulty, this.config.vardiff)
    this.vardiff = initialVardiff(start, now)
    const notifyId = typeof params[1] === "string" && params[1] !== "" ? params[1] : `mn${toHex(this.extraNonce1)}`
    out.lines.push(encodeResult(id, subscribeResult(profile, this.extraNonce1, notifyId)))
  }

  private authorize(id: string | number | null, params: ReadonlyArray<unknown>, now: number, out: SessionOutput): void {
    const username = typeof params[0] === "string" ? params[0] : ""
    if (this.config.mode === "solo") {
      this.account = "solo"
      this.worker = WORKER.test(username) ? username : "default"
    } else {
      const dot = username.lastIndexOf(".")
      const address = dot < 0 ? username : username.slice(0, dot)
      const worker = dot < 0 ? "default" : username.slice(dot + 1)
      const decoded = decodeAddress(address, this.config.network)
      if (Result.isFailure(decoded)) {
        out.lines.push(encodeRefusal(id, stratumError(StratumErrorCode.unauthorized, `username must be address.worker with a ${this.config.network.name} address: ${decoded.failure.message}`)))
        return
      }
      if (!WORKER.test(worker)) {
        out.lines.push(encodeRefusal(id, stratumError(StratumErrorCode.unauthorized, "worker name must be 1-32 letters, digits, - or _")))
        return
      }
      this.account = decoded.success.address
      this.worker = worker
    }
    out.lines.push(encodeResult(id, true))
    // Ready to mine: the difficulty, then the current job (clean, so the miner starts fresh).
    const job = this.jobs.current
    if (this.ready && job !== undefined) this.sendJob(job, true, now, out)
  }

  private sendJob(job: Job, clean: boolean, now: number, out: SessionOutput): void {
    const profile = this.profile!
    if (this.pendingDifficulty !== undefined) {
      this.vardiff = { ...this.vardiff!, difficulty: this.pendingDifficulty }
      this.pendingDifficulty = undefined
    }
    // Never above the network's difficulty: a miner reports only hashes that meet its share
    // target, so a harder share target would make it throw away blocks (on easy networks,
    // simnet and testnet, vardiff alone easily passes the network difficulty). Whole, like every
    // difficulty announced, and rounded down, so every block hash still meets the share target.
    const wanted = this.vardiff!.difficulty
    const network = wholeDifficulty(difficultyOfTarget(this.config.network.powLimit, job.networkTarget))
    const difficulty = network < wanted ? network : wanted
    if (difficulty !== this.announcedDifficulty) {
      out.lines.push(encodeRequest(null, "mining.set_difficulty", [difficultyToWire(difficulty)]))
      this.announcedDifficulty = difficulty
    }
    this.difficultyByJob.set(job.id, difficulty)
    // Remember difficulties for the jobs the book can still look up, and no more.
    if (this.difficultyByJob.size > 256) {
      for (const id of this.difficultyByJob.keys()) {
        if (this.difficultyByJob.size <= 128) break
        if (this.jobs.lookup(id) === undefined) this.difficultyByJob.delete(id)
      }
    }
    out.lines.push(notifyLine(profile, job, clean))
    this.lastJobSent = now
  }

  private submit(id: string | number | null, params: ReadonlyArray<unknown>, now: number, out: SessionOutput): void {
    if (this.profile === undefined || this.vardiff === undefined) {
      out.logs.push({ kind: "share-rejected", reason: "not-subscribed" })
      out.lines.push(encodeRefusal(id, stratumError(StratumErrorCode.notSubscribed, "not subscribed: send mining.subscribe first")))
      return
    }
    if (this.account === undefined) {
      out.logs.push({ kind: "share-rejected", reason: "unauthorized" })
      out.lines.push(encodeRefusal(id, stratumError(StratumErrorCode.unauthorized, "not authorized: send mining.authorize first")))
      return
    }
    const verdict = validateShare(
      {
        jobs: this.jobs,
        profile: this.profile,
        extraNonce1: this.extraNonce1,
        powLimit: this.config.network.powLimit,
        difficultyForJob: (jobId) => this.difficultyByJob.get(jobId),
      },
      params,
    )
    if (verdict.kind === "rejected") {
      // A refused share costs that share and nothing more: `false` with the error, as the
      // reference pool answers, never a reply that makes the miner drop the connection.
      out.logs.push({ kind: "share-rejected", reason: verdict.reason })
      out.lines.push(encodeRefusal(id, verdict.error))
      return
    }
    out.lines.push(encodeResult(id, true))
    const share: AcceptedShare = {
      id: verdict.workKey,
      account: this.account,
      worker: this.worker!,
      difficulty: verdict.difficulty,
      time: now,
      jobId: verdict.job.id,
      height: verdict.job.height,
      networkDifficulty: difficultyOfTarget(this.config.network.powLimit, verdict.job.networkTarget),
      model: this.profile.model,
    }
    out.shares.push(share)
    if (verdict.block) out.blocks.push({ share, header: verdict.header, hash: verdict.hash, job: verdict.job, account: this.account, worker: this.worker!, model: this.profile.model })
    const step = vardiffOnShare(this.vardiff, now, this.config.vardiff, verdict.difficulty)
    this.vardiff = step.state
    if (step.retarget !== undefined) {
      this.pendingDifficulty = step.retarget
      this.maybeUpgrade(step.retarget, out)
    }
  }

  /** A shared user agent (DR3/DR5): move to the faster model once the share rate shows it. */
  private maybeUpgrade(difficulty: bigint, out: SessionOutput): void {
    const profile = this.profile!
    if (profile.upgradesTo === undefined) return
    const impliedHashrate = expectedHashesAtDifficulty(difficulty, this.config.hashesPerUnitDifficulty) / this.config.vardiff.targetSeconds
    if (impliedHashrate >= profile.nominalHashrate * 1.3) {
      this.profile = profileOf(profile.upgradesTo)
      out.logs.push({ kind: "upgraded", from: profile.model, to: profile.upgradesTo })
    }
  }

  private takeToken(now: number): boolean {
    const elapsed = Math.max(0, now - this.lastRefill) / 1000
    this.lastRefill = now
    this.tokens = Math.min(this.config.messageBurst, this.tokens + elapsed * this.config.messagesPerSecond)
    this.tokens -= 1
    return this.tokens >= 0
  }
}
