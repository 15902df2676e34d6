import { Data, Effect, Schema } from "effect"
import * as SqlClient from "effect/sql/SqlClient"
import type { SqlError } from "effect/sql/SqlError"
import { decodeRows, NumberColumn } from "./rows.ts"
import { migrate } from "./schema.ts"
import { migrateVsp } from "../../wallet/vsp/store.ts"

/**
 * Backups as JSON lines: a header, then one line per row, table by table, read in one
 * snapshot (REPEATABLE READ; on SQLite a deferred read transaction) so it is consistent while
 * the pool keeps writing.
 * Logical rather than a file copy so the same backup restores into the embedded store or a
 * Postgres server (moving from one to the other is a backup and a restore). Every value is
 * text, so no amount passes through a float.
 */
export const BACKUP_FORMAT = "dcrforge-backup/1"

/**
 * One database's backup: its tables (columns in order, in an order that satisfies foreign keys
 * on restore), their keys, and how a restore tells the target already holds data.
 */
interface BackupSpec<T extends string, ME> {
  readonly format: string
  readonly tables: { readonly [K in T]: ReadonlyArray<string> }
  readonly order: ReadonlyArray<T>
  readonly primaryKeys: { readonly [K in T]: string }
  readonly migrate: Effect.Effect<unknown, ME, SqlClient.SqlClient>
  /** One row `n`: above zero when the database already holds data (a restore refuses it). */
  readonly countQuery: string
  readonly notEmpty: string
  /** Tables whose restored rows replace existing ones (rows the migrations wrote). */
  readonly upsert: { readonly [K in T]?: string }
  /** Run after the rows are in: sequences set past the restored rows. */
  readonly afterRestore: Effect.Effect<unknown, SqlError, SqlClient.SqlClient>
  /** Columns of type boolean: written as `true`/`false` by every store, restored as 1/0 (which both read). */
  readonly booleans: ReadonlySet<string>
}

/**
 * A column as text, in SQL every store speaks: CAST rather than Postgres' `::text`, and a
 * boolean spelled as Postgres prints it (SQLite keeps booleans as 1/0), so a backup reads the
 * same whichever store wrote it.
 */
const asText = (column: string, booleans: ReadonlySet<string>) => (booleans.has(column) ? `CASE WHEN ${column} THEN 'true' ELSE 'false' END` : `CAST(${column} AS text)`)

/** A boolean as a backup holds it, as every store reads it ('1'/'0'); undefined when it is none. */
const booleanText = (value: string | null): string | undefined => {
  const v = value?.trim().toLowerCase()
  if (v === "true" || v === "t" || v === "1") return "1"
  if (v === "false" || v === "f" || v === "0") return "0"
  return undefined
}

/**
 * A sequence continued past the restored rows, on Postgres and PGlite; SQLite's AUTOINCREMENT
 * counter already follows the largest key inserted.
 */
const continueSequence = (table: string, column: string): Effect.Effect<unknown, SqlError, SqlClient.SqlClient> =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql.onDialectOrElse({
      sqlite: (): Effect.Effect<unknown, SqlError> => Effect.void,
      orElse: () => sql.unsafe(`SELECT setval(pg_get_serial_sequence('${table}', '${column}'), coalesce((SELECT max(${column}) FROM ${table}), 0) + 1, false)`),
    }),
  )

/** Every column selected as text: a row of the snapshot is text or NULL, whatever its type. */
const textRowOf = (columns: ReadonlyArray<string>) => Schema.Struct(Object.fromEntries(columns.map((c) => [c, Schema.NullOr(Schema.String)])))
const decodeCount = decodeRows("the tables checked for data", Schema.Struct({ n: NumberColumn }))

/** Any later line: a row of one table, its values in the table's column order. */
const BackupLine = Schema.Struct({ table: Schema.Unknown, row: Schema.Unknown })
const isLine = Schema.is(BackupLine)

export class RestoreError extends Data.TaggedError("RestoreError")<{ readonly reason: string; readonly cause?: unknown }> {
  override get message(): string {
    return `cannot restore: ${this.reason}`
  }
}

const makeBackup = <T extends string, ME>(spec: BackupSpec<T, ME>) => {
  /** The first line of a backup. */
  const isHeader = Schema.is(Schema.Struct({ format: Schema.Literal(spec.format) }))
  const isRow = Schema.is(Schema.Struct({ table: Schema.Literals(spec.order), row: Schema.Array(Schema.NullOr(Schema.String)) }))

  /** Writes a consistent snapshot, line by line, through `emit`; returns the row count per table. */
  const backup = <E>(emit: (line: string) => Effect.Effect<void, E>) =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      // A read-only snapshot. On Postgres, REPEATABLE READ. On SQLite, a deferred transaction
      // (the adapter's BEGIN IMMEDIATE would take the write lock, and a backup run by another
      // process would hold up the running pool's commits): in WAL mode it reads one snapshot and
      // never waits for, or holds up, a writer.
      const snapshot = <A, E, R>(body: Effect.Effect<A, E, R>) =>
        sql.onDialectOrElse({
          sqlite: () => sql.withTransaction(body).pipe(Effect.provideService(SqlClient.BeginTransaction, "BEGIN DEFERRED")),
          orElse: () => sql.withTransaction(Effect.andThen(sql`SET TRANSACTION ISOLATION LEVEL REPEATABLE READ`, body)),
        })
      return yield* snapshot(
        Effect.gen(function* () {
          yield* emit(JSON.stringify({ format: spec.format, tables: spec.order }))
          const counts: Partial<Record<T, number>> = {}
          for (const table of spec.order) {
            const columns = spec.tables[table]
            const select = columns.map((c) => `${asText(c, spec.booleans)} AS ${c}`).join(", ")
            const rows = yield* sql
              .unsafe(
                `SELECT ${select} FROM ${table} ORDER BY ${spec.primaryKeys[table]
                  .split(",")
                  .map((c) => `${table}.${c.trim()}`)
                  .join(", ")}`,
              )
              .pipe(Effect.flatMap(decodeRows(table, textRowOf(columns))))
            for (const row of rows) yield* emit(JSON.stringify({ table, row: columns.map((c) => row[c] ?? null) }))
            counts[table] = rows.length
          }
          return counts
        }),
      )
    })

  /**
   * Restores a backup into a database that has the schema and no data (a fresh one, or one
   * just migrated); refuses otherwise, so a restore can never merge two databases' books.
   */
  const restore = (lines: Iterable<string>) =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      yield* spec.migrate
      return yield* sql.withTransaction(
        Effect.gen(function* () {
          const existing = yield* sql.unsafe(spec.countQuery).pipe(Effect.flatMap(decodeCount))
          if ((existing[0]?.n ?? 0) > 0) return yield* new RestoreError({ reason: spec.notEmpty })
          let header = true
          let lineNumber = 0
          const counts: Partial<Record<T, number>> = {}
          const pending = new Map<T, Array<ReadonlyArray<string | null>>>()
          const flush = (table: T) =>
            Effect.gen(function* () {
              const rows = pending.get(table) ?? []
              if (rows.length === 0) return
              pending.set(table, [])
              const columns = spec.tables[table]
              const params: Array<string | null> = []
              const values = rows.map((row) => `(${row.map((v) => (params.push(v), `$${params.length}`)).join(", ")})`).join(", ")
              yield* sql.unsafe(`INSERT INTO ${table} (${columns.join(", ")}) VALUES ${values}${spec.upsert[table] ?? ""}`, params)
            })
          for (const line of lines) {
            lineNumber++
            if (line.trim() === "") continue
            const parsed: unknown = yield* Effect.try({ try: () => JSON.parse(line), catch: (cause) => new RestoreError({ reason: `line ${lineNumber} is not JSON`, cause }) })
            if (header) {
              header = false
              if (!isHeader(parsed)) return yield* new RestoreError({ reason: `line 1 is not a ${spec.format} header; is this a dcrforge backup?` })
              continue
            }
            if (!isLine(parsed)) return yield* new RestoreError({ reason: `line ${lineNumber} is not a table row` })
            if (!isRow(parsed) || parsed.row.length !== spec.tables[parsed.table].length) {
              return yield* new RestoreError({ reason: `line ${lineNumber}: unknown table ${JSON.stringify(String(parsed.table))} or a row of the wrong shape` })
            }
            const t = parsed.table
            const columns = spec.tables[t]
            const row: Array<string | null> = []
            for (const [i, value] of parsed.row.entries()) {
              const column = columns[i] ?? ""
              if (!spec.booleans.has(column)) row.push(value)
              else {
                const text = booleanText(value)
                if (text === undefined) return yield* new RestoreError({ reason: `line ${lineNumber}: ${t}.${column} is ${JSON.stringify(value)}, not true or false` })
                row.push(text)
              }
            }
            // Tables arrive in dependency order; flush the earlier ones before a later one starts.
            for (const earlier of spec.order.slice(0, spec.order.indexOf(t))) yield* flush(earlier)
            const list = pending.get(t) ?? []
            list.push(row)
            pending.set(t, list)
            counts[t] = (counts[t] ?? 0) + 1
            if (list.length >= 500) yield* flush(t)
          }
          if (header) return yield* new RestoreError({ reason: "the backup is empty" })
          for (const t of spec.order) yield* flush(t)
          yield* spec.afterRestore
          return counts
        }),
      )
    })

  return { backup, restore }
}

/** The pool's tables. held_accounts came with migration 0002: a backup from before it has none, and restores as is. */
const pool = makeBackup({
  format: BACKUP_FORMAT,
  tables: {
    meta: ["key", "value"],
    shares: ["id", "seq", "account", "worker", "model", "weight", "created_ms", "height", "network_difficulty", "instance", "pps_settled"],
    blocks: ["hash", "height", "account", "worker", "model", "found_ms", "network_difficulty", "status", "reward", "fee", "updated_ms"],
    payout_batches: ["id", "status", "created_ms", "height", "txid", "raw_tx", "tx_fee", "published_ms"],
    credits: ["source", "account", "amount", "created_ms", "payable", "mature_height", "batch_id"],
    payments: ["batch_id", "account", "address", "amount"],
    held_accounts: ["account", "address", "reason", "held_ms"],
  },
  order: ["meta", "shares", "blocks", "payout_batches", "credits", "payments", "held_accounts"],
  primaryKeys: {
    meta: "key",
    shares: "seq",
    blocks: "hash",
    payout_batches: "id",
    credits: "source, account",
    payments: "batch_id, account",
    held_accounts: "account",
  },
  migrate,
  countQuery: "SELECT (SELECT count(*) FROM shares) + (SELECT count(*) FROM blocks) + (SELECT count(*) FROM credits) AS n",
  notEmpty: "the database already holds pool data; restore into a new, empty database (or a new embedded data directory)",
  upsert: { meta: " ON CONFLICT (key) DO UPDATE SET value = excluded.value" },
  // New shares continue after the restored ones.
  afterRestore: continueSequence("shares", "seq"),
  booleans: new Set(["pps_settled", "payable"]),
})

/** Writes a consistent snapshot of the pool's tables, line by line, through `emit`; returns the row count per table. */
export const backup = pool.backup
/** Restores a pool backup into a database that has the schema and no pool data; refuses otherwise. */
export const restore = pool.restore

/** The voting service's tables (wallet/vsp/store.ts), backed up and restored the same way. */
const vsp = makeBackup({
  format: "dcrforge-vsp-backup/1",
  tables: {
    vsp_meta: ["key", "value"],
    vsp_fee_xpubs: ["id", "xpub", "last_index", "created_ms"],
    vsp_tickets: [
      "hash",
      "ticket_hex",
      "commitment_address",
      "confirmed",
      "purchase_height",
      "purchase_block_hash",
      "fee_xpub_id",
      "fee_address_index",
      "fee_address",
      "fee_amount",
      "fee_expiry_ms",
      "fee_tx_status",
      "fee_tx_hash",
      "fee_tx_hex",
      "fee_paid",
      "voting_wif",
      "vote_choices",
      "tspend_policy",
      "treasury_policy",
      "outcome",
      "outcome_height",
      "created_ms",
      "updated_ms",
    ],
    vsp_vote_changes: ["seq", "ticket_hash", "request_timestamp", "request", "request_signature", "response", "response_signature", "created_ms"],
    vsp_alt_sign_addrs: ["ticket_hash", "address", "request", "request_signature", "response", "response_signature", "created_ms"],
  },
  order: ["vsp_meta", "vsp_fee_xpubs", "vsp_tickets", "vsp_vote_changes", "vsp_alt_sign_addrs"],
  primaryKeys: { vsp_meta: "key", vsp_fee_xpubs: "id", vsp_tickets: "hash", vsp_vote_changes: "seq", vsp_alt_sign_addrs: "ticket_hash" },
  migrate: migrateVsp,
  countQuery: "SELECT (SELECT count(*) FROM vsp_tickets) + (SELECT count(*) FROM vsp_fee_xpubs) AS n",
  notEmpty: "the database already holds voting service data; restore into a new, empty database (or a new embedded data directory)",
  upsert: { vsp_meta: " ON CONFLICT (key) DO UPDATE SET value = excluded.value" },
  afterRestore: continueSequence("vsp_vote_changes", "seq"),
  booleans: new Set(["confirmed"]),
})

/** A consistent snapshot of the voting service's tables (JSON lines, `dcrforge-vsp-backup/1`). */
export const backupVsp = vsp.backup
/** Restores a voting service backup into an empty store; refuses one that holds tickets or fee keys. */
export const restoreVsp = vsp.restore
