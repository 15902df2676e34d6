/**
 * dcrforge as its own process for the side-by-side bench (`peer.bench.ts`), so it can be pinned
 * to a core and its CPU time and resident set read from /proc like dcrpool's. What `./dcrforge
 * pool run --activenet=regnet --solopool` assembles (`runPool` with the store-backed accounting on
 * the embedded SQLite store, dcrd's websocket client, stratum over TCP; no wallet, as a solo pool
 * on regnet has none), less the web server, with one change the bench needs: every connection's
 * share difficulty fixed at `shareDifficulty` (DIFFICULTY_SCALE units) instead of vardiff's.
 *
 *   node scenarios/load/peer-pool.ts <dataDir> <endpoint.json> <shareDifficulty> <maxConnectionsPerHost>
 *
 * `endpoint.json` holds dcrd's `{ address, user, password, certificate }`. Prints "ready <port>"
 * once the stratum port listens and the pool holds its first job; runs until killed.
 */
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { Effect, Layer, Redacted, References } from "effect"
import { REGNET } from "../../core/chain/params.ts"
import { StratumListener } from "../../core/services/listener.ts"
import { PayoutWallet, WalletUnavailable } from "../../core/services/wallet.ts"
import { dcrdChainLayer, dcrdWebSocketLayer } from "../../pool/dcrd-client.ts"
import { noCrashPoints } from "../../pool/ops/crash-points.ts"
import { runPool } from "../../pool/pool.ts"
import { sqliteLayer } from "../../pool/store/sqlite.ts"
import { poolStoreLayer } from "../../pool/store/store.ts"
import { tcpListenerLayer } from "../../pool/stratum/tcp-listener.ts"
import { defaultVardiffConfig } from "../../pool/stratum/vardiff.ts"
import { waitUntil } from "../simnet/pool-on-node.ts"

const unused = (method: string) => Effect.fail(new WalletUnavailable({ method, reason: "a solo pool on regnet has no wallet" }))
const noWallet = Layer.succeed(PayoutWallet)({ build: () => unused("build"), publish: () => unused("publish"), status: () => unused("status") })

const [dataDir, endpointFile, shareDifficultyText, maxConnectionsPerHost] = process.argv.slice(2)
if (dataDir === undefined || endpointFile === undefined || shareDifficultyText === undefined || maxConnectionsPerHost === undefined) {
  console.error("usage: peer-pool.ts <dataDir> <endpoint.json> <shareDifficulty> <maxConnectionsPerHost>")
  process.exit(2)
}
const endpoint = JSON.parse(readFileSync(endpointFile, "utf8")) as { address: string; user: string; password: string; certificate: string }
const shareDifficulty = BigInt(shareDifficultyText)

// The same dcrd client settings as `pool run` (pool/ops/cli.ts).
const chainLayer = dcrdChainLayer({
  url: `wss://${endpoint.address}/ws`,
  user: endpoint.user,
  password: Redacted.make(endpoint.password),
  certificate: endpoint.certificate,
  requestTimeoutMillis: 30_000,
  reconnectMillis: [250, 10_000],
}).pipe(Layer.provide(dcrdWebSocketLayer(endpoint.certificate)))

const layers = Layer.mergeAll(poolStoreLayer, chainLayer, noWallet, tcpListenerLayer({ host: "127.0.0.1", port: 0 }), noCrashPoints).pipe(
  Layer.provideMerge(sqliteLayer({ file: join(dataDir, "pool.sqlite") })),
)

const program = Effect.gen(function* () {
  const pool = yield* runPool({
    network: REGNET,
    accounting: {
      network: REGNET,
      instance: "peer-bench",
      scheme: { kind: "solo", atMiningAddress: true },
      feeBasisPoints: 0,
      minimumPayout: 0n,
      feeAddress: [],
      coinbaseMaturity: REGNET.coinbaseMaturity,
      maxShareBatch: 2000,
    },
    vardiffTargetSeconds: 15,
    maxConnectionsPerHost: Number(maxConnectionsPerHost),
    session: { vardiff: defaultVardiffConfig(shareDifficulty, shareDifficulty) },
  })
  yield* waitUntil(
    "the pool's first job",
    60,
    Effect.sync(() => pool.mining.jobs.current),
  )
  process.stdout.write(`ready ${(yield* StratumListener).port}\n`)
  return yield* Effect.never
}).pipe(Effect.scoped, Effect.provide(layers), Effect.provideService(References.MinimumLogLevel, "Warn"))

Effect.runPromise(program).catch((e: unknown) => {
  console.error(e)
  process.exit(1)
})
