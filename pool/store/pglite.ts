import type { PGlite } from "@electric-sql/pglite"
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { makeCompiler } from "@effect/sql-pg/PgClient"
import { Effect, Layer, Semaphore, Stream } from "effect"
import * as Reactivity from "effect/reactivity/Reactivity"
import * as SqlClient from "effect/sql/SqlClient"
import type { Connection } from "effect/sql/SqlConnection"
import { SqlError, UniqueViolation, SerializationError, DeadlockError, UnknownError, ConnectionError } from "effect/sql/SqlError"

/**
 * PGlite (Postgres compiled to WebAssembly) as a store: the embedded store of data directories
 * made before SQLite became it (sqlite.ts), and the simulator's. In the pool's data directory,
 * adapted to Effect's `SqlClient` so the pool runs the same schema and queries on it as on a
 * Postgres server. PGlite has one connection, so a semaphore gives a transaction the
 * connection for its whole length (other queries wait), as Effect's SQLite clients do.
 */
interface PgliteOptions {
  /** Directory of the database files; undefined keeps it in memory (tests). */
  readonly dataDir: string | undefined
}

/** The driver's own words for a failure: the SqlError's text (the failure itself stays its cause). */
const wordsOf = (cause: unknown): string => (cause instanceof Error ? cause.message : String(cause))

/** Postgres SQLSTATE classes the pool reacts to; everything else is reported as it came. */
const classify = (cause: unknown, operation: string) => {
  const code = typeof cause === "object" && cause !== null && "code" in cause ? String(cause.code) : ""
  const message = wordsOf(cause)
  if (code === "23505") return new UniqueViolation({ cause, message, operation, constraint: "" })
  if (code === "40001") return new SerializationError({ cause, message, operation })
  if (code === "40P01") return new DeadlockError({ cause, message, operation })
  return new UnknownError({ cause, message, operation })
}

const fail = (cause: unknown, operation: string) => new SqlError({ reason: classify(cause, operation) })

// Parameters: bigint goes as text (Postgres casts it where the column is numeric or int8).
const params = (values: ReadonlyArray<unknown>): Array<unknown> => values.map((v) => (typeof v === "bigint" ? v.toString() : v))

const connectionOf = (db: PGlite): Connection => {
  const run = <A>(operation: string, f: () => Promise<A>) => Effect.tryPromise({ try: f, catch: (cause) => fail(cause, operation) })
  const rows = (sql: string, values: ReadonlyArray<unknown>) => run("execute", () => db.query<Record<string, unknown>>(sql, params(values))).pipe(Effect.map((r) => r.rows))
  const arrays = (sql: string, values: ReadonlyArray<unknown>) => run("execute", () => db.query<Array<unknown>>(sql, params(values), { rowMode: "array" })).pipe(Effect.map((r) => r.rows))
  return {
    execute: (sql, values, transform) => rows(sql, values).pipe(Effect.map((r) => (transform ? transform(r) : r))),
    executeRaw: (sql, values) => (values.length === 0 ? run("execute", () => db.exec(sql)) : run("execute", () => db.query(sql, params(values)))),
    executeStream: (sql, values, transform) => Stream.fromIterableEffect(rows(sql, values).pipe(Effect.map((r) => (transform ? transform(r) : r)))),
    executeValues: arrays,
    executeValuesUnprepared: arrays,
    executeUnprepared: (sql, values, transform) => rows(sql, values).pipe(Effect.map((r) => (transform ? transform(r) : r))),
  }
}

/** Whether process `pid` lives (EPERM: it does, as another user; only ESRCH says it is gone). */
export const processAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM"
  }
}

/** The lock file of an embedded data directory: the owner's pid. */
const lockPath = (dir: string): string => join(dir, "dcrforge.lock")

/**
 * The live process holding the embedded database in `dir` (its pid), or undefined when none
 * does (no lock, or the lock of a process that is gone): the commands that would open the files
 * ask the running pool instead.
 */
export const embeddedStoreOwner = (dir: string): number | undefined => {
  let owner: number
  try {
    owner = Number(readFileSync(lockPath(dir), "utf8"))
  } catch {
    return undefined
  }
  return Number.isInteger(owner) && owner > 0 && processAlive(owner) ? owner : undefined
}

/**
 * One process per data directory: two PGlite instances on the same files would corrupt them.
 * The lock holds the owner's pid; a lock left by a killed process (its pid gone) is taken over.
 */
const lockDataDir = (dir: string) =>
  Effect.acquireRelease(
    Effect.try({
      try: () => {
        mkdirSync(dir, { recursive: true })
        const path = lockPath(dir)
        for (let attempt = 0; attempt < 2; attempt++) {
          try {
            writeFileSync(path, String(process.pid), { flag: "wx" })
            return path
          } catch (e) {
            if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e
            const owner = Number(readFileSync(path, "utf8"))
            if (Number.isInteger(owner) && owner !== process.pid && processAlive(owner)) {
              throw new Error(`the embedded database at ${dir} is in use by process ${owner}; stop that pool first (or point this one at another --datadir)`)
            }
            rmSync(path, { force: true })
          }
        }
        throw new Error(`cannot take the lock ${path}`)
      },
      catch: (cause) => new SqlError({ reason: new ConnectionError({ cause, message: wordsOf(cause), operation: "connect" }) }),
    }),
    (path) => Effect.sync(() => rmSync(path, { force: true })),
  )

/** Opens (creating if needed) the embedded database; closed with the scope. */
const makePglite = (options: PgliteOptions) =>
  Effect.gen(function* () {
    if (options.dataDir !== undefined) yield* lockDataDir(options.dataDir)
    const db = yield* Effect.acquireRelease(
      Effect.tryPromise({
        // Loaded only when opened: the module alone adds to every process that merely may use it.
        try: () => import("@electric-sql/pglite").then(({ PGlite }) => PGlite.create(options.dataDir)),
        catch: (cause) =>
          new SqlError({
            reason: new ConnectionError({
              cause,
              message: `cannot open the embedded database at ${options.dataDir ?? "(memory)"}: ${wordsOf(cause)}; check that the directory is writable and not used by another pool process`,
              operation: "connect",
            }),
          }),
      }),
      (db) => Effect.promise(() => db.close()).pipe(Effect.ignore),
    )
    const semaphore = yield* Semaphore.make(1)
    const connection = connectionOf(db)
    const acquirers = SqlClient.makeSqliteAcquirers({ connection: Effect.succeed(connection), semaphore })
    const client = yield* SqlClient.make({
      ...acquirers,
      compiler: makeCompiler(),
      driver: "pglite",
      spanAttributes: [["db.system.name", "postgresql"]],
    })
    return { client, db }
  })

/** `SqlClient` over an embedded database. */
export const pgliteLayer = (options: PgliteOptions): Layer.Layer<SqlClient.SqlClient, SqlError> =>
  Layer.effect(SqlClient.SqlClient, makePglite(options).pipe(Effect.map((x) => x.client))).pipe(Layer.provide(Reactivity.layer))
