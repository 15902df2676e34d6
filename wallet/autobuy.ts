import { Data, Effect, Result, Schema } from "effect"
import { atomsToDcr, dcrToAtoms } from "../core/chain/amounts.ts"
import type { NetworkParams } from "../core/chain/params.ts"
import { type AutoBuyerConfig, decideAutoBuy } from "./autobuyer.ts"
import type { JsonRpcCall, JsonRpcFailure } from "./json-rpc.ts"

/**
 * The auto-buyer as a service: watches the wallet's tip and, on every new block, asks
 * `decideAutoBuy` and buys through the wallet's `purchaseticket`. One log line per block says
 * what it decided and why. Used by `./dcrforge stake autobuy` against a dcrwallet, and
 * reusable by anything that has an `AutobuyWallet` (the main job's demo staker).
 */

/** The wallet answered with something that is not the reply of the method asked. */
class WalletReplyUnusable extends Data.TaggedError("WalletReplyUnusable")<{ readonly method: string; readonly reply: string }> {
  override get message(): string {
    return `dcrwallet answered ${this.method} with ${this.reply}, not its reply; is this a dcrwallet (2.1 or later)?`
  }
}

type AutobuyWalletFailure = JsonRpcFailure | WalletReplyUnusable

/** What the auto-buyer needs of a wallet: dcrwallet's JSON-RPC in production (`rpcAutobuyWallet`). */
export interface AutobuyWallet {
  readonly bestBlock: Effect.Effect<{ readonly height: number; readonly hash: string }, AutobuyWalletFailure>
  /** The price the next block asks of a ticket (getstakedifficulty's nextstakedifficulty). */
  readonly nextPrice: Effect.Effect<bigint, AutobuyWalletFailure>
  readonly feePerTicket: Effect.Effect<bigint, AutobuyWalletFailure>
  readonly spendable: (account: string) => Effect.Effect<bigint, AutobuyWalletFailure>
  /** The wallet's tickets not yet spent, unmined ones included (gettickets true). */
  readonly ownTickets: Effect.Effect<ReadonlyArray<string>, AutobuyWalletFailure>
  /** purchaseticket in the current form; the txids of the tickets bought. */
  readonly purchase: (account: string, count: number, expiry: number) => Effect.Effect<ReadonlyArray<string>, AutobuyWalletFailure>
}

export interface AutobuyConfig {
  readonly network: NetworkParams
  readonly account: string
  readonly buyer: AutoBuyerConfig
  /** Decide and print, buy nothing. */
  readonly dryrun: boolean
  /** How often the tip is asked for. */
  readonly pollMillis: number
  /** Stop after this many new blocks (tests, demos); undefined = until interrupted. */
  readonly stopAfterBlocks?: number | undefined
}

const dcr = (atoms: bigint) => `${atomsToDcr(atoms)} DCR`

const SKIP_REASONS = {
  "window-ends-soon": "the price window ends in two blocks (a purchase could be mined at the old price in one block only)",
  "price-above-max": "the price is above ticketmaxprice",
  "balance-at-or-below-maintain": "the spendable balance is at or below balancetomaintain",
} as const

/**
 * Runs the auto-buyer until `stopAfterBlocks` new blocks were seen (or forever). New blocks are
 * found by polling `getbestblock` on the Effect clock: dcrwallet's HTTP POST JSON-RPC has no
 * notifications (they need its websocket), and one call per poll is cheap.
 *
 * A purchase whose reply is lost (timeout, connection reset, a reply that is none) may have
 * bought tickets anyway. Before anything is bought again, the wallet's tickets are read and
 * compared with those it had before the purchase: the difference is what was bought. Until
 * that read succeeds, nothing is bought. So a lost reply never makes it buy twice.
 */
export const runAutobuy = (config: AutobuyConfig, wallet: AutobuyWallet, log: (line: string) => Effect.Effect<void>): Effect.Effect<void> =>
  Effect.gen(function* () {
    let lastHeight = -1
    let blocksSeen = 0
    /** The tickets before a purchase whose reply was lost, until the wallet tells what it bought. */
    let unreconciled: ReadonlySet<string> | undefined
    const reconcile = Effect.gen(function* () {
      if (unreconciled === undefined) return true
      const after = yield* Effect.result(wallet.ownTickets)
      if (Result.isFailure(after)) {
        yield* log(`  the last purchase's reply was lost and the wallet's tickets cannot be read (${after.failure.message}); buying nothing until they can`)
        return false
      }
      const before = unreconciled
      const bought = after.success.filter((hash) => !before.has(hash))
      unreconciled = undefined
      yield* log(
        bought.length === 0
          ? "  the last purchase's reply was lost; the wallet has no new ticket: it bought nothing"
          : `  the last purchase's reply was lost; the wallet shows ${bought.length} new ticket(s), counted as bought: ${bought.join(" ")}`,
      )
      return true
    })

    const onBlock = (height: number) =>
      Effect.gen(function* () {
        if (!(yield* reconcile)) return
        const read = yield* Effect.result(Effect.all([wallet.nextPrice, wallet.feePerTicket, wallet.spendable(config.account)]))
        if (Result.isFailure(read)) return yield* log(`block ${height}: no decision, the wallet did not answer (${read.failure.message})`)
        const [price, feePerTicket, spendable] = read.success
        const decision = decideAutoBuy(config.buyer, { params: config.network, height, price, feePerTicket, spendable })
        const head = `block ${height}: price ${dcr(price)}, spendable ${dcr(spendable)}`
        if (decision.buy === 0) {
          const reason = "skipped" in decision ? SKIP_REASONS[decision.skipped] : "the balance above balancetomaintain pays for no ticket"
          return yield* log(`${head}: buy nothing, ${reason}`)
        }
        const { expiry } = decision as { readonly expiry: number }
        if (config.dryrun) return yield* log(`${head}: would buy ${decision.buy} ticket(s) expiring at ${expiry} (--dryrun)`)
        const before = yield* Effect.result(wallet.ownTickets)
        if (Result.isFailure(before)) return yield* log(`${head}: buy nothing, the wallet's tickets cannot be read first (${before.failure.message})`)
        const bought = yield* Effect.result(wallet.purchase(config.account, decision.buy, expiry))
        if (Result.isSuccess(bought)) return yield* log(`${head}: bought ${bought.success.length} ticket(s) expiring at ${expiry}: ${bought.success.join(" ")}`)
        if (bought.failure._tag === "JsonRpcRefused") return yield* log(`${head}: buying ${decision.buy} ticket(s) failed: ${bought.failure.message}`)
        yield* log(`${head}: the reply to buying ${decision.buy} ticket(s) was lost (${bought.failure.message}); reconciling from the wallet's tickets`)
        unreconciled = new Set(before.success)
        yield* reconcile
      })

    while (config.stopAfterBlocks === undefined || blocksSeen < config.stopAfterBlocks) {
      const tip = yield* Effect.result(wallet.bestBlock)
      if (Result.isFailure(tip)) yield* log(`the wallet did not answer getbestblock (${tip.failure.message}); asking again`)
      else if (tip.success.height !== lastHeight) {
        lastHeight = tip.success.height
        blocksSeen++
        yield* onBlock(tip.success.height)
        continue
      }
      yield* Effect.sleep(config.pollMillis)
    }
  })

const BestBlock = Schema.Struct({ hash: Schema.String, height: Schema.Number })
// dcrwallet answers `{current, next}`; dcrd's names are `...stakedifficulty`: either is read.
const StakeDifficulty = Schema.Struct({ next: Schema.optional(Schema.Union([Schema.String, Schema.Number])), nextstakedifficulty: Schema.optional(Schema.Union([Schema.String, Schema.Number])) })
const Balance = Schema.Struct({ balances: Schema.Array(Schema.Struct({ accountname: Schema.String, spendable: Schema.Union([Schema.String, Schema.Number]) })) })
const Tickets = Schema.Struct({ hashes: Schema.NullOr(Schema.Array(Schema.String)) })
const Hashes = Schema.Array(Schema.String)
const WalletInfo = Schema.Struct({ txfee: Schema.Union([Schema.String, Schema.Number]) })

/** A ticket purchase's size in bytes, for its fee from the wallet's fee rate per kB. */
const TICKET_BYTES = 298n

/**
 * Reads a reply with `schema`; a reply of another shape fails as the wallet being unusable
 * (which, for a purchase, is also a lost reply: reconciled before buying again).
 */
const decode = <A>(method: string, schema: Schema.Codec<A, unknown>, value: unknown): Effect.Effect<A, AutobuyWalletFailure> => {
  const r = Schema.decodeUnknownResult(schema)(value)
  return Result.isSuccess(r) ? Effect.succeed(r.success) : Effect.fail(unusableReply(method, value))
}

const unusableReply = (method: string, value: unknown) => new WalletReplyUnusable({ method, reply: String(JSON.stringify(value)).slice(0, 120) })

const atoms = (method: string, value: string | number, field: string): Effect.Effect<bigint, AutobuyWalletFailure> => {
  const r = dcrToAtoms(value, field)
  return Result.isSuccess(r) ? Effect.succeed(r.success) : Effect.fail(unusableReply(method, value))
}

const EXACT = new Set(["next", "nextstakedifficulty", "spendable", "txfee"])

/** The `AutobuyWallet` over a dcrwallet JSON-RPC caller. */
export const rpcAutobuyWallet = (call: JsonRpcCall): AutobuyWallet => ({
  bestBlock: Effect.flatMap(call("getbestblock"), (r) => decode("getbestblock", BestBlock, r)),
  nextPrice: Effect.flatMap(call("getstakedifficulty", [], EXACT), (r) =>
    Effect.flatMap(decode("getstakedifficulty", StakeDifficulty, r), (d) => {
      const next = d.next ?? d.nextstakedifficulty
      return next === undefined ? Effect.fail(unusableReply("getstakedifficulty", r)) : atoms("getstakedifficulty", next, "next")
    }),
  ),
  // dcrwallet 2.1 has no getticketfee: its fee rate (DCR/kB) is walletinfo's txfee.
  feePerTicket: Effect.flatMap(call("walletinfo", [], EXACT), (r) =>
    Effect.flatMap(decode("walletinfo", WalletInfo, r), (w) => Effect.map(atoms("walletinfo", w.txfee, "txfee"), (perKb) => (perKb * TICKET_BYTES + 999n) / 1000n)),
  ),
  spendable: (account) =>
    Effect.flatMap(call("getbalance", [account, 1], EXACT), (r) =>
      Effect.flatMap(decode("getbalance", Balance, r), (b) => {
        const entry = b.balances.find((x) => x.accountname === account)
        return entry === undefined ? Effect.succeed(0n) : atoms("getbalance", entry.spendable, "spendable")
      }),
    ),
  ownTickets: Effect.flatMap(call("gettickets", [true]), (r) => Effect.map(decode("gettickets", Tickets, r), (t) => t.hashes ?? [])),
  purchase: (account, count, expiry) => Effect.flatMap(call("purchaseticket", [account, 1, count, expiry]), (r) => decode("purchaseticket", Hashes, r)),
})
