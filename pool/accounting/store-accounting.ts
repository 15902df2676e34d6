import { Clock, Effect, Queue } from "effect"
import { DIFFICULTY_SCALE, hashesPerUnitDifficulty } from "../../core/stratum/difficulty.ts"
import { Accounting } from "./port.ts"
import { CrashPoints } from "../ops/crash-points.ts"
import { currentPoolMetrics, PoolMetrics } from "../ops/metrics.ts"
import { PoolStore } from "../store/store.ts"
import { currentTaskSupervisor } from "../ops/supervisor.ts"
import { type StoreAccountingCounters, type StoreAccountingOptions } from "./options.ts"
import { makePayouts } from "./payouts.ts"
import { makePpsReserve } from "./reserve.ts"
import { makeSettlement } from "./settlement.ts"
import { makeShareCommitter, outageRetry, shareRow } from "./share-committer.ts"

export type { StoreAccountingOptions } from "./options.ts"

/** The lease whose holder settles and pays, when several processes share the database (`StoreAccountingOptions.settlerLeaseMillis`). */
const SETTLER_LEASE = "settler"

/** How long after its stamp a share is surely offered to the committer (see the share watermark). */
const STAMP_MARGIN_MILLIS = 1_000

/**
 * Accounting on the pool's database, assembled from its parts: the share committer (group
 * commit: a share the miner was told about survives any crash), settlement (blocks settled from
 * the chain itself on every tip change, so a restart, a missed notification or a second
 * instance all converge on the same state) and the payout pipeline (a signed transaction is
 * stored before it is sent and reconciled by txid afterwards).
 */
export const makeStoreAccounting = (options: StoreAccountingOptions) =>
  Effect.gen(function* () {
    const store = yield* PoolStore
    const crash = yield* CrashPoints
    const metrics = yield* currentPoolMetrics
    const supervisor = yield* currentTaskSupervisor
    const toRow = shareRow(options.instance)
    const counters: StoreAccountingCounters = { shareBatches: 0, sharesWritten: 0 }
    // Every part counts into the same metrics, whether or not the pool provided a set.
    const sameMetrics = Effect.provideService(PoolMetrics, metrics)

    const { recordShares, commitBarrier } = yield* makeShareCommitter(options, counters).pipe(sameMetrics)
    const leaseMillis = options.settlerLeaseMillis
    /** With several processes on the database: the others whose stored shares do not yet reach a block's time. */
    const othersBehind = leaseMillis === undefined ? undefined : (foundMs: number) => Effect.flatMap(Clock.currentTimeMillis, (now) => store.sharesBehind(options.instance, foundMs, now - leaseMillis))
    const settlement = yield* makeSettlement(options, commitBarrier, othersBehind).pipe(sameMetrics)
    const payouts = yield* makePayouts(options).pipe(sameMetrics)
    const ppsReserve = yield* makePpsReserve(options).pipe(sameMetrics)

    /**
     * Whether this instance is the pool's settler now (always, without a lease: the only
     * process on its database): takes or renews the lease. Said once when another instance
     * holds it and once when this one takes it over; the first instance on a database takes it
     * without a word.
     */
    let settlerSince: "never" | "held" | "other" = "never"
    const holdSettlerLease = Effect.gen(function* () {
      if (leaseMillis === undefined) return true
      const lease = yield* store.takeLease(SETTLER_LEASE, options.instance, yield* Clock.currentTimeMillis, leaseMillis)
      if (lease.held) {
        if (settlerSince === "other") yield* Effect.logInfo(`instance ${options.instance} took the settler lease over: it settles blocks and pays from now on`)
        settlerSince = "held"
        return true
      }
      if (settlerSince !== "other") {
        yield* Effect.logInfo(
          `instance ${lease.holder} holds the settler lease: this instance (${options.instance}) accepts shares and submits blocks and leaves settlement and payouts to it (it takes them over if that lease lapses, ${leaseMillis / 1000} s without renewal)`,
        )
      }
      settlerSince = "other"
      return false
    })
    if (leaseMillis !== undefined) {
      const every = Math.max(1, Math.floor(leaseMillis / 3))
      // A clean shutdown hands over at once and leaves no watermark to wait for (registered
      // first, so they run after the loops below stopped).
      yield* Effect.addFinalizer(() =>
        Effect.andThen(
          settlerSince === "held" ? store.releaseLease(SETTLER_LEASE, options.instance).pipe(Effect.ignore) : Effect.void,
          store.forgetShareWatermark(options.instance).pipe(Effect.ignore),
        ),
      )
      // Renewed between passes too, so a live holder keeps it however far apart blocks come,
      // and a dead one's lapses within a lease: the next pass of another instance takes over.
      yield* supervisor.supervise("settler-lease", Effect.forever(holdSettlerLease.pipe(Effect.ignore, Effect.andThen(Effect.sleep(every)))))
      // This process's share watermark, for the settler (whichever process it is): every share
      // stamped before `stampedBy` was offered to the committer before the barrier (a share is
      // offered microseconds after its stamp; the margin covers a busy event loop), so it is
      // stored once the barrier returns. A separate loop: a store this process cannot write
      // holds up the blocks' split, not the lease.
      const markCommitted = Effect.gen(function* () {
        const stampedBy = (yield* Clock.currentTimeMillis) - STAMP_MARGIN_MILLIS
        yield* commitBarrier
        yield* store.markSharesCommitted(options.instance, stampedBy, yield* Clock.currentTimeMillis)
      })
      yield* supervisor.supervise("share-watermark", Effect.forever(markCommitted.pipe(Effect.ignore, Effect.andThen(Effect.sleep(every)))))
    }

    /**
     * One settlement pass, run only by the lease's holder (checked again before payouts, so a
     * holder that lost it mid-pass pays nothing); failures (store, node, wallet down) are logged
     * and retried on the next tip.
     */
    const settle = (tip: number) =>
      Effect.gen(function* () {
        yield* crash.at("settle:pass")
        if (!(yield* holdSettlerLease)) return
        yield* settlement.settlePpsShares(tip)
        yield* settlement.settleBlocks(tip)
        if (!(yield* holdSettlerLease)) return
        yield* payouts.payOut(tip)
        // Last, so payouts never wait on it; a failure postpones only the check, like the rest.
        yield* ppsReserve.check
        if (postponedBecause !== undefined) {
          yield* Effect.logInfo(`settlement resumed at height ${tip} (it had been postponed by ${postponedBecause})`)
          postponedBecause = undefined
        }
      }).pipe(
        Effect.catch((e) =>
          Effect.gen(function* () {
            // Said once per reason, not on every block: a wallet that stays short of funds
            // would otherwise fill the log with the same line while nothing changes.
            // An unfunded batch is one reason however its missing amount moves from block to block.
            const reason = e._tag === "PayoutUnfunded" ? `${e._tag} (${e.account})` : e.message
            if (postponedBecause === reason) return
            postponedBecause = reason
            yield* Effect.logWarning(`settlement at height ${tip} postponed until it can go on (retried on each new block, reported again only if the reason changes): ${e.message}`)
          }),
        ),
      )
    let postponedBecause: string | undefined

    // Tip changes only wake the settler: settlement never holds up the chain event loop.
    const tips = yield* Queue.sliding<number>(1)
    yield* supervisor.supervise("settler", Effect.forever(Queue.take(tips).pipe(Effect.flatMap(settle))))

    const accounting = Accounting.of({
      recordShares,
      blockAccepted: (work) =>
        Effect.gen(function* () {
          const now = yield* Clock.currentTimeMillis
          yield* store
            .insertBlock(
              { hash: work.hash, height: work.height, account: work.account, worker: work.worker, model: work.model, foundMs: work.foundAt, networkDifficulty: work.networkDifficulty },
              now,
              // The share that found it goes in with it: a block row never exists without it.
              work.findingShare === undefined ? undefined : toRow(work.findingShare),
            )
            .pipe(
              Effect.tapError((e) => Effect.logWarning(`found block ${work.hash} not stored yet, retrying: ${e.message}`)),
              Effect.retry(outageRetry),
              Effect.catch((e) => Effect.logError(`found block ${work.hash} could not be stored: ${e.message}`)),
            )
        }),
      tipChanged: (height) => Queue.offer(tips, height).pipe(Effect.asVoid),
    })
    /**
     * Hashrate per client (account, worker, model) and per account over the last `windowMs`:
     * work done is the sum of share difficulties times the hashes difficulty 1 takes.
     */
    const hashrates = (windowMs: number) =>
      Effect.gen(function* () {
        const now = yield* Clock.currentTimeMillis
        const perUnit = Number(options.hashesPerUnitDifficulty ?? hashesPerUnitDifficulty(options.network.powLimit)) / Number(DIFFICULTY_SCALE)
        const rate = (weight: bigint) => (Number(weight) * perUnit) / (windowMs / 1000)
        const clients = (yield* store.workSince(now - windowMs)).map((c) => ({ ...c, hashesPerSecond: rate(c.weight) }))
        const accounts = new Map<string, number>()
        for (const c of clients) accounts.set(c.account, (accounts.get(c.account) ?? 0) + c.hashesPerSecond)
        return { clients, accounts }
      })

    return { accounting, counters, settle, recordShares, hashrates, nextRewardWeights: settlement.nextRewardWeights, ppsReserve: ppsReserve.report }
  })
