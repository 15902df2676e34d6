import { Deferred, Effect, Result, Scope } from "effect"
import * as Socket from "effect/socket/Socket"
import { hashToDisplay } from "../core/chain/hash.ts"
import type { HeaderHasher } from "../core/chain/powhasher.ts"
import { HeaderOffset } from "../core/chain/header.ts"
import { compactToBig, hashMeetsTarget } from "../core/chain/targets.ts"
import { expectedHashesForTarget, minerShareTarget } from "../core/stratum/difficulty.ts"
import { userAgentOf, type MinerProfile } from "../core/stratum/profiles.ts"
import { decodeMinerLine, encodeRequest } from "../core/stratum/protocol.ts"
import { minerSolution, parseNotifyParams, readSetDifficulty, readSubmitReply, type MinerJob } from "../core/stratum/work.ts"
import { makeGrindHasher } from "./header-grinder.ts"
import type { Dial } from "./network.ts"
import type { SimRandom } from "./random.ts"

/**
 * Ways a device misbehaves, for fault scenarios. Each is off unless set; the pool must lose no
 * valid share and stay fair to the other miners whatever these do.
 */
export interface MinerQuirks {
  /** Keeps hashing to the previous difficulty for this many shares after `set_difficulty`. */
  readonly lateDifficultyShares?: number | undefined
  /** Submits an extraNonce2 one byte short (firmware that ignores the size the pool announced). */
  readonly shortExtraNonce2?: boolean | undefined
  /** Stops hashing for `seconds` now and then (mean `meanSecondsBetween`), connection kept. */
  readonly stalls?: { readonly meanSecondsBetween: number; readonly seconds: number } | undefined
  /** Drops its connection and redials at once now and then (mean `meanSecondsBetween`). */
  readonly reconnectStorm?: { readonly meanSecondsBetween: number } | undefined
  /** After this long connected, goes silent on the connection without closing it (a zombie), until the pool closes it. */
  readonly zombieAfterSeconds?: number | undefined
  /** Hashes only while this says so (a pool hopper watching the pool's rounds); checked every few seconds when idle. */
  readonly mineWhen?: (() => boolean) | undefined
}

export type MinerEvent =
  | { readonly _tag: "Connected"; readonly miner: string }
  | { readonly _tag: "Refused"; readonly miner: string; readonly reason: string }
  | { readonly _tag: "Disconnected"; readonly miner: string; readonly reason: string }
  | { readonly _tag: "Difficulty"; readonly miner: string; readonly difficulty: number }
  | { readonly _tag: "Job"; readonly miner: string; readonly jobId: string; readonly clean: boolean }
  | { readonly _tag: "Submitted"; readonly miner: string; readonly jobId: string; readonly hash: string; readonly block: boolean }
  | { readonly _tag: "Answered"; readonly miner: string; readonly jobId: string; readonly hash: string; readonly accepted: boolean; readonly error: string | undefined }
  | { readonly _tag: "Zombie"; readonly miner: string }

interface MinerOptions {
  /** A name for logs (unique per run): `d9-3`. */
  readonly name: string
  readonly profile: MinerProfile
  /** `address.worker` in pool mode. */
  readonly username: string
  /** The source the network sees (the pool limits connections per host). */
  readonly host: string
  readonly dial: Dial
  readonly random: SimRandom
  /** The network's proof-of-work limit: difficulty 1's target, as the firmware has it built in. */
  readonly powLimit: bigint
  /** Nominal hashes one real hash stands for (the simulation's difficulty scale; 1 on a real pool). */
  readonly hashScale: number
  /** Nominal hashes per second (default: the model's rating). */
  readonly hashrate?: number | undefined
  readonly quirks?: MinerQuirks | undefined
  /** Seconds between reconnect attempts (default 2 to 10, drawn). */
  readonly reconnectSeconds?: { readonly min: number; readonly max: number } | undefined
  readonly onEvent?: ((event: MinerEvent) => void) | undefined
}

/** What a miner saw, for scenario checks. */
export interface MinerStats {
  connects: number
  refusals: number
  submitted: number
  accepted: number
  rejected: number
  /** Rejections by the pool's error message (first 60 characters). */
  readonly rejectedBy: Map<string, number>
  /** Submitted shares whose hash also met the network target in the header. */
  blocks: number
  /** Submissions that never got an answer (connection lost first). */
  unanswered: number
}

/**
 * One mining device as a pool sees it: it dials, subscribes with its firmware's user agent,
 * authorizes, and then submits shares for the latest job at the latest difficulty, speaking the
 * profile's byte orders and extra-nonce layout. Shares really are hashed with the device's
 * proof of work; only the time between them is simulated: a Poisson process at the nominal
 * hashrate, in whatever clock the fiber runs on (virtual under TestClock). Runs until
 * interrupted, reconnecting after every loss; the same code mines a real pool over TCP.
 */
export const runMiner = (options: MinerOptions, stats: MinerStats = newMinerStats()): Effect.Effect<never, never, Scope.Scope> =>
  Effect.gen(function* () {
    const random = options.random
    const reconnect = options.reconnectSeconds ?? { min: 2, max: 10 }
    const emit = (event: MinerEvent) => options.onEvent?.(event)
    for (;;) {
      const outcome = yield* Effect.scoped(oneConnection(options, stats, emit)).pipe(Effect.catch((e: Socket.SocketError) => Effect.succeed({ reason: e.message, refused: false, storm: false })))
      emit({ _tag: "Disconnected", miner: options.name, reason: outcome.reason })
      const seconds = outcome.storm ? random.next() * 0.5 : reconnect.min + random.next() * (reconnect.max - reconnect.min)
      // A pool that refused the device (wrong proof of work) will refuse again: firmware backs off long.
      yield* Effect.sleep(Math.round((outcome.refused ? 60 : seconds) * 1000))
    }
  })

/** The counters a miner updates; make them first to read them while the miner runs. */
export const newMinerStats = (): MinerStats => ({
  connects: 0,
  refusals: 0,
  submitted: 0,
  accepted: 0,
  rejected: 0,
  rejectedBy: new Map(),
  blocks: 0,
  unanswered: 0,
})

interface ConnectionOutcome {
  readonly reason: string
  readonly refused: boolean
  readonly storm: boolean
}

const oneConnection = (options: MinerOptions, stats: MinerStats, emit: (e: MinerEvent) => void) =>
  Effect.gen(function* () {
    const { profile, random } = options
    const quirks = options.quirks ?? {}
    const socket = yield* options.dial(options.host)
    const reader = yield* socket.reader
    const writer = yield* socket.writer
    stats.connects++
    emit({ _tag: "Connected", miner: options.name })
    const ended = yield* Deferred.make<ConnectionOutcome>()
    const end = (outcome: ConnectionOutcome) => Deferred.succeed(ended, outcome).pipe(Effect.asVoid)

    let nextId = 1
    let extraNonce1 = ""
    let authorized = false
    let job: MinerJob | undefined
    /** The whole difficulty it works to (0n: none yet), read as Decred miners read it. */
    let difficulty = 0n
    let lateShares = 0
    let lateDifficulty = 0n
    let zombie = false
    /** Replaced whenever work changes: a waiting hasher restarts on the new job (hashing is memoryless). */
    let workChanged = yield* Deferred.make<void>()
    const pending = new Map<number, { readonly jobId: string; readonly hash: string }>()
    /** An error the pool sent under no request's id: why it is about to close the connection. */
    let poolNotice: string | undefined

    const send = (method: string, params: ReadonlyArray<unknown>) => {
      const id = nextId++
      return writer.write(`${encodeRequest(id, method, params)}\n`).pipe(Effect.as(id))
    }
    const signalWork = Effect.gen(function* () {
      const previous = workChanged
      workChanged = yield* Deferred.make<void>()
      yield* Deferred.succeed(previous, undefined)
    })

    const onLine = (line: string) =>
      Effect.gen(function* () {
        if (zombie) return
        const decoded = decodeMinerLine(line)
        if (Result.isFailure(decoded)) return yield* end({ reason: `unreadable line from pool: ${decoded.failure.message}`, refused: false, storm: false })
        const m = decoded.success
        if (m.kind === "response") {
          const { id, result, error } = m.message
          const errorText = error === null || error === undefined ? undefined : JSON.stringify(error)
          if (id === null && errorText !== undefined) {
            poolNotice = errorText
            return
          }
          if (id === 1) {
            if (errorText !== undefined || !Array.isArray(result)) {
              stats.refusals++
              emit({ _tag: "Refused", miner: options.name, reason: errorText ?? "no subscription" })
              return yield* end({ reason: `subscribe refused: ${errorText}`, refused: true, storm: false })
            }
            extraNonce1 = typeof result[1] === "string" ? result[1] : ""
            return
          }
          if (id === 2) {
            if (result !== true) {
              stats.refusals++
              emit({ _tag: "Refused", miner: options.name, reason: errorText ?? "authorize refused" })
              return yield* end({ reason: `authorize refused: ${errorText}`, refused: true, storm: false })
            }
            authorized = true
            return
          }
          const submitted = typeof id === "number" ? pending.get(id) : undefined
          if (submitted === undefined) return
          pending.delete(id as number)
          // As the reference CPU miner: a refused share is `false` with an error, and mining
          // goes on; a result that is not a boolean is a broken pool, and it hangs up.
          const read = readSubmitReply(m.message)
          if (Result.isFailure(read)) return yield* end({ reason: `protocol error: ${read.failure.message}`, refused: false, storm: false })
          const accepted = read.success.accepted
          if (accepted) stats.accepted++
          else {
            stats.rejected++
            const key = (errorText ?? "false").slice(0, 60)
            stats.rejectedBy.set(key, (stats.rejectedBy.get(key) ?? 0) + 1)
          }
          emit({ _tag: "Answered", miner: options.name, jobId: submitted.jobId, hash: submitted.hash, accepted, error: errorText })
          return
        }
        const { method, params } = m.message
        if (method === "mining.set_difficulty") {
          // Read as the firmware reads it: a whole number; below 1 no Decred miner can go on.
          const read = readSetDifficulty(params)
          if (Result.isFailure(read)) return yield* end({ reason: `protocol error: ${read.failure.message}`, refused: false, storm: false })
          if (quirks.lateDifficultyShares !== undefined && difficulty > 0n) {
            lateDifficulty = difficulty
            lateShares = quirks.lateDifficultyShares
          }
          difficulty = read.success
          emit({ _tag: "Difficulty", miner: options.name, difficulty: Number(difficulty) })
          return yield* signalWork
        }
        if (method === "mining.notify") {
          const parsed = parseNotifyParams(profile, params)
          if (Result.isFailure(parsed)) return yield* end({ reason: `unusable job: ${parsed.failure.message}`, refused: false, storm: false })
          job = parsed.success
          emit({ _tag: "Job", miner: options.name, jobId: job.jobId, clean: job.clean })
          return yield* signalWork
        }
      })

    const readLoop = Effect.gen(function* () {
      let partial = ""
      const decoder = new TextDecoder()
      for (;;) {
        const chunks = yield* reader.pull
        for (const chunk of chunks) {
          partial += typeof chunk === "string" ? chunk : decoder.decode(chunk, { stream: true })
          for (let nl = partial.indexOf("\n"); nl >= 0; nl = partial.indexOf("\n")) {
            const line = partial.slice(0, nl).trim()
            partial = partial.slice(nl + 1)
            if (line !== "") yield* onLine(line)
          }
        }
      }
    }).pipe(
      Effect.catch((e: Socket.SocketError) =>
        // A pool that said why before it hung up (a switch of proof of work, a limit) will say it
        // again: the firmware backs off as after a refusal.
        poolNotice !== undefined
          ? end({ reason: `pool closed the connection: ${poolNotice}`, refused: true, storm: false })
          : end({ reason: e.reason._tag === "SocketCloseError" ? "pool closed the connection" : e.message, refused: false, storm: false }),
      ),
    )

    const submitOne = (current: MinerJob, target: bigint) =>
      Effect.gen(function* () {
        const en2Size = profile.extraNonce.en2Size - (quirks.shortExtraNonce2 === true ? 1 : 0)
        const extraNonce2 = random.bytes(en2Size)
        const time = new DataView(current.header.buffer, current.header.byteOffset).getUint32(HeaderOffset.timestamp, true)
        const networkTarget = compactToBig(new DataView(current.header.buffer, current.header.byteOffset).getUint32(HeaderOffset.bits, true))
        // Grind real nonces from a random start: a share costs a few hashes at the simulation's
        // scale. The header is laid out once and only its nonce changes, over a midstate of the
        // job's first 128 bytes, as an ASIC does.
        const start = random.next32()
        const layout = minerSolution(profile, current, options.username, extraNonce1, extraNonce2, time, start)
        const header = layout.header
        const view = new DataView(header.buffer, header.byteOffset)
        const hasher = hasherFor(current, header)
        for (let nonce = start, tries = 0; ; nonce = (nonce + 1) >>> 0, tries++) {
          view.setUint32(HeaderOffset.nonce, nonce, true)
          const hash = hasher.hash(header)
          if (!hashMeetsTarget(hash, target)) {
            if (tries > 50_000_000) return yield* Effect.die(new Error(`${options.name}: no share in 5e7 hashes; the difficulty scale is wrong`))
            continue
          }
          const solution = nonce === start ? layout : minerSolution(profile, current, options.username, extraNonce1, extraNonce2, time, nonce)
          const block = hashMeetsTarget(hash, networkTarget)
          // Counted and awaited before the write: on a fast link the pool's reply can be read
          // before the write returns, and a reply to an id not yet pending would be lost.
          const id = nextId++
          const display = hashToDisplay(hash)
          pending.set(id, { jobId: current.jobId, hash: display })
          stats.submitted++
          if (block) stats.blocks++
          emit({ _tag: "Submitted", miner: options.name, jobId: current.jobId, hash: display, block })
          yield* writer.write(`${encodeRequest(id, "mining.submit", solution.params)}\n`)
          return
        }
      })

    /** The midstate of a job's first 128 header bytes, kept while the job is current. */
    let midstate: { readonly job: MinerJob; readonly hasher: HeaderHasher } | undefined
    const hasherFor = (current: MinerJob, header: Uint8Array): HeaderHasher => {
      if (midstate?.job !== current) midstate = { job: current, hasher: makeGrindHasher(profile.pow, header) }
      return midstate.hasher
    }

    const hashrate = options.hashrate ?? profile.nominalHashrate
    const mineLoop = Effect.gen(function* () {
      for (;;) {
        const current = job
        if (current === undefined || !authorized || difficulty === 0n || extraNonce1 === "") {
          yield* Deferred.await(workChanged)
          continue
        }
        if (quirks.mineWhen !== undefined && !quirks.mineWhen()) {
          yield* Effect.sleep(5_000)
          continue
        }
        const target = minerShareTarget(options.powLimit, lateShares > 0 ? lateDifficulty : difficulty)
        const meanSeconds = (expectedHashesForTarget(target) * options.hashScale) / hashrate
        const waitMillis = Math.max(1, Math.round(random.exponential(meanSeconds) * 1000))
        const changed = workChanged
        const found = yield* Effect.raceFirst(Effect.as(Effect.sleep(waitMillis), true), Effect.as(Deferred.await(changed), false))
        if (!found || zombie) continue
        if (lateShares > 0) lateShares--
        yield* submitOne(current, target)
      }
    })

    const scope = yield* Effect.scope
    yield* Effect.forkIn(readLoop, scope)
    yield* send("mining.subscribe", [userAgentOf(profile)])
    yield* send("mining.authorize", [options.username, "x"])
    // While a stall runs, the hasher is simply not forked: run it under the stall schedule.
    if (quirks.stalls === undefined) yield* Effect.forkIn(mineLoop, scope)
    else {
      const stalls = quirks.stalls
      yield* Effect.forkIn(
        Effect.forever(
          Effect.gen(function* () {
            yield* Effect.raceFirst(mineLoop, Effect.sleep(Math.round(random.exponential(stalls.meanSecondsBetween) * 1000)))
            yield* Effect.sleep(Math.round(stalls.seconds * 1000))
          }),
        ),
        scope,
      )
    }
    if (quirks.reconnectStorm !== undefined) {
      const mean = quirks.reconnectStorm.meanSecondsBetween
      yield* Effect.forkIn(Effect.andThen(Effect.sleep(Math.round(random.exponential(mean) * 1000)), end({ reason: "reconnect storm", refused: false, storm: true })), scope)
    }
    if (quirks.zombieAfterSeconds !== undefined) {
      yield* Effect.forkIn(
        Effect.andThen(
          Effect.sleep(Math.round(quirks.zombieAfterSeconds * 1000)),
          Effect.sync(() => {
            zombie = true
            emit({ _tag: "Zombie", miner: options.name })
          }),
        ),
        scope,
      )
    }
    const outcome = yield* Deferred.await(ended)
    stats.unanswered += pending.size
    return outcome
  })
