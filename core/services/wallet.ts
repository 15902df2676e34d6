import { Context, Data, type Effect } from "effect"

/** One output of a payout transaction: an address and an exact amount in atoms. */
export interface PayoutOutput {
  readonly address: string
  readonly amount: bigint
}

/**
 * A payout transaction built and signed but not yet published. Its txid is known before it is
 * sent, so the pool can store the intent (txid and raw bytes) first and, after any restart,
 * ask whether that exact transaction made it, or send the same bytes again: the same inputs can
 * never pay twice.
 */
export interface SignedPayout {
  readonly txid: string
  /** Serialized transaction, hex. */
  readonly rawTx: string
  /** Network fee the wallet paid on top of the outputs, in atoms. */
  readonly fee: bigint
}

/** What the wallet knows about a transaction the pool built. */
export type PayoutTxStatus =
  | { readonly _tag: "Unknown" }
  | { readonly _tag: "Known"; readonly confirmations: number }

/** The wallet answered with an error (locked, insufficient funds, bad address, rejected tx). */
export class WalletRpcError extends Data.TaggedError("WalletRpcError")<{
  readonly method: string
  readonly code: number
  readonly reason: string
}> {
  override get message(): string {
    return `dcrwallet refused ${this.method} (code ${this.code}): ${this.reason}`
  }
}

/** The wallet could not be asked: refused connection, dropped mid-call, bad credentials, timeout. */
export class WalletUnavailable extends Data.TaggedError("WalletUnavailable")<{
  readonly method: string
  readonly reason: string
}> {
  override get message(): string {
    return `dcrwallet unavailable for ${this.method}: ${this.reason}; check that dcrwallet runs with its JSON-RPC server enabled and that the pool's wallet address, user, password and certificate are right`
  }
}

export type WalletFailure = WalletRpcError | WalletUnavailable

/**
 * The pool's payout wallet (dcrwallet over JSON-RPC in production, an emulator in simulation).
 * Building and publishing are separate so the pool can persist the signed transaction between
 * the two steps.
 */
export class PayoutWallet extends Context.Service<
  PayoutWallet,
  {
    /** Creates, funds (the wallet adds inputs and change, and pays the network fee) and signs. */
    readonly build: (outputs: ReadonlyArray<PayoutOutput>) => Effect.Effect<SignedPayout, WalletFailure>
    /** Sends a signed transaction; sending one the network already has is not an error. */
    readonly publish: (payout: SignedPayout) => Effect.Effect<void, WalletFailure>
    readonly status: (txid: string) => Effect.Effect<PayoutTxStatus, WalletFailure>
  }
>()("dcrforge/PayoutWallet") {}
