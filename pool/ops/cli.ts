/**
 * The `pool` command: `./dcrforge pool <run|backup|restore|migrate|status> [options]`.
 *
 *   run                      the pool: stratum server, dcrd and dcrwallet clients, payouts
 *   backup [--out=FILE]      a consistent snapshot of the database (default: <datadir>/backups/)
 *   restore --from=FILE      into an empty database (a new data directory or Postgres database)
 *   migrate                  bring the schema up to date and exit
 *   status                   shares, blocks and payouts as the database holds them
 *   hashpass                 the scrypt hash of the password on stdin, for --adminpass
 *
 * Options come from flags, DCRFORGE_* environment variables and the config file; `--help`
 * lists them. DCRFORGE_CRASH_AT is for the crash-safety tests only.
 */
import { NodeRuntime } from "@effect/platform-node"
import { PgClient } from "@effect/sql-pg"
import { Cause, Console, Data, DateTime, Effect, Exit, Layer, Random, References, Result, Runtime } from "effect"
import type * as SqlClient from "effect/sql/SqlClient"
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from "node:fs"
import { homedir } from "node:os"
import { dirname, join } from "node:path"
import { toHex } from "../../core/chain/bytes.ts"
import { PayoutWallet, WalletUnavailable } from "../../core/services/wallet.ts"
import { atomsToDcr } from "../../core/chain/amounts.ts"
import { dcrwalletLayer } from "../../wallet/dcrwallet-rpc.ts"
import { describeOptions, formatHostPort, loadConfig, wantsHelp, type PoolConfig } from "./config.ts"
import { serveAdminHttp } from "../http/server.ts"
import { crashPointsFromEnv } from "./crash-points.ts"
import { DcrdCalls, dcrdChainLayer, dcrdWebSocketLayer } from "../dcrd-client.ts"
import { makeDcrdStakeView } from "../dcrd-stake-view.ts"
import { runPool } from "../pool.ts"
import { backup, restore } from "../store/backup.ts"
import { pgliteLayer } from "../store/pglite.ts"
import { migrate } from "../store/schema.ts"
import { PoolStore, poolStoreLayer } from "../store/store.ts"
import { tcpListenerLayer } from "../stratum/tcp-listener.ts"
import { hashPassword } from "../http/auth.ts"

class CliError extends Data.TaggedError("CliError")<{ readonly message: string }> {}

const COMMANDS = ["run", "backup", "restore", "migrate", "status", "hashpass"] as const
type Command = (typeof COMMANDS)[number]

/** The database the configuration names: embedded in the data directory, or a Postgres server. */
const storeLayerFor = (config: PoolConfig): Layer.Layer<SqlClient.SqlClient, unknown> =>
  config.postgres
    ? PgClient.layer({
        host: config.postgresHost,
        port: config.postgresPort,
        username: config.postgresUser,
        database: config.postgresDbName,
        ...(config.postgresPass === undefined ? {} : { password: config.postgresPass }),
      })
    : pgliteLayer({ dataDir: join(config.dataDir, "pglite") })

const readPem = (path: string, option: string) => {
  if (!existsSync(path)) return Result.fail(new CliError({ message: `${option}=${path}: no such file; point --${option} at the certificate (rpc.cert) the server uses` }))
  return Result.succeed(readFileSync(path, "utf8"))
}

/** Solo pools have no wallet: rewards stay at dcrd's mining address. */
const noWallet = Layer.succeed(PayoutWallet)({
  build: () => Effect.fail(new WalletUnavailable({ method: "build", reason: "solo mode has no payout wallet" })),
  publish: () => Effect.fail(new WalletUnavailable({ method: "publish", reason: "solo mode has no payout wallet" })),
  status: () => Effect.fail(new WalletUnavailable({ method: "status", reason: "solo mode has no payout wallet" })),
})

const runCommand = (config: PoolConfig) =>
  Effect.gen(function* () {
    const dcrdCert = readPem(config.dcrdRpcCert, "dcrdrpccert")
    if (Result.isFailure(dcrdCert)) return yield* dcrdCert.failure
    let walletLayer = noWallet
    if (!config.soloPool) {
      const walletCert = readPem(config.walletRpcCert, "walletrpccert")
      if (Result.isFailure(walletCert)) return yield* walletCert.failure
      if (config.walletPass === undefined)
        return yield* new CliError({ message: "walletpass is required in pool mode (the payout wallet's passphrase, to sign payouts); set --walletpass or DCRFORGE_WALLETPASS" })
      if (config.walletRpcHost === undefined) return yield* new CliError({ message: "walletrpchost is required in pool mode; set --walletrpchost=host:port" })
      walletLayer = dcrwalletLayer({
        url: `https://${formatHostPort(config.walletRpcHost)}`,
        user: config.walletRpcUser,
        password: config.walletRpcPass,
        certificate: walletCert.success,
        passphrase: config.walletPass,
        account: config.walletAccount,
        requestTimeoutMillis: 30_000,
        network: config.params,
      })
    }
    const instance = config.instance ?? toHex(new Uint8Array(yield* Effect.forEach(Array.from({ length: 6 }), () => Random.nextIntBetween(0, 256))))
    const chainLayer = dcrdChainLayer({
      url: `wss://${formatHostPort(config.dcrdRpcHost)}/ws`,
      user: config.rpcUser,
      password: config.rpcPass,
      certificate: dcrdCert.success,
      requestTimeoutMillis: 30_000,
      reconnectMillis: [250, 10_000],
    }).pipe(Layer.provide(dcrdWebSocketLayer(dcrdCert.success)))
    const layers = Layer.mergeAll(
      poolStoreLayer,
      chainLayer,
      walletLayer,
      tcpListenerLayer({ host: config.minerListen.host, port: config.minerListen.port }),
      crashPointsFromEnv(process.env.DCRFORGE_CRASH_AT),
    ).pipe(Layer.provideMerge(storeLayerFor(config)))
    yield* Effect.gen(function* () {
      const { live, metrics } = yield* runPool({
        network: config.params,
        accounting: {
          network: config.params,
          instance,
          scheme: config.payoutScheme,
          feeBasisPoints: config.poolFeeBasisPoints,
          minimumPayout: config.minPaymentAtoms,
          ppsReserveLow: config.ppsReserveLowAtoms,
          feeAddress: config.feeAddressesInTurn,
          payoutFeeFrom: config.payoutFeeFrom,
          coinbaseMaturity: config.params.coinbaseMaturity,
          maxShareBatch: 2000,
        },
        vardiffTargetSeconds: config.maxGenTimeMs / 1000,
        maxConnectionsPerHost: config.maxConnPerHost,
      })
      const tls = config.guiCert === undefined || config.guiKey === undefined ? undefined : { cert: readFileSync(config.guiCert, "utf8"), key: readFileSync(config.guiKey, "utf8") }
      const http = yield* serveAdminHttp({
        host: config.guiListen.host,
        port: config.guiListen.port,
        adminPassword: config.adminPass,
        live,
        stakeView: makeDcrdStakeView((yield* DcrdCalls).call, config.params),
        metrics: config.metrics ? metrics.registry : undefined,
        designation: config.designation,
        stratumPort: config.minerListen.port,
        tls,
        trustProxy: config.trustProxy,
      })
      yield* Effect.logInfo(
        `web UI on ${tls === undefined ? "http" : "https"}://${formatHostPort({ host: config.guiListen.host, port: http.port })}/ (API at /api/, described at /api/openapi.json${config.metrics ? "; metrics at /metrics" : ""}${config.adminPass === undefined ? "; admin off" : "; admin at /admin"})`,
      )
      yield* Effect.logInfo(`pool ${instance} on ${config.activeNet}: miners at ${formatHostPort(config.minerListen)}, ${config.postgres ? "Postgres" : `embedded store in ${config.dataDir}`}`)
      return yield* Effect.never
    }).pipe(Effect.scoped, Effect.provide(layers))
  })

const withStore = <A, E>(config: PoolConfig, body: Effect.Effect<A, E, SqlClient.SqlClient | PoolStore>) =>
  body.pipe(Effect.provide(poolStoreLayer), Effect.provide(storeLayerFor(config)), Effect.scoped)

/** Writes a snapshot to a new file, synced before the command says it is done. */
const backupCommand = (config: PoolConfig, out: string | undefined) =>
  Effect.gen(function* () {
    const now = DateTime.formatIso(yield* DateTime.now).replace(/[:.]/g, "-")
    const path = out ?? join(config.dataDir, "backups", `dcrforge-${config.activeNet}-${now}.jsonl`)
    mkdirSync(dirname(path), { recursive: true })
    if (existsSync(path)) return yield* new CliError({ message: `${path} exists; choose a new --out file (a backup never overwrites one)` })
    // Written under a temporary name and renamed once synced: a backup file is whole or absent.
    const partial = `${path}.partial`
    const fd = openSync(partial, "w")
    const counts = yield* withStore(
      config,
      backup((line) => Effect.sync(() => void writeSync(fd, `${line}\n`))),
    ).pipe(
      Effect.ensuring(Effect.sync(() => (fsyncSync(fd), closeSync(fd)))),
      Effect.tapError(() => Effect.sync(() => rmSync(partial, { force: true }))),
    )
    renameSync(partial, path)
    yield* Console.log(`backup written to ${path}: ${JSON.stringify(counts)}`)
  })

const restoreCommand = (config: PoolConfig, from: string | undefined) =>
  Effect.gen(function* () {
    if (from === undefined) return yield* new CliError({ message: "restore needs --from=FILE (a file written by `pool backup`)" })
    if (!existsSync(from)) return yield* new CliError({ message: `--from=${from}: no such file` })
    const counts = yield* withStore(config, restore(readFileSync(from, "utf8").split("\n")))
    yield* Console.log(`restored from ${from}: ${JSON.stringify(counts)}`)
  })

const statusCommand = (config: PoolConfig) =>
  withStore(
    config,
    Effect.gen(function* () {
      yield* migrate
      const store = yield* PoolStore
      const shares = yield* store.shareCount
      const blocks = yield* store.blocksPage(10, 0)
      const batches = yield* store.batches(5)
      const totals = yield* store.accountTotals
      yield* Console.log(`network ${config.activeNet}; store ${config.postgres ? `postgres ${config.postgresHost}:${config.postgresPort}/${config.postgresDbName}` : join(config.dataDir, "pglite")}`)
      yield* Console.log(`shares: ${shares.shares}`)
      for (const b of blocks) yield* Console.log(`block ${b.height} ${b.hash} ${b.status}${b.reward === undefined ? "" : ` ${atomsToDcr(b.reward)} DCR`} found by ${b.account}.${b.worker}`)
      for (const b of batches) yield* Console.log(`payout batch ${b.id} ${b.status}${b.txid === undefined ? "" : ` ${b.txid}`}`)
      for (const t of totals)
        yield* Console.log(`account ${t.account}: immature ${atomsToDcr(t.immature)}, payable ${atomsToDcr(t.payable)}, pending ${atomsToDcr(t.pending)}, paid ${atomsToDcr(t.paid)} DCR`)
    }),
  )

/** Takes `--name=value` / `--name value` out of argv (command options the config does not know). */
const takeOption = (argv: Array<string>, name: string): string | undefined => {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!
    if (a === `--${name}`) {
      const value = argv[i + 1]
      argv.splice(i, 2)
      return value
    }
    if (a.startsWith(`--${name}=`)) {
      argv.splice(i, 1)
      return a.slice(name.length + 3)
    }
  }
  return undefined
}

const main = (argv: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const [first, ...rest] = argv
    if (first === undefined || wantsHelp([first]) || !(COMMANDS as ReadonlyArray<string>).includes(first)) {
      yield* Console.log(`usage: pool <${COMMANDS.join("|")}> [options]\n\noptions:\n${describeOptions()}`)
      if (first !== undefined && !wantsHelp([first])) return yield* new CliError({ message: `unknown command ${JSON.stringify(first)}; use one of ${COMMANDS.join(", ")}` })
      return
    }
    const command = first as Command
    if (wantsHelp(rest)) return yield* Console.log(describeOptions())
    if (command === "hashpass") {
      // From stdin, so the password is in neither the shell history nor the process list.
      const password = readFileSync(0, "utf8").replace(/\r?\n$/, "")
      if (password === "") return yield* new CliError({ message: "hashpass reads the admin password from stdin: echo -n 'the password' | ./dcrforge pool hashpass" })
      return yield* Console.log(hashPassword(password))
    }
    const args = [...rest]
    const out = takeOption(args, "out")
    const from = takeOption(args, "from")
    const loaded = loadConfig({ argv: args, env: process.env, readFile: (p) => (existsSync(p) ? readFileSync(p, "utf8") : undefined), home: homedir() })
    if (Result.isFailure(loaded)) return yield* new CliError({ message: loaded.failure.message })
    const config = loaded.success
    const level = ({ trace: "Trace", debug: "Debug", info: "Info", warn: "Warn", error: "Error" } as const)[config.debugLevel]
    const program =
      command === "run"
        ? runCommand(config)
        : command === "backup"
          ? backupCommand(config, out)
          : command === "restore"
            ? restoreCommand(config, from)
            : command === "migrate"
              ? withStore(config, migrate.pipe(Effect.flatMap((applied) => Console.log(`schema up to date (${applied.length} migrations applied now)`))))
              : statusCommand(config)
    return yield* program.pipe(Effect.provideService(References.MinimumLogLevel, level))
  })

if (import.meta.main) {
  NodeRuntime.runMain(
    // SIGTERM / SIGINT is how the pool is meant to stop (systemd, docker stop, Ctrl-C): the fiber
    // is interrupted, the listeners close and the store commits; that is a clean exit, 0, not the
    // 130 of an interrupted program (which systemd would log as the unit failing).
    { teardown: (exit, onExit) => (Exit.isFailure(exit) && Cause.hasInterruptsOnly(exit.cause) ? onExit(0) : Runtime.defaultTeardown(exit, onExit)) },
  )(
    main(process.argv.slice(2)).pipe(
      Effect.catch((e: unknown) =>
        Effect.sync(() => {
          console.error(`pool: ${e instanceof Error ? e.message : String(e)}`)
          process.exitCode = 2
        }),
      ),
    ),
  )
}
