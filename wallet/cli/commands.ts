import { Data, Effect, Result, Schema } from "effect"
import { chainActivations, MAINNET_AGENDAS, SIMNET_AGENDAS, TESTNET3_AGENDAS } from "../../core/chain/agendas.ts"
import { atomsToDcr, dcrToAtoms, parseDcr } from "../../core/chain/amounts.ts"
import { fromHex } from "../../core/chain/bytes.ts"
import { subsidySplitAt, voteSubsidy } from "../../core/chain/subsidy.ts"
import { expiryChance, meanVotingBlocks, medianVotingBlocks, rewardPeriodBlocks, rewardPeriodSeconds, ticketRewardPercent } from "../../core/stake/stats.ts"
import { runAutobuy, rpcAutobuyWallet } from "../autobuy.ts"
import { decodeTx } from "../../core/chain/tx.ts"
import { verifyResponse } from "../../core/vsp/server-key.ts"
import { parseTicket } from "../../core/vsp/ticket.ts"
import { purchaseTicketParams } from "../dcrwallet-stake.ts"
import { JsonLiteral, type JsonRpcCall, type JsonRpcFailure } from "../json-rpc.ts"
import { parsePurchaseTicket, type PurchaseTicketRequest } from "../purchase.ts"
import { StakeCliError, type StakeCli } from "./options.ts"
import { toCurrentForm } from "./purchase-form.ts"

/** A command that went wrong: the message says what to do. */
export class StakeCommandFailed extends Data.TaggedError("StakeCommandFailed")<{ readonly message: string }> {}

// dcrjson's ErrRPCWalletUnlockNeeded: the wallet must be unlocked to sign.
const ERR_WALLET_UNLOCK_NEEDED = -13

/** A wallet call's failure as what the staker should do about it. */
const explain = (failure: JsonRpcFailure | StakeCommandFailed, sim: boolean): StakeCommandFailed => {
  if (failure._tag === "StakeCommandFailed") return failure
  if (failure._tag === "JsonRpcRefused" && (failure.code === ERR_WALLET_UNLOCK_NEEDED || /locked/i.test(failure.reason))) {
    return new StakeCommandFailed({
      message: `the wallet is locked (${failure.method}: ${failure.reason}): unlock it with walletpassphrase, e.g. dcrctl --wallet walletpassphrase "YOUR PASSPHRASE" 0, then run this again`,
    })
  }
  if (failure._tag === "JsonRpcUnavailable" && sim) {
    return new StakeCommandFailed({ message: `the simulated wallet does not answer (${failure.reason}): start ./dcrforge run first (in another terminal), then run this again` })
  }
  return new StakeCommandFailed({ message: failure.message })
}

// ---- output: dcrctl prints the reply as indented JSON ---------------------------------------

/** An amount in atoms: printed in DCR as an exact decimal, or as integer atoms with --atoms. */
class Atoms {
  readonly atoms: bigint
  constructor(atoms: bigint) {
    this.atoms = atoms
  }
}
type Out = string | number | boolean | null | Atoms | JsonLiteral | ReadonlyArray<Out> | { readonly [key: string]: Out | undefined }

const printJson = (value: Out, inAtoms: boolean, indent = ""): string => {
  if (value instanceof Atoms) return inAtoms ? value.atoms.toString() : atomsToDcr(value.atoms)
  if (value instanceof JsonLiteral) return value.text
  if (value === null || typeof value !== "object") return JSON.stringify(value)
  const inner = `${indent}  `
  if (Array.isArray(value)) {
    const items = value as ReadonlyArray<Out>
    return items.length === 0 ? "[]" : `[\n${items.map((v) => inner + printJson(v, inAtoms, inner)).join(",\n")}\n${indent}]`
  }
  const entries = Object.entries(value as { readonly [key: string]: Out | undefined }).filter((e): e is [string, Out] => e[1] !== undefined)
  return entries.length === 0 ? "{}" : `{\n${entries.map(([k, v]) => `${inner}${JSON.stringify(k)}: ${printJson(v, inAtoms, inner)}`).join(",\n")}\n${indent}}`
}

// ---- reading replies ----------------------------------------------------------------------

const Amount = Schema.Union([Schema.String, Schema.Number])
const decode = <A>(method: string, schema: Schema.Codec<A, unknown>, value: unknown): Effect.Effect<A, StakeCommandFailed> => {
  const r = Schema.decodeUnknownResult(schema)(value)
  return Result.isSuccess(r)
    ? Effect.succeed(r.success)
    : Effect.fail(new StakeCommandFailed({ message: `the wallet's ${method} reply is not what dcrwallet 2.1 sends: ${String(JSON.stringify(value)).slice(0, 200)}` }))
}
const toAtoms = (method: string, value: string | number, field: string): Effect.Effect<bigint, StakeCommandFailed> => {
  const r = dcrToAtoms(value, field)
  return Result.isSuccess(r) ? Effect.succeed(r.success) : Effect.fail(new StakeCommandFailed({ message: `the wallet's ${method} ${field}: ${r.failure.message}` }))
}

// dcrwallet answers `{current, next}` itself; dcrd's own reply names them
// `currentstakedifficulty`/`nextstakedifficulty`. Either is read.
const StakeDifficulty = Schema.Struct({
  current: Schema.optional(Amount),
  next: Schema.optional(Amount),
  currentstakedifficulty: Schema.optional(Amount),
  nextstakedifficulty: Schema.optional(Amount),
})
const BestBlock = Schema.Struct({ hash: Schema.String, height: Schema.Number })
const Estimate = Schema.Struct({ min: Amount, max: Amount, expected: Amount, user: Schema.optional(Amount) })
const Count = Schema.optional(Schema.Number)
const Ratio = Schema.optional(Amount)
const StakeInfo = Schema.Struct({
  blockheight: Schema.Number,
  difficulty: Amount,
  totalsubsidy: Amount,
  ownmempooltix: Schema.Number,
  immature: Schema.Number,
  unspent: Schema.Number,
  voted: Schema.Number,
  revoked: Schema.Number,
  unspentexpired: Schema.Number,
  // dcrwallet leaves zero-valued ones out (and an SPV wallet all of these).
  poolsize: Count,
  allmempooltix: Count,
  live: Count,
  proportionlive: Ratio,
  missed: Count,
  proportionmissed: Ratio,
  expired: Count,
})
const TicketInfo = Schema.Array(
  Schema.Struct({
    hash: Schema.String,
    cost: Amount,
    status: Schema.String,
    blockheight: Schema.optional(Schema.Number),
    vote: Schema.optional(Schema.String),
    revocation: Schema.optional(Schema.String),
    vsphost: Schema.optional(Schema.String),
  }),
)
const Transaction = Schema.Struct({ hex: Schema.String, fee: Schema.optional(Amount), confirmations: Schema.Number })

const EXACT = new Set([
  "current",
  "next",
  "currentstakedifficulty",
  "nextstakedifficulty",
  "min",
  "max",
  "expected",
  "user",
  "difficulty",
  "totalsubsidy",
  "proportionlive",
  "proportionmissed",
  "cost",
  "fee",
])

// ---- the commands -------------------------------------------------------------------------

type Call = (method: string, params?: ReadonlyArray<unknown>) => Effect.Effect<unknown, StakeCommandFailed>

const prices = (call: Call) =>
  Effect.gen(function* () {
    const reply = yield* call("getstakedifficulty")
    const d = yield* decode("getstakedifficulty", StakeDifficulty, reply)
    const current = d.current ?? d.currentstakedifficulty
    const next = d.next ?? d.nextstakedifficulty
    if (current === undefined || next === undefined) return yield* decode("getstakedifficulty", Schema.Never, reply)
    return { tip: yield* toAtoms("getstakedifficulty", current, "current"), next: yield* toAtoms("getstakedifficulty", next, "next") }
  })

/**
 * A CLI argument as the JSON value `parsePurchaseTicket` reads: empty strings are not given
 * (the guide writes `""` for a default), whole numbers are numbers, the rest stays text so that
 * a bad value is refused by the name of its argument.
 */
const argValue = (arg: string): unknown => (arg === "" ? null : /^-?\d+$/.test(arg) ? Number(arg) : arg)

/**
 * Which `purchaseticket` form the arguments are in: the 2016 form's second argument is a spend
 * limit in DCR, its fourth a ticket address; the current form has whole numbers there and at
 * most five arguments. `default 23 1` reads as the current form (minconf 23), as dcrwallet 2.1
 * reads it; `--form 2016` says otherwise.
 */
const purchaseForm = (args: ReadonlyArray<string>, forced: string | undefined): "2016" | "current" => {
  if (forced === "2016" || forced === "current") return forced
  if (args.length > 5) return "2016"
  const second = args[1]
  if (second !== undefined && second !== "" && !/^\d+$/.test(second)) return "2016"
  const fourth = args[3]
  return fourth !== undefined && !/^\d+$/.test(fourth) && args.length > 4 ? "2016" : "current"
}

/**
 * The expiry as today's dcrwallet takes it: a height above the next block's, or none. The guide's
 * 2016 example passes 1, a height long past that dcrwallet refuses ("expiry height must be above
 * next block height"); in the 2016 form such an expiry is dropped with a note, so the example
 * buys; in today's form it is refused by name.
 */
const usableExpiry = (request: PurchaseTicketRequest, form: "2016" | "current", tipHeight: number, note: (text: string) => Effect.Effect<void>) =>
  Effect.gen(function* () {
    if (request.expiry === undefined || request.expiry > tipHeight + 1) return request
    if (form === "current") {
      return yield* Effect.fail(
        new StakeCommandFailed({
          message: `purchaseticket expiry ${request.expiry}: must be a height above the next block's (${tipHeight + 1}), or leave it out for none; nothing was bought`,
        }),
      )
    }
    yield* note(`purchaseticket: expiry ${request.expiry} is already past (the next block is ${tipHeight + 1}); sent without an expiry`)
    return { ...request, expiry: undefined }
  })

const purchaseticket = (cli: StakeCli, call: Call, note: (text: string) => Effect.Effect<void>) =>
  Effect.gen(function* () {
    const forced = cli.values.get("form")
    if (forced !== undefined && forced !== "2016" && forced !== "current") {
      return yield* Effect.fail(new StakeCommandFailed({ message: `--form ${forced}: use --form 2016 (fromaccount spendlimit ...) or --form current (fromaccount minconf ...)` }))
    }
    const form = purchaseForm(cli.args, forced)
    const parsed = parsePurchaseTicket(cli.args.map(argValue), form, cli.network)
    if (Result.isFailure(parsed)) return yield* Effect.fail(new StakeCommandFailed({ message: `purchaseticket ${parsed.failure.message} (${form} form); nothing was bought` }))
    const price = yield* prices(call)
    const current = toCurrentForm(parsed.success, price.next)
    if (Result.isFailure(current)) return yield* Effect.fail(new StakeCommandFailed({ message: `purchaseticket: ${current.failure.message}; nothing was bought` }))
    const tip = yield* decode("getbestblock", BestBlock, yield* call("getbestblock"))
    const request = yield* usableExpiry(current.success, form, tip.height, note)
    const hashes = yield* call(
      "purchaseticket",
      purchaseTicketParams(request).map((p) => new JsonLiteral(p)),
    )
    return (yield* decode("purchaseticket", Schema.Array(Schema.String), hashes)) as Out
  })

const getstakeinfo = (call: Call) =>
  Effect.gen(function* () {
    const r = yield* decode("getstakeinfo", StakeInfo, yield* call("getstakeinfo"))
    const live = r.live ?? 0
    const poolsize = r.poolsize ?? 0
    const missed = r.missed ?? 0
    const ratio = (given: string | number | undefined, n: number, d: number) => (given !== undefined ? new JsonLiteral(String(given)) : d === 0 ? 0 : n / d)
    return {
      blockheight: r.blockheight,
      poolsize,
      difficulty: new Atoms(yield* toAtoms("getstakeinfo", r.difficulty, "difficulty")),
      allmempooltix: r.allmempooltix ?? 0,
      ownmempooltix: r.ownmempooltix,
      immature: r.immature,
      unspent: r.unspent,
      voted: r.voted,
      revoked: r.revoked,
      unspentexpired: r.unspentexpired,
      live,
      proportionlive: ratio(r.proportionlive, live, poolsize),
      totalsubsidy: new Atoms(yield* toAtoms("getstakeinfo", r.totalsubsidy, "totalsubsidy")),
      missed,
      proportionmissed: ratio(r.proportionmissed, missed, r.voted + missed),
      expired: r.expired ?? 0,
    } satisfies Out
  })

/** The sum of a transaction's outputs, from the wallet's copy of it. */
const returnedBy = (call: Call, txid: string) =>
  Effect.gen(function* () {
    const tx = yield* decode("gettransaction", Transaction, yield* call("gettransaction", [txid]))
    const bytes = fromHex(tx.hex, "hex")
    const decoded = Result.isSuccess(bytes) ? decodeTx(bytes.success) : undefined
    if (decoded === undefined || Result.isFailure(decoded)) return yield* Effect.fail(new StakeCommandFailed({ message: `gettransaction ${txid}: the wallet's hex is no transaction` }))
    return { returned: decoded.success.outputs.reduce((sum, o) => sum + o.value, 0n), confirmations: tx.confirmations }
  })

/** vspd's ticketstatus answer (API v3), what a staker wants from it; an error is `{code, message}`. */
const VspTicketStatus = Schema.Struct({ ticketconfirmed: Schema.Boolean, feetxstatus: Schema.String, feetxhash: Schema.optional(Schema.String) })
const VspError = Schema.Struct({ code: Schema.Number, message: Schema.String })
const VSP_TIMEOUT = "10 seconds"

/**
 * What the ticket's voting service says about it: asked the way dcrwallet asks (`POST
 * /api/v3/ticketstatus`, the body signed by the ticket's commitment address through the wallet's
 * `signmessage`, so the wallet must be unlocked). With `--vsp.pubkey` the answer's
 * `VSP-Server-Signature` is checked as dcrwallet checks it. Never fails: a ticket the service
 * cannot be asked about says why, and the others are still listed.
 */
const vspStatusOf = (cli: StakeCli, call: Call, host: string, ticketHash: string, ticketHex: string): Effect.Effect<{ readonly [key: string]: Out }> =>
  Effect.gen(function* () {
    const ticket = parseTicket(ticketHex, cli.network)
    if (Result.isFailure(ticket)) return { feestatus: `unknown: the wallet's copy of the ticket does not read as one (${ticket.failure.message})` }
    const body = JSON.stringify({ tickethash: ticketHash })
    const signature = yield* decode("signmessage", Schema.String, yield* call("signmessage", [ticket.success.commitmentAddress, body]))
    const url = `${host.replace(/\/+$/, "")}/api/v3/ticketstatus`
    const reply = yield* Effect.tryPromise({
      try: (signal) =>
        fetch(url, { method: "POST", body, headers: { "Content-Type": "application/json", "VSP-Client-Signature": signature }, signal }).then(async (r) => ({
          status: r.status,
          bytes: new Uint8Array(await r.arrayBuffer()),
          signature: r.headers.get("VSP-Server-Signature"),
        })),
      catch: (cause) => new StakeCommandFailed({ message: `${url} did not answer: ${cause instanceof Error ? cause.message : String(cause)}` }),
    }).pipe(Effect.timeoutOrElse({ duration: VSP_TIMEOUT, orElse: () => Effect.fail(new StakeCommandFailed({ message: `${url} did not answer in ${VSP_TIMEOUT}` })) }))
    const pubkey = cli.values.get("vsp.pubkey")
    if (pubkey !== undefined && (reply.signature === null || !verifyResponse(pubkey, reply.bytes, reply.signature))) {
      return { feestatus: `unknown: the answer from ${host} is not signed by --vsp.pubkey (a wrong key, or not that voting service)` }
    }
    const json = yield* Effect.try({
      try: () => JSON.parse(new TextDecoder().decode(reply.bytes)) as unknown,
      catch: () => new StakeCommandFailed({ message: `${url} answered ${reply.status} with no JSON` }),
    })
    if (reply.status !== 200) {
      const refused = Schema.decodeUnknownResult(VspError)(json)
      return { feestatus: `unknown: ${host} refused (HTTP ${reply.status}${Result.isSuccess(refused) ? `, code ${refused.success.code}: ${refused.success.message}` : ""})` }
    }
    const status = yield* decode("ticketstatus", VspTicketStatus, json)
    return { feestatus: status.feetxstatus, feetxhash: status.feetxhash ?? null, vspticketconfirmed: status.ticketconfirmed, vspverified: pubkey !== undefined }
  }).pipe(Effect.catch((e: StakeCommandFailed) => Effect.succeed({ feestatus: `unknown: ${e.message}` })))

/**
 * `tickets` with the wallet's transactions where it has them: a wallet that keeps no
 * transactions (the simulated one answers -32601 to gettransaction) or has lost one (-5) still
 * lists every ticket, its fee, returns and service left null.
 */
const tickets = (cli: StakeCli, call: Call, callIfKnown: Call) =>
  Effect.gen(function* () {
    const tip = yield* decode("getbestblock", BestBlock, yield* call("getbestblock"))
    const infos = yield* decode("ticketinfo", TicketInfo, yield* call("ticketinfo", [0]))
    const out: Array<Out> = []
    for (const t of infos) {
      const purchaseReply = yield* callIfKnown("gettransaction", [t.hash])
      const purchase = purchaseReply === undefined ? undefined : yield* decode("gettransaction", Transaction, purchaseReply)
      const spender = t.vote ?? t.revocation
      const spent = spender === undefined || purchase === undefined ? undefined : yield* returnedBy(call, spender)
      out.push({
        hash: t.hash,
        status: t.status,
        price: new Atoms(yield* toAtoms("ticketinfo", t.cost, "cost")),
        // gettransaction reports the fee paid as a negative amount.
        fee: purchase?.fee === undefined ? null : new Atoms(yield* toAtoms("gettransaction", String(purchase.fee).replace(/^-/, ""), "fee")),
        purchaseheight: t.blockheight !== undefined && t.blockheight > 0 ? t.blockheight : null,
        vote: t.vote,
        revocation: t.revocation,
        spentheight: spent === undefined || spent.confirmations === 0 ? null : tip.height - spent.confirmations + 1,
        returned: spent === undefined ? null : new Atoms(spent.returned),
        // Who votes it: the voting service it is registered with, or null for the wallet itself.
        vsp: t.vsphost ?? null,
        ...(t.vsphost === undefined ? {} : purchase === undefined ? { feestatus: "unknown: the wallet has no copy of the ticket" } : yield* vspStatusOf(cli, call, t.vsphost, t.hash, purchase.hex)),
      })
    }
    return out as Out
  })

/** The next window's price band from dcrd (through the wallet), and where the window stands. */
const estimate = (cli: StakeCli, call: Call, count: number | undefined) =>
  Effect.gen(function* () {
    const tip = yield* decode("getbestblock", BestBlock, yield* call("getbestblock"))
    const e = yield* decode("estimatestakediff", Estimate, yield* call("estimatestakediff", count === undefined ? [] : [count]))
    const window = cli.network.stakeDiffWindowSize
    const nextWindowStartsAt = (Math.floor(tip.height / window) + 1) * window
    return {
      min: new Atoms(yield* toAtoms("estimatestakediff", e.min, "min")),
      expected: new Atoms(yield* toAtoms("estimatestakediff", e.expected, "expected")),
      max: new Atoms(yield* toAtoms("estimatestakediff", e.max, "max")),
      user: e.user === undefined ? undefined : new Atoms(yield* toAtoms("estimatestakediff", e.user, "user")),
      height: tip.height,
      // Blocks still mined at today's price: the window's next price applies from nextwindowstartsat.
      blocksleftinwindow: nextWindowStartsAt - tip.height - 1,
      nextwindowstartsat: nextWindowStartsAt,
    } satisfies Out
  })

const AGENDAS = { mainnet: MAINNET_AGENDAS, testnet3: TESTNET3_AGENDAS, simnet: SIMNET_AGENDAS } as const

const stakestats = (cli: StakeCli, call: Call) =>
  Effect.gen(function* () {
    const params = cli.network
    const price = yield* prices(call)
    const band = yield* estimate(cli, call, undefined)
    const info = yield* decode("getstakeinfo", StakeInfo, yield* call("getstakeinfo"))
    const agendas = params.name === "regnet" ? SIMNET_AGENDAS : AGENDAS[params.name]
    // One vote's share of the next block's PoS subsidy (the next block votes on the tip).
    const perVote = voteSubsidy(params, band.height, subsidySplitAt(chainActivations(agendas), band.height + 1))
    const missed = info.missed ?? 0
    return {
      price: new Atoms(price.next),
      nextwindow: { min: band.min, expected: band.expected, max: band.max, startsat: band.nextwindowstartsat, blocksleft: band.blocksleftinwindow },
      poolsize: info.poolsize ?? 0,
      pooltarget: params.ticketPoolSize * params.ticketsPerBlock,
      proportionmissed: info.voted + missed === 0 ? 0 : missed / (info.voted + missed),
      meanvotingblocks: meanVotingBlocks(params),
      medianvotingblocks: medianVotingBlocks(params),
      expirychancepercent: Number((expiryChance(params) * 100).toFixed(3)),
      rewardperiodblocks: rewardPeriodBlocks(params),
      rewardperiodseconds: rewardPeriodSeconds(params),
      rewardperioddays: Number((rewardPeriodSeconds(params) / 86_400).toFixed(2)),
      votesubsidy: new Atoms(perVote),
      ticketrewardpercent: Number(ticketRewardPercent(perVote, price.next).toFixed(2)),
    } satisfies Out
  })

/** A whole number argument (a count): refused by its name when it is anything else. */
const countArg = (value: string | undefined, name: string): Effect.Effect<number | undefined, StakeCommandFailed> =>
  value === undefined
    ? Effect.succeed(undefined)
    : /^\d+$/.test(value) && Number(value) >= 1
      ? Effect.succeed(Number(value))
      : Effect.fail(new StakeCommandFailed({ message: `${name} must be a whole number of at least 1, got "${value}"` }))

/** An amount option in DCR: refused by its name when negative or not a number. */
const dcrOption = (cli: StakeCli, names: ReadonlyArray<string>): Effect.Effect<bigint | undefined, StakeCommandFailed> => {
  for (const name of names) {
    const value = cli.values.get(name)
    if (value === undefined) continue
    const r = parseDcr(value, name)
    return Result.isSuccess(r) ? Effect.succeed(r.success) : Effect.fail(new StakeCommandFailed({ message: `--${name}: ${r.failure.message} (an amount in DCR, e.g. 10.5)` }))
  }
  return Effect.succeed(undefined)
}

const autobuy = (cli: StakeCli, rpc: JsonRpcCall, print: (line: string) => Effect.Effect<void>) =>
  Effect.gen(function* () {
    const enabled = cli.values.get("enablestakemining")
    if (!cli.dryrun && (enabled === undefined || enabled === "0" || enabled.toLowerCase() === "false")) {
      return yield* Effect.fail(
        new StakeCommandFailed({ message: "the auto-buyer buys only with enablestakemining=1 (--enablestakemining or in the config file); or try --dryrun to see what it would buy" }),
      )
    }
    const balanceToMaintain = (yield* dcrOption(cli, ["ticketbuyer.balancetomaintainabsolute", "balancetomaintain"])) ?? 0n
    const maxPrice = yield* dcrOption(cli, ["ticketmaxprice"])
    const limit = (yield* countArg(cli.values.get("ticketbuyer.limit"), "--ticketbuyer.limit")) ?? 1
    const expiryBlocks = yield* countArg(cli.values.get("ticketbuyer.expiry"), "--ticketbuyer.expiry")
    const pollSeconds = (yield* countArg(cli.values.get("pollseconds"), "--pollseconds")) ?? 1
    yield* print(
      `auto-buyer on ${cli.network.name}: keeping ${atomsToDcr(balanceToMaintain)} DCR, ${maxPrice === undefined ? "any price" : `at most ${atomsToDcr(maxPrice)} DCR a ticket`}, up to ${limit} a block${cli.dryrun ? ", --dryrun: buying nothing" : ""}`,
    )
    yield* runAutobuy(
      {
        network: cli.network,
        account: cli.values.get("purchaseaccount") ?? "default",
        buyer: { balanceToMaintain, maxPrice, limitPerBlock: limit, expiryBlocks },
        dryrun: cli.dryrun,
        pollMillis: pollSeconds * 1000,
      },
      rpcAutobuyWallet(rpc),
      print,
    )
  })

const STAKE_COMMANDS = ["purchaseticket", "getstakeinfo", "tickets", "estimatestakediff", "stakestats", "autobuy"] as const

/** Runs one command against the wallet behind `rpc`; what it prints goes to `print`, notes beside the output to `note`. */
export const runStakeCommand = (
  cli: StakeCli,
  rpc: JsonRpcCall,
  print: (text: string) => Effect.Effect<void>,
  note: (text: string) => Effect.Effect<void> = print,
): Effect.Effect<void, StakeCommandFailed | StakeCliError> => {
  const call: Call = (method, params = []) => Effect.mapError(rpc(method, params, EXACT), (e) => explain(e, cli.sim))
  // dcrjson's ErrRPCMethodNotFound and ErrRPCNoTxInfo: the wallet has no such method, or no such transaction.
  const callIfKnown: Call = (method, params = []) =>
    rpc(method, params, EXACT).pipe(
      Effect.catchIf(
        (e) => e._tag === "JsonRpcRefused" && (e.code === -32601 || e.code === -5),
        () => Effect.succeed(undefined),
      ),
      Effect.mapError((e) => explain(e, cli.sim)),
    )
  const json = (value: Effect.Effect<Out, StakeCommandFailed>) => Effect.flatMap(value, (v) => print(printJson(v, cli.atoms)))
  switch (cli.command) {
    case "purchaseticket":
      return json(purchaseticket(cli, call, note))
    case "getstakeinfo":
      return json(getstakeinfo(call))
    case "tickets":
      return json(tickets(cli, call, callIfKnown))
    case "estimatestakediff":
      return json(Effect.flatMap(countArg(cli.args[0], "numtickets"), (n) => estimate(cli, call, n)))
    case "stakestats":
      return json(stakestats(cli, call))
    case "autobuy":
      return Effect.mapError(autobuy(cli, rpc, print), (e) => explain(e, cli.sim))
    default:
      return Effect.fail(new StakeCliError({ message: `unknown command ${cli.command ?? "(none)"}: use one of ${STAKE_COMMANDS.join(", ")}` }))
  }
}
