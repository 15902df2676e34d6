import { Effect, Layer, Redacted, Result, Schema } from "effect"
import { decodeTx, paymentScript, replaceOutputs, TxDecodeError, txidOf, type DecodedTx } from "../core/chain/tx.ts"
import { bytesEqual, fromHex, toHex } from "../core/chain/bytes.ts"
import type { DecodedAddress } from "../core/chain/address.ts"
import type { NetworkParams } from "../core/chain/params.ts"
import { dustLimit, feeForBytes, isDust, P2PKH_SCRIPT_BYTES, P2PKH_SIG_SCRIPT_BYTES, takeNetworkFee, transactionBytes } from "../core/payout/network-fee.ts"
import {
  dcrwalletPayableAddress,
  PayoutAddressRefused,
  PayoutUnfunded,
  PayoutWallet,
  WalletRpcError,
  WalletUnavailable,
  type PayoutBuildFailure,
  type PayoutOutput,
  type PayoutRequest,
  type PayoutTxStatus,
  type SignedPayout,
  type WalletFailure,
} from "../core/services/wallet.ts"
import { atomsToDcr, dcrToAtoms, MAX_ATOMS } from "../core/chain/amounts.ts"
import { dcrAmountLiteral, JsonLiteral, makeJsonRpcCall, trustingPost, type HttpPost, type JsonRpcEndpoint, type JsonRpcFailure } from "./json-rpc.ts"

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
  /**
   * The wallet's network: payout addresses are checked for it before anything is sent, and
   * their scripts are what tells the outputs of a funded transaction apart.
   */
  readonly network: NetworkParams
}

// dcrjson error codes dcrwallet and dcrd answer with (dcrd dcrjson/jsonrpcerr.go).
const ERR_MISC = -1
const ERR_NO_TX_INFO = -5 // gettransaction: "no information for transaction"
const ERR_INVALID_ADDRESS = -5 // dcrwallet createrawtransaction: `Address "<address>": <why>` (ErrRPCInvalidAddressOrKey)
const ERR_INSUFFICIENT_FUNDS = -6 // dcrwallet: the account cannot fund the outputs ("insufficient balance")
const ERR_INVALID_PARAMETER = -8
const ERR_DUPLICATE_TX = -40 // dcrd: already in the mempool, or recently mined

/** Seconds the wallet stays unlocked for one build; an already unlimited unlock is kept. */
const UNLOCK_SECONDS = 60

// ---- payout outputs --------------------------------------------------------------------------------

/** One output per address (insertion order), amounts summed: a JSON object cannot repeat a key. */
export const sumByAddress = (outputs: ReadonlyArray<PayoutOutput>): ReadonlyMap<string, bigint> => {
  const sums = new Map<string, bigint>()
  for (const o of outputs) sums.set(o.address, (sums.get(o.address) ?? 0n) + o.amount)
  return sums
}

// ---- the client ----------------------------------------------------------------------------------

const FundResult = Schema.Struct({ hex: Schema.String })
const BalanceResult = Schema.Struct({
  balances: Schema.Array(Schema.Struct({ accountname: Schema.String, spendable: Schema.String, immaturecoinbaserewards: Schema.String })),
})
const SignResult = Schema.Struct({
  hex: Schema.String,
  complete: Schema.Boolean,
  errors: Schema.optional(Schema.Array(Schema.Struct({ error: Schema.String }))),
})
const TransactionResult = Schema.Struct({ confirmations: Schema.Number })

/** The money the client reads back: getwalletfee's bare result and getbalance's amounts. */
const EXACT_KEYS: ReadonlySet<string> = new Set(["result", "spendable", "immaturecoinbaserewards"])

/** The failures of the shared JSON-RPC client as the wallet port's. */
const walletFailure = (e: JsonRpcFailure): WalletFailure =>
  e._tag === "JsonRpcRefused" ? new WalletRpcError({ method: e.method, code: e.code, reason: e.reason }) : new WalletUnavailable({ method: e.method, reason: e.reason, cause: e.cause })

/**
 * dcrwallet JSON-RPC calls through the shared client (wallet/json-rpc.ts) over `post`: values
 * under `exactKeys` come back as their literal text. Failures are the wallet port's: no answer,
 * bad credentials or a reply that is no JSON-RPC reply are `WalletUnavailable`; an answer with
 * an error is `WalletRpcError` with dcrwallet's code and message.
 */
export const makeDcrwalletCall = (endpoint: Omit<JsonRpcEndpoint, "certificate">, post: HttpPost, exactKeys: ReadonlySet<string>) => {
  const call = makeJsonRpcCall(endpoint, post, { server: "dcrwallet", exactKeys })
  return (method: string, params: ReadonlyArray<unknown>): Effect.Effect<unknown, WalletFailure> => Effect.mapError(call(method, params), walletFailure)
}

/**
 * The live `PayoutWallet` over dcrwallet's HTTP POST JSON-RPC, posting through `post`.
 * Bodies are written by hand so amounts go out as exact decimal literals.
 */
const makeDcrwallet = (options: DcrwalletOptions, post: HttpPost): PayoutWallet["Service"] => {
  const account = options.account ?? "default"
  const call = makeDcrwalletCall(options, post, EXACT_KEYS)

  const unusable = (method: string, reason: string) => new WalletRpcError({ method, code: ERR_MISC, reason })

  const resultOf = <A>(method: string, schema: Schema.Codec<A, unknown>, value: unknown) => {
    const decoded = Schema.decodeUnknownResult(schema)(value)
    return Result.isSuccess(decoded) ? Effect.succeed(decoded.success) : Effect.fail(unusable(method, `unexpected reply shape: ${JSON.stringify(value)?.slice(0, 120)}`))
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
        // dcrwallet would answer -5 for the first such address it met (in map order); naming it
        // here, typed, lets the pool pay the others without it.
        const payable = dcrwalletPayableAddress(address, options.network)
        if (Result.isFailure(payable)) return yield* Effect.fail(new PayoutAddressRefused({ address, reason: payable.failure }))
        decoded.set(address, payable.success)
      }
      return decoded
    })

  /**
   * dcrwallet's own refusal of one output's address (`Address "<address>": <why>`, code -5), as
   * the typed `PayoutAddressRefused`; undefined for any other error, or when the address it
   * names is not one of the payout's (then it stays the wallet's error as it came).
   */
  const refusedAddress = (error: WalletFailure, sums: ReadonlyMap<string, bigint>): PayoutAddressRefused | undefined => {
    if (error._tag !== "WalletRpcError" || error.code !== ERR_INVALID_ADDRESS) return undefined
    const named = /^Address "([^"]*)": ([\s\S]*)$/.exec(error.reason)
    const address = named?.[1]
    return address !== undefined && sums.has(address) ? new PayoutAddressRefused({ address, reason: `dcrwallet: ${named?.[2] ?? error.reason}` }) : undefined
  }

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

  const atomsIn = (method: string, value: string, field: string) => {
    const a = dcrToAtoms(value, field)
    return Result.isSuccess(a) ? Effect.succeed(a.success) : Effect.fail(unusable(method, a.failure.message))
  }

  const decoded = (method: string, hex: string) => {
    const bytes = fromHex(hex, "transaction")
    const tx = Result.isSuccess(bytes) ? decodeTx(bytes.success) : Result.fail(new TxDecodeError({ message: bytes.failure.message }))
    return Result.isSuccess(tx) && Result.isSuccess(bytes)
      ? Effect.succeed({ hex, bytes: bytes.success, tx: tx.success })
      : Effect.fail(unusable(method, Result.isFailure(tx) ? tx.failure.message : "undecodable"))
  }

  /** dcrwallet's relay fee rate in atoms per kB: what it prices a transaction at and calls dust by. */
  const relayFeeRate = call("getwalletfee", []).pipe(
    Effect.flatMap((r) => resultOf("getwalletfee", Schema.String, r)),
    Effect.flatMap((text) => atomsIn("getwalletfee", text, "relay fee")),
  )

  /**
   * After dcrwallet's "insufficient balance": what the account lacks, from its balance. Its own
   * refusal stands when the balance says it could pay (outputs held by another transaction).
   */
  const unfunded = (needed: bigint, refusal: WalletRpcError): Effect.Effect<never, WalletFailure | PayoutUnfunded> =>
    Effect.gen(function* () {
      const balance = yield* resultOf("getbalance", BalanceResult, yield* call("getbalance", [account, 1]))
      const entry = balance.balances.find((b) => b.accountname === account)
      if (entry === undefined) return yield* Effect.fail(refusal)
      const spendable = yield* atomsIn("getbalance", entry.spendable, "spendable")
      const immature = yield* atomsIn("getbalance", entry.immaturecoinbaserewards, "immaturecoinbaserewards")
      if (spendable >= needed) return yield* Effect.fail(refusal)
      return yield* Effect.fail(new PayoutUnfunded({ account, needed, spendable, missing: needed - spendable, immature }))
    })

  const sign = (hex: string) =>
    Effect.gen(function* () {
      const signed = yield* resultOf("signrawtransaction", SignResult, yield* call("signrawtransaction", [hex]))
      if (!signed.complete) {
        const why = signed.errors?.map((e) => e.error).join("; ")
        return yield* Effect.fail(
          unusable("signrawtransaction", `the wallet could not sign every input${why === undefined || why === "" ? "" : `: ${why}`}; is account "${account}" unlocked and are its inputs its own?`),
        )
      }
      return signed.hex
    })

  const sum = (values: Iterable<bigint>): bigint => {
    let total = 0n
    for (const v of values) total += v
    return total
  }

  /**
   * The wallet funds the outputs as owed at fee rate 0: it picks inputs worth at least their sum
   * and returns all the rest as change, so it never needs more than the outputs' sum (dcrwallet's
   * fundrawtransaction has no way to take the fee from an output, and at its own rate it would
   * want the fee, priced with a change output, on top). Then the fee for the final transaction
   * is priced at the wallet's relay fee rate and taken out of the payer outputs; the change keeps
   * exactly the inputs' surplus over the outputs as owed (or, too small to be an output, goes to
   * the fee, as dcrwallet does with dust change); and the wallet signs that.
   */
  const build = (request: PayoutRequest): Effect.Effect<SignedPayout, PayoutBuildFailure> =>
    Effect.gen(function* () {
      const sums = sumByAddress(request.outputs)
      const addresses = yield* checkOutputs(sums, request.outputs)
      const scriptOf = (address: string) => paymentScript(addresses.get(address)!)
      const needed = sum(sums.values())
      const named = takeNetworkFee(sums, request.feePaidBy, 0n, () => 0n)
      if (Result.isFailure(named)) return yield* Effect.fail(named.failure)

      yield* call("walletpassphrase", [Redacted.value(options.passphrase), UNLOCK_SECONDS])
      const rate = yield* relayFeeRate
      const amounts = [...sums].map(([address, atoms]) => `${JSON.stringify(address)}:${dcrAmountLiteral(atoms)}`).join(",")
      const unsigned = yield* resultOf(
        "createrawtransaction",
        Schema.String,
        yield* call("createrawtransaction", [[], new JsonLiteral(`{${amounts}}`)]).pipe(Effect.mapError((e) => refusedAddress(e, sums) ?? e)),
      )
      const fundedReply = yield* call("fundrawtransaction", [unsigned, account, { feerate: 0 }]).pipe(
        Effect.catchIf(
          (e): e is WalletRpcError => e._tag === "WalletRpcError" && e.code === ERR_INSUFFICIENT_FUNDS,
          (e) => unfunded(needed, e),
        ),
      )
      const funded = yield* decoded("fundrawtransaction", (yield* resultOf("fundrawtransaction", FundResult, fundedReply)).hex)
      const tx = funded.tx
      if (tx.inputCount === 0 || tx.inputValues.length !== tx.inputCount) {
        return yield* Effect.fail(unusable("fundrawtransaction", "the funded transaction has no inputs with values (a full serialization was expected)"))
      }

      // Which output pays which address (by script and amount); one more is the wallet's change.
      const addressAt = new Map<number, string>()
      for (const [address, amount] of sums) {
        const script = scriptOf(address)
        const i = tx.outputs.findIndex((o, j) => !addressAt.has(j) && o.value === amount && o.scriptVersion === 0 && bytesEqual(o.pkScript, script))
        if (i < 0) return yield* Effect.fail(unusable("fundrawtransaction", `the funded transaction does not pay ${atomsToDcr(amount)} DCR to ${address}`))
        addressAt.set(i, address)
      }
      const added = tx.outputs.flatMap((_, i) => (addressAt.has(i) ? [] : [i]))
      if (added.length > 1) return yield* Effect.fail(unusable("fundrawtransaction", `the wallet added ${added.length} outputs; one change output at most was expected`))
      const changeIndex = added[0]
      const change = changeIndex === undefined ? undefined : tx.outputs[changeIndex]
      const surplus = sum(tx.inputValues) - needed
      if (surplus < 0n) return yield* Effect.fail(unusable("fundrawtransaction", `its inputs hold ${-surplus} atoms less than the outputs`))
      const keepChange = change !== undefined && !isDust(surplus, change.pkScript.length, rate)
      if (change === undefined && !isDust(surplus, P2PKH_SCRIPT_BYTES, rate)) {
        return yield* Effect.fail(unusable("fundrawtransaction", `the wallet kept no change for the ${surplus} atoms its inputs hold beyond the outputs`))
      }
      const outputScripts = tx.outputs.flatMap((o, i) => (i === changeIndex && !keepChange ? [] : [o.pkScript.length]))
      const leftToFee = keepChange ? 0n : surplus

      // Priced with the largest P2PKH signatures; if the signed transaction still comes out
      // larger (inputs of another kind), priced again at the size it has.
      let sizeFloor = 0
      for (let attempt = 0; attempt < 3; attempt++) {
        const size = Math.max(sizeFloor, transactionBytes(new Array<number>(tx.inputCount).fill(P2PKH_SIG_SCRIPT_BYTES), outputScripts))
        const fee = feeForBytes(rate, size)
        const paid = takeNetworkFee(sums, request.feePaidBy, fee, (address) => dustLimit(scriptOf(address).length, rate))
        if (Result.isFailure(paid)) return yield* Effect.fail(paid.failure)
        const outputs = tx.outputs.flatMap((o, i) => {
          const address = addressAt.get(i)
          if (address !== undefined) return [{ ...o, value: paid.success.get(address)! }]
          return keepChange ? [{ ...o, value: surplus }] : []
        })
        const signed = yield* decoded("signrawtransaction", yield* sign(toHex(replaceOutputs(funded.bytes, tx, outputs))))
        const wrong = checkPays(signed.tx, paid.success, addresses)
        if (wrong !== undefined) return yield* Effect.fail(unusable("signrawtransaction", `${wrong}; not using it`))
        const signedFee = sum(signed.tx.inputValues) - sum(signed.tx.outputs.map((o) => o.value))
        if (signed.tx.outputs.length !== outputs.length || signedFee !== fee + leftToFee) {
          return yield* Effect.fail(unusable("signrawtransaction", `the signed transaction pays a fee of ${signedFee} atoms, not the ${fee + leftToFee} asked; not using it`))
        }
        if (signedFee >= feeForBytes(rate, signed.bytes.length)) return { txid: txidOf(signed.tx), rawTx: signed.hex, fee: signedFee }
        sizeFloor = signed.bytes.length + tx.inputCount
      }
      return yield* Effect.fail(unusable("signrawtransaction", "its signatures keep coming out larger than the fee priced for them"))
    })

  const status = (txid: string): Effect.Effect<PayoutTxStatus, WalletFailure> =>
    call("gettransaction", [txid]).pipe(
      Effect.flatMap((r) => resultOf("gettransaction", TransactionResult, r)),
      Effect.map((r): PayoutTxStatus => ({ _tag: "Known", confirmations: r.confirmations })),
      Effect.catchIf(
        (e) => e._tag === "WalletRpcError" && e.code === ERR_NO_TX_INFO,
        () => Effect.succeed<PayoutTxStatus>({ _tag: "Unknown" }),
      ),
    )

  const publish = (payout: SignedPayout): Effect.Effect<void, WalletFailure> =>
    call("sendrawtransaction", [payout.rawTx]).pipe(
      Effect.catchTag("WalletRpcError", (e) =>
        // dcrwallet already turns dcrd's duplicate answer into success; a mined transaction
        // whose outputs are all spent is refused as if new, so the wallet's record decides.
        e.code === ERR_DUPLICATE_TX || /already (have|exists)/i.test(e.reason)
          ? Effect.succeed<unknown>(payout.txid)
          : Effect.flatMap(status(payout.txid), (s) => (s._tag === "Known" && s.confirmations > 0 ? Effect.succeed<unknown>(payout.txid) : Effect.fail(e))),
      ),
      Effect.flatMap((sent) => (sent === payout.txid ? Effect.void : Effect.fail(unusable("sendrawtransaction", `the wallet sent it as ${JSON.stringify(sent)}, not as ${payout.txid}`)))),
    )

  return PayoutWallet.of({ build, publish, status })
}

/** The live `PayoutWallet`: trusts only `certificate` when given, and closes its connections with the layer. */
export const dcrwalletLayer = (options: DcrwalletOptions): Layer.Layer<PayoutWallet> =>
  Layer.effect(
    PayoutWallet,
    Effect.map(trustingPost(options.certificate), (post) => makeDcrwallet(options, post)),
  )
