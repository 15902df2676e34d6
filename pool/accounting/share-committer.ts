import { Cause, Clock, Deferred, Effect, Queue, Schedule } from "effect"
import { CrashPoints } from "../ops/crash-points.ts"
import { currentPoolMetrics } from "../ops/metrics.ts"
import { currentTaskSupervisor } from "../ops/supervisor.ts"
import type { AcceptedShare } from "../stratum/session.ts"
import { PoolStore, type ShareRow } from "../store/store.ts"
import type { StoreAccountingCounters, StoreAccountingOptions } from "./options.ts"

/** Retries a store or node call that failed for lack of it: 0.1 s doubling to 5 s, forever. */
export const outageRetry = Schedule.min([Schedule.exponential("100 millis"), Schedule.spaced("5 seconds")])

export const shareRow =
  (instance: string) =>
  (s: AcceptedShare): ShareRow => ({
    id: `${instance}:${s.id}`,
    account: s.account,
    worker: s.worker,
    model: s.model,
    weight: s.difficulty,
    createdMs: s.time,
    height: s.height,
    networkDifficulty: s.networkDifficulty,
    instance,
  })

/**
 * Shares are group-committed: each submit waits for the transaction that holds its share (a few
 * ms under load; many connections' shares share one commit), and the miner hears "accepted"
 * only after it, so a share the miner was told about survives any crash. Starts the committer
 * under the pool's supervisor.
 */
export const makeShareCommitter = (options: Pick<StoreAccountingOptions, "instance" | "maxShareBatch" | "shareCommitLingerMillis">, counters: StoreAccountingCounters) =>
  Effect.gen(function* () {
    const store = yield* PoolStore
    const crash = yield* CrashPoints
    const metrics = yield* currentPoolMetrics
    const clock = yield* Clock.Clock
    const supervisor = yield* currentTaskSupervisor
    const toRow = shareRow(options.instance)

    interface PendingShares {
      readonly rows: ReadonlyArray<ShareRow>
      /** Completed once the rows are committed (or, for a row a defect refused, given up on). */
      readonly done: Deferred.Deferred<void>
    }
    const pending = yield* Queue.unbounded<PendingShares>()

    /**
     * Writes rows, waiting out a store that is down (typed failures: retried with backoff). A
     * defect is not an outage: the batch is written again row by row, so one share the store
     * cannot take costs only itself, logged with its cause and counted, never the others.
     */
    const writeShares = (rows: ReadonlyArray<ShareRow>): Effect.Effect<void, Effect.Error<ReturnType<typeof store.insertShares>>> =>
      store.insertShares(rows).pipe(
        Effect.tapError((e) => Effect.logWarning(`shares not written yet, retrying: ${e.message}`)),
        Effect.retry(outageRetry),
        Effect.catchDefect((defect) =>
          rows.length === 1
            ? Effect.sync(() => metrics.itemFailures.share.inc()).pipe(
                Effect.andThen(Effect.logError(`share ${rows[0]?.id} of ${rows[0]?.account} could not be written and is lost`, Cause.die(defect))),
              )
            : Effect.logError(`a batch of ${rows.length} shares hit a defect; writing them one by one`, Cause.die(defect)).pipe(
                Effect.andThen(Effect.forEach(rows, (row) => writeShares([row]), { discard: true })),
              ),
        ),
      )

    const commitShares = (items: ReadonlyArray<PendingShares>) =>
      Effect.gen(function* () {
        const rows = items.flatMap((i) => i.rows)
        yield* crash.at("shares:before-commit")
        const start = clock.monotonicTimeNanosUnsafe()
        if (rows.length > 0) yield* writeShares(rows)
        metrics.shareCommitSeconds.observeSince(clock, start)
        yield* crash.at("shares:after-commit")
        counters.shareBatches++
        counters.sharesWritten += rows.length
        metrics.sharesCommitted.inc(rows.length)
      })

    const flush = Effect.gen(function* () {
      const first = yield* Queue.takeBetween(pending, 1, options.maxShareBatch)
      const items = [...first]
      // Whatever happens to this commit, every submit waiting on it gets its answer: a miner
      // must never hang on a batch that a defect took down with the committer.
      yield* Effect.gen(function* () {
        const linger = options.shareCommitLingerMillis ?? 0
        if (linger > 0 && first.length < options.maxShareBatch) {
          yield* Effect.sleep(linger)
          const more = Math.min(yield* Queue.size(pending), options.maxShareBatch - first.length)
          if (more > 0) items.push(...(yield* Queue.takeBetween(pending, more, more)))
        }
        yield* commitShares(items)
      }).pipe(Effect.ensuring(Effect.forEach(items, (item) => Deferred.succeed(item.done, undefined), { discard: true })))
    })
    yield* supervisor.supervise("share-committer", Effect.forever(flush))

    const recordShares = (shares: ReadonlyArray<AcceptedShare>) =>
      Effect.gen(function* () {
        const done = yield* Deferred.make<void>()
        yield* Queue.offer(pending, { rows: shares.map(toRow), done })
        yield* Deferred.await(done)
      })

    /**
     * Returns once every share offered before it is committed: the queue is first in, first
     * out, so an empty entry's commit comes after theirs. Settlement passes it before it splits a
     * block, because a block goes to dcrd before its shares are committed (on purpose: a block
     * must not wait on the store), and its window must not be read before they are in.
     */
    const commitBarrier = recordShares([])

    return { recordShares, commitBarrier }
  })
