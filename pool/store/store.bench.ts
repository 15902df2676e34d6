import { PgClient } from "@effect/sql-pg"
import { Effect, Layer, Redacted, References } from "effect"
import type * as SqlClient from "effect/sql/SqlClient"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { DIFFICULTY_SCALE } from "../../core/stratum/difficulty.ts"
import { SIMNET } from "../../core/chain/params.ts"
import { sig3, type Bench, type BenchFigure } from "../../testkit/bench.ts"
import { makeMemoryWallet } from "../../testkit/memory-wallet.ts"
import { makeMiniNode } from "../../testkit/mini-node.ts"
import { noCrashPoints } from "../ops/crash-points.ts"
import type { AcceptedShare } from "../stratum/session.ts"
import { makeStoreAccounting } from "../accounting/store-accounting.ts"
import { postgresForTests } from "../../testkit/postgres.ts"
import { pgliteLayer } from "./pglite.ts"
import { sqliteLayer } from "./sqlite.ts"
import { migrate } from "./schema.ts"
import { PoolStore, poolStoreLayer } from "./store.ts"

/**
 * Issue 6's figures, on the embedded store (PGlite on disk) and on PostgreSQL (DCRFORGE_PG_URL's
 * server, or a private cluster started for the run):
 * - sustained share persistence: 1,000 connections each submitting shares one after another
 *   (a submit returns once its share is committed), 60,000 shares;
 * - payout batch time: 10,000 accounts with payable credits, from reserving the credits to the
 *   published batch (memory wallet: the store's part, not the wallet's).
 */
const CONNECTIONS = 1_000
const SHARES = 60_000
const ACCOUNTS = 10_000

const measure = (storeName: string, layer: Layer.Layer<SqlClient.SqlClient, unknown>) =>
  Effect.gen(function* () {
    const node = yield* makeMiniNode(SIMNET, 0x2000ffff, 100, 1_000_000_000n)
    const wallet = makeMemoryWallet()
    return yield* Effect.gen(function* () {
      yield* migrate
      const store = yield* PoolStore
      const acc = yield* makeStoreAccounting({
        network: SIMNET,
        instance: "bench",
        scheme: { kind: "pplns", windowMultiple: { numerator: 2n, denominator: 1n } },
        feeBasisPoints: 100,
        minimumPayout: 1n,
        feeAddress: "SsFee",
        coinbaseMaturity: 16,
        maxShareBatch: 4000,
      })
      const share = (n: number): AcceptedShare => ({
        id: `s${n}`,
        account: `SsAccount${n % 997}`,
        worker: `w${n % CONNECTIONS}`,
        difficulty: 4n * DIFFICULTY_SCALE,
        time: 1_000_000 + n,
        jobId: "j",
        height: 101,
        networkDifficulty: 1000n * DIFFICULTY_SCALE,
        model: "gominer",
      })
      let next = 0
      const t0 = performance.now()
      yield* Effect.forEach(
        Array.from({ length: CONNECTIONS }),
        () =>
          Effect.gen(function* () {
            while (next < SHARES) yield* acc.recordShares([share(next++)])
          }),
        { concurrency: "unbounded", discard: true },
      )
      const sharesPerSecond = SHARES / ((performance.now() - t0) / 1000)
      const batches = acc.counters.shareBatches

      // 10,000 accounts owed from one matured block.
      const rows = Array.from({ length: ACCOUNTS }, (_, i) => ({ source: "bench-block", account: `SsPayee${i}`, amount: String(100_000 + i), created_ms: 1, payable: true }))
      for (let i = 0; i < rows.length; i += 2000) yield* store.sql`INSERT INTO credits ${store.sql.insert(rows.slice(i, i + 2000) as unknown as readonly [Record<string, unknown>])}`
      const t1 = performance.now()
      yield* acc.settle(200)
      const payoutMs = performance.now() - t1
      const published = wallet.published[0]?.outputs.length ?? 0
      if (published !== ACCOUNTS) throw new Error(`payout batch paid ${published} outputs, expected ${ACCOUNTS}`)
      return [
        { name: `share persistence, ${storeName}`, value: sig3(sharesPerSecond), unit: "shares/s" },
        { name: `shares per commit, ${storeName}`, value: sig3(SHARES / batches), unit: "shares" },
        { name: `payout batch of ${ACCOUNTS} accounts, ${storeName}`, value: sig3(payoutMs), unit: "ms" },
      ] satisfies ReadonlyArray<BenchFigure>
    }).pipe(Effect.provide(Layer.mergeAll(poolStoreLayer, node.layer, wallet.layer, noCrashPoints).pipe(Layer.provideMerge(layer))))
  }).pipe(Effect.scoped, Effect.provideService(References.MinimumLogLevel, "Error"))

export const benches: ReadonlyArray<Bench> = [
  {
    name: "store",
    run: async () => {
      const dir = mkdtempSync(join(tmpdir(), "dcrforge-bench-"))
      try {
        const embedded = await Effect.runPromise(measure("embedded", sqliteLayer({ file: join(dir, "pool.sqlite") })))
        const pglite = await Effect.runPromise(measure("pglite", pgliteLayer({ dataDir: join(dir, "pglite") })))
        const pg = await postgresForTests()
        if ("skip" in pg) throw new Error(`no PostgreSQL for the bench: ${pg.skip}`)
        try {
          const server = await Effect.runPromise(measure("postgres", PgClient.layer({ url: Redacted.make(pg.url) })))
          return [...embedded, ...pglite, ...server]
        } finally {
          await pg.stop()
        }
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    },
  },
]
