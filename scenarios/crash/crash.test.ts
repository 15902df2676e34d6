import { Effect, Layer } from "effect"
import { spawn } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { DIFFICULTY_SCALE, shareTarget } from "../../core/stratum/difficulty.ts"
import { SIMNET } from "../../core/chain/params.ts"
import { powHashWith } from "../../core/chain/hash.ts"
import { hashMeetsTarget } from "../../core/chain/targets.ts"
import { profileOf } from "../../core/stratum/profiles.ts"
import type { MinerSide } from "../../testkit/stratum-miner.ts"
import { sqliteLayer } from "../../pool/store/sqlite.ts"
import { migrate } from "../../pool/store/schema.ts"
import { PoolStore, poolStoreLayer } from "../../pool/store/store.ts"
import { ask, connectMiner, type TestPool } from "../../testkit/pool.ts"
import { COINBASE, FEE_ADDRESS, type WalletFile } from "./child.ts"

/**
 * Crash safety with real processes: the pool (scenarios/crash/child.ts, the production
 * assembly on the embedded store) is killed with SIGKILL at each step of share persistence and
 * of the payout pipeline, then started again on the same files. Checked: a share a miner was
 * told was accepted is stored, no share is stored twice, and every credit is paid exactly once.
 */
const CHILD = join(import.meta.dirname, "child.ts")
const ADDRESS = "Sspzuh5xuvqxccYLWJDJjCtqp166NRxcaPB"
const MINERS = ["SsWzYhmaPBo4tmdTpWcdeZVR7rxC3Gb6ERv", "SsbFTyKRLp6bU5ae3dGdKiUNgbCEEgaM5iy", ADDRESS]
const dirs: Array<string> = []
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })))
const freshDir = () => {
  const d = mkdtempSync(join(tmpdir(), "dcrforge-crash-"))
  dirs.push(d)
  return d
}

interface ChildRun {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stderr: string
}

const startChild = (mode: "mine" | "settle", dir: string, crashAt: string | undefined) => {
  const env = { ...process.env }
  delete env.DCRFORGE_CRASH_AT
  if (crashAt !== undefined) env.DCRFORGE_CRASH_AT = crashAt
  const child = spawn(process.execPath, [CHILD, mode, dir], { env, stdio: ["ignore", "pipe", "pipe"] })
  let stderr = ""
  child.stderr.on("data", (b: Buffer) => (stderr += b.toString()))
  const exited = new Promise<ChildRun>((resolve) => child.on("exit", (code, signal) => resolve({ code, signal, stderr })))
  const ready = new Promise<number>((resolve, reject) => {
    let out = ""
    child.stdout.on("data", (b: Buffer) => {
      out += b.toString()
      const m = /ready (\d+)/.exec(out)
      if (m) resolve(Number(m[1]))
    })
    void exited.then((r) => reject(new Error(`child exited before ready: ${r.code ?? r.signal} ${r.stderr}`)))
  })
  // Only a mining child says "ready"; a settle child's unobserved rejection is not an error.
  ready.catch(() => undefined)
  return { child, exited, ready }
}

const inStore = <A, E>(dir: string, body: Effect.Effect<A, E, PoolStore>) =>
  Effect.runPromise(
    Effect.gen(function* () {
      yield* migrate
      return yield* body
    }).pipe(Effect.provide(poolStoreLayer.pipe(Layer.provideMerge(sqliteLayer({ file: join(dir, "db", "pool.sqlite") })))), Effect.scoped),
  )

const NETWORK_TARGET = 0xffffn << (8n * (0x1en - 3n))
const mineShare = (miner: MinerSide, start: number) => {
  for (let n = start; ; ) {
    const s = miner.solve("blake3", shareTarget(SIMNET.powLimit, DIFFICULTY_SCALE), { start: n })
    if (!hashMeetsTarget(powHashWith("blake3", s.header), NETWORK_TARGET)) return s
    n = s.nonce + 1
  }
}

/** A miner submitting shares one after another until the pool goes away. */
const mineUntilClosed = async (port: number, worker: string, limit: number) => {
  const pool = { port, networkTarget: NETWORK_TARGET } as unknown as TestPool
  const { client, miner } = await connectMiner(pool, profileOf("gominer"), `${ADDRESS}.${worker}`, worker)
  let submitted = 0
  let acked = 0
  let nonce = 0
  for (let id = 10; submitted < limit; id++) {
    const s = mineShare(miner, nonce)
    nonce = s.nonce + 1
    submitted++
    const reply = await ask(client, miner, id, "mining.submit", s.params)
    if (reply === undefined) break
    if (reply.result === true) acked++
  }
  client.close()
  return { worker, submitted, acked }
}

const storedByWorker = (dir: string) =>
  inStore(
    dir,
    Effect.gen(function* () {
      const store = yield* PoolStore
      const rows = yield* store.sql<{ worker: string; n: string }>`SELECT worker, CAST(count(*) AS text) AS n FROM shares GROUP BY worker`
      return new Map(rows.map((r) => [r.worker, Number(r.n)]))
    }),
  )

describe("crash safety: SIGKILL of a real pool process", () => {
  for (const point of ["shares:before-commit", "shares:after-commit"]) {
    it(`killed at ${point}: every share acknowledged to a miner is stored, none twice, and the pool restarts on the same files`, async () => {
      const dir = freshDir()
      const run = startChild("mine", dir, `${point}:4`)
      const port = await run.ready
      const results = await Promise.all(["w1", "w2", "w3"].map((w) => mineUntilClosed(port, w, 400)))
      const exit = await run.exited
      expect(exit.signal, exit.stderr).toBe("SIGKILL")
      const stored = await storedByWorker(dir)
      for (const r of results) {
        const n = stored.get(r.worker) ?? 0
        expect(n, `${r.worker}: ${JSON.stringify(r)}`).toBeGreaterThanOrEqual(r.acked)
        expect(n, `${r.worker}: ${JSON.stringify(r)}`).toBeLessThanOrEqual(r.submitted)
      }
      expect(results.reduce((s, r) => s + r.acked, 0)).toBeGreaterThan(0)
      // The same files open again after the kill, and mining goes on.
      const again = startChild("mine", dir, undefined)
      const after = await mineUntilClosed(await again.ready, "w4", 3)
      again.child.kill("SIGTERM")
      await again.exited
      expect(after.acked).toBe(3)
      const total = await storedByWorker(dir)
      expect(total.get("w4")).toBe(3)
      for (const r of results) expect(total.get(r.worker) ?? 0).toBe(stored.get(r.worker) ?? 0)
    }, 120_000)
  }

  /** A pool with shares from three miners and one found block, its coinbase mature at the chain's tip. */
  const seedPayout = async () => {
    const dir = freshDir()
    await inStore(
      dir,
      Effect.gen(function* () {
        const store = yield* PoolStore
        yield* store.insertShares(
          Array.from({ length: 30 }, (_, i) => ({
            id: `seed:${i}`,
            account: MINERS[i % 3]!,
            worker: "rig",
            model: "gominer",
            weight: BigInt(1 + (i % 5)) * DIFFICULTY_SCALE,
            createdMs: 1000 + i,
            height: 101,
            networkDifficulty: 50n * DIFFICULTY_SCALE,
            instance: "seed",
          })),
        )
        yield* store.insertBlock({ hash: "b101", height: 101, account: MINERS[0]!, worker: "rig", model: "gominer", foundMs: 1029, networkDifficulty: 50n * DIFFICULTY_SCALE }, 1029)
      }),
    )
    const tip = 101 + SIMNET.coinbaseMaturity + 1
    const hashes: Record<string, string> = {}
    for (let h = 101; h <= tip; h++) hashes[String(h)] = h === 101 ? "b101" : `other${h}`
    writeFileSync(join(dir, "chain.json"), JSON.stringify({ tip, hashes }))
    return dir
  }

  const settleOnce = async (dir: string, crashAt?: string) => await startChild("settle", dir, crashAt).exited

  for (const point of ["credit:after-confirm", "payout:after-reserve", "payout:after-build", "payout:after-sign-stored", "payout:after-publish", "payout:after-published-stored"]) {
    it(`killed at ${point}: after restarts every credit is paid exactly once`, async () => {
      const dir = await seedPayout()
      const killed = await settleOnce(dir, point)
      expect(killed.signal, killed.stderr).toBe("SIGKILL")
      for (let i = 0; i < 2; i++) {
        const r = await settleOnce(dir)
        expect(r.code, r.stderr).toBe(0)
      }
      const wallet = JSON.parse(readFileSync(join(dir, "wallet.json"), "utf8")) as WalletFile
      expect(wallet.published).toHaveLength(1)
      const paid = new Map<string, bigint>()
      for (const txid of wallet.published) for (const [address, amount] of wallet.built[txid] ?? []) paid.set(address, (paid.get(address) ?? 0n) + BigInt(amount))
      const books = await inStore(
        dir,
        Effect.gen(function* () {
          const store = yield* PoolStore
          return { totals: yield* store.accountTotals, batches: yield* store.batches(10) }
        }),
      )
      expect(books.batches.map((b) => b.status)).toEqual(["published"])
      expect(books.batches[0]!.txid).toBe(wallet.published[0])
      expect([...paid.values()].reduce((a, b) => a + b, 0n)).toBe(COINBASE)
      expect(paid.get(FEE_ADDRESS)).toBe(COINBASE / 100n)
      for (const t of books.totals) {
        expect(t.immature + t.payable + t.pending).toBe(0n)
        expect(paid.get(t.account === "pool:fee" ? FEE_ADDRESS : t.account)).toBe(t.paid)
      }
    }, 120_000)
  }
})
