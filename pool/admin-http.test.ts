import { Effect, Layer, Redacted } from "effect"
import { SIMNET } from "../core/chain/params.ts"
import { describe, expect, it } from "vitest"
import { DIFFICULTY_SCALE } from "../core/payout/amounts.ts"
import { serveAdminHttp } from "./admin-http.ts"
import { restore } from "./store/backup.ts"
import { pgliteLayer } from "./store/pglite.ts"
import { migrate } from "./store/schema.ts"
import { PoolStore, poolStoreLayer } from "./store/store.ts"
import type { PoolLiveState } from "./http-api.ts"

const live: PoolLiveState = {
  network: SIMNET,
  mode: "pool",
  scheme: { kind: "pplns", windowMultiple: { numerator: 2n, denominator: 1n } },
  feeBasisPoints: 100,
  counters: { connected: 3, connectionsTotal: 4, refusedPerHost: 0, sharesAccepted: 10, sharesRejected: 1, blockCandidates: 0, badMessages: 0 },
  workHeight: () => 120,
  hashrates: () => Effect.succeed({ clients: [], accounts: new Map([["SsA", 1234.4]]) }),
}
const storeLayer = () => poolStoreLayer.pipe(Layer.provideMerge(pgliteLayer({ dataDir: undefined })))

describe("admin API: backup", () => {
  it("POST /admin/backup streams a snapshot to the admin only, and it restores", async () => {
    const { unauthorized, wrong, ok, lines } = await Effect.runPromise(
      Effect.gen(function* () {
        yield* migrate
        const store = yield* PoolStore
        yield* store.insertShares([{ id: "s1", account: "SsA", worker: "w", model: "gominer", weight: 5n * DIFFICULTY_SCALE, createdMs: 1, height: 101, networkDifficulty: 9n, instance: "i" }])
        const { port } = yield* serveAdminHttp({ host: "127.0.0.1", port: 0, adminPassword: Redacted.make("s3cret"), live })
        const post = (auth?: string) =>
          Effect.promise(() => fetch(`http://127.0.0.1:${port}/admin/backup`, { method: "POST", headers: auth === undefined ? {} : { authorization: `Basic ${btoa(auth)}` } }))
        const unauthorized = (yield* post()).status
        const wrong = (yield* post("admin:guess")).status
        const response = yield* post("admin:s3cret")
        const text = yield* Effect.promise(() => response.text())
        return { unauthorized, wrong, ok: response.status, lines: text.split("\n") }
      }).pipe(Effect.scoped, Effect.provide(storeLayer())),
    )
    expect([unauthorized, wrong, ok]).toEqual([401, 401, 200])
    const counts = await Effect.runPromise(restore(lines).pipe(Effect.scoped, Effect.provide(pgliteLayer({ dataDir: undefined }))))
    expect(counts.shares).toBe(1)
  }, 60_000)
})

describe("JSON API", () => {
  it("reports live pool state and stored accounts, and refuses a bad page size clearly", async () => {
    const replies = await Effect.runPromise(
      Effect.gen(function* () {
        yield* migrate
        const store = yield* PoolStore
        yield* store.insertShares([{ id: "s1", account: "SsA", worker: "w", model: "gominer", weight: 5n * DIFFICULTY_SCALE, createdMs: 1, height: 101, networkDifficulty: 9n, instance: "i" }])
        const { port } = yield* serveAdminHttp({ host: "127.0.0.1", port: 0, adminPassword: undefined, live })
        const get = (path: string) =>
          Effect.promise(async () => {
            const r = await fetch(`http://127.0.0.1:${port}${path}`)
            return { status: r.status, body: (await r.json()) as Record<string, unknown> }
          })
        const backup = yield* Effect.promise(() => fetch(`http://127.0.0.1:${port}/admin/backup`, { method: "POST" }))
        return {
          pool: yield* get("/api/pool"),
          accounts: yield* get("/api/accounts"),
          blocks: yield* get("/api/blocks?limit=5"),
          badLimit: yield* get("/api/blocks?limit=0"),
          missing: yield* get("/api/nothing"),
          backupWithoutPassword: backup.status,
        }
      }).pipe(Effect.scoped, Effect.provide(storeLayer())),
    )
    expect(replies.pool.body).toMatchObject({ network: "simnet", scheme: "pplns", workHeight: 120, connectedMiners: 3, sharesAccepted: 10, hashesPerSecond: 1234 })
    expect(replies.accounts.status).toBe(200)
    expect(replies.blocks.body).toEqual({ blocks: [] })
    expect(replies.badLimit.status).toBe(400)
    expect(String(replies.badLimit.body.error)).toContain("limit must be a whole number from 1 to 500")
    expect(replies.missing.status).toBe(404)
    expect(replies.backupWithoutPassword).toBe(403)
  }, 60_000)
})
