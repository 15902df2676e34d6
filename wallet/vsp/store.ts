import { Context, Data, Effect, Layer, Result, Schema, SchemaTransformation } from "effect"
import * as Migrator from "effect/sql/Migrator"
import * as SqlClient from "effect/sql/SqlClient"
import type { SqlError } from "effect/sql/SqlError"
import { FeeTxStatus } from "./api-types.ts"

/**
 * The voting service's state: its own tables (`vsp_*`) through Effect's `SqlClient`, so it runs
 * on the embedded store or a Postgres server, whichever layer the entry point gives it (the
 * pool's: pool/store/pglite.ts, @effect/sql-pg). Its migrations are numbered and append-only,
 * recorded in their own table so they never mix with the pool's.
 *
 * Crash safety lives in the queries: every state change is a guarded UPDATE (`WHERE
 * fee_tx_status IN (...)` RETURNING), so a second `payfee` racing the first, or a restarted
 * service replaying a block, changes nothing twice; a fee address index is taken by an UPDATE
 * in the same transaction as the ticket that gets it, so no index is ever handed out twice.
 */

const initial = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`CREATE TABLE vsp_meta (key text PRIMARY KEY, value text NOT NULL)`
  // The extended public keys fees are paid to; the newest is current. last_index is the last
  // index handed out, 0 before the first (vspd's lastUsed: index 0 is never handed out), never
  // decremented.
  yield* sql`CREATE TABLE vsp_fee_xpubs (
    id int4 PRIMARY KEY,
    xpub text NOT NULL UNIQUE,
    last_index int8 NOT NULL DEFAULT 0,
    created_ms int8 NOT NULL
  )`
  // One row per ticket the service quoted a fee for. Fee states as vspd's: none (quoted) ->
  // received (payfee accepted) -> broadcast -> confirmed; error when dcrd refused the fee tx
  // (payfee may then be sent again). outcome is set once the ticket is spent or expires.
  yield* sql`CREATE TABLE vsp_tickets (
    hash text PRIMARY KEY,
    ticket_hex text NOT NULL,
    commitment_address text NOT NULL,
    confirmed boolean NOT NULL DEFAULT false,
    purchase_height int4,
    purchase_block_hash text,
    fee_xpub_id int4 NOT NULL REFERENCES vsp_fee_xpubs (id),
    fee_address_index int8 NOT NULL,
    fee_address text NOT NULL UNIQUE,
    fee_amount int8 NOT NULL CHECK (fee_amount >= 0),
    fee_expiry_ms int8 NOT NULL,
    fee_tx_status text NOT NULL CHECK (fee_tx_status IN ('none', 'received', 'broadcast', 'confirmed', 'error')),
    fee_tx_hash text,
    fee_tx_hex text,
    fee_paid int8,
    voting_wif text,
    vote_choices text NOT NULL DEFAULT '{}',
    tspend_policy text NOT NULL DEFAULT '{}',
    treasury_policy text NOT NULL DEFAULT '{}',
    outcome text CHECK (outcome IN ('voted', 'missed', 'expired')),
    outcome_height int4,
    created_ms int8 NOT NULL,
    updated_ms int8 NOT NULL,
    UNIQUE (fee_xpub_id, fee_address_index)
  )`
  yield* sql`CREATE INDEX vsp_tickets_by_state ON vsp_tickets (fee_tx_status, outcome)`
  // Every accepted payfee / setvotechoices: the signed request and the signed response, as
  // vspd keeps them (two-way accountability), and the request's timestamp for the replay check.
  yield* sql`CREATE TABLE vsp_vote_changes (
    seq bigserial PRIMARY KEY,
    ticket_hash text NOT NULL REFERENCES vsp_tickets (hash) ON DELETE CASCADE,
    request_timestamp int8 NOT NULL,
    request text NOT NULL,
    request_signature text NOT NULL,
    response text NOT NULL,
    response_signature text NOT NULL,
    created_ms int8 NOT NULL
  )`
  yield* sql`CREATE INDEX vsp_vote_changes_by_ticket ON vsp_vote_changes (ticket_hash, seq)`
  // setaltsignaddr: at most one per ticket, kept with its signed request and response. The
  // ticket may not be quoted yet, so no foreign key.
  yield* sql`CREATE TABLE vsp_alt_sign_addrs (
    ticket_hash text PRIMARY KEY,
    address text NOT NULL,
    request text NOT NULL,
    request_signature text NOT NULL,
    response text NOT NULL,
    response_signature text NOT NULL,
    created_ms int8 NOT NULL
  )`
})

const migrations = Migrator.fromRecord({ "0001_vsp_initial": initial })

/** Brings the voting service's tables to the newest schema; safe to run from several processes at once. */
export const migrateVsp = Migrator.make({})({ loader: migrations, table: "dcrforge_vsp_migrations" })

// ---- columns ----------------------------------------------------------------------------------

/** int4/int8 as the drivers give them (a number, a bigint, or a decimal string), read exactly. */
const DriverInteger = Schema.Union([Schema.BigInt, Schema.Int, Schema.String.check(Schema.isStringBigInt())])
const AtomsColumn = DriverInteger.pipe(Schema.decodeTo(Schema.BigInt, SchemaTransformation.transform({ decode: (v) => (typeof v === "bigint" ? v : BigInt(v)), encode: (v) => v.toString() })))
const IntColumn = DriverInteger.pipe(Schema.decodeTo(Schema.Int, SchemaTransformation.transform({ decode: (v) => Number(v), encode: (v) => v })))
const Nullable = <T, E>(column: Schema.Codec<T, E>) =>
  Schema.NullOr(column).pipe(
    Schema.decodeTo(Schema.UndefinedOr(Schema.toType(column)), SchemaTransformation.transform<T | undefined, T | null>({ decode: (v) => v ?? undefined, encode: (v) => v ?? null })),
  )
const ChoicesColumn = Schema.fromJsonString(Schema.Record(Schema.String, Schema.String))
const Outcome = Schema.Literals(["voted", "missed", "expired"])
export type TicketOutcome = typeof Outcome.Type

export const VspTicket = Schema.Struct({
  hash: Schema.String,
  ticket_hex: Schema.String,
  commitment_address: Schema.String,
  confirmed: Schema.Boolean,
  purchase_height: Nullable(IntColumn),
  purchase_block_hash: Nullable(Schema.String),
  fee_xpub_id: IntColumn,
  fee_address_index: IntColumn,
  fee_address: Schema.String,
  fee_amount: AtomsColumn,
  fee_expiry_ms: IntColumn,
  fee_tx_status: FeeTxStatus,
  fee_tx_hash: Nullable(Schema.String),
  fee_tx_hex: Nullable(Schema.String),
  fee_paid: Nullable(AtomsColumn),
  voting_wif: Nullable(Schema.String),
  vote_choices: ChoicesColumn,
  tspend_policy: ChoicesColumn,
  treasury_policy: ChoicesColumn,
  outcome: Nullable(Outcome),
  outcome_height: Nullable(IntColumn),
  created_ms: IntColumn,
  updated_ms: IntColumn,
})
export type VspTicket = typeof VspTicket.Type
const TICKET_COLUMNS = Object.keys(VspTicket.fields).join(", ")

const AltSignAddr = Schema.Struct({ ticket_hash: Schema.String, address: Schema.String, request: Schema.String, created_ms: IntColumn })
export type AltSignAddr = typeof AltSignAddr.Type
const VoteChange = Schema.Struct({ seq: IntColumn, request_timestamp: IntColumn, request: Schema.String, created_ms: IntColumn })
const FeeXpub = Schema.Struct({ id: IntColumn, xpub: Schema.String, last_index: IntColumn })
const Count = Schema.Struct({ n: IntColumn })
const Sum = Schema.Struct({ s: Nullable(AtomsColumn) })
const StatusCount = Schema.Struct({ state: Schema.String, n: IntColumn })

/** A row the database returned that these tables cannot hold: another schema or another writer. */
class VspStoreRowInvalid extends Data.TaggedError("VspStoreRowInvalid")<{ readonly table: string; readonly reason: string }> {
  override get message(): string {
    return `a ${this.table} row read from the database is not what this version writes (${this.reason}); run \`./dcrforge vsp migrate\` with this version and check that no other program writes to the vsp_ tables`
  }
}

/** The configured fee xpub was replaced by a newer one earlier. */
class FeeXpubRetired extends Data.TaggedError("FeeXpubRetired")<{ readonly xpub: string }> {
  override get message(): string {
    return `the fee xpub ${this.xpub} was replaced by a newer one in this store; configure the newest one (or a new key)`
  }
}

type VspStoreError = SqlError | VspStoreRowInvalid

const rowsOf =
  <T, E>(table: string, row: Schema.Codec<T, E>) =>
  (rows: ReadonlyArray<unknown>): Effect.Effect<ReadonlyArray<T>, VspStoreRowInvalid> => {
    const decoded = Schema.decodeUnknownResult(Schema.Array(row))(rows)
    return Result.isSuccess(decoded) ? Effect.succeed(decoded.success) : Effect.fail(new VspStoreRowInvalid({ table, reason: decoded.failure.message }))
  }

const decodeTickets = rowsOf("vsp_tickets", VspTicket)
const firstTicket = (rows: ReadonlyArray<unknown>) => Effect.map(decodeTickets(rows), (t) => t[0])

/** A new ticket's quote, before it has a fee address. */
interface NewQuote {
  readonly hash: string
  readonly ticketHex: string
  readonly commitmentAddress: string
  readonly confirmed: boolean
  readonly purchaseHeight: number | undefined
  readonly purchaseBlockHash: string | undefined
  readonly feeAmount: bigint
  readonly feeExpiryMs: number
}

/** What an accepted payfee stores. */
interface ReceivedFee {
  readonly feeTxHex: string
  readonly feeTxHash: string
  readonly feePaid: bigint
  readonly votingWif: string
  readonly voteChoices: Readonly<Record<string, string>>
  readonly tspendPolicy: Readonly<Record<string, string>>
  readonly treasuryPolicy: Readonly<Record<string, string>>
}

/** A signed request and its signed response, kept as vspd keeps them. */
interface SignedExchange {
  readonly request: string
  readonly requestSignature: string
  readonly response: string
  readonly responseSignature: string
}

export interface VspCounts {
  /** Fee confirmed, not yet spent: what the voting wallets hold. */
  readonly voting: number
  readonly voted: number
  readonly missed: number
  readonly expired: number
  /** Quoted, fee not yet confirmed. */
  readonly pending: number
  /** Sum of the fees paid by confirmed fee transactions, in atoms. */
  readonly feesCollected: bigint
}

const json = (m: Readonly<Record<string, string>>) => JSON.stringify(m)

const makeVspStore = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient

  const ticket = (hash: string) => sql.unsafe(`SELECT ${TICKET_COLUMNS} FROM vsp_tickets WHERE hash = $1`, [hash]).pipe(Effect.flatMap(firstTicket))
  const ticketsWhere = (where: string, params: ReadonlyArray<unknown> = []) =>
    sql.unsafe(`SELECT ${TICKET_COLUMNS} FROM vsp_tickets WHERE ${where} ORDER BY created_ms, hash`, params).pipe(Effect.flatMap(decodeTickets))

  /**
   * The fee xpub fees go to: the configured one, added as the newest when it is not already
   * (vspd's `vspadmin retirexpub`: a new key starts at index 0, the old one's indices stay used).
   * A key replaced by a newer one is refused: going back to it would mix two keys' indices.
   */
  const useFeeXpub = (xpub: string, nowMs: number) =>
    sql.withTransaction(
      Effect.gen(function* () {
        const latest = yield* sql`SELECT id, xpub, last_index FROM vsp_fee_xpubs ORDER BY id DESC LIMIT 1`.pipe(Effect.flatMap(rowsOf("vsp_fee_xpubs", FeeXpub)))
        const current = latest[0]
        if (current !== undefined && current.xpub === xpub) return current.id
        const known = yield* sql`SELECT id, xpub, last_index FROM vsp_fee_xpubs WHERE xpub = ${xpub}`.pipe(Effect.flatMap(rowsOf("vsp_fee_xpubs", FeeXpub)))
        if (known[0] !== undefined) return yield* new FeeXpubRetired({ xpub })
        const id = (current?.id ?? 0) + 1
        yield* sql`INSERT INTO vsp_fee_xpubs (id, xpub, last_index, created_ms) VALUES (${id}, ${xpub}, 0, ${nowMs})`
        return id
      }),
    )

  /**
   * Quotes a ticket the service has not seen: the current fee xpub's row is locked, `nextAddress`
   * gives the address after its last used index (vspd's generator: core/vsp nextFeeAddress), and
   * the ticket is stored with it and the index recorded, in one transaction. When the ticket was
   * quoted meanwhile (two requests at once), the existing row is returned and the index taken
   * stays used (indices are never reused, so no address is shared).
   */
  const quoteNewTicket = <E>(quote: NewQuote, nextAddress: (xpub: string, lastUsedIndex: number) => Effect.Effect<{ readonly address: string; readonly index: number }, E>, nowMs: number) =>
    sql.withTransaction(
      Effect.gen(function* () {
        const current = yield* sql`SELECT id, xpub, last_index FROM vsp_fee_xpubs WHERE id = (SELECT max(id) FROM vsp_fee_xpubs) FOR UPDATE`.pipe(Effect.flatMap(rowsOf("vsp_fee_xpubs", FeeXpub)))
        const xpub = current[0]
        if (xpub === undefined) return yield* new VspStoreRowInvalid({ table: "vsp_fee_xpubs", reason: "no fee xpub is configured" })
        const next = yield* nextAddress(xpub.xpub, xpub.last_index)
        yield* sql`UPDATE vsp_fee_xpubs SET last_index = ${next.index} WHERE id = ${xpub.id}`
        const address = next.address
        const inserted = yield* sql`INSERT INTO vsp_tickets ${sql.insert({
          hash: quote.hash,
          ticket_hex: quote.ticketHex,
          commitment_address: quote.commitmentAddress,
          confirmed: quote.confirmed,
          purchase_height: quote.purchaseHeight ?? null,
          purchase_block_hash: quote.purchaseBlockHash ?? null,
          fee_xpub_id: xpub.id,
          fee_address_index: next.index,
          fee_address: address,
          fee_amount: quote.feeAmount.toString(),
          fee_expiry_ms: quote.feeExpiryMs,
          fee_tx_status: "none",
          created_ms: nowMs,
          updated_ms: nowMs,
        })} ON CONFLICT (hash) DO NOTHING RETURNING hash`
        const row = yield* ticket(quote.hash)
        if (row === undefined) return yield* new VspStoreRowInvalid({ table: "vsp_tickets", reason: `ticket ${quote.hash} neither inserted nor found` })
        return { ticket: row, created: inserted.length > 0 }
      }),
    )

  /** A new fee and expiry for a quote that expired unpaid; undefined when a fee arrived meanwhile. */
  const renewQuote = (hash: string, feeAmount: bigint, feeExpiryMs: number, nowMs: number) =>
    sql`UPDATE vsp_tickets SET fee_amount = ${feeAmount.toString()}, fee_expiry_ms = ${feeExpiryMs}, updated_ms = ${nowMs}
        WHERE hash = ${hash} AND fee_tx_status IN ('none', 'error') RETURNING ${sql.literal(TICKET_COLUMNS)}`.pipe(Effect.flatMap(firstTicket))

  /** payfee accepted: none/error -> received. Undefined when another fee got there first (nothing is written). */
  const receiveFee = (hash: string, fee: ReceivedFee, nowMs: number) =>
    sql`UPDATE vsp_tickets SET fee_tx_status = 'received', fee_tx_hex = ${fee.feeTxHex}, fee_tx_hash = ${fee.feeTxHash}, fee_paid = ${fee.feePaid.toString()},
          voting_wif = ${fee.votingWif}, vote_choices = ${json(fee.voteChoices)}, tspend_policy = ${json(fee.tspendPolicy)},
          treasury_policy = ${json(fee.treasuryPolicy)}, updated_ms = ${nowMs}
        WHERE hash = ${hash} AND fee_tx_status IN ('none', 'error') RETURNING ${sql.literal(TICKET_COLUMNS)}`.pipe(Effect.flatMap(firstTicket))

  /** Moves the fee from one of `from` to `to`; false when it was not in one of them (nothing written). */
  const moveFee = (hash: string, from: ReadonlyArray<FeeTxStatus>, to: FeeTxStatus, nowMs: number) =>
    sql
      .unsafe(`UPDATE vsp_tickets SET fee_tx_status = $1, updated_ms = $2 WHERE hash = $3 AND fee_tx_status IN (${from.map((_, i) => `$${i + 4}`).join(", ")}) RETURNING hash`, [
        to,
        nowMs,
        hash,
        ...from,
      ])
      .pipe(Effect.map((rows) => rows.length > 0))

  const confirmTicket = (hash: string, purchaseHeight: number, purchaseBlockHash: string, nowMs: number) =>
    sql`UPDATE vsp_tickets SET confirmed = true, purchase_height = ${purchaseHeight}, purchase_block_hash = ${purchaseBlockHash}, updated_ms = ${nowMs} WHERE hash = ${hash} AND NOT confirmed`.pipe(
      Effect.asVoid,
    )

  /** A ticket dcrd no longer knows and will not take back (double spent, expired unmined): forgotten, as vspd does. */
  const forgetUnconfirmedTicket = (hash: string) =>
    sql.withTransaction(
      Effect.gen(function* () {
        yield* sql`DELETE FROM vsp_alt_sign_addrs WHERE ticket_hash = ${hash}`
        yield* sql`DELETE FROM vsp_tickets WHERE hash = ${hash} AND NOT confirmed`
      }),
    )

  const setOutcome = (hash: string, outcome: TicketOutcome, height: number, nowMs: number) =>
    sql`UPDATE vsp_tickets SET outcome = ${outcome}, outcome_height = ${height}, updated_ms = ${nowMs} WHERE hash = ${hash} AND outcome IS NULL RETURNING hash`.pipe(
      Effect.map((rows) => rows.length > 0),
    )

  /** New choices and policies (already merged with the old ones by the caller). */
  const setChoices = (hash: string, choices: Pick<ReceivedFee, "voteChoices" | "tspendPolicy" | "treasuryPolicy">, nowMs: number) =>
    sql`UPDATE vsp_tickets SET vote_choices = ${json(choices.voteChoices)}, tspend_policy = ${json(choices.tspendPolicy)},
          treasury_policy = ${json(choices.treasuryPolicy)}, updated_ms = ${nowMs}
        WHERE hash = ${hash} AND outcome IS NULL RETURNING ${sql.literal(TICKET_COLUMNS)}`.pipe(Effect.flatMap(firstTicket))

  const voteChangeTimestamps = (hash: string) =>
    sql`SELECT seq, request_timestamp, request, created_ms FROM vsp_vote_changes WHERE ticket_hash = ${hash} ORDER BY seq`.pipe(
      Effect.flatMap(rowsOf("vsp_vote_changes", VoteChange)),
      Effect.map((rows) => rows.map((r) => r.request_timestamp)),
    )

  const saveVoteChange = (hash: string, requestTimestamp: number, exchange: SignedExchange, nowMs: number) =>
    sql`INSERT INTO vsp_vote_changes ${sql.insert({
      ticket_hash: hash,
      request_timestamp: requestTimestamp,
      request: exchange.request,
      request_signature: exchange.requestSignature,
      response: exchange.response,
      response_signature: exchange.responseSignature,
      created_ms: nowMs,
    })}`.pipe(Effect.asVoid)

  const altSignAddr = (hash: string) =>
    sql`SELECT ticket_hash, address, request, created_ms FROM vsp_alt_sign_addrs WHERE ticket_hash = ${hash}`.pipe(
      Effect.flatMap(rowsOf("vsp_alt_sign_addrs", AltSignAddr)),
      Effect.map((rows) => rows[0]),
    )

  /** Stores the alternate signing address; false when the ticket already had one (nothing written). */
  const insertAltSignAddr = (hash: string, address: string, exchange: SignedExchange, nowMs: number) =>
    sql`INSERT INTO vsp_alt_sign_addrs ${sql.insert({
      ticket_hash: hash,
      address,
      request: exchange.request,
      request_signature: exchange.requestSignature,
      response: exchange.response,
      response_signature: exchange.responseSignature,
      created_ms: nowMs,
    })} ON CONFLICT (ticket_hash) DO NOTHING RETURNING ticket_hash`.pipe(Effect.map((rows) => rows.length > 0))

  const counts: Effect.Effect<VspCounts, VspStoreError> = Effect.gen(function* () {
    const rows = yield* sql`SELECT CASE WHEN outcome IS NOT NULL THEN outcome WHEN fee_tx_status = 'confirmed' THEN 'voting' ELSE 'pending' END AS state, count(*) AS n
                            FROM vsp_tickets GROUP BY 1`.pipe(Effect.flatMap(rowsOf("vsp_tickets", StatusCount)))
    const by = (state: string) => rows.find((r) => r.state === state)?.n ?? 0
    const fees = yield* sql`SELECT sum(fee_paid) AS s FROM vsp_tickets WHERE fee_tx_status = 'confirmed'`.pipe(Effect.flatMap(rowsOf("vsp_tickets", Sum)))
    return { voting: by("voting"), voted: by("voted"), missed: by("missed"), expired: by("expired"), pending: by("pending"), feesCollected: fees[0]?.s ?? 0n }
  })

  const meta = (key: string) =>
    sql`SELECT value FROM vsp_meta WHERE key = ${key}`.pipe(
      Effect.flatMap(rowsOf("vsp_meta", Schema.Struct({ value: Schema.String }))),
      Effect.map((rows) => rows[0]?.value),
    )
  const setMeta = (key: string, value: string) => sql`INSERT INTO vsp_meta (key, value) VALUES (${key}, ${value}) ON CONFLICT (key) DO UPDATE SET value = excluded.value`.pipe(Effect.asVoid)

  const ticketCount = sql`SELECT count(*) AS n FROM vsp_tickets`.pipe(
    Effect.flatMap(rowsOf("vsp_tickets", Count)),
    Effect.map((rows) => rows[0]?.n ?? 0),
  )

  return {
    ticket,
    ticketCount,
    useFeeXpub,
    quoteNewTicket,
    renewQuote,
    receiveFee,
    moveFee,
    confirmTicket,
    forgetUnconfirmedTicket,
    setOutcome,
    setChoices,
    voteChangeTimestamps,
    saveVoteChange,
    altSignAddr,
    insertAltSignAddr,
    counts,
    meta,
    setMeta,
    /** Quoted, not yet 6 deep. */
    unconfirmedTickets: ticketsWhere("NOT confirmed"),
    /** Fee received for a confirmed ticket: to broadcast. */
    feesToBroadcast: ticketsWhere("confirmed AND fee_tx_status = 'received'"),
    /** Fee broadcast: to watch until it is 6 deep. */
    feesBroadcast: ticketsWhere("fee_tx_status = 'broadcast'"),
    /** Fee confirmed and not spent: what every voting wallet must hold. */
    votableTickets: ticketsWhere("fee_tx_status = 'confirmed' AND outcome IS NULL"),
    missedTickets: ticketsWhere("outcome = 'missed'"),
  }
})

type VspStoreShape = Effect.Success<typeof makeVspStore>
export class VspStore extends Context.Service<VspStore, VspStoreShape>()("dcrforge/wallet/vsp/VspStore") {}
export const vspStoreLayer: Layer.Layer<VspStore, never, SqlClient.SqlClient> = Layer.effect(VspStore, makeVspStore)
