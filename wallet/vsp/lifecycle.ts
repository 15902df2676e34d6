import { Clock, Effect, Ref, Schedule } from "effect"
import type { ServiceState, VspApi, VspSettings } from "./api.ts"
import { type ChainTip, VspChain } from "./chain.ts"
import { VotingFleet, type VotingWalletStatus } from "./fleet-port.ts"
import { VspStore, type TicketOutcome, type VspTicket } from "./store.ts"
import { votableOf } from "./votable.ts"

/**
 * The ticket lifecycle, run on every new block as vspd's `update` runs on block notifications:
 * tickets reach their confirmations, fees go to dcrd, fees reach theirs and the tickets go to
 * the voting wallets, votes and revocations settle outcomes, and the fleet's consistency check
 * makes every voting wallet hold every votable ticket. Each step reads its work from the store,
 * so a pass interrupted by a crash is simply redone by the next one: a fee is broadcast again
 * (dcrd answers it already has it), never replaced, and a ticket whose fee confirmed is handed
 * to the wallets by the consistency check if the hand-over itself was lost.
 */

/** Blocks scanned for votes and revocations per pass, so a long outage catches up in steps. */
const MAX_SCAN_BLOCKS = 200
const LAST_SCANNED = "last_scanned_height"

const isOnline = (w: VotingWalletStatus) => w.connected && w.unlocked && w.voting && w.error === undefined

export const makeLifecycle = (settings: VspSettings, state: Ref.Ref<ServiceState>, api: VspApi) =>
  Effect.gen(function* () {
    const chain = yield* VspChain
    const store = yield* VspStore
    const fleet = yield* VotingFleet
    const network = settings.network
    const required = settings.requiredConfirmations

    const logged =
      (what: string) =>
      <A, E extends { readonly message: string }>(e: Effect.Effect<A, E>): Effect.Effect<A | undefined> =>
        e.pipe(Effect.catch((err) => Effect.logWarning(`vsp: ${what}: ${err.message}`).pipe(Effect.as(undefined))))

    /** Tickets that reached their confirmations are marked so (with the height they were mined at). */
    const confirmTickets = Effect.gen(function* () {
      const nowMs = yield* Clock.currentTimeMillis
      for (const t of yield* store.unconfirmedTickets) {
        const tx = yield* chain.transaction(t.hash)
        if (tx === undefined) {
          // dcrd lost it (a restart emptied its mempool) or it was double spent: offer it again,
          // and forget it only when dcrd refuses it (vspd forgets it at once).
          const sent = yield* chain.broadcast(t.ticket_hex)
          if (sent.kind === "rejected" || sent.kind === "orphan") {
            yield* store.forgetUnconfirmedTicket(t.hash)
            yield* Effect.logWarning(`vsp: ticket ${t.hash} is gone from dcrd and refused again (${sent.reason}); forgotten`)
          }
          continue
        }
        if (tx.confirmations >= required && tx.blockHeight !== undefined && tx.blockHash !== undefined) {
          yield* store.confirmTicket(t.hash, tx.blockHeight, tx.blockHash, nowMs)
          yield* Effect.logInfo(`vsp: ticket ${t.hash} confirmed (${tx.confirmations} confirmations, mined at ${tx.blockHeight})`)
        }
      }
    })

    const broadcastFees = Effect.gen(function* () {
      for (const t of yield* store.feesToBroadcast) yield* api.broadcastFee(t).pipe(Effect.ignore)
    })

    /** Broadcast fees that reached their confirmations: confirmed, and the ticket goes to the voting wallets. */
    const confirmFees = Effect.gen(function* () {
      for (const t of yield* store.feesBroadcast) {
        const hash = t.fee_tx_hash
        if (hash === undefined) continue
        const tx = yield* chain.transaction(hash)
        const nowMs = yield* Clock.currentTimeMillis
        if (tx === undefined) {
          // Dropped from dcrd's mempool: send it again; when dcrd refuses it the staker's wallet
          // sees "error" in ticketstatus and pays again (vspd marks it error at once).
          const sent = yield* chain.broadcast(t.fee_tx_hex ?? "")
          if (sent.kind === "rejected" || sent.kind === "orphan") {
            yield* store.moveFee(t.hash, ["broadcast"], "error", nowMs)
            yield* Effect.logWarning(`vsp: fee ${hash} of ticket ${t.hash} is gone from dcrd and refused again (${sent.reason})`)
          }
          continue
        }
        if (tx.confirmations < required) continue
        if (!(yield* store.moveFee(t.hash, ["broadcast"], "confirmed", nowMs))) continue
        yield* Effect.logInfo(`vsp: fee ${hash} of ticket ${t.hash} confirmed; handing the ticket to the voting wallets`)
        const votable = votableOf(t)
        if (votable !== undefined) yield* fleet.addTicket(votable).pipe(logged(`ticket ${t.hash} to the voting wallets (the consistency check retries)`))
      }
    })

    /** Votes and revocations in the blocks since the last pass settle the tickets' outcomes. */
    const settleOutcomes = (tip: ChainTip) =>
      Effect.gen(function* () {
        const last = yield* store.meta(LAST_SCANNED)
        // The first pass starts at the tip: the service's tickets are all newer than it.
        const from = last === undefined ? tip.height : Number(last) + 1
        const to = Math.min(tip.height, from + MAX_SCAN_BLOCKS - 1)
        for (let height = from; height <= to; height++) {
          for (const spend of yield* chain.ticketSpends(height)) {
            const t = yield* store.ticket(spend.ticketHash)
            if (t === undefined || t.outcome !== undefined) continue
            const outcome = spend.kind === "vote" ? "voted" : missedOrExpired(t, height)
            const nowMs = yield* Clock.currentTimeMillis
            if (yield* store.setOutcome(t.hash, outcome, height, nowMs)) yield* Effect.logInfo(`vsp: ticket ${t.hash} ${outcome} at height ${height}`)
          }
          yield* store.setMeta(LAST_SCANNED, String(height))
        }
      })

    /** vspd's heuristic: revoked before its expiry height it was missed, at or after it expired. */
    const missedOrExpired = (t: VspTicket, height: number): TicketOutcome => {
      const expiry = (t.purchase_height ?? 0) + network.ticketMaturity + network.ticketExpiry
      return t.purchase_height !== undefined && height < expiry ? "missed" : "expired"
    }

    const walletErrors = new Map<string, string>()
    const reconcile = Effect.gen(function* () {
      const tickets = (yield* store.votableTickets).flatMap((t) => {
        const v = votableOf(t)
        return v === undefined ? [] : [v]
      })
      for (const repair of yield* fleet.reconcile(tickets)) {
        // A wallet that stays down is said once (and once when it is back), not every block.
        const before = walletErrors.get(repair.wallet)
        if (repair.error !== undefined) {
          walletErrors.set(repair.wallet, repair.error)
          if (before !== repair.error) yield* Effect.logWarning(`vsp: voting wallet ${repair.wallet} not checked: ${repair.error}`)
        } else if (before !== undefined) {
          walletErrors.delete(repair.wallet)
          yield* Effect.logInfo(`vsp: voting wallet ${repair.wallet} checked again`)
        }
        if (repair.error !== undefined) continue
        if (repair.added > 0 || repair.choicesFixed > 0) yield* Effect.logInfo(`vsp: voting wallet ${repair.wallet} repaired: ${repair.added} tickets added, ${repair.choicesFixed} choices set again`)
      }
    })

    /** Whether new tickets are taken: dcrd in sync and enough voting wallets online. */
    const refreshState = (tip: ChainTip | undefined) =>
      Effect.gen(function* () {
        const wallets = yield* fleet.status
        const online = wallets.filter(isOnline).length
        const sync = yield* chain.sync.pipe(Effect.result)
        let reason: string | undefined
        if (sync._tag === "Failure") reason = "dcrd cannot be reached"
        else if (sync.success.initialBlockDownload) reason = "dcrd is in its initial block download"
        else if (sync.success.syncHeight - sync.success.blocks > settings.maxSyncLagBlocks) reason = `dcrd is ${sync.success.syncHeight - sync.success.blocks} blocks behind the network`
        else if (online < settings.minVotingWallets) reason = `${online} of ${wallets.length} voting wallets are online, ${settings.minVotingWallets} are needed`
        const previous = yield* Ref.get(state)
        if (previous.closedReason !== reason) {
          if (reason !== undefined) yield* Effect.logWarning(`vsp: refusing new tickets: ${reason}`)
          else yield* Effect.logInfo(`vsp: taking new tickets (${online} of ${wallets.length} voting wallets online)`)
        }
        const voteVersion = Math.max(0, ...wallets.filter(isOnline).map((w) => w.voteVersion))
        yield* Ref.set(state, {
          tipHeight: tip?.height ?? previous.tipHeight,
          poolSize: tip?.poolSize ?? previous.poolSize,
          closedReason: reason,
          walletsOnline: online,
          walletsTotal: wallets.length,
          voteVersion,
        })
      })

    /** One pass for a new tip. Each step logs its own failure and the rest still run. */
    const onBlock = (tip: ChainTip) =>
      Effect.gen(function* () {
        yield* refreshState(tip)
        yield* confirmTickets.pipe(logged("confirming tickets"))
        yield* broadcastFees.pipe(logged("broadcasting fees"))
        yield* confirmFees.pipe(logged("confirming fees"))
        yield* settleOutcomes(tip).pipe(logged("settling outcomes"))
        yield* reconcile.pipe(logged("consistency check"))
      })

    /**
     * One poll: a pass when dcrd's tip is new, else the open/closed state refreshed (so a voting
     * wallet going down closes the service within one poll).
     */
    let lastHash: string | undefined
    // dcrd down is said once, and once when it answers again: not every second.
    let tipFailure: string | undefined
    const readTip = chain.tip.pipe(
      Effect.tap(() =>
        Effect.suspend(() => {
          if (tipFailure === undefined) return Effect.void
          tipFailure = undefined
          return Effect.logInfo("vsp: dcrd answers again")
        }),
      ),
      Effect.catch((e) =>
        Effect.suspend(() => {
          const said = tipFailure === e.message
          tipFailure = e.message
          return (said ? Effect.void : Effect.logWarning(`vsp: ${e.message}`)).pipe(Effect.as(undefined))
        }),
      ),
    )
    const poll = Effect.gen(function* () {
      const tip = yield* readTip
      if (tip !== undefined && tip.hash !== lastHash) {
        lastHash = tip.hash
        yield* onBlock(tip)
      } else yield* refreshState(tip)
    })

    /**
     * Polls every `pollMillis` until interrupted. A poll that dies (a bug) is logged with its
     * cause and the next one runs: the service never stops voting quietly.
     */
    const run = (pollMillis: number) =>
      poll.pipe(
        Effect.catchCause((cause) => Effect.logError("vsp: a lifecycle pass died; the next poll runs it again", cause)),
        Effect.repeat(Schedule.spaced(pollMillis)),
        Effect.asVoid,
      )

    return { refreshState, poll, run }
  })
