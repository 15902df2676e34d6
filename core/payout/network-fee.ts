import { Result } from "effect"
import { PayoutFeeUnpayable, type PayoutFeePayer, type PayoutOutput, type PayoutRequest } from "../services/wallet.ts"
import { splitProportionally } from "./amounts.ts"

// The network fee of a payout, by the rules dcrwallet prices a transaction with and dcrd's
// mempool relays it under: sizes from dcrwallet's wallet/txsizes, the fee from
// txrules.FeeForSerializeSize, dust from txrules.IsDustAmount (dcrd's mempool isDust is the
// same test). Both the dcrwallet client and the simulated wallet take the fee out of the
// outputs with these.

/** Output script of a version-0 pay-to-pubkey-hash address: DUP HASH160 <20> EQUALVERIFY CHECKSIG. */
export const P2PKH_SCRIPT_BYTES = 25
/** Output script of a version-0 pay-to-script-hash address: HASH160 <20> EQUAL. */
export const P2SH_SCRIPT_BYTES = 23
/**
 * The largest signature script that redeems a P2PKH output (txsizes.RedeemP2PKHSigScriptSize):
 * a push of a 72-byte DER signature and its hash type, a push of a 33-byte compressed key. Real
 * ones are a byte or two shorter, so a fee priced with it is never short.
 */
export const P2PKH_SIG_SCRIPT_BYTES = 108

/** wire.VarIntSerializeSize. */
const varIntBytes = (n: number): number => (n < 0xfd ? 1 : n <= 0xffff ? 3 : n <= 0xffff_ffff ? 5 : 9)

/** txsizes.EstimateInputSize: outpoint (hash, index, tree) and sequence in the prefix; value, height, index and script in the witness. */
const inputBytes = (sigScriptBytes: number): number => 32 + 4 + 1 + 8 + 4 + 4 + varIntBytes(sigScriptBytes) + sigScriptBytes + 4

/** txsizes.EstimateOutputSize: value, script version and script. */
const outputBytes = (pkScriptBytes: number): number => 8 + 2 + varIntBytes(pkScriptBytes) + pkScriptBytes

/**
 * The full serialized size (prefix and witness) of a transaction with these signature and
 * output scripts (txsizes.EstimateSerializeSize): version, lock time and expiry (12 bytes), the
 * input count twice (prefix and witness) and the output count.
 */
export const transactionBytes = (sigScriptBytes: ReadonlyArray<number>, pkScriptBytes: ReadonlyArray<number>): number =>
  12 +
  2 * varIntBytes(sigScriptBytes.length) +
  varIntBytes(pkScriptBytes.length) +
  sigScriptBytes.reduce((sum, s) => sum + inputBytes(s), 0) +
  pkScriptBytes.reduce((sum, s) => sum + outputBytes(s), 0)

/** txrules.FeeForSerializeSize: `ratePerKb` x size / 1000, rounded down, but never 0 at a rate above 0. */
export const feeForBytes = (ratePerKb: bigint, bytes: number): bigint => {
  const fee = (ratePerKb * BigInt(bytes)) / 1000n
  return fee === 0n && ratePerKb > 0n ? ratePerKb : fee
}

/**
 * txrules.IsDustAmount (dcrd: isDust): an output is dust when what it costs the network (its
 * own size and that of an average P2PKH input spending it, 165 bytes) is more than a third of
 * its value at the relay fee rate. dcrd refuses to relay a transaction with a dust output.
 */
export const isDust = (amount: bigint, pkScriptBytes: number, ratePerKb: bigint): boolean => (amount * 1000n) / (3n * BigInt(outputBytes(pkScriptBytes) + 165)) < ratePerKb

/** The smallest amount that is not dust to a script of this size: 6030 atoms to a P2PKH address at 0.0001 DCR/kB. */
export const dustLimit = (pkScriptBytes: number, ratePerKb: bigint): bigint => {
  const scaled = ratePerKb * 3n * BigInt(outputBytes(pkScriptBytes) + 165)
  return (scaled + 999n) / 1000n
}

/**
 * Takes `fee` out of the outputs `payer` names; `amounts` are per address, as owed. The result
 * holds every address in the same order, the payers' amounts reduced so that they add up to
 * `fee` less than before. Fails when the payer names no output, or when an output that pays
 * a part would be left below `minimumOf(address)` (its dust limit).
 */
export const takeNetworkFee = (
  amounts: ReadonlyMap<string, bigint>,
  payer: PayoutFeePayer,
  fee: bigint,
  minimumOf: (address: string) => bigint,
): Result.Result<ReadonlyMap<string, bigint>, PayoutFeeUnpayable> => {
  let shares: ReadonlyArray<{ readonly account: string; readonly amount: bigint }>
  if (payer._tag === "Output") {
    if (!amounts.has(payer.address)) return Result.fail(new PayoutFeeUnpayable({ fee, payer, short: undefined }))
    shares = [{ account: payer.address, amount: fee }]
  } else {
    const exempt = new Set(payer.exempt)
    const weights = new Map([...amounts].filter(([address, amount]) => !exempt.has(address) && amount > 0n))
    if (weights.size === 0) return Result.fail(new PayoutFeeUnpayable({ fee, payer, short: undefined }))
    shares = splitProportionally(fee, weights)
  }
  const paid = new Map(amounts)
  for (const share of shares) {
    if (share.amount === 0n) continue
    const amount = amounts.get(share.account) ?? 0n
    const minimum = minimumOf(share.account)
    if (amount - share.amount < minimum) {
      return Result.fail(new PayoutFeeUnpayable({ fee, payer, short: { address: share.account, amount, share: share.amount, minimum } }))
    }
    paid.set(share.account, amount - share.amount)
  }
  return Result.succeed(paid)
}

/** Where the pool takes a payout's network fee from: its own fee output, or the miners' outputs pro rata. */
export type PayoutFeeSource = "poolfee" | "miners"

export const PAYOUT_FEE_SOURCES: ReadonlyArray<PayoutFeeSource> = ["poolfee", "miners"]

/**
 * The pool's payout request: the outputs, and who pays the network fee. From the pool fee's
 * output by default; from the miners' outputs pro rata (the pool fee exempt) with "miners".
 * A batch without the payer asked for falls back to the other, so it never stalls on that: one
 * with no pool fee output (a fee of 0, or none accrued) has the miners pay, one paying only the
 * pool fee has the pool fee pay.
 */
export const poolPayoutRequest = (outputs: ReadonlyArray<PayoutOutput>, from: PayoutFeeSource, feeAddress: string): PayoutRequest => {
  const paysPoolFee = outputs.some((o) => o.address === feeAddress)
  const paysMiners = outputs.some((o) => o.address !== feeAddress)
  const poolFeePays = paysPoolFee && (from === "poolfee" || !paysMiners)
  return { outputs, feePaidBy: poolFeePays ? { _tag: "Output", address: feeAddress } : { _tag: "ProRata", exempt: [feeAddress] } }
}
