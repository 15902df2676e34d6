import { fork, type ChildProcess } from "node:child_process"
import { fileURLToPath } from "node:url"
import { PgClient } from "@effect/sql-pg"
import { Effect, Exit, Layer, PubSub, Redacted, References, Scope, Stream } from "effect"
import { afterAll, describe, expect, it } from "vitest"
import { encodeAddress } from "../../core/chain/address.ts"
import { blake256Hash } from "../../core/chain/hash.ts"
import { SIMNET } from "../../core/chain/params.ts"
import { POOL_FEE_ACCOUNT } from "../../core/payout/ledger.ts"
import { ChainRpc, type ChainEvent } from "../../core/services/chain.ts"
import { StratumListener } from "../../core/services/listener.ts"
import { DIFFICULTY_SCALE } from "../../core/stratum/difficulty.ts"
import { noCrashPoints } from "../../pool/ops/crash-points.ts"
import { runPool } from "../../pool/pool.ts"
import { PoolStore, poolStoreLayer } from "../../pool/store/store.ts"
import { tcpListenerLayer } from "../../pool/stratum/tcp-listener.ts"
import { makeMemoryWallet } from "../../testkit/memory-wallet.ts"
import { makeMiniNode } from "../../testkit/mini-node.ts"
import { postgresForTests } from "../../testkit/postgres.ts"

/**
 * Several pool processes (stratum front ends) on one Postgres and one node, under the load
 * bench's miners (scenarios/load/miners.ts, one process of them per front end): every front end
 * accepts shares and submits blocks; the settler lease makes one of them settle and pay. Each
 * pool is the production assembly (`runPool`) with its own connection pool, TCP listener,
 * metrics and tasks, as a separate process has; they share only the database, the node (its
 * notifications fanned out to each, as dcrd's go to each websocket client) and the wallet.
 * The payer is shut down before the blocks mature, so another takes the lease and pays.
 *
 * The same load on one instance: the accounting suite's "several pool instances" test runs a
 * fixed workload on one and on three instances and compares the books exactly; here the miners
 * hash for real, so the run checks what must hold whatever they found.
 */
const pg = await postgresForTests()
afterAll(() => ("skip" in pg ? undefined : pg.stop()))

const COINBASE = 1_000_000_000n
const FRONT_ENDS = 3
const MINERS_PER_FRONT_END = 150
const SHARE_INTERVAL_MS = 1_500
const LOAD_SECONDS = 12
/** A network target about 2^-7 of the share target: one share in ~128 is a block (some 25 a run, found on every front end). */
const BITS = 0x2000ffff
const FEE_ADDRESS = encodeAddress("p2pkh-ecdsa-secp256k1", blake256Hash(new TextEncoder().encode("scale fee")).subarray(0, 20), SIMNET)
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** One load generator process on `port`, resolved once all its miners are connected. */
const startMiners = (port: number) =>
  new Promise<ChildProcess>((resolve, reject) => {
    const child = fork(fileURLToPath(new URL("../load/miners.ts", import.meta.url)), [String(port), String(MINERS_PER_FRONT_END), String(SHARE_INTERVAL_MS)], {
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    })
    child.once("message", () => resolve(child))
    child.once("error", reject)
  })
const stopMiners = (child: ChildProcess) =>
  new Promise<void>((resolve) => {
    if (child.exitCode !== null) return resolve()
    child.once("exit", () => resolve())
    child.send({ kind: "stop" })
  })

describe.skipIf("skip" in pg)("several pool processes on one Postgres", () => {
  it("under load on three front ends: every accepted share stored once, every block found (on several front ends) split once and paid once, the books add up to the rewards, and every front end reads the same totals", async () => {
    if ("skip" in pg) return
    const children: Array<ChildProcess> = []
    try {
      const result = await Effect.runPromise(
        Effect.gen(function* () {
          const node = yield* makeMiniNode(SIMNET, BITS, 100, COINBASE)
          const wallet = makeMemoryWallet({ network: SIMNET })
          const rpc = yield* Effect.gen(function* () {
            return yield* ChainRpc
          }).pipe(Effect.provide(node.layer))
          // dcrd notifies every websocket client: the node's events go to every front end.
          const hub = yield* PubSub.unbounded<ChainEvent>()
          yield* Stream.runForEach(rpc.events, (event) => PubSub.publish(hub, event)).pipe(Effect.forkScoped)
          let rewardReads = 0
          const frontEnds = yield* Effect.forEach(
            Array.from({ length: FRONT_ENDS }, (_, i) => `fe${i}`),
            (instance) =>
              Effect.gen(function* () {
                const found = { blocks: 0 }
                const chain = Layer.succeed(ChainRpc)({
                  ...rpc,
                  events: Stream.fromPubSub(hub),
                  submitWork: (data) => rpc.submitWork(data).pipe(Effect.tap((accepted) => Effect.sync(() => void (accepted && found.blocks++)))),
                  coinbaseValue: (hash) => Effect.suspend(() => ((rewardReads += 1), rpc.coinbaseValue(hash))),
                })
                const scope = yield* Scope.make()
                const context = yield* Layer.buildWithScope(
                  Layer.mergeAll(poolStoreLayer, chain, wallet.layer, tcpListenerLayer({ host: "127.0.0.1", port: 0 }), noCrashPoints).pipe(
                    Layer.provideMerge(PgClient.layer({ url: Redacted.make(pg.url), maxConnections: 4 })),
                  ),
                  scope,
                )
                const pool = yield* runPool({
                  network: SIMNET,
                  accounting: {
                    network: SIMNET,
                    instance,
                    scheme: { kind: "pplns", windowMultiple: { numerator: 2n, denominator: 1n } },
                    feeBasisPoints: 100,
                    minimumPayout: 1n,
                    feeAddress: FEE_ADDRESS,
                    coinbaseMaturity: SIMNET.coinbaseMaturity,
                    maxShareBatch: 2000,
                    settlerLeaseMillis: 3_000,
                  },
                  vardiffTargetSeconds: 15,
                  maxConnectionsPerHost: 1_000,
                  session: { vardiff: { targetSeconds: 15, retargetSeconds: 1e9, retargetShares: 1e9, tolerance: 0.1, maxStep: 4, minDifficulty: DIFFICULTY_SCALE, maxDifficulty: DIFFICULTY_SCALE } },
                }).pipe(Effect.provideContext(context), Scope.provide(scope))
                const port = (yield* StratumListener.pipe(Effect.provideContext(context))).port
                return { instance, scope, context, pool, port, found }
              }),
          )
          // The load bench's miners, one process per front end, all at once.
          for (const miners of yield* Effect.promise(() => Promise.all(frontEnds.map((f) => startMiners(f.port))))) children.push(miners)
          yield* Effect.promise(() => sleep(LOAD_SECONDS * 1000))
          yield* Effect.promise(() => Promise.all(children.map(stopMiners)))
          yield* Effect.promise(() => sleep(500))
          // Every share a front end accepted is committed before the books are read.
          yield* Effect.forEach(frontEnds, (f) => f.pool.accounting.recordShares([]), { discard: true })
          const accepted = frontEnds.reduce((n, f) => n + f.pool.mining.server.counters.sharesAccepted, 0)
          const found = frontEnds.map((f) => f.found.blocks)
          const readStore = <A, E>(f: (typeof frontEnds)[number], body: Effect.Effect<A, E, PoolStore>) => body.pipe(Effect.provideContext(f.context))
          // The payer stops (a clean shutdown: its lease is released) before any block matures.
          const payer = yield* readStore(
            frontEnds[0]!,
            Effect.gen(function* () {
              const rows = yield* (yield* PoolStore).sql`SELECT holder FROM leases WHERE name = 'settler'`
              return String(rows[0]?.["holder"])
            }),
          )
          const stopped = frontEnds.find((f) => f.instance === payer)!
          yield* Scope.close(stopped.scope, Exit.void)
          const running = frontEnds.filter((f) => f !== stopped)
          // The front ends' share watermarks pass the last block's time (1 s margin, a round every 1 s):
          // until then the settler leaves it unsplit, as one process waits for its own committer.
          yield* Effect.promise(() => sleep(2_500))
          yield* node.externalBlocks(SIMNET.coinbaseMaturity + 2)
          // Settlement runs on the settler's fiber: wait until every block matured and was paid.
          const books = (f: (typeof frontEnds)[number]) =>
            readStore(
              f,
              Effect.gen(function* () {
                const store = yield* PoolStore
                return {
                  shares: (yield* store.shareCount).shares,
                  blocks: yield* store.blocksWithStatus(["accepted", "confirmed", "matured", "orphaned"]),
                  totals: yield* store.accountTotals,
                  batches: yield* store.batches(1_000),
                  open: (yield* store.openBatches).length,
                }
              }),
            )
          let settled = yield* books(running[0]!)
          for (let waited = 0; waited < 60_000; waited += 250) {
            if (settled.blocks.length > 0 && settled.blocks.every((b) => b.status === "matured") && settled.open === 0 && settled.batches.length > 0) break
            yield* Effect.promise(() => sleep(250))
            settled = yield* books(running[0]!)
          }
          const fromEach = yield* Effect.forEach(running, (f) => books(f).pipe(Effect.map((b) => b.totals)))
          const newPayer = yield* readStore(
            running[0]!,
            Effect.gen(function* () {
              const rows = yield* (yield* PoolStore).sql`SELECT holder FROM leases WHERE name = 'settler'`
              return String(rows[0]?.["holder"])
            }),
          )
          yield* Effect.forEach(running, (f) => Scope.close(f.scope, Exit.void), { discard: true })
          return { accepted, found, settled, fromEach, payer, newPayer, rewardReads, builds: wallet.builds(), published: wallet.published.map((p) => p.txid), paid: wallet.paidTo() }
        }).pipe(Effect.scoped, Effect.provideService(References.MinimumLogLevel, "Error")),
      )
      const { settled } = result
      const blocks = settled.blocks.length
      console.log(`front ends found ${result.found.join(" + ")} blocks from ${result.accepted} shares; ${result.payer} paid first, then ${result.newPayer}`)
      // Shares: every one a miner was told was accepted, on any front end, is stored once.
      expect(result.accepted).toBeGreaterThan(FRONT_ENDS * MINERS_PER_FRONT_END)
      expect(settled.shares).toBe(result.accepted)
      // Blocks: found on several front ends, each stored once and split once, all matured.
      expect(blocks).toBe(result.found.reduce((a, b) => a + b, 0))
      expect(result.found.filter((n) => n > 0).length).toBeGreaterThanOrEqual(2)
      expect(settled.blocks.map((b) => b.status)).toEqual(settled.blocks.map(() => "matured"))
      expect(new Set(settled.blocks.map((b) => b.hash)).size).toBe(blocks)
      expect(result.rewardReads).toBe(blocks)
      // The books: every atom of every reward credited once, the fee as the blocks say.
      const sum = (f: (t: (typeof settled.totals)[number]) => bigint) => settled.totals.reduce((a, t) => a + f(t), 0n)
      expect(sum((t) => t.immature + t.payable + t.pending + t.paid)).toBe(BigInt(blocks) * COINBASE)
      expect(settled.totals.find((t) => t.account === POOL_FEE_ACCOUNT)?.paid).toBe(settled.blocks.reduce((a, b) => a + (b.fee ?? 0n), 0n))
      // Payouts: one payer at a time, each batch built once and published once, paying what the books say.
      expect(result.newPayer).not.toBe(result.payer)
      expect(settled.batches.every((b) => b.status === "published")).toBe(true)
      expect(result.builds).toBe(settled.batches.length)
      expect(new Set(result.published).size).toBe(result.published.length)
      expect(result.published.length).toBe(settled.batches.length)
      expect([...result.paid.values()].reduce((a, b) => a + b, 0n)).toBe(sum((t) => t.paid))
      expect(sum((t) => t.paid)).toBe(BigInt(blocks) * COINBASE)
      // The web UI and API read the store: every front end sees the same totals.
      for (const totals of result.fromEach) expect(totals).toEqual(settled.totals)
    } finally {
      for (const child of children) child.kill()
    }
  }, 180_000)
})
