import { Effect, Layer, Redacted, Result } from "effect"
import type * as SqlClient from "effect/sql/SqlClient"
import { mkdtempSync, readFileSync, rmSync, statSync, existsSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { encodeAddress } from "../../core/chain/address.ts"
import { SIMNET } from "../../core/chain/params.ts"
import { POOL_FEE_ACCOUNT } from "../../core/payout/ledger.ts"
import { DIFFICULTY_SCALE } from "../../core/stratum/difficulty.ts"
import { serveAdminHttp } from "../http/server.ts"
import { backup, restore } from "../store/backup.ts"
import { pgliteLayer } from "../store/pglite.ts"
import { migrate } from "../store/schema.ts"
import { PoolStore, poolStoreLayer } from "../store/store.ts"
import { selfSignedCertificate } from "../../testkit/tls.ts"
import { backupCommand, statusLines } from "./cli.ts"
import { loadConfig } from "./config.ts"
import { newControlToken, publishRunningPool } from "./control.ts"
import { formatStatus, gatherStatus } from "./status.ts"

/**
 * `pool backup` and `pool status` against a pool that holds the embedded store: this process
 * plays the running pool (it takes the data directory's lock, serves the admin server and
 * publishes its token), and the commands, finding the lock held by a live process, ask it.
 */
const ADDRESS = encodeAddress("p2pkh-ecdsa-secp256k1", new Uint8Array(20).fill(7), SIMNET)
const dirs: Array<string> = []
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })))
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), "dcrforge-control-"))
  dirs.push(dir)
  return dir
}

const configFor = (dataDir: string) => {
  const loaded = loadConfig({ argv: [`--datadir=${dataDir}`, "--rpcuser=u", "--rpcpass=p", `--poolfeeaddrs=${ADDRESS}`], env: {}, readFile: () => undefined, home: "/nonexistent" })
  if (Result.isFailure(loaded)) throw new Error(loaded.failure.message)
  return loaded.success
}

/** Pool books of every table: shares, a confirmed block with credits, a batch with payments, a held account. */
const fillStore = Effect.gen(function* () {
  yield* migrate
  const store = yield* PoolStore
  const shares = Array.from({ length: 120 }, (_, i) => ({
    id: `s${i}`,
    account: ADDRESS,
    worker: `w${i % 3}`,
    model: "cpuminer",
    weight: BigInt(1 + i) * DIFFICULTY_SCALE,
    createdMs: 1000 + i,
    height: 100,
    networkDifficulty: 50n * DIFFICULTY_SCALE,
    instance: "pool-1",
  }))
  yield* store.insertShares(shares)
  yield* store.insertBlock({ hash: "ab".repeat(32), height: 101, account: ADDRESS, worker: "w0", model: "cpuminer", foundMs: 1200, networkDifficulty: 50n * DIFFICULTY_SCALE }, 1300)
  yield* store.confirmBlock(
    "ab".repeat(32),
    1_000_000_000n,
    10_000_000n,
    [
      { account: ADDRESS, amount: 990_000_000n },
      { account: POOL_FEE_ACCOUNT, amount: 10_000_000n },
    ],
    1400,
  )
  yield* store.matureBlock("ab".repeat(32), 1500)
  yield* store.createBatch(1n, POOL_FEE_ACCOUNT, (a) => (a === POOL_FEE_ACCOUNT ? ADDRESS : a), 120, 1600)
  yield* store.sql`INSERT INTO held_accounts ${store.sql.insert({ account: "SsHeld", address: "SsHeld", reason: "refused", held_ms: 1700 })}`
})

/** Runs `body` while this process is "the running pool" on `dataDir`'s embedded store. */
const whileRunning = <A, E>(
  dataDir: string,
  tls: { readonly cert: string; readonly key: string } | undefined,
  body: Effect.Effect<A, E, PoolStore | SqlClient.SqlClient>,
  how: { readonly publish?: boolean; readonly publishedCert?: string } = {},
) =>
  Effect.runPromise(
    Effect.gen(function* () {
      yield* fillStore
      const token = newControlToken()
      const http = yield* serveAdminHttp({ host: "127.0.0.1", port: 0, adminPassword: undefined, controlToken: token, tls })
      if (how.publish !== false) yield* publishRunningPool(dataDir, { host: "0.0.0.0", port: http.port, token, tlsCertificate: how.publishedCert ?? tls?.cert })
      return yield* body
    }).pipe(Effect.scoped, Effect.provide(poolStoreLayer.pipe(Layer.provideMerge(pgliteLayer({ dataDir: join(dataDir, "pglite") }))))),
  )

/** The message a command failed with. */
const messageOfFailure = <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.map(Effect.flip(effect), (e) => (e instanceof Error ? e.message : String(e)))

describe("pool backup and pool status through the running pool", () => {
  it("a backup taken from a running pool on the embedded store restores into an empty store with the same rows", async () => {
    const dataDir = tempDir()
    const out = join(dataDir, "taken-while-running.jsonl")
    const running = await whileRunning(
      dataDir,
      undefined,
      Effect.gen(function* () {
        const said = yield* backupCommand(configFor(dataDir), out)
        const lines: Array<string> = []
        yield* backup((line) => Effect.sync(() => void lines.push(line)))
        return { said, lines, counts: yield* (yield* PoolStore).rowCounts, tokenFile: statSync(join(dataDir, "running-pool.json")).mode & 0o777 }
      }),
    )
    expect(running.said).toBe(`backup written to ${out}: streamed by the running pool (process ${process.pid})`)
    expect(running.tokenFile).toBe(0o600)
    // The pool removes its file when it stops.
    expect(existsSync(join(dataDir, "running-pool.json"))).toBe(false)
    const file = readFileSync(out, "utf8").split("\n")
    expect(file.filter((l) => l !== "")).toEqual(running.lines)
    const restored = await Effect.runPromise(
      Effect.gen(function* () {
        yield* restore(file)
        const lines: Array<string> = []
        yield* backup((line) => Effect.sync(() => void lines.push(line)))
        return { lines, counts: yield* (yield* PoolStore).rowCounts }
      }).pipe(Effect.scoped, Effect.provide(poolStoreLayer.pipe(Layer.provideMerge(pgliteLayer({ dataDir: undefined }))))),
    )
    expect(running.counts).toEqual({ shares: 120, blocks: 1, payout_batches: 1, payments: 2, credits: 2, held_accounts: 1 })
    expect(restored.counts).toEqual(running.counts)
    expect(restored.lines).toEqual(running.lines)
  }, 120_000)

  it("status from a running pool prints what the store holds, through HTTPS checked against the published certificate", async () => {
    const dataDir = tempDir()
    const result = await whileRunning(
      dataDir,
      selfSignedCertificate(),
      Effect.gen(function* () {
        return { remote: yield* statusLines(configFor(dataDir)), local: formatStatus(yield* gatherStatus) }
      }),
    )
    expect(result.remote[0]).toBe(`network simnet; store ${join(dataDir, "pglite")} (through the running pool, process ${process.pid})`)
    expect(result.remote.slice(1)).toEqual(result.local)
    expect(result.local).toContain("shares: 120")
    // A server with another certificate than the one published never sees the token.
    const other = tempDir()
    const impostor = await whileRunning(other, selfSignedCertificate(), messageOfFailure(statusLines(configFor(other))), { publishedCert: selfSignedCertificate().cert })
    expect(impostor).toContain("presented a certificate other than the one it published; nothing was sent")
  }, 120_000)

  it("a token other than the pool's is refused; a live owner that published nothing is named with what to do", async () => {
    const dataDir = tempDir()
    const result = await whileRunning(
      dataDir,
      undefined,
      Effect.gen(function* () {
        const published = JSON.parse(readFileSync(join(dataDir, "running-pool.json"), "utf8")) as { url: string }
        const wrong = yield* Effect.promise(() => fetch(`${published.url}/admin/status`, { headers: { authorization: `Bearer ${Redacted.value(newControlToken())}` } }))
        const backupWrong = yield* Effect.promise(() => fetch(`${published.url}/admin/backup`, { method: "POST", headers: { authorization: "Bearer x" } }))
        return { status: wrong.status, backup: backupWrong.status }
      }),
    )
    expect(result).toEqual({ status: 401, backup: 403 })
    const silent = tempDir()
    const failure = await whileRunning(silent, undefined, messageOfFailure(statusLines(configFor(silent))), { publish: false })
    expect(failure).toContain(`is in use by process ${process.pid}, which published no admin address`)
    expect(failure).toContain("stop that process and run this again")
  }, 120_000)
})
