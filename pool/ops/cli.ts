/**
 * The `pool` command: `./dcrforge pool <run|backup|restore|migrate|status> [options]`.
 *
 *   run                      the pool: stratum server, dcrd and dcrwallet clients, payouts
 *   backup [--out=FILE]      a consistent snapshot of the database (default: <datadir>/backups/)
 *   restore --from=FILE      into an empty database (a new data directory or Postgres database)
 *   migrate                  bring the schema up to date and exit
 *   status                   shares, blocks and payouts as the database holds them
 *
 * backup and status work whether the pool runs or not: while a pool holds the embedded store
 * they ask it over its admin server (ops/control.ts), with the token it left in the data directory.
 *   hashpass                 the scrypt hash of the password on stdin, for --adminpass
 *   writeconfig [PATH|-]     a commented sample config of every option at its default
 *                            (default: -C/--configfile, else <appdata>/dcrforge.conf; - for stdout)
 *
 * Options come from flags, DCRFORGE_* environment variables and the config file; `--help`
 * lists them. DCRFORGE_CRASH_AT is for the crash-safety tests only.
 */
import { NodeRuntime } from "@effect/platform-node"
import { PgClient } from "@effect/sql-pg"
import { Cause, Console, Data, DateTime, Effect, Exit, Layer, Random, References, Result, Runtime } from "effect"
import type * as SqlClient from "effect/sql/SqlClient"
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync, writeSync } from "node:fs"
import { homedir } from "node:os"
import { dirname, join } from "node:path"
import { toHex } from "../../core/chain/bytes.ts"
import { PayoutWallet, WalletUnavailable } from "../../core/services/wallet.ts"
import { dcrwalletLayer } from "../../wallet/dcrwallet-rpc.ts"
import { describeOptions, formatHostPort, loadConfig, wantsHelp, writeConfigRequest, type PoolConfig } from "./config.ts"
import { serveAdminHttp } from "../http/server.ts"
import { crashPointsFromEnv } from "./crash-points.ts"
import { makeDcrdAgendaVote } from "../dcrd-agenda-vote.ts"
import { DcrdCalls, dcrdChainLayer, dcrdWebSocketLayer } from "../dcrd-client.ts"
import { makeDcrdStakeView } from "../dcrd-stake-view.ts"
import { runPool } from "../pool.ts"
import { backup, restore } from "../store/backup.ts"
import { DEFAULT_SETTLER_LEASE_MILLIS } from "../accounting/options.ts"
import { embeddedStoreOwner, pgliteLayer } from "../store/pglite.ts"
import { sqliteLayer } from "../store/sqlite.ts"
import { backupFromRunningPool, newControlToken, publishRunningPool, publishedRunningPool, runningPoolOf, statusFromRunningPool } from "./control.ts"
import { formatStatus, gatherStatus } from "./status.ts"
import { migrate } from "../store/schema.ts"
import { PoolStore, poolStoreLayer } from "../store/store.ts"
import { tcpListenerLayer } from "../stratum/tcp-listener.ts"
import { hashPassword } from "../http/auth.ts"

/** One line per command, for the usage text. */
const COMMAND_HELP = [
  "  run                      the pool: stratum for miners, dcrd and dcrwallet over JSON-RPC, payouts, the web UI",
  "  backup [--out=FILE]      a consistent snapshot of the database as JSON lines (default: <datadir>/backups/);",
  "                           while a pool runs on the embedded store, streamed by that pool",
  "  restore --from=FILE      a backup into an empty database (a new data directory or Postgres database)",
  "  migrate                  bring the database's schema up to date and exit",
  "  status                   shares, blocks, payouts, balances and the PPS reserve (through a running pool too)",
  "  hashpass                 the scrypt hash of the password on stdin, for --adminpass",
  "  writeconfig [PATH|-]     a commented sample config of every option at its default (default: -C/--configfile,",
  "                           else <appdata>/dcrforge.conf; - for stdout); --activenet=NET for that network's defaults",
].join("\n")

class CliError extends Data.TaggedError("CliError")<{ readonly message: string }> {}

const COMMANDS = ["run", "backup", "restore", "migrate", "status", "hashpass", "writeconfig"] as const
type Command = (typeof COMMANDS)[number]

/**
 * Where the embedded database lives: SQLite in `<datadir>/pool.sqlite`; a data directory made
 * by a version before it (PGlite in `<datadir>/pglite`, no SQLite file) keeps opening PGlite
 * until the operator moves it (`pool backup`, then `pool restore` into a new data directory).
 */
const embeddedStoreOf = (dataDir: string) => {
  const sqliteFile = join(dataDir, "pool.sqlite")
  const pgliteDir = join(dataDir, "pglite")
  return !existsSync(sqliteFile) && existsSync(pgliteDir)
    ? { kind: "pglite" as const, where: `${pgliteDir} (PGlite)`, layer: () => pgliteLayer({ dataDir: pgliteDir }) }
    : { kind: "sqlite" as const, where: sqliteFile, layer: () => sqliteLayer({ file: sqliteFile }) }
}

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
    : embeddedStoreOf(config.dataDir).layer()

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
          // Several pool processes may share a Postgres database: one of them settles and pays.
          settlerLeaseMillis: config.postgres ? DEFAULT_SETTLER_LEASE_MILLIS : undefined,
        },
        vardiffTargetSeconds: config.maxGenTimeMs / 1000,
        maxConnectionsPerHost: config.maxConnPerHost,
      })
      const tls = config.guiCert === undefined || config.guiKey === undefined ? undefined : { cert: readFileSync(config.guiCert, "utf8"), key: readFileSync(config.guiKey, "utf8") }
      // The command line's way in while this process holds the embedded store (`pool backup`, `pool status`).
      const controlToken = config.postgres ? undefined : newControlToken()
      const http = yield* serveAdminHttp({
        host: config.guiListen.host,
        port: config.guiListen.port,
        adminPassword: config.adminPass,
        live,
        stakeView: makeDcrdStakeView((yield* DcrdCalls).call, config.params),
        agendaProgress: makeDcrdAgendaVote((yield* DcrdCalls).call, config.params),
        metrics: config.metrics ? metrics.registry : undefined,
        designation: config.designation,
        stratumPort: config.minerListen.port,
        tls,
        trustProxy: config.trustProxy,
        controlToken,
      })
      if (controlToken !== undefined) yield* publishRunningPool(config.dataDir, { host: config.guiListen.host, port: http.port, token: controlToken, tlsCertificate: tls?.cert })
      yield* Effect.logInfo(
        `web UI on ${tls === undefined ? "http" : "https"}://${formatHostPort({ host: config.guiListen.host, port: http.port })}/ (API at /api/, described at /api/openapi.json${config.metrics ? "; metrics at /metrics" : ""}${config.adminPass === undefined ? "; admin off" : "; admin at /admin"})`,
      )
      yield* Effect.logInfo(`pool ${instance} on ${config.activeNet}: miners at ${formatHostPort(config.minerListen)}, ${config.postgres ? "Postgres" : `embedded store in ${config.dataDir}`}`)
      return yield* Effect.never
    }).pipe(Effect.scoped, Effect.provide(layers))
  })

const withStore = <A, E>(config: PoolConfig, body: Effect.Effect<A, E, SqlClient.SqlClient | PoolStore>) =>
  body.pipe(Effect.provide(poolStoreLayer), Effect.provide(storeLayerFor(config)), Effect.scoped)

/**
 * The running pool that holds this configuration's embedded store, if one does: `backup` and
 * `status` then ask it (ops/control.ts) instead of opening the files, so the operator runs the
 * same command whether the pool runs or not. Postgres is shared, so it is always opened directly.
 */
const runningPoolFor = (config: PoolConfig) =>
  Effect.gen(function* () {
    if (config.postgres) return undefined
    const store = embeddedStoreOf(config.dataDir)
    // SQLite lets another process read while the pool writes, but a pool that runs is asked all
    // the same: one answer, whichever store; PGlite is one process's, so there it is the only way.
    if (store.kind === "sqlite") return publishedRunningPool(config.dataDir)
    const owner = embeddedStoreOwner(join(config.dataDir, "pglite"))
    return owner === undefined ? undefined : yield* runningPoolOf(config.dataDir, owner)
  })

/**
 * Writes a snapshot to a new file, synced before the command says it is done: from the store,
 * or streamed by the running pool that holds it (the same JSON lines).
 */
export const backupCommand = (config: PoolConfig, out: string | undefined) =>
  Effect.gen(function* () {
    const now = DateTime.formatIso(yield* DateTime.now).replace(/[:.]/g, "-")
    const path = out ?? join(config.dataDir, "backups", `dcrforge-${config.activeNet}-${now}.jsonl`)
    mkdirSync(dirname(path), { recursive: true })
    if (existsSync(path)) return yield* new CliError({ message: `${path} exists; choose a new --out file (a backup never overwrites one)` })
    const running = yield* runningPoolFor(config)
    // Written under a temporary name and renamed once synced: a backup file is whole or absent.
    const partial = `${path}.partial`
    const fd = openSync(partial, "w")
    const written =
      running === undefined
        ? withStore(
            config,
            backup((line) => Effect.sync(() => void writeSync(fd, `${line}\n`))),
          ).pipe(Effect.map((counts) => JSON.stringify(counts)))
        : backupFromRunningPool(running, (chunk) => void writeSync(fd, chunk)).pipe(Effect.as(`streamed by the running pool (process ${running.pid})`))
    const what = yield* written.pipe(
      Effect.ensuring(Effect.sync(() => (fsyncSync(fd), closeSync(fd)))),
      Effect.tapError(() => Effect.sync(() => rmSync(partial, { force: true }))),
    )
    renameSync(partial, path)
    return `backup written to ${path}: ${what}`
  })

const restoreCommand = (config: PoolConfig, from: string | undefined) =>
  Effect.gen(function* () {
    if (from === undefined) return yield* new CliError({ message: "restore needs --from=FILE (a file written by `pool backup`)" })
    if (!existsSync(from)) return yield* new CliError({ message: `--from=${from}: no such file` })
    const counts = yield* withStore(config, restore(readFileSync(from, "utf8").split("\n")))
    yield* Console.log(`restored from ${from}: ${JSON.stringify(counts)}`)
  })

/** What `pool status` prints: from the store, or from the running pool that holds it. */
export const statusLines = (config: PoolConfig) =>
  Effect.gen(function* () {
    const running = yield* runningPoolFor(config)
    const where = config.postgres ? `postgres ${config.postgresHost}:${config.postgresPort}/${config.postgresDbName}` : embeddedStoreOf(config.dataDir).where
    const header = `network ${config.activeNet}; store ${where}${running === undefined ? "" : ` (through the running pool, process ${running.pid})`}`
    const lines = running === undefined ? yield* withStore(config, Effect.andThen(migrate, gatherStatus)).pipe(Effect.map(formatStatus)) : yield* statusFromRunningPool(running)
    return [header, ...lines]
  })

/** `writeconfig [PATH|-]`: the sample, to a new file (never over one) or to stdout. */
const writeConfigCommand = (rest: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const positional = rest[0] !== undefined && (rest[0] === "-" || !rest[0].startsWith("-")) ? rest[0] : undefined
    const request = writeConfigRequest({ argv: positional === undefined ? rest : rest.slice(1), env: process.env, home: homedir(), readFile: () => undefined })
    if (Result.isFailure(request)) return yield* new CliError({ message: request.failure.message })
    if (positional === "-") return yield* Console.log(request.success.text)
    const path = positional ?? request.success.path
    if (existsSync(path)) return yield* new CliError({ message: `${path} exists; writeconfig never overwrites a config: give another path (or - for stdout) and merge by hand` })
    mkdirSync(dirname(path), { recursive: true })
    // Owner-only: the operator will add passwords to it.
    writeFileSync(path, request.success.text, { mode: 0o600 })
    yield* Console.log(`sample config written to ${path}: every option at its default, commented out; remove the ; of those you set`)
  })

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
      yield* Console.log(`usage: pool <${COMMANDS.join("|")}> [options]\n\ncommands:\n${COMMAND_HELP}\n\noptions:\n${describeOptions()}`)
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
    if (command === "writeconfig") return yield* writeConfigCommand(rest)
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
          ? backupCommand(config, out).pipe(Effect.flatMap(Console.log))
          : command === "restore"
            ? restoreCommand(config, from)
            : command === "migrate"
              ? withStore(config, migrate.pipe(Effect.flatMap((applied) => Console.log(`schema up to date (${applied.length} migrations applied now)`))))
              : statusLines(config).pipe(Effect.flatMap((lines) => Console.log(lines.join("\n"))))
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
