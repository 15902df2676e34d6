import { Result } from "effect"
import { decodeAddress, type DecodedAddress } from "../core/chain/address.ts"
import type { NetworkParams } from "../core/chain/params.ts"
import type { TicketCommitment, TicketPurchase } from "../core/stake/model.ts"
import { atomsToDcr, dcrToAtoms } from "../core/chain/amounts.ts"
import { InvalidArgument, PurchaseRefused } from "./errors.ts"

/**
 * The two shapes of dcrwallet's `purchaseticket`:
 * - "2016": `fromaccount spendlimit [minconf=1] [ticketaddress] [numtickets=1] [pooladdress]
 *   [poolfees] [expiry] [comment]` (dcrwallet through release-v2.0, stake pools of the dcrstakepool era)
 * - "current": `fromaccount [minconf=1] [numtickets=1] [expiry] [comment] [dontsigntx]` (release-v2.1)
 * The shapes cannot be told apart from the values alone (`default 1 1` is valid in both), so the
 * caller says which one its wallet speaks.
 */
type PurchaseTicketForm = "2016" | "current"

interface StakePoolTerms {
  /** The pool's address: its fee commitment, and (with the user's key) the voting rights. */
  readonly address: DecodedAddress
  /** Its fee in basis points of the vote reward (7.5% = 750). */
  readonly feeBasisPoints: number
}

export interface PurchaseTicketRequest {
  readonly form: PurchaseTicketForm
  readonly account: string
  /** 2016 form: refuse to pay more than this per ticket. */
  readonly spendLimit: bigint | undefined
  readonly minConf: number
  /** Where the voting rights go; undefined = an address of the wallet's own. */
  readonly ticketAddress: DecodedAddress | undefined
  readonly numTickets: number
  /** A 2016 stake pool (shared voting and a fee commitment); undefined = solo. */
  readonly pool: StakePoolTerms | undefined
  /** Transaction expiry height: the purchase may not be mined at or after it. */
  readonly expiry: number | undefined
  readonly comment: string | undefined
}

/**
 * Not given: missing, null, or an empty string. dcrwallet's 2016 parser skipped an empty
 * ticketaddress or pooladdress and never read poolfees without a pool, so guides fill the
 * places they skip with "" (`purchaseticket "default" 23 1 "" 1 "" "" 1 "…"`).
 */
const absent = (v: unknown) => v === undefined || v === null || v === ""

const text = (params: ReadonlyArray<unknown>, i: number, field: string, required: boolean) => {
  const v = params[i]
  if (absent(v)) {
    return required ? Result.fail(new InvalidArgument({ field, message: `${field} is required` })) : Result.succeed(undefined as string | undefined)
  }
  if (typeof v !== "string") return Result.fail(new InvalidArgument({ field, message: `${field} must be a string, got ${JSON.stringify(v)}` }))
  return Result.succeed(v as string | undefined)
}

/** A whole number, as a JSON number or its decimal text (what a command line gives, as dcrctl converts it). */
const integer = (params: ReadonlyArray<unknown>, i: number, field: string, fallback: number | undefined, min: number) => {
  const v = params[i]
  if (absent(v)) return Result.succeed(fallback)
  const n = typeof v === "string" && /^\s*-?\d+\s*$/.test(v) ? Number(v) : v
  if (typeof n !== "number" || !Number.isSafeInteger(n) || n < min) {
    return Result.fail(new InvalidArgument({ field, message: `${field} must be a whole number of at least ${min}, got ${JSON.stringify(v)}` }))
  }
  return Result.succeed(n as number | undefined)
}

/**
 * An amount in DCR (a JSON number or a decimal string) to atoms, exactly; when it is refused the
 * message names `field` and ends with `fix`.
 */
const amount = (value: unknown, field: string, fix: string): Result.Result<bigint, InvalidArgument> =>
  Result.mapError(dcrToAtoms(value, field), (e) => new InvalidArgument({ field, message: `${e.message}; ${fix}` }))

/**
 * A percentage (e.g. a stake pool's 7.5) in basis points (750), exactly, from its decimal
 * form; at most two decimal places, between 0 and 100.
 */
export const percentToBasisPoints = (value: unknown, field: string): Result.Result<number, InvalidArgument> => {
  const fail = (message: string) => Result.fail(new InvalidArgument({ field, message: `${field}: ${message}` }))
  if (typeof value !== "number" && typeof value !== "string") return fail(`expected a percentage, got ${typeof value}`)
  const m = /^(\d+)(?:\.(\d{1,2}))?$/.exec(String(value).trim())
  if (m === null) return fail(`"${String(value)}" is not a percentage with at most two decimal places`)
  const bp = Number(m[1]) * 100 + Number((m[2] ?? "").padEnd(2, "0"))
  if (bp > 10_000) return fail(`${String(value)}% is more than 100%`)
  return Result.succeed(bp)
}

const address = (value: string | undefined, field: string, params: NetworkParams): Result.Result<DecodedAddress | undefined, InvalidArgument> => {
  if (value === undefined || value === "") return Result.succeed(undefined)
  return Result.mapError(decodeAddress(value, params), (e) => new InvalidArgument({ field, message: `${field}: ${e.message}` }))
}

/** Reads `purchaseticket` params in the given form, checking every value, addresses included. */
export const parsePurchaseTicket = (params: ReadonlyArray<unknown>, form: PurchaseTicketForm, network: NetworkParams): Result.Result<PurchaseTicketRequest, InvalidArgument> =>
  Result.gen(function* () {
    const account = (yield* text(params, 0, "fromaccount", true))!
    if (form === "current") {
      if (params.length > 6) {
        return yield* Result.fail(new InvalidArgument({ field: "params", message: `purchaseticket takes at most 6 params in its current form, got ${params.length}: is this the 2016 form?` }))
      }
      return {
        form,
        account,
        spendLimit: undefined,
        minConf: (yield* integer(params, 1, "minconf", 1, 0))!,
        ticketAddress: undefined,
        numTickets: (yield* integer(params, 2, "numtickets", 1, 1))!,
        pool: undefined,
        expiry: yield* integer(params, 3, "expiry", undefined, 1),
        comment: yield* text(params, 4, "comment", false),
      }
    }
    if (absent(params[1])) return yield* Result.fail(new InvalidArgument({ field: "spendlimit", message: "spendlimit is required in the 2016 form" }))
    const spendLimit = yield* amount(params[1], "spendlimit", "give the most one ticket may cost, in DCR (e.g. 23)")
    const ticketAddress = yield* address(yield* text(params, 3, "ticketaddress", false), "ticketaddress", network)
    const poolAddress = yield* address(yield* text(params, 5, "pooladdress", false), "pooladdress", network)
    let pool: StakePoolTerms | undefined
    if (poolAddress !== undefined) {
      if (absent(params[6])) {
        return yield* Result.fail(new InvalidArgument({ field: "poolfees", message: "poolfees is required with a pooladdress (the pool's fee in percent)" }))
      }
      const feeBasisPoints = yield* percentToBasisPoints(params[6], "poolfees")
      if (feeBasisPoints === 0) return yield* Result.fail(new InvalidArgument({ field: "poolfees", message: "poolfees must be above 0% for a stake pool" }))
      pool = { address: poolAddress, feeBasisPoints }
    } else if (!absent(params[6])) {
      return yield* Result.fail(new InvalidArgument({ field: "poolfees", message: `poolfees given without a pooladdress: give the pool's address too, or leave poolfees empty ("") to vote solo` }))
    }
    return {
      form,
      account,
      spendLimit,
      minConf: (yield* integer(params, 2, "minconf", 1, 0))!,
      ticketAddress,
      numTickets: (yield* integer(params, 4, "numtickets", 1, 1))!,
      pool,
      expiry: yield* integer(params, 7, "expiry", undefined, 1),
      comment: yield* text(params, 8, "comment", false),
    }
  })

/** What today's dcrwallet (release-v2.1) `purchaseticket fromaccount [minconf] [numtickets] [expiry]` takes. */
interface CurrentFormPurchase {
  readonly fromAccount: string
  readonly minConf: number
  readonly numTickets: number
  readonly expiry?: number | undefined
}

/**
 * A request as today's dcrwallet takes it, enforcing here what it no longer does: the 2016
 * spend limit is held against the current price before anything is sent; a ticket address,
 * pool address or pool fee (dcrwallet 2.1 dropped them) is refused with what replaces it.
 * The expiry goes through as given: dcrwallet refuses one at or below the next block's height.
 */
export const toCurrentForm = (request: PurchaseTicketRequest, currentPriceAtoms: bigint): Result.Result<CurrentFormPurchase, PurchaseRefused> => {
  const notTaken = (message: string) => Result.fail(new PurchaseRefused({ reason: "not-in-current-wallet", message }))
  if (request.pool !== undefined) {
    return notTaken(
      "pooladdress and poolfees (a 2016 stake pool) are not taken by dcrwallet 2.1: use a voting service instead, started with dcrwallet's --vsp.url and --vsp.pubkey, and leave both empty",
    )
  }
  if (request.ticketAddress !== undefined) {
    return notTaken(
      "ticketaddress is not taken by dcrwallet 2.1: the ticket's voting address comes from the wallet's voting account (or a voting service's, with dcrwallet's --vsp.url and --vsp.pubkey); leave ticketaddress empty",
    )
  }
  if (request.spendLimit !== undefined && currentPriceAtoms > request.spendLimit) {
    return Result.fail(
      new PurchaseRefused({
        reason: "price-above-spend-limit",
        message: `ticket price ${atomsToDcr(currentPriceAtoms)} DCR is above your spend limit ${atomsToDcr(request.spendLimit)} DCR`,
      }),
    )
  }
  return Result.succeed({ fromAccount: request.account, minConf: request.minConf, numTickets: request.numTickets, ...(request.expiry === undefined ? {} : { expiry: request.expiry }) })
}

/** What the wallet knows when it prices a purchase. */
export interface PurchaseContext {
  /** Tip height. */
  readonly height: number
  /** The stake difficulty of the next block: what each ticket pays. */
  readonly price: bigint
  /** The purchase transaction fee per ticket. */
  readonly feePerTicket: bigint
  /** Spendable balance of the account with at least `minConf` confirmations. */
  readonly spendable: bigint
  /** Vote subsidy a ticket can expect, for a stake pool's fee commitment. */
  readonly voteSubsidy: bigint
}

interface PurchasePlan {
  /** Tickets that will be bought: numtickets, or fewer if the balance runs out. */
  readonly count: number
  readonly price: bigint
  readonly feePerTicket: bigint
  /** Per ticket: who gets what share of the returns (they add up to price + fee). */
  readonly commitments: ReadonlyArray<TicketCommitment>
  /** The voting address: the ticket address, the pool's, or the wallet's own (undefined). */
  readonly votingAddress: string | undefined
  readonly expiry: number
  readonly totalCost: bigint
}

/**
 * Prices a purchase request: refuses a price above the spend limit, an expiry already
 * reached, or a balance that cannot pay for one ticket; otherwise buys as many of the
 * requested tickets as the balance allows. A 2016 stake pool's fee is a commitment sized so
 * that its share of a vote's returns is its fee percentage of the vote subsidy.
 */
export const planTicketPurchase = (request: PurchaseTicketRequest, ctx: PurchaseContext, owner: string): Result.Result<PurchasePlan, PurchaseRefused> => {
  if (request.spendLimit !== undefined && ctx.price > request.spendLimit) {
    return Result.fail(
      new PurchaseRefused({
        reason: "price-above-spend-limit",
        message: `the ticket price ${atomsToDcr(ctx.price)} DCR is above the spend limit ${atomsToDcr(request.spendLimit)} DCR; raise spendlimit or wait for a lower price`,
      }),
    )
  }
  const expiry = request.expiry ?? 0
  if (expiry !== 0 && expiry <= ctx.height + 1) {
    return Result.fail(
      new PurchaseRefused({
        reason: "expiry-passed",
        message: `expiry height ${expiry} leaves no block to mine the ticket (the next block is ${ctx.height + 1}); use a later height`,
      }),
    )
  }
  const costPerTicket = ctx.price + ctx.feePerTicket
  const affordable = Number(ctx.spendable / costPerTicket)
  const count = Math.min(request.numTickets, affordable)
  if (count === 0) {
    return Result.fail(
      new PurchaseRefused({
        reason: "insufficient-funds",
        message: `one ticket costs ${atomsToDcr(costPerTicket)} DCR (price and fee); account "${request.account}" has ${atomsToDcr(ctx.spendable)} DCR spendable with ${request.minConf} confirmations`,
      }),
    )
  }
  const total = costPerTicket
  let commitments: Array<TicketCommitment> = [{ address: owner, amount: total }]
  if (request.pool !== undefined) {
    // poolShare / total * (price + subsidy) = fee% * subsidy
    const poolShare = (BigInt(request.pool.feeBasisPoints) * ctx.voteSubsidy * total) / (10_000n * (ctx.price + ctx.voteSubsidy))
    commitments = [
      { address: owner, amount: total - poolShare },
      { address: request.pool.address.address, amount: poolShare },
    ]
  }
  return Result.succeed({
    count,
    price: ctx.price,
    feePerTicket: ctx.feePerTicket,
    commitments,
    votingAddress: request.pool?.address.address ?? request.ticketAddress?.address,
    expiry,
    totalCost: costPerTicket * BigInt(count),
  })
}

/** The plan's tickets as purchases the stake model (or a simulated wallet) takes. */
export const planToPurchases = (plan: PurchasePlan, owner: string, nextHash: () => Uint8Array, size = 298): Array<TicketPurchase> =>
  Array.from({ length: plan.count }, () => ({
    hash: nextHash(),
    owner,
    price: plan.price,
    fee: plan.feePerTicket,
    size,
    commitments: plan.commitments,
    expiry: plan.expiry,
  }))
