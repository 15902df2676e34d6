import { Data, Effect, Result } from "effect"
import type { TicketRejection } from "../core/stake/errors.ts"
import type { Ticket } from "../core/stake/model.ts"
import type { SimDcrd } from "./dcrd.ts"

/** What a ticket costs beside its price: the simulated network's ticket fee (as its other stakers pay). */
const TICKET_FEE_ATOMS = 10_000n

/** The account a staker's wallet buys from, as dcrwallet names its first. */
export const STAKING_ACCOUNT = "default"

/**
 * dcrwallet's balance of one account (`getbalance`), in atoms:
 * - `spendable`: the starting amount, less every ticket's price and fee, plus what votes and
 *   revocations returned once those returns matured (CoinbaseMaturity blocks, as dcrwallet's
 *   `coinbaseMatured` counts them for vote and revocation outputs);
 * - `immatureStakeGeneration`: returns not matured yet;
 * - `lockedByTickets`: the commitments (price + fee) of tickets not yet spent by a vote or a
 *   revocation, unmined ones included;
 * - `votingAuthority`: the ticket outputs (prices) of those tickets;
 * - `total`: spendable + immature stake generation + locked by tickets.
 */
interface StakingBalance {
  readonly spendable: bigint
  readonly immatureStakeGeneration: bigint
  readonly lockedByTickets: bigint
  readonly votingAuthority: bigint
  readonly total: bigint
}

/** A purchase the wallet did not make: too little spendable for one ticket, or the mempool's refusal. */
class StakingPurchaseRefused extends Data.TaggedError("StakingPurchaseRefused")<{
  readonly reason: "insufficient-balance" | TicketRejection
  readonly message: string
}> {}

interface SimStakingWalletOptions {
  readonly dcrd: SimDcrd
  /** The staker's address: its tickets' owner and commitment address. */
  readonly owner: string
  /** Atoms the wallet holds before its first purchase, all spendable. */
  readonly startingBalance: bigint
}

export interface SimStakingWallet {
  readonly owner: string
  readonly feePerTicket: bigint
  balance(): StakingBalance
  /**
   * The wallet's tickets in purchase order, from the mempool to their end. A purchase the
   * mempool dropped unmined is gone, as dcrwallet removes an expired unmined transaction (and
   * its price and fee are spendable again).
   */
  tickets(): ReadonlyArray<Ticket>
  /**
   * Buys `count` tickets at the next block's price, or as many as the spendable balance pays for
   * (dcrwallet buys fewer rather than none); refused when it pays for none.
   */
  purchase(count: number, options?: { readonly expiry?: number }): Effect.Effect<ReadonlyArray<Ticket>, StakingPurchaseRefused>
}

/**
 * One staker's wallet on the simulated network: a balance and the tickets it bought through the
 * simulated dcrd's mempool, their lifecycle read from the stake model. Balance flows, all in
 * atoms: a starting amount; each purchase takes price + fee; each vote or revocation returns
 * what the stake model paid its commitment, spendable CoinbaseMaturity blocks later.
 */
export const makeSimStakingWallet = (options: SimStakingWalletOptions): SimStakingWallet => {
  const { dcrd, owner } = options
  const bought: Array<Ticket> = []
  const known = new Set<string>()
  // The model hands out its own ticket records, updated in place as blocks connect and
  // disconnect, and still whole after it forgets ended tickets: holding them is the history.
  const remember = (t: Ticket) => {
    if (known.has(t.id)) return
    known.add(t.id)
    bought.push(t)
  }
  const tickets = (): ReadonlyArray<Ticket> => bought.filter((t) => t.status !== "dropped")

  const balance = (): StakingBalance => {
    const tip = dcrd.height()
    const maturity = dcrd.network.coinbaseMaturity
    let spent = 0n
    let matured = 0n
    let immature = 0n
    let locked = 0n
    let voting = 0n
    for (const t of tickets()) {
      const cost = t.purchase.price + t.purchase.fee
      spent += cost
      const returnedAt = t.status === "voted" ? t.spentAt : t.status === "revoked" ? t.revokedAt : undefined
      if (returnedAt === undefined) {
        locked += cost
        voting += t.purchase.price
        continue
      }
      const returned = (t.returns ?? []).reduce((a, b) => a + b, 0n)
      if (tip - returnedAt >= maturity) matured += returned
      else immature += returned
    }
    const spendable = options.startingBalance - spent + matured
    return { spendable, immatureStakeGeneration: immature, lockedByTickets: locked, votingAuthority: voting, total: spendable + immature + locked }
  }

  const purchase = (count: number, opts: { readonly expiry?: number } = {}): Effect.Effect<ReadonlyArray<Ticket>, StakingPurchaseRefused> =>
    Effect.suspend(() => {
      const price = dcrd.model.nextStakeDifficulty()
      const spendable = balance().spendable
      const affordable = spendable <= 0n ? 0 : Number(spendable / (price + TICKET_FEE_ATOMS))
      const n = Math.min(count, affordable)
      if (n < 1) {
        return Effect.fail(
          new StakingPurchaseRefused({
            reason: "insufficient-balance",
            message: `spendable ${spendable} atoms does not pay for one ticket at ${price} atoms plus a ${TICKET_FEE_ATOMS} atom fee`,
          }),
        )
      }
      return dcrd.buyTickets(owner, n, { fee: TICKET_FEE_ATOMS, ...(opts.expiry === undefined ? {} : { expiry: opts.expiry }) }).pipe(
        Effect.result,
        Effect.flatMap((r) => {
          // Whatever reached the mempool is the wallet's, even when a later one was refused.
          for (const t of dcrd.model.mempoolTickets()) if (t.purchase.owner === owner) remember(t)
          return Result.isSuccess(r) ? Effect.succeed(r.success) : Effect.fail(new StakingPurchaseRefused({ reason: r.failure.reason, message: r.failure.message }))
        }),
      )
    })

  return { owner, feePerTicket: TICKET_FEE_ATOMS, balance, tickets, purchase }
}
