import { PgClient } from "@effect/sql-pg"
import { Data, Effect, Layer, Redacted, Result } from "effect"
import type * as SqlClient from "effect/sql/SqlClient"
import { randomBytes } from "node:crypto"
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { dirname, join } from "node:path"
import { fromHex, toHex } from "../../core/chain/bytes.ts"
import { NETWORKS, type NetworkName } from "../../core/chain/params.ts"
import { SERVER_SEED_BYTES, serverPublicKey } from "../../core/vsp/server-key.ts"
import { dcrdVspChainLayer } from "../../wallet/vsp/dcrd-chain.ts"
import { votingFleetLayer } from "../../wallet/vsp/fleet.ts"
import type { VotingFleet } from "../../wallet/vsp/fleet-port.ts"
import { runVotingService, type RunningVotingService } from "../../wallet/vsp/service.ts"
import { pgliteLayer } from "../store/pglite.ts"

/**
 * The voting service wired for a process or a test: its store (the pool's embedded store or a
 * Postgres server), its dcrd (JSON-RPC over HTTPS), its voting wallets (wallet/vsp/fleet.ts),
 * and its server key (a file created at first start). `startVotingService` is what
 * `./dcrforge vsp run` runs and what the real-simnet suite starts in-process.
 */

/** One JSON-RPC server: dcrd's or a voting wallet's. */
interface RpcServerConfig {
  /** e.g. https://127.0.0.1:19556 */
  readonly url: string
  readonly user: string
  readonly password: string
  /** The server's rpc.cert (PEM text); undefined trusts the system's roots. */
  readonly certificate: string | undefined
}

export interface VotingServiceConfig {
  readonly network: NetworkName
  readonly dcrd: RpcServerConfig
  /** The voting wallets (dcrwallet --enablevoting --manualtickets), each named for the operator. */
  readonly votingWallets: ReadonlyArray<RpcServerConfig & { readonly name: string }>
  /** The extended public key fees are paid to (its network's dpub/tpub/spub). */
  readonly feeXpub: string
  /** The fee, percent of the vote reward (vspd's default: 3). */
  readonly feePercent: number
  /** Where the API listens; port 0 picks a free one (the URL returned says which). */
  readonly listen: { readonly host: string; readonly port: number }
  /** The embedded store in a directory (undefined: in memory, for tests), or a Postgres server. */
  readonly store: { readonly kind: "embedded"; readonly dataDir: string | undefined } | { readonly kind: "postgres"; readonly url: string }
  /** The Ed25519 server key: a file (hex seed) created at first start, or the seed itself (tests). */
  readonly serverKey: { readonly kind: "file"; readonly path: string } | { readonly kind: "seed"; readonly seed: Uint8Array }
  /** Admin password for /admin and /admin/status (user "admin"); undefined turns them off. */
  readonly adminPassword?: string | undefined
  /** Confirmations the ticket, then the fee, need before the ticket goes to the voting wallets (default and vspd's: 6). */
  readonly requiredConfirmations?: number | undefined
  /** New tickets are refused while fewer voting wallets are online (default 2). */
  readonly minVotingWallets?: number | undefined
  /** New tickets are refused while dcrd is more than this many blocks behind its peers (default 2). */
  readonly maxSyncLagBlocks?: number | undefined
  /** How often dcrd's tip is polled (default 1000 ms). */
  readonly pollMillis?: number | undefined
  /** The operator closed the service: no new tickets, with this message. */
  readonly closedMessage?: string | undefined
  /** Behind a reverse proxy: rate-limit by X-Forwarded-For's last hop rather than the proxy's address. */
  readonly trustProxy?: boolean | undefined
  /** Per-client API rate limit (default 20/s, burst 200). */
  readonly rateLimit?: { readonly perSecond: number; readonly burst: number } | undefined
  /** Replaces the JSON-RPC fleet (tests with emulated voting wallets). */
  readonly fleet?: Layer.Layer<VotingFleet> | undefined
}

class VspStartError extends Data.TaggedError("VspStartError")<{ readonly reason: string; readonly cause?: unknown }> {
  override get message(): string {
    return `voting service: ${this.reason}`
  }
}

/** The store the configuration names: the pool's embedded store, or a Postgres server. */
export const vspStoreLayerFor = (store: VotingServiceConfig["store"]): Layer.Layer<SqlClient.SqlClient, unknown> =>
  store.kind === "postgres" ? PgClient.layer({ url: Redacted.make(store.url) }) : pgliteLayer({ dataDir: store.dataDir === undefined ? undefined : join(store.dataDir, "pglite") })

/**
 * The server key's seed from its file, or a new one written there (mode 0600) when the file
 * does not exist yet: the public key stakers pin must survive restarts.
 */
export const loadOrCreateServerKey = (path: string): Effect.Effect<{ readonly seed: Uint8Array; readonly created: boolean }, VspStartError> =>
  Effect.try({
    try: () => {
      if (existsSync(path)) {
        const seed = fromHex(readFileSync(path, "utf8").trim(), "server key", SERVER_SEED_BYTES)
        if (Result.isFailure(seed)) throw new Error(`${path} holds no ${SERVER_SEED_BYTES}-byte hex seed: ${seed.failure.message}`)
        return { seed: seed.success, created: false }
      }
      mkdirSync(dirname(path), { recursive: true })
      // The service's identity key: real entropy, not the seeded Random a simulation replays.
      const seed = new Uint8Array(randomBytes(SERVER_SEED_BYTES))
      writeFileSync(path, `${toHex(seed)}\n`, { mode: 0o600, flag: "wx" })
      chmodSync(path, 0o600)
      return { seed, created: true }
    },
    catch: (e) =>
      new VspStartError({
        reason: `server key ${path}: ${e instanceof Error ? e.message : String(e)}; remove a damaged file to create a new key (stakers must then use the new --vsp.pubkey)`,
        cause: e,
      }),
  })

const endpoint = (c: RpcServerConfig) => ({ url: c.url, user: c.user, password: Redacted.make(c.password), certificate: c.certificate, requestTimeoutMillis: 30_000 })

/**
 * Starts the voting service in the current scope: the API is served (and the lifecycle runs)
 * until the scope closes. Answers its URL and public key, which stakers give dcrwallet as
 * `--vsp.url` and `--vsp.pubkey`.
 */
export const startVotingService = (config: VotingServiceConfig) =>
  Effect.gen(function* () {
    const network = NETWORKS[config.network]
    const key = config.serverKey.kind === "seed" ? { seed: config.serverKey.seed, created: false } : yield* loadOrCreateServerKey(config.serverKey.path)
    if (key.created) yield* Effect.logInfo(`vsp: created a new server key; its public key (give stakers as --vsp.pubkey): ${serverPublicKey(key.seed)}`)
    const fleet =
      config.fleet ??
      votingFleetLayer(
        config.votingWallets.map((w) => ({ ...endpoint(w), name: w.name })),
        { walletTimeoutMillis: 10_000 },
      )
    // Built in the caller's scope (not by Effect.provide, whose scope ends when runVotingService
    // returns): the store, dcrd and wallet connections live as long as the service.
    const services = yield* Layer.build(Layer.mergeAll(dcrdVspChainLayer(endpoint(config.dcrd)), fleet, vspStoreLayerFor(config.store))).pipe(
      Effect.mapError((e) => new VspStartError({ reason: `cannot open the store: ${e instanceof Error ? e.message : String(e)}`, cause: e })),
    )
    const running: RunningVotingService = yield* runVotingService({
      settings: {
        network,
        feePercent: config.feePercent,
        serverSeed: key.seed,
        requiredConfirmations: config.requiredConfirmations ?? 6,
        quoteLifetimeMillis: 3_600_000,
        minVotingWallets: config.minVotingWallets ?? 2,
        maxSyncLagBlocks: config.maxSyncLagBlocks ?? 2,
        closedMessage: config.closedMessage,
      },
      feeXpub: config.feeXpub,
      http: {
        host: config.listen.host,
        port: config.listen.port,
        adminPassword: config.adminPassword === undefined ? undefined : Redacted.make(config.adminPassword),
        dcrdHost: config.dcrd.url,
        rateLimit: config.rateLimit,
        trustProxy: config.trustProxy,
      },
      pollMillis: config.pollMillis ?? 1000,
    }).pipe(
      Effect.provide(services),
      Effect.mapError((e) => (e instanceof VspStartError ? e : new VspStartError({ reason: e instanceof Error ? e.message : String(e), cause: e }))),
    )
    return running
  })
