import { Data } from "effect"

/**
 * Bytes that should have been hex were not, or had the wrong length.
 * `field` names what was being read so that the message points at the culprit
 * (a stratum param, a getwork payload, a config value).
 */
export class HexDecodeError extends Data.TaggedError("HexDecodeError")<{
  readonly field: string
  readonly message: string
}> {}

/** A serialized block header that cannot be decoded. */
export class HeaderDecodeError extends Data.TaggedError("HeaderDecodeError")<{
  readonly message: string
}> {}

/** A getwork `data` payload that is not a 180-byte header plus a known padding. */
export class GetworkDecodeError extends Data.TaggedError("GetworkDecodeError")<{
  readonly message: string
}> {}

/** Why an address string was refused. */
export type AddressProblem = "empty" | "too-long" | "not-base58" | "bad-length" | "bad-checksum" | "unknown-prefix" | "wrong-network" | "bad-public-key"

/** A Decred address that does not decode or does not belong to the expected network. */
export class AddressError extends Data.TaggedError("AddressError")<{
  readonly address: string
  readonly problem: AddressProblem
  readonly message: string
}> {}
