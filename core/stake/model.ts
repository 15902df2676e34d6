import { Result } from "effect"
import { isAgendaActive, type AgendaActivations } from "../chain/agendas.ts"
import { bytesEqual, hexToBytes, toHex } from "../chain/bytes.ts"
import { type BlockHeader, decodeHeader, HEADER_BYTES } from "../chain/header.ts"
import type { NetworkParams } from "../chain/params.ts"
import { minimumVotesRequired, subsidySplitAt, voteSubsidy } from "../chain/subsidy.ts"
import { nextStakeDifficulty, type StakeHeaderFacts } from "./difficulty.ts"
import { BlockRejected, TicketRejected } from "./errors.ts"
import { drawWinners, lotteryFinalState } from "./lottery.ts"
import { hexPrefix, OrderedSet } from "./ordered-set.ts"
import { revocationReturns, voteReturns } from "./returns.ts"

/** Where a ticket is in its life. `voted`, `revoked` and `dropped` are the ends. */
type TicketStatus = "mempool" | "immature" | "live" | "voted" | "missed" | "expired" | "revoked" | "dropped"

export const TICKET_STATUSES: ReadonlyArray<TicketStatus> = ["mempool", "immature", "live", "voted", "missed", "expired", "revoked", "dropped"]

/** Why the mempool let a ticket go without it being mined. */
type DropReason =
  /** Priced for an earlier window: below the stake difficulty of the next block. */
  | "price-below-stake-difficulty"
  /** Its transaction expiry height was reached before a block took it. */
  | "transaction-expired"
  /** Waited longer than dcrd keeps tickets in its mempool (288 blocks). */
  | "stale-in-mempool"

/** A commitment output: who gets this share of the returns, and what they put in. */
export interface TicketCommitment {
  readonly address: string
  readonly amount: bigint
}

export interface TicketPurchase {
  /** The ticket's transaction hash, 32 raw (internal-order) bytes. */
  readonly hash: Uint8Array
  /** The wallet that holds the voting rights (solo wallet or voting service client). */
  readonly owner: string
  /** Output 0: what the ticket stakes; must be at least the stake difficulty. */
  readonly price: bigint
  /** The purchase transaction's fee, paid to the miner and never returned. */
  readonly fee: bigint
  /** Transaction size in bytes, for the fee rate the miner orders by. */
  readonly size: number
  /** What each contributor put in; they add up to price + fee. */
  readonly commitments: ReadonlyArray<TicketCommitment>
  /** Transaction expiry height (0 = none): it may not be mined at or after this height. */
  readonly expiry: number
}

export interface Ticket {
  /** Lower-case hex of the raw hash bytes: the pool's sort key. */
  readonly id: string
  readonly purchase: TicketPurchase
  readonly status: TicketStatus
  /** Arrival order in the mempool; breaks fee-rate ties (older first). */
  readonly sequence: number
  /** Tip height when the ticket reached the mempool. */
  readonly receivedAt: number
  readonly minedAt: number | undefined
  /** Height of the block whose connection made it live (minedAt + TicketMaturity). */
  readonly liveAt: number | undefined
  /** Height of the block that carried its vote, or in which it was missed or expired. */
  readonly spentAt: number | undefined
  readonly revokedAt: number | undefined
  readonly voteSubsidy: bigint
  /** What was paid back to each commitment, once voted or revoked. */
  readonly returns: ReadonlyArray<bigint> | undefined
  readonly dropReason: DropReason | undefined
}

type MutableTicket = { -readonly [K in keyof Ticket]: Ticket[K] }

/** What a block does to the stake state, for wallets, the simulator and the run log. */
export type StakeEvent =
  | { readonly _tag: "TicketMined"; readonly ticket: string; readonly height: number }
  | { readonly _tag: "TicketMatured"; readonly ticket: string; readonly height: number }
  | { readonly _tag: "TicketsDrawn"; readonly height: number; readonly winners: ReadonlyArray<string> }
  | {
      readonly _tag: "TicketVoted"
      readonly ticket: string
      readonly height: number
      readonly voteSubsidy: bigint
      readonly returns: ReadonlyArray<bigint>
    }
  | { readonly _tag: "TicketMissed"; readonly ticket: string; readonly height: number; readonly expired: boolean }
  | { readonly _tag: "TicketRevoked"; readonly ticket: string; readonly height: number; readonly returns: ReadonlyArray<bigint> }
  | { readonly _tag: "TicketDropped"; readonly ticket: string; readonly height: number; readonly reason: DropReason }

/** The stake transactions of a block, by ticket id. */
export interface StakeBlock {
  /** The block's serialized 180-byte header (seeds the lottery; its stake fields are checked). */
  readonly header: Uint8Array
  /** Ticket purchases mined in the block. */
  readonly tickets: ReadonlyArray<string>
  /** Winners of the parent's lottery that vote in this block. */
  readonly votes: ReadonlyArray<string>
  /** Owner-made revocations of missed tickets (only before automatic revocations, DCP-0009). */
  readonly revocations: ReadonlyArray<string>
}

/** The stake fields a valid header at the next height must carry, given its stake transactions. */
export interface HeaderStakeFields {
  readonly height: number
  readonly sbits: bigint
  readonly poolSize: number
  readonly finalState: Uint8Array
  readonly voters: number
  readonly freshStake: number
  readonly revocations: number
}

/** Per-owner counts and sums, kept as tickets change status. */
export interface OwnerTotals {
  readonly counts: { readonly [S in TicketStatus]: number }
  /** Tickets that were called and did not vote (revoked or not). */
  readonly missedEver: number
  /** Tickets that expired unvoted (revoked or not). */
  readonly expiredEver: number
  readonly voteSubsidies: bigint
  readonly pricesPaid: bigint
  readonly feesPaid: bigint
  readonly returned: bigint
}

type MutableTotals = {
  counts: Record<TicketStatus, number>
  missedEver: number
  expiredEver: number
  voteSubsidies: bigint
  pricesPaid: bigint
  feesPaid: bigint
  returned: bigint
}

const emptyTotals = (): MutableTotals => ({
  counts: { mempool: 0, immature: 0, live: 0, voted: 0, missed: 0, expired: 0, revoked: 0, dropped: 0 },
  missedEver: 0,
  expiredEver: 0,
  voteSubsidies: 0n,
  pricesPaid: 0n,
  feesPaid: 0n,
  returned: 0n,
})

/** dcrd prunes tickets that waited this many blocks in the mempool. */
const MEMPOOL_TICKET_LIFETIME = 288

interface StakeModelOptions {
  /** Blocks that can be disconnected again (reorg depth); undo data older than this is dropped. */
  readonly maxReorgDepth?: number
  /**
   * Keep every ticket for `ticket(id)` after it ended (voted, revoked, dropped). Off by
   * default: ended tickets are forgotten once no reorg can bring them back, so memory stays
   * bounded by the live and immature pool over any number of blocks; the per-owner totals
   * and the events keep their history.
   */
  readonly keepEndedTickets?: boolean
  /** The genesis header (defaults to the network's). */
  readonly genesisHeader?: Uint8Array
}

const EMPTY_FINAL_STATE = new Uint8Array(6)

/**
 * Decred's stake rules as a deterministic state machine advanced block by block, following
 * dcrd (`blockchain/stake`, `internal/blockchain`, `internal/mempool`, `internal/mining`):
 * mempool admission and pruning, at most MaxFreshStakePerBlock purchases per block,
 * maturity, the lottery, votes and misses, expiry, revocations (automatic under DCP-0009),
 * returns in atoms, and the DCP-0001 ticket price. Blocks can be disconnected again up to
 * `maxReorgDepth` deep.
 */
export class StakeModel {
  readonly params: NetworkParams
  readonly activations: AgendaActivations

  private tipHeight = 0
  private tipHeader: Uint8Array
  private readonly history: Array<StakeHeaderFacts> = []
  private readonly tickets = new Map<string, MutableTicket>()
  private readonly mempool = new Map<string, MutableTicket>()
  private readonly live = new OrderedSet({ prefix: hexPrefix })
  /** Tickets mined at h, keyed by the height h + TicketMaturity at which they go live. */
  private readonly maturingAt = new Map<number, Array<string>>()
  /** Live tickets keyed by the height liveAt + TicketExpiry at which they expire. */
  private readonly expiringAt = new Map<number, Array<string>>()
  /** Missed or expired tickets not yet revoked. */
  private readonly unrevoked = new Set<string>()
  private winners: ReadonlyArray<string> = []
  private tipFinalState: Uint8Array = EMPTY_FINAL_STATE
  private readonly totalsByOwner = new Map<string, MutableTotals>()
  private readonly networkTotals = emptyTotals()
  private sequence = 0
  private voteRoundingLoss = 0n
  private readonly undoLog: Array<Array<() => void>> = []
  private readonly maxReorgDepth: number
  private cachedNextSdiff: { readonly tip: Uint8Array; readonly value: bigint } | undefined
  private readonly keepEndedTickets: boolean
  /** Tickets that reached an end, by the height they did, until they are forgotten. */
  private readonly endedAt: Array<{ readonly height: number; readonly id: string }> = []

  constructor(params: NetworkParams, activations: AgendaActivations, options: StakeModelOptions = {}) {
    if (!isAgendaActive(activations, "sdiffalgorithm", 1)) {
      throw new RangeError(`${params.name}: the stake model implements DCP-0001 stake difficulty only; give it activations with sdiffalgorithm active from block 1`)
    }
    this.params = params
    this.activations = activations
    this.maxReorgDepth = options.maxReorgDepth ?? 16
    this.keepEndedTickets = options.keepEndedTickets ?? false
    this.tipHeader = options.genesisHeader ?? Uint8Array.from(Buffer.from(params.genesis.headerHex, "hex"))
    const genesis = Result.getOrThrow(decodeHeader(this.tipHeader))
    this.history.push({ sbits: genesis.sbits, poolSize: genesis.poolSize, freshStake: genesis.freshStake })
  }

  // ---- reading the state -------------------------------------------------------------

  get height(): number {
    return this.tipHeight
  }

  /** Live tickets after the tip: the next header's PoolSize. */
  get poolSize(): number {
    return this.live.size
  }

  /** The tip's lottery winners, who may vote in the next block. */
  get nextWinners(): ReadonlyArray<string> {
    return this.winners
  }

  /** The tip's lottery final state: the next header's FinalState. */
  get finalState(): Uint8Array {
    return this.tipFinalState
  }

  get tipHeaderBytes(): Uint8Array {
    return this.tipHeader
  }

  /** The ticket price the next block requires. */
  nextStakeDifficulty(): bigint {
    // Asked for by every purchase and several times per block; it only changes with the tip.
    if (this.cachedNextSdiff === undefined || this.cachedNextSdiff.tip !== this.tipHeader) {
      this.cachedNextSdiff = { tip: this.tipHeader, value: nextStakeDifficulty(this.params, this.tipHeight, this.historyAt) }
    }
    return this.cachedNextSdiff.value
  }

  /** SBits, PoolSize and FreshStake of the header at `height` on this branch. */
  headerFactsAt(height: number): StakeHeaderFacts {
    const facts = this.history[height]
    if (facts === undefined) throw new RangeError(`no block at height ${height} (tip ${this.tipHeight})`)
    return facts
  }

  ticket(id: string): Ticket | undefined {
    return this.tickets.get(id)
  }

  /** Every ticket the model has seen, in arrival order. */
  allTickets(): IterableIterator<Ticket> {
    return this.tickets.values()
  }

  /** Tickets waiting in the mempool. */
  mempoolTickets(): ReadonlyArray<Ticket> {
    return [...this.mempool.values()]
  }

  /** Live tickets in pool order (raw hash bytes). */
  liveTickets(): IterableIterator<string> {
    return this.live[Symbol.iterator]()
  }

  /** Missed or expired tickets that have not been revoked (only lasts past its block before DCP-0009). */
  unrevokedTickets(): ReadonlyArray<string> {
    return [...this.unrevoked]
  }

  totalsFor(owner: string): OwnerTotals {
    return this.totalsByOwner.get(owner) ?? emptyTotals()
  }

  get totals(): OwnerTotals {
    return this.networkTotals
  }

  /** Atoms that vote rounding left unpaid (they go to the vote's transaction fee). */
  get voteRoundingRemainder(): bigint {
    return this.voteRoundingLoss
  }

  get autoRevocations(): boolean {
    return isAgendaActive(this.activations, "autorevocations", this.tipHeight + 1)
  }

  // ---- the mempool -------------------------------------------------------------------

  /** Offers a purchase to the mempool; it must pay at least the next block's ticket price. */
  submitTicket(purchase: TicketPurchase): Result.Result<Ticket, TicketRejected> {
    const id = toHex(purchase.hash)
    const reject = (reason: TicketRejected["reason"], message: string) => Result.fail(new TicketRejected({ ticket: id, reason, message: `ticket ${id}: ${message}` }))
    if (purchase.hash.length !== 32) return reject("bad-amount", `a ticket hash is 32 bytes, got ${purchase.hash.length}`)
    if (this.tickets.has(id)) return reject("duplicate", "already known")
    if (purchase.price <= 0n || purchase.fee < 0n || !(purchase.size > 0)) {
      return reject("bad-amount", `price ${purchase.price}, fee ${purchase.fee} and size ${purchase.size} must be positive`)
    }
    const committed = purchase.commitments.reduce((sum, c) => sum + c.amount, 0n)
    if (purchase.commitments.length === 0 || purchase.commitments.some((c) => c.amount < 0n) || committed !== purchase.price + purchase.fee) {
      return reject("commitments-do-not-add-up", `commitments add up to ${committed} atoms; they must add up to price + fee = ${purchase.price + purchase.fee}`)
    }
    const required = this.nextStakeDifficulty()
    if (purchase.price < required) {
      return reject("price-below-stake-difficulty", `price ${purchase.price} is below the stake difficulty ${required}`)
    }
    if (purchase.expiry !== 0 && purchase.expiry <= this.tipHeight + 1) {
      return reject("expired", `its expiry height ${purchase.expiry} leaves no block that may mine it`)
    }
    const ticket: MutableTicket = {
      id,
      purchase,
      status: "mempool",
      sequence: this.sequence++,
      receivedAt: this.tipHeight,
      minedAt: undefined,
      liveAt: undefined,
      spentAt: undefined,
      revokedAt: undefined,
      voteSubsidy: 0n,
      returns: undefined,
      dropReason: undefined,
    }
    this.tickets.set(id, ticket)
    this.mempool.set(id, ticket)
    this.count(ticket, "mempool", +1)
    const totals = [this.ownerTotals(purchase.owner), this.networkTotals]
    for (const t of totals) {
      t.pricesPaid += purchase.price
      t.feesPaid += purchase.fee
    }
    // Mempool arrivals are not part of a block, so they survive a disconnect: no undo entry.
    return Result.succeed(ticket)
  }

  /**
   * The purchases a miner puts in the next block: highest fee rate first (older first on a
   * tie), only those paying the next price and not expired, at most MaxFreshStakePerBlock.
   */
  selectTickets(): Array<string> {
    const required = this.nextStakeDifficulty()
    const nextHeight = this.tipHeight + 1
    const eligible = [...this.mempool.values()].filter((t) => t.purchase.price >= required && (t.purchase.expiry === 0 || nextHeight < t.purchase.expiry))
    eligible.sort(byFeeRateThenAge)
    return eligible.slice(0, this.params.maxFreshStakePerBlock).map((t) => t.id)
  }

  // ---- blocks ------------------------------------------------------------------------

  /**
   * The stake fields the next header must carry for a block with these stake transactions
   * (what a miner writes into the header it builds).
   */
  headerStakeFields(block: Omit<StakeBlock, "header">): HeaderStakeFields {
    const height = this.tipHeight + 1
    let revocations = block.revocations.length
    if (isAgendaActive(this.activations, "autorevocations", height) && height >= this.params.stakeEnabledHeight) {
      const voted = new Set(block.votes)
      revocations = this.winners.filter((w) => !voted.has(w)).length + this.expiringLive(height).length
    }
    return {
      height,
      sbits: this.nextStakeDifficulty(),
      poolSize: this.live.size,
      finalState: this.tipFinalState,
      voters: block.votes.length,
      freshStake: block.tickets.length,
      revocations,
    }
  }

  /**
   * Connects the next block. On success the state has moved to its height and the events
   * say what happened to which ticket; on failure nothing changed.
   */
  connectBlock(block: StakeBlock): Result.Result<ReadonlyArray<StakeEvent>, BlockRejected> {
    const height = this.tipHeight + 1
    const header = this.validate(block, height)
    if (header instanceof BlockRejected) return Result.fail(header)

    const undo: Array<() => void> = []
    const events: Array<StakeEvent> = []
    const params = this.params
    const autoRevocations = isAgendaActive(this.activations, "autorevocations", height)
    const prevHeader = this.tipHeader

    // Purchases: out of the mempool, immature until height + TicketMaturity.
    const maturity = height + params.ticketMaturity
    for (const id of block.tickets) {
      const t = this.tickets.get(id)!
      this.mempool.delete(id)
      undo.push(() => this.mempool.set(id, t))
      this.update(t, { status: "immature", minedAt: height }, undo)
      this.pushTo(this.maturingAt, maturity, id, undo)
      events.push({ _tag: "TicketMined", ticket: id, height })
    }

    if (height >= params.stakeEnabledHeight) {
      // The parent's winners: a vote spends the ticket; a winner that did not vote is missed.
      const voted = new Set(block.votes)
      const newlyMissed: Array<string> = []
      if (this.winners.length > 0) {
        const split = subsidySplitAt(this.activations, height)
        const perVote = voteSubsidy(params, height - 1, split)
        for (const id of this.winners) {
          const t = this.tickets.get(id)!
          this.liveDelete(id, undo)
          if (voted.has(id)) {
            const returns = voteReturns(commitmentAmounts(t), t.purchase.price, perVote)
            const paid = sum(returns)
            this.update(t, { status: "voted", spentAt: height, voteSubsidy: perVote, returns }, undo)
            this.credit(t, perVote, paid, undo)
            const lost = t.purchase.price + perVote - paid
            if (lost !== 0n) {
              this.voteRoundingLoss += lost
              undo.push(() => (this.voteRoundingLoss -= lost))
            }
            events.push({ _tag: "TicketVoted", ticket: id, height, voteSubsidy: perVote, returns })
          } else {
            this.update(t, { status: "missed", spentAt: height }, undo)
            this.bump(t, "missedEver", undo)
            newlyMissed.push(id)
            events.push({ _tag: "TicketMissed", ticket: id, height, expired: false })
          }
        }
      }

      // Expiry: live tickets that have had TicketExpiry blocks in the pool.
      const expiring = this.expiringLive(height)
      const scheduled = this.expiringAt.get(height)
      if (scheduled !== undefined) {
        this.expiringAt.delete(height)
        undo.push(() => this.expiringAt.set(height, scheduled))
      }
      for (const id of expiring) {
        const t = this.tickets.get(id)!
        this.liveDelete(id, undo)
        this.update(t, { status: "expired", spentAt: height }, undo)
        this.bump(t, "expiredEver", undo)
        newlyMissed.push(id)
        events.push({ _tag: "TicketMissed", ticket: id, height, expired: true })
      }
      for (const id of newlyMissed) {
        this.unrevoked.add(id)
        undo.push(() => this.unrevoked.delete(id))
      }

      // Revocations: automatic in the same block under DCP-0009, by their owners before it.
      const toRevoke = autoRevocations ? newlyMissed : block.revocations
      for (const id of toRevoke) {
        const t = this.tickets.get(id)!
        const returns = revocationReturns(commitmentAmounts(t), t.purchase.price, prevHeader, autoRevocations)
        this.unrevoked.delete(id)
        undo.push(() => this.unrevoked.add(id))
        this.update(t, { status: "revoked", revokedAt: height, returns }, undo)
        this.credit(t, 0n, sum(returns), undo)
        events.push({ _tag: "TicketRevoked", ticket: id, height, returns })
      }
    }

    // Tickets mined TicketMaturity blocks ago go live now.
    const maturing = this.maturingAt.get(height)
    if (maturing !== undefined) {
      this.maturingAt.delete(height)
      undo.push(() => this.maturingAt.set(height, maturing))
      for (const id of maturing) {
        const t = this.tickets.get(id)!
        this.live.add(id)
        undo.push(() => this.live.delete(id))
        this.update(t, { status: "live", liveAt: height }, undo)
        this.pushTo(this.expiringAt, height + params.ticketExpiry, id, undo)
        events.push({ _tag: "TicketMatured", ticket: id, height })
      }
    }

    // The lottery for the next block, from SVH - 1 on.
    const oldWinners = this.winners
    const oldFinalState = this.tipFinalState
    undo.push(() => {
      this.winners = oldWinners
      this.tipFinalState = oldFinalState
    })
    if (height >= params.stakeValidationHeight - 1) {
      const { indices, prng } = drawWinners(block.header, this.live.size, params.ticketsPerBlock)
      const winners = indices.map((i) => this.live.at(i))
      this.winners = winners
      this.tipFinalState = lotteryFinalState(winners.map(hexToBytes), prng)
      events.push({ _tag: "TicketsDrawn", height, winners })
    } else {
      this.winners = []
      this.tipFinalState = EMPTY_FINAL_STATE
    }

    // The new tip.
    this.history.push({ sbits: header.sbits, poolSize: header.poolSize, freshStake: header.freshStake })
    this.tipHeight = height
    this.tipHeader = block.header
    undo.push(() => {
      this.history.pop()
      this.tipHeight = height - 1
      this.tipHeader = prevHeader
    })

    // Mempool pruning for the next block's price, transaction expiry and age.
    this.pruneMempool(events, undo)

    this.undoLog.push(undo)
    if (this.undoLog.length > this.maxReorgDepth) this.undoLog.shift()
    if (!this.keepEndedTickets) this.forgetEndedTickets(events, undo)
    return Result.succeed(events)
  }

  /** How many blocks can be disconnected right now. */
  get disconnectableBlocks(): number {
    return this.undoLog.length
  }

  /** Disconnects the tip block, restoring the state before it (tickets it mined return to the mempool). */
  disconnectBlock(): void {
    const undo = this.undoLog.pop()
    if (undo === undefined) {
      throw new RangeError(`cannot disconnect block ${this.tipHeight}: only the last ${this.maxReorgDepth} blocks keep undo data`)
    }
    for (let i = undo.length - 1; i >= 0; i--) undo[i]!()
  }

  // ---- internals ---------------------------------------------------------------------

  private readonly historyAt = (h: number): StakeHeaderFacts => this.history[h]!

  /**
   * Live tickets that expire when the block at `height` connects, leaving out the parent's
   * winners: those leave the pool first, by voting or being missed (dcrd's order).
   */
  private expiringLive(height: number): Array<string> {
    const expiring = this.expiringAt.get(height)
    if (expiring === undefined) return []
    return expiring.filter((id) => this.live.has(id) && !this.winners.includes(id))
  }

  /** The decoded header of a block that passes every stake rule, or why it does not. */
  private validate(block: StakeBlock, height: number): BlockHeader | BlockRejected {
    const params = this.params
    const reject = (reason: BlockRejected["reason"], message: string) => new BlockRejected({ height, reason, message: `block ${height}: ${message}` })
    if (block.header.length !== HEADER_BYTES) return reject("bad-header", `header is ${block.header.length} bytes, not 180`)
    const decoded = decodeHeader(block.header)
    if (Result.isFailure(decoded)) return reject("bad-header", decoded.failure.message)
    const header = decoded.success
    if (header.height !== height) return reject("wrong-height", `header says height ${header.height}, the tip is ${this.tipHeight}`)

    if (block.tickets.length > params.maxFreshStakePerBlock) {
      return reject("too-many-tickets", `${block.tickets.length} ticket purchases; at most ${params.maxFreshStakePerBlock} per block`)
    }
    const sbits = this.nextStakeDifficulty()
    const seenTickets = new Set<string>()
    for (const id of block.tickets) {
      if (seenTickets.has(id)) return reject("duplicate-ticket", `ticket ${id} appears twice`)
      seenTickets.add(id)
      const t = this.mempool.get(id)
      if (t === undefined) return reject("ticket-not-in-mempool", `ticket ${id} is not a waiting purchase`)
      if (t.purchase.price < sbits) return reject("ticket-price-too-low", `ticket ${id} pays ${t.purchase.price} < ${sbits}`)
      if (t.purchase.expiry !== 0 && height >= t.purchase.expiry) {
        return reject("ticket-expired", `ticket ${id} expired at height ${t.purchase.expiry}`)
      }
    }

    const winners = new Set(this.winners)
    const seenVotes = new Set<string>()
    for (const id of block.votes) {
      if (seenVotes.has(id)) return reject("duplicate-vote", `ticket ${id} votes twice`)
      seenVotes.add(id)
      if (!winners.has(id)) return reject("vote-not-a-winner", `ticket ${id} was not called to vote on block ${height - 1}`)
    }
    if (height < params.stakeValidationHeight && block.votes.length > 0) {
      return reject("votes-before-stake-validation", `votes are only valid from height ${params.stakeValidationHeight}`)
    }
    const minimum = minimumVotesRequired(params)
    if (height >= params.stakeValidationHeight && block.votes.length < minimum) {
      return reject("not-enough-votes", `${block.votes.length} votes; a block needs ${minimum} of its parent's ${this.winners.length} winners`)
    }

    const autoRevocations = isAgendaActive(this.activations, "autorevocations", height)
    if (autoRevocations && block.revocations.length > 0) {
      return reject("revocation-not-allowed", "under automatic revocations (DCP-0009) the block makes its own revocations")
    }
    for (const id of block.revocations) {
      if (!this.unrevoked.has(id)) return reject("revocation-not-missed", `ticket ${id} is not a missed or expired ticket`)
    }

    const expected = this.headerStakeFields(block)
    const mismatches: Array<string> = []
    if (header.sbits !== expected.sbits) mismatches.push(`sbits ${header.sbits} != ${expected.sbits}`)
    if (header.poolSize !== expected.poolSize) mismatches.push(`poolsize ${header.poolSize} != ${expected.poolSize}`)
    if (!bytesEqual(header.finalState, expected.finalState)) {
      mismatches.push(`finalstate ${toHex(header.finalState)} != ${toHex(expected.finalState)}`)
    }
    if (header.voters !== expected.voters) mismatches.push(`voters ${header.voters} != ${expected.voters}`)
    if (header.freshStake !== expected.freshStake) mismatches.push(`freshstake ${header.freshStake} != ${expected.freshStake}`)
    if (header.revocations !== expected.revocations) mismatches.push(`revocations ${header.revocations} != ${expected.revocations}`)
    if (mismatches.length > 0) return reject("header-mismatch", `header stake fields disagree: ${mismatches.join(", ")}`)

    // The lottery needs five live tickets once it runs.
    if (height >= params.stakeValidationHeight - 1) {
      const liveAfter = this.liveAfter(block, height)
      if (liveAfter < params.ticketsPerBlock) {
        return reject("pool-too-small-for-lottery", `${liveAfter} live tickets; the lottery needs ${params.ticketsPerBlock}`)
      }
    }
    return header
  }

  private liveAfter(block: StakeBlock, height: number): number {
    let n = this.live.size
    if (height >= this.params.stakeEnabledHeight) n -= this.winners.length + this.expiringLive(height).length
    return n + (this.maturingAt.get(height)?.length ?? 0)
  }

  private pruneMempool(events: Array<StakeEvent>, undo: Array<() => void>): void {
    if (this.mempool.size === 0) return
    const height = this.tipHeight
    const required = this.nextStakeDifficulty()
    for (const t of [...this.mempool.values()]) {
      const reason: DropReason | undefined =
        t.purchase.price < required
          ? "price-below-stake-difficulty"
          : t.purchase.expiry !== 0 && height + 1 >= t.purchase.expiry
            ? "transaction-expired"
            : t.receivedAt + MEMPOOL_TICKET_LIFETIME < height
              ? "stale-in-mempool"
              : undefined
      if (reason === undefined) continue
      this.mempool.delete(t.id)
      undo.push(() => this.mempool.set(t.id, t))
      this.update(t, { status: "dropped", dropReason: reason }, undo)
      // A dropped purchase never spent anything: take its price and fee back out of the totals.
      const totals = [this.ownerTotals(t.purchase.owner), this.networkTotals]
      for (const x of totals) {
        x.pricesPaid -= t.purchase.price
        x.feesPaid -= t.purchase.fee
      }
      undo.push(() => {
        for (const x of totals) {
          x.pricesPaid += t.purchase.price
          x.feesPaid += t.purchase.fee
        }
      })
      events.push({ _tag: "TicketDropped", ticket: t.id, height, reason })
    }
  }

  private forgetEndedTickets(events: ReadonlyArray<StakeEvent>, undo: Array<() => void>): void {
    const height = this.tipHeight
    let added = 0
    for (const e of events) {
      if (e._tag === "TicketVoted" || e._tag === "TicketRevoked" || e._tag === "TicketDropped") {
        this.endedAt.push({ height, id: e.ticket })
        added++
      }
    }
    undo.push(() => this.endedAt.splice(this.endedAt.length - added, added))
    // Past the reorg depth nothing can bring these back; the block that ended them has no undo left.
    const horizon = height - this.maxReorgDepth
    let forget = 0
    while (forget < this.endedAt.length && this.endedAt[forget]!.height <= horizon) {
      this.tickets.delete(this.endedAt[forget]!.id)
      forget++
    }
    if (forget > 0) this.endedAt.splice(0, forget)
  }

  private liveDelete(id: string, undo: Array<() => void>): void {
    this.live.delete(id)
    undo.push(() => this.live.add(id))
  }

  private pushTo(map: Map<number, Array<string>>, key: number, id: string, undo: Array<() => void>): void {
    let list = map.get(key)
    if (list === undefined) {
      list = []
      map.set(key, list)
    }
    list.push(id)
    const owner = list
    undo.push(() => {
      owner.pop()
      if (owner.length === 0) map.delete(key)
    })
  }

  private ownerTotals(owner: string): MutableTotals {
    let totals = this.totalsByOwner.get(owner)
    if (totals === undefined) {
      totals = emptyTotals()
      this.totalsByOwner.set(owner, totals)
    }
    return totals
  }

  private count(t: MutableTicket, status: TicketStatus, delta: number): void {
    this.ownerTotals(t.purchase.owner).counts[status] += delta
    this.networkTotals.counts[status] += delta
  }

  /** Changes a ticket's fields (and its status counts), recording how to undo it. */
  private update(t: MutableTicket, change: Partial<MutableTicket>, undo: Array<() => void>): void {
    // A fixed-shape snapshot of the fields a block can change (cheaper than a generic copy).
    const before = snapshot(t)
    if (change.status !== undefined) {
      this.count(t, t.status, -1)
      this.count(t, change.status, +1)
    }
    Object.assign(t, change)
    undo.push(() => {
      if (t.status !== before.status) {
        this.count(t, t.status, -1)
        this.count(t, before.status, +1)
      }
      Object.assign(t, before)
    })
  }

  private bump(t: MutableTicket, field: "missedEver" | "expiredEver", undo: Array<() => void>): void {
    const owner = this.ownerTotals(t.purchase.owner)
    const network = this.networkTotals
    owner[field]++
    network[field]++
    undo.push(() => {
      owner[field]--
      network[field]--
    })
  }

  private credit(t: MutableTicket, subsidy: bigint, returned: bigint, undo: Array<() => void>): void {
    const owner = this.ownerTotals(t.purchase.owner)
    const network = this.networkTotals
    owner.voteSubsidies += subsidy
    owner.returned += returned
    network.voteSubsidies += subsidy
    network.returned += returned
    undo.push(() => {
      owner.voteSubsidies -= subsidy
      owner.returned -= returned
      network.voteSubsidies -= subsidy
      network.returned -= returned
    })
  }
}

const snapshot = (t: Ticket) => ({
  status: t.status,
  minedAt: t.minedAt,
  liveAt: t.liveAt,
  spentAt: t.spentAt,
  revokedAt: t.revokedAt,
  voteSubsidy: t.voteSubsidy,
  returns: t.returns,
  dropReason: t.dropReason,
})

const commitmentAmounts = (t: Ticket): Array<bigint> => t.purchase.commitments.map((c) => c.amount)

const sum = (xs: ReadonlyArray<bigint>): bigint => xs.reduce((a, b) => a + b, 0n)

/** Fee per byte, compared exactly (a.fee / a.size vs b.fee / b.size), then arrival order. */
const byFeeRateThenAge = (a: Ticket, b: Ticket): number => {
  const left = a.purchase.fee * BigInt(b.purchase.size)
  const right = b.purchase.fee * BigInt(a.purchase.size)
  if (left !== right) return left > right ? -1 : 1
  return a.sequence - b.sequence
}
