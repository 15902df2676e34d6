import { Effect, Redacted } from "effect"
import { describe, expect, it } from "vitest"
import { DIFFICULTY_SCALE } from "../core/payout/amounts.ts"
import { serveAdminHttp } from "./admin-http.ts"
import { restore } from "./store/backup.ts"
import { pgliteLayer } from "./store/pglite.ts"
import { migrate } from "./store/schema.ts"
import { makePoolStore } from "./store/store.ts"

describe("admin API: backup", () => {
  it("POST /admin/backup streams a snapshot to the admin only, and it restores", async () => {
    const { unauthorized, wrong, ok, lines } = await Effect.runPromise(
      Effect.gen(function* () {
        yield* migrate
        const store = yield* makePoolStore
        yield* store.insertShares([{ id: "s1", account: "SsA", worker: "w", model: "gominer", weight: 5n * DIFFICULTY_SCALE, createdMs: 1, height: 101, networkDifficulty: 9n, instance: "i" }])
        const { port } = yield* serveAdminHttp({ host: "127.0.0.1", port: 0, adminPassword: Redacted.make("s3cret") })
        const post = (auth?: string) =>
          Effect.promise(() => fetch(`http://127.0.0.1:${port}/admin/backup`, { method: "POST", headers: auth === undefined ? {} : { authorization: `Basic ${btoa(auth)}` } }))
        const unauthorized = (yield* post()).status
        const wrong = (yield* post("admin:guess")).status
        const response = yield* post("admin:s3cret")
        const text = yield* Effect.promise(() => response.text())
        return { unauthorized, wrong, ok: response.status, lines: text.split("\n") }
      }).pipe(Effect.scoped, Effect.provide(pgliteLayer({ dataDir: undefined }))),
    )
    expect([unauthorized, wrong, ok]).toEqual([401, 401, 200])
    const counts = await Effect.runPromise(restore(lines).pipe(Effect.scoped, Effect.provide(pgliteLayer({ dataDir: undefined }))))
    expect(counts.shares).toBe(1)
  }, 60_000)
})
