import type { VotableTicket } from "./fleet-port.ts"
import type { VspTicket } from "./store.ts"

/** What the voting wallets get of a stored ticket; undefined while it has no voting key or is not confirmed. */
export const votableOf = (ticket: VspTicket): VotableTicket | undefined =>
  ticket.voting_wif === undefined || ticket.purchase_height === undefined || ticket.purchase_block_hash === undefined
    ? undefined
    : {
        hash: ticket.hash,
        ticketHex: ticket.ticket_hex,
        blockHash: ticket.purchase_block_hash,
        votingKeyWif: ticket.voting_wif,
        voteChoices: ticket.vote_choices,
        treasuryPolicy: ticket.treasury_policy,
        tspendPolicy: ticket.tspend_policy,
      }
