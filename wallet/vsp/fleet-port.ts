import { Context, Data, type Effect } from "effect"

/**
 * The voting service's voting wallets, as the service needs them. The front end (API, fees,
 * store) decides which tickets are votable; the fleet makes every voting wallet hold each of
 * them with the staker's choices. Live: dcrwallets started with `--enablevoting
 * --manualtickets`, over JSON-RPC; simulated: emulated voting servers that go down and come
 * back from the seed. The two sides meet here so either can be built and tested alone.
 */

/** One ticket a voting wallet must be able to vote: its key and what the staker chose. */
export interface VotableTicket {
  /** Display hex of the ticket's transaction hash. */
  readonly hash: string
  /**
   * The ticket's raw transaction (hex), for `addtransaction`: a `--manualtickets` wallet does
   * not look tickets up itself (dcrwallet has no `addticket`; vspd adds tickets this way too).
   */
  readonly ticketHex: string
  /** Display hex of the block that mined the ticket: `addtransaction` files the ticket under it. */
  readonly blockHash: string
  /** The voting address's private key, WIF as the staker's wallet sent it with `payfee`. */
  readonly votingKeyWif: string
  /** Agenda id -> choice id, as `setvotechoice` takes them. */
  readonly voteChoices: Readonly<Record<string, string>>
  /** Treasury key (hex) -> yes / no / abstain. */
  readonly treasuryPolicy: Readonly<Record<string, string>>
  /** Treasury spend hash (hex) -> yes / no / abstain. */
  readonly tspendPolicy: Readonly<Record<string, string>>
}

/** What one voting wallet says about itself, as vspd's `/admin/status` answers for each. */
export interface VotingWalletStatus {
  readonly name: string
  readonly connected: boolean
  readonly unlocked: boolean
  readonly voting: boolean
  readonly voteVersion: number
  readonly bestBlockHeight: number
  /** Why the wallet could not be asked, when it could not. */
  readonly error?: string
}

/** A voting wallet could not be asked, or refused. */
export class VotingWalletUnavailable extends Data.TaggedError("VotingWalletUnavailable")<{
  readonly wallet: string
  readonly operation: string
  readonly reason: string
}> {
  override get message(): string {
    return `voting wallet ${this.wallet} failed ${this.operation}: ${this.reason}; check that it runs unlocked with --enablevoting --manualtickets and that its dcrd is synced`
  }
}

/** What one consistency pass found and did, per wallet. */
export interface FleetRepair {
  readonly wallet: string
  /** Tickets the wallet lacked and was given. */
  readonly added: number
  /** Tickets whose choices or policies had drifted and were set again. */
  readonly choicesFixed: number
  /** Set when the wallet could not be checked this pass (it is tried again next block). */
  readonly error?: string
}

export class VotingFleet extends Context.Service<
  VotingFleet,
  {
    /** Every voting wallet's status; one that cannot be reached is reported, never an error. */
    readonly status: Effect.Effect<ReadonlyArray<VotingWalletStatus>>
    /**
     * Gives every reachable wallet the ticket (key, ticket, choices, policies). Succeeds when at
     * least one wallet took it; the rest are repaired by `reconcile`.
     */
    readonly addTicket: (ticket: VotableTicket) => Effect.Effect<void, VotingWalletUnavailable>
    /** Sets a ticket's choices and policies on every reachable wallet (after `setvotechoices`). */
    readonly updateChoices: (ticket: VotableTicket) => Effect.Effect<void, VotingWalletUnavailable>
    /**
     * The consistency check, run on every block: each wallet holds exactly these tickets' keys
     * with these choices (a wallet restarted empty gets them all back). Never fails: a wallet
     * it cannot reach is reported in its repair and tried again next time.
     */
    readonly reconcile: (tickets: ReadonlyArray<VotableTicket>) => Effect.Effect<ReadonlyArray<FleetRepair>>
  }
>()("dcrforge/wallet/vsp/VotingFleet") {}
