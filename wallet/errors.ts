import { Data } from "effect"

/** An RPC argument or configuration value the wallet layer cannot use; `field` names it. */
export class InvalidArgument extends Data.TaggedError("InvalidArgument")<{
  readonly field: string
  readonly message: string
}> {}

/** A purchase that is well-formed but cannot be made now; the message says why and what would fix it. */
export class PurchaseRefused extends Data.TaggedError("PurchaseRefused")<{
  readonly reason: "price-above-spend-limit" | "price-above-max-price" | "insufficient-funds" | "expiry-passed" | "not-in-current-wallet"
  readonly message: string
}> {}
