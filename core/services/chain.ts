import { Context, Data, type Effect, type Stream } from "effect"

/** Why dcrd sent work (its `work` notification reasons, plus the pool's own start-up fetch). */
export type WorkReason = "initial" | "newparent" | "newvotes" | "newtxns"

/** A block template to mine: dcrd's getwork `data` (192 bytes: header and hash padding) and target. */
export interface WorkTemplate {
  readonly data: Uint8Array
  /** The network target dcrd announced, as a number. */
  readonly target: bigint
  readonly reason: WorkReason
}

/** What the node tells a subscriber, in order. */
export type ChainEvent =
  | { readonly _tag: "Work"; readonly work: WorkTemplate }
  | { readonly _tag: "BlockConnected"; readonly header: Uint8Array }
  | { readonly _tag: "BlockDisconnected"; readonly header: Uint8Array }
  /** The link came back after a drop: notifications may have been missed, so fetch work again. */
  | { readonly _tag: "Reconnected" }

/** The node answered, but with an error (bad params, rejected submission, warming up). */
export class ChainRpcError extends Data.TaggedError("ChainRpcError")<{
  readonly method: string
  readonly code: number
  readonly reason: string
}> {
  override get message(): string {
    return `dcrd refused ${this.method} (code ${this.code}): ${this.reason}`
  }
}

/** The node could not be asked: not connected, connection lost mid-call, or no answer in time. */
export class ChainUnavailable extends Data.TaggedError("ChainUnavailable")<{
  readonly method: string
  readonly reason: string
  /** What the connection failed with, when something did (logged with the error). */
  readonly cause?: unknown
}> {
  override get message(): string {
    return `dcrd unavailable for ${this.method}: ${this.reason}; check that dcrd runs and the RPC address, credentials and certificate are right`
  }
}

export type ChainFailure = ChainRpcError | ChainUnavailable

interface BestBlock {
  /** Display (byte-reversed) hex, as dcrd prints it. */
  readonly hash: string
  readonly height: number
}

/**
 * The node as the pool needs it. Live: dcrd's websocket JSON-RPC; simulated: the emulated dcrd.
 * `events` is one subscription for the life of the service: the live adapter re-subscribes after
 * a reconnect and says so with `Reconnected`.
 */
export class ChainRpc extends Context.Service<
  ChainRpc,
  {
    readonly getWork: Effect.Effect<WorkTemplate, ChainFailure>
    /** Submits a solved getwork `data`; true when the node took the block. */
    readonly submitWork: (data: Uint8Array) => Effect.Effect<boolean, ChainFailure>
    readonly getBestBlock: Effect.Effect<BestBlock, ChainFailure>
    /** Display hash of the main chain's block at a height (at most the tip's). */
    readonly getBlockHash: (height: number) => Effect.Effect<string, ChainFailure>
    /**
     * What a block's coinbase pays the pool, in atoms: its last output (dcrd puts the treasury
     * output, when there is one, and the height/extra-nonce OP_RETURN before the payout).
     * Block 1 pays the network's block-one ledger (the premine), none of it the pool's: 0.
     */
    readonly coinbaseValue: (hash: string) => Effect.Effect<bigint, ChainFailure>
    readonly events: Stream.Stream<ChainEvent>
  }
>()("dcrforge/ChainRpc") {}
