import { Data, Effect, Schema } from "effect"
import * as SqlClient from "effect/sql/SqlClient"
import { decodeRows, NumberColumn } from "./rows.ts"
import { migrate } from "./schema.ts"

/**
 * Backups as JSON lines: a header, then one line per row, table by table, read in one
 * snapshot (REPEATABLE READ; on SQLite a deferred read transaction) so it is consistent while
 * the pool keeps writing.
 * Logical rather than a file copy so the same backup restores into the embedded store or a
 * Postgres server (moving from one to the other is a backup and a restore). Every value is
 * text, so no amount passes through a float.
 */
export const BACKUP_FORMAT = "dcrforge-backup/1"

/** Tables in an order that satisfies foreign keys on restore. */
const TABLES = {
  meta: ["key", "value"],
  shares: ["id", "seq", "account", "worker", "model", "weight", "created_ms", "height", "network_difficulty", "instance", "pps_settled"],
  blocks: ["hash", "height", "account", "worker", "model", "found_ms", "network_difficulty", "status", "reward", "fee", "updated_ms"],
  payout_batches: ["id", "status", "created_ms", "height", "txid", "raw_tx", "tx_fee", "published_ms"],
  credits: ["source", "account", "amount", "created_ms", "payable", "mature_height", "batch_id"],
  payments: ["batch_id", "account", "address", "amount"],
  held_accounts: ["account", "address", "reason", "held_ms"],
} as const satisfies Record<string, ReadonlyArray<string>>

type Table = keyof typeof TABLES
// held_accounts came with migration 0002: a backup from before it has none, and restores as is.
const ORDER: ReadonlyArray<Table> = ["meta", "shares", "blocks", "payout_batches", "credits", "payments", "held_accounts"]
const PRIMARY_KEYS: Record<Table, string> = {
  meta: "key",
  shares: "seq",
  blocks: "hash",
  payout_batches: "id",
  credits: "source, account",
  payments: "batch_id, account",
  held_accounts: "account",
}

/** Columns of type boolean: written as `true`/`false` by either store, read back as 1/0 for both. */
const BOOLEAN_COLUMNS: ReadonlySet<string> = new Set(["pps_settled", "payable"])

/**
 * A column as text, in SQL both stores speak: CAST rather than Postgres' `::text`, and a
 * boolean spelled as Postgres prints it (SQLite keeps booleans as 1/0), so a backup reads the
 * same whichever store wrote it.
 */
const asText = (column: string) => (BOOLEAN_COLUMNS.has(column) ? `CASE WHEN ${column} THEN 'true' ELSE 'false' END` : `CAST(${column} AS text)`)

/** A boolean as a backup holds it, as both stores read it ('1'/'0'); undefined when it is none. */
const booleanText = (value: string | null): string | undefined => {
  const v = value?.trim().toLowerCase()
  if (v === "true" || v === "t" || v === "1") return "1"
  if (v === "false" || v === "f" || v === "0") return "0"
  return undefined
}

/** Every column selected as text: a row of the snapshot is text or NULL, whatever its type. */
const textRowOf = (columns: ReadonlyArray<string>) => Schema.Struct(Object.fromEntries(columns.map((c) => [c, Schema.NullOr(Schema.String)])))
const decodeCount = decodeRows("shares, blocks and credits", Schema.Struct({ n: NumberColumn }))

/** The first line of a backup. */
const BackupHeader = Schema.Struct({ format: Schema.Literal(BACKUP_FORMAT) })
/** Any later line: a row of one table, its values in `TABLES` order. */
const BackupLine = Schema.Struct({ table: Schema.Unknown, row: Schema.Unknown })
const BackupRow = Schema.Struct({ table: Schema.Literals(ORDER), row: Schema.Array(Schema.NullOr(Schema.String)) })
const isHeader = Schema.is(BackupHeader)
const isLine = Schema.is(BackupLine)
const isRow = Schema.is(BackupRow)

export class RestoreError extends Data.TaggedError("RestoreError")<{ readonly reason: string; readonly cause?: unknown }> {
  override get message(): string {
    return `cannot restore: ${this.reason}`
  }
}

/** Writes a consistent snapshot, line by line, through `emit`; returns the row count per table. */
export const backup = <E>(emit: (line: string) => Effect.Effect<void, E>) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    // A read-only snapshot. On Postgres, REPEATABLE READ. On SQLite, a deferred transaction
    // (the adapter's begin IMMEDIATE would take the write lock, and a backup run by another
    // process would hold up the running pool's commits): in WAL mode it reads one snapshot and
    // never waits for, or holds up, a writer.
    const snapshot = <A, E, R>(body: Effect.Effect<A, E, R>) =>
      sql.onDialectOrElse({
        sqlite: () => sql.withTransaction(body).pipe(Effect.provideService(SqlClient.BeginTransaction, "BEGIN DEFERRED")),
        orElse: () => sql.withTransaction(Effect.andThen(sql`SET TRANSACTION ISOLATION LEVEL REPEATABLE READ`, body)),
      })
    return yield* snapshot(
      Effect.gen(function* () {
        yield* emit(JSON.stringify({ format: BACKUP_FORMAT, tables: ORDER }))
        const counts: Partial<Record<Table, number>> = {}
        for (const table of ORDER) {
          const columns = TABLES[table]
          const select = columns.map((c) => `${asText(c)} AS ${c}`).join(", ")
          const rows = yield* sql
            .unsafe(
              `SELECT ${select} FROM ${table} ORDER BY ${PRIMARY_KEYS[table]
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
 * Restores a backup into a database that has the schema and no pool data (a fresh one, or one
 * just migrated); refuses otherwise, so a restore can never merge two pools' books.
 */
export const restore = (lines: Iterable<string>) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    yield* migrate
    return yield* sql.withTransaction(
      Effect.gen(function* () {
        const existing = yield* sql`SELECT (SELECT count(*) FROM shares) + (SELECT count(*) FROM blocks) + (SELECT count(*) FROM credits) AS n`.pipe(Effect.flatMap(decodeCount))
        if ((existing[0]?.n ?? 0) > 0) {
          return yield* new RestoreError({ reason: "the database already holds pool data; restore into a new, empty database (or a new embedded data directory)" })
        }
        let header = true
        let lineNumber = 0
        const counts: Partial<Record<Table, number>> = {}
        const pending = new Map<Table, Array<ReadonlyArray<string | null>>>()
        const flush = (table: Table) =>
          Effect.gen(function* () {
            const rows = pending.get(table) ?? []
            if (rows.length === 0) return
            pending.set(table, [])
            const columns = TABLES[table]
            const params: Array<string | null> = []
            const values = rows.map((row) => `(${row.map((v) => (params.push(v), `$${params.length}`)).join(", ")})`).join(", ")
            const conflict = table === "meta" ? " ON CONFLICT (key) DO UPDATE SET value = excluded.value" : ""
            yield* sql.unsafe(`INSERT INTO ${table} (${columns.join(", ")}) VALUES ${values}${conflict}`, params)
          })
        for (const line of lines) {
          lineNumber++
          if (line.trim() === "") continue
          const parsed: unknown = yield* Effect.try({ try: () => JSON.parse(line), catch: (cause) => new RestoreError({ reason: `line ${lineNumber} is not JSON`, cause }) })
          if (header) {
            header = false
            if (!isHeader(parsed)) return yield* new RestoreError({ reason: `line 1 is not a ${BACKUP_FORMAT} header; is this a dcrforge backup?` })
            continue
          }
          if (!isLine(parsed)) return yield* new RestoreError({ reason: `line ${lineNumber} is not a table row` })
          if (!isRow(parsed) || parsed.row.length !== TABLES[parsed.table].length) {
            return yield* new RestoreError({ reason: `line ${lineNumber}: unknown table ${JSON.stringify(String(parsed.table))} or a row of the wrong shape` })
          }
          const t = parsed.table
          const columns = TABLES[t]
          const row: Array<string | null> = []
          for (const [i, value] of parsed.row.entries()) {
            const column = columns[i] ?? ""
            if (!BOOLEAN_COLUMNS.has(column)) row.push(value)
            else {
              const text = booleanText(value)
              if (text === undefined) return yield* new RestoreError({ reason: `line ${lineNumber}: ${t}.${column} is ${JSON.stringify(value)}, not true or false` })
              row.push(text)
            }
          }
          // Tables arrive in dependency order; flush the earlier ones before a later one starts.
          for (const earlier of ORDER.slice(0, ORDER.indexOf(t))) yield* flush(earlier)
          const list = pending.get(t) ?? []
          list.push(row)
          pending.set(t, list)
          counts[t] = (counts[t] ?? 0) + 1
          if (list.length >= 500) yield* flush(t)
        }
        if (header) return yield* new RestoreError({ reason: "the backup is empty" })
        for (const t of ORDER) yield* flush(t)
        // New shares continue after the restored ones.
        // (SQLite's AUTOINCREMENT counter follows the largest seq inserted by itself.)
        yield* sql.onDialectOrElse({
          sqlite: () => Effect.void,
          orElse: () => sql`SELECT setval(pg_get_serial_sequence('shares', 'seq'), coalesce((SELECT max(seq) FROM shares), 0) + 1, false)`,
        })
        return counts
      }),
    )
  })
