import { PgClient } from "@effect/sql-pg"
import fc from "fast-check"
import { Clock, Deferred, Effect, Fiber, Layer, Logger, ManagedRuntime, Redacted, References, type Scope } from "effect"
import * as SqlClient from "effect/sql/SqlClient"
import { afterAll, describe, expect, it } from "vitest"
import { DIFFICULTY_SCALE } from "../../core/stratum/difficulty.ts"
import { encodeAddress } from "../../core/chain/address.ts"
import { blockHash } from "../../core/chain/header.ts"
import { blake256Hash, hashToDisplay } from "../../core/chain/hash.ts"
import { SIMNET } from "../../core/chain/params.ts"
import { feeOf } from "../../core/payout/amounts.ts"
import { POOL_FEE_ACCOUNT } from "../../core/payout/ledger.ts"
import { ppsCredit, shareBlock, type PayoutScheme } from "../../core/payout/schemes.ts"
import { chainActivations } from "../../core/chain/agendas.ts"
import { subsidySplitAt, workSubsidy } from "../../core/chain/subsidy.ts"
import { ShareLog } from "../../core/payout/sharelog.ts"
import { makeMemoryWallet } from "../../testkit/memory-wallet.ts"
import { makeMiniNode } from "../../testkit/mini-node.ts"
import { CrashPoints, noCrashPoints } from "../ops/crash-points.ts"
import { makePoolMetrics, PoolMetrics } from "../ops/metrics.ts"
import { ChainRpc } from "../../core/services/chain.ts"
import type { PayoutWallet } from "../../core/services/wallet.ts"
import type { AcceptedShare } from "../stratum/session.ts"
import { makeStoreAccounting, type StoreAccountingOptions } from "./store-accounting.ts"
import { pgliteLayer } from "../store/pglite.ts"
import { sqliteLayer } from "../store/sqlite.ts"
import { migrate } from "../store/schema.ts"
import { backup, restore } from "../store/backup.ts"
import { PoolStore, poolStoreLayer } from "../store/store.ts"
import { postgresForTests } from "../../testkit/postgres.ts"

/**
 * The storage suite, run on the embedded store (PGlite) and on a PostgreSQL server: shares are
 * durable and counted once, blocks are credited from the scheme once they are in the main
 * chain, orphans earn nothing, credits become payable at coinbase maturity, and every payout
 * is stored before it is sent and sent once, through wallet outages and lost replies, and with
 * two pool instances on one database.
 */
const pg = await postgresForTests()
afterAll(() => ("skip" in pg ? undefined : pg.stop()))

/** A real simnet P2PKH address per label: the payout path and the wallet refuse what is not one. */
const simnetAddress = (label: string) => encodeAddress("p2pkh-ecdsa-secp256k1", blake256Hash(new TextEncoder().encode(label)).subarray(0, 20), SIMNET)
const SS = Object.fromEntries(["A", "B", "C", "D", "Big", "Finder", "MinerOne", "MinerTwo", "Old", "One", "Small"].map((label) => [label, simnetAddress(label)])) as Record<
  "A" | "B" | "C" | "D" | "Big" | "Finder" | "MinerOne" | "MinerTwo" | "Old" | "One" | "Small",
  string
>
const SS_MINERS = Array.from({ length: 5 }, (_, i) => simnetAddress(`Miner${i}`))
const FEE_ADDRESS = simnetAddress("pool fee")
/** A sound simnet P2PK key: the pool's address rules (dcrd's) take it, dcrwallet pays no P2PK address. */
const P2PK = encodeAddress("p2pk-ecdsa-secp256k1", Uint8Array.from(Buffer.from("00ce0b14fb842b1ba549fdd675c98075f12e9c510f8ef52bd021a9a1f4809d3b4d", "hex")), SIMNET)
/** Issue 16's simnet P2PK address, whose key is no secp256k1 point: as credited by a pool that still took it. */
const OFF_CURVE = "SkLXmxb92d75QTaXFXYWSFqzBKNwjH49hLEQkaTP7QbmD5YsKwod8"

/** Log lines (level and text) written while `Logger.layer` is provided. */
const captureLogs = () => {
  const lines: Array<{ readonly level: string; readonly message: string }> = []
  const layer = Logger.layer([Logger.make((o) => void lines.push({ level: o.logLevel, message: Array.isArray(o.message) ? o.message.join(" ") : String(o.message) }))])
  return { lines, layer, setAside: () => lines.filter((l) => l.message.includes("is set aside and held")) }
}
const BITS = 0x2000ffff
const COINBASE = 1_000_000_000n
const MATURITY = SIMNET.coinbaseMaturity

type StoreKind = { readonly name: string; readonly layer: () => Layer.Layer<SqlClient.SqlClient, unknown> }
const stores: ReadonlyArray<StoreKind> = [
  { name: "embedded (SQLite)", layer: () => sqliteLayer({ file: undefined }) },
  { name: "embedded (PGlite)", layer: () => pgliteLayer({ dataDir: undefined }) },
  ...("skip" in pg ? [] : [{ name: "PostgreSQL", layer: () => PgClient.layer({ url: Redacted.make(pg.url) }) }]),
]

const options = (scheme: PayoutScheme, overrides: Partial<StoreAccountingOptions> = {}): StoreAccountingOptions => ({
  network: SIMNET,
  instance: "a",
  scheme,
  feeBasisPoints: 100,
  minimumPayout: 1n,
  feeAddress: FEE_ADDRESS,
  coinbaseMaturity: MATURITY,
  maxShareBatch: 2000,
  ...overrides,
})

const share = (n: number, account: string, difficulty: bigint, time: number): AcceptedShare => ({
  id: `job:${n}`,
  account,
  worker: "rig",
  difficulty,
  time,
  jobId: "job",
  height: 101,
  networkDifficulty: 100n * DIFFICULTY_SCALE,
  model: "cpuminer",
})

const PPLNS: PayoutScheme = { kind: "pplns", windowMultiple: { numerator: 2n, denominator: 1n } }

for (const kind of stores) {
  describe(`storage and payouts on the ${kind.name} store`, () => {
    const runtime = ManagedRuntime.make(kind.layer())
    afterAll(() => runtime.dispose())

    /** A fresh database state, a mini node and a memory wallet for one test. */
    const run = <A, E>(body: (env: Env) => Effect.Effect<A, E, PoolStore | SqlClient.SqlClient | ChainRpc | PayoutWallet | CrashPoints | Scope.Scope>) =>
      runtime.runPromise(
        Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          yield* migrate
          yield* sql.onDialectOrElse({
            // SQLite has no TRUNCATE; deleting in foreign-key order does the same here.
            sqlite: () => Effect.forEach(["payments", "credits", "payout_batches", "blocks", "shares", "held_accounts"], (t) => sql.unsafe(`DELETE FROM ${t}`)),
            orElse: () => sql`TRUNCATE payments, credits, payout_batches, blocks, shares, held_accounts`,
          })
          yield* sql`UPDATE meta SET value = '1' WHERE key = 'next_batch'`
          const node = yield* makeMiniNode(SIMNET, BITS, 100, COINBASE)
          const wallet = makeMemoryWallet({ network: SIMNET })
          return yield* body({ node, wallet }).pipe(Effect.provide(Layer.mergeAll(node.layer, wallet.layer, noCrashPoints)))
        }).pipe(Effect.provide(poolStoreLayer), Effect.scoped, Effect.provideService(References.MinimumLogLevel, "Warn")),
      )

    type Node = Effect.Success<ReturnType<typeof makeMiniNode>>
    interface Env {
      readonly node: Node
      readonly wallet: ReturnType<typeof makeMemoryWallet>
    }

    /** Connects a block and reports it as the pool's (found by `account` at `foundAt`). */
    const poolBlock = (env: Env, accounting: Effect.Success<ReturnType<typeof makeStoreAccounting>>["accounting"], account: string, foundAt: number, networkDifficulty: bigint) =>
      Effect.gen(function* () {
        yield* env.node.externalBlock
        const header = env.node.chain[env.node.chain.length - 1]!
        const height = 100 + env.node.chain.length
        yield* accounting.blockAccepted({ hash: hashToDisplay(blockHash(header)), height, account, worker: "rig", model: "cpuminer", foundAt, networkDifficulty, findingShare: undefined })
        return { hash: hashToDisplay(blockHash(header)), height }
      })

    const tipHeight = (env: Env) => 100 + env.node.chain.length

    it("records every share once: a batch written twice, or shares from many connections at once", async () => {
      const result = await run(() =>
        Effect.gen(function* () {
          const store = yield* PoolStore
          const { recordShares, counters } = yield* makeStoreAccounting(options(PPLNS))
          const shares = Array.from({ length: 500 }, (_, i) => share(i, `acct${i % 7}`, 3n * DIFFICULTY_SCALE, 1000 + i))
          yield* Effect.forEach(shares, (s) => recordShares([s]), { concurrency: "unbounded", discard: true })
          yield* recordShares(shares.slice(0, 50))
          return { count: yield* store.shareCount, batches: counters.shareBatches }
        }),
      )
      expect(result.count).toEqual({ shares: 500, weight: 1500n * DIFFICULTY_SCALE })
      // 500 concurrent submits share far fewer commits than one each.
      expect(result.batches).toBeLessThan(100)
    })

    it("shares of one millisecond are walked newest first, each once, across pages and past seq 9 and 99", async () => {
      const walked = await run(() =>
        Effect.gen(function* () {
          const store = yield* PoolStore
          const { recordShares } = yield* makeStoreAccounting(options(PPLNS))
          yield* recordShares(Array.from({ length: 120 }, (_, i) => share(i, `acct${i}`, DIFFICULTY_SCALE, 7000)))
          const seen: Array<string> = []
          let cursor: { createdMs: number; seq: bigint } | undefined
          for (;;) {
            const page = yield* store.sharesBefore(7000, cursor, 7)
            seen.push(...page.map((r) => r.account))
            if (page.length < 7) break
            cursor = page[page.length - 1]
          }
          return seen
        }),
      )
      // Newest first is the reverse of the order they were recorded in (read as text, "9" sorted above "10").
      expect(walked).toEqual(Array.from({ length: 120 }, (_, i) => `acct${119 - i}`))
    })

    it("hashrate per client and per account is the work of its recent shares over the window", async () => {
      const result = await run(() =>
        Effect.gen(function* () {
          const now = Date.now()
          const { recordShares, hashrates } = yield* makeStoreAccounting(options(PPLNS))
          // 60 shares of difficulty 2^20 each in the last minute from one rig, 30 from another.
          const d = (1n << 20n) * DIFFICULTY_SCALE
          yield* recordShares(Array.from({ length: 60 }, (_, i) => ({ ...share(i, SS.One, d, now - 1000 - i), worker: "a" })))
          yield* recordShares(Array.from({ length: 30 }, (_, i) => ({ ...share(100 + i, SS.One, d, now - 1000 - i), worker: "b" })))
          yield* recordShares([share(999, SS.Old, d, now - 3_600_000)])
          return yield* hashrates(60_000)
        }),
      )
      // simnet: difficulty 1 takes 2 hashes.
      const perShare = 2 ** 20 * 2
      expect(result.accounts.get(SS.One)).toBeCloseTo((90 * perShare) / 60, 6)
      expect(result.clients.find((c) => c.worker === "b")?.hashesPerSecond).toBeCloseTo((30 * perShare) / 60, 6)
      expect(result.accounts.has(SS.Old)).toBe(false)
    })

    it("property: PPLNS credits written on confirmation equal the payout engine's over the same shares, and add up to the reward", async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.record({ account: fc.constantFrom(SS.A, SS.B, SS.C, SS.D), difficulty: fc.bigInt({ min: 1n, max: 50n }), gap: fc.integer({ min: 0, max: 3 }) }), { minLength: 1, maxLength: 60 }),
          fc.bigInt({ min: 10n, max: 400n }),
          async (draws, networkDifficulty) => {
            let time = 10_000
            const shares = draws.map((d, i) => share(i, d.account, d.difficulty * DIFFICULTY_SCALE, (time += d.gap)))
            const got = await run((env) =>
              Effect.gen(function* () {
                const store = yield* PoolStore
                const { accounting, settle } = yield* makeStoreAccounting(options(PPLNS))
                yield* accounting.recordShares(shares)
                yield* poolBlock(env, accounting, SS.A, time, networkDifficulty * DIFFICULTY_SCALE)
                yield* env.node.externalBlock
                yield* settle(tipHeight(env))
                return yield* store.accountTotals
              }),
            )
            const log = new ShareLog()
            for (const s of shares) log.append({ id: s.id, account: s.account, weight: s.difficulty, time: s.time })
            const expected = shareBlock(
              PPLNS,
              log,
              { hash: "b", height: 1, reward: COINBASE, networkDifficulty: networkDifficulty * DIFFICULTY_SCALE, time, logEnd: shares.length, finder: SS.A },
              100,
              0,
            )
            const want = new Map(expected.credits.filter((c) => c.amount > 0n).map((c) => [c.account, c.amount]))
            want.set(POOL_FEE_ACCOUNT, expected.fee)
            expect(new Map(got.map((t) => [t.account, t.immature]))).toEqual(want)
            expect(got.reduce((s, t) => s + t.immature, 0n)).toBe(COINBASE)
          },
        ),
        { numRuns: 15 },
      )
    })

    it("a block whose window holds no shares credits its whole net reward to its finder, never to nobody", async () => {
      const result = await run((env) =>
        Effect.gen(function* () {
          const store = yield* PoolStore
          const { accounting, settle } = yield* makeStoreAccounting(options(PPLNS))
          yield* poolBlock(env, accounting, SS.Finder, 5000, 100n * DIFFICULTY_SCALE)
          yield* env.node.externalBlock
          yield* settle(tipHeight(env))
          return { totals: yield* store.accountTotals, confirmed: yield* store.blocksWithStatus(["confirmed"]) }
        }),
      )
      const fee = feeOf(COINBASE, 100)
      expect(result.confirmed).toHaveLength(1)
      expect(result.totals.map((t) => [t.account, t.immature])).toEqual([
        [SS.Finder, COINBASE - fee],
        [POOL_FEE_ACCOUNT, fee],
      ])
    })

    it("a block goes in with its finding share, and is split only after every share accepted before it is committed", async () => {
      const result = await run((env) =>
        Effect.gen(function* () {
          const store = yield* PoolStore
          // A slow committer: shares wait 300 ms in its queue, as under a busy store.
          const { accounting, settle } = yield* makeStoreAccounting(options(PPLNS, { shareCommitLingerMillis: 300 }))
          const finding = share(3, SS.Finder, 10n * DIFFICULTY_SCALE, 5002)
          // The miners heard nothing yet: their shares are still queued when the block is found.
          yield* Effect.forkScoped(accounting.recordShares([share(1, SS.MinerOne, 20n * DIFFICULTY_SCALE, 5000), share(2, SS.MinerTwo, 10n * DIFFICULTY_SCALE, 5001), finding]))
          yield* env.node.externalBlock
          const header = env.node.chain[env.node.chain.length - 1]!
          const work = {
            hash: hashToDisplay(blockHash(header)),
            height: 100 + env.node.chain.length,
            account: SS.Finder,
            worker: "rig",
            model: "cpuminer" as const,
            foundAt: 5003,
            networkDifficulty: 100n * DIFFICULTY_SCALE,
          }
          yield* accounting.blockAccepted({ ...work, findingShare: finding })
          const sharesWithBlock = (yield* store.shareCount).shares
          yield* env.node.externalBlock
          yield* settle(tipHeight(env))
          return { sharesWithBlock, totals: yield* store.accountTotals, shares: (yield* store.shareCount).shares }
        }),
      )
      // The block row brought its finding share; the rest came with the committer.
      expect(result.sharesWithBlock).toBe(1)
      expect(result.shares).toBe(3)
      const fee = feeOf(COINBASE, 100)
      const net = COINBASE - fee
      expect(new Map(result.totals.map((t) => [t.account, t.immature]))).toEqual(
        new Map([
          [SS.MinerOne, net / 2n],
          [SS.MinerTwo, net / 4n],
          [SS.Finder, net / 4n],
          [POOL_FEE_ACCOUNT, fee],
        ]),
      )
    })

    it("credits a confirmed block once, makes it payable only at coinbase maturity, and pays each address once", async () => {
      const result = await run((env) =>
        Effect.gen(function* () {
          const store = yield* PoolStore
          const { accounting, settle } = yield* makeStoreAccounting(options(PPLNS))
          yield* accounting.recordShares([share(1, SS.MinerOne, 30n * DIFFICULTY_SCALE, 5000), share(2, SS.MinerTwo, 10n * DIFFICULTY_SCALE, 5001)])
          const block = yield* poolBlock(env, accounting, SS.MinerOne, 5001, 100n * DIFFICULTY_SCALE)
          yield* env.node.externalBlock
          yield* settle(tipHeight(env))
          yield* settle(tipHeight(env)) // again: nothing changes
          const afterConfirm = yield* store.accountTotals
          yield* env.node.externalBlocks(MATURITY - 1)
          yield* settle(tipHeight(env))
          const beforeMaturity = env.wallet.published.length
          expect(tipHeight(env)).toBe(block.height + MATURITY)
          yield* env.node.externalBlock
          yield* settle(tipHeight(env))
          yield* settle(tipHeight(env))
          return { afterConfirm, beforeMaturity, totals: yield* store.accountTotals }
        }),
      )
      const fee = feeOf(COINBASE, 100)
      expect(result.afterConfirm.map((t) => [t.account, t.immature])).toEqual([
        [SS.MinerOne, ((COINBASE - fee) * 3n) / 4n],
        [SS.MinerTwo, (COINBASE - fee) / 4n],
        [POOL_FEE_ACCOUNT, fee],
      ])
      expect(result.beforeMaturity).toBe(0)
      expect(result.totals.every((t) => t.immature === 0n && t.payable === 0n && t.pending === 0n)).toBe(true)
      expect(result.totals.reduce((s, t) => s + t.paid, 0n)).toBe(COINBASE)
    })

    it("an orphaned block earns nothing: unconfirmed blocks are dropped and a reorg reverses a confirmed block's credits", async () => {
      const result = await run((env) =>
        Effect.gen(function* () {
          const store = yield* PoolStore
          const { accounting, settle } = yield* makeStoreAccounting(options(PPLNS))
          yield* accounting.recordShares([share(1, SS.MinerOne, 30n * DIFFICULTY_SCALE, 5000)])
          yield* poolBlock(env, accounting, SS.MinerOne, 5000, 100n * DIFFICULTY_SCALE)
          yield* env.node.externalBlock
          yield* settle(tipHeight(env))
          const credited = (yield* store.accountTotals).length
          // A two-block reorg replaces the pool's block with someone else's.
          yield* env.node.disconnectTip
          yield* env.node.disconnectTip
          yield* env.node.externalBlocks(3)
          yield* settle(tipHeight(env))
          const blocks = yield* store.blocksWithStatus(["orphaned"])
          yield* env.node.externalBlocks(MATURITY + 2)
          yield* settle(tipHeight(env))
          return { credited, blocks, totals: yield* store.accountTotals, published: env.wallet.published.length }
        }),
      )
      expect(result.credited).toBe(2)
      expect(result.blocks).toHaveLength(1)
      expect(result.totals).toEqual([])
      expect(result.published).toBe(0)
    })

    it("a wallet outage delays a payout and a lost publish reply does not pay twice", async () => {
      const result = await run((env) =>
        Effect.gen(function* () {
          const store = yield* PoolStore
          const { accounting, settle } = yield* makeStoreAccounting(options(PPLNS))
          yield* accounting.recordShares([share(1, SS.MinerOne, 30n * DIFFICULTY_SCALE, 5000)])
          yield* poolBlock(env, accounting, SS.MinerOne, 5000, 100n * DIFFICULTY_SCALE)
          env.wallet.faults.offline = true
          yield* env.node.externalBlocks(MATURITY + 2)
          yield* settle(tipHeight(env))
          const whileOffline = { published: env.wallet.published.length, batches: yield* store.batches(10) }
          env.wallet.faults.offline = false
          env.wallet.faults.loseNextPublishReply = true
          yield* settle(tipHeight(env)) // built, stored, sent; the reply is lost
          const afterLostReply = (yield* store.batches(10)).map((b) => b.status)
          yield* settle(tipHeight(env)) // reconciled by txid: known, so not sent again
          yield* settle(tipHeight(env))
          return { whileOffline, afterLostReply, published: env.wallet.published.length, builds: env.wallet.builds(), batches: yield* store.batches(10), paid: env.wallet.paidTo() }
        }),
      )
      expect(result.whileOffline.published).toBe(0)
      expect(result.whileOffline.batches.map((b) => b.status)).toEqual(["building"])
      expect(result.afterLostReply).toEqual(["signed"])
      expect(result.published).toBe(1)
      expect(result.builds).toBe(1)
      expect(result.batches.map((b) => b.status)).toEqual(["published"])
      expect([...result.paid.values()].reduce((a, b) => a + b, 0n)).toBe(COINBASE)
      expect(result.paid.get(FEE_ADDRESS)).toBe(feeOf(COINBASE, 100))
    })

    it("asks the wallet to take the network fee out of the pool fee output, or out of the miners' outputs pro rata with payoutfeefrom=miners", async () => {
      const payerWith = (payoutFeeFrom: "poolfee" | "miners" | undefined) =>
        run((env) =>
          Effect.gen(function* () {
            const { accounting, settle } = yield* makeStoreAccounting(options(PPLNS, payoutFeeFrom === undefined ? {} : { payoutFeeFrom }))
            yield* accounting.recordShares([share(1, SS.MinerOne, 30n * DIFFICULTY_SCALE, 5000)])
            yield* poolBlock(env, accounting, SS.MinerOne, 5000, 100n * DIFFICULTY_SCALE)
            yield* env.node.externalBlocks(MATURITY + 2)
            yield* settle(tipHeight(env))
            return env.wallet.published.map((p) => p.feePaidBy)
          }),
        )
      expect(await payerWith(undefined)).toEqual([{ _tag: "Output", address: FEE_ADDRESS }])
      expect(await payerWith("miners")).toEqual([{ _tag: "ProRata", exempt: [FEE_ADDRESS] }])
    })

    it("a backup is a consistent snapshot that restores into an empty embedded store to the same books, and refuses a non-empty one", async () => {
      const lines = await run((env) =>
        Effect.gen(function* () {
          const { accounting, settle } = yield* makeStoreAccounting(options(PPLNS))
          yield* accounting.recordShares([share(1, SS.MinerOne, 30n * DIFFICULTY_SCALE, 5000), share(2, SS.MinerTwo, 10n * DIFFICULTY_SCALE, 5001)])
          yield* poolBlock(env, accounting, SS.MinerOne, 5001, 100n * DIFFICULTY_SCALE)
          yield* env.node.externalBlocks(MATURITY + 2)
          yield* settle(tipHeight(env))
          yield* accounting.recordShares([share(3, SS.MinerTwo, 10n * DIFFICULTY_SCALE, 9000)])
          const out: Array<string> = []
          yield* backup((line) => Effect.sync(() => void out.push(line)))
          return out
        }),
      )
      const restored = await Effect.runPromise(
        Effect.gen(function* () {
          const counts = yield* restore(lines)
          const again: Array<string> = []
          yield* backup((line) => Effect.sync(() => void again.push(line)))
          const twice = yield* Effect.result(restore(lines))
          return { counts, again, twice }
        }).pipe(Effect.provide(pgliteLayer({ dataDir: undefined })), Effect.scoped),
      )
      expect(restored.counts).toMatchObject({ shares: 3, blocks: 1, payout_batches: 1, credits: 3, payments: 3 })
      expect(restored.again).toEqual(lines)
      expect(restored.twice._tag).toBe("Failure")
      expect(String(restored.twice._tag === "Failure" ? restored.twice.failure.message : "")).toContain("already holds pool data")
    })

    it("PPS credits every share once at its expected value, payable after coinbase maturity; blocks feed the reserve and credit nobody", async () => {
      const shares = [share(1, SS.MinerOne, 30n * DIFFICULTY_SCALE, 5000), share(2, SS.MinerTwo, 10n * DIFFICULTY_SCALE, 5001), share(3, SS.MinerOne, 5n * DIFFICULTY_SCALE, 5002)]
      const result = await run((env) =>
        Effect.gen(function* () {
          const store = yield* PoolStore
          const { accounting, settle } = yield* makeStoreAccounting(options({ kind: "pps" }))
          yield* accounting.recordShares(shares)
          yield* poolBlock(env, accounting, SS.MinerOne, 5002, 100n * DIFFICULTY_SCALE)
          yield* env.node.externalBlock
          const tip = tipHeight(env)
          yield* settle(tip)
          yield* settle(tip) // settled shares are not credited again
          const early = yield* store.accountTotals
          yield* env.node.externalBlocks(MATURITY + 1)
          yield* settle(tipHeight(env))
          return { early, totals: yield* store.accountTotals, paid: env.wallet.paidTo(), blocks: yield* store.blocksWithStatus(["matured"]) }
        }),
      )
      const subsidy = workSubsidy(SIMNET, 101, SIMNET.ticketsPerBlock, subsidySplitAt(chainActivations(SIMNET.agendas), 101))
      const value = (s: AcceptedShare) => ppsCredit({ id: s.id, account: s.account, weight: s.difficulty, time: s.time }, subsidy, s.networkDifficulty, 100)
      const want = new Map<string, bigint>()
      for (const s of shares) want.set(s.account, (want.get(s.account) ?? 0n) + value(s))
      expect(new Map(result.early.map((t) => [t.account, t.immature]))).toEqual(want)
      expect(result.paid).toEqual(want)
      expect(result.blocks).toHaveLength(1)
      expect(result.totals.every((t) => t.paid === want.get(t.account))).toBe(true)
    })

    it("the PPS reserve is what blocks paid in less what PPS credited, in the store and the metrics; a warning each time it falls below the threshold, and a line when it is back", async () => {
      const subsidy = workSubsidy(SIMNET, 101, SIMNET.ticketsPerBlock, subsidySplitAt(chainActivations(SIMNET.agendas), 101))
      const value = (s: AcceptedShare) => ppsCredit({ id: s.id, account: s.account, weight: s.difficulty, time: s.time }, subsidy, s.networkDifficulty, 100)
      // Worth far less than the block's 10 DCR, then far more.
      const small = share(1, SS.MinerOne, DIFFICULTY_SCALE, 5000)
      const big = share(2, SS.MinerTwo, 1000n * DIFFICULTY_SCALE, 6000)
      const logs = captureLogs()
      const metrics = makePoolMetrics()
      const result = await run((env) =>
        Effect.gen(function* () {
          const { accounting, settle, ppsReserve } = yield* makeStoreAccounting(options({ kind: "pps" }, { ppsReserveLow: 0n }))
          const reserveLines = () => logs.lines.filter((l) => l.message.startsWith("PPS reserve")).map((l) => `${l.level}: ${l.message.split(":")[0]}`)
          yield* accounting.recordShares([small])
          yield* settle(tipHeight(env))
          yield* settle(tipHeight(env))
          const afterShare = { report: yield* ppsReserve, lines: reserveLines() }
          yield* poolBlock(env, accounting, SS.MinerOne, 5001, 100n * DIFFICULTY_SCALE)
          yield* env.node.externalBlock
          yield* settle(tipHeight(env))
          const afterBlock = { report: yield* ppsReserve, lines: reserveLines() }
          yield* accounting.recordShares([big])
          yield* settle(tipHeight(env))
          const rendered = yield* metrics.registry.render
          return { afterShare, afterBlock, afterBig: { report: yield* ppsReserve, lines: reserveLines() }, rendered }
        }).pipe(Effect.provide(logs.layer), Effect.provideService(PoolMetrics, metrics), Effect.provideService(References.MinimumLogLevel, "Info")),
      )
      expect(result.afterShare.report).toEqual({ applies: true, blocks: 0, blocksIn: 0n, creditedToShares: value(small), balance: -value(small), lowThreshold: 0n, low: true })
      expect(result.afterShare.lines).toEqual(["Warn: PPS reserve low"])
      expect(result.afterBlock.report).toMatchObject({ blocks: 1, blocksIn: COINBASE, balance: COINBASE - value(small), low: false })
      expect(result.afterBlock.lines).toEqual(["Warn: PPS reserve low", "Info: PPS reserve back above its threshold"])
      const out = value(small) + value(big)
      expect(result.afterBig.report).toMatchObject({ creditedToShares: out, balance: COINBASE - out, low: true })
      expect(result.afterBig.lines).toEqual(["Warn: PPS reserve low", "Info: PPS reserve back above its threshold", "Warn: PPS reserve low"])
      expect(result.rendered).toContain(`dcrforge_pps_reserve_atoms{figure="balance"} ${COINBASE - out}`)
      expect(result.rendered).toContain(`dcrforge_pps_reserve_atoms{figure="blocks_in"} ${COINBASE}`)
      expect(result.rendered).toContain(`dcrforge_pps_reserve_atoms{figure="low_threshold"} 0`)
    })

    it("a batch the wallet cannot fund is reported once, with the amount missing, while blocks come and go; and once when it resumes", async () => {
      const lines: Array<{ readonly level: string; readonly message: string }> = []
      const capture = Logger.layer([Logger.make((o) => void lines.push({ level: o.logLevel, message: Array.isArray(o.message) ? o.message.join(" ") : String(o.message) }))])
      const result = await run((env) =>
        Effect.gen(function* () {
          const { accounting, settle } = yield* makeStoreAccounting(options(PPLNS))
          yield* accounting.recordShares([share(1, SS.MinerOne, 30n * DIFFICULTY_SCALE, 5000)])
          yield* poolBlock(env, accounting, SS.MinerOne, 5001, 100n * DIFFICULTY_SCALE)
          // Ten blocks past maturity, each a settlement pass that cannot pay; what is missing
          // moves from block to block, as it does in a wallet that receives and spends.
          for (let i = 0; i < MATURITY + 10; i++) {
            env.wallet.faults.unfundedBy = 12_345n + BigInt(i)
            yield* env.node.externalBlock
            yield* settle(tipHeight(env))
          }
          const whileShort = env.wallet.published.length
          env.wallet.faults.unfundedBy = undefined
          yield* env.node.externalBlock
          yield* settle(tipHeight(env))
          return { whileShort, published: env.wallet.published.length }
        }).pipe(Effect.provide(capture), Effect.provideService(References.MinimumLogLevel, "Info")),
      )
      const postponed = lines.filter((l) => l.level === "Warn" && l.message.includes("postponed"))
      expect(postponed).toHaveLength(1)
      expect(postponed[0]?.level).toBe("Warn")
      expect(postponed[0]?.message).toMatch(/123\d\d atoms/)
      expect(lines.filter((l) => l.message.includes("settlement resumed"))).toHaveLength(1)
      expect(result.whileShort).toBe(0)
      expect(result.published).toBe(1)
    })

    it("accounts owed less than the minimum payout wait, carrying their credit to a later batch", async () => {
      const result = await run((env) =>
        Effect.gen(function* () {
          const store = yield* PoolStore
          const { accounting, settle } = yield* makeStoreAccounting(options(PPLNS, { minimumPayout: 500_000_000n }))
          yield* accounting.recordShares([share(1, SS.Big, 90n * DIFFICULTY_SCALE, 5000), share(2, SS.Small, 10n * DIFFICULTY_SCALE, 5001)])
          yield* poolBlock(env, accounting, SS.Big, 5001, 100n * DIFFICULTY_SCALE)
          yield* env.node.externalBlocks(MATURITY + 2)
          yield* settle(tipHeight(env))
          return { totals: yield* store.accountTotals, paid: env.wallet.paidTo() }
        }),
      )
      const small = result.totals.find((t) => t.account === SS.Small)!
      expect(small.payable).toBeGreaterThan(0n)
      expect(small.paid).toBe(0n)
      expect(result.paid.has(SS.Small)).toBe(false)
      expect(result.paid.get(SS.Big)).toBeGreaterThan(500_000_000n)
    })

    it("a batch with an address the wallet refuses (a key that is no point, a P2PK address) pays the others and holds that account, said once; its credits stay payable and later batches skip it", async () => {
      const logs = captureLogs()
      const result = await run((env) =>
        Effect.gen(function* () {
          const store = yield* PoolStore
          const { accounting, settle } = yield* makeStoreAccounting(options(PPLNS))
          // OFF_CURVE as an older pool credited it (its key is no point); P2PK passes dcrd's rules,
          // and dcrwallet pays no P2PK address. The wallet refuses both.
          yield* accounting.recordShares([share(1, SS.MinerOne, 30n * DIFFICULTY_SCALE, 5000), share(2, P2PK, 10n * DIFFICULTY_SCALE, 5001), share(3, OFF_CURVE, 10n * DIFFICULTY_SCALE, 5002)])
          yield* poolBlock(env, accounting, SS.MinerOne, 5002, 100n * DIFFICULTY_SCALE)
          yield* env.node.externalBlocks(MATURITY + 2)
          yield* settle(tipHeight(env))
          const first = { totals: yield* store.accountTotals, batches: yield* store.batches(10), paid: env.wallet.paidTo(), refused: [...env.wallet.refused] }
          // Another block: the held accounts earn again and keep waiting; the others are paid again.
          yield* accounting.recordShares([share(4, SS.MinerOne, 30n * DIFFICULTY_SCALE, 6000), share(5, P2PK, 10n * DIFFICULTY_SCALE, 6001)])
          yield* poolBlock(env, accounting, SS.MinerOne, 6001, 100n * DIFFICULTY_SCALE)
          yield* env.node.externalBlocks(MATURITY + 2)
          yield* settle(tipHeight(env))
          yield* settle(tipHeight(env))
          return { first, totals: yield* store.accountTotals, held: yield* store.heldAccounts, batches: yield* store.batches(10), paid: env.wallet.paidTo(), refused: [...env.wallet.refused] }
        }).pipe(Effect.provide(logs.layer), Effect.provideService(References.MinimumLogLevel, "Info")),
      )
      const totalsOf = (totals: typeof result.totals, account: string) => totals.find((t) => t.account === account)!
      // The first batch paid MinerOne and the pool fee; the wallet refused each of the others once.
      expect(result.first.batches.map((b) => b.status)).toEqual(["published"])
      expect([...result.first.paid.keys()].sort()).toEqual([SS.MinerOne, FEE_ADDRESS].sort())
      expect(result.first.paid.get(SS.MinerOne)).toBe(totalsOf(result.first.totals, SS.MinerOne).paid)
      expect([...result.first.refused].sort()).toEqual([P2PK, OFF_CURVE].sort())
      for (const held of [P2PK, OFF_CURVE]) {
        const t = totalsOf(result.first.totals, held)
        expect(t.payable).toBeGreaterThan(0n)
        expect([t.immature, t.pending, t.paid]).toEqual([0n, 0n, 0n])
      }
      // The second batch skipped them without asking the wallet again.
      expect(result.batches.map((b) => b.status)).toEqual(["published", "published"])
      expect(result.refused).toEqual(result.first.refused)
      expect(result.paid.has(P2PK) || result.paid.has(OFF_CURVE)).toBe(false)
      expect(result.held.map((h) => [h.account, h.address])).toEqual(
        [
          [P2PK, P2PK],
          [OFF_CURVE, OFF_CURVE],
        ].sort(([a], [b]) => (a! < b! ? -1 : 1)),
      )
      expect(result.held.find((h) => h.account === OFF_CURVE)?.reason).toContain("not a point of the curve")
      expect(result.held.find((h) => h.account === P2PK)?.reason).toContain("dcrwallet pays only p2pkh")
      expect(totalsOf(result.totals, P2PK).payable).toBeGreaterThan(totalsOf(result.first.totals, P2PK).payable)
      // Nothing lost, nothing paid twice: every atom of both blocks is paid or still payable.
      const sum = (f: (t: (typeof result.totals)[number]) => bigint) => result.totals.reduce((a, t) => a + f(t), 0n)
      expect(sum((t) => t.paid + t.payable + t.pending + t.immature)).toBe(2n * COINBASE)
      expect([...result.paid.values()].reduce((a, b) => a + b, 0n)).toBe(sum((t) => t.paid))
      expect(sum((t) => t.payable)).toBe(totalsOf(result.totals, P2PK).payable + totalsOf(result.totals, OFF_CURVE).payable)
      // Said once each, at warning, with the address and why.
      const said = logs.setAside()
      expect(said).toHaveLength(2)
      expect(said.every((l) => l.level === "Warn")).toBe(true)
      expect(said.find((l) => l.message.includes(OFF_CURVE))?.message).toContain("not a point of the curve")
      expect(said.find((l) => l.message.includes(P2PK))?.message).toContain("dcrwallet pays only p2pkh")
    })

    it("a restart replays correctly: a pool killed after setting an account aside rebuilds the batch without it and pays each of the others once", async () => {
      const logs = captureLogs()
      const result = await run((env) =>
        Effect.gen(function* () {
          const store = yield* PoolStore
          // The first pool dies right after building the batch without P2PK, before storing it.
          let killed = false
          const dying = CrashPoints.of({
            at: (step) => (step === "payout:after-build" && !killed ? Effect.sync(() => void (killed = true)).pipe(Effect.andThen(Effect.die(new Error("killed")))) : Effect.void),
          })
          const first = yield* makeStoreAccounting(options(PPLNS)).pipe(Effect.provideService(CrashPoints, dying))
          yield* first.recordShares([share(1, SS.MinerOne, 30n * DIFFICULTY_SCALE, 5000), share(2, P2PK, 10n * DIFFICULTY_SCALE, 5001), share(3, SS.MinerTwo, 10n * DIFFICULTY_SCALE, 5002)])
          yield* poolBlock(env, first.accounting, SS.MinerOne, 5002, 100n * DIFFICULTY_SCALE)
          yield* env.node.externalBlocks(MATURITY + 2)
          yield* first.settle(tipHeight(env))
          const afterKill = {
            batches: (yield* store.batches(10)).map((b) => b.status),
            held: (yield* store.heldAccounts).map((h) => h.account),
            payments: (yield* store.paymentsOf(1n)).map((p) => p.account),
            published: env.wallet.published.length,
          }
          // The restarted pool: nothing in memory, the same database.
          const second = yield* makeStoreAccounting(options(PPLNS, { instance: "b" }))
          yield* second.settle(tipHeight(env))
          yield* second.settle(tipHeight(env))
          return {
            afterKill,
            totals: yield* store.accountTotals,
            batches: (yield* store.batches(10)).map((b) => b.status),
            held: (yield* store.heldAccounts).map((h) => h.account),
            paid: env.wallet.paidTo(),
            published: env.wallet.published.length,
            refused: [...env.wallet.refused],
          }
        }).pipe(Effect.provide(logs.layer)),
      )
      expect(result.afterKill).toEqual({ batches: ["building"], held: [P2PK], payments: [SS.MinerOne, SS.MinerTwo, POOL_FEE_ACCOUNT].sort(), published: 0 })
      expect(result.batches).toEqual(["published"])
      expect(result.published).toBe(1)
      expect(result.held).toEqual([P2PK])
      // The wallet was asked about P2PK once: the restarted pool read the set-aside from the store.
      expect(result.refused).toEqual([P2PK])
      for (const t of result.totals) {
        const address = t.account === POOL_FEE_ACCOUNT ? FEE_ADDRESS : t.account
        expect(result.paid.get(address) ?? 0n).toBe(t.paid)
        if (t.account === P2PK) expect([t.payable > 0n, t.paid]).toEqual([true, 0n])
        else expect([t.payable, t.pending, t.paid > 0n]).toEqual([0n, 0n, true])
      }
      expect(result.totals.reduce((a, t) => a + t.paid + t.payable, 0n)).toBe(COINBASE)
      expect(logs.setAside()).toHaveLength(1)
    })

    it("a batch paying only a refused account is dropped before signing; released by an operator, the account is paid all its credits once", async () => {
      const result = await run((env) =>
        Effect.gen(function* () {
          const store = yield* PoolStore
          const { accounting, settle } = yield* makeStoreAccounting(options(PPLNS, { feeBasisPoints: 0 }))
          yield* accounting.recordShares([share(1, SS.Big, 30n * DIFFICULTY_SCALE, 5000)])
          yield* poolBlock(env, accounting, SS.Big, 5000, 100n * DIFFICULTY_SCALE)
          yield* env.node.externalBlocks(MATURITY + 2)
          env.wallet.faults.refuseAddresses.add(SS.Big)
          yield* settle(tipHeight(env))
          yield* settle(tipHeight(env))
          const whileHeld = { batches: yield* store.batches(10), totals: yield* store.accountTotals, held: (yield* store.heldAccounts).map((h) => h.account), refused: env.wallet.refused.length }
          env.wallet.faults.refuseAddresses.delete(SS.Big)
          const released = [yield* store.releaseHeldAccount(SS.Big), yield* store.releaseHeldAccount(SS.Big)]
          yield* settle(tipHeight(env))
          yield* settle(tipHeight(env))
          return {
            whileHeld,
            released,
            totals: yield* store.accountTotals,
            held: yield* store.heldAccounts,
            batches: (yield* store.batches(10)).map((b) => [b.id, b.status]),
            paid: env.wallet.paidTo(),
          }
        }),
      )
      expect(result.whileHeld.batches).toEqual([])
      expect(result.whileHeld.held).toEqual([SS.Big])
      expect(result.whileHeld.totals).toEqual([{ account: SS.Big, immature: 0n, payable: COINBASE, pending: 0n, paid: 0n }])
      expect(result.whileHeld.refused).toBe(1)
      expect(result.released).toEqual([true, false])
      expect(result.held).toEqual([])
      // Batch 1 was dropped; batch 2 pays the whole credit, once.
      expect(result.batches).toEqual([[2n, "published"]])
      expect(result.paid).toEqual(new Map([[SS.Big, COINBASE]]))
      expect(result.totals).toEqual([{ account: SS.Big, immature: 0n, payable: 0n, pending: 0n, paid: COINBASE }])
    })

    it("the pool's fee goes to each fee address in turn, one per batch, and a restarted pool continues the turn", async () => {
      const feeAddresses = [simnetAddress("fee one"), simnetAddress("fee two"), simnetAddress("fee three")]
      const result = await run((env) =>
        Effect.gen(function* () {
          const store = yield* PoolStore
          const credit = (n: number) => ({ source: `block-${n}`, account: POOL_FEE_ACCOUNT, amount: "1000000", created_ms: n, payable: true })
          const feeOutputs = () => env.wallet.published.map((p) => p.outputs.map((o) => o.address))
          const first = yield* makeStoreAccounting(options(PPLNS, { feeAddress: feeAddresses }))
          for (const n of [1, 2]) {
            yield* store.sql`INSERT INTO credits ${store.sql.insert(credit(n))}`
            yield* first.settle(200 + n)
          }
          const beforeRestart = feeOutputs()
          // A new process on the same database: nothing but the store carries the turn over.
          const restarted = yield* makeStoreAccounting(options(PPLNS, { feeAddress: feeAddresses }))
          for (const n of [3, 4, 5]) {
            yield* store.sql`INSERT INTO credits ${store.sql.insert(credit(n))}`
            yield* restarted.settle(200 + n)
          }
          return { beforeRestart, all: feeOutputs(), stored: (yield* store.accountPayments(POOL_FEE_ACCOUNT, 10, 0)).map((p) => [p.batchId, p.address]) }
        }),
      )
      const [one, two, three] = feeAddresses
      expect(result.beforeRestart).toEqual([[one], [two]])
      expect(result.all).toEqual([[one], [two], [three], [one], [two]])
      expect(result.stored).toEqual([
        [5n, two],
        [4n, one],
        [3n, three],
        [2n, two],
        [1n, one],
      ])
    })

    it("a transaction built before a payment was set aside is never stored as the batch's, and a signed batch is never changed", async () => {
      const result = await run(() =>
        Effect.gen(function* () {
          const store = yield* PoolStore
          const credit = (account: string, amount: bigint) => ({ source: "block-x", account, amount: amount.toString(), created_ms: 1, payable: true })
          yield* store.sql`INSERT INTO credits ${store.sql.insert([credit(SS.A, 700n), credit(SS.B, 300n)])}`
          const id = (yield* store.createBatch(1n, POOL_FEE_ACCOUNT, (a) => a, 200, 1000))!
          const builtFrom = yield* store.paymentsOf(id)
          const setAside = yield* store.setAsidePayment(id, SS.B, "refused", 2000)
          const again = yield* store.setAsidePayment(id, SS.B, "refused", 2001)
          const stale = yield* store.markSigned(id, "aa".repeat(32), "00", 0n, builtFrom)
          const fresh = yield* store.markSigned(id, "bb".repeat(32), "00", 0n, yield* store.paymentsOf(id))
          const afterSigned = yield* store.setAsidePayment(id, SS.A, "refused", 3000)
          const nextBatch = yield* store.createBatch(1n, POOL_FEE_ACCOUNT, (a) => a, 201, 4000)
          const lines: Array<string> = []
          yield* backup((line) => Effect.sync(() => void lines.push(line)))
          return { setAside, again, stale, fresh, afterSigned, nextBatch, totals: yield* store.accountTotals, held: yield* store.heldAccounts, batch: (yield* store.batches(1))[0], lines }
        }),
      )
      // A held account stays held through a backup and a restore.
      const restored = await Effect.runPromise(
        Effect.gen(function* () {
          const counts = yield* restore(result.lines)
          return { counts, held: yield* (yield* PoolStore).heldAccounts }
        }).pipe(Effect.provide(poolStoreLayer.pipe(Layer.provideMerge(pgliteLayer({ dataDir: undefined })))), Effect.scoped),
      )
      expect(restored.counts).toMatchObject({ held_accounts: 1, payments: 1, credits: 2 })
      expect(restored.held).toEqual(result.held)
      expect(result.setAside).toEqual({ address: SS.B, amount: 300n, batchDropped: false })
      expect(result.again).toBeUndefined()
      expect(result.stale).toBe(false)
      expect(result.fresh).toBe(true)
      expect(result.afterSigned).toBeUndefined()
      // B is held: the next batch finds nothing to pay.
      expect(result.nextBatch).toBeUndefined()
      expect(result.batch).toMatchObject({ status: "signed", txid: "bb".repeat(32) })
      expect(result.held).toEqual([{ account: SS.B, address: SS.B, reason: "refused", heldMs: 2000 }])
      expect(new Map(result.totals.map((t) => [t.account, [t.payable, t.pending]]))).toEqual(
        new Map([
          [SS.A, [0n, 700n]],
          [SS.B, [300n, 0n]],
        ]),
      )
    })
  })
}

describe.skipIf("skip" in pg)("several pool instances on one PostgreSQL database", () => {
  /** A fixed workload: shares from five miners with distinct times, and three found blocks. */
  const workload = Array.from({ length: 400 }, (_, i) => share(i, SS_MINERS[i % 5]!, BigInt(1 + (i % 7)) * DIFFICULTY_SCALE, 10_000 + i * 3))
  const foundAt = [10_400, 10_800, 11_190]

  /** A fresh Postgres database (stopped with the scope), a mini node and a wallet: where each test of several instances starts. */
  const freshDatabase = Effect.gen(function* () {
    const server = yield* Effect.promise(() => postgresForTests())
    if ("skip" in server) return yield* Effect.die(new Error(server.skip))
    yield* Effect.addFinalizer(() => Effect.promise(() => server.stop()))
    const node = yield* makeMiniNode(SIMNET, BITS, 100, COINBASE)
    return { database: PgClient.layer({ url: Redacted.make(server.url) }), node, wallet: makeMemoryWallet({ network: SIMNET }) }
  })

  /**
   * Runs the workload with `instances` pool instances (each its own connection pool, as separate
   * processes have) on a fresh database, all with the settler lease the command line gives
   * pools on Postgres.
   */
  const runWith = (instances: number) =>
    Effect.gen(function* () {
      const { database, node, wallet } = yield* freshDatabase
      // What the instances asked of the node for settlement: a block's reward is read once per split.
      const rpc = yield* Effect.gen(function* () {
        return yield* ChainRpc
      }).pipe(Effect.provide(node.layer))
      let rewardReads = 0
      const countedNode = Layer.succeed(ChainRpc)({ ...rpc, coinbaseValue: (hash) => Effect.suspend(() => ((rewardReads += 1), rpc.coinbaseValue(hash))) })
      const pools = yield* Effect.forEach(
        Array.from({ length: instances }, (_, i) => i),
        (i) =>
          Effect.gen(function* () {
            const context = yield* Layer.build(Layer.mergeAll(poolStoreLayer, countedNode, wallet.layer, noCrashPoints).pipe(Layer.provideMerge(database)))
            if (i === 0) yield* migrate.pipe(Effect.provideContext(context))
            const acc = yield* makeStoreAccounting(options(PPLNS, { instance: `i${i}`, settlerLeaseMillis: 60_000 })).pipe(Effect.provideContext(context))
            return { context, ...acc }
          }),
      )
      // Each instance gets its own miners' shares, all instances submitting at once.
      yield* Effect.forEach(
        pools,
        (p, i) =>
          Effect.forEach(
            workload.filter((_, n) => n % instances === i),
            (s) => p.recordShares([s]),
            { concurrency: 20, discard: true },
          ),
        { concurrency: "unbounded", discard: true },
      )
      for (const [b, at] of foundAt.entries()) {
        yield* node.externalBlock
        const header = node.chain[node.chain.length - 1]!
        const work = {
          hash: hashToDisplay(blockHash(header)),
          height: 100 + node.chain.length,
          account: SS_MINERS[b]!,
          worker: "rig",
          model: "cpuminer" as const,
          foundAt: at,
          networkDifficulty: 300n * DIFFICULTY_SCALE,
          findingShare: undefined,
        }
        // Every instance reports every block: duplicates must not matter.
        yield* Effect.forEach(pools, (p) => p.accounting.blockAccepted(work), { concurrency: "unbounded", discard: true })
      }
      yield* node.externalBlocks(MATURITY + 2)
      const tip = 100 + node.chain.length
      for (let round = 0; round < 3; round++) yield* Effect.forEach(pools, (p) => p.settle(tip), { concurrency: "unbounded", discard: true })
      const books = yield* Effect.gen(function* () {
        const store = yield* PoolStore
        return { totals: yield* store.accountTotals, shares: yield* store.shareCount, blocks: yield* store.blocksWithStatus(["matured"]), batches: yield* store.batches(10) }
      }).pipe(Effect.provideContext(pools[0]!.context))
      return { ...books, published: wallet.published.length, paid: wallet.paidTo(), builds: wallet.builds(), rewardReads }
    }).pipe(Effect.scoped, Effect.provideService(References.MinimumLogLevel, "Warn"))

  it("shares, credits and payouts come out identical to one instance's: nothing counted or paid twice, each block split once and each batch built once", async () => {
    const one = await Effect.runPromise(runWith(1))
    const three = await Effect.runPromise(runWith(3))
    expect(one.shares.shares).toBe(400)
    expect(three.shares).toEqual(one.shares)
    expect(three.blocks.map((b) => b.hash)).toEqual(one.blocks.map((b) => b.hash))
    expect(one.blocks).toHaveLength(3)
    expect(three.totals).toEqual(one.totals)
    expect(three.paid).toEqual(one.paid)
    expect(one.published).toBe(1)
    expect(three.published).toBe(1)
    expect([...three.paid.values()].reduce((a, b) => a + b, 0n)).toBe(3n * COINBASE)
    // One payer: the lease's holder alone read each block's reward and asked the wallet to build.
    expect(one.rewardReads).toBe(3)
    expect(three.rewardReads).toBe(one.rewardReads)
    expect(one.builds).toBe(1)
    expect(three.builds).toBe(one.builds)
  }, 120_000)

  it("a payer that dies hands over: the others leave settlement to the lease's holder until it lapses, then one takes it over and pays, saying so once", async () => {
    const logs = captureLogs()
    const result = await Effect.runPromise(
      Effect.gen(function* () {
        const { database, node, wallet } = yield* freshDatabase
        const context = yield* Layer.build(Layer.mergeAll(poolStoreLayer, node.layer, wallet.layer, noCrashPoints).pipe(Layer.provideMerge(database)))
        return yield* Effect.gen(function* () {
          yield* migrate
          const store = yield* PoolStore
          // The payer that died: it took the lease for 800 ms and was never heard of again.
          yield* store.takeLease("settler", "dead", yield* Clock.currentTimeMillis, 800)
          const survivor = yield* makeStoreAccounting(options(PPLNS, { instance: "survivor", settlerLeaseMillis: 800 }))
          yield* survivor.recordShares(workload.slice(0, 50))
          yield* node.externalBlock
          const hash = hashToDisplay(blockHash(node.chain[node.chain.length - 1]!))
          const height = 100 + node.chain.length
          yield* survivor.accounting.blockAccepted({
            hash,
            height,
            account: SS_MINERS[0]!,
            worker: "rig",
            model: "cpuminer",
            foundAt: 10_200,
            networkDifficulty: 300n * DIFFICULTY_SCALE,
            findingShare: undefined,
          })
          yield* node.externalBlocks(MATURITY + 2)
          const tip = 100 + node.chain.length
          yield* survivor.settle(tip)
          const whileHeld = { blocks: (yield* store.blocksWithStatus(["accepted"])).length, published: wallet.published.length }
          yield* Effect.sleep("1200 millis")
          yield* survivor.settle(tip)
          yield* survivor.settle(tip)
          return { whileHeld, matured: (yield* store.blocksWithStatus(["matured"])).length, published: wallet.published.length, paid: wallet.paidTo() }
        }).pipe(Effect.provideContext(context))
      }).pipe(Effect.scoped, Effect.provide(logs.layer), Effect.provideService(References.MinimumLogLevel, "Info")),
    )
    expect(result.whileHeld).toEqual({ blocks: 1, published: 0 })
    expect(result.matured).toBe(1)
    expect(result.published).toBe(1)
    expect([...result.paid.values()].reduce((a, b) => a + b, 0n)).toBe(COINBASE)
    const said = logs.lines.filter((l) => l.message.includes("settler lease")).map((l) => l.message)
    expect(said).toHaveLength(2)
    expect(said[0]).toContain("instance dead holds the settler lease")
    expect(said[1]).toContain("instance survivor took the settler lease over")
  }, 60_000)

  it("a block waits to be split until every other live instance has stored its shares up to the block's time, then credits them too", async () => {
    const result = await Effect.runPromise(
      Effect.gen(function* () {
        const { database, node, wallet } = yield* freshDatabase
        const connect = (crash: Layer.Layer<CrashPoints>) => Layer.build(Layer.mergeAll(poolStoreLayer, node.layer, wallet.layer, crash).pipe(Layer.provideMerge(database)))
        // Instance b's share commits wait at a gate while it is shut: a front end whose store writes lag.
        let gate: Deferred.Deferred<void> | undefined
        const lagging = Layer.succeed(CrashPoints)({ at: (step) => (step === "shares:before-commit" && gate !== undefined ? Deferred.await(gate) : Effect.void) })
        const a = yield* connect(noCrashPoints)
        yield* migrate.pipe(Effect.provideContext(a))
        const b = yield* connect(lagging)
        const payer = yield* makeStoreAccounting(options(PPLNS, { instance: "a", settlerLeaseMillis: 3_000 })).pipe(Effect.provideContext(a))
        const frontEnd = yield* makeStoreAccounting(options(PPLNS, { instance: "b", settlerLeaseMillis: 3_000 })).pipe(Effect.provideContext(b))
        yield* Effect.sleep("300 millis")
        const opened = yield* Deferred.make<void>()
        gate = opened
        const now = yield* Clock.currentTimeMillis
        // b accepted SS.B's share (its miner waits for the commit); a accepted SS.A's; then a found a block.
        const waiting = yield* frontEnd.recordShares([share(1, SS.B, 10n * DIFFICULTY_SCALE, now)]).pipe(Effect.forkScoped)
        yield* payer.recordShares([share(2, SS.A, 10n * DIFFICULTY_SCALE, now)])
        yield* node.externalBlock
        const hash = hashToDisplay(blockHash(node.chain[node.chain.length - 1]!))
        yield* payer.accounting.blockAccepted({
          hash,
          height: 100 + node.chain.length,
          account: SS.A,
          worker: "rig",
          model: "cpuminer",
          foundAt: now + 1,
          networkDifficulty: 300n * DIFFICULTY_SCALE,
          findingShare: undefined,
        })
        yield* node.externalBlocks(2)
        const tip = 100 + node.chain.length
        const store = yield* PoolStore.pipe(Effect.provideContext(a))
        const credited = () => store.sql`SELECT account FROM credits WHERE source = ${hash} ORDER BY account COLLATE "C"`.pipe(Effect.map((rows) => rows.map((r) => String(r["account"]))))
        yield* payer.settle(tip)
        yield* frontEnd.settle(tip)
        const whileLagging = { status: (yield* store.blocksWithStatus(["accepted", "confirmed"])).map((x) => x.status), credited: yield* credited() }
        yield* Deferred.succeed(opened, undefined)
        yield* Fiber.join(waiting)
        // b's watermark passes the block's time: the stamp margin (1 s), then its next round (every 1 s).
        yield* Effect.sleep("3200 millis")
        yield* payer.settle(tip)
        yield* frontEnd.settle(tip)
        return { whileLagging, status: (yield* store.blocksWithStatus(["accepted", "confirmed"])).map((x) => x.status), credited: yield* credited() }
      }).pipe(Effect.scoped, Effect.provideService(References.MinimumLogLevel, "Warn")),
    )
    expect(result.whileLagging).toEqual({ status: ["accepted"], credited: [] })
    expect(result.status).toEqual(["confirmed"])
    expect(result.credited).toEqual([SS.A, SS.B, POOL_FEE_ACCOUNT].sort())
  }, 60_000)
})
