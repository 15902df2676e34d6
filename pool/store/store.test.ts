import { PgClient } from "@effect/sql-pg"
import { Effect, Layer, Redacted, Result, Schema } from "effect"
import * as SqlClient from "effect/sql/SqlClient"
import { afterAll, describe, expect, it } from "vitest"
import { postgresForTests } from "../../testkit/postgres.ts"
import { BACKUP_FORMAT, restore, RestoreError } from "./backup.ts"
import { pgliteLayer } from "./pglite.ts"
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
          yield* sql`DROP TABLE IF EXISTS payments, credits, held_accounts, payout_batches, blocks, shares, meta, dcrforge_migrations CASCADE`
          yield* migrate
          return yield* body
        }).pipe(Effect.provide(poolStoreLayer.pipe(Layer.provideMerge(store.layer()))), Effect.scoped),
      )
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

    it("a status the pool does not know is a StoreRowInvalid naming table, column and value", async () => {
      const failed = await run(
        Effect.gen(function* () {
          const db = yield* PoolStore
          const sql = yield* SqlClient.SqlClient
          yield* db.insertBlock(block("aa", 1, 3n), 1)
          // Another program (or a schema from elsewhere) without the CHECK the migration made.
          yield* sql`ALTER TABLE blocks DROP CONSTRAINT blocks_status_check`
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
      ])
      // The parser's own error is kept as the cause, not flattened into the text.
      expect(refusals[0] instanceof RestoreError && refusals[0].cause instanceof SyntaxError).toBe(true)
    })
  })
}
