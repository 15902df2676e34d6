import { Result } from "effect"
import { atomsToDcr } from "../../core/chain/amounts.ts"
import { InvalidArgument, PurchaseRefused } from "../errors.ts"
import type { PurchaseTicketRequest } from "../purchase.ts"

/**
 * A request in either form as dcrwallet 2.1 takes it (the current form). What the 2016 form
 * said that today's wallet no longer takes is enforced here (the spend limit, against the price
 * the next block asks) or refused with what to use instead (a ticket address or a stake pool:
 * a voting service). Stands in for `toCurrentForm` of wallet/purchase.ts until that lands: the
 * same signature, so the merge swaps the import.
 */
export const toCurrentForm = (request: PurchaseTicketRequest, currentPriceAtoms: bigint): Result.Result<PurchaseTicketRequest, InvalidArgument | PurchaseRefused> => {
  if (request.form === "current") return Result.succeed(request)
  if (request.spendLimit !== undefined && currentPriceAtoms > request.spendLimit) {
    return Result.fail(
      new PurchaseRefused({
        reason: "price-above-spend-limit",
        message: `ticket price ${atomsToDcr(currentPriceAtoms)} DCR is above your spend limit ${atomsToDcr(request.spendLimit)} DCR; raise spendlimit or wait for a lower price`,
      }),
    )
  }
  if (request.ticketAddress !== undefined) {
    return Result.fail(
      new InvalidArgument({
        field: "ticketaddress",
        message: 'ticketaddress: dcrwallet 2.1 no longer takes a ticket address; leave it empty ("") to vote from this wallet, or set dcrwallet\'s --ticketbuyer.votingaddress',
      }),
    )
  }
  if (request.pool !== undefined) {
    return Result.fail(
      new InvalidArgument({
        field: "pooladdress",
        message:
          'pooladdress/poolfees: stake pools of the 2016 kind are gone; leave them empty ("") to vote solo, or use a voting service (vspd) through dcrwallet\'s --vsp.url/--vsp.pubkey or Decrediton',
      }),
    )
  }
  return Result.succeed({ ...request, form: "current", spendLimit: undefined })
}
