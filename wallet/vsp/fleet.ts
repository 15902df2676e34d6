import { Effect, Layer, Result, Schema } from "effect"
import { jsonRpcClient, type JsonRpcCall, type JsonRpcEndpoint, type JsonRpcFailure } from "../json-rpc.ts"
import { VotingFleet, VotingWalletUnavailable, type FleetRepair, type VotableTicket, type VotingWalletStatus } from "./fleet-port.ts"

// The voting service's voting wallets over their JSON-RPC: unmodified dcrwallets started with
// `--enablevoting --manualtickets`, each with its own dcrd. The writes are the ones vspd makes
// (rpc/dcrwallet.go, internal/vspd/walletconsistency.go): `importprivkey` without a rescan,
// `addtransaction` under the block that mined the ticket, `setvotechoice`; and, which vspd
// leaves as a TODO, the treasury and tspend policies, read back with `treasurypolicy` and
// `tspendpolicy` and set again when they drifted. One code path does every write
// (`ensureTickets`): adding a ticket, updating its choices and the per-block consistency check
// all make a wallet hold the tickets with their choices, writing only what is missing or different.
//
// The reads are not vspd's. vspd reads a wallet with `ticketinfo`, which dcrwallet 2.1.5
// (internal/rpc/jsonrpc/methods.go, ticketInfo) answers from inside one database read,
// `w.GetTickets`'s, by opening two more per ticket (`w.AgendaChoices`, `w.VSPHostForTicket`).
// Nested read transactions deadlock bbolt when a writer is waiting to grow the file between
// them: the wallet hangs for good, and a hung voting wallet misses every vote. vspd runs that
// check every 30 minutes; this fleet runs it on every block, so it never calls `ticketinfo`:
// - `gettickets true` (wallet/tickets.go LiveTicketHashes: one read over the tickets bucket,
//   then dcrd's `existslivetickets`) says which tickets the wallet holds, immature and live,
//   including those given with `addtransaction` (every ticket purchase recorded goes into that
//   bucket). Membership is checked on every block, so a wallet restarted empty has every ticket
//   back within one block. A ticket no longer live for the wallet's dcrd (just voted, say) is
//   missing from it and sent again until the service drops it: dcrwallet takes a key it has and
//   a transaction it recorded without complaint.
// - `getvotechoices <ticket>` (w.AgendaChoices: one read) gives one held ticket's choices. To
//   bound a block's cost on a service with thousands of tickets, a pass reads back the choices
//   and policies of at most `choiceChecksPerPass` held tickets per wallet, rotating through them
//   in hash order, so each is checked within ceil(held / choiceChecksPerPass) blocks; a ticket
//   added or updated gets every choice written then, not at its turn.
// - `treasurypolicy` and `tspendpolicy <hash> <ticket>` read maps in memory under a mutex
//   (w.TreasuryKeyPolicies, w.TSpendPolicy), no database at all: they stay, for the same tickets.

/** One voting wallet as the fleet calls it. */
export interface VotingWalletConnection {
  /** How operators know it (its host, say): in statuses, repairs and errors. */
  readonly name: string
  readonly call: JsonRpcCall
}

/** One voting wallet's JSON-RPC: url, RPC user and password, rpc.cert, and how long one call may take. */
interface VotingWalletEndpoint extends JsonRpcEndpoint {
  readonly name: string
}

interface VotingFleetOptions {
  /** How long one wallet's part of a pass may take before it counts as unreachable this time. */
  readonly walletTimeoutMillis: number
  /** At most how many held tickets' choices and policies a consistency pass reads back per wallet (see above); 100 unless set. */
  readonly choiceChecksPerPass?: number
}

/**
 * 100 `getvotechoices` a block: a few hundred milliseconds of short reads per wallet, and with
 * 5-minute blocks a service with 6,000 tickets has every one checked in 5 hours.
 */
const CHOICE_CHECKS_PER_PASS = 100

// ---- replies, as dcrwallet's rpc/jsonrpc/types spell them ----------------------------------

const WalletInfoReply = Schema.Struct({
  daemonconnected: Schema.Boolean,
  unlocked: Schema.Boolean,
  voting: Schema.Boolean,
  voteversion: Schema.Number,
})
const BestBlockReply = Schema.Struct({ hash: Schema.String, height: Schema.Number })
/** `gettickets true`: the immature and live tickets the wallet holds (never null from dcrwallet; tolerated). */
const GetTicketsReply = Schema.Struct({ hashes: Schema.NullOr(Schema.Array(Schema.String)) })
/**
 * `getvotechoices <ticket>`: every agenda of the wallet's vote version with the ticket's choice,
 * "abstain" (or the wallet's default) where none was set. Descriptions are not read.
 */
const VoteChoicesReply = Schema.Struct({ version: Schema.Number, choices: Schema.Array(Schema.Struct({ agendaid: Schema.String, choiceid: Schema.String })) })
/** `treasurypolicy` without a key: every policy, the per-ticket ones with their ticket. An abstain reads as "". */
const TreasuryPoliciesReply = Schema.Array(Schema.Struct({ key: Schema.String, policy: Schema.String, ticket: Schema.optional(Schema.String) }))
/** `tspendpolicy <hash> <ticket>`: the policy the ticket votes on that spend with. */
const TSpendPolicyReply = Schema.Struct({ hash: Schema.String, policy: Schema.String })

/** dcrwallet's label for imported keys: `importprivkey` refuses any other (it names the account). */
const IMPORTED_ACCOUNT = "imported"

/** What a wallet's pass over some tickets did, and which tickets it could not give it. */
interface WalletPass {
  readonly added: number
  readonly choicesFixed: number
  /** Hashes of the tickets the wallet refused, with why (the first reason only). */
  readonly refused: ReadonlyArray<string>
  readonly firstRefusal?: string
}

/** A policy as the wallet reports it: "" (never set, or set to abstain) is abstain. */
const policyOf = (reported: string | undefined): string => (reported === undefined || reported === "" ? "abstain" : reported)

/**
 * The fleet over `wallets`: every operation asks them all at once, each within the timeout, and
 * one that cannot be reached is reported, never stops the others.
 */
export const makeVotingFleet = (wallets: ReadonlyArray<VotingWalletConnection>, options: VotingFleetOptions): VotingFleet["Service"] => {
  const decode = <A>(wallet: string, method: string, schema: Schema.Codec<A, unknown>, value: unknown): Effect.Effect<A, VotingWalletUnavailable> => {
    const decoded = Schema.decodeUnknownResult(schema)(value)
    return Result.isSuccess(decoded)
      ? Effect.succeed(decoded.success)
      : Effect.fail(new VotingWalletUnavailable({ wallet, operation: method, reason: `unexpected reply: ${JSON.stringify(value)?.slice(0, 200)}` }))
  }
  // The failure's own reason, not its message: VotingWalletUnavailable says what to check itself.
  const asUnavailable = (wallet: string, method: string) => (failure: JsonRpcFailure) =>
    new VotingWalletUnavailable({ wallet, operation: method, reason: failure._tag === "JsonRpcRefused" ? `refused (code ${failure.code}): ${failure.reason}` : failure.reason })

  /** One call whose failure is the wallet's: a refusal of one ticket is told apart by the caller. */
  const ask = (w: VotingWalletConnection, method: string, params: ReadonlyArray<unknown> = []) => w.call(method, params)

  const choiceChecksPerPass = Math.max(1, options.choiceChecksPerPass ?? CHOICE_CHECKS_PER_PASS)
  /** Per wallet: the hash of the last held ticket whose choices a consistency pass read back; the next pass goes on after it. */
  const checkedUpTo = new Map<VotingWalletConnection, string>()

  /**
   * The next `choiceChecksPerPass` of `held` (hash order) after where the wallet's last
   * completed pass stopped, wrapping around: each held ticket is checked within
   * ceil(held / choiceChecksPerPass) passes whatever is added or dropped in between.
   */
  const nextTurn = (w: VotingWalletConnection, held: ReadonlyArray<VotableTicket>): ReadonlyArray<VotableTicket> => {
    if (held.length <= choiceChecksPerPass) return held
    const sorted = [...held].sort((x, y) => (x.hash < y.hash ? -1 : x.hash > y.hash ? 1 : 0))
    const after = checkedUpTo.get(w)
    const start = after === undefined ? 0 : sorted.findIndex((t) => t.hash > after)
    const from = start === -1 ? 0 : start
    return Array.from({ length: choiceChecksPerPass }, (_, i) => sorted[(from + i) % sorted.length]!)
  }

  /**
   * Makes `w` hold `tickets` with their choices: `gettickets true` says which it holds; a
   * missing ticket gets its key and transaction, then every choice; a held one has its choices
   * (`getvotechoices`) and policies read back and only those that differ set again: every held
   * one (`check: "every"`, adding or updating a ticket) or this pass's turn of them (`"turn"`,
   * the consistency check). A wallet that cannot be asked fails the pass; one refusing a
   * ticket fails that ticket only.
   */
  const ensureTickets = (w: VotingWalletConnection, tickets: ReadonlyArray<VotableTicket>, check: "every" | "turn"): Effect.Effect<WalletPass, VotingWalletUnavailable> =>
    Effect.gen(function* () {
      if (tickets.length === 0) return { added: 0, choicesFixed: 0, refused: [] }
      const reply = yield* ask(w, "gettickets", [true]).pipe(
        Effect.mapError(asUnavailable(w.name, "gettickets")),
        Effect.flatMap((r) => decode(w.name, "gettickets", GetTicketsReply, r)),
      )
      const held = new Set(reply.hashes ?? [])
      const heldTickets = tickets.filter((t) => held.has(t.hash))
      const checked = check === "every" ? heldTickets : nextTurn(w, heldTickets)
      const toCheck = new Set(checked.map((t) => t.hash))
      const treasury = new Map<string, string>()
      if (checked.some((t) => Object.keys(t.treasuryPolicy).length > 0)) {
        const policies = yield* ask(w, "treasurypolicy").pipe(
          Effect.mapError(asUnavailable(w.name, "treasurypolicy")),
          Effect.flatMap((r) => decode(w.name, "treasurypolicy", TreasuryPoliciesReply, r)),
        )
        for (const p of policies) if (p.ticket !== undefined) treasury.set(`${p.ticket}/${p.key}`, p.policy)
      }

      let added = 0
      let choicesFixed = 0
      const refused: Array<string> = []
      let firstRefusal: string | undefined
      for (const ticket of tickets) {
        const state = !held.has(ticket.hash) ? "missing" : toCheck.has(ticket.hash) ? "check" : "skip"
        if (state === "skip") continue
        const outcome = yield* ensureTicket(w, ticket, state, treasury).pipe(Effect.result)
        if (Result.isSuccess(outcome)) {
          if (outcome.success === "added") added++
          if (outcome.success === "fixed") choicesFixed++
          continue
        }
        // A wallet gone mid-pass fails the pass; a refusal of this ticket is reported and the rest go on.
        if (outcome.failure._tag === "JsonRpcUnavailable") return yield* Effect.fail(asUnavailable(w.name, "a ticket's calls")(outcome.failure))
        refused.push(ticket.hash)
        const why = outcome.failure._tag === "JsonRpcRefused" ? `${outcome.failure.method} refused (code ${outcome.failure.code}): ${outcome.failure.reason}` : outcome.failure.reason
        firstRefusal ??= `ticket ${ticket.hash}: ${why}`
      }
      // Only a completed pass moves the turn on: one cut short checks the same tickets next block.
      if (check === "turn" && checked.length > 0) checkedUpTo.set(w, checked[checked.length - 1]!.hash)
      return firstRefusal === undefined ? { added, choicesFixed, refused } : { added, choicesFixed, refused, firstRefusal }
    })

  /** One ticket on one wallet: added (key, transaction, every choice), fixed (some choices set again), or already right. */
  const ensureTicket = (
    w: VotingWalletConnection,
    ticket: VotableTicket,
    state: "missing" | "check",
    treasury: ReadonlyMap<string, string>,
  ): Effect.Effect<"added" | "fixed" | "consistent", JsonRpcFailure | VotingWalletUnavailable> =>
    Effect.gen(function* () {
      if (state === "missing") {
        // No rescan: the ticket is unspent, so there is nothing of it in older blocks to find.
        yield* ask(w, "importprivkey", [ticket.votingKeyWif, IMPORTED_ACCOUNT, false, 0])
        yield* ask(w, "addtransaction", [ticket.blockHash, ticket.ticketHex])
        for (const [agenda, choice] of Object.entries(ticket.voteChoices)) yield* ask(w, "setvotechoice", [agenda, choice, ticket.hash])
        for (const [key, policy] of Object.entries(ticket.treasuryPolicy)) yield* ask(w, "settreasurypolicy", [key, policy, ticket.hash])
        for (const [hash, policy] of Object.entries(ticket.tspendPolicy)) yield* ask(w, "settspendpolicy", [hash, policy, ticket.hash])
        return "added"
      }
      let drifted = false
      if (Object.keys(ticket.voteChoices).length > 0) {
        const reply = yield* Effect.flatMap(ask(w, "getvotechoices", [ticket.hash]), (r) => decode(w.name, "getvotechoices", VoteChoicesReply, r))
        const heldChoices = new Map(reply.choices.map((c) => [c.agendaid, c.choiceid]))
        for (const [agenda, choice] of Object.entries(ticket.voteChoices)) {
          if (heldChoices.get(agenda) === choice) continue
          drifted = true
          yield* ask(w, "setvotechoice", [agenda, choice, ticket.hash])
        }
      }
      for (const [key, policy] of Object.entries(ticket.treasuryPolicy)) {
        if (policyOf(treasury.get(`${ticket.hash}/${key}`)) === policyOf(policy)) continue
        drifted = true
        yield* ask(w, "settreasurypolicy", [key, policy, ticket.hash])
      }
      for (const [hash, policy] of Object.entries(ticket.tspendPolicy)) {
        const held = yield* Effect.flatMap(ask(w, "tspendpolicy", [hash, ticket.hash]), (r) => decode(w.name, "tspendpolicy", TSpendPolicyReply, r))
        if (policyOf(held.policy) === policyOf(policy)) continue
        drifted = true
        yield* ask(w, "settspendpolicy", [hash, policy, ticket.hash])
      }
      return drifted ? "fixed" : "consistent"
    })

  /** `ensureTickets` within the wallet's time. */
  const passOn = (w: VotingWalletConnection, tickets: ReadonlyArray<VotableTicket>, check: "every" | "turn") =>
    ensureTickets(w, tickets, check).pipe(
      Effect.timeoutOrElse({
        duration: options.walletTimeoutMillis,
        orElse: () => Effect.fail(new VotingWalletUnavailable({ wallet: w.name, operation: "the consistency check", reason: `no answer in ${options.walletTimeoutMillis} ms` })),
      }),
    )

  const everyWallet = <A>(f: (w: VotingWalletConnection) => Effect.Effect<A>) => Effect.forEach(wallets, f, { concurrency: "unbounded" })

  const reconcile = (tickets: ReadonlyArray<VotableTicket>): Effect.Effect<ReadonlyArray<FleetRepair>> =>
    everyWallet((w) =>
      passOn(w, tickets, "turn").pipe(
        Effect.map((pass): FleetRepair => {
          const base = { wallet: w.name, added: pass.added, choicesFixed: pass.choicesFixed }
          return pass.firstRefusal === undefined ? base : { ...base, error: `${pass.refused.length} ticket(s) refused; ${pass.firstRefusal}` }
        }),
        Effect.catch((e) => Effect.succeed<FleetRepair>({ wallet: w.name, added: 0, choicesFixed: 0, error: e.message })),
      ),
    )

  /** The one-ticket pass on every wallet; fails only when no wallet took it. */
  const onEveryWallet = (operation: string) => (ticket: VotableTicket) =>
    Effect.gen(function* () {
      const outcomes = yield* everyWallet((w) =>
        passOn(w, [ticket], "every").pipe(
          Effect.map((pass) => (pass.firstRefusal === undefined ? undefined : `${w.name}: ${pass.firstRefusal}`)),
          Effect.catch((e) => Effect.succeed(e.message)),
        ),
      )
      if (outcomes.some((failure) => failure === undefined)) return
      return yield* Effect.fail(
        new VotingWalletUnavailable({ wallet: wallets.map((w) => w.name).join(", ") || "(none configured)", operation, reason: outcomes.join("; ") || "no voting wallet is configured" }),
      )
    })

  const statusOf = (w: VotingWalletConnection): Effect.Effect<VotingWalletStatus> =>
    Effect.gen(function* () {
      const info = yield* ask(w, "walletinfo").pipe(
        Effect.mapError(asUnavailable(w.name, "walletinfo")),
        Effect.flatMap((r) => decode(w.name, "walletinfo", WalletInfoReply, r)),
      )
      const best = yield* ask(w, "getbestblock").pipe(
        Effect.mapError(asUnavailable(w.name, "getbestblock")),
        Effect.flatMap((r) => decode(w.name, "getbestblock", BestBlockReply, r)),
      )
      // Connected: the wallet answered and its own dcrd is connected (it can see blocks to vote on).
      return { name: w.name, connected: info.daemonconnected, unlocked: info.unlocked, voting: info.voting, voteVersion: info.voteversion, bestBlockHeight: best.height }
    }).pipe(
      Effect.timeoutOrElse({
        duration: options.walletTimeoutMillis,
        orElse: () => Effect.fail(new VotingWalletUnavailable({ wallet: w.name, operation: "walletinfo", reason: `no answer in ${options.walletTimeoutMillis} ms` })),
      }),
      Effect.catch((e) => Effect.succeed({ name: w.name, connected: false, unlocked: false, voting: false, voteVersion: 0, bestBlockHeight: 0, error: e.message })),
    )

  return VotingFleet.of({
    status: everyWallet(statusOf),
    addTicket: onEveryWallet("addtransaction"),
    updateChoices: onEveryWallet("setvotechoice"),
    reconcile,
  })
}

/** The live fleet: one JSON-RPC client per voting wallet, each trusting only its certificate; connections close with the layer. */
export const votingFleetLayer = (wallets: ReadonlyArray<VotingWalletEndpoint>, options: VotingFleetOptions): Layer.Layer<VotingFleet> =>
  Layer.effect(
    VotingFleet,
    Effect.map(
      Effect.forEach(wallets, (w) => Effect.map(jsonRpcClient(w, { server: `voting wallet ${w.name}` }), (call): VotingWalletConnection => ({ name: w.name, call }))),
      (connections) => makeVotingFleet(connections, options),
    ),
  )
