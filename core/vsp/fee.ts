import { chainActivations, isAgendaActive, type AgendaActivations } from "../chain/agendas.ts"
import type { NetworkName, NetworkParams } from "../chain/params.ts"
import { voteSubsidy, type SubsidySplit } from "../chain/subsidy.ts"

/** What dcrwallet's `txrules.StakePoolTicketFee` takes, named. */
export interface StakePoolFeeInput {
  /** The ticket's price in atoms (vspd passes the current stake difficulty). */
  readonly stakeDiff: bigint
  /** The relay fee rate in atoms per kB. */
  readonly relayFeePerKb: bigint
  /** The block height the fee is for (vspd: its dcrd's best block). Go takes an int32. */
  readonly height: number
  /** The service's fee as a percentage of the vote reward: 2 means 2%. */
  readonly feePercent: number
  readonly network: NetworkParams
  /** DCP-0010 (changesubsidysplit) active at `height`; ignored when `dcp0012Active`. */
  readonly dcp0010Active: boolean
  /** DCP-0012 (changesubsidysplitr2) active at `height`. */
  readonly dcp0012Active: boolean
}

/**
 * dcrwallet's `txrules.ValidPoolFeeRate`: a fee of 0.01% to 100%, judged on the percentage
 * times 100 floored, in float64 as Go computes it (so 0.009 is refused and 100.009 is not).
 */
export const validPoolFeeRate = (feePercent: number): boolean => {
  const hundredths = Math.floor(feePercent * 100)
  return hundredths >= 1 && hundredths <= 10000
}

const SHIFT = 64n
const INT64_MIN = -(1n << 63n)
const INT64_MAX = (1n << 63n) - 1n

/**
 * Go's int64(f) for a float64 already floored: exact in range; out of range or NaN, amd64's
 * conversion gives the "integer indefinite" value, int64's minimum (the vectors were computed there).
 */
const goInt64OfFloat = (f: number): bigint => {
  if (!Number.isFinite(f)) return INT64_MIN
  const n = BigInt(f)
  return n < INT64_MIN || n > INT64_MAX ? INT64_MIN : n
}

/** big.Int's Div: Euclidean division (the remainder is never negative). */
const euclideanDiv = (n: bigint, d: bigint): bigint => {
  const q = n / d
  return n % d < 0n ? (d > 0n ? q - 1n : q + 1n) : q
}

/**
 * The fee a voting service charges for a ticket, in atoms: dcrwallet's
 * `txrules.StakePoolTicketFee` (wallet/txrules/poolfees.go), which vspd charges and dcrwallet
 * checks. The vote subsidy at `height`, pushed forward ceil(TicketPoolSize /
 * SubsidyReductionInterval) reductions of 100/101 (the average wait for a vote), then
 * floor(((p * s * (v + z)) << 64) / (10000 * (s + v))) >> 64 with p the percentage in
 * hundredths floored, s that subsidy, v the price and z the relay fee.
 *
 * Exact to Go: JavaScript numbers are float64, so `feePercent * 100` floors to the same
 * hundredths Go gets (2.3 gives 229, as in Go); the big-integer steps are bigint, and the result
 * wraps to int64 as Go's `big.Int.Int64` does. Go divides by zero (and panics) when the price
 * and the subsidy are both zero; this throws a RangeError there.
 */
export const stakePoolTicketFee = (input: StakePoolFeeInput): bigint => {
  const { network } = input
  const poolFeeHundredths = goInt64OfFloat(Math.floor(input.feePercent * 100))
  // Go: int(math.Ceil(float64(TicketPoolSize) / float64(SubsidyReductionInterval))).
  const adjustments = Math.ceil(network.ticketPoolSize / network.subsidyReductionInterval)
  const split: SubsidySplit = input.dcp0012Active ? "dcp0012" : input.dcp0010Active ? "dcp0010" : "original"
  // CalcStakeVoteSubsidyV3(height): the subsidy of one vote on the block at `height`.
  let subsidy = voteSubsidy(network, input.height, split)
  for (let i = 0; i < adjustments; i++) subsidy = (subsidy * 100n) / 101n

  const v = input.stakeDiff
  const z = input.relayFeePerKb
  const numerator = (poolFeeHundredths * subsidy * (v + z)) << SHIFT
  const denominator = (subsidy + v) * 10000n
  if (denominator === 0n) throw new RangeError("stakePoolTicketFee: the price and the vote subsidy are both zero (Go divides by zero here)")
  // big.Int's Rsh is arithmetic (it floors), as bigint's >> is.
  const fee = euclideanDiv(numerator, denominator) >> SHIFT
  return BigInt.asIntN(64, fee)
}

/**
 * The heights from which vspd treats DCP-0010 and DCP-0012 as active (vspd internal/config
 * network.go). vspd hard-codes them rather than asking dcrd: on simnet both from block 1; on
 * testnet3 at the heights the votes passed there. vspd has no regnet configuration; there the
 * chain's own activations decide (regnet forces nothing, so until a vote passes: neither).
 */
const VSPD_SPLIT_HEIGHTS: { readonly [K in NetworkName]?: { readonly dcp0010: number; readonly dcp0012: number } } = {
  mainnet: { dcp0010: 657280, dcp0012: 794368 },
  testnet3: { dcp0010: 877728, dcp0012: 1170048 },
  simnet: { dcp0010: 1, dcp0012: 1 },
}

/** The relay fee vspd's fee quote uses: a constant 1e4 atoms/kB, never what dcrd relays at. */
const VSPD_RELAY_FEE_PER_KB = 10_000n

/**
 * The fee vspd quotes (`getCurrentFee`): `StakePoolTicketFee` of its dcrd's best block header's
 * SBits at that block's height, a relay fee of 1e4 atoms/kB, and DCP-0010 / DCP-0012 by vspd's
 * own activation heights. `activations` (a chain's reported agenda heights) decide only where
 * vspd has no table (regnet).
 */
export const vspdCurrentFee = (input: {
  readonly bestBlockSBits: bigint
  readonly bestBlockHeight: number
  readonly feePercent: number
  readonly network: NetworkParams
  readonly activations?: AgendaActivations
}): bigint => {
  const { bestBlockHeight: height, network } = input
  const table = VSPD_SPLIT_HEIGHTS[network.name]
  const activations = input.activations ?? chainActivations(network.agendas)
  return stakePoolTicketFee({
    stakeDiff: input.bestBlockSBits,
    relayFeePerKb: VSPD_RELAY_FEE_PER_KB,
    height,
    feePercent: input.feePercent,
    network,
    dcp0010Active: table === undefined ? isAgendaActive(activations, "changesubsidysplit", height) : height >= table.dcp0010,
    dcp0012Active: table === undefined ? isAgendaActive(activations, "changesubsidysplitr2", height) : height >= table.dcp0012,
  })
}
