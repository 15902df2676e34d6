import { Clock, Effect, Schedule, Stream } from "effect"
import { difficultyOfTarget } from "../core/stratum/difficulty.ts"
import { chainActivations } from "../core/chain/agendas.ts"
import { powAlgorithmAt } from "../core/chain/difficulty.ts"
import { detectPadding, encodeGetworkData } from "../core/chain/getwork.ts"
import { blockHashDisplay, HEADER_BYTES, HeaderOffset } from "../core/chain/header.ts"
import type { PowHashAlgorithm } from "../core/chain/hash.ts"
import { ChainRpc, type ChainEvent, type WorkTemplate } from "../core/services/chain.ts"
import { Accounting, type AcceptedWork } from "./accounting/port.ts"
import { JobBook } from "./stratum/jobs.ts"
import { CrashPoints } from "./ops/crash-points.ts"
import { currentPoolMetrics } from "./ops/metrics.ts"
import { currentTaskSupervisor } from "./ops/supervisor.ts"
import type { BlockCandidate, SessionConfig } from "./stratum/session.ts"
import { makeStratumServer, type ServerLimits } from "./stratum/server.ts"

interface MiningOptions {
  readonly session: SessionConfig
  readonly limits: ServerLimits
  /**
   * With no new work for this long, miners get the same work with a fresh timestamp, so a
   * long round does not leave headers dated far in the past (dcrd allows ±2 h but judges age).
   */
  readonly rollTimestampSeconds: number
}

const heightOf = (header: Uint8Array): number => new DataView(header.buffer, header.byteOffset).getUint32(HeaderOffset.height, true)

/** Retries a node call that failed for lack of a node (not for a refusal): 0.25 s doubling to 10 s. */
const nodeRetry = Schedule.min([Schedule.exponential("250 millis"), Schedule.spaced("10 seconds")])

/**
 * The mining path, assembled: dcrd's work becomes jobs for every miner, shares go to accounting,
 * blocks go back to dcrd (and, once it accepts them, to accounting), and dcrd's block
 * notifications move the tip accounting settles from.
 * Runs until its scope closes. Same code on TCP and on the simulated network.
 */
export const runMining = (options: MiningOptions) =>
  Effect.gen(function* () {
    const chain = yield* ChainRpc
    const accounting = yield* Accounting
    const metrics = yield* currentPoolMetrics
    const clock = yield* Clock.Clock
    const supervisor = yield* currentTaskSupervisor
    const faults = yield* Effect.serviceOption(CrashPoints)
    const faultAt = (step: "chain:event" | "jobs:roll") => (faults._tag === "Some" ? faults.value.at(step) : Effect.void)
    const activations = chainActivations(options.session.network.agendas)
    /**
     * The proof of work dcrd mines a height with, as its work's padding says (dcrd pads getwork
     * data for the hash it checks). It is the chain's own agenda state: on a network whose
     * blake3pow needs a vote (regnet, a testnet), only the chain knows whether it passed.
     */
    let chainSays: { readonly height: number; readonly pow: PowHashAlgorithm } | undefined
    const powAt = (height: number) => (chainSays?.height === height ? chainSays.pow : powAlgorithmAt(activations, height))
    const jobs = new JobBook(powAt)
    let tipHeight = 0

    const submitBlock = (candidate: BlockCandidate) =>
      Effect.gen(function* () {
        const hash = blockHashDisplay(candidate.header)
        const data = encodeGetworkData(candidate.header, candidate.job.pow)
        const start = clock.monotonicTimeNanosUnsafe()
        const outcome = yield* chain.submitWork(data).pipe(
          // A block is worth a retry while its parent is still the tip; a refusal is final.
          Effect.retry({ schedule: nodeRetry, times: 5, while: (e) => e._tag === "ChainUnavailable" }),
          Effect.result,
        )
        metrics.blockSubmitSeconds.observeSince(clock, start)
        const answered = outcome._tag === "Success" && outcome.success
        // No yes from dcrd does not mean dcrd lacks the block: an answer lost on a dropped
        // connection (retried, then refused as a duplicate), or a reply slower than the timeout,
        // leaves a block dcrd took, and a pool that believed the answer would never credit it
        // (CI once ended a run with a main-chain block the pool had not stored). What the main
        // chain holds at the height decides.
        const onMainChain =
          answered ||
          (yield* chain.getBlockHash(candidate.job.height).pipe(
            Effect.map((h) => h === hash),
            Effect.orElseSucceed(() => false),
          ))
        metrics.blocks[onMainChain ? "accepted" : outcome._tag === "Failure" ? (outcome.failure._tag === "ChainUnavailable" ? "unsubmitted" : "rejected") : "rejected"].inc()
        if (!answered && onMainChain) {
          yield* Effect.logWarning(
            `dcrd did not confirm block ${hash} at height ${candidate.job.height} (${outcome._tag === "Failure" ? outcome.failure.message : "it answered false"}), but its main chain holds it: counting it as accepted`,
          )
        } else if (outcome._tag === "Failure") {
          return yield* Effect.logError(`block ${hash} at height ${candidate.job.height} not submitted: ${outcome.failure.message}`)
        } else if (!outcome.success) {
          // A block whose parent another block replaced meanwhile lost a race, which on
          // one-second blocks is routine; only a refusal of work on the current parent says
          // something is wrong.
          const best = yield* chain.getBestBlock.pipe(Effect.option)
          const current = jobs.current
          const replaced = (best._tag === "Some" && best.value.height >= candidate.job.height) || (current !== undefined && current.parent !== candidate.job.parent)
          if (replaced) {
            return yield* Effect.logInfo(`dcrd refused block ${hash} at height ${candidate.job.height}: another block took its parent's place first (stale)`)
          }
          return yield* Effect.logWarning(`dcrd rejected block ${hash} at height ${candidate.job.height} on the current parent (invalid work?)`)
        }
        const foundAt = yield* Clock.currentTimeMillis
        const work: AcceptedWork = {
          hash,
          height: candidate.job.height,
          account: candidate.account,
          worker: candidate.worker,
          model: candidate.model,
          foundAt,
          // The same units as share difficulties: the network's proof-of-work limit over the target.
          networkDifficulty: difficultyOfTarget(options.session.network.powLimit, candidate.job.networkTarget),
          findingShare: candidate.share,
        }
        yield* Effect.logInfo(`block ${hash} at height ${work.height} accepted by dcrd; found by ${work.account}.${work.worker} (${work.model})`)
        yield* accounting.blockAccepted(work)
      })

    const server = yield* makeStratumServer({
      session: options.session,
      limits: options.limits,
      jobs,
      activePow: () => powAt(jobs.current?.height ?? tipHeight + 1),
      onShares: accounting.recordShares,
      onBlock: submitBlock,
    })

    const applyWork = (work: WorkTemplate) =>
      Effect.gen(function* () {
        const height = heightOf(work.data)
        const padded = detectPadding(work.data.subarray(HEADER_BYTES))
        if (padded !== undefined && padded !== powAlgorithmAt(activations, height) && chainSays?.pow !== padded) {
          yield* Effect.logWarning(`dcrd mines height ${height} with ${padded} although ${options.session.network.name}'s agenda table says otherwise (an agenda voted on this chain): following dcrd`)
        }
        chainSays = padded === undefined ? undefined : { height, pow: padded }
        const { job, broadcast } = jobs.addWork(work.data.subarray(0, HEADER_BYTES), work.reason)
        if (broadcast) yield* server.broadcast(job)
        yield* Effect.logDebug(`work for height ${job.height} (${work.reason}): job ${job.id}`)
      })

    const fetchWork = chain.getWork.pipe(
      Effect.tapError((e) => (e._tag === "ChainUnavailable" ? Effect.logWarning(`waiting for work: ${e.message}`) : Effect.void)),
      Effect.retry({ schedule: nodeRetry, while: (e) => e._tag === "ChainUnavailable" }),
      Effect.flatMap((w) => applyWork({ ...w, reason: "initial" })),
      // dcrd refuses work while the tip lacks votes, and sends it with its next `work`
      // notification: nothing is wrong, and nothing to retry.
      Effect.catch((e) => Effect.logWarning(`no work yet (${e.message}); mining starts with dcrd's next work notification`)),
    )

    const onEvent = (event: ChainEvent) =>
      Effect.gen(function* () {
        yield* faultAt("chain:event")
        switch (event._tag) {
          case "Work":
            return yield* applyWork(event.work)
          case "Reconnected":
            yield* Effect.logInfo("dcrd connection restored; fetching current work")
            return yield* fetchWork
          case "BlockConnected": {
            tipHeight = Math.max(tipHeight, heightOf(event.header))
            return yield* accounting.tipChanged(tipHeight)
          }
          case "BlockDisconnected": {
            tipHeight = heightOf(event.header) - 1
            return yield* accounting.tipChanged(tipHeight)
          }
        }
      })

    const rollTimestamps = Effect.gen(function* () {
      yield* faultAt("jobs:roll")
      const job = jobs.current
      if (job === undefined) return
      const now = Math.floor((yield* Clock.currentTimeMillis) / 1000)
      if (now - job.timestamp < options.rollTimestampSeconds) return
      const rolled = jobs.rollTimestamp(now)
      if (rolled !== undefined) yield* server.broadcast(rolled)
    })

    /**
     * After a failure the event that failed is gone, and it may have been dcrd's new work or a
     * new tip: a restart fetches the current work and tells accounting the current tip before
     * it takes the next event, so miners never stay on a stale parent.
     */
    const resync = Effect.gen(function* () {
      yield* Effect.logInfo("chain events restarted: fetching current work and the best block")
      yield* fetchWork
      const best = yield* chain.getBestBlock.pipe(Effect.option)
      if (best._tag === "Some") {
        tipHeight = Math.max(tipHeight, best.value.height)
        yield* accounting.tipChanged(tipHeight)
      }
    })
    let eventLoopRuns = 0
    // The chain client queues notifications from the moment it connects, so none is lost
    // between this subscription and the first getwork; a restart resumes with the event after
    // the one that failed.
    yield* supervisor.supervise("chain-events", Effect.suspend(() => (eventLoopRuns++ === 0 ? Effect.void : resync)).pipe(Effect.andThen(Stream.runForEach(chain.events, onEvent))))
    yield* fetchWork
    yield* supervisor.supervise("job-roller", Effect.forever(Effect.andThen(Effect.sleep(`${options.rollTimestampSeconds} seconds`), rollTimestamps)))
    // The listener: a failure (the port taken, the socket closed under it) restarts it.
    yield* supervisor.supervise("stratum-listener", server.serve)
    return { server, jobs }
  })
