import { Result } from "effect"
import { decodeAddress } from "../../core/chain/address.ts"
import { fromHex } from "../../core/chain/bytes.ts"
import type { NetworkParams } from "../../core/chain/params.ts"
import { decodeTxHex, type DecodedTx, txidOf } from "../../core/chain/tx.ts"
import { decodeWif, feeAddress, nextFeeAddress as nextVspdFeeAddress, p2pkhAddressOf, publicKeyOf } from "../../core/vsp/keys.ts"
import { verifySignedMessage } from "../../core/vsp/signed-message.ts"
import { type ParsedTicket, paidTo as feePaidTo, parseTicket as parseTicketTx } from "../../core/vsp/ticket.ts"

/**
 * The service's checks on what stakers send, in the terms vspd uses (`isValidTicket`, the
 * commitment address, the voting key, the fee output), over core/vsp. Each answers a reason
 * for a refusal, never throws.
 */

/** A ticket purchase with one commitment (vspd's `isValidTicket`), or why it is not one. */
export const parseTicket = (hex: string, network: NetworkParams): Result.Result<ParsedTicket, string> => Result.mapError(parseTicketTx(hex, network), (e) => e.message)

/** Any transaction: its hash and what it spends and pays. */
export const parseTransaction = (hex: string): Result.Result<{ readonly hash: string; readonly tx: DecodedTx }, string> => {
  const decoded = decodeTxHex(hex)
  return Result.isFailure(decoded) ? Result.fail(decoded.failure.message) : Result.succeed({ hash: txidOf(decoded.success), tx: decoded.success })
}

/** A display-order transaction hash: 64 hex digits (vspd's validateTicketHash). */
export const isTxHash = (text: string): boolean => text.length === 64 && Result.isSuccess(fromHex(text, "tickethash", 32))

/** Whether the request's signature is `address`'s over the exact body bytes (dcrutil's VerifyMessage of string(body)). */
export const signedBy = (address: string, signature: string, body: Uint8Array, network: NetworkParams): boolean => verifySignedMessage(address, signature, body, network)

/** Why the voting key (WIF) is refused on this network, or undefined when it decodes (vspd's first payfee check). */
export const votingKeyProblem = (wif: string, network: NetworkParams): string | undefined => {
  const key = decodeWif(wif, network)
  return Result.isFailure(key) ? key.failure.message : undefined
}

/** Whether the voting key's P2PKH address is the ticket's voting address (vspd's last payfee check). */
export const votingKeyMatches = (wif: string, ticket: ParsedTicket, network: NetworkParams): boolean => {
  const key = decodeWif(wif, network)
  return Result.isSuccess(key) && p2pkhAddressOf(publicKeyOf(key.success), network) === ticket.votingAddress
}

/** What a fee transaction pays `address` (its first output to the address's script), and its hash. */
export const paidTo = (feeTxHex: string, address: string, network: NetworkParams): Result.Result<{ readonly txHash: string; readonly paid: bigint }, string> =>
  Result.mapError(feePaidTo(feeTxHex, address, network), (e) => e.message)

/** An alternate signing address must be a P2PKH secp256k1 address of this network (vspd's setaltsignaddr). */
export const altSignAddressProblem = (address: string, network: NetworkParams): string | undefined => {
  const decoded = decodeAddress(address, network)
  if (Result.isFailure(decoded)) return decoded.failure.message
  return decoded.success.kind === "p2pkh-ecdsa-secp256k1" ? undefined : "wrong type for alternate signing address"
}

/** The fee address at `index` of the service's xpub (the configuration's check that the key derives). */
export const deriveFeeAddress = (xpub: string, index: number, network: NetworkParams): Result.Result<string, string> => Result.mapError(feeAddress(xpub, index, network), (e) => e.message)

/** The fee address after `lastUsedIndex`, as vspd hands them out. */
export const nextFeeAddress = (xpub: string, lastUsedIndex: number, network: NetworkParams): Result.Result<{ readonly address: string; readonly index: number }, string> =>
  Result.mapError(nextVspdFeeAddress(xpub, lastUsedIndex, network), (e) => e.message)
