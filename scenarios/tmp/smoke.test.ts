import { Effect } from "effect"
import { it, expect } from "vitest"
import { pgliteLayer } from "../../pool/store/pglite.ts"
import { migrate } from "../../pool/store/schema.ts"
import { makePoolStore } from "../../pool/store/store.ts"
it("smoke", async () => {
  const out = await Effect.runPromise(Effect.gen(function* () {
    yield* migrate
    const store = yield* makePoolStore
    yield* store.insertShares([{ id: "a", account: "x", worker: "w", model: "cpu", weight: 10n ** 25n, createdMs: 5, height: 1, instance: "i" }])
    yield* store.insertShares([{ id: "a", account: "x", worker: "w", model: "cpu", weight: 10n ** 25n, createdMs: 5, height: 1, instance: "i" }])
    const page = yield* store.sharesBefore(10, undefined, 10)
    yield* store.insertBlock({ hash: "h", height: 3, account: "x", worker: "w", model: "cpu", foundMs: 6, networkDifficulty: 5n }, 7)
    const c = yield* store.confirmBlock("h", 100n, 1n, [{ account: "x", amount: 99n }], 8)
    const c2 = yield* store.confirmBlock("h", 100n, 1n, [{ account: "x", amount: 99n }], 8)
    yield* store.matureBlock("h", 9)
    const b = yield* store.createBatch(1n, "pool:fee", (a) => a, 10, 11)
    const t = yield* store.accountTotals
    return { page, c, c2, b, t, blocks: yield* store.blocksWithStatus(["matured"]) }
  }).pipe(Effect.scoped, Effect.provide(pgliteLayer({ dataDir: undefined }))))
  console.log(out)
  expect(out.c).toBe(true)
  expect(out.c2).toBe(false)
}, 60000)
