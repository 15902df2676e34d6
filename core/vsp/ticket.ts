import { Data, Result } from "effect"
import { decodeAddress, encodeAddress } from "../chain/address.ts"
import type { AddressError } from "../chain/errors.ts"
import { bytesEqual, readUintLE } from "../chain/bytes.ts"
import type { NetworkParams } from "../chain/params.ts"
import { decodeTxHex, paymentScript, txidOf, type TxDecodeError, type TxOutput } from "../chain/tx.ts"

/** A transaction that is not a ticket a voting service can take; the message says which rule it breaks. */
export class TicketParseError extends Data.TaggedError("TicketParseError")<{
  readonly message: string
}> {}

/** What a voting service needs of a ticket purchase (SStx). */
export interface ParsedTicket {
  /** Display hex of the ticket's transaction hash. */
  readonly hash: string
  /** The ticket's price: output 0's value. */
  readonly price: bigint
  /** Who may vote it: output 0's OP_SSTX-tagged P2PKH (or P2SH) address. */
  readonly votingAddress: string
  /** Whose ticket it is: the address of output 1's commitment, the one that signs requests. */
  readonly commitmentAddress: string
  /** The amount output 1 commits to return (the P2SH flag bit cleared). */
  readonly commitmentAmount: bigint
  /** The fee limits of the commitment (the last two bytes, little-endian), as dcrd stores them. */
  readonly feeLimits: number
}

// txscript opcodes.
const OP_RETURN = 0x6a
const OP_DUP = 0x76
const OP_HASH160 = 0xa9
const OP_DATA_20 = 0x14
const OP_EQUALVERIFY = 0x88
const OP_CHECKSIG = 0xac
const OP_EQUAL = 0x87
const OP_SSTX = 0xba
const OP_SSTXCHANGE = 0xbd

// blockchain/stake/staketx.go.
const MAX_INPUTS_PER_SSTX = 64
const MAX_OUTPUTS_PER_SSTX = MAX_INPUTS_PER_SSTX * 2 + 1
const COMMITMENT_MIN_SCRIPT_BYTES = 32
const COMMITMENT_MAX_SCRIPT_BYTES = 77
const OP_DATA_30 = 0x1e
const MAX_SINGLE_BYTE_PUSH = 0x4b
const P2SH_COMMITMENT_FLAG = 0x80n << 56n

type TaggedKind = "p2pkh-ecdsa-secp256k1" | "p2sh"

/** The P2PKH or P2SH script after a stake tag, with its 20-byte hash; undefined for anything else. */
const taggedScript = (script: Uint8Array, tag: number): { readonly kind: TaggedKind; readonly hash: Uint8Array } | undefined => {
  if (script[0] !== tag) return undefined
  const s = script.subarray(1)
  if (s.length === 25 && s[0] === OP_DUP && s[1] === OP_HASH160 && s[2] === OP_DATA_20 && s[23] === OP_EQUALVERIFY && s[24] === OP_CHECKSIG) {
    return { kind: "p2pkh-ecdsa-secp256k1", hash: s.slice(3, 23) }
  }
  if (s.length === 23 && s[0] === OP_HASH160 && s[1] === OP_DATA_20 && s[22] === OP_EQUAL) return { kind: "p2sh", hash: s.slice(2, 22) }
  return undefined
}

/**
 * A commitment output as CheckSStx takes it: version 0, OP_RETURN then one direct push of 30 to
 * 75 bytes that ends the script (IsNullDataScript and the prefix check together).
 */
const isCommitment = (out: TxOutput): boolean => {
  const s = out.pkScript
  return s.length >= COMMITMENT_MIN_SCRIPT_BYTES && s.length <= COMMITMENT_MAX_SCRIPT_BYTES && s[0] === OP_RETURN && s[1]! >= OP_DATA_30 && s[1]! <= MAX_SINGLE_BYTE_PUSH && s.length === 2 + s[1]!
}

const refuse = (message: string) => Result.fail(new TicketParseError({ message }))

/**
 * Parses a ticket purchase from its raw hex by dcrd's `CheckSStx` (at most 64 inputs, outputs =
 * 2 x inputs + 1, all version 0, output 0 OP_SSTX-tagged P2PKH or P2SH, odd outputs commitments,
 * even ones OP_SSTXCHANGE-tagged) and vspd's own rule on top: exactly 3 outputs, one commitment
 * (vspd refuses split tickets). The commitment address is P2SH when the amount's top bit is set.
 */
export const parseTicket = (ticketHex: string, network: NetworkParams): Result.Result<ParsedTicket, TicketParseError | TxDecodeError> =>
  Result.flatMap(decodeTxHex(ticketHex), (tx) => {
    const outs = tx.outputs
    if (tx.inputCount > MAX_INPUTS_PER_SSTX) return refuse(`not a ticket: ${tx.inputCount} inputs, more than ${MAX_INPUTS_PER_SSTX}`)
    if (outs.length > MAX_OUTPUTS_PER_SSTX) return refuse(`not a ticket: ${outs.length} outputs, more than ${MAX_OUTPUTS_PER_SSTX}`)
    if (outs.length === 0) return refuse("not a ticket: no outputs")
    if (outs.some((o) => o.scriptVersion !== 0)) return refuse("not a ticket: an output's script version is not 0")
    const voting = taggedScript(outs[0]!.pkScript, OP_SSTX)
    if (voting === undefined) return refuse("not a ticket: output 0 is not an OP_SSTX-tagged P2PKH or P2SH output")
    if (tx.inputCount * 2 + 1 !== outs.length) return refuse(`not a ticket: ${tx.inputCount} inputs need ${tx.inputCount * 2 + 1} outputs, it has ${outs.length}`)
    for (let i = 1; i < outs.length; i++) {
      const out = outs[i]!
      if (i % 2 === 0 ? taggedScript(out.pkScript, OP_SSTXCHANGE) === undefined : !isCommitment(out)) {
        return refuse(`not a ticket: output ${i} is not ${i % 2 === 0 ? "an OP_SSTXCHANGE-tagged change output" : "an OP_RETURN commitment"}`)
      }
    }
    if (outs.length !== 3) return refuse(`a ticket with ${outs.length} outputs (${(outs.length - 1) / 2} commitments): a voting service takes only tickets with one commitment, as vspd does`)
    const commitment = outs[1]!.pkScript
    const encodedAmount = readUintLE(commitment.subarray(22, 30))
    const isP2sh = (encodedAmount & P2SH_COMMITMENT_FLAG) !== 0n
    return Result.succeed({
      hash: txidOf(tx),
      price: outs[0]!.value,
      votingAddress: encodeAddress(voting.kind, voting.hash, network),
      commitmentAddress: encodeAddress(isP2sh ? "p2sh" : "p2pkh-ecdsa-secp256k1", commitment.slice(2, 22), network),
      commitmentAmount: encodedAmount & ~P2SH_COMMITMENT_FLAG,
      feeLimits: commitment[30]! | (commitment[31]! << 8),
    })
  })

/** What a fee transaction pays a fee address. */
interface FeePayment {
  /** Display hex of the fee transaction's hash. */
  readonly txHash: string
  /** The value of the first output paying the address (version 0, its exact payment script); 0 when none does. */
  readonly paid: bigint
}

/**
 * What `feeTxHex` pays `address`, the way vspd's `payfee` reads it: the first output whose
 * script version is 0 and whose script is the address's payment script (vspd stops at the first;
 * dcrwallet pays the fee in one output). The address must be of `network`.
 */
export const paidTo = (feeTxHex: string, address: string, network: NetworkParams): Result.Result<FeePayment, TxDecodeError | AddressError> =>
  Result.flatMap(decodeAddress(address, network), (decoded) =>
    Result.map(decodeTxHex(feeTxHex), (tx) => {
      // Only these two kinds have the script paymentScript writes; a fee address is P2PKH.
      const payable = decoded.kind === "p2pkh-ecdsa-secp256k1" || decoded.kind === "p2sh"
      const script = paymentScript(decoded)
      const output = payable ? tx.outputs.find((o) => o.scriptVersion === 0 && bytesEqual(o.pkScript, script)) : undefined
      return { txHash: txidOf(tx), paid: output?.value ?? 0n }
    }),
  )
