import { createServer, type Server } from "node:https"
import { selfSignedCertificate } from "../testkit/tls.ts"
import fc from "fast-check"
import { Cause, Effect, Exit, Redacted, Result } from "effect"
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest"
import { toHex } from "../core/chain/bytes.ts"
import { MAINNET, SIMNET } from "../core/chain/params.ts"
import { decodeAddress, encodeAddress } from "../core/chain/address.ts"
import { splitProportionally } from "../core/payout/amounts.ts"
import { feeForBytes, isDust, P2PKH_SIG_SCRIPT_BYTES, transactionBytes } from "../core/payout/network-fee.ts"
import { PayoutWallet, type PayoutBuildFailure, type PayoutFeePayer, type PayoutOutput, type PayoutRequest, type SignedPayout } from "../core/services/wallet.ts"
import { MAX_ATOMS, dcrToAtoms } from "../core/chain/amounts.ts"
import { decodeTx, decredTxid, replaceOutputs } from "../core/chain/tx.ts"
import { dcrwalletLayer, sumByAddress, type DcrwalletOptions } from "./dcrwallet-rpc.ts"
import { dcrAmountLiteral, parseJsonExact } from "./json-rpc.ts"

// ---- amounts ---------------------------------------------------------------------------------------

const readFee = (literal: string): bigint => {
  const parsed = parseJsonExact(`{"hex":"00","fee":${literal}}`, new Set(["fee"])) as { fee: unknown }
  return Result.getOrThrow(dcrToAtoms(parsed.fee, "fee"))
}

describe("DCR amounts in JSON-RPC bodies, exactly", () => {
  it("writes atoms as the exact decimal literal", () => {
    expect(dcrAmountLiteral(123456789n)).toBe("1.23456789")
    expect(dcrAmountLiteral(5n)).toBe("0.00000005")
    expect(dcrAmountLiteral(0n)).toBe("0")
    expect(dcrAmountLiteral(MAX_ATOMS)).toBe("21000000")
    expect(dcrAmountLiteral(2_099_999_999_999_999n)).toBe("20999999.99999999")
  })

  it("reads a fee from the reply text as written, in either of Go's number forms", () => {
    expect(readFee("0.0000253")).toBe(2530n)
    expect(readFee("1e-7")).toBe(10n)
    expect(readFee("1e-07")).toBe(10n)
    expect(readFee("20999999.99999999")).toBe(2_099_999_999_999_999n)
  })

  it("property: any atoms 0..2.1e15 (21 million DCR) written as a literal and read back from JSON text are the same atoms", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: MAX_ATOMS }), (a) => {
        expect(readFee(dcrAmountLiteral(a))).toBe(a)
      }),
    )
  })

  it("property: dcrwallet's float64 reading of a literal (dcrutil.NewAmount: f*1e8 + 0.5, truncated) gives back the same atoms", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: MAX_ATOMS }), (a) => {
        expect(BigInt(Math.trunc(Number(dcrAmountLiteral(a)) * 1e8 + 0.5))).toBe(a)
      }),
    )
  })

  it("property: a fee as dcrwallet prints it (Amount.ToCoin, shortest float64 text) reads back to the same atoms", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: MAX_ATOMS }), (a) => {
        expect(readFee(String(Number(a) / 1e8))).toBe(a)
      }),
    )
  })
})

// ---- a fake dcrwallet on a real HTTPS socket ----------------------------------------------------------

interface Recorded {
  readonly method: string
  /** The `params` array as sent, as text: amounts must be exact literals. */
  readonly paramsText: string
  readonly authorization: string | undefined
}
/** A reply: raw JSON text of `result`, a JSON-RPC error, a bare HTTP reply, or none at all. */
type Answer = { readonly result: string } | { readonly error: { readonly code: number; readonly message: string } } | { readonly http: number; readonly body: string } | "hang"

const wallet = {
  server: undefined as Server | undefined,
  url: "",
  rpc: selfSignedCertificate(),
  other: selfSignedCertificate(),
  requests: [] as Array<Recorded>,
  answer: (_method: string, _params: ReadonlyArray<unknown>): Answer => ({ result: "null" }),
}

beforeAll(async () => {
  const server = createServer({ key: wallet.rpc.key, cert: wallet.rpc.cert }, (req, res) => {
    let body = ""
    req.on("data", (chunk: Buffer) => (body += chunk.toString("utf8")))
    req.on("end", () => {
      const request = JSON.parse(body) as { id: number; method: string; params: Array<unknown> }
      const paramsText = /"params":(\[.*\])\}$/.exec(body)?.[1] ?? ""
      wallet.requests.push({ method: request.method, paramsText, authorization: req.headers.authorization })
      const answer = wallet.answer(request.method, request.params)
      if (answer === "hang") return
      if ("http" in answer) {
        res.writeHead(answer.http, { "Content-Type": "text/plain" }).end(answer.body)
        return
      }
      const reply =
        "result" in answer
          ? `{"jsonrpc":"1.0","result":${answer.result},"error":null,"id":${request.id}}`
          : `{"jsonrpc":"1.0","result":null,"error":${JSON.stringify(answer.error)},"id":${request.id}}`
      res.writeHead(200, { "Content-Type": "application/json" }).end(reply)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  wallet.server = server
  wallet.url = `https://127.0.0.1:${(server.address() as { port: number }).port}`
})
afterAll(() => {
  wallet.server?.closeAllConnections()
  wallet.server?.close()
})
beforeEach(() => {
  wallet.requests.length = 0
})

const options = (overrides: Partial<DcrwalletOptions> = {}): DcrwalletOptions => ({
  url: wallet.url,
  user: "walletuser",
  password: Redacted.make("walletpass"),
  certificate: wallet.rpc.cert,
  passphrase: Redacted.make('unlock "me"'),
  account: "payouts",
  requestTimeoutMillis: 2_000,
  network: SIMNET,
  ...overrides,
})

const withWallet = <A>(o: DcrwalletOptions, body: (w: PayoutWallet["Service"]) => Effect.Effect<A, PayoutBuildFailure>) =>
  Effect.runPromise(
    Effect.exit(
      Effect.gen(function* () {
        return yield* body(yield* PayoutWallet)
      }).pipe(Effect.provide(dcrwalletLayer(o))),
    ),
  )

const failureOf = <A>(exit: Exit.Exit<A, PayoutBuildFailure>): PayoutBuildFailure => {
  if (Exit.isSuccess(exit)) throw new Error(`expected a failure, got ${String(exit.value)}`)
  return Result.getOrThrowWith(Cause.findError(exit.cause), () => new Error(`expected a typed failure: ${String(exit.cause)}`))
}
const valueOf = <A>(exit: Exit.Exit<A, PayoutBuildFailure>): A => {
  if (Exit.isFailure(exit)) throw new Error(`expected success: ${String(exit.cause)}`)
  return exit.value
}

// Transactions the fake wallet hands back, serialized as dcrd does (wire/msgtx.go).
const le = (n: bigint, bytes: number) => Buffer.from(Array.from({ length: bytes }, (_, i) => Number((n >> BigInt(8 * i)) & 0xffn)))
const p2pkhScript = (hash: Uint8Array) => Buffer.concat([Buffer.from([0x76, 0xa9, 0x14]), hash, Buffer.from([0x88, 0xac])])
/** `inputs`: how many (each worth 100 DCR), or each one's value. */
const serializeTx = (inputs: number | ReadonlyArray<bigint>, outputs: ReadonlyArray<{ readonly value: bigint; readonly script: Uint8Array }>, signed: boolean): string => {
  const values = typeof inputs === "number" ? new Array<bigint>(inputs).fill(10_000_000_000n) : inputs
  const parts: Array<Uint8Array> = [le(1n, 4), le(BigInt(values.length), 1)]
  for (let i = 0; i < values.length; i++) parts.push(Buffer.alloc(32, i + 1), le(0n, 4), le(0n, 1), le(0xffffffffn, 4))
  parts.push(le(BigInt(outputs.length), 1))
  for (const o of outputs) parts.push(le(o.value, 8), le(0n, 2), le(BigInt(o.script.length), 1), o.script)
  parts.push(le(0n, 4), le(0n, 4), le(BigInt(values.length), 1))
  for (const value of values) {
    const sigScript = signed ? Buffer.alloc(106, 0x42) : Buffer.alloc(0)
    parts.push(le(value, 8), le(100n, 4), le(1n, 4), le(BigInt(sigScript.length), 1), sigScript)
  }
  return toHex(Buffer.concat(parts))
}

const hashA = new Uint8Array(20).fill(0xaa)
const hashB = new Uint8Array(20).fill(0xbb)
const hashFee = new Uint8Array(20).fill(0xfe)
const changeScript = p2pkhScript(new Uint8Array(20).fill(0xcc))
const addressA = encodeAddress("p2pkh-ecdsa-secp256k1", hashA, SIMNET)
const addressB = encodeAddress("p2pkh-ecdsa-secp256k1", hashB, SIMNET)
const feeAddress = encodeAddress("p2pkh-ecdsa-secp256k1", hashFee, SIMNET)

/** dcrwallet's default relay fee, 0.0001 DCR/kB, in atoms. */
const RELAY_FEE = 10_000n

interface FakeWalletOptions {
  /** The account's spendable outputs, in the order the wallet picks them. */
  readonly utxos: ReadonlyArray<bigint>
  readonly immature?: bigint
  /** The length of each signature script it signs with (real ones: 106 or 107 bytes). */
  readonly sigScriptBytes?: number
  /** Replaces the signed transaction's hex, to play a wallet that signs something else. */
  readonly tamper?: (signedHex: string) => string
}

/**
 * dcrwallet 2.1's build path, as its code does it: createrawtransaction, fundrawtransaction
 * (txauthor.NewUnsignedTransaction: inputs until they cover the outputs and the fee priced with
 * a change output; change unless it is dust; -6 "insufficient balance" when they cannot) at
 * the rate asked for, signrawtransaction filling in the signatures, getbalance.
 */
const fakeDcrwallet =
  (o: FakeWalletOptions) =>
  (method: string, params: ReadonlyArray<unknown>): Answer => {
    switch (method) {
      case "walletpassphrase":
        return { result: "null" }
      case "getwalletfee":
        return { result: dcrAmountLiteral(RELAY_FEE) }
      case "createrawtransaction": {
        const amounts = Object.entries(params[1] as Record<string, number>)
        const outputs = amounts.map(([address, dcr]) => {
          const decoded = Result.getOrThrow(decodeAddress(address, SIMNET))
          return { value: BigInt(Math.round(dcr * 1e8)), script: p2pkhScript(decoded.payload) }
        })
        return { result: JSON.stringify(serializeTx(0, outputs, false)) }
      }
      case "fundrawtransaction": {
        const unsigned = Result.getOrThrow(decodeTx(Buffer.from(params[0] as string, "hex")))
        const feeRate = (params[2] as { feerate?: number } | undefined)?.feerate
        const rate = feeRate === undefined ? RELAY_FEE : BigInt(Math.round(feeRate * 1e8))
        const target = unsigned.outputs.reduce((s, x) => s + x.value, 0n)
        const scripts = [...unsigned.outputs.map((x) => x.pkScript.length), changeScript.length]
        const feeFor = (inputCount: number) => feeForBytes(rate, transactionBytes(new Array<number>(Math.max(inputCount, 1)).fill(P2PKH_SIG_SCRIPT_BYTES), scripts))
        const inputs: Array<bigint> = []
        let total = 0n
        for (const utxo of o.utxos) {
          if (inputs.length > 0 && total >= target + feeFor(inputs.length)) break
          inputs.push(utxo)
          total += utxo
        }
        const fee = feeFor(inputs.length)
        if (total < target + fee) return { error: { code: -6, message: "wallet.NewUnsignedTransaction:\n\ttxauthor.NewUnsignedTransaction: insufficient balance" } }
        const change = total - target - fee
        const outputs = unsigned.outputs.map((x) => ({ value: x.value, script: x.pkScript }))
        if (change !== 0n && !isDust(change, changeScript.length, rate)) outputs.push({ value: change, script: changeScript })
        const hex = serializeTx(inputs, outputs, false)
        return { result: `{"hex":${JSON.stringify(hex)},"fee":${dcrAmountLiteral(total - outputs.reduce((s, x) => s + x.value, 0n))}}` }
      }
      case "signrawtransaction": {
        // Fills each input's empty signature script; the rest stays as it was.
        const bytes = Buffer.from(params[0] as string, "hex")
        const tx = Result.getOrThrow(decodeTx(bytes))
        const witnessStart = bytes.length - (1 + 17 * tx.inputCount)
        const parts: Array<Uint8Array> = [bytes.subarray(0, witnessStart + 1)]
        for (let i = 0; i < tx.inputCount; i++) {
          const at = witnessStart + 1 + 17 * i
          parts.push(bytes.subarray(at, at + 16), le(BigInt(o.sigScriptBytes ?? 107), 1), Buffer.alloc(o.sigScriptBytes ?? 107, 0x42))
        }
        const signed = toHex(Buffer.concat(parts))
        return { result: `{"hex":${JSON.stringify(o.tamper?.(signed) ?? signed)},"complete":true}` }
      }
      case "getbalance": {
        const spendable = o.utxos.reduce((s, x) => s + x, 0n)
        return {
          result: `{"balances":[{"accountname":"payouts","immaturecoinbaserewards":${dcrAmountLiteral(o.immature ?? 0n)},"immaturestakegeneration":0,"lockedbytickets":0,"spendable":${dcrAmountLiteral(spendable)},"total":${dcrAmountLiteral(spendable + (o.immature ?? 0n))},"unconfirmed":0,"votingauthority":0}],"blockhash":"00"}`,
        }
      }
      default:
        return { error: { code: -32601, message: "Method not found" } }
    }
  }

/** What a built payout's transaction pays, per script, its inputs, fee and size. */
const paidBy = (payout: SignedPayout) => {
  const tx = Result.getOrThrow(decodeTx(Buffer.from(payout.rawTx, "hex")))
  const inputs = tx.inputValues.reduce((s, x) => s + x, 0n)
  const outputs = tx.outputs.reduce((s, x) => s + x.value, 0n)
  const to = (script: Uint8Array) => tx.outputs.filter((x) => Buffer.from(x.pkScript).equals(Buffer.from(script))).map((x) => x.value)
  return { tx, fee: inputs - outputs, to, bytes: payout.rawTx.length / 2 }
}

const OUTPUT_A = (feePaidBy: PayoutFeePayer = { _tag: "Output", address: addressA }) => ({ feePaidBy })

// Two outputs to A (1 DCR + 2 DCR) and one of 5 atoms to B.
const payouts: ReadonlyArray<PayoutOutput> = [
  { address: addressA, amount: 100_000_000n },
  { address: addressB, amount: 5n },
  { address: addressA, amount: 200_000_000n },
]
const payoutsSum = 300_000_005n

/** A pool's batch: its fee output and two miners. */
const batch: ReadonlyArray<PayoutOutput> = [
  { address: feeAddress, amount: 5_000_000n },
  { address: addressA, amount: 300_000_000n },
  { address: addressB, amount: 100_000_001n },
]
const batchSum = 405_000_001n
const byPoolFee: PayoutFeePayer = { _tag: "Output", address: feeAddress }
const byMiners: PayoutFeePayer = { _tag: "ProRata", exempt: [feeAddress] }
const build = (request: PayoutRequest, o: Partial<DcrwalletOptions> = {}) => withWallet(options(o), (w) => w.build(request))

describe("dcrwallet JSON-RPC client: build", () => {
  it("sums outputs per address, keeping first-seen order", () => {
    expect([...sumByAddress(payouts)]).toEqual([
      [addressA, 300_000_000n],
      [addressB, 5n],
    ])
  })

  it("unlocks, asks the relay fee, creates with exact amounts, funds from the account at fee rate 0, takes the fee out of the named output and signs", async () => {
    wallet.answer = fakeDcrwallet({ utxos: [payoutsSum] })
    const payout = valueOf(await build({ outputs: payouts, ...OUTPUT_A() }))
    const unsigned = serializeTx(
      0,
      [
        { value: 300_000_000n, script: p2pkhScript(hashA) },
        { value: 5n, script: p2pkhScript(hashB) },
      ],
      false,
    )
    expect(wallet.requests.map((r) => [r.method, r.paramsText])).toEqual([
      ["walletpassphrase", `["unlock \\"me\\"",60]`],
      ["getwalletfee", "[]"],
      ["createrawtransaction", `[[],{"${addressA}":3,"${addressB}":0.00000005}]`],
      ["fundrawtransaction", `["${unsigned}","payouts",{"feerate":0}]`],
      ["signrawtransaction", expect.stringMatching(/^\["[0-9a-f]+"\]$/)],
    ])
    expect(wallet.requests.every((r) => r.authorization === `Basic ${Buffer.from("walletuser:walletpass").toString("base64")}`)).toBe(true)
    // One input, two P2PKH outputs, no change: 253 bytes at 0.0001 DCR/kB.
    const fee = feeForBytes(RELAY_FEE, transactionBytes([P2PKH_SIG_SCRIPT_BYTES], [25, 25]))
    expect(fee).toBe(2530n)
    const paid = paidBy(payout)
    expect(payout.fee).toBe(fee)
    expect(paid.fee).toBe(fee)
    expect(paid.to(p2pkhScript(hashA))).toEqual([300_000_000n - fee])
    expect(paid.to(p2pkhScript(hashB))).toEqual([5n])
    expect(paid.tx.outputs).toHaveLength(2)
    expect(payout.txid).toBe(Result.getOrThrow(decredTxid(payout.rawTx)))
  })

  it("pays a batch from a wallet holding exactly its sum in three coinbases, the fee out of the pool fee output, priced for three inputs", async () => {
    wallet.answer = fakeDcrwallet({ utxos: [200_000_000n, 200_000_000n, 5_000_001n] })
    const payout = valueOf(await build({ outputs: batch, feePaidBy: byPoolFee }))
    const fee = feeForBytes(RELAY_FEE, transactionBytes(new Array<number>(3).fill(P2PKH_SIG_SCRIPT_BYTES), [25, 25, 25]))
    const paid = paidBy(payout)
    expect(paid.tx.inputValues).toEqual([200_000_000n, 200_000_000n, 5_000_001n])
    expect(payout.fee).toBe(fee)
    expect(paid.fee).toBe(fee)
    expect(paid.to(p2pkhScript(hashFee))).toEqual([5_000_000n - fee])
    expect(paid.to(p2pkhScript(hashA))).toEqual([300_000_000n])
    expect(paid.to(p2pkhScript(hashB))).toEqual([100_000_001n])
    expect(paid.tx.outputs).toHaveLength(3)
    // The fee pays for the transaction as signed at the wallet's rate.
    expect(payout.fee).toBeGreaterThanOrEqual(feeForBytes(RELAY_FEE, paid.bytes))
  })

  it("pro rata: the miners' outputs pay the fee in proportion to their amounts, the pool fee output none", async () => {
    wallet.answer = fakeDcrwallet({ utxos: [batchSum] })
    const payout = valueOf(await build({ outputs: batch, feePaidBy: byMiners }))
    const fee = feeForBytes(RELAY_FEE, transactionBytes([P2PKH_SIG_SCRIPT_BYTES], [25, 25, 25]))
    const shares = new Map(
      splitProportionally(
        fee,
        new Map([
          [addressA, 300_000_000n],
          [addressB, 100_000_001n],
        ]),
      ).map((s) => [s.account, s.amount]),
    )
    const paid = paidBy(payout)
    expect(payout.fee).toBe(fee)
    expect(paid.fee).toBe(fee)
    expect(paid.to(p2pkhScript(hashFee))).toEqual([5_000_000n])
    expect(paid.to(p2pkhScript(hashA))).toEqual([300_000_000n - shares.get(addressA)!])
    expect(paid.to(p2pkhScript(hashB))).toEqual([100_000_001n - shares.get(addressB)!])
    expect(shares.get(addressA)! + shares.get(addressB)!).toBe(fee)
  })

  it("a wallet holding more keeps exactly its surplus as change: the fee, priced with the change output, still comes out of the payer", async () => {
    wallet.answer = fakeDcrwallet({ utxos: [batchSum + 100_000_000n] })
    const payout = valueOf(await build({ outputs: batch, feePaidBy: byPoolFee }))
    const fee = feeForBytes(RELAY_FEE, transactionBytes([P2PKH_SIG_SCRIPT_BYTES], [25, 25, 25, 25]))
    const paid = paidBy(payout)
    expect(paid.to(changeScript)).toEqual([100_000_000n])
    expect(paid.to(p2pkhScript(hashFee))).toEqual([5_000_000n - fee])
    expect(payout.fee).toBe(fee)
    expect(paid.fee).toBe(fee)
  })

  it("a surplus too small for an output goes to the fee, and the fee reported is all the transaction pays", async () => {
    wallet.answer = fakeDcrwallet({ utxos: [batchSum + 1_000n] })
    const payout = valueOf(await build({ outputs: batch, feePaidBy: byPoolFee }))
    const priced = feeForBytes(RELAY_FEE, transactionBytes([P2PKH_SIG_SCRIPT_BYTES], [25, 25, 25]))
    const paid = paidBy(payout)
    expect(paid.tx.outputs).toHaveLength(3)
    expect(paid.to(p2pkhScript(hashFee))).toEqual([5_000_000n - priced])
    expect(payout.fee).toBe(priced + 1_000n)
    expect(paid.fee).toBe(payout.fee)
  })

  it("prices again at the signed size when signatures come out larger than a P2PKH one", async () => {
    wallet.answer = fakeDcrwallet({ utxos: [batchSum], sigScriptBytes: 250 })
    const payout = valueOf(await build({ outputs: batch, feePaidBy: byPoolFee }))
    const paid = paidBy(payout)
    expect(wallet.requests.filter((r) => r.method === "signrawtransaction")).toHaveLength(2)
    expect(payout.fee).toBeGreaterThanOrEqual(feeForBytes(RELAY_FEE, paid.bytes))
    expect(paid.fee).toBe(payout.fee)
    expect(paid.to(p2pkhScript(hashFee))).toEqual([5_000_000n - payout.fee])
  })

  it("an account short of the outputs' sum fails with what it lacks and what to do", async () => {
    wallet.answer = fakeDcrwallet({ utxos: [batchSum - 12_345n], immature: 500_000_000n })
    const error = failureOf(await build({ outputs: batch, feePaidBy: byPoolFee }))
    expect(error).toMatchObject({ _tag: "PayoutUnfunded", account: "payouts", needed: batchSum, spendable: batchSum - 12_345n, missing: 12_345n, immature: 500_000_000n })
    expect(error.message).toBe(
      `the payout wallet's account "payouts" can spend 4.04987656 DCR, but the payout pays 4.05000001 DCR: 12345 atoms (0.00012345 DCR) are missing; send at least that much to account "payouts", or wait until enough of the 5 DCR of coinbase rewards still maturing there has matured`,
    )
    expect(wallet.requests.map((r) => r.method)).toEqual(["walletpassphrase", "getwalletfee", "createrawtransaction", "fundrawtransaction", "getbalance"])
    expect(wallet.requests.at(-1)?.paramsText).toBe(`["payouts",1]`)
  })

  it("keeps dcrwallet's insufficient-balance refusal when the balance says the account could pay", async () => {
    const answer = fakeDcrwallet({ utxos: [batchSum] })
    wallet.answer = (method, params) => (method === "fundrawtransaction" ? { error: { code: -6, message: "insufficient balance" } } : answer(method, params))
    expect(failureOf(await build({ outputs: batch, feePaidBy: byPoolFee }))).toMatchObject({ _tag: "WalletRpcError", method: "fundrawtransaction", code: -6 })
  })

  it("refuses to leave the payer below dust, and a payer that names no output, before signing anything", async () => {
    wallet.answer = fakeDcrwallet({ utxos: [batchSum] })
    const small = [{ address: feeAddress, amount: 8_000n }, ...batch.slice(1)]
    const dust = failureOf(await build({ outputs: small, feePaidBy: byPoolFee }))
    expect(dust).toMatchObject({ _tag: "PayoutFeeUnpayable", short: { address: feeAddress, amount: 8_000n, minimum: 6_030n } })
    expect(dust.message).toContain("--payoutfeefrom=miners")
    expect(wallet.requests.some((r) => r.method === "signrawtransaction")).toBe(false)
    wallet.requests.length = 0
    const nobody = failureOf(await build({ outputs: batch.slice(1), feePaidBy: byPoolFee }))
    expect(nobody).toMatchObject({ _tag: "PayoutFeeUnpayable", short: undefined })
    expect(wallet.requests).toHaveLength(0)
  })

  it("funds from the default account when none is configured", async () => {
    wallet.answer = fakeDcrwallet({ utxos: [payoutsSum] })
    valueOf(await build({ outputs: payouts, ...OUTPUT_A() }, { account: undefined }))
    expect(wallet.requests[3]?.paramsText).toMatch(/^\["[0-9a-f]+","default",\{"feerate":0\}\]$/)
  })

  it("refuses another network's address, a non-positive amount and an empty payout before asking the wallet", async () => {
    const mainnetAddress = encodeAddress("p2pkh-ecdsa-secp256k1", hashA, MAINNET)
    const one = (address: string, amount: bigint) => build({ outputs: [{ address, amount }], ...OUTPUT_A({ _tag: "Output", address }) })
    const wrongNetwork = failureOf(await one(mainnetAddress, 1n))
    expect(wrongNetwork).toMatchObject({ _tag: "PayoutAddressRefused", address: mainnetAddress })
    expect(wrongNetwork.message).toContain("is a mainnet address, but this is simnet")
    const schnorr = encodeAddress("p2pkh-schnorr-secp256k1", hashA, SIMNET)
    expect(failureOf(await one(schnorr, 1n)).message).toContain("dcrwallet pays only p2pkh (secp256k1 ECDSA) and p2sh")
    expect(failureOf(await one(addressA, 0n)).message).toContain("is not positive")
    expect(failureOf(await build({ outputs: [], ...OUTPUT_A() })).message).toContain("at least one output")
    expect(wallet.requests).toHaveLength(0)
  })

  it("names the one address it will not pay, typed, so the others can be paid without it: a key that is no point, a P2PK address, or dcrwallet's own -5", async () => {
    // issue 16: a simnet P2PK address whose key is no secp256k1 point, among good outputs.
    const offCurve = "SkLXmxb92d75QTaXFXYWSFqzBKNwjH49hLEQkaTP7QbmD5YsKwod8"
    const withOne = (address: string) => build({ outputs: [...batch, { address, amount: 7_000_000n }], feePaidBy: byPoolFee })
    const bad = failureOf(await withOne(offCurve))
    expect(bad).toMatchObject({ _tag: "PayoutAddressRefused", address: offCurve })
    expect(bad.message).toContain("not a point of the curve")
    // A sound P2PK key: dcrd decodes it, dcrwallet's createrawtransaction still will not pay it.
    const key = Buffer.from("02ce0b14fb842b1ba549fdd675c98075f12e9c510f8ef52bd021a9a1f4809d3b4d", "hex")
    const p2pk = encodeAddress("p2pk-ecdsa-secp256k1", Uint8Array.of(0x00, ...key.subarray(1)), SIMNET)
    expect(failureOf(await withOne(p2pk))).toMatchObject({ _tag: "PayoutAddressRefused", address: p2pk, reason: expect.stringContaining("is a p2pk-ecdsa-secp256k1 address") })
    expect(wallet.requests).toHaveLength(0)
    // A wallet that refuses an address the client took: its -5 names it, so it is typed too.
    const answer = fakeDcrwallet({ utxos: [batchSum] })
    wallet.answer = (method, params) => (method === "createrawtransaction" ? { error: { code: -5, message: `Address "${addressB}": failed to decode address` } } : answer(method, params))
    expect(failureOf(await build({ outputs: batch, feePaidBy: byPoolFee }))).toMatchObject({ _tag: "PayoutAddressRefused", address: addressB, reason: "dcrwallet: failed to decode address" })
    // One that names no output of the payout stays the wallet's own error.
    wallet.answer = (method, params) => (method === "createrawtransaction" ? { error: { code: -5, message: "Invalid type: *stdaddr.AddressPubKeyEd25519V0" } } : answer(method, params))
    expect(failureOf(await build({ outputs: batch, feePaidBy: byPoolFee }))).toMatchObject({ _tag: "WalletRpcError", code: -5 })
  })

  it("fails when the wallet cannot sign every input, saying so", async () => {
    const answer = fakeDcrwallet({ utxos: [payoutsSum] })
    wallet.answer = (method, params) =>
      method === "signrawtransaction"
        ? { result: `{"hex":${JSON.stringify(params[0])},"complete":false,"errors":[{"txid":"00","vout":0,"scriptSig":"","sequence":0,"error":"unknown key"}]}` }
        : answer(method, params)
    const error = failureOf(await build({ outputs: payouts, ...OUTPUT_A() }))
    expect(error).toMatchObject({ _tag: "WalletRpcError", method: "signrawtransaction" })
    expect(error.message).toContain("could not sign every input: unknown key")
  })

  it("refuses a signed transaction that does not pay what was asked", async () => {
    // The signer moves an atom from B's output to A's.
    const tamper = (hex: string) => {
      const bytes = Buffer.from(hex, "hex")
      const tx = Result.getOrThrow(decodeTx(bytes))
      const outputs = tx.outputs.map((x) => ({ ...x, value: x.value === 5n ? 4n : x.value + 1n }))
      return toHex(replaceOutputs(bytes, tx, outputs))
    }
    wallet.answer = fakeDcrwallet({ utxos: [payoutsSum], tamper })
    const error = failureOf(await build({ outputs: payouts, ...OUTPUT_A() }))
    expect(error.message).toContain("does not pay 2.9999747 DCR to")
  })

  it("passes the wallet's JSON-RPC error on with its code", async () => {
    const answer = fakeDcrwallet({ utxos: [payoutsSum] })
    wallet.answer = (method, params) => (method === "fundrawtransaction" ? { error: { code: -4, message: "wallet.NewUnsignedTransaction: no peers" } } : answer(method, params))
    const error = failureOf(await build({ outputs: payouts, ...OUTPUT_A() }))
    expect(error).toMatchObject({ _tag: "WalletRpcError", method: "fundrawtransaction", code: -4, reason: "wallet.NewUnsignedTransaction: no peers" })
  })
})

describe("dcrwallet JSON-RPC client: publish and status", () => {
  const signedHex = serializeTx(1, [{ value: 300_000_000n, script: p2pkhScript(hashA) }], true)
  const payout: SignedPayout = { txid: Result.getOrThrow(decredTxid(signedHex)), rawTx: signedHex, fee: 2530n }

  it("sends the raw transaction and checks the wallet's txid", async () => {
    wallet.answer = () => ({ result: JSON.stringify(payout.txid) })
    valueOf(await withWallet(options(), (w) => w.publish(payout)))
    expect(wallet.requests.map((r) => [r.method, r.paramsText])).toEqual([["sendrawtransaction", `["${signedHex}"]`]])
    wallet.answer = () => ({ result: JSON.stringify("00".repeat(32)) })
    expect(failureOf(await withWallet(options(), (w) => w.publish(payout))).message).toContain("not as")
  })

  it("succeeds when the network already has the transaction", async () => {
    wallet.answer = () => ({ error: { code: -40, message: `rejected transaction ${payout.txid}: already have transaction ${payout.txid}` } })
    valueOf(await withWallet(options(), (w) => w.publish(payout)))
  })

  it("succeeds when a refused transaction is one the wallet has seen mined", async () => {
    wallet.answer = (method) =>
      method === "sendrawtransaction" ? { error: { code: -4, message: "dcrd.PublishTransactions: orphan transaction" } } : { result: `{"amount":0,"confirmations":7,"txid":"${payout.txid}"}` }
    valueOf(await withWallet(options(), (w) => w.publish(payout)))
    expect(wallet.requests.map((r) => r.method)).toEqual(["sendrawtransaction", "gettransaction"])
  })

  it("fails with the send's error when the wallet does not have it mined", async () => {
    wallet.answer = (method) => (method === "sendrawtransaction" ? { error: { code: -4, message: "high fees" } } : { error: { code: -5, message: "no information for transaction" } })
    expect(failureOf(await withWallet(options(), (w) => w.publish(payout)))).toMatchObject({ _tag: "WalletRpcError", method: "sendrawtransaction", code: -4 })
  })

  it("reports confirmations of a known transaction and Unknown for dcrwallet's no-information error", async () => {
    wallet.answer = () => ({ result: `{"amount":-3.00000005,"fee":-0.0000253,"confirmations":2,"blockhash":"00","txid":"${payout.txid}"}` })
    expect(valueOf(await withWallet(options(), (w) => w.status(payout.txid)))).toEqual({ _tag: "Known", confirmations: 2 })
    expect(wallet.requests[0]?.paramsText).toBe(`["${payout.txid}"]`)
    wallet.answer = () => ({ error: { code: -5, message: "no information for transaction" } })
    expect(valueOf(await withWallet(options(), (w) => w.status(payout.txid)))).toEqual({ _tag: "Unknown" })
    wallet.answer = () => ({ error: { code: -22, message: "encoding/hex: invalid byte" } })
    expect(failureOf(await withWallet(options(), (w) => w.status("zz")))).toMatchObject({ _tag: "WalletRpcError", code: -22 })
  })
})

describe("dcrwallet JSON-RPC client: when the wallet cannot be asked", () => {
  const status = (o: DcrwalletOptions) => withWallet(o, (w) => w.status("00".repeat(32)))

  it("says the user and password are wrong on HTTP 401", async () => {
    wallet.answer = () => ({ http: 401, body: "401 Unauthorized\n" })
    const error = failureOf(await status(options()))
    expect(error).toMatchObject({ _tag: "WalletUnavailable", method: "gettransaction" })
    expect(error.message).toContain("HTTP 401: dcrwallet refused the RPC user and password")
  })

  it("says the connection was refused", async () => {
    const closed = createServer()
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve))
    const port = (closed.address() as { port: number }).port
    await new Promise<void>((resolve) => closed.close(() => resolve()))
    const error = failureOf(await status(options({ url: `https://127.0.0.1:${port}` })))
    expect(error).toMatchObject({ _tag: "WalletUnavailable" })
    expect(error.message).toContain(`connection refused at https://127.0.0.1:${port}`)
    // What fetch threw stays with the error as its cause, not only as text.
    expect(error.cause).toBeInstanceOf(Error)
  })

  it("gives up after the request timeout", async () => {
    wallet.answer = () => "hang"
    const error = failureOf(await status(options({ requestTimeoutMillis: 200 })))
    expect(error).toMatchObject({ _tag: "WalletUnavailable", reason: "no answer in 200 ms" })
  })

  it("does not take a reply that is not JSON-RPC for one", async () => {
    wallet.answer = () => ({ http: 429, body: "429 Too Many Requests\n" })
    expect(failureOf(await status(options())).message).toContain("HTTP 429 with no JSON-RPC reply: 429 Too Many Requests")
  })

  it("trusts exactly the configured certificate", async () => {
    wallet.answer = () => ({ error: { code: -5, message: "no information for transaction" } })
    expect(valueOf(await status(options()))).toEqual({ _tag: "Unknown" })
    expect(wallet.requests).toHaveLength(1)
    const error = failureOf(await status(options({ certificate: wallet.other.cert })))
    expect(error).toMatchObject({ _tag: "WalletUnavailable" })
    expect(error.message).toMatch(/TLS certificate at .* is not the configured one/)
    // Without the certificate the system roots apply, which do not know a self-signed one.
    expect(failureOf(await status(options({ certificate: undefined }))).message).toMatch(/is not the configured one/)
    expect(wallet.requests).toHaveLength(1)
  })
})
