import { Data, Result } from "effect"
import type { DecodedAddress } from "./address.ts"
import { concatBytes, fromHex } from "./bytes.ts"
import { blake256Hash, hashToDisplay } from "./hash.ts"

/** Bytes that are no serialized Decred transaction; the message says what and where. */
export class TxDecodeError extends Data.TaggedError("TxDecodeError")<{ readonly message: string }> {}

export interface TxOutput {
  readonly value: bigint
  readonly scriptVersion: number
  readonly pkScript: Uint8Array
}

/** A transaction input's previous outpoint and sequence (the prefix part; the witness is elsewhere). */
interface TxInput {
  /** Display hex of the spent transaction's hash. */
  readonly previousHash: string
  readonly previousIndex: number
  /** 0 regular tree, 1 stake tree. */
  readonly previousTree: number
  readonly sequence: number
}

export interface DecodedTx {
  readonly version: number
  /** The no-witness serialization (serialization type 1 in the version's upper 16 bits): what TxHash hashes. */
  readonly prefix: Uint8Array
  readonly inputCount: number
  readonly inputs: ReadonlyArray<TxInput>
  readonly outputs: ReadonlyArray<TxOutput>
  /** Each input's value as its witness states it (ValueIn); empty for a prefix-only serialization. */
  readonly inputValues: ReadonlyArray<bigint>
  /** Where the output count and the outputs lie in the bytes decoded, [start, end). */
  readonly outputSpan: readonly [number, number]
  readonly lockTime: number
  readonly expiry: number
}

// wire/msgtx.go: TxSerializeFull = 0, TxSerializeNoWitness = 1, TxSerializeOnlyWitness = 2.
const SER_FULL = 0
const SER_NO_WITNESS = 1

/**
 * Decodes a full or prefix-only serialized transaction the way dcrd's `MsgTx.BtcDecode` does
 * (canonical var ints, witness count equal to the input count, no trailing bytes).
 */
export const decodeTx = (bytes: Uint8Array): Result.Result<DecodedTx, TxDecodeError> => {
  let at = 0
  const fail = (what: string) => Result.fail(new TxDecodeError({ message: `transaction: ${what} at byte ${at} of ${bytes.length}` }))
  const take = (n: number): Uint8Array | undefined => {
    if (n > bytes.length - at) return undefined
    const out = bytes.subarray(at, at + n)
    at += n
    return out
  }
  const uintLE = (n: number): bigint | undefined => {
    const b = take(n)
    if (b === undefined) return undefined
    let v = 0n
    for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!)
    return v
  }
  /** wire.ReadVarInt: refuses encodings longer than needed. */
  const varInt = (): bigint | undefined | "non-canonical" => {
    const first = uintLE(1)
    if (first === undefined) return undefined
    const [size, min] = first === 0xffn ? [8, 0x1_0000_0000n] : first === 0xfen ? [4, 0x1_0000n] : first === 0xfdn ? [2, 0xfdn] : [0, 0n]
    if (size === 0) return first
    const v = uintLE(size)
    if (v === undefined) return undefined
    return v < min ? "non-canonical" : v
  }
  /** A count of items at least `minBytes` each: more than the bytes left could hold is malformed. */
  const count = (what: string, minBytes: number): number | string => {
    const n = varInt()
    if (n === undefined) return `truncated ${what} count`
    if (n === "non-canonical") return `non-canonical ${what} count`
    if (n > BigInt(Math.floor((bytes.length - at) / minBytes))) return `${what} count ${n} is more than the remaining bytes hold`
    return Number(n)
  }

  const versionWord = uintLE(4)
  if (versionWord === undefined) return fail("truncated version")
  const version = Number(versionWord & 0xffffn)
  const serType = Number(versionWord >> 16n)
  if (serType !== SER_FULL && serType !== SER_NO_WITNESS) return fail(`serialization type ${serType} carries no prefix`)

  const prefixStart = at
  const inputs = count("input", 32 + 4 + 1 + 4)
  if (typeof inputs === "string") return fail(inputs)
  const txInputs: Array<TxInput> = []
  for (let i = 0; i < inputs; i++) {
    // Outpoint (hash, index, tree) and sequence.
    const hash = take(32)
    const index = uintLE(4)
    const tree = uintLE(1)
    const sequence = uintLE(4)
    if (hash === undefined || index === undefined || tree === undefined || sequence === undefined) return fail(`truncated input ${i}`)
    txInputs.push({ previousHash: hashToDisplay(hash), previousIndex: Number(index), previousTree: Number(tree), sequence: Number(sequence) })
  }
  const outputsStart = at
  const outputCount = count("output", 8 + 2 + 1)
  if (typeof outputCount === "string") return fail(outputCount)
  const outputs: Array<TxOutput> = []
  for (let i = 0; i < outputCount; i++) {
    const value = uintLE(8)
    const scriptVersion = uintLE(2)
    if (value === undefined || scriptVersion === undefined) return fail(`truncated output ${i}`)
    const length = count(`output ${i} script byte`, 1)
    if (typeof length === "string") return fail(length)
    outputs.push({ value, scriptVersion: Number(scriptVersion), pkScript: take(length)! })
  }
  const outputsEnd = at
  const lockTime = uintLE(4)
  const expiry = uintLE(4)
  if (lockTime === undefined || expiry === undefined) return fail("truncated lock time and expiry")
  const prefixEnd = at

  const inputValues: Array<bigint> = []
  if (serType === SER_FULL) {
    const witnesses = count("witness", 8 + 4 + 4 + 1)
    if (typeof witnesses === "string") return fail(witnesses)
    if (witnesses !== inputs) return fail(`${witnesses} witnesses for ${inputs} inputs`)
    for (let i = 0; i < witnesses; i++) {
      // Value in, block height, block index, then the signature script.
      const valueIn = uintLE(8)
      if (valueIn === undefined || take(8) === undefined) return fail(`truncated witness ${i}`)
      inputValues.push(valueIn)
      const length = count(`witness ${i} script byte`, 1)
      if (typeof length === "string") return fail(length)
      take(length)
    }
  }
  if (at !== bytes.length) return fail(`trailing data (${bytes.length - at} bytes) after the transaction`)

  const prefix = new Uint8Array(prefixEnd - prefixStart + 4)
  new DataView(prefix.buffer).setUint32(0, version | (SER_NO_WITNESS << 16), true)
  prefix.set(bytes.subarray(prefixStart, prefixEnd), 4)
  return Result.succeed({
    version,
    prefix,
    inputCount: inputs,
    inputs: txInputs,
    outputs,
    inputValues,
    outputSpan: [outputsStart, outputsEnd],
    lockTime: Number(lockTime),
    expiry: Number(expiry),
  })
}

/** wire.WriteVarInt. */
const varIntBytes = (n: number): Uint8Array => {
  if (n < 0xfd) return Uint8Array.of(n)
  const [marker, size] = n <= 0xffff ? [0xfd, 2] : n <= 0xffff_ffff ? [0xfe, 4] : [0xff, 8]
  return Uint8Array.of(marker, ...littleEndian(BigInt(n), size))
}
const littleEndian = (n: bigint, bytes: number): Array<number> => Array.from({ length: bytes }, (_, i) => Number((n >> BigInt(8 * i)) & 0xffn))

/**
 * The transaction `bytes` (which decoded to `tx`) with other outputs: inputs, lock time, expiry
 * and witnesses stay as they were. Signing comes after: a signature commits to the outputs.
 */
export const replaceOutputs = (bytes: Uint8Array, tx: DecodedTx, outputs: ReadonlyArray<TxOutput>): Uint8Array => {
  const parts: Array<Uint8Array> = [bytes.subarray(0, tx.outputSpan[0]), varIntBytes(outputs.length)]
  for (const o of outputs) {
    parts.push(Uint8Array.from([...littleEndian(o.value, 8), ...littleEndian(BigInt(o.scriptVersion), 2)]), varIntBytes(o.pkScript.length), o.pkScript)
  }
  parts.push(bytes.subarray(tx.outputSpan[1]))
  return concatBytes(parts)
}

/** dcrd's `MsgTx.TxHash`: BLAKE-256 of the no-witness serialization, shown byte-reversed. */
export const txidOf = (tx: DecodedTx): string => hashToDisplay(blake256Hash(tx.prefix))

/** Decodes a serialized transaction given as hex (what RPCs and the voting service's requests carry). */
export const decodeTxHex = (rawHex: string): Result.Result<DecodedTx, TxDecodeError> => {
  const bytes = fromHex(rawHex, "transaction")
  if (Result.isFailure(bytes)) return Result.fail(new TxDecodeError({ message: bytes.failure.message }))
  return decodeTx(bytes.success)
}

/** The txid of a serialized transaction (hex), as dcrd and dcrwallet print it. */
export const decredTxid = (rawHex: string): Result.Result<string, TxDecodeError> => Result.map(decodeTxHex(rawHex), txidOf)

/** Version-0 payment scripts of the two kinds dcrwallet's createrawtransaction accepts. */
export const paymentScript = (address: DecodedAddress): Uint8Array =>
  address.kind === "p2sh"
    ? Uint8Array.of(0xa9, 0x14, ...address.payload, 0x87) // OP_HASH160 <20> OP_EQUAL
    : Uint8Array.of(0x76, 0xa9, 0x14, ...address.payload, 0x88, 0xac) // OP_DUP OP_HASH160 <20> OP_EQUALVERIFY OP_CHECKSIG
