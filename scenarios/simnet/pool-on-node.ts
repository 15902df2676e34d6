/**
 * What the end-to-end mining tests need around a real node and the production pool: dcrd on
 * regnet (checked through the pool's exact JSON-RPC client, wallet/json-rpc.ts; the pool itself talks to
 * dcrd through its own websocket client), and the production pool assembled on a real dcrd with its block
 * submissions recorded, so a test can compare what the pool sent with what the chain holds.
 */
import { Data, Effect, Layer, Redacted, type Scope } from "effect"
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { NetworkParams } from "../../core/chain/params.ts"
import type { PayoutScheme } from "../../core/payout/schemes.ts"
import { ChainRpc } from "../../core/services/chain.ts"
import { StratumListener } from "../../core/services/listener.ts"
import type { PayoutWallet } from "../../core/services/wallet.ts"
import { noCrashPoints } from "../../pool/ops/crash-points.ts"
import { dcrdChainLayer, dcrdWebSocketLayer, defaultDcrdTimeouts, type DcrdOptions } from "../../pool/dcrd-client.ts"
import { runPool } from "../../pool/pool.ts"
import { pgliteLayer } from "../../pool/store/pglite.ts"
import { poolStoreLayer } from "../../pool/store/store.ts"
import { tcpListenerLayer } from "../../pool/stratum/tcp-listener.ts"
import { defaultVardiffConfig } from "../../pool/stratum/vardiff.ts"
import { jsonRpcClient, type JsonRpcCall } from "../../wallet/json-rpc.ts"
import { simnetEndpoint } from "./differential.ts"
import { freePorts } from "./harness.ts"
import { SimnetNode, type DaemonFailed } from "./node.ts"
import type { MinerStats } from "../../emulators/miner.ts"

class NodeRpcError extends Data.TaggedError("NodeRpcError")<{ readonly method: string; readonly reason: string }> {
  override get message(): string {
    return `${this.method} failed: ${this.reason}`
  }
}

interface RpcEndpoint {
  /** host:port of the JSON-RPC server (HTTPS). */
  readonly address: string
  readonly user: string
  readonly password: string
  /** The server's self-signed certificate (PEM), the only one trusted. */
  readonly certificate: string
}

/** A fresh temporary directory, removed with everything in it when the scope closes. */
export const tempDir = (prefix: string): Effect.Effect<string, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.sync(() => mkdtempSync(join(tmpdir(), prefix))),
    (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true })),
  )

/** The last lines of a log, for failure messages. */
const logTail = (logFile: string, lines = 15) => (existsSync(logFile) ? readFileSync(logFile, "utf8").split("\n").slice(-lines).join("\n") : "(no log)")

/** Polls `call` until it succeeds or `seconds` pass; the failure names what was awaited. */
export const waitUntil = <A, E>(what: string, seconds: number, attempt: Effect.Effect<A | undefined, E>): Effect.Effect<A, NodeRpcError> =>
  Effect.gen(function* () {
    const deadline = Date.now() + seconds * 1000
    let last = "not yet"
    for (;;) {
      const outcome = yield* Effect.result(attempt)
      if (outcome._tag === "Success" && outcome.success !== undefined) return outcome.success
      if (outcome._tag === "Failure") last = String(outcome.failure instanceof Error ? outcome.failure.message : outcome.failure)
      if (Date.now() > deadline) return yield* new NodeRpcError({ method: what, reason: `not reached in ${seconds} s (last: ${last})` })
      yield* Effect.sleep(250)
    }
  })

interface RegnetDcrd {
  /** Exact JSON-RPC (amounts come back as their decimal text), as the differential reads dcrd. */
  readonly rpc: JsonRpcCall
  readonly endpoint: RpcEndpoint
  readonly logFile: string
}

/**
 * dcrd on regnet in `dir` (started by the harness's `SimnetNode`, so from the pinned build),
 * mining to `miningAddress`, RPC over TLS with the certificate dcrd generates, no peers
 * (`--allowunsyncedmining` lets it hand out work alone), and a transaction index for the checks.
 */
export const regnetDcrd = (dir: string, miningAddress: string): Effect.Effect<RegnetDcrd, NodeRpcError | DaemonFailed, SimnetNode | Scope.Scope> =>
  Effect.gen(function* () {
    const node = yield* SimnetNode
    const [rpcPort, p2pPort] = yield* freePorts(2)
    const logFile = join(dir, "dcrd.log")
    const appData = join(dir, "dcrd")
    mkdirSync(appData, { recursive: true })
    const user = "dcrforge"
    const password = "dcrforge-regnet"
    yield* node.start({
      name: "dcrd (regnet)",
      program: "dcrd",
      args: [
        "--regnet",
        `--appdata=${appData}`,
        `--rpcuser=${user}`,
        `--rpcpass=${password}`,
        `--rpclisten=127.0.0.1:${rpcPort}`,
        `--listen=127.0.0.1:${p2pPort}`,
        "--noseeders",
        "--nodiscoverip",
        "--allowunsyncedmining",
        `--miningaddr=${miningAddress}`,
        "--txindex",
        "--nofilelogging",
      ],
      dirs: [appData],
      logFile,
      ready: /RPC server listening on/,
    })
    const endpoint = { address: `127.0.0.1:${rpcPort}`, user, password, certificate: readFileSync(join(appData, "rpc.cert"), "utf8") }
    const rpc = yield* jsonRpcClient(simnetEndpoint(`https://${endpoint.address}`, user, password, endpoint.certificate), { server: "dcrd" })
    yield* waitUntil("dcrd's RPC server", 60, rpc("getbestblock")).pipe(Effect.mapError((e) => new NodeRpcError({ method: e.method, reason: `${e.reason}\n${logTail(logFile)}` })))
    return { rpc, endpoint, logFile }
  })

/** What the pool handed dcrd as a solved block, and dcrd's answer. */
interface Submission {
  readonly data: Uint8Array
  readonly accepted: boolean
}

/**
 * The live chain client (dcrd's websocket, TLS with its certificate), with every block
 * submission recorded: the production client is unchanged, only observed.
 */
const recordedDcrdLayer = (options: DcrdOptions, submissions: Array<Submission>): Layer.Layer<ChainRpc> =>
  Layer.effect(
    ChainRpc,
    Effect.gen(function* () {
      const chain = yield* ChainRpc
      return ChainRpc.of({
        ...chain,
        submitWork: (data) => chain.submitWork(data).pipe(Effect.tap((accepted) => Effect.sync(() => submissions.push({ data: data.slice(), accepted })))),
      })
    }),
  ).pipe(Layer.provide(dcrdChainLayer(options).pipe(Layer.provide(dcrdWebSocketLayer(options.certificate)))))

/** What the pool's chain client needs to reach a node started here. */
export const dcrdOptionsFor = (endpoint: RpcEndpoint): DcrdOptions => ({
  url: `wss://${endpoint.address}/ws`,
  user: endpoint.user,
  password: Redacted.make(endpoint.password),
  certificate: endpoint.certificate,
  ...defaultDcrdTimeouts,
})

interface PoolOnNodeOptions {
  readonly network: NetworkParams
  readonly dcrd: DcrdOptions
  readonly wallet: Layer.Layer<PayoutWallet>
  /** The embedded store lives in `<dataDir>/pglite`. */
  readonly dataDir: string
  readonly scheme: PayoutScheme
  readonly feeBasisPoints: number
  readonly minimumPayout: bigint
  readonly feeAddress: string
  /** Every connection's share difficulty (DIFFICULTY_SCALE units), fixed: no vardiff. */
  readonly shareDifficulty: bigint
}

/**
 * The production pool (`runPool`: store-backed accounting on the embedded store, the mining
 * path, stratum on a loopback TCP port) on a real dcrd and the given wallet, for the scope's life.
 */
export const poolOnNode = (options: PoolOnNodeOptions) =>
  Effect.gen(function* () {
    const submissions: Array<Submission> = []
    const layers = Layer.mergeAll(poolStoreLayer, recordedDcrdLayer(options.dcrd, submissions), options.wallet, tcpListenerLayer({ host: "127.0.0.1", port: 0 }), noCrashPoints).pipe(
      Layer.provideMerge(pgliteLayer({ dataDir: join(options.dataDir, "pglite") })),
    )
    const services = yield* Layer.build(layers)
    const pool = yield* runPool({
      network: options.network,
      accounting: {
        network: options.network,
        instance: "e2e",
        scheme: options.scheme,
        feeBasisPoints: options.feeBasisPoints,
        minimumPayout: options.minimumPayout,
        feeAddress: options.feeAddress,
        coinbaseMaturity: options.network.coinbaseMaturity,
        maxShareBatch: 2000,
      },
      vardiffTargetSeconds: 1,
      maxConnectionsPerHost: 100,
      session: { vardiff: defaultVardiffConfig(options.shareDifficulty, options.shareDifficulty) },
    }).pipe(Effect.provideContext(services))
    const port = (yield* StratumListener.pipe(Effect.provideContext(services))).port
    return { pool, port, submissions, services }
  })

/** What each emulated miner saw, one line; rejections grouped by wording (the pool's messages name the job). */
export const describeMiners = (stats: ReadonlyMap<string, MinerStats>) =>
  [...stats]
    .map(([m, s]) => {
      const kinds = new Map<string, number>()
      for (const [reason, n] of s.rejectedBy) {
        const kind = reason.replace(/[0-9a-f]{16}/g, "<job>")
        kinds.set(kind, (kinds.get(kind) ?? 0) + n)
      }
      return `${m}: connects ${s.connects}, accepted ${s.accepted}/${s.submitted}, blocks ${s.blocks}${[...kinds].map(([k, v]) => `, rejected ${k}… x${v}`).join("")}`
    })
    .join(" | ")
