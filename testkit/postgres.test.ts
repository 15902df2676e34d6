import { PgClient } from "@effect/sql-pg"
import { Effect, Redacted } from "effect"
import { SqlClient } from "effect/sql"
import { afterAll, describe, expect, it } from "vitest"
import { postgresForTests } from "./postgres.ts"

/**
 * The storage suites' PostgreSQL (testkit/postgres.ts): DCRFORGE_PG_URL's server or a
 * private cluster, one fresh database per file. Skips only outside CI, when there is no engine.
 */
const pg = await postgresForTests()
const server = "skip" in pg ? undefined : pg

afterAll(() => server?.stop())

const withSql = <A, E>(body: Effect.Effect<A, E, SqlClient.SqlClient>): Promise<A> => Effect.runPromise(body.pipe(Effect.provide(PgClient.layer({ url: Redacted.make(server!.url) })), Effect.scoped))

describe.skipIf(server === undefined)(`PostgreSQL for tests${"skip" in pg ? ` (skipped: ${pg.skip})` : ""}`, () => {
  it("connects to a real server", async () => {
    const rows = await withSql(
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        return yield* sql<{ version: string; db: string }>`select version() as version, current_database() as db`
      }),
    )
    expect(rows[0]?.version).toMatch(/^PostgreSQL \d+/)
    expect(rows[0]?.db).toMatch(/^dcrforge_test_/)
  })

  it("round-trips a table: create, insert, select", async () => {
    const rows = await withSql(
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        yield* sql`create table shares (id serial primary key, worker text not null, difficulty bigint not null)`
        yield* sql`insert into shares ${sql.insert([
          { worker: "rig1", difficulty: 8 },
          { worker: "rig2", difficulty: 4_294_967_296 },
        ])}`
        return yield* sql<{ worker: string; difficulty: string }>`select worker, difficulty::text as difficulty from shares order by id`
      }),
    )
    expect(rows).toEqual([
      { worker: "rig1", difficulty: "8" },
      { worker: "rig2", difficulty: "4294967296" },
    ])
  })

  it("gives each caller its own database", async () => {
    const other = await postgresForTests()
    if ("skip" in other) throw new Error(other.skip)
    try {
      expect(new URL(other.url).pathname).not.toBe(new URL(server!.url).pathname)
    } finally {
      await other.stop()
    }
  })
})
