/**
 * The pool process the crash-safety tests kill. It runs the production assembly (`runPool`,
 * the store-backed accounting, the embedded store on disk) and the crash points from
 * DCRFORGE_CRASH_AT; only the node and the wallet are stand-ins, and both keep their state in
 * files outside the process, as a real dcrd and dcrwallet keep theirs: what the pool sent
 * before dying stays sent.
 *
 *   node scenarios/crash/child.ts mine <dir>      stratum on 127.0.0.1:0, prints "ready <port>"
 *   node scenarios/crash/child.ts settle <dir>    one settlement pass at the chain file's tip, then exits
 */
import { Effect, Layer, References, Stream } from "effect"
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from "node:fs"
import { join } from "node:path"
import { DIFFICULTY_SCALE } from "../../core/stratum/difficulty.ts"
import { toHex } from "../../core/chain/bytes.ts"
import { blake256Hash } from "../../core/chain/hash.ts"
import { SIMNET } from "../../core/chain/params.ts"
import { ChainRpc, ChainUnavailable } from "../../core/services/chain.ts"
import { StratumListener } from "../../core/services/listener.ts"
import { PayoutWallet, type PayoutOutput } from "../../core/services/wallet.ts"
import { makeMiniNode } from "../../testkit/mini-node.ts"
import { crashPointsFromEnv } from "../../pool/ops/crash-points.ts"
import { runPool } from "../../pool/pool.ts"
import { makeStoreAccounting, type StoreAccountingOptions } from "../../pool/accounting/store-accounting.ts"
import { sqliteLayer } from "../../pool/store/sqlite.ts"
import { migrate } from "../../pool/store/schema.ts"
import { poolStoreLayer } from "../../pool/store/store.ts"
import { tcpListenerLayer } from "../../pool/stratum/tcp-listener.ts"

export const FEE_ADDRESS = "SsFeeAddressOfTheCrashPool"
export const COINBASE = 1_000_000_000n

const accountingOptions = (instance: string): StoreAccountingOptions => ({
  network: SIMNET,
  instance,
  scheme: { kind: "pplns", windowMultiple: { numerator: 2n, denominator: 1n } },
  feeBasisPoints: 100,
  minimumPayout: 1n,
  feeAddress: FEE_ADDRESS,
  coinbaseMaturity: SIMNET.coinbaseMaturity,
  maxShareBatch: 2000,
})

/** Replaces a file's content atomically and durably (write, fsync, rename). */
const writeDurably = (path: string, text: string) => {
  const partial = `${path}.partial`
  const fd = openSync(partial, "w")
  writeSync(fd, text)
  fsyncSync(fd)
  closeSync(fd)
  renameSync(partial, path)
}

/** The chain as a file the test writes: main-chain block hash by height, and the tip. */
interface ChainFile {
  readonly tip: number
  readonly hashes: Readonly<Record<string, string>>
}

/** What the wallet stand-in has built and sent, in a file it rewrites before answering. */
export interface WalletFile {
  readonly built: Readonly<Record<string, ReadonlyArray<readonly [string, string]>>>
  readonly published: ReadonlyArray<string>
}

const fileChain = (dir: string) => {
  const read = (): ChainFile => JSON.parse(readFileSync(join(dir, "chain.json"), "utf8")) as ChainFile
  return Layer.succeed(ChainRpc)({
    getWork: Effect.fail(new ChainUnavailable({ method: "getwork", reason: "the settle child does not mine" })),
    submitWork: () => Effect.fail(new ChainUnavailable({ method: "getwork", reason: "the settle child does not mine" })),
    getBestBlock: Effect.sync(() => {
      const c = read()
      return { hash: c.hashes[String(c.tip)] ?? "", height: c.tip }
    }),
    getBlockHash: (height) => Effect.sync(() => read().hashes[String(height)] ?? ""),
    coinbaseValue: () => Effect.succeed(COINBASE),
    events: Stream.empty,
  })
}

const fileWallet = (dir: string) => {
  const path = join(dir, "wallet.json")
  const read = (): WalletFile => (existsSync(path) ? (JSON.parse(readFileSync(path, "utf8")) as WalletFile) : { built: {}, published: [] })
  return Layer.succeed(PayoutWallet)({
    build: ({ outputs }: { readonly outputs: ReadonlyArray<PayoutOutput> }) =>
      Effect.sync(() => {
        const w = read()
        const body = JSON.stringify({ n: Object.keys(w.built).length, outputs: outputs.map((o) => [o.address, o.amount.toString()]) })
        const txid = toHex(blake256Hash(new TextEncoder().encode(body)))
        writeDurably(path, JSON.stringify({ ...w, built: { ...w.built, [txid]: outputs.map((o) => [o.address, o.amount.toString()] as const) } }))
        return { txid, rawTx: toHex(new TextEncoder().encode(body)), fee: 2_000n }
      }),
    publish: (payout) =>
      Effect.sync(() => {
        const w = read()
        if (!w.published.includes(payout.txid)) writeDurably(path, JSON.stringify({ ...w, published: [...w.published, payout.txid] }))
      }),
    status: (txid) => Effect.sync(() => (read().published.includes(txid) ? { _tag: "Known" as const, confirmations: 1 } : { _tag: "Unknown" as const })),
  })
}

const main = (mode: string | undefined, dir: string | undefined) => {
  if (dir === undefined || (mode !== "mine" && mode !== "settle")) {
    console.error("usage: child.ts <mine|settle> <dir>")
    process.exit(2)
  }
  const crash = crashPointsFromEnv(process.env.DCRFORGE_CRASH_AT)
  const store = poolStoreLayer.pipe(Layer.provideMerge(sqliteLayer({ file: join(dir, "db", "pool.sqlite") })))

  const mine = Effect.gen(function* () {
    // Network target far below the share target: a share is almost never a block.
    const node = yield* makeMiniNode(SIMNET, 0x1e00ffff, 100, COINBASE)
    const listener = tcpListenerLayer({ host: "127.0.0.1", port: 0 })
    yield* Effect.gen(function* () {
      const { mining } = yield* runPool({
        network: SIMNET,
        accounting: accountingOptions(`pid${process.pid}`),
        vardiffTargetSeconds: 15,
        maxConnectionsPerHost: 1000,
        session: { vardiff: { targetSeconds: 15, retargetSeconds: 1e9, retargetShares: 1e9, tolerance: 0.1, maxStep: 4, minDifficulty: DIFFICULTY_SCALE, maxDifficulty: DIFFICULTY_SCALE } },
      })
      void mining
      const l = yield* StratumListener
      process.stdout.write(`ready ${l.port}\n`)
      return yield* Effect.never
    }).pipe(Effect.scoped, Effect.provide(Layer.mergeAll(node.layer, listener, fileWallet(dir), crash, store)))
  })

  const settle = Effect.gen(function* () {
    yield* migrate
    const chain = JSON.parse(readFileSync(join(dir, "chain.json"), "utf8")) as ChainFile
    const { settle } = yield* makeStoreAccounting(accountingOptions(`pid${process.pid}`))
    yield* settle(chain.tip)
  }).pipe(Effect.scoped, Effect.provide(Layer.mergeAll(fileChain(dir), fileWallet(dir), crash, store)))

  Effect.runPromise((mode === "mine" ? mine : settle).pipe(Effect.provideService(References.MinimumLogLevel, "Warn"))).then(
    () => process.exit(0),
    (e: unknown) => {
      console.error(e)
      process.exit(1)
    },
  )
}

if (import.meta.main) main(process.argv[2], process.argv[3])
