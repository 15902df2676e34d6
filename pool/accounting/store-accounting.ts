import { Clock, Effect, Queue } from "effect"
import { DIFFICULTY_SCALE, hashesPerUnitDifficulty } from "../../core/stratum/difficulty.ts"
import { Accounting } from "./port.ts"
import { CrashPoints } from "../ops/crash-points.ts"
import { currentPoolMetrics, PoolMetrics } from "../ops/metrics.ts"
import { PoolStore } from "../store/store.ts"
import { currentTaskSupervisor } from "../ops/supervisor.ts"
import type { StoreAccountingCounters, StoreAccountingOptions } from "./options.ts"
import { makePayouts } from "./payouts.ts"
import { makePpsReserve } from "./reserve.ts"
import { makeSettlement } from "./settlement.ts"
import { makeShareCommitter, outageRetry, shareRow } from "./share-committer.ts"

export type { StoreAccountingOptions } from "./options.ts"

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
    const settlement = yield* makeSettlement(options, commitBarrier).pipe(sameMetrics)
    const payouts = yield* makePayouts(options).pipe(sameMetrics)
    const ppsReserve = yield* makePpsReserve(options).pipe(sameMetrics)

    /** One settlement pass; failures (store, node, wallet down) are logged and retried on the next tip. */
    const settle = (tip: number) =>
      Effect.gen(function* () {
        yield* crash.at("settle:pass")
        yield* settlement.settlePpsShares(tip)
        yield* settlement.settleBlocks(tip)
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
