import { Data, Effect, Layer, Result } from "effect"
import { toHex } from "../core/chain/bytes.ts"
import { blake256Hash, hashToDisplay } from "../core/chain/hash.ts"
import { dustLimit, feeForBytes, isDust, P2PKH_SCRIPT_BYTES, P2PKH_SIG_SCRIPT_BYTES, takeNetworkFee, transactionBytes } from "../core/payout/network-fee.ts"
import {
  dcrwalletPayableAddress,
  PayoutAddressRefused,
  PayoutUnfunded,
  PayoutWallet,
  WalletRpcError,
  WalletUnavailable,
  type PayoutBuildFailure,
  type PayoutOutput,
  type PayoutRequest,
  type PayoutTxStatus,
  type SignedPayout,
  type WalletFailure,
} from "../core/services/wallet.ts"
import type { TicketRejection } from "../core/stake/errors.ts"
import type { OwnerTotals, Ticket } from "../core/stake/model.ts"
import type { SimDcrd } from "./dcrd.ts"

/** dcrwallet's answer when the account cannot fund the outputs (ErrRPCWalletInsufficientFunds). */
const INSUFFICIENT_FUNDS_CODE = -6
/** Its message: the wallet's nested error ops, then the kind (dcrwallet `errors.InsufficientBalance`). */
const INSUFFICIENT_FUNDS_MESSAGE = "wallet.NewUnsignedTransaction:\n\ttxauthor.NewUnsignedTransaction: insufficient balance"

/** dcrwallet's default relay fee, 0.0001 DCR/kB. */
const DEFAULT_FEE_ATOMS_PER_KB = 10_000n

/** The account the simulated wallet pays from, as dcrwallet names its first. */
const ACCOUNT = "default"

interface PublishedPayout {
  readonly txid: string
  readonly outputs: ReadonlyArray<PayoutOutput>
  readonly fee: bigint
  /** The tip when it was sent: the next block mines it. */
  readonly publishedAtHeight: number
}

/** What the wallet did, for the run log. */
type SimWalletEvent =
  | { readonly _tag: "Built"; readonly txid: string; readonly outputs: number; readonly amount: bigint; readonly fee: bigint }
  | { readonly _tag: "BuildRefused"; readonly reason: string }
  | { readonly _tag: "Published"; readonly txid: string; readonly height: number; readonly replyLost: boolean }
  | { readonly _tag: "PublishedAgain"; readonly txid: string }
  | { readonly _tag: "PublishRefused"; readonly txid: string; readonly reason: string }

interface SimWalletFaults {
  /** Every call fails with WalletUnavailable. */
  offline: boolean
  /** The next publish sends the transaction and then loses the reply. */
  loseNextPublishReply: boolean
  /** The next build is refused as if the balance could not fund it. */
  failNextBuild: boolean
}

/** A ticket purchase the wallet would not make, or that dcrd refused (its reason). */
class TicketPurchaseRefused extends Data.TaggedError("TicketPurchaseRefused")<{
  readonly reason: "price-above-max-price" | TicketRejection
  readonly message: string
}> {}

interface SimWalletOptions {
  readonly dcrd: SimDcrd
  /** Relay fee rate in atoms per kB (default dcrwallet's, 10,000: 0.0001 DCR/kB). */
  readonly feeAtomsPerKb?: bigint
  readonly log?: (event: SimWalletEvent) => void
}

export interface SimWallet {
  readonly service: PayoutWallet["Service"]
  readonly layer: Layer.Layer<PayoutWallet>
  readonly faults: SimWalletFaults
  /** Every transaction sent, once each, in order. */
  readonly published: ReadonlyArray<PublishedPayout>
  /** What the published transactions paid each address, summed. */
  paidTo(): Map<string, bigint>
  /** Coinbase value of the pool's main-chain blocks that are spendable in the next block. */
  maturedCoinbase(): bigint
  /** Matured coinbase minus everything published (outputs and fees). */
  spendable(): bigint
  /** Coinbase value of the pool's main-chain blocks that are not spendable yet. */
  immatureCoinbase(): bigint
  /** Buys tickets for `owner` at the current price through the simulated dcrd's mempool. */
  purchaseTickets(owner: string, count: number, options?: { readonly maxPrice?: bigint; readonly expiry?: number }): Effect.Effect<ReadonlyArray<Ticket>, TicketPurchaseRefused>
  /** The owner's stake record (dcrwallet's getstakeinfo counts come from it). */
  stakeTotals(owner: string): OwnerTotals
}

interface BuiltPayout {
  readonly rawTx: string
  readonly outputs: ReadonlyArray<PayoutOutput>
  readonly fee: bigint
}

/**
 * The pool's payout wallet on the simulated chain, with the dcrwallet client's contract: `build`
 * funds and signs (the txid is known before anything is sent), `publish` is idempotent, and
 * `status` counts confirmations from the block after publication. Its money is the coinbase of
 * the blocks the pool found that stayed on the main chain and matured (CoinbaseMaturity), less
 * what it sent, held as one input. A build takes the network fee out of the outputs the request
 * names, priced like dcrwallet's for the final transaction (its change output only when the
 * surplus is not dust; dust surplus goes to the fee), so exactly the outputs' sum is enough; a
 * build beyond the balance fails with `PayoutUnfunded`, and one paying an address dcrwallet
 * would not pay (see `dcrwalletPayableAddress`) with `PayoutAddressRefused` naming it.
 */
export const makeSimWallet = (options: SimWalletOptions): Effect.Effect<SimWallet> =>
  Effect.sync(() => {
    const dcrd = options.dcrd
    const feeRate = options.feeAtomsPerKb ?? DEFAULT_FEE_ATOMS_PER_KB
    const built = new Map<string, BuiltPayout>()
    const published: Array<PublishedPayout> = []
    const publishedIds = new Set<string>()
    const faults: SimWalletFaults = { offline: false, loseNextPublishReply: false, failNextBuild: false }
    let builds = 0
    const log = (event: SimWalletEvent) => options.log?.(event)
    const unavailable = (method: string) => Effect.fail(new WalletUnavailable({ method, reason: "the simulated dcrwallet is offline" }))

    const maturedCoinbase = (): bigint => {
      // dcrd lets a coinbase be spent by a block at least CoinbaseMaturity above it.
      const spendHeight = dcrd.height() + 1
      const maturity = dcrd.network.coinbaseMaturity
      let total = 0n
      for (const b of dcrd.poolBlocks()) if (b.onMainChain && spendHeight - b.height >= maturity) total += b.workSubsidy
      return total
    }
    const immatureCoinbase = (): bigint => {
      const spendHeight = dcrd.height() + 1
      const maturity = dcrd.network.coinbaseMaturity
      let total = 0n
      for (const b of dcrd.poolBlocks()) if (b.onMainChain && spendHeight - b.height < maturity) total += b.workSubsidy
      return total
    }
    const spent = (): bigint => published.reduce((sum, p) => sum + p.fee + p.outputs.reduce((s, o) => s + o.amount, 0n), 0n)
    const spendable = (): bigint => maturedCoinbase() - spent()
    const totalOf = (outputs: ReadonlyArray<PayoutOutput>, fee: bigint): bigint => outputs.reduce((s, o) => s + o.amount, fee)

    const build = (request: PayoutRequest): Effect.Effect<SignedPayout, PayoutBuildFailure> =>
      Effect.suspend((): Effect.Effect<SignedPayout, PayoutBuildFailure> => {
        if (faults.offline) return unavailable("fundrawtransaction")
        const refuse = <E extends PayoutBuildFailure>(error: E) => {
          log({ _tag: "BuildRefused", reason: error.message })
          return Effect.fail(error)
        }
        const refuseRpc = (method: string, code: number, reason: string) => refuse(new WalletRpcError({ method, code, reason }))
        if (faults.failNextBuild) {
          faults.failNextBuild = false
          return refuseRpc("fundrawtransaction", INSUFFICIENT_FUNDS_CODE, INSUFFICIENT_FUNDS_MESSAGE)
        }
        const outputs = request.outputs
        if (outputs.length === 0) return refuseRpc("createrawtransaction", -8, "a payout needs at least one output")
        const bad = outputs.find((o) => o.amount <= 0n)
        if (bad !== undefined) return refuseRpc("createrawtransaction", -8, `amount ${bad.amount} atoms to ${bad.address} is not positive`)
        const owed = new Map<string, bigint>()
        for (const o of outputs) owed.set(o.address, (owed.get(o.address) ?? 0n) + o.amount)
        // As the dcrwallet client does (and dcrwallet behind it): an address it will not pay is
        // named, and nothing is built.
        for (const address of owed.keys()) {
          const payable = dcrwalletPayableAddress(address, dcrd.network)
          if (Result.isFailure(payable)) return refuse(new PayoutAddressRefused({ address, reason: payable.failure }))
        }
        const named = takeNetworkFee(owed, request.feePaidBy, 0n, () => 0n)
        if (Result.isFailure(named)) return refuse(named.failure)

        // One input, the whole balance; as the dcrwallet client does, the outputs as owed are
        // funded first and the surplus is change unless it is dust, which goes to the fee.
        const needed = totalOf(outputs, 0n)
        const balance = spendable()
        if (needed > balance) {
          return refuse(new PayoutUnfunded({ account: ACCOUNT, needed, spendable: balance, missing: needed - balance, immature: immatureCoinbase() }))
        }
        const surplus = balance - needed
        const change = !isDust(surplus, P2PKH_SCRIPT_BYTES, feeRate)
        const scripts = [...owed.keys(), ...(change ? ["change"] : [])].map(() => P2PKH_SCRIPT_BYTES)
        const networkFee = feeForBytes(feeRate, transactionBytes([P2PKH_SIG_SCRIPT_BYTES], scripts))
        const paid = takeNetworkFee(owed, request.feePaidBy, networkFee, () => dustLimit(P2PKH_SCRIPT_BYTES, feeRate))
        if (Result.isFailure(paid)) return refuse(paid.failure)
        const fee = networkFee + (change ? 0n : surplus)
        const sent = [...paid.success].map(([address, amount]) => ({ address, amount }))
        builds++
        // Each build spends different inputs in a real wallet, so the same outputs give a new txid.
        const body = new TextEncoder().encode(JSON.stringify({ build: builds, outputs: sent.map((o) => [o.address, o.amount.toString()]), fee: fee.toString() }))
        const txid = hashToDisplay(blake256Hash(body))
        const rawTx = toHex(body)
        built.set(txid, { rawTx, outputs: sent, fee })
        log({ _tag: "Built", txid, outputs: sent.length, amount: totalOf(sent, 0n), fee })
        return Effect.succeed({ txid, rawTx, fee })
      })

    const publish = (payout: SignedPayout): Effect.Effect<void, WalletFailure> =>
      Effect.suspend((): Effect.Effect<void, WalletFailure> => {
        if (faults.offline) return unavailable("sendrawtransaction")
        const tx = built.get(payout.txid)
        if (tx === undefined || tx.rawTx !== payout.rawTx) {
          log({ _tag: "PublishRefused", txid: payout.txid, reason: "unknown transaction" })
          return Effect.fail(new WalletRpcError({ method: "sendrawtransaction", code: -22, reason: "TX decode failed: not a transaction this wallet signed" }))
        }
        if (publishedIds.has(payout.txid)) {
          // dcrwallet turns dcrd's "already have" into success.
          log({ _tag: "PublishedAgain", txid: payout.txid })
        } else {
          if (totalOf(tx.outputs, tx.fee) > spendable()) {
            const reason = `rejected transaction ${payout.txid}: its inputs were already spent by another published transaction`
            log({ _tag: "PublishRefused", txid: payout.txid, reason })
            return Effect.fail(new WalletRpcError({ method: "sendrawtransaction", code: -1, reason }))
          }
          publishedIds.add(payout.txid)
          published.push({ txid: payout.txid, outputs: tx.outputs, fee: tx.fee, publishedAtHeight: dcrd.height() })
          log({ _tag: "Published", txid: payout.txid, height: dcrd.height(), replyLost: faults.loseNextPublishReply })
        }
        if (faults.loseNextPublishReply) {
          faults.loseNextPublishReply = false
          return Effect.fail(new WalletUnavailable({ method: "sendrawtransaction", reason: "the connection dropped before the reply (the transaction was sent)" }))
        }
        return Effect.void
      })

    const status = (txid: string): Effect.Effect<PayoutTxStatus, WalletFailure> =>
      Effect.suspend((): Effect.Effect<PayoutTxStatus, WalletFailure> => {
        if (faults.offline) return unavailable("gettransaction")
        const sent = published.find((p) => p.txid === txid)
        if (sent === undefined) return Effect.succeed({ _tag: "Unknown" })
        return Effect.succeed({ _tag: "Known", confirmations: Math.max(0, dcrd.height() - sent.publishedAtHeight) })
      })

    const service = PayoutWallet.of({ build, publish, status })

    const purchaseTickets = (owner: string, count: number, opts: { readonly maxPrice?: bigint; readonly expiry?: number } = {}): Effect.Effect<ReadonlyArray<Ticket>, TicketPurchaseRefused> =>
      Effect.suspend(() => {
        const price = dcrd.model.nextStakeDifficulty()
        if (opts.maxPrice !== undefined && price > opts.maxPrice) {
          return Effect.fail(
            new TicketPurchaseRefused({ reason: "price-above-max-price", message: `the ticket price ${price} atoms is above the maximum ${opts.maxPrice}; raise maxPrice or wait for a lower price` }),
          )
        }
        const expiry = opts.expiry
        return dcrd.buyTickets(owner, count, expiry === undefined ? {} : { expiry }).pipe(Effect.mapError((e) => new TicketPurchaseRefused({ reason: e.reason, message: e.message })))
      })

    const wallet: SimWallet = {
      service,
      layer: Layer.succeed(PayoutWallet)(service),
      faults,
      published,
      paidTo: () => {
        const totals = new Map<string, bigint>()
        for (const p of published) for (const o of p.outputs) totals.set(o.address, (totals.get(o.address) ?? 0n) + o.amount)
        return totals
      },
      maturedCoinbase,
      spendable,
      immatureCoinbase,
      purchaseTickets,
      stakeTotals: (owner) => dcrd.model.totalsFor(owner),
    }
    return wallet
  })
