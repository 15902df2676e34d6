import { mkdirSync } from "node:fs"
import { dirname } from "node:path"
import { DatabaseSync, type SQLInputValue, type StatementSync } from "node:sqlite"
import { Effect, Layer, Semaphore, Stream } from "effect"
import * as Reactivity from "effect/reactivity/Reactivity"
import * as SqlClient from "effect/sql/SqlClient"
import type { Connection } from "effect/sql/SqlConnection"
import { ConnectionError, ConstraintError, LockTimeoutError, SqlError, UniqueViolation, UnknownError } from "effect/sql/SqlError"
import { makeCompilerSqlite } from "effect/sql/Statement"

/**
 * The embedded store: Node's built-in SQLite (`node:sqlite`) in one file of the pool's data
 * directory, adapted to Effect's `SqlClient` so `store.ts` runs its Postgres-dialect queries on
 * it with a few shims, all here and in the schema's per-dialect DDL:
 *
 * - `sum` is replaced by an exact one. Postgres sums int8 and numeric exactly (numeric); SQLite's
 *   overflows at 2^63 and reads text as a float. Here every sum is a decimal string computed
 *   with bigints, which the row codecs (`rows.ts`) decode exactly, as they do Postgres' numeric.
 * - Transactions begin IMMEDIATE (the write lock is taken at BEGIN), so `FOR UPDATE` row locks
 *   are dropped from the text: a transaction already excludes every other writer, in this
 *   process (one connection behind a semaphore) and in any other on the same file.
 * - `$1`-style parameters (the queries written with `sql.unsafe`) become SQLite's `?1`, and
 *   `COLLATE "C"` (byte order) becomes SQLite's `COLLATE BINARY`, which is byte order too.
 * - Integers are read as bigints (an int8 beyond 2^53 stays exact); booleans are bound as 1/0.
 *
 * Memory is why this is the default: the pool's whole process idles near 100 MB on it, against
 * 350-500 MB on PGlite, whose WebAssembly heap alone is several hundred (docs/DESIGN.md).
 */
interface SqliteOptions {
  /** The database file; undefined keeps it in memory (tests). */
  readonly file: string | undefined
}

/** The driver's own words for a failure: the SqlError's text (the failure itself stays its cause). */
const wordsOf = (cause: unknown): string => (cause instanceof Error ? cause.message : String(cause))

// SQLite's extended result codes the pool can meet (https://sqlite.org/rescode.html).
const SQLITE_BUSY = 5
const SQLITE_LOCKED = 6
const SQLITE_CONSTRAINT = 19
const SQLITE_CONSTRAINT_PRIMARYKEY = 1555
const SQLITE_CONSTRAINT_UNIQUE = 2067

const classify = (cause: unknown, operation: string) => {
  const code = typeof cause === "object" && cause !== null && "errcode" in cause && typeof cause.errcode === "number" ? cause.errcode : -1
  const message = wordsOf(cause)
  if (code === SQLITE_CONSTRAINT_UNIQUE || code === SQLITE_CONSTRAINT_PRIMARYKEY) return new UniqueViolation({ cause, message, operation, constraint: "" })
  if ((code & 0xff) === SQLITE_CONSTRAINT) return new ConstraintError({ cause, message, operation })
  if ((code & 0xff) === SQLITE_BUSY || (code & 0xff) === SQLITE_LOCKED) return new LockTimeoutError({ cause, message, operation })
  return new UnknownError({ cause, message, operation })
}

const fail = (cause: unknown, operation: string) => new SqlError({ reason: classify(cause, operation) })

/** Postgres-dialect text the pool's queries use, as SQLite says it (see the module comment). */
const toSqliteDialect = (sql: string): string =>
  sql
    .replace(/\$(\d+)/g, "?$1")
    .replace(/\s+FOR\s+UPDATE\b/gi, "")
    .replace(/COLLATE\s+"C"/g, "COLLATE BINARY")

const bindable = (value: unknown): SQLInputValue => {
  if (value === undefined || value === null) return null
  if (typeof value === "boolean") return value ? 1 : 0
  if (typeof value === "number" || typeof value === "bigint" || typeof value === "string" || value instanceof Uint8Array) return value
  if (value instanceof Date) return value.toISOString()
  return String(value)
}

/** A decimal string (an optional sign, digits, an optional fraction) as digits and a scale. */
interface Decimal {
  readonly digits: bigint
  readonly scale: number
}

const DECIMAL = /^([+-]?)(\d*)(?:\.(\d*))?$/

const toDecimal = (value: unknown): Decimal => {
  if (typeof value === "bigint") return { digits: value, scale: 0 }
  const text = typeof value === "number" ? (Number.isInteger(value) ? BigInt(value).toString() : String(value)) : String(value).trim()
  const match = DECIMAL.exec(text)
  if (match === null || (match[2] === "" && (match[3] ?? "") === "")) throw new Error(`sum(): ${JSON.stringify(text)} is not a number`)
  const fraction = match[3] ?? ""
  const digits = BigInt(`${match[2] ?? ""}${fraction}` || "0")
  return { digits: match[1] === "-" ? -digits : digits, scale: fraction.length }
}

const addDecimal = (a: Decimal, b: Decimal): Decimal => {
  const scale = Math.max(a.scale, b.scale)
  return { digits: a.digits * 10n ** BigInt(scale - a.scale) + b.digits * 10n ** BigInt(scale - b.scale), scale }
}

const printDecimal = ({ digits, scale }: Decimal): string => {
  if (scale === 0) return digits.toString()
  const sign = digits < 0n ? "-" : ""
  const text = (digits < 0n ? -digits : digits).toString().padStart(scale + 1, "0")
  return `${sign}${text.slice(0, -scale)}.${text.slice(-scale)}`
}

const INTEGER = /^[+-]?\d+$/

/**
 * SQL `sum` as Postgres computes it over int8 and numeric: exact, NULL over no rows (or only
 * NULLs), a decimal string. Integers are added as bigints; a fraction (which the pool never
 * writes) switches the running sum to decimal text, kept exact and then refused by the row
 * codec, as on Postgres.
 */
const exactSum = {
  start: null,
  step: (acc: SQLInputValue, value: SQLInputValue): SQLInputValue => {
    if (value === null) return acc
    if ((acc === null || typeof acc === "bigint") && (typeof value === "bigint" || (typeof value === "string" && INTEGER.test(value)))) return (acc ?? 0n) + BigInt(value)
    return printDecimal(addDecimal(toDecimal(acc ?? 0n), toDecimal(value)))
  },
  result: (acc: SQLInputValue): SQLInputValue => (typeof acc === "bigint" ? acc.toString() : acc),
  useBigIntArguments: true,
  deterministic: true,
}

/** Prepared statements kept per SQL text; the oldest is dropped past this many. */
const STATEMENT_CACHE = 256

const connectionOf = (db: DatabaseSync): Connection => {
  const cache = new Map<string, StatementSync>()
  const prepare = (sql: string): StatementSync => {
    const cached = cache.get(sql)
    if (cached !== undefined) {
      cache.delete(sql)
      cache.set(sql, cached)
      return cached
    }
    const statement = db.prepare(toSqliteDialect(sql))
    statement.setReadBigInts(true)
    cache.set(sql, statement)
    if (cache.size > STATEMENT_CACHE) {
      const oldest = cache.keys().next()
      if (oldest.done !== true) cache.delete(oldest.value)
    }
    return statement
  }
  const run = <A>(sql: string, params: ReadonlyArray<unknown>, arrays: boolean): Effect.Effect<ReadonlyArray<A>, SqlError> =>
    Effect.try({
      try: () => {
        const statement = prepare(sql)
        const values = params.map(bindable)
        if (statement.columns().length === 0) {
          statement.run(...values)
          return []
        }
        statement.setReturnArrays(arrays)
        return statement.all(...values) as unknown as ReadonlyArray<A>
      },
      catch: (cause) => fail(cause, "execute"),
    })
  const rows = (sql: string, params: ReadonlyArray<unknown>, transform: (<A extends object>(row: ReadonlyArray<A>) => ReadonlyArray<A>) | undefined) =>
    run<object>(sql, params, false).pipe(Effect.map((r) => (transform ? transform(r) : r)))
  const arrays = (sql: string, params: ReadonlyArray<unknown>) => run<ReadonlyArray<unknown>>(sql, params, true)
  return {
    execute: rows,
    executeRaw: (sql, params) => (params.length === 0 ? Effect.try({ try: () => db.exec(toSqliteDialect(sql)), catch: (cause) => fail(cause, "execute") }) : run<object>(sql, params, false)),
    executeStream: (sql, params, transform) => Stream.fromIterableEffect(rows(sql, params, transform)),
    executeValues: arrays,
    executeValuesUnprepared: arrays,
    executeUnprepared: rows,
  }
}

/** Opens (creating if needed) the embedded database; closed with the scope. */
const makeSqlite = (options: SqliteOptions) =>
  Effect.gen(function* () {
    const where = options.file ?? "(memory)"
    const db = yield* Effect.acquireRelease(
      Effect.try({
        try: () => {
          if (options.file !== undefined) mkdirSync(dirname(options.file), { recursive: true })
          const db = new DatabaseSync(options.file ?? ":memory:")
          try {
            // WAL: readers never wait for the writer, and a killed process loses nothing committed.
            // synchronous FULL: a commit is on disk when it returns (credits and payouts are money).
            // busy_timeout: a second process on the same file waits for the lock instead of failing.
            db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000")
            db.aggregate("sum", exactSum)
          } catch (e) {
            db.close()
            throw e
          }
          return db
        },
        catch: (cause) =>
          new SqlError({
            reason: new ConnectionError({
              cause,
              message: `cannot open the embedded database at ${where}: ${wordsOf(cause)}; check that the directory is writable and the file is a dcrforge database`,
              operation: "connect",
            }),
          }),
      }),
      (db) => Effect.sync(() => db.close()).pipe(Effect.ignore),
    )
    const semaphore = yield* Semaphore.make(1)
    const connection = connectionOf(db)
    const acquirers = SqlClient.makeSqliteAcquirers({ connection: Effect.succeed(connection), semaphore, isTransaction: () => db.isTransaction })
    return yield* SqlClient.make({
      ...acquirers,
      compiler: makeCompilerSqlite(),
      driver: "node:sqlite",
      beginTransaction: "BEGIN IMMEDIATE",
      spanAttributes: [["db.system.name", "sqlite"]],
    })
  })

/** `SqlClient` over the embedded SQLite database. */
export const sqliteLayer = (options: SqliteOptions): Layer.Layer<SqlClient.SqlClient, SqlError> => Layer.effect(SqlClient.SqlClient, makeSqlite(options)).pipe(Layer.provide(Reactivity.layer))
