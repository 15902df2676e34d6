import { Data, Effect, Layer, Redacted, Result, Schema } from "effect"
import { Agent, fetch as undiciFetch } from "undici"
import { bytesEqual, fromHex } from "../core/chain/bytes.ts"
import { decodeAddress, type DecodedAddress } from "../core/chain/address.ts"
import { blake256Hash, hashToDisplay } from "../core/chain/hash.ts"
import type { NetworkParams } from "../core/chain/params.ts"
import {
  PayoutWallet,
  WalletRpcError,
  WalletUnavailable,
  type PayoutOutput,
  type PayoutTxStatus,
  type SignedPayout,
  type WalletFailure,
} from "../core/services/wallet.ts"
import { atomsToDcr, dcrToAtoms, MAX_ATOMS } from "./amounts.ts"

export interface DcrwalletOptions {
  /** dcrwallet's JSON-RPC endpoint, e.g. `https://127.0.0.1:9110` (`http://` only with --noservertls). */
  readonly url: string
  readonly user: string
  readonly password: Redacted.Redacted<string>
  /** dcrwallet's rpc.cert (PEM): the only certificate trusted for the connection. */
  readonly certificate?: string | undefined
  /** The wallet's private passphrase, to unlock it for signing. */
  readonly passphrase: Redacted.Redacted<string>
  /** The account payouts are funded from; "default" when absent. */
  readonly account?: string | undefined
  readonly requestTimeoutMillis: number
  /** When given, payout addresses are checked for this network before anything is sent. */
  readonly network?: NetworkParams | undefined
}

/** What the client needs of `fetch`: undici's with a TLS agent in production. */
export type HttpPost = (
  url: string,
  init: { readonly method: "POST"; readonly headers: Record<string, string>; readonly body: string; readonly signal: AbortSignal },
) => Promise<{ readonly status: number; text(): Promise<string> }>

// dcrjson error codes dcrwallet and dcrd answer with (dcrd dcrjson/jsonrpcerr.go).
const ERR_MISC = -1
const ERR_NO_TX_INFO = -5 // gettransaction: "no information for transaction"
const ERR_INVALID_ADDRESS = -5
const ERR_INVALID_PARAMETER = -8
const ERR_DUPLICATE_TX = -40 // dcrd: already in the mempool, or recently mined

/** Seconds the wallet stays unlocked for one build; an already unlimited unlock is kept. */
const UNLOCK_SECONDS = 60

// ---- exact amounts in JSON ------------------------------------------------------------------------

/** Atoms as a JSON number literal in DCR, written from the integer: `5n` -> `0.00000005`. */
export const dcrAmountLiteral = (atoms: bigint): string => {
  if (atoms < 0n) throw new RangeError(`negative amount ${atoms}`)
  return atomsToDcr(atoms)
}

/**
 * Parses JSON keeping the number literals under `exactKeys` as their source text, so amounts
 * in DCR reach `dcrToAtoms` as written, never through a float.
 */
export const parseJsonExact = (text: string, exactKeys: ReadonlySet<string>): unknown => {
  try {
    return JSON.parse(text, (key: string, value: unknown, context?: { readonly source?: string }) =>
      typeof value === "number" && exactKeys.has(key) ? (context?.source ?? String(value)) : value,
    )
  } catch {
    return undefined
  }
}

// ---- Decred transactions: just enough to compute the txid ---------------------------------------

export class TxDecodeError extends Data.TaggedError("TxDecodeError")<{ readonly message: string }> {}

export interface TxOutput {
  readonly value: bigint
  readonly scriptVersion: number
  readonly pkScript: Uint8Array
}

export interface DecodedTx {
  readonly version: number
  /** The no-witness serialization (serialization type 1 in the version's upper 16 bits): what TxHash hashes. */
  readonly prefix: Uint8Array
  readonly outputs: ReadonlyArray<TxOutput>
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
  // Outpoint (hash, index, tree) and sequence.
  if (take(inputs * 41) === undefined) return fail("truncated inputs")
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
  if (take(4 + 4) === undefined) return fail("truncated lock time and expiry")
  const prefixEnd = at

  if (serType === SER_FULL) {
    const witnesses = count("witness", 8 + 4 + 4 + 1)
    if (typeof witnesses === "string") return fail(witnesses)
    if (witnesses !== inputs) return fail(`${witnesses} witnesses for ${inputs} inputs`)
    for (let i = 0; i < witnesses; i++) {
      // Value in, block height, block index, then the signature script.
      if (take(16) === undefined) return fail(`truncated witness ${i}`)
      const length = count(`witness ${i} script byte`, 1)
      if (typeof length === "string") return fail(length)
      take(length)
    }
  }
  if (at !== bytes.length) return fail(`trailing data (${bytes.length - at} bytes) after the transaction`)

  const prefix = new Uint8Array(prefixEnd - prefixStart + 4)
  new DataView(prefix.buffer).setUint32(0, version | (SER_NO_WITNESS << 16), true)
  prefix.set(bytes.subarray(prefixStart, prefixEnd), 4)
  return Result.succeed({ version, prefix, outputs })
}

/** dcrd's `MsgTx.TxHash`: BLAKE-256 of the no-witness serialization, shown byte-reversed. */
export const txidOf = (tx: DecodedTx): string => hashToDisplay(blake256Hash(tx.prefix))

/** The txid of a serialized transaction (hex), as dcrd and dcrwallet print it. */
export const decredTxid = (rawHex: string): Result.Result<string, TxDecodeError> => {
  const bytes = fromHex(rawHex, "transaction")
  if (Result.isFailure(bytes)) return Result.fail(new TxDecodeError({ message: bytes.failure.message }))
  return Result.map(decodeTx(bytes.success), txidOf)
}

// ---- payout outputs --------------------------------------------------------------------------------

/** One output per address (insertion order), amounts summed: a JSON object cannot repeat a key. */
export const sumByAddress = (outputs: ReadonlyArray<PayoutOutput>): ReadonlyMap<string, bigint> => {
  const sums = new Map<string, bigint>()
  for (const o of outputs) sums.set(o.address, (sums.get(o.address) ?? 0n) + o.amount)
  return sums
}

/** Version-0 payment scripts of the two kinds dcrwallet's createrawtransaction accepts. */
const paymentScript = (address: DecodedAddress): Uint8Array =>
  address.kind === "p2sh"
    ? Uint8Array.of(0xa9, 0x14, ...address.payload, 0x87) // OP_HASH160 <20> OP_EQUAL
    : Uint8Array.of(0x76, 0xa9, 0x14, ...address.payload, 0x88, 0xac) // OP_DUP OP_HASH160 <20> OP_EQUALVERIFY OP_CHECKSIG

// ---- the client ----------------------------------------------------------------------------------

const RpcErrorObject = Schema.Struct({ code: Schema.Number, message: Schema.String })
const RpcReply = Schema.Struct({
  id: Schema.Union([Schema.Number, Schema.String, Schema.Null]),
  result: Schema.optional(Schema.Unknown),
  error: Schema.optional(Schema.Union([RpcErrorObject, Schema.Null])),
})
const FundResult = Schema.Struct({ hex: Schema.String, fee: Schema.String })
const SignResult = Schema.Struct({
  hex: Schema.String,
  complete: Schema.Boolean,
  errors: Schema.optional(Schema.Array(Schema.Struct({ error: Schema.String }))),
})
const TransactionResult = Schema.Struct({ confirmations: Schema.Number })

/** Only `fee` is money the client reads back (fundrawtransaction). */
const EXACT_KEYS: ReadonlySet<string> = new Set(["fee"])

/** Says why a request never got an answer, from what fetch threw. */
const describeFailure = (url: string, error: unknown): string => {
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error
  const code = typeof cause === "object" && cause !== null && "code" in cause ? String(cause.code) : undefined
  const message = cause instanceof Error ? cause.message : String(cause)
  if (code === "ECONNREFUSED") return `connection refused at ${url}`
  if (code !== undefined && /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ALTNAME/.test(code)) {
    return `the TLS certificate at ${url} is not the configured one (${code})`
  }
  return code === undefined ? message : `${message} (${code})`
}

/** What a JSON-RPC call to dcrwallet needs to know of the connection. */
export interface DcrwalletEndpoint {
  readonly url: string
  readonly user: string
  readonly password: Redacted.Redacted<string>
  readonly requestTimeoutMillis: number
}

/**
 * Makes dcrwallet JSON-RPC calls over `post`: `params` are JSON texts written by the
 * caller (so amounts go out as exact decimal literals), and the values under `exactKeys` come
 * back as their literal text (see parseJsonExact). Failures are typed: no answer, bad
 * credentials or a reply that is no JSON-RPC reply are `WalletUnavailable`; an answer with an
 * error is `WalletRpcError` with dcrwallet's code and message.
 */
export const makeDcrwalletCall = (endpoint: DcrwalletEndpoint, post: HttpPost, exactKeys: ReadonlySet<string>) => {
  const authorization = `Basic ${Buffer.from(`${endpoint.user}:${Redacted.value(endpoint.password)}`).toString("base64")}`
  let nextId = 0
  return (method: string, params: ReadonlyArray<string>): Effect.Effect<unknown, WalletFailure> =>
    Effect.gen(function* () {
      const id = ++nextId
      const body = `{"jsonrpc":"1.0","id":${id},"method":${JSON.stringify(method)},"params":[${params.join(",")}]}`
      const unavailable = (reason: string) => new WalletUnavailable({ method, reason })
      const reply = yield* Effect.tryPromise({
        try: async (signal) => {
          const response = await post(endpoint.url, {
            method: "POST",
            headers: { Authorization: authorization, "Content-Type": "application/json" },
            body,
            signal,
          })
          return { status: response.status, text: await response.text() }
        },
        catch: (error) => unavailable(describeFailure(endpoint.url, error)),
      }).pipe(
        Effect.timeoutOrElse({
          duration: endpoint.requestTimeoutMillis,
          orElse: () => Effect.fail(unavailable(`no answer in ${endpoint.requestTimeoutMillis} ms`)),
        }),
      )
      if (reply.status === 401) {
        return yield* Effect.fail(unavailable("HTTP 401: dcrwallet refused the RPC user and password (they must be dcrwallet's username and password)"))
      }
      const decoded = Schema.decodeUnknownResult(RpcReply)(parseJsonExact(reply.text, exactKeys))
      if (Result.isFailure(decoded)) {
        return yield* Effect.fail(unavailable(`HTTP ${reply.status} with no JSON-RPC reply: ${reply.text.slice(0, 120)}`))
      }
      if (decoded.success.id !== id) return yield* Effect.fail(unavailable(`reply to request ${String(decoded.success.id)}, not ${id}`))
      const error = decoded.success.error
      if (error !== undefined && error !== null) {
        return yield* Effect.fail(new WalletRpcError({ method, code: error.code, reason: error.message }))
      }
      return decoded.success.result ?? null
    })
}

/**
 * The live `PayoutWallet` over dcrwallet's HTTP POST JSON-RPC, posting through `post`.
 * Bodies are written by hand so amounts go out as exact decimal literals.
 */
export const makeDcrwallet = (options: DcrwalletOptions, post: HttpPost): PayoutWallet["Service"] => {
  const account = options.account ?? "default"
  const call = makeDcrwalletCall(options, post, EXACT_KEYS)

  const unusable = (method: string, reason: string) => new WalletRpcError({ method, code: ERR_MISC, reason })

  const resultOf = <A>(method: string, schema: Schema.Codec<A, unknown>, value: unknown) => {
    const decoded = Schema.decodeUnknownResult(schema)(value)
    return Result.isSuccess(decoded)
      ? Effect.succeed(decoded.success)
      : Effect.fail(unusable(method, `unexpected reply shape: ${JSON.stringify(value)?.slice(0, 120)}`))
  }

  /** Refuses what dcrwallet would refuse, before unlocking anything. */
  const checkOutputs = (sums: ReadonlyMap<string, bigint>, outputs: ReadonlyArray<PayoutOutput>) =>
    Effect.gen(function* () {
      const method = "createrawtransaction"
      if (sums.size === 0) return yield* Effect.fail(new WalletRpcError({ method, code: ERR_INVALID_PARAMETER, reason: "a payout needs at least one output" }))
      for (const o of outputs) {
        if (o.amount <= 0n) {
          return yield* Effect.fail(new WalletRpcError({ method, code: ERR_INVALID_PARAMETER, reason: `amount ${o.amount} atoms to ${o.address} is not positive` }))
        }
      }
      const decoded = new Map<string, DecodedAddress>()
      for (const [address, amount] of sums) {
        if (amount > MAX_ATOMS) {
          return yield* Effect.fail(new WalletRpcError({ method, code: ERR_INVALID_PARAMETER, reason: `${atomsToDcr(amount)} DCR to ${address} is more than can exist` }))
        }
        if (options.network === undefined) continue
        const a = decodeAddress(address, options.network)
        if (Result.isFailure(a)) return yield* Effect.fail(new WalletRpcError({ method, code: ERR_INVALID_ADDRESS, reason: a.failure.message }))
        if (a.success.kind !== "p2pkh-ecdsa-secp256k1" && a.success.kind !== "p2sh") {
          return yield* Effect.fail(new WalletRpcError({ method, code: ERR_INVALID_ADDRESS, reason: `"${address}" is a ${a.success.kind} address; dcrwallet pays only p2pkh (secp256k1 ECDSA) and p2sh addresses` }))
        }
        decoded.set(address, a.success)
      }
      return decoded
    })

  /** Guards against a wallet that signed something else than what was asked. */
  const checkPays = (tx: DecodedTx, sums: ReadonlyMap<string, bigint>, addresses: ReadonlyMap<string, DecodedAddress>): string | undefined => {
    const unused = [...tx.outputs]
    for (const [address, decoded] of addresses) {
      const amount = sums.get(address)!
      const script = paymentScript(decoded)
      const i = unused.findIndex((o) => o.value === amount && o.scriptVersion === 0 && bytesEqual(o.pkScript, script))
      if (i < 0) return `the signed transaction does not pay ${atomsToDcr(amount)} DCR to ${address}`
      unused.splice(i, 1)
    }
    return undefined
  }

  const build = (outputs: ReadonlyArray<PayoutOutput>): Effect.Effect<SignedPayout, WalletFailure> =>
    Effect.gen(function* () {
      const sums = sumByAddress(outputs)
      const addresses = yield* checkOutputs(sums, outputs)
      yield* call("walletpassphrase", [JSON.stringify(Redacted.value(options.passphrase)), String(UNLOCK_SECONDS)])
      const amounts = [...sums].map(([address, atoms]) => `${JSON.stringify(address)}:${dcrAmountLiteral(atoms)}`).join(",")
      const unsigned = yield* resultOf("createrawtransaction", Schema.String, yield* call("createrawtransaction", ["[]", `{${amounts}}`]))
      const funded = yield* resultOf("fundrawtransaction", FundResult, yield* call("fundrawtransaction", [JSON.stringify(unsigned), JSON.stringify(account)]))
      const fee = dcrToAtoms(funded.fee, "fee")
      if (Result.isFailure(fee)) return yield* Effect.fail(unusable("fundrawtransaction", fee.failure.message))
      const signed = yield* resultOf("signrawtransaction", SignResult, yield* call("signrawtransaction", [JSON.stringify(funded.hex)]))
      if (!signed.complete) {
        const why = signed.errors?.map((e) => e.error).join("; ")
        return yield* Effect.fail(
          unusable("signrawtransaction", `the wallet could not sign every input${why === undefined || why === "" ? "" : `: ${why}`}; is account "${account}" unlocked and are its inputs its own?`),
        )
      }
      const bytes = fromHex(signed.hex, "signed transaction")
      const tx = Result.isSuccess(bytes) ? decodeTx(bytes.success) : Result.fail(new TxDecodeError({ message: bytes.failure.message }))
      if (Result.isFailure(tx)) return yield* Effect.fail(unusable("signrawtransaction", tx.failure.message))
      const wrong = checkPays(tx.success, sums, addresses)
      if (wrong !== undefined) return yield* Effect.fail(unusable("signrawtransaction", `${wrong}; not using it`))
      return { txid: txidOf(tx.success), rawTx: signed.hex, fee: fee.success }
    })

  const status = (txid: string): Effect.Effect<PayoutTxStatus, WalletFailure> =>
    call("gettransaction", [JSON.stringify(txid)]).pipe(
      Effect.flatMap((r) => resultOf("gettransaction", TransactionResult, r)),
      Effect.map((r): PayoutTxStatus => ({ _tag: "Known", confirmations: r.confirmations })),
      Effect.catchIf(
        (e) => e._tag === "WalletRpcError" && e.code === ERR_NO_TX_INFO,
        () => Effect.succeed<PayoutTxStatus>({ _tag: "Unknown" }),
      ),
    )

  const publish = (payout: SignedPayout): Effect.Effect<void, WalletFailure> =>
    call("sendrawtransaction", [JSON.stringify(payout.rawTx)]).pipe(
      Effect.catchTag("WalletRpcError", (e) =>
        // dcrwallet already turns dcrd's duplicate answer into success; a mined transaction
        // whose outputs are all spent is refused as if new, so the wallet's record decides.
        e.code === ERR_DUPLICATE_TX || /already (have|exists)/i.test(e.reason)
          ? Effect.succeed<unknown>(payout.txid)
          : Effect.flatMap(status(payout.txid), (s) => (s._tag === "Known" && s.confirmations > 0 ? Effect.succeed<unknown>(payout.txid) : Effect.fail(e))),
      ),
      Effect.flatMap((sent) =>
        sent === payout.txid ? Effect.void : Effect.fail(unusable("sendrawtransaction", `the wallet sent it as ${JSON.stringify(sent)}, not as ${payout.txid}`)),
      ),
    )

  return PayoutWallet.of({ build, publish, status })
}

/** The live `PayoutWallet`: trusts only `certificate` when given, and closes its connections with the layer. */
export const dcrwalletLayer = (options: DcrwalletOptions): Layer.Layer<PayoutWallet> =>
  Layer.effect(
    PayoutWallet,
    Effect.gen(function* () {
      const agent = yield* Effect.acquireRelease(
        Effect.sync(() => new Agent(options.certificate === undefined ? {} : { connect: { ca: options.certificate } })),
        (a) => Effect.promise(() => a.close()),
      )
      return makeDcrwallet(options, (url, init) => undiciFetch(url, { ...init, dispatcher: agent }))
    }),
  )
