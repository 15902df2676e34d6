import { Effect, Layer, References } from "effect"
import { describe, expect, it } from "vitest"
import { DIFFICULTY_SCALE, shareTarget } from "../../core/stratum/difficulty.ts"
import { powHashWith } from "../../core/chain/hash.ts"
import { SIMNET } from "../../core/chain/params.ts"
import { compactToBig, hashMeetsTarget } from "../../core/chain/targets.ts"
import { POOL_FEE_ACCOUNT } from "../../core/payout/ledger.ts"
import { StratumListener } from "../../core/services/listener.ts"
import { makeMemoryWallet } from "../../testkit/memory-wallet.ts"
import { makeMiniNode } from "../../testkit/mini-node.ts"
import type { MinerSide } from "../../testkit/stratum-miner.ts"
import { profileOf } from "../../core/stratum/profiles.ts"
import { serveAdminHttp } from "../http/server.ts"
import type { CrashPointName } from "./crash-points.ts"
import type { HealthReport } from "./health.ts"
import { makePoolMetrics, PoolMetrics } from "./metrics.ts"
import { runPool } from "../pool.ts"
import { pgliteLayer } from "../store/pglite.ts"
import { PoolStore, poolStoreLayer } from "../store/store.ts"
import { makeTaskSupervisor } from "./supervisor.ts"
import { tcpListenerLayer } from "../stratum/tcp-listener.ts"
import { ask, connectMiner, makeFaultPoints, simnetTestPoolOptions } from "../../testkit/pool.ts"

const MINER_ADDRESS = "Sspzuh5xuvqxccYLWJDJjCtqp166NRxcaPB"
const FEE_ADDRESS = "SsWzYhmaPBo4tmdTpWcdeZVR7rxC3Gb6ERv"
const BITS = 0x2000ffff
const NETWORK_TARGET = compactToBig(BITS)
const COINBASE = 1_000_000_000n

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
/** Polls until `ready` holds (background tasks settle blocks and payouts); fails after `ms`. */
const until = async <A>(what: string, read: () => Promise<A> | A, ready: (a: A) => boolean, ms = 20_000): Promise<A> => {
  const deadline = Date.now() + ms
  for (;;) {
    const value = await read()
    if (ready(value)) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(value, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v))}`)
    await sleep(25)
  }
}

/** A share at difficulty 1 that is not also a block. */
const mineShare = (miner: MinerSide, start = 0) => {
  for (let n = start; ; ) {
    const s = miner.solve("blake3", shareTarget(SIMNET.powLimit, DIFFICULTY_SCALE), { start: n })
    if (!hashMeetsTarget(powHashWith("blake3", s.header), NETWORK_TARGET)) return s
    n = s.nonce + 1
  }
}

describe("task supervisor", () => {
  it("a task that fails is logged, counted and restarted with backoff; one that ends by itself is finished, not down", async () => {
    const metrics = makePoolMetrics()
    const tasks = makeTaskSupervisor(metrics)
    let runs = 0
    const seen = await Effect.runPromise(
      Effect.gen(function* () {
        yield* tasks.supervise(
          "flaky",
          Effect.suspend(() => {
            runs++
            // A typed failure, then a defect, then it settles into its loop.
            return runs === 1 ? Effect.fail(new Error("store down")) : runs === 2 ? Effect.die(new RangeError("bad row")) : Effect.never
          }),
          { initialBackoffMillis: 20 },
        )
        yield* tasks.supervise("one-shot", Effect.void)
        yield* Effect.sleep("150 millis")
        return tasks.health()
      }).pipe(Effect.scoped, Effect.provideService(References.MinimumLogLevel, "None")),
    )
    expect(runs).toBe(3)
    const flaky = seen.find((t) => t.name === "flaky")
    expect(flaky?.state).toBe("running")
    expect(flaky?.failures).toBe(2)
    expect(flaky?.lastFailure?.reason).toBe("RangeError: bad row")
    expect(metrics.taskFailures.labels("flaky").value).toBe(2)
    expect(seen.find((t) => t.name === "one-shot")?.state).toBe("finished")
  })
})

/**
 * The production pool (runPool on the embedded store, a mini node, a memory wallet, the web
 * server) with a fault armed at one task's step. The body runs with a miner connected.
 */
const withFaultyPool = async <A>(
  body: (env: {
    readonly faults: ReturnType<typeof makeFaultPoints>
    readonly wallet: ReturnType<typeof makeMemoryWallet>
    readonly node: Effect.Success<ReturnType<typeof makeMiniNode>>
    readonly httpPort: number
    readonly stratumPort: number
    readonly metrics: ReturnType<typeof makePoolMetrics>
    readonly credited: () => Promise<ReadonlyMap<string, bigint>>
  }) => Promise<A>,
): Promise<A> => {
  const faults = makeFaultPoints()
  return Effect.runPromise(
    Effect.gen(function* () {
      const node = yield* makeMiniNode(SIMNET, BITS, 100, COINBASE)
      const wallet = makeMemoryWallet()
      const store = poolStoreLayer.pipe(Layer.provideMerge(pgliteLayer({ dataDir: undefined })))
      const metrics = makePoolMetrics()
      const layers = Layer.mergeAll(tcpListenerLayer({ host: "127.0.0.1", port: 0 }), node.layer, wallet.layer, faults.layer, store, Layer.succeed(PoolMetrics)(metrics))
      return yield* Effect.gen(function* () {
        const pool = yield* runPool(simnetTestPoolOptions("faults", FEE_ADDRESS, { limits: { tickMillis: 100 }, rollTimestampSeconds: 1 }))
        const stratumPort = (yield* StratumListener).port
        const http = yield* serveAdminHttp({ host: "127.0.0.1", port: 0, adminPassword: undefined, live: pool.live, history: { intervalMillis: 100, capacity: 10 } })
        const poolStore = yield* PoolStore
        const credited = () => Effect.runPromise(Effect.map(poolStore.accountTotals, (totals) => new Map(totals.map((t) => [t.account, t.immature + t.payable + t.pending + t.paid]))))
        return yield* Effect.promise(() => body({ faults, wallet, node, httpPort: http.port, stratumPort, metrics, credited }))
      }).pipe(Effect.scoped, Effect.provide(layers))
    }).pipe(Effect.provideService(References.MinimumLogLevel, "None")),
  )
}

const health = async (port: number) => {
  const response = await fetch(`http://127.0.0.1:${port}/api/health`)
  return { status: response.status, body: (await response.json()) as HealthReport }
}

/** Each supervised task, the step where its fault is injected, and how the test reaches that step. */
const TASKS: ReadonlyArray<{ readonly task: string; readonly step: CrashPointName }> = [
  { task: "share-committer", step: "shares:before-commit" },
  { task: "settler", step: "settle:pass" },
  { task: "chain-events", step: "chain:event" },
  { task: "job-roller", step: "jobs:roll" },
  { task: "stratum-ticker", step: "stratum:tick" },
  { task: "hashrate-sampler", step: "history:sample" },
  { task: "live-updates", step: "live:tick" },
]

describe("a defect in one of the pool's tasks: logged, counted, restarted, and the pool goes on crediting and paying", () => {
  for (const { task, step } of TASKS) {
    it(`${task}: a defect at ${step} restarts it, and a block found afterwards is credited and paid`, async () => {
      const result = await withFaultyPool(async ({ faults, wallet, node, httpPort, stratumPort, metrics, credited }) => {
        const gominer = profileOf("gominer")
        const { client, miner } = await connectMiner({ port: stratumPort }, gominer, `${MINER_ADDRESS}.rig1`)
        let id = 10
        const submit = (params: ReadonlyArray<unknown>) => ask(client, miner, id++, "mining.submit", params)
        // The fault strikes the task while the pool is running: a share, a new block and a
        // roll make every task reach its step.
        faults.arm(step)
        expect((await submit(mineShare(miner).params))?.result).toBe(true)
        await Effect.runPromise(node.externalBlock)
        await until(
          `the fault at ${step}`,
          () => metrics.taskFailures.labels(task).value,
          (n) => n === 1,
        )
        await client.until((l) => l.includes("mining.notify")).then((l) => miner.read(l))
        // After the restart: shares, a block, and blocks on top until it is mature and paid.
        let nonce = 0
        for (let i = 0; i < 3; i++) {
          const s = mineShare(miner, nonce)
          nonce = s.nonce + 1
          expect((await submit(s.params))?.result).toBe(true)
        }
        expect((await submit(miner.solve("blake3", NETWORK_TARGET).params))?.result).toBe(true)
        await until("the pool's block in the store", credited, () => true)
        for (let i = 0; i < 4; i++) {
          await sleep(100)
          await Effect.runPromise(node.externalBlock)
        }
        await until(
          "the payout",
          () => wallet.published.length,
          (n) => n >= 1,
        )
        const report = await until(
          "health after the restart",
          () => health(httpPort),
          (h) => h.status === 200,
        )
        client.close()
        return { credits: await credited(), paid: wallet.paidTo(), report: report.body, failures: metrics.taskFailures.labels(task).value }
      })
      // Logged and counted once, restarted, and healthy again.
      expect(result.failures).toBe(1)
      const entry = result.report.tasks.find((t) => t.name === task)
      expect(entry).toMatchObject({ state: "running", failures: 1, lastFailure: `Error: fault injected at ${step}` })
      // The block after the fault was credited in full and paid.
      expect([...result.credits.values()].reduce((a, b) => a + b, 0n) % COINBASE).toBe(0n)
      expect(result.paid.get(MINER_ADDRESS) ?? 0n).toBeGreaterThan(0n)
      expect((result.paid.get(MINER_ADDRESS) ?? 0n) + (result.paid.get(FEE_ADDRESS) ?? 0n)).toBe(result.credits.get(MINER_ADDRESS)! + result.credits.get(POOL_FEE_ACCOUNT)!)
    }, 60_000)
  }

  it("GET /api/health answers 503 naming the task while one waits to restart, and 200 once it runs again", async () => {
    const seen = await withFaultyPool(async ({ faults, httpPort }) => {
      const healthy = await until(
        "a healthy pool",
        () => health(httpPort),
        (h) => h.status === 200,
      )
      // The sampler fails on every run while armed: it spends its time in backoff.
      faults.arm("history:sample", Number.POSITIVE_INFINITY)
      const failing = await until(
        "503",
        () => health(httpPort),
        (h) => h.status === 503,
      )
      faults.disarm("history:sample")
      const recovered = await until(
        "200 again",
        () => health(httpPort),
        (h) => h.status === 200,
        40_000,
      )
      return { healthy, failing, recovered }
    })
    expect(seen.healthy.body.ok).toBe(true)
    expect(seen.healthy.body.components.dcrd.ok).toBe(true)
    expect(seen.healthy.body.components.wallet.ok).toBe(true)
    expect(seen.healthy.body.components.store.ok).toBe(true)
    expect(seen.healthy.body.tasks.map((t) => t.name).sort()).toEqual(
      ["chain-events", "hashrate-sampler", "job-roller", "live-keepalive", "live-updates", "settler", "share-committer", "stratum-listener", "stratum-ticker"].sort(),
    )
    expect(seen.failing.body.ok).toBe(false)
    expect(seen.failing.body.tasks.find((t) => t.name === "hashrate-sampler")?.state).toBe("restarting")
    expect(seen.recovered.body.tasks.find((t) => t.name === "hashrate-sampler")).toMatchObject({ state: "running", lastFailure: "Error: fault injected at history:sample" })
  }, 90_000)

  it("GET /api/health answers 503 naming the wallet while it is unreachable", async () => {
    const seen = await withFaultyPool(async ({ wallet, httpPort }) => {
      wallet.faults.offline = true
      const down = await health(httpPort)
      wallet.faults.offline = false
      return { down, up: await health(httpPort) }
    })
    expect(seen.down.status).toBe(503)
    expect(seen.down.body.components.wallet.ok).toBe(false)
    expect(seen.down.body.components.wallet.detail).toContain("dcrwallet unavailable")
    expect(seen.down.body.components.dcrd.ok).toBe(true)
    expect(seen.up.status).toBe(200)
  }, 60_000)
})
