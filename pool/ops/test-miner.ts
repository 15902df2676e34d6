/**
 * A stratum test miner for operators: one connection that speaks as a BLAKE3 miner (dcrpool's
 * CPU miner or decred-gominer), mines real shares with the CPU at whatever difficulty the pool
 * announces, and reports each answer. It checks a new pool end to end (listener, subscribe and
 * authorize, jobs from dcrd, share validation, the store) without real mining hardware.
 *
 * It is production code (installed as bin/dcrforge-miner), so it uses the same stratum codec the
 * pool and the emulators share (core/stratum/work.ts) and nothing from emulators/ or testkit/.
 */
import * as NodeSocket from "@effect/platform-node/NodeSocket"
import { Clock, Data, Deferred, Effect, Queue, Result } from "effect"
import * as Socket from "effect/socket/Socket"
import { HeaderOffset } from "../../core/chain/header.ts"
import { powHashWith } from "../../core/chain/hash.ts"
import type { NetworkParams } from "../../core/chain/params.ts"
import { compactToBig, hashMeetsTarget } from "../../core/chain/targets.ts"
import { minerShareTarget } from "../../core/stratum/difficulty.ts"
import { userAgentOf, type MinerProfile } from "../../core/stratum/profiles.ts"
import { decodeMinerLine, encodeRequest, StratumErrorCode, type StratumResponse } from "../../core/stratum/protocol.ts"
import { minerSolution, parseNotifyParams, readSetDifficulty, readSubmitReply, type MinerJob } from "../../core/stratum/work.ts"

class TestMinerError extends Data.TaggedError("TestMinerError")<{ readonly message: string }> {}

export interface TestMinerOptions {
  readonly host: string
  readonly port: number
  /** What `mining.authorize` carries: `<payout address>.<worker>` for a public pool, anything for a solo one. */
  readonly user: string
  readonly password: string
  readonly profile: MinerProfile
  /** Its proof-of-work limit is difficulty 1, as the pool counts it. */
  readonly network: NetworkParams
  /** Stop after this many answered shares; 0 mines until interrupted. */
  readonly shares: number
}

/** One answered share, as the miner prints it. */
export interface ShareAnswer {
  readonly index: number
  readonly jobId: string
  readonly height: number
  readonly difficulty: bigint
  /** Hashes this share took. */
  readonly hashes: number
  readonly accepted: boolean
  /** The pool's refusal: its stratum code and message. */
  readonly refusal: { readonly code: number; readonly message: string } | undefined
  /** The hash also met the network's target: the pool should have submitted a block. */
  readonly block: boolean
}

interface TestMinerSummary {
  readonly accepted: number
  /** Refused because a new block came first (stratum code 21): normal right after any block. */
  readonly stale: number
  /** Refused for any other reason: something to look into. */
  readonly rejected: number
  readonly hashes: number
  readonly seconds: number
}

/** Nonces tried between looks at the socket, so a new job or difficulty is picked up within ~50 ms. */
const HASHES_PER_SLICE = 4096
/**
 * After a share that was also a block, how long to wait for the job on top of it. Every hash is a
 * block at simnet's difficulty: mining on at once would only send shares for the block just
 * found, and the pool refuses those as stale.
 */
const NEW_BLOCK_WAIT_MILLIS = 2000
/** How long without a job before it says the pool has no work. */
const NO_WORK_NOTICE_MILLIS = 10_000

const refusalOf = (error: StratumResponse["error"]): { readonly code: number; readonly message: string } | undefined =>
  error === null || error === undefined ? undefined : { code: Number(error[0]), message: String(error[1]) }

/**
 * Connects, subscribes and authorizes as `profile`, then mines until `shares` answers came back
 * (or forever), calling `report` with each event line and `onAnswer` with each answer. Fails when
 * the pool cannot be reached, refuses the subscribe or the authorize, or closes the connection.
 */
export const runTestMiner = (
  options: TestMinerOptions,
  report: (line: string) => Effect.Effect<void>,
  onAnswer: (answer: ShareAnswer) => Effect.Effect<void> = () => Effect.void,
): Effect.Effect<TestMinerSummary, TestMinerError> =>
  Effect.scoped(
    Effect.gen(function* () {
      const { profile, network } = options
      const where = `${options.host}:${options.port}`
      const socket = yield* NodeSocket.makeNet({ host: options.host, port: options.port, openTimeout: "10 seconds", noDelay: true })
      const pull = yield* Socket.readerString(socket).pipe(
        Effect.mapError(
          (e) =>
            new TestMinerError({ message: `cannot connect to the pool at ${where}: ${String(e.reason.cause ?? e.reason._tag)}; check --pool and that the pool's minerlisten is reachable from here` }),
        ),
      )
      const writer = yield* socket.writer
      const send = (id: number, method: string, params: ReadonlyArray<unknown>) =>
        writer.write(`${encodeRequest(id, method, params)}\n`).pipe(Effect.mapError(() => new TestMinerError({ message: `the pool at ${where} closed the connection` })))

      // What the pool last told this connection; the reading fiber keeps it current.
      const state = { extraNonce1: "", job: undefined as MinerJob | undefined, jobs: 0, difficulty: 0n, lastNotice: "" }
      const replies = yield* Queue.unbounded<StratumResponse>()
      const closed = yield* Deferred.make<string>()

      const onLine = (line: string) =>
        Effect.gen(function* () {
          if (line.trim() === "") return
          const decoded = decodeMinerLine(line)
          if (Result.isFailure(decoded)) return yield* report(`pool sent a line no miner understands (${decoded.failure.message}): ${line.slice(0, 200)}`)
          const m = decoded.success
          if (m.kind === "response") {
            // A reply to nothing (id null) is how the pool says why it is about to hang up.
            if (m.message.id === null) {
              const refusal = refusalOf(m.message.error)
              state.lastNotice = refusal?.message ?? JSON.stringify(m.message.result)
              return yield* report(`pool says: ${state.lastNotice}`)
            }
            return yield* Queue.offer(replies, m.message)
          }
          if (m.message.method === "mining.set_difficulty") {
            const difficulty = readSetDifficulty(m.message.params)
            if (Result.isFailure(difficulty)) return yield* report(`pool sent a difficulty no Decred miner can use: ${difficulty.failure.message}`)
            if (difficulty.success !== state.difficulty) yield* report(`difficulty ${difficulty.success}`)
            state.difficulty = difficulty.success
            return
          }
          if (m.message.method === "mining.notify") {
            const job = parseNotifyParams(profile, m.message.params)
            if (Result.isFailure(job)) return yield* report(`pool sent a job ${profile.displayName} cannot read: ${job.failure.message}`)
            state.job = job.success
            state.jobs++
            const height = new DataView(job.success.header.buffer).getUint32(HeaderOffset.height, true)
            if (job.success.clean || state.jobs === 1) yield* report(`job ${job.success.jobId} at height ${height}${job.success.clean ? " (new block)" : ""}`)
          }
        })

      const splitLines = { partial: "" }
      yield* Effect.forkScoped(
        Effect.gen(function* () {
          for (;;) {
            const chunks = yield* pull
            for (const chunk of chunks) {
              const lines = (splitLines.partial + chunk).split("\n")
              splitLines.partial = lines.pop() ?? ""
              for (const line of lines) yield* onLine(line)
            }
          }
        }).pipe(Effect.ensuring(Deferred.succeed(closed, state.lastNotice))),
      )

      const hungUp = Effect.flatMap(Deferred.await(closed), () =>
        Effect.fail(new TestMinerError({ message: `the pool at ${where} closed the connection${state.lastNotice === "" ? "" : `: ${state.lastNotice}`}` })),
      )
      /** The reply to request `id`; replies to nothing this miner asked are skipped. */
      const replyTo = (id: number): Effect.Effect<StratumResponse, TestMinerError> =>
        Effect.raceFirst(
          Effect.gen(function* () {
            for (;;) {
              const reply = yield* Queue.take(replies)
              if (reply.id === id) return reply
            }
          }),
          hungUp,
        )

      yield* report(`connected to ${where}`)
      yield* send(1, "mining.subscribe", [userAgentOf(profile)])
      const subscribed = yield* replyTo(1)
      if (!Array.isArray(subscribed.result) || typeof subscribed.result[1] !== "string") {
        return yield* new TestMinerError({ message: `the pool refused the subscribe as ${userAgentOf(profile)}: ${refusalOf(subscribed.error)?.message ?? JSON.stringify(subscribed.result)}` })
      }
      state.extraNonce1 = subscribed.result[1]
      yield* report(`subscribed as ${userAgentOf(profile)} (extraNonce1 ${state.extraNonce1})`)
      yield* send(2, "mining.authorize", [options.user, options.password])
      const authorized = yield* replyTo(2)
      if (authorized.result !== true) {
        return yield* new TestMinerError({ message: `the pool refused ${JSON.stringify(options.user)}: ${refusalOf(authorized.error)?.message ?? "no reason given"}` })
      }
      yield* report(`authorized as ${options.user}`)

      const started = yield* Clock.currentTimeMillis
      let [accepted, stale, rejected, hashes, nextId] = [0, 0, 0, 0, 10]
      // This connection's own extraNonce2 counter: a new value for each job and each nonce wrap.
      let extraNonce2 = 0
      let [miningJob, nonce, hashesThisShare] = [undefined as MinerJob | undefined, 0, 0]
      let waitedForWork = 0
      while (options.shares === 0 || accepted + stale + rejected < options.shares) {
        const job = state.job
        const difficulty = state.difficulty
        if (job === undefined || difficulty === 0n) {
          yield* Effect.raceFirst(Effect.sleep("50 millis"), hungUp)
          waitedForWork += 50
          // A pool without work from dcrd accepts miners and sends them nothing: say where to look.
          if (waitedForWork === NO_WORK_NOTICE_MILLIS)
            yield* report(`no job from the pool after ${NO_WORK_NOTICE_MILLIS / 1000} s: it has no work from dcrd yet; its log says why (dcrd not synced, or no --miningaddr)`)
          continue
        }
        if (job !== miningJob) [miningJob, nonce, extraNonce2] = [job, 0, extraNonce2 + 1]
        const target = minerShareTarget(network.powLimit, difficulty)
        const time = new DataView(job.header.buffer).getUint32(HeaderOffset.timestamp, true)
        const en2 = new Uint8Array(profile.extraNonce.en2Size)
        new DataView(en2.buffer).setUint32(0, extraNonce2 >>> 0)
        let found: ReturnType<typeof minerSolution> | undefined
        for (let i = 0; i < HASHES_PER_SLICE && found === undefined; i++) {
          const solution = minerSolution(profile, job, options.user, state.extraNonce1, en2, time, nonce)
          nonce = (nonce + 1) >>> 0
          if (nonce === 0) extraNonce2++
          hashes++
          hashesThisShare++
          if (hashMeetsTarget(powHashWith(profile.pow, solution.header), target)) found = solution
        }
        if (found === undefined) {
          // Let the reading fiber take a new job or difficulty before the next slice.
          yield* Effect.yieldNow
          continue
        }
        const id = nextId++
        yield* send(id, "mining.submit", found.params)
        const reply = readSubmitReply(yield* replyTo(id))
        if (Result.isFailure(reply)) return yield* new TestMinerError({ message: `the pool answered a share in a way no Decred miner accepts: ${reply.failure.message}` })
        const block = hashMeetsTarget(powHashWith(profile.pow, found.header), compactToBig(new DataView(found.header.buffer).getUint32(HeaderOffset.bits, true)))
        const answer: ShareAnswer = {
          index: accepted + stale + rejected + 1,
          jobId: job.jobId,
          height: new DataView(job.header.buffer).getUint32(HeaderOffset.height, true),
          difficulty,
          hashes: hashesThisShare,
          accepted: reply.success.accepted,
          refusal: reply.success.accepted ? undefined : (refusalOf(reply.success.error) ?? { code: 0, message: "no reason given" }),
          block,
        }
        hashesThisShare = 0
        const isStale = answer.refusal?.code === StratumErrorCode.staleJob
        if (answer.accepted) accepted++
        else if (isStale) stale++
        else rejected++
        const context = `job ${answer.jobId}, height ${answer.height}, difficulty ${answer.difficulty}, ${answer.hashes} hash${answer.hashes === 1 ? "" : "es"}${block ? "; it meets the network target: a block candidate" : ""}`
        const verdict = answer.accepted ? "accepted" : isStale ? "stale (a new block came first)" : "REJECTED"
        yield* report(`share ${answer.index} ${verdict}${answer.refusal === undefined ? "" : `: ${answer.refusal.code} ${answer.refusal.message}`} (${context})`)
        yield* onAnswer(answer)
        if (block && answer.accepted) {
          for (let waited = 0; state.job === job && waited < NEW_BLOCK_WAIT_MILLIS; waited += 50) yield* Effect.raceFirst(Effect.sleep("50 millis"), hungUp)
        }
      }
      const seconds = ((yield* Clock.currentTimeMillis) - started) / 1000
      return { accepted, stale, rejected, hashes, seconds }
    }),
  )
