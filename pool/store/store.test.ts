import { PgClient } from "@effect/sql-pg"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Context, Deferred, Effect, Fiber, Layer, Redacted, Result, Schema } from "effect"
import * as SqlClient from "effect/sql/SqlClient"
import { afterAll, describe, expect, it } from "vitest"
import { postgresForTests } from "../../testkit/postgres.ts"
import { BACKUP_FORMAT, backup, restore, RestoreError } from "./backup.ts"
import { pgliteLayer } from "./pglite.ts"
import { sqliteLayer } from "./sqlite.ts"
import { BigIntColumn, NullableColumn, NumberColumn } from "./rows.ts"
import { migrate } from "./schema.ts"
import { PoolStore, poolStoreLayer, StoreRowInvalid } from "./store.ts"

/**
 * Rows are decoded by schema on both stores: the drivers' integers (PGlite: an int8 as a number
 * when safe, a bigint when not; Postgres: always a bigint; numeric a string on both) come out
 * exact, and a row the schema does not describe is a `StoreRowInvalid` naming table, column and
 * value, never a silent cast.
 */
const pg = await postgresForTests()
afterAll(() => ("skip" in pg ? undefined : pg.stop()))

const stores: ReadonlyArray<{ readonly name: string; readonly layer: () => Layer.Layer<SqlClient.SqlClient, unknown> }> = [
  { name: "embedded (SQLite)", layer: () => sqliteLayer({ file: undefined }) },
  { name: "embedded (PGlite)", layer: () => pgliteLayer({ dataDir: undefined }) },
  ...("skip" in pg ? [] : [{ name: "PostgreSQL", layer: () => PgClient.layer({ url: Redacted.make(pg.url) }) }]),
]

const decode =
  <T, E>(column: Schema.Codec<T, E>) =>
  (value: unknown) =>
    Schema.decodeUnknownResult(column)(value)

describe("column codecs", () => {
  it("an integer column takes a bigint, a safe integer or a decimal string, exactly", () => {
    const big = decode(BigIntColumn)
    expect(Result.getOrThrow(big(7))).toBe(7n)
    expect(Result.getOrThrow(big(9223372036854775807n))).toBe(9223372036854775807n)
    expect(Result.getOrThrow(big("12345678901234567890123"))).toBe(12345678901234567890123n)
    expect(Result.getOrThrow(big("-5"))).toBe(-5n)
    // What would lose digits or is no integer is refused, never rounded.
    for (const bad of [2 ** 60, 1.5, "1.5", "1e3", "", null, undefined, true]) expect(Result.isFailure(big(bad))).toBe(true)
  })

  it("a number column refuses what a number cannot hold exactly", () => {
    const num = decode(NumberColumn)
    expect(Result.getOrThrow(num(42))).toBe(42)
    expect(Result.getOrThrow(num(42n))).toBe(42)
    expect(Result.getOrThrow(num("9007199254740991"))).toBe(9007199254740991)
    for (const bad of [9007199254740993n, "9007199254740993", 0.5, Number.NaN]) expect(Result.isFailure(num(bad))).toBe(true)
  })

  it("a nullable column reads NULL as undefined", () => {
    expect(Result.getOrThrow(decode(NullableColumn(BigIntColumn))(null))).toBe(undefined)
    expect(Result.getOrThrow(decode(NullableColumn(BigIntColumn))("3"))).toBe(3n)
  })
})

for (const store of stores) {
  describe(`rows decoded on the ${store.name} store`, () => {
    /** `body` on a freshly migrated schema (tests here drop constraints, so no truncate will do). */
    const run = <A, E>(body: Effect.Effect<A, E, PoolStore | SqlClient.SqlClient>) =>
      Effect.runPromise(
        Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          // (An embedded store is new and empty each time.)
          yield* sql.onDialectOrElse({
            sqlite: () => Effect.void,
            orElse: () => sql`DROP TABLE IF EXISTS payments, credits, held_accounts, leases, share_watermarks, payout_batches, blocks, shares, meta, dcrforge_migrations CASCADE`,
          })
          yield* migrate
          return yield* body
        }).pipe(Effect.provide(poolStoreLayer.pipe(Layer.provideMerge(store.layer()))), Effect.scoped),
      )
    /** Another program (or a schema from elsewhere) without the CHECKs the migration made. */
    const dropChecks = Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      // SQLite cannot drop a constraint; it can stop checking them.
      yield* sql.onDialectOrElse({
        sqlite: () => sql`PRAGMA ignore_check_constraints = ON`,
        // (Postgres' weight check, weight > 0, lets a fraction through already.)
        orElse: () => sql`ALTER TABLE blocks DROP CONSTRAINT blocks_status_check`,
      })
    })
    const block = (hash: string, height: number, networkDifficulty: bigint) => ({
      hash,
      height,
      account: "acct",
      worker: "w",
      model: "cpu",
      foundMs: 1_700_000_000_000,
      networkDifficulty,
    })

    it("int8 and numeric columns come out exact, small or beyond 2^53, NULL as undefined", async () => {
      const rows = await run(
        Effect.gen(function* () {
          const db = yield* PoolStore
          const sql = yield* SqlClient.SqlClient
          yield* db.insertBlock(block("aa", 1, 3n), 1)
          yield* db.insertBlock(block("bb", 2, 2n ** 70n + 1n), 1)
          yield* db.insertBlock(block("cc", 3, 5n), 1)
          yield* db.confirmBlock("aa", 7n, 1n, [], 2)
          yield* db.confirmBlock("bb", 9223372036854775807n, 9007199254740993n, [], 2)
          yield* sql`UPDATE blocks SET found_ms = 9007199254740991 WHERE hash = 'cc'`
          return yield* db.blocksPage(10, 0)
        }),
      )
      expect(rows.map((r) => [r.hash, r.height, r.foundMs, r.networkDifficulty, r.status, r.reward, r.fee])).toEqual([
        ["cc", 3, 9007199254740991, 5n, "accepted", undefined, undefined],
        ["bb", 2, 1_700_000_000_000, 2n ** 70n + 1n, "confirmed", 9223372036854775807n, 9007199254740993n],
        ["aa", 1, 1_700_000_000_000, 3n, "confirmed", 7n, 1n],
      ])
    })

    it("sums of share weights are exact past 2^53 and 2^63, as the accounting needs", async () => {
      const share = (id: string, account: string, weight: bigint, createdMs: number) => ({
        id,
        account,
        worker: "w",
        model: "cpu",
        weight,
        createdMs,
        height: 1,
        networkDifficulty: 2n ** 80n + 7n,
        instance: "a",
      })
      const big = 2n ** 70n + 1n
      const result = await run(
        Effect.gen(function* () {
          const db = yield* PoolStore
          yield* db.insertShares([share("s1", "acct", big, 10), share("s2", "acct", big + 2n, 11), share("s3", "other", 2n ** 53n + 1n, 12), share("s4", "other", 1n, 13)])
          return { work: yield* db.workBetween(0, 100), count: yield* db.shareCount, since: yield* db.workSince(0) }
        }),
      )
      expect(result.work).toEqual(
        new Map([
          ["acct", 2n * big + 2n],
          ["other", 2n ** 53n + 2n],
        ]),
      )
      expect(result.count).toEqual({ shares: 4, weight: 2n * big + 2n ** 53n + 4n })
      // (GROUP BY promises no order: sorted by account here.)
      expect(result.since.map((w) => [w.account, w.weight, w.shares, w.lastMs]).sort((x, y) => String(x[0]).localeCompare(String(y[0])))).toEqual([
        ["acct", 2n * big + 2n, 2, 11],
        ["other", 2n ** 53n + 2n, 2, 13],
      ])
    })

    it("a status the pool does not know is a StoreRowInvalid naming table, column and value", async () => {
      const failed = await run(
        Effect.gen(function* () {
          const db = yield* PoolStore
          const sql = yield* SqlClient.SqlClient
          yield* db.insertBlock(block("aa", 1, 3n), 1)
          yield* dropChecks
          yield* sql`UPDATE blocks SET status = 'stale'`
          return yield* Effect.flip(db.blocksPage(10, 0))
        }),
      )
      expect(failed).toBeInstanceOf(StoreRowInvalid)
      if (!(failed instanceof StoreRowInvalid)) return
      expect([failed.table, failed.column, failed.value]).toEqual(["blocks", "status", '"stale"'])
      expect(failed.message).toContain("./dcrforge pool migrate")
      expect(failed.cause._tag).toBe("SchemaError")
    })

    it("a fractional share weight is refused, not rounded", async () => {
      const failed = await run(
        Effect.gen(function* () {
          const db = yield* PoolStore
          const sql = yield* SqlClient.SqlClient
          yield* dropChecks
          yield* sql`INSERT INTO shares (id, account, worker, model, weight, created_ms, height, network_difficulty, instance)
                     VALUES ('s1', 'acct', 'w', 'cpu', 1.5, 10, 1, 1, 'a')`
          return yield* Effect.flip(db.workBetween(0, 100))
        }),
      )
      expect(failed).toBeInstanceOf(StoreRowInvalid)
      if (!(failed instanceof StoreRowInvalid)) return
      expect([failed.table, failed.column, failed.value]).toEqual(["shares", "weight", '"1.5"'])
    })

    it("a restore refuses a line that is not a backup's, saying which and why", async () => {
      const header = JSON.stringify({ format: BACKUP_FORMAT, tables: [] })
      const refusals = await run(
        Effect.forEach(
          [
            ["{not json"],
            [JSON.stringify({ format: "other/1" })],
            [header, JSON.stringify([1, 2])],
            [header, JSON.stringify({ table: "nope", row: [] })],
            [header, JSON.stringify({ table: "meta", row: ["next_batch", 7] })],
            [header, JSON.stringify({ table: "meta", row: ["next_batch"] })],
            [header, JSON.stringify({ table: "shares", row: ["s1", "1", "acct", "w", "cpu", "5", "10", "1", "1", "a", "maybe"] })],
          ],
          (lines) => Effect.flip(restore(lines)),
        ),
      )
      expect(refusals.map((e) => (e instanceof RestoreError ? e.reason : e._tag))).toEqual([
        "line 1 is not JSON",
        `line 1 is not a ${BACKUP_FORMAT} header; is this a dcrforge backup?`,
        "line 2 is not a table row",
        'line 2: unknown table "nope" or a row of the wrong shape',
        'line 2: unknown table "meta" or a row of the wrong shape',
        'line 2: unknown table "meta" or a row of the wrong shape',
        'line 2: shares.pps_settled is "maybe", not true or false',
      ])
      // The parser's own error is kept as the cause, not flattened into the text.
      expect(refusals[0] instanceof RestoreError && refusals[0].cause instanceof SyntaxError).toBe(true)
    })
  })
}

describe("the embedded SQLite file shared with another process", () => {
  it("a backup from another connection reads a consistent snapshot without waiting for the pool's open write transaction", async () => {
    const dir = mkdtempSync(join(tmpdir(), "dcrforge-store-"))
    const file = join(dir, "pool.sqlite")
    const share = (id: string) => ({ id, account: "acct", worker: "w", model: "cpu", weight: 5n, createdMs: 10, height: 1, networkDifficulty: 1n, instance: "a" })
    try {
      const result = await Effect.runPromise(
        Effect.gen(function* () {
          const pool = yield* Layer.build(poolStoreLayer.pipe(Layer.provideMerge(sqliteLayer({ file }))))
          // A second connection to the same file: what `./dcrforge pool backup` opens while the pool runs.
          const other = yield* Layer.build(sqliteLayer({ file }))
          const db = Context.get(pool, PoolStore)
          yield* migrate.pipe(Effect.provideContext(pool))
          yield* db.insertShares([share("s1")])
          const writing = yield* Deferred.make<void>()
          const release = yield* Deferred.make<void>()
          const writer = yield* db.sql
            .withTransaction(Effect.andThen(db.insertShares([share("s2")]), Effect.andThen(Deferred.succeed(writing, undefined), Deferred.await(release))))
            .pipe(Effect.forkChild)
          yield* Deferred.await(writing)
          const lines: Array<string> = []
          yield* backup((line) => Effect.sync(() => void lines.push(line))).pipe(Effect.provideContext(other))
          yield* Deferred.succeed(release, undefined)
          yield* Fiber.join(writer)
          return { backedUp: lines.filter((l) => l.startsWith('{"table":"shares"')).length, after: (yield* db.shareCount).shares }
        }).pipe(Effect.scoped),
      )
      // The committed share is in the backup, the one still being written is not, and the
      // writer committed after the backup: neither waited for the other.
      expect(result).toEqual({ backedUp: 1, after: 2 })
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
