import { Cause, Clock, Deferred, Effect, Queue, Result, Schedule } from "effect"
import { DIFFICULTY_SCALE } from "../../core/stratum/difficulty.ts"
import { feeOf, splitProportionally, type Allocation } from "../../core/payout/amounts.ts"
import { POOL_FEE_ACCOUNT } from "../../core/payout/ledger.ts"
import { poolPayoutRequest, type PayoutFeeSource } from "../../core/payout/network-fee.ts"
import { MINING_ADDRESS_ACCOUNT, pplnsWindowUnits, ppsCredit, type PayoutScheme } from "../../core/payout/schemes.ts"
import { chainActivations } from "../../core/chain/agendas.ts"
import type { NetworkParams } from "../../core/chain/params.ts"
import { subsidySplitAt, workSubsidy } from "../../core/chain/subsidy.ts"
import { ChainRpc } from "../../core/services/chain.ts"
import { PayoutWallet } from "../../core/services/wallet.ts"
import { Accounting } from "./port.ts"
import { ORPHAN_DEPTH } from "../accepted-work.ts"
import { CrashPoints } from "../ops/crash-points.ts"
import { currentPoolMetrics } from "../ops/metrics.ts"
import type { AcceptedShare } from "../stratum/session.ts"
import { PoolStore, type BatchRow, type BlockRow, type PaymentRow, type ShareRow } from "../store/store.ts"
import { currentTaskSupervisor } from "../ops/supervisor.ts"

export interface StoreAccountingOptions {
  /** The chain's parameters: PPS values shares by its block subsidy. */
  readonly network: NetworkParams
  /** Distinguishes this process's shares from other instances' on a shared database. */
  readonly instance: string
  readonly scheme: PayoutScheme
  readonly feeBasisPoints: number
  /** Accounts owed less wait for the next batch (the pool's fee account never waits). */
  readonly minimumPayout: bigint
  /** Where the pool's fee is paid. */
  readonly feeAddress: string
  /** Whose outputs a payout's network fee comes out of (default "poolfee": the pool fee's output). */
  readonly payoutFeeFrom?: PayoutFeeSource | undefined
  /** Blocks a coinbase must be buried under before it can be spent (256 mainnet, 16 simnet). */
  readonly coinbaseMaturity: number
  /** Most shares written in one transaction (a group commit); larger batches amortise the commit. */
  readonly maxShareBatch: number
  /**
   * How long a commit waits for more shares after the first (default 0: commit at once). A
   * few milliseconds cut the commits of a busy pool at the cost of that much reply latency;
   * the simulator uses seconds of virtual time, where a commit costs real time and a reply's
   * latency costs nothing.
   */
  readonly shareCommitLingerMillis?: number | undefined
  /** Hashes difficulty 1 stands for, for hashrates (default 2^256 / powLimit; the simulator scales it). */
  readonly hashesPerUnitDifficulty?: bigint | undefined
}

/** Retries a store or node call that failed for lack of it: 0.1 s doubling to 5 s, forever. */
const outageRetry = Schedule.min([Schedule.exponential("100 millis"), Schedule.spaced("5 seconds")])

const shareRow = (instance: string) => (s: AcceptedShare): ShareRow => ({
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
 * Accounting on the pool's database. Shares are group-committed: each submit waits for the
 * transaction that holds its share (a few ms under load; many connections' shares share one
 * commit), and the miner hears "accepted" only after it, so a share the miner was told about
 * survives any crash. Blocks are settled from the chain itself (is this hash still the main
 * chain's block at its height?) on every tip change, so a restart, a missed notification or a
 * second instance all converge on the same state. The payout pipeline stores a signed
 * transaction before sending it and reconciles it by txid afterwards.
 */
export const makeStoreAccounting = (options: StoreAccountingOptions) =>
  Effect.gen(function* () {
    const store = yield* PoolStore
    const chain = yield* ChainRpc
    const wallet = yield* PayoutWallet
    const crash = yield* CrashPoints
    const metrics = yield* currentPoolMetrics
    const clock = yield* Clock.Clock
    const supervisor = yield* currentTaskSupervisor
    const toRow = shareRow(options.instance)
    const counters = { shareBatches: 0, sharesWritten: 0, storeRetries: 0, blocksCredited: 0, blocksOrphaned: 0, batchesPublished: 0 }

    // ---- shares: group commit
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
        Effect.tapError((e) => Effect.sync(() => counters.storeRetries++).pipe(Effect.andThen(Effect.logWarning(`shares not written yet, retrying: ${e.message}`)))),
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

    // ---- blocks: credits from the configured scheme
    const addressOf = (account: string) => (account === POOL_FEE_ACCOUNT ? options.feeAddress : account)

    /** Per-account weights of the last `units` of work up to `untilMs`, the oldest share pro-rated. */
    const pplnsWeights = (untilMs: number, units: bigint) =>
      Effect.gen(function* () {
        const weights = new Map<string, bigint>()
        let remaining = units
        let cursor: { createdMs: number; seq: bigint } | undefined
        while (remaining > 0n) {
          const page = yield* store.sharesBefore(untilMs, cursor, 5000)
          for (const s of page) {
            const counted = s.weight < remaining ? s.weight : remaining
            weights.set(s.account, (weights.get(s.account) ?? 0n) + counted)
            remaining -= counted
            if (remaining === 0n) break
          }
          if (page.length < 5000) break
          cursor = page[page.length - 1]
        }
        return weights
      })

    const creditsFor = (block: BlockRow, reward: bigint) =>
      Effect.gen(function* () {
        const scheme = options.scheme
        const fee = scheme.kind === "solo" && scheme.atMiningAddress ? 0n : feeOf(reward, options.feeBasisPoints)
        const net = reward - fee
        const withFee = (credits: ReadonlyArray<Allocation>): ReadonlyArray<Allocation> => (fee > 0n ? [...credits, { account: POOL_FEE_ACCOUNT, amount: fee }] : credits)
        switch (scheme.kind) {
          case "solo":
            return scheme.atMiningAddress ? [{ account: MINING_ADDRESS_ACCOUNT, amount: reward }] : withFee([{ account: block.account, amount: net }])
          case "pps":
            // PPS paid the shares already; the block's reward stays in the pool's wallet as
            // the reserve that carries PPS's variance.
            return []
          case "pplns":
          case "pplns-time":
          case "proportional": {
            const weights = yield* shareWeights(scheme, block.foundMs, block.networkDifficulty)
            let total = 0n
            for (const w of weights.values()) total += w
            if (total > 0n) return withFee(splitProportionally(net, weights))
            // The rule for a window without work: the reward goes to the work that found the
            // block, never to nobody. The finding share is stored with the block, so this is a
            // block from before that rule or a store that lost the share.
            yield* Effect.logWarning(`block ${block.hash} at height ${block.height}: its window holds no shares; its reward goes to its finder ${block.account}`)
            return withFee([{ account: block.account, amount: net }])
          }
        }
      })

    /** The work each account has in a block found at `foundMs` under a share-splitting scheme. */
    const shareWeights = (scheme: PayoutScheme & { readonly kind: "pplns" | "pplns-time" | "proportional" }, foundMs: number, networkDifficulty: bigint) =>
      Effect.gen(function* () {
        switch (scheme.kind) {
          case "pplns":
            return yield* pplnsWeights(foundMs, pplnsWindowUnits(scheme.windowMultiple, networkDifficulty))
          case "pplns-time":
            return yield* store.workBetween(foundMs - scheme.periodMs, foundMs)
          case "proportional": {
            const since = (yield* store.previousBlockTime(foundMs)) ?? -1
            return yield* store.workBetween(since, foundMs)
          }
        }
      })

    /**
     * Each account's work in the next block's split if the pool found it now at
     * `networkDifficulty`: the same window the credits would use. Undefined for schemes that do
     * not split a block by shares (PPS pays per share, solo pays the finder).
     */
    const nextRewardWeights = (networkDifficulty: bigint) =>
      Effect.gen(function* () {
        const scheme = options.scheme
        if (scheme.kind === "pps" || scheme.kind === "solo") return undefined
        return yield* shareWeights(scheme, yield* Clock.currentTimeMillis, networkDifficulty)
      })

    /** Is `hash` the main chain's block at `height`? */
    const inMainChain = (block: BlockRow, tip: number) =>
      block.height > tip ? Effect.succeed(false) : chain.getBlockHash(block.height).pipe(Effect.map((h) => h === block.hash))

    const settleBlocks = (tip: number) =>
      Effect.gen(function* () {
        const blocks = yield* store.blocksWithStatus(["accepted", "confirmed"])
        // Before a block is split, every share the pool had accepted before it was found is in.
        if (blocks.some((b) => b.status === "accepted" && tip >= b.height + 1)) yield* commitBarrier
        for (const block of blocks) yield* settleBlock(block, tip).pipe(isolated("block", `block ${block.hash} at height ${block.height}`))
      })

    /**
     * One item's defect is that item's: logged at error level with its cause and counted, and the
     * loop goes on to the next block or batch. Typed failures (store, dcrd or wallet down) still
     * end the pass, which the next tip retries.
     */
    const isolated =
      (kind: "block" | "payout", what: string) =>
      <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A | void, E, R> =>
        Effect.catchDefect(effect, (defect) =>
          Effect.sync(() => metrics.itemFailures[kind].inc()).pipe(Effect.andThen(Effect.logError(`${what} skipped this pass: a defect stopped it`, Cause.die(defect)))),
        )

    const settleBlock = (block: BlockRow, tip: number) =>
      Effect.gen(function* () {
        const now = yield* Clock.currentTimeMillis
        const inChain = yield* inMainChain(block, tip)
        let status = block.status
        if (status === "accepted") {
          if (inChain && tip >= block.height + 1) {
            const reward = yield* chain.coinbaseValue(block.hash)
            const credits = yield* creditsFor(block, reward)
            const fee = credits.find((c) => c.account === POOL_FEE_ACCOUNT)?.amount ?? 0n
            if (yield* store.confirmBlock(block.hash, reward, fee, credits, now)) {
              counters.blocksCredited++
              metrics.blocks.confirmed.inc()
              yield* Effect.logInfo(`block ${block.hash} at height ${block.height} confirmed: ${reward} atoms shared among ${credits.length} accounts`)
            }
            yield* crash.at("credit:after-confirm")
            status = "confirmed"
          } else if (!inChain && tip >= block.height + ORPHAN_DEPTH) {
            if (yield* store.orphanBlock(block.hash, now)) {
              counters.blocksOrphaned++
              metrics.blocks.orphaned.inc()
              yield* Effect.logWarning(`block ${block.hash} at height ${block.height} orphaned; it earned nothing`)
            }
          }
        }
        if (status !== "confirmed") return
        if (!inChain) {
          // A reorg deeper than one block took a confirmed block: its credits go, unpaid.
          if (yield* store.orphanBlock(block.hash, now)) {
            counters.blocksOrphaned++
            metrics.blocks.orphaned.inc()
            yield* Effect.logWarning(`confirmed block ${block.hash} at height ${block.height} left the main chain; its credits are reversed`)
          }
        } else if (tip >= block.height + options.coinbaseMaturity + 1) {
          // One block of margin past dcrd's rule, so the spend is valid in the next block too.
          if (yield* store.matureBlock(block.hash, now)) {
            metrics.blocks.matured.inc()
            yield* Effect.logInfo(`block ${block.hash} matured; its credits are payable`)
          }
        }
      })

    // ---- payouts
    /**
     * Takes one account out of a never-signed batch and holds it. Said once, at warning, by the
     * instance whose store transaction did it; false when another instance got there first (or
     * signed the batch), which then carries on with it.
     */
    const setAside = (batch: BatchRow, payment: PaymentRow, reason: string) =>
      Effect.gen(function* () {
        const done = yield* store.setAsidePayment(batch.id, payment.account, reason, yield* Clock.currentTimeMillis)
        if (done === undefined) return false
        yield* Effect.logWarning(
          `payout batch ${batch.id}: account ${payment.account} (address ${done.address}) is set aside and held, and the rest of the batch is paid without it: ${reason}. ` +
            `Its ${done.amount} atoms stay payable; later batches skip it until an operator releases it (deletes its row from held_accounts) once the address can be paid`,
        )
        if (done.batchDropped) yield* Effect.logInfo(`payout batch ${batch.id} paid only accounts now held and is dropped; nothing of it was signed or sent`)
        return true
      })

    /**
     * Builds a never-signed batch and stores its transaction: the transaction and the payments it
     * pays, or undefined when this instance has nothing to send (another signed the batch, or it
     * paid only accounts now held). An address the wallet will not pay (it checks each address
     * by dcrd's rules, public keys included, before it builds an output: an account credited
     * before those rules, or of a kind it does not pay) costs only its own payment: it is set
     * aside and the batch built again without it. Retrying the whole batch instead would stall
     * every payout, since an open batch goes before any new one. Each round takes at least one
     * payment out or ends, so the loop ends.
     */
    const buildBatch = (batch: BatchRow) =>
      Effect.gen(function* () {
        for (;;) {
          const payments = yield* store.paymentsOf(batch.id)
          if (payments.length === 0) return undefined
          const outputs = payments.map((p) => ({ address: p.address, amount: p.amount }))
          const attempt = yield* Effect.result(wallet.build(poolPayoutRequest(outputs, options.payoutFeeFrom ?? "poolfee", options.feeAddress)))
          if (Result.isSuccess(attempt)) {
            const built = attempt.success
            yield* crash.at("payout:after-build")
            // Only the instance whose UPDATE wins may send; a loser's transaction is never sent.
            if (!(yield* store.markSigned(batch.id, built.txid, built.rawTx, built.fee, payments))) return undefined
            yield* crash.at("payout:after-sign-stored")
            return { signed: built, payments }
          }
          const failure = attempt.failure
          // Anything else (wallet down, unfunded) is the whole batch's: the pass is postponed.
          if (failure._tag !== "PayoutAddressRefused") return yield* Effect.fail(failure)
          const refused = payments.filter((p) => p.address === failure.address)
          if (refused.length === 0) return yield* Effect.fail(failure)
          for (const payment of refused) {
            if (!(yield* setAside(batch, payment, failure.reason))) return undefined
          }
        }
      })

    /** Drives one batch as far as it goes: build and store, then send and mark. */
    const advanceBatch = (batch: BatchRow) =>
      Effect.gen(function* () {
        let signed = batch.txid !== undefined && batch.rawTx !== undefined ? { txid: batch.txid, rawTx: batch.rawTx, fee: batch.txFee ?? 0n } : undefined
        let payments: ReadonlyArray<{ readonly address: string; readonly amount: bigint }> | undefined
        if (batch.status === "building") {
          const built = yield* buildBatch(batch)
          if (built === undefined) return
          signed = built.signed
          payments = built.payments
        }
        if (signed === undefined) return
        const status = yield* wallet.status(signed.txid)
        if (status._tag === "Unknown") yield* wallet.publish(signed)
        yield* crash.at("payout:after-publish")
        const now = yield* Clock.currentTimeMillis
        if (yield* store.markPublished(batch.id, now)) {
          counters.batchesPublished++
          // The payments are read again only for a batch signed before a restart.
          metrics.payouts.inc()
          for (const p of payments ?? (yield* store.paymentsOf(batch.id).pipe(Effect.orElseSucceed(() => [])))) metrics.payoutAtoms.incExact(p.amount)
          yield* Effect.logInfo(`payout batch ${batch.id} published as ${signed.txid}`)
        }
        yield* crash.at("payout:after-published-stored")
      })

    const payOut = (tip: number) =>
      Effect.gen(function* () {
        for (const open of yield* store.openBatches) yield* advanceBatch(open).pipe(isolated("payout", `payout batch ${open.id}`))
        if (options.scheme.kind === "solo" && options.scheme.atMiningAddress) return
        const now = yield* Clock.currentTimeMillis
        const created = yield* store.createBatch(options.minimumPayout, POOL_FEE_ACCOUNT, addressOf, tip, now)
        if (created === undefined) return
        yield* crash.at("payout:after-reserve")
        const batch = (yield* store.openBatches).find((b) => b.id === created)
        if (batch !== undefined) yield* advanceBatch(batch).pipe(isolated("payout", `payout batch ${batch.id}`))
      })

    /** One settlement pass; failures (store, node, wallet down) are logged and retried on the next tip. */
    /** PPS: each share is worth (1 - fee) x B x d / D, B the work subsidy a full block at its height pays. */
    const activations = chainActivations(options.network.agendas)
    const ppsValue = (share: { readonly weight: bigint; readonly height: number; readonly networkDifficulty: bigint }) => {
      const blockReward = workSubsidy(options.network, share.height, options.network.ticketsPerBlock, subsidySplitAt(activations, share.height))
      return ppsCredit({ id: "", account: "", weight: share.weight, time: 0 }, blockReward, share.networkDifficulty, options.feeBasisPoints)
    }

    const settle = (tip: number) =>
      Effect.gen(function* () {
        yield* crash.at("settle:pass")
        if (options.scheme.kind === "pps") {
          const now = yield* Clock.currentTimeMillis
          // Payable once coinbases mined meanwhile could have paid for them.
          const settled = yield* store.settlePps(ppsValue, tip, tip + options.coinbaseMaturity + 1, now)
          if (settled.shares > 0) yield* Effect.logInfo(`PPS: ${settled.shares} shares credited to ${settled.accounts} accounts`)
        }
        yield* settleBlocks(tip)
        yield* payOut(tip)
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
      // The chain decides; these only wake the settler sooner.
      blockConfirmed: () => Effect.void,
      blockUnconfirmed: () => Effect.void,
      blockOrphaned: () => Effect.void,
      tipChanged: (height) => Queue.offer(tips, height).pipe(Effect.asVoid),
    })
    /**
     * Hashrate per client (account, worker, model) and per account over the last `windowMs`:
     * work done is the sum of share difficulties times the hashes difficulty 1 takes.
     */
    const hashrates = (windowMs: number) =>
      Effect.gen(function* () {
        const now = yield* Clock.currentTimeMillis
        const perUnit = Number(options.hashesPerUnitDifficulty ?? (1n << 256n) / (options.network.powLimit + 1n)) / Number(DIFFICULTY_SCALE)
        const rate = (weight: bigint) => (Number(weight) * perUnit) / (windowMs / 1000)
        const clients = (yield* store.workSince(now - windowMs)).map((c) => ({ ...c, hashesPerSecond: rate(c.weight) }))
        const accounts = new Map<string, number>()
        for (const c of clients) accounts.set(c.account, (accounts.get(c.account) ?? 0) + c.hashesPerSecond)
        return { clients, accounts }
      })

    return { accounting, counters, settle, recordShares, hashrates, nextRewardWeights }
  })
