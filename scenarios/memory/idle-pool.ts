/**
 * A pool process for the memory benchmark: the production assembly (`runPool`, the
 * store-backed accounting, an embedded store on disk, stratum over TCP) with a stand-in node
 * that never finds a block and a wallet that is never asked. It idles until killed.
 *
 *   node scenarios/memory/idle-pool.ts <sqlite|pglite> <dir>
 *
 * Prints "ready <port>" once the stratum port listens, and "rss <bytes>" for each line it
 * reads on stdin, so the benchmark reads the process's resident set as the kernel counts it.
 */
import { createInterface } from "node:readline"
import { join } from "node:path"
import { Effect, Layer, References } from "effect"
import { SIMNET } from "../../core/chain/params.ts"
import { StratumListener } from "../../core/services/listener.ts"
import { PayoutWallet, WalletUnavailable } from "../../core/services/wallet.ts"
import { DIFFICULTY_SCALE } from "../../core/stratum/difficulty.ts"
import { noCrashPoints } from "../../pool/ops/crash-points.ts"
import { runPool } from "../../pool/pool.ts"
import { pgliteLayer } from "../../pool/store/pglite.ts"
import { sqliteLayer } from "../../pool/store/sqlite.ts"
import { poolStoreLayer } from "../../pool/store/store.ts"
import { tcpListenerLayer } from "../../pool/stratum/tcp-listener.ts"
import { makeMiniNode } from "../../testkit/mini-node.ts"

const unused = (method: string) => Effect.fail(new WalletUnavailable({ method, reason: "the idle pool pays nobody" }))
const noWallet = Layer.succeed(PayoutWallet)({ build: () => unused("build"), publish: () => unused("publish"), status: () => unused("status") })

const main = (store: string | undefined, dir: string | undefined) => {
  if (dir === undefined || (store !== "sqlite" && store !== "pglite")) {
    console.error("usage: idle-pool.ts <sqlite|pglite> <dir>")
    process.exit(2)
  }
  const database = store === "sqlite" ? sqliteLayer({ file: join(dir, "pool.sqlite") }) : pgliteLayer({ dataDir: join(dir, "pglite") })
  createInterface({ input: process.stdin }).on("line", () => process.stdout.write(`rss ${process.memoryUsage().rss}\n`))
  const pool = Effect.gen(function* () {
    // A network target no share meets: the pool mines the same block template the whole run.
    const node = yield* makeMiniNode(SIMNET, 0x1e00ffff, 100, 1_000_000_000n)
    yield* Effect.gen(function* () {
      yield* runPool({
        network: SIMNET,
        accounting: {
          network: SIMNET,
          instance: "idle",
          scheme: { kind: "pplns", windowMultiple: { numerator: 2n, denominator: 1n } },
          feeBasisPoints: 100,
          minimumPayout: 1n,
          feeAddress: "SsFeeAddressOfTheIdlePool",
          coinbaseMaturity: SIMNET.coinbaseMaturity,
          maxShareBatch: 2000,
        },
        vardiffTargetSeconds: 15,
        maxConnectionsPerHost: 100_000,
        session: { vardiff: { targetSeconds: 15, retargetSeconds: 1e9, retargetShares: 1e9, tolerance: 0.1, maxStep: 4, minDifficulty: DIFFICULTY_SCALE, maxDifficulty: DIFFICULTY_SCALE } },
      })
      process.stdout.write(`ready ${(yield* StratumListener).port}\n`)
      return yield* Effect.never
    }).pipe(Effect.scoped, Effect.provide(Layer.mergeAll(node.layer, tcpListenerLayer({ host: "127.0.0.1", port: 0 }), noWallet, noCrashPoints, poolStoreLayer.pipe(Layer.provideMerge(database)))))
  })
  Effect.runPromise(pool.pipe(Effect.provideService(References.MinimumLogLevel, "Warn"))).then(
    () => process.exit(0),
    (e: unknown) => {
      console.error(e)
      process.exit(1)
    },
  )
}

if (import.meta.main) main(process.argv[2], process.argv[3])
