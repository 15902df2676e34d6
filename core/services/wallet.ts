import { Context, Data, Result, type Effect } from "effect"
import { decodeAddress, type DecodedAddress } from "../chain/address.ts"
import { atomsToDcr } from "../chain/amounts.ts"
import type { NetworkParams } from "../chain/params.ts"

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
  /**
   * The network fee the transaction pays, in atoms: its inputs minus its outputs, exactly. It
   * came out of the outputs the request's `feePaidBy` named (plus any change too small to be
   * worth an output, which the wallet leaves to the fee as dcrwallet does).
   */
  readonly fee: bigint
}

/**
 * Which outputs of a payout pay its network fee. The wallet computes the fee (from the size of
 * the final transaction and its relay fee rate) and takes it out of these outputs; every other
 * output is paid exactly as asked, and the wallet's own balance pays none of it, so a wallet
 * holding exactly the outputs' sum can pay them.
 */
export type PayoutFeePayer =
  /** The one output to `address` (the pool's fee address) pays the whole fee. */
  | { readonly _tag: "Output"; readonly address: string }
  /**
   * Every output not to an `exempt` address pays a part in proportion to its amount (floor,
   * then the odd atoms to the largest remainders): dcrpool's rule, where the miners pay and the
   * pool fee output does not.
   */
  | { readonly _tag: "ProRata"; readonly exempt: ReadonlyArray<string> }

/** A payout to build: its outputs (amounts as owed) and which of them pay the network fee. */
export interface PayoutRequest {
  readonly outputs: ReadonlyArray<PayoutOutput>
  readonly feePaidBy: PayoutFeePayer
}

/** What the wallet knows about a transaction the pool built. */
export type PayoutTxStatus = { readonly _tag: "Unknown" } | { readonly _tag: "Known"; readonly confirmations: number }

/** The wallet answered with an error (locked, insufficient funds, rejected tx); a refused address is `PayoutAddressRefused`. */
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
  /** What the transport threw, when it threw (logged with the error). */
  readonly cause?: unknown
}> {
  override get message(): string {
    return `dcrwallet unavailable for ${this.method}: ${this.reason}; check that dcrwallet runs with its JSON-RPC server enabled and that the pool's wallet address, user, password and certificate are right`
  }
}

export type WalletFailure = WalletRpcError | WalletUnavailable

/**
 * The wallet's account cannot pay the payout: it can spend less than the outputs add up to (the
 * network fee comes out of the outputs, so their sum is all it needs). Waiting fixes it when
 * enough coinbase is still maturing; otherwise someone must send the account the missing atoms.
 */
export class PayoutUnfunded extends Data.TaggedError("PayoutUnfunded")<{
  readonly account: string
  /** What the payout's outputs add up to. */
  readonly needed: bigint
  /** What the account can spend now (confirmed, matured). */
  readonly spendable: bigint
  /** `needed - spendable`: what the account lacks. */
  readonly missing: bigint
  /** Coinbase rewards the account holds that are not spendable yet. */
  readonly immature: bigint
}> {
  override get message(): string {
    const wait =
      this.immature >= this.missing
        ? `, or wait until enough of the ${atomsToDcr(this.immature)} DCR of coinbase rewards still maturing there has matured`
        : this.immature > 0n
          ? ` (the ${atomsToDcr(this.immature)} DCR of coinbase rewards still maturing there is not enough)`
          : ""
    return (
      `the payout wallet's account "${this.account}" can spend ${atomsToDcr(this.spendable)} DCR, but the payout pays ${atomsToDcr(this.needed)} DCR: ` +
      `${this.missing} atoms (${atomsToDcr(this.missing)} DCR) are missing; send at least that much to account "${this.account}"${wait}`
    )
  }
}

/** One output that cannot carry its part of the network fee. */
interface FeeShareTooLarge {
  readonly address: string
  readonly amount: bigint
  /** Its part of the fee. */
  readonly share: bigint
  /** The smallest amount the network relays to its address (less is dust). */
  readonly minimum: bigint
}

/**
 * The outputs named to pay the network fee cannot: one would be left below dust (or below zero),
 * or the payer names no output of the payout at all.
 */
export class PayoutFeeUnpayable extends Data.TaggedError("PayoutFeeUnpayable")<{
  readonly fee: bigint
  readonly payer: PayoutFeePayer
  /** The output left short; undefined when the payer names none of the payout's outputs. */
  readonly short: FeeShareTooLarge | undefined
}> {
  override get message(): string {
    const short = this.short
    if (short === undefined) {
      return this.payer._tag === "Output"
        ? `the payout has no output to ${this.payer.address} to take its ${this.fee}-atom network fee from; name an address the payout pays`
        : `every output of the payout is exempt from its ${this.fee}-atom network fee; leave at least one output to pay it`
    }
    const fix =
      this.payer._tag === "Output"
        ? "take the fee from the miners' outputs pro rata instead (the pool's --payoutfeefrom=miners), or let the pool fee grow in a later batch"
        : "raise the minimum payout (the pool's --minpayment) so every miner's output can carry its part, or take the fee from the pool fee output (--payoutfeefrom=poolfee)"
    return (
      `the ${short.amount}-atom output to ${short.address} cannot pay ${short.share} atoms of the payout's ${this.fee}-atom network fee: ` +
      `${short.amount - short.share} atoms would be left, and the network relays no output under ${short.minimum} atoms to that address (dust); ${fix}`
    )
  }
}

/**
 * The wallet will not pay one of the payout's addresses, whatever the others: it does not decode
 * for the wallet's network (a public key that is no point included), or it is of a kind the
 * wallet does not pay. dcrwallet's createrawtransaction answers so with -5
 * (ErrRPCInvalidAddressOrKey). Nothing was built or sent; the payout is payable without that
 * output.
 */
export class PayoutAddressRefused extends Data.TaggedError("PayoutAddressRefused")<{
  readonly address: string
  readonly reason: string
}> {
  override get message(): string {
    return `the payout wallet will not pay ${this.address}: ${this.reason}; a payout to it can only be built without that output`
  }
}

/**
 * `address` decoded, if dcrwallet's createrawtransaction pays it on `network`, or why it refuses
 * it: the address must decode (dcrd's stdaddr, public keys included), and it must be a P2PKH
 * (secp256k1 ECDSA) or a P2SH address, the only kinds it builds an output for (dcrwallet
 * internal/rpc/jsonrpc/methods.go, createRawTransaction). The dcrwallet client checks this
 * before it asks, and the simulated and in-memory wallets refuse as it does.
 */
export const dcrwalletPayableAddress = (address: string, network: NetworkParams): Result.Result<DecodedAddress, string> => {
  const decoded = decodeAddress(address, network)
  if (Result.isFailure(decoded)) return Result.fail(decoded.failure.message)
  const kind = decoded.success.kind
  return kind === "p2pkh-ecdsa-secp256k1" || kind === "p2sh"
    ? Result.succeed(decoded.success)
    : Result.fail(`"${address}" is a ${kind} address; dcrwallet pays only p2pkh (secp256k1 ECDSA) and p2sh addresses`)
}

/** Why a payout was not built. */
export type PayoutBuildFailure = WalletFailure | PayoutUnfunded | PayoutFeeUnpayable | PayoutAddressRefused

/**
 * The pool's payout wallet (dcrwallet over JSON-RPC in production, an emulator in simulation).
 * Building and publishing are separate so the pool can persist the signed transaction between
 * the two steps.
 */
export class PayoutWallet extends Context.Service<
  PayoutWallet,
  {
    /**
     * Creates, funds (the wallet adds inputs and change) and signs a transaction paying the
     * request's outputs, less the network fee, which it computes and takes out of the outputs
     * `feePaidBy` names; its own balance pays no part of the fee.
     */
    readonly build: (request: PayoutRequest) => Effect.Effect<SignedPayout, PayoutBuildFailure>
    /** Sends a signed transaction; sending one the network already has is not an error. */
    readonly publish: (payout: SignedPayout) => Effect.Effect<void, WalletFailure>
    readonly status: (txid: string) => Effect.Effect<PayoutTxStatus, WalletFailure>
  }
>()("dcrforge/PayoutWallet") {}
