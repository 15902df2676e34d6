import { Context, Data, type Effect } from "effect"

/**
 * What the voting service needs of its dcrd: transactions and their confirmations, broadcasts,
 * the tip and its ticket price, whether the node is in sync, which subsidy split holds, and the
 * votes and revocations each block carries. Live: `dcrdVspChain` (dcrd's JSON-RPC over HTTP
 * POST); tests: an in-memory chain.
 */

/** dcrd could not be asked, or answered something that is no reply to the call. */
export class VspChainUnavailable extends Data.TaggedError("VspChainUnavailable")<{ readonly method: string; readonly reason: string }> {
  override get message(): string {
    return `dcrd ${this.method} failed: ${this.reason}; check that dcrd runs, that --dcrdrpc* point at it and that its certificate and credentials are right`
  }
}

/** A transaction as dcrd knows it: raw, and where it is mined (nothing when it is in the mempool). */
export interface ChainTransaction {
  readonly hex: string
  /** 0 while in the mempool. */
  readonly confirmations: number
  readonly blockHeight: number | undefined
  readonly blockHash: string | undefined
}

export interface ChainTip {
  readonly height: number
  readonly hash: string
  /** The ticket price at the tip (its header's sbits), in atoms. */
  readonly stakeDifficulty: bigint
  /** Live tickets at the tip (its header's poolsize). */
  readonly poolSize: number
}

/** Whether dcrd has caught up with the network (getblockchaininfo). */
export interface ChainSync {
  readonly blocks: number
  /** The best height dcrd's peers announced. */
  readonly syncHeight: number
  readonly initialBlockDownload: boolean
  /** Height from which each observed agenda's rules hold ("active" deployments' `since`). */
  readonly activeSince: Readonly<Record<string, number>>
}

/** What a broadcast came to: dcrd took it (or already had it), or refused it with its words. */
export type BroadcastOutcome =
  | { readonly kind: "accepted" }
  | { readonly kind: "already-known" }
  /** Spends outputs dcrd does not know (yet): vspd's ErrCannotBroadcastFeeUnknownOutputs. */
  | { readonly kind: "orphan"; readonly reason: string }
  | { readonly kind: "rejected"; readonly reason: string }

/** A stake transaction of one block that spends a ticket. */
export interface TicketSpend {
  readonly ticketHash: string
  readonly kind: "vote" | "revocation"
  readonly spenderHash: string
  readonly height: number
}

/** One agenda of a vote version, with the choices a ticket may vote. */
export interface AgendaChoices {
  readonly id: string
  readonly choices: ReadonlyArray<string>
}

export class VspChain extends Context.Service<
  VspChain,
  {
    readonly tip: Effect.Effect<ChainTip, VspChainUnavailable>
    readonly sync: Effect.Effect<ChainSync, VspChainUnavailable>
    /** undefined when dcrd has no such transaction (neither mined nor in its mempool). */
    readonly transaction: (hash: string) => Effect.Effect<ChainTransaction | undefined, VspChainUnavailable>
    readonly broadcast: (hex: string) => Effect.Effect<BroadcastOutcome, VspChainUnavailable>
    readonly isLiveTicket: (hash: string) => Effect.Effect<boolean, VspChainUnavailable>
    /**
     * The agendas of a vote version and each one's choice ids (getvoteinfo); undefined when
     * dcrd does not know that version.
     */
    readonly agendas: (voteVersion: number) => Effect.Effect<ReadonlyArray<AgendaChoices> | undefined, VspChainUnavailable>
    /** The votes and revocations in the main-chain block at `height`. */
    readonly ticketSpends: (height: number) => Effect.Effect<ReadonlyArray<TicketSpend>, VspChainUnavailable>
  }
>()("dcrforge/wallet/vsp/VspChain") {}
