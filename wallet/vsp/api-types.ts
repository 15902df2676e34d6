import { Schema } from "effect"

/**
 * vspd's API v3 on the wire (vspd `types/types.go`, `types/errors.go`): the bodies dcrwallet's
 * client (vspd `client/`) sends and reads, as Effect Schemas. Field names are vspd's JSON
 * names. Go marshals `[]byte` as base64, so `request` (the request body echoed back, which the
 * client compares byte for byte) and `pubkey` are base64 strings here.
 */

/** vspd's error codes, numbered as `types.ErrorCode` (iota order): the numbers are the API. */
export const VspErrorCode = {
  BadRequest: 0,
  InternalError: 1,
  VspClosed: 2,
  FeeAlreadyReceived: 3,
  InvalidFeeTx: 4,
  FeeTooSmall: 5,
  UnknownTicket: 6,
  TicketCannotVote: 7,
  FeeExpired: 8,
  InvalidVoteChoices: 9,
  BadSignature: 10,
  InvalidPrivKey: 11,
  FeeNotReceived: 12,
  InvalidTicket: 13,
  CannotBroadcastTicket: 14,
  CannotBroadcastFee: 15,
  CannotBroadcastFeeUnknownOutputs: 16,
  InvalidTimestamp: 17,
} as const
export type VspErrorCode = (typeof VspErrorCode)[keyof typeof VspErrorCode]

/** HTTP status and default message per code, as vspd's `HTTPStatus` / `DefaultMessage`. */
const ERROR_TABLE: { readonly [K in VspErrorCode]: readonly [number, string] } = {
  0: [400, "bad request"],
  1: [500, "internal error"],
  2: [400, "vsp is closed"],
  3: [400, "fee tx already received for ticket"],
  4: [400, "invalid fee tx"],
  5: [400, "fee too small"],
  6: [400, "unknown ticket"],
  7: [400, "ticket not eligible to vote"],
  8: [400, "fee has expired"],
  9: [400, "invalid vote choices"],
  10: [400, "bad request signature"],
  11: [400, "invalid private key"],
  12: [400, "no fee tx received for ticket"],
  13: [400, "not a valid ticket tx"],
  14: [500, "ticket transaction could not be broadcast"],
  15: [500, "fee transaction could not be broadcast"],
  16: [428, "fee transaction could not be broadcast due to unknown outputs"],
  17: [400, "old or reused timestamp"],
}

export const httpStatusOf = (code: VspErrorCode): number => ERROR_TABLE[code][0]
const defaultMessageOf = (code: VspErrorCode): string => ERROR_TABLE[code][1]

/** An API refusal: the code says what kind (the client acts on it), the message says why. */
export interface ApiRefusal {
  readonly code: VspErrorCode
  readonly message: string
}
export const refusal = (code: VspErrorCode, message: string = defaultMessageOf(code)): ApiRefusal => ({ code, message })

/** vspd's error body: exactly these two fields (the client decodes it with DisallowUnknownFields). */
export const ErrorResponse = Schema.Struct({ code: Schema.Number, message: Schema.String })

/** Agenda id -> choice id, treasury key -> policy, tspend hash -> policy: string maps. */
const StringMap = Schema.Record(Schema.String, Schema.String)

export const VspInfoResponse = Schema.Struct({
  apiversions: Schema.Array(Schema.Number),
  timestamp: Schema.Number,
  pubkey: Schema.String,
  feepercentage: Schema.Number,
  vspclosed: Schema.Boolean,
  vspclosedmsg: Schema.String,
  network: Schema.String,
  vspdversion: Schema.String,
  voting: Schema.Number,
  voted: Schema.Number,
  totalvotingwallets: Schema.Number,
  votingwalletsonline: Schema.Number,
  expired: Schema.Number,
  missed: Schema.Number,
  blockheight: Schema.Number,
  estimatednetworkproportion: Schema.Number,
})
export type VspInfoResponse = typeof VspInfoResponse.Type

/** Every POST names its ticket; the middleware reads this much before anything else. */
export const TicketHashOnly = Schema.Struct({ tickethash: Schema.String })

/** What `feeaddress` and `setaltsignaddr` carry so the service can broadcast an unmined ticket. */
export const TicketCarrier = Schema.Struct({ tickethash: Schema.String, tickethex: Schema.String, parenthex: Schema.String })

export const FeeAddressRequest = Schema.Struct({
  timestamp: Schema.Number,
  tickethash: Schema.String,
  tickethex: Schema.String,
  parenthex: Schema.String,
})

export const FeeAddressResponse = Schema.Struct({
  timestamp: Schema.Number,
  feeaddress: Schema.String,
  feeamount: Schema.Number,
  expiration: Schema.Number,
  request: Schema.String,
})

export const PayFeeRequest = Schema.Struct({
  timestamp: Schema.Number,
  tickethash: Schema.String,
  feetx: Schema.String,
  votingkey: Schema.String,
  votechoices: StringMap,
  tspendpolicy: Schema.optionalKey(Schema.NullOr(StringMap)),
  treasurypolicy: Schema.optionalKey(Schema.NullOr(StringMap)),
})

/** payfee, setvotechoices and setaltsignaddr all answer this. */
export const AckResponse = Schema.Struct({ timestamp: Schema.Number, request: Schema.String })

export const TicketStatusRequest = Schema.Struct({ tickethash: Schema.String })

export const FeeTxStatus = Schema.Literals(["none", "received", "broadcast", "confirmed", "error"])
export type FeeTxStatus = typeof FeeTxStatus.Type

export const TicketStatusResponse = Schema.Struct({
  timestamp: Schema.Number,
  ticketconfirmed: Schema.Boolean,
  feetxstatus: FeeTxStatus,
  feetxhash: Schema.String,
  altsignaddress: Schema.String,
  votechoices: StringMap,
  tspendpolicy: StringMap,
  treasurypolicy: StringMap,
  request: Schema.String,
})

export const SetVoteChoicesRequest = Schema.Struct({
  timestamp: Schema.Number,
  tickethash: Schema.String,
  votechoices: StringMap,
  tspendpolicy: Schema.optionalKey(Schema.NullOr(StringMap)),
  treasurypolicy: Schema.optionalKey(Schema.NullOr(StringMap)),
})

export const SetAltSignAddrRequest = Schema.Struct({
  timestamp: Schema.Number,
  tickethash: Schema.String,
  tickethex: Schema.String,
  parenthex: Schema.String,
  altsignaddress: Schema.String,
})

/** One voting wallet in `/admin/status`, vspd's `walletStatus` fields. */
const AdminWalletStatus = Schema.Struct({
  connected: Schema.Boolean,
  infoerror: Schema.Boolean,
  daemonconnected: Schema.Boolean,
  voteversion: Schema.Number,
  unlocked: Schema.Boolean,
  voting: Schema.Boolean,
  bestblockerror: Schema.Boolean,
  bestblockheight: Schema.Number,
})

/** `/admin/status`: each voting wallet by name, and the service's dcrd. */
export const AdminStatusResponse = Schema.Struct({
  wallets: Schema.Record(Schema.String, AdminWalletStatus),
  dcrd: Schema.Struct({ host: Schema.String, connected: Schema.Boolean, bestblockerror: Schema.Boolean, bestblockheight: Schema.Number }),
})
