import { Clock, Effect, Result } from "effect"
import { POOL_FEE_ACCOUNT } from "../../core/payout/ledger.ts"
import { poolPayoutRequest } from "../../core/payout/network-fee.ts"
import { PayoutWallet } from "../../core/services/wallet.ts"
import { CrashPoints } from "../ops/crash-points.ts"
import { currentPoolMetrics } from "../ops/metrics.ts"
import { PoolStore, type BatchRow, type PaymentRow } from "../store/store.ts"
import { isolated } from "./isolated.ts"
import type { StoreAccountingOptions } from "./options.ts"

/**
 * The address batch `batchId` pays the pool's fee to: the fee addresses in turn, batch 1 the
 * first. The turn comes from the batch's number, which the store counts (`next_batch`), so a
 * restart, a restore or a second instance on the same database continues it with no state of
 * its own to lose; "" when there is none (a solo pool pays no fee).
 */
const feeAddressOf = (addresses: string | ReadonlyArray<string>, batchId: bigint): string => {
  const list = typeof addresses === "string" ? [addresses] : addresses
  if (list.length === 0) return ""
  const turn = (((batchId - 1n) % BigInt(list.length)) + BigInt(list.length)) % BigInt(list.length)
  return list[Number(turn)]!
}

/**
 * The payout pipeline: batches of what is payable, each stored as a signed transaction before it
 * is sent and reconciled by txid afterwards, so a crash anywhere neither loses nor repeats a
 * payment. An address the wallet refuses costs only its own account, which is held.
 */
export const makePayouts = (options: Pick<StoreAccountingOptions, "scheme" | "minimumPayout" | "feeAddress" | "payoutFeeFrom">) =>
  Effect.gen(function* () {
    const store = yield* PoolStore
    const wallet = yield* PayoutWallet
    const crash = yield* CrashPoints
    const metrics = yield* currentPoolMetrics

    const addressOf = (account: string, batchId: bigint) => (account === POOL_FEE_ACCOUNT ? feeAddressOf(options.feeAddress, batchId) : account)

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
          // The fee's address as the batch stored it (the turn when it was made), whatever the configuration says now.
          const feeAddress = payments.find((p) => p.account === POOL_FEE_ACCOUNT)?.address ?? feeAddressOf(options.feeAddress, batch.id)
          const attempt = yield* Effect.result(wallet.build(poolPayoutRequest(outputs, options.payoutFeeFrom ?? "poolfee", feeAddress)))
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
          // The payments are read again only for a batch signed before a restart.
          metrics.payouts.inc()
          for (const p of payments ?? (yield* store.paymentsOf(batch.id).pipe(Effect.orElseSucceed(() => [])))) metrics.payoutAtoms.incExact(p.amount)
          yield* Effect.logInfo(`payout batch ${batch.id} published as ${signed.txid}`)
        }
        yield* crash.at("payout:after-published-stored")
      })

    /** Drives every open batch on, then opens a new one for what is payable at `tip`. */
    const payOut = (tip: number) =>
      Effect.gen(function* () {
        for (const open of yield* store.openBatches) yield* advanceBatch(open).pipe(isolated(metrics, "payout", `payout batch ${open.id}`))
        if (options.scheme.kind === "solo" && options.scheme.atMiningAddress) return
        const now = yield* Clock.currentTimeMillis
        const created = yield* store.createBatch(options.minimumPayout, POOL_FEE_ACCOUNT, addressOf, tip, now)
        if (created === undefined) return
        yield* crash.at("payout:after-reserve")
        const batch = (yield* store.openBatches).find((b) => b.id === created)
        if (batch !== undefined) yield* advanceBatch(batch).pipe(isolated(metrics, "payout", `payout batch ${batch.id}`))
      })

    return { payOut }
  })
