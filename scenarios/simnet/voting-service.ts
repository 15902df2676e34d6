/**
 * The pieces of issue 19's real-simnet suite (`vsp.test.ts`) around the harness: a voting
 * service's voting servers (each a dcrd peered with the harness's plus a dcrwallet started
 * `--enablevoting --manualtickets`), a staker's unmodified dcrwallet pointed at the service with
 * `--vsp.url`/`--vsp.pubkey`, a vspd API client that asks `ticketstatus` as dcrwallet does
 * (signed by the ticket's commitment address through the staker's `signmessage`, the server's
 * signature checked), and a reader of what each block did with a set of tickets.
 *
 * How dcrwallet 2.1.5 uses a voting service (read in decred/dcrwallet release-v2.1.5 and the
 * vspd client it pins, decred/vspd client/v4.0.2 with types/v3.0.0):
 *
 * - Options (`config.go`, `[VSP Options]`): `--vsp.url` (base URL; `/api/v3/...` is appended
 *   as text, so no trailing slash), `--vsp.pubkey` (standard base64 of the raw 32-byte Ed25519
 *   public key; only its base64 is checked at start, and Go's ed25519.Verify panics on another
 *   length at the first response), `--vsp.maxfee` (default 0.2 DCR; a quote above it is
 *   refused), `--vsp.sync`. Setting one of url/pubkey without the other is a start error.
 * - http:// on 127.0.0.1 is accepted: the client is a plain net/http client (`wallet/vsp.go`,
 *   Transport with the wallet's dialer, i.e. a net.Dialer unless --proxy), no scheme check.
 * - The VSP client is made at start only when the wallet is opened with `--pass` (dcrwallet.go:
 *   it is created after the startup unlock), so the staker runs unlocked with `--pass`.
 * - `purchaseticket` (JSON-RPC, `internal/rpc/jsonrpc/methods.go`) takes no VSP arguments: it
 *   uses the `--vsp.url`/`--vsp.pubkey` of the config whenever they are set, exactly as the
 *   ticket buyer (`ticketbuyer/tb.go`, `VSPClient` in the purchase request) does. Both go
 *   through `Wallet.PurchaseTickets` (`wallet/createtx.go`): GET vspinfo first (its fee
 *   percentage sizes the fee inputs it reserves: one set of outputs per ticket, so the staker
 *   needs many UTXOs), then, for each ticket right after publishing it, `VSPClient.Process`
 *   synchronously: POST feeaddress, build the fee transaction (not published: the service
 *   broadcasts it), POST payfee with the voting key (WIF) and the wallet's vote choices and
 *   treasury/tspend policies. A failure there is logged and the purchase still succeeds.
 *   `processunmanagedticket <hash>` registers a ticket bought without the options (or whose
 *   registration failed) with the configured VSP; no other RPC is needed.
 * - Jitter (`wallet/feepayment.go`): none on the purchase path. Creating a fee payment also
 *   schedules a "reconcile payment" after a random delay, and so do retries and the
 *   confirmation polls: an unmined ticket up to 2 min, an immature one up to
 *   min(blocks until live x 1 s on simnet, 1 h), a live one up to 5 min. Reconcile sends
 *   payfee again (vspd answers code 3, fee already received, which the wallet takes as paid)
 *   and then polls ticketstatus until `confirmed`. None of it is on the path to voting, so the
 *   suite needs no long waits: registration is done when purchaseticket returns (or when the
 *   ticket buyer's purchase after a block is), and the rest is the service's.
 * - Confirmations: the wallet waits for none itself; the service broadcasts the fee once the
 *   ticket has 6 confirmations and calls it confirmed 6 blocks later; the wallet only learns it
 *   from ticketstatus on its jittered polls (`confirmPayment`).
 * - Wallet stopped: the fee-payment jobs live in memory only. Tickets already paid need nothing
 *   more from it. After a restart nothing resumes unless `--vsp.sync` (which asks ticketstatus
 *   for each processed ticket and resumes the known ones); an unregistered one needs
 *   `processunmanagedticket`. The service's voting wallets vote regardless.
 * - The client checks each 200 answer's `VSP-Server-Signature` (Ed25519 over the raw body) and
 *   that its `request` field (Go []byte, i.e. base64 in JSON) is byte for byte the body it
 *   sent; an error answer must be exactly `{code, message}` (decoded with unknown fields
 *   refused), else the wallet reports the raw HTTP status and body.
 */
import { Data, Effect, Result, Schema } from "effect"
import { dcrToAtoms } from "../../core/chain/amounts.ts"
import { encodeStdBase64 } from "../../core/vsp/base64.ts"
import { verifyResponse } from "../../core/vsp/server-key.ts"
import type { VotingServiceConfig } from "../../pool/ops/vsp-service.ts"
import type { PeerDcrdEndpoint, SimnetHarness, WalletEndpoint } from "./harness.ts"

/** One of the service's voting servers: a dcrd of its own and a voting wallet on it. */
export interface VotingServer {
  readonly dcrd: PeerDcrdEndpoint
  readonly wallet: WalletEndpoint
}

/**
 * `count` voting servers, started together: dcrd `vsp-dcrd-i` peered with the harness's, and
 * on it dcrwallet `vsp-voting-i`, created empty, unlocked, `--enablevoting --manualtickets`
 * (it votes only the tickets it is given), as vspd's deployment guide has them.
 */
export const startVotingServers = (h: SimnetHarness, count: number) =>
  Effect.forEach(
    Array.from({ length: count }, (_, i) => i + 1),
    (i) =>
      Effect.gen(function* () {
        const dcrd = yield* h.startDcrd(`vsp-dcrd-${i}`)
        const wallet = yield* h.startWallet(`vsp-voting-${i}`, { dcrd, args: ["--enablevoting", "--manualtickets"] })
        return { dcrd, wallet } satisfies VotingServer
      }),
    { concurrency: "unbounded" },
  )

/** The servers' wallets as the service's configuration names them (its fleet dials each over JSON-RPC). */
export const votingWalletConfigs = (servers: ReadonlyArray<VotingServer>): VotingServiceConfig["votingWallets"] =>
  servers.map(({ wallet }) => ({ name: wallet.name, url: wallet.url, user: wallet.user, password: wallet.password, certificate: wallet.certificate }))

/** dcrwallet's arguments for a staker using the service: VSP options, optionally its ticket buyer. */
export const stakerArgs = (vspUrl: string, vspPubKey: string, ticketBuyerLimit?: number): ReadonlyArray<string> => [
  `--vsp.url=${vspUrl}`,
  `--vsp.pubkey=${vspPubKey}`,
  // The VSP client's trace level dumps every request and answer to the log: dcrwallet drops
  // a failed registration on the purchase path without a word (createtx.go: Process error,
  // continue), so the log is the only place it shows.
  "--debuglevel=VSPC=trace",
  ...(ticketBuyerLimit === undefined ? [] : ["--enableticketbuyer", `--ticketbuyer.limit=${ticketBuyerLimit}`]),
]

// ---- vspd's API as dcrwallet's client calls it ---------------------------------------------------

class VspApiError extends Data.TaggedError("VspApiError")<{ readonly path: string; readonly status: number; readonly reason: string }> {
  override get message(): string {
    return `the voting service's ${this.path} answered ${this.status}: ${this.reason}`
  }
}

const TicketStatusReply = Schema.Struct({
  timestamp: Schema.Number,
  ticketconfirmed: Schema.Boolean,
  feetxstatus: Schema.String,
  feetxhash: Schema.String,
  altsignaddress: Schema.String,
  votechoices: Schema.Record(Schema.String, Schema.String),
  tspendpolicy: Schema.NullOr(Schema.Record(Schema.String, Schema.String)),
  treasurypolicy: Schema.NullOr(Schema.Record(Schema.String, Schema.String)),
  request: Schema.String,
})
export type TicketStatus = typeof TicketStatusReply.Type

const VspInfoReply = Schema.Struct({
  apiversions: Schema.Array(Schema.Number),
  pubkey: Schema.String,
  feepercentage: Schema.Number,
  network: Schema.String,
  votingwalletsonline: Schema.Number,
  totalvotingwallets: Schema.Number,
})

/**
 * The service's API as dcrwallet's vspd client speaks it: POST bodies signed with
 * `sign(address, body)` (the staker's `signmessage`) in `VSP-Client-Signature`; every 200
 * answer's `VSP-Server-Signature` checked against `pubKey` and its `request` echo checked,
 * as the client does before it believes an answer.
 */
export const vspClient = (url: string, pubKey: string, sign: (address: string, message: string) => Effect.Effect<string, unknown>) => {
  const answer = <A>(path: string, schema: Schema.Codec<A, unknown>, init: RequestInit, sentBody?: string) =>
    Effect.gen(function* () {
      const response = yield* Effect.tryPromise({
        try: () => fetch(`${url}${path}`, init),
        catch: (e) => new VspApiError({ path, status: 0, reason: `no answer: ${String(e)}` }),
      })
      const body = new Uint8Array(yield* Effect.promise(() => response.arrayBuffer()))
      const text = new TextDecoder().decode(body)
      if (response.status !== 200) return yield* Effect.fail(new VspApiError({ path, status: response.status, reason: text.slice(0, 300) }))
      const signature = response.headers.get("VSP-Server-Signature") ?? ""
      if (!verifyResponse(pubKey, body, signature)) return yield* Effect.fail(new VspApiError({ path, status: 200, reason: `bad or missing VSP-Server-Signature ${JSON.stringify(signature)}` }))
      const decoded = Schema.decodeUnknownResult(Schema.fromJsonString(schema))(text)
      if (Result.isFailure(decoded)) return yield* Effect.fail(new VspApiError({ path, status: 200, reason: `unexpected answer ${text.slice(0, 300)}` }))
      if (sentBody !== undefined) {
        const echoed = (decoded.success as { readonly request?: unknown }).request
        if (echoed !== encodeStdBase64(new TextEncoder().encode(sentBody)))
          return yield* Effect.fail(new VspApiError({ path, status: 200, reason: `the answer's request ${JSON.stringify(echoed)} is not the body sent, base64` }))
      }
      return decoded.success
    })
  return {
    vspInfo: answer("/api/v3/vspinfo", VspInfoReply, { method: "GET" }),
    /** `ticketstatus`, signed by the ticket's commitment address. */
    ticketStatus: (ticketHash: string, commitmentAddress: string) =>
      Effect.gen(function* () {
        // Go's json.Marshal of TicketStatusRequest: exactly this text.
        const body = JSON.stringify({ tickethash: ticketHash })
        const signature = yield* Effect.mapError(sign(commitmentAddress, body), (e) => new VspApiError({ path: "/api/v3/ticketstatus", status: 0, reason: `signmessage: ${String(e)}` }))
        return yield* answer("/api/v3/ticketstatus", TicketStatusReply, { method: "POST", body, headers: { "VSP-Client-Signature": signature, "Content-Type": "application/json" } }, body)
      }),
  }
}

// ---- what the chain did with a set of tickets ---------------------------------------------------

const Amount = Schema.Union([Schema.String, Schema.Number])
const VerboseTx = Schema.Struct({
  txid: Schema.String,
  vin: Schema.Array(Schema.Struct({ stakebase: Schema.optional(Schema.String), txid: Schema.optional(Schema.String) })),
  vout: Schema.Array(
    Schema.Struct({
      value: Amount,
      scriptPubKey: Schema.Struct({ type: Schema.String, addresses: Schema.optional(Schema.Array(Schema.String)), commitamt: Schema.optional(Amount) }),
    }),
  ),
})
const VerboseBlock = Schema.Struct({ hash: Schema.String, height: Schema.Number, sbits: Amount, rawstx: Schema.optional(Schema.Array(VerboseTx)) })
const VerboseRawTx = Schema.Struct({
  ...VerboseTx.fields,
  hex: Schema.String,
  blockheight: Schema.optional(Schema.Number),
  blockhash: Schema.optional(Schema.String),
})

export const atoms = (value: string | number, what: string): bigint => Result.getOrThrow(dcrToAtoms(value, what))

/** One block's stake transactions as the suite reads them (display txids). */
interface StakeBlock {
  readonly height: number
  readonly hash: string
  readonly sbits: bigint
  /** Tickets that voted in this block. */
  readonly voted: ReadonlyArray<string>
  /** Tickets revoked in this block, with what each revocation paid out in all. */
  readonly revoked: ReadonlyArray<{ readonly ticket: string; readonly paid: bigint }>
  /** Ticket purchases mined in this block. */
  readonly purchases: ReadonlyArray<string>
}

type DcrdCall = SimnetHarness["dcrd"]["call"]

export const stakeBlock = (call: DcrdCall, height: number) =>
  Effect.gen(function* () {
    const hash = yield* Effect.flatMap(call("getblockhash", [height]), (v) => decode("getblockhash", Schema.String, v))
    const block = yield* Effect.flatMap(call("getblock", [hash, true, true]), (v) => decode("getblock", VerboseBlock, v))
    const voted: Array<string> = []
    const revoked: Array<{ ticket: string; paid: bigint }> = []
    const purchases: Array<string> = []
    for (const tx of block.rawstx ?? []) {
      const kind = tx.vout[0]?.scriptPubKey.type ?? ""
      if (tx.vin[0]?.stakebase !== undefined && tx.vin[1]?.txid !== undefined) voted.push(tx.vin[1].txid)
      else if (kind.startsWith("stakerevoke") && tx.vin[0]?.txid !== undefined) revoked.push({ ticket: tx.vin[0].txid, paid: tx.vout.reduce((a, o) => a + atoms(o.value, "revocation output"), 0n) })
      else if (kind.startsWith("stakesubmission")) purchases.push(tx.txid)
    }
    return { height, hash, sbits: atoms(block.sbits, "sbits"), voted, revoked, purchases } satisfies StakeBlock
  })

/** dcrd's verbose transaction (txindex): outputs with exact amounts, and where it was mined. */
export const rawTransaction = (call: DcrdCall, txid: string) => Effect.flatMap(call("getrawtransaction", [txid, 1]), (v) => decode("getrawtransaction", VerboseRawTx, v))

/** A ticket's price (output 0) and its first commitment's address (who signs for it). */
export const ticketFacts = (tx: typeof VerboseRawTx.Type) => ({
  price: atoms(tx.vout[0]!.value, "ticket price"),
  commitmentAddress: tx.vout.find((o) => o.scriptPubKey.type === "sstxcommitment")?.scriptPubKey.addresses?.[0] ?? "",
})

class UnexpectedReply extends Data.TaggedError("UnexpectedReply")<{ readonly method: string; readonly reply: string }> {
  override get message(): string {
    return `${this.method}: unexpected reply ${this.reply}`
  }
}

const decode = <A>(method: string, schema: Schema.Codec<A, unknown>, value: unknown) => {
  const r = Schema.decodeUnknownResult(schema)(value)
  return Result.isSuccess(r) ? Effect.succeed(r.success) : Effect.fail(new UnexpectedReply({ method, reply: JSON.stringify(value)?.slice(0, 300) ?? "" }))
}
