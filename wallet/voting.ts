/**
 * Who votes a ticket when it is called. A solo wallet must itself be online; a voting service
 * (VSP) votes from any of its voting servers, so it misses only when all are down. A VSP
 * charges a fee, a percentage of the vote subsidy, paid in a separate transaction when the
 * ticket is registered.
 */
export type VotingArrangement =
  | { readonly kind: "solo"; readonly online: (height: number) => boolean }
  | {
      readonly kind: "voting-service"
      readonly servers: ReadonlyArray<(height: number) => boolean>
      /** Fee in basis points of the vote subsidy. */
      readonly feeBasisPoints: number
    }

export const canVote = (arrangement: VotingArrangement, height: number): boolean => (arrangement.kind === "solo" ? arrangement.online(height) : arrangement.servers.some((up) => up(height)))

/** A voting service's fee for one ticket, in atoms (rounded down). */
export const votingServiceFee = (feeBasisPoints: number, voteSubsidy: bigint): bigint => (BigInt(feeBasisPoints) * voteSubsidy) / 10_000n
