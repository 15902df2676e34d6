/**
 * The `vsp` command: `./dcrforge vsp <run|backup|restore|migrate|status> [options]`, the voting
 * service (vspd API v3) that stakers' dcrwallets use with `--vsp.url` and `--vsp.pubkey`.
 *
 * Options come from flags (`--name=value` or `--name value`) and DCRFORGE_VSP_<NAME>
 * environment variables (flags win); `--help` lists them.
 */
import { NodeRuntime } from "@effect/platform-node"
import { Console, Data, DateTime, Effect, Layer, References } from "effect"
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from "node:fs"
import { homedir } from "node:os"
import { dirname, join } from "node:path"
import { atomsToDcr } from "../../core/chain/amounts.ts"
import { NETWORK_NAMES, NETWORKS, type NetworkName } from "../../core/chain/params.ts"
import { validPoolFeeRate } from "../../core/vsp/fee.ts"
import { serverPublicKey } from "../../core/vsp/server-key.ts"
import { migrateVsp, VspStore, vspStoreLayer } from "../../wallet/vsp/store.ts"
import { backupVsp, restoreVsp } from "../store/backup.ts"
import { loadOrCreateServerKey, startVotingService, vspStoreLayerFor, type VotingServiceConfig } from "./vsp-service.ts"

class CliError extends Data.TaggedError("CliError")<{ readonly message: string }> {}

const COMMANDS = ["run", "backup", "restore", "migrate", "status"] as const

interface OptionSpec {
  readonly name: string
  readonly value: string
  readonly help: string
}

const OPTIONS: ReadonlyArray<OptionSpec> = [
  { name: "network", value: "mainnet|testnet3|simnet|regnet", help: "the network (default mainnet)" },
  { name: "dcrdrpc", value: "host:port", help: "dcrd's RPC address (default localhost and the network's dcrd RPC port)" },
  { name: "dcrduser", value: "user", help: "dcrd's RPC user" },
  { name: "dcrdpass", value: "password", help: "dcrd's RPC password" },
  { name: "dcrdcert", value: "file", help: "dcrd's rpc.cert (default ~/.dcrd/rpc.cert)" },
  { name: "wallethost", value: "host:port,...", help: "the voting wallets' RPC addresses (dcrwallet --enablevoting --manualtickets), comma-separated, at least 3 advised" },
  { name: "walletuser", value: "user", help: "the voting wallets' RPC user (one for all)" },
  { name: "walletpass", value: "password", help: "the voting wallets' RPC password (one for all)" },
  { name: "walletcert", value: "file,...", help: "the voting wallets' rpc.cert files: one for all, or one per --wallethost in order" },
  { name: "feexpub", value: "xpub", help: "the extended public key fee addresses are derived from (required)" },
  { name: "fee", value: "percent", help: "the fee, percent of the vote reward (default 3, as vspd)" },
  { name: "listen", value: "host:port", help: "where the API, /admin and /metrics listen (default 127.0.0.1:8800)" },
  { name: "datadir", value: "dir", help: "data directory: the embedded store and the server key (default ~/.dcrforge-vsp/<network>)" },
  { name: "postgres", value: "url", help: "use this Postgres server (postgres://user:pass@host/db) instead of the embedded store" },
  { name: "keyfile", value: "file", help: "the server's Ed25519 key, created at first start (default <datadir>/server.key)" },
  { name: "adminpass", value: "password", help: "password of user admin for /admin and /admin/status (off without one)" },
  { name: "confirmations", value: "n", help: "confirmations the ticket and then the fee need (default 6, as vspd)" },
  { name: "minwallets", value: "n", help: "new tickets are refused while fewer voting wallets are online (default 2)" },
  { name: "closed", value: "message", help: "take no new tickets, telling stakers this" },
  {
    name: "trustproxy",
    value: "true|false",
    help: "behind a reverse proxy (TLS in front, as dcrwallet's https --vsp.url needs): rate-limit each client by X-Forwarded-For's last hop (default false)",
  },
  { name: "loglevel", value: "trace|debug|info|warn|error", help: "log level (default info)" },
  { name: "out", value: "file", help: "backup: the file to write (default <datadir>/backups/vsp-<time>.jsonl)" },
  { name: "from", value: "file", help: "restore: the backup to read" },
]

const usage = () =>
  [
    "usage: ./dcrforge vsp <run|backup|restore|migrate|status> [options]",
    "",
    "  run       the voting service: vspd API v3 at http://<listen>/api/v3/, /admin, /admin/status, /metrics",
    "  backup    a consistent snapshot of the service's tables (JSON lines)",
    "  restore   a backup into an empty store",
    "  migrate   bring the tables up to date and exit",
    "  status    tickets, fees and the server's public key",
    "",
    "Stakers point dcrwallet at it with --vsp.url=http://<listen> --vsp.pubkey=<the key `run` prints>.",
    "",
    "options (flags, or DCRFORGE_VSP_<NAME> environment variables):",
    ...OPTIONS.map((o) => `  --${o.name}=${o.value}\n      ${o.help}`),
  ].join("\n")

/** Flags then environment: the value of each known option; an unknown flag is an error. */
const parseOptions = (argv: ReadonlyArray<string>, env: NodeJS.ProcessEnv): Map<string, string> | CliError => {
  const values = new Map<string, string>()
  for (const o of OPTIONS) {
    const fromEnv = env[`DCRFORGE_VSP_${o.name.toUpperCase()}`]
    if (fromEnv !== undefined) values.set(o.name, fromEnv)
  }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    if (!arg.startsWith("--")) return new CliError({ message: `unexpected argument ${JSON.stringify(arg)}; options are --name=value (see --help)` })
    const eq = arg.indexOf("=")
    const name = arg.slice(2, eq < 0 ? undefined : eq)
    if (!OPTIONS.some((o) => o.name === name)) return new CliError({ message: `unknown option --${name} (see ./dcrforge vsp --help)` })
    const value = eq < 0 ? argv[++i] : arg.slice(eq + 1)
    if (value === undefined) return new CliError({ message: `--${name} needs a value` })
    values.set(name, value)
  }
  return values
}

const readText = (path: string, what: string): string | CliError => (existsSync(path) ? readFileSync(path, "utf8") : new CliError({ message: `${what} ${path}: no such file` }))

const positiveInt = (text: string | undefined, name: string, fallback: number): number | CliError => {
  if (text === undefined) return fallback
  const n = Number(text)
  return Number.isInteger(n) && n > 0 ? n : new CliError({ message: `--${name}=${text}: a positive whole number is needed` })
}

const hostPort = (text: string, name: string): { readonly host: string; readonly port: number } | CliError => {
  const m = /^\[?([^\]]*?)\]?:(\d+)$/.exec(text)
  if (m === null || Number(m[2]) > 65535) return new CliError({ message: `--${name}=${text}: expected host:port` })
  return { host: m[1]!, port: Number(m[2]) }
}

/** The service's configuration from the options; every problem named with what to set. */
const configFrom = (o: Map<string, string>, command: string): VotingServiceConfig | CliError => {
  const networkName = (o.get("network") ?? "mainnet") as NetworkName
  if (!NETWORK_NAMES.includes(networkName)) return new CliError({ message: `--network=${networkName}: one of ${NETWORK_NAMES.join(", ")}` })
  const network = NETWORKS[networkName]
  const dataDir = o.get("datadir") ?? join(homedir(), ".dcrforge-vsp", networkName)
  const store: VotingServiceConfig["store"] = o.get("postgres") !== undefined ? { kind: "postgres", url: o.get("postgres")! } : { kind: "embedded", dataDir }
  const serverKey = { kind: "file" as const, path: o.get("keyfile") ?? join(dataDir, "server.key") }
  const fee = Number(o.get("fee") ?? "3")
  if (!validPoolFeeRate(fee)) return new CliError({ message: `--fee=${o.get("fee")}: a percentage from 0.01 to 100` })
  const confirmations = positiveInt(o.get("confirmations"), "confirmations", 6)
  if (confirmations instanceof CliError) return confirmations
  const minWallets = positiveInt(o.get("minwallets"), "minwallets", 2)
  if (minWallets instanceof CliError) return minWallets
  const listen = hostPort(o.get("listen") ?? "127.0.0.1:8800", "listen")
  if (listen instanceof CliError) return listen
  const base = { network: networkName, feePercent: fee, listen, store, serverKey, requiredConfirmations: confirmations, minVotingWallets: minWallets }
  if (command !== "run") return { ...base, dcrd: { url: "", user: "", password: "", certificate: undefined }, votingWallets: [], feeXpub: o.get("feexpub") ?? "" }
  const feeXpub = o.get("feexpub")
  if (feeXpub === undefined) return new CliError({ message: "--feexpub is required: the extended public key (of a wallet account the operator controls) fees are paid to" })
  const dcrdCert = readText(o.get("dcrdcert") ?? join(homedir(), ".dcrd", "rpc.cert"), "--dcrdcert")
  if (dcrdCert instanceof CliError) return dcrdCert
  const dcrdAddress = hostPort(o.get("dcrdrpc") ?? `127.0.0.1:${network.ports.dcrdRpc}`, "dcrdrpc")
  if (dcrdAddress instanceof CliError) return dcrdAddress
  const user = o.get("dcrduser")
  const pass = o.get("dcrdpass")
  if (user === undefined || pass === undefined) return new CliError({ message: "--dcrduser and --dcrdpass are required (dcrd's RPC credentials)" })
  const hosts = (o.get("wallethost") ?? "").split(",").filter((h) => h !== "")
  if (hosts.length === 0) return new CliError({ message: "--wallethost is required: the voting wallets' RPC addresses, comma-separated" })
  const certs = (o.get("walletcert") ?? "").split(",").filter((c) => c !== "")
  if (certs.length !== 1 && certs.length !== hosts.length) return new CliError({ message: "--walletcert: give one rpc.cert for all voting wallets or one per --wallethost" })
  const walletUser = o.get("walletuser")
  const walletPass = o.get("walletpass")
  if (walletUser === undefined || walletPass === undefined) return new CliError({ message: "--walletuser and --walletpass are required (the voting wallets' RPC credentials)" })
  const votingWallets: Array<VotingServiceConfig["votingWallets"][number]> = []
  for (const [i, h] of hosts.entries()) {
    const address = hostPort(h, "wallethost")
    if (address instanceof CliError) return address
    const cert = readText(certs[certs.length === 1 ? 0 : i]!, "--walletcert")
    if (cert instanceof CliError) return cert
    votingWallets.push({ name: h, url: `https://${h}`, user: walletUser, password: walletPass, certificate: cert })
  }
  return {
    ...base,
    dcrd: { url: `https://${o.get("dcrdrpc") ?? `127.0.0.1:${network.ports.dcrdRpc}`}`, user, password: pass, certificate: dcrdCert },
    votingWallets,
    feeXpub,
    adminPassword: o.get("adminpass"),
    trustProxy: o.get("trustproxy") === "true",
    closedMessage: o.get("closed"),
  }
}

const withStore = <A, E, R>(config: VotingServiceConfig, body: Effect.Effect<A, E, R>) =>
  body.pipe(Effect.provide(vspStoreLayer.pipe(Layer.provideMerge(vspStoreLayerFor(config.store)))), Effect.scoped)

const runCommand = (config: VotingServiceConfig) =>
  Effect.gen(function* () {
    const running = yield* startVotingService(config)
    yield* Console.log(`vsp: stakers use --vsp.url=${running.url} --vsp.pubkey=${running.publicKey}`)
    return yield* Effect.never
  }).pipe(Effect.scoped)

const backupCommand = (config: VotingServiceConfig, out: string | undefined, dataDir: string) =>
  Effect.gen(function* () {
    const now = DateTime.formatIso(yield* DateTime.now).replace(/[:.]/g, "-")
    const path = out ?? join(dataDir, "backups", `vsp-${config.network}-${now}.jsonl`)
    mkdirSync(dirname(path), { recursive: true })
    if (existsSync(path)) return yield* new CliError({ message: `${path} exists; choose a new --out file (a backup never overwrites one)` })
    const partial = `${path}.partial`
    const fd = openSync(partial, "w")
    const counts = yield* withStore(
      config,
      Effect.andThen(
        migrateVsp,
        backupVsp((line) => Effect.sync(() => void writeSync(fd, `${line}\n`))),
      ),
    ).pipe(
      Effect.ensuring(Effect.sync(() => (fsyncSync(fd), closeSync(fd)))),
      Effect.tapError(() => Effect.sync(() => rmSync(partial, { force: true }))),
    )
    renameSync(partial, path)
    yield* Console.log(`backup written to ${path}: ${JSON.stringify(counts)}`)
  })

const restoreCommand = (config: VotingServiceConfig, from: string | undefined) =>
  Effect.gen(function* () {
    if (from === undefined) return yield* new CliError({ message: "restore needs --from=FILE (a file written by `vsp backup`)" })
    if (!existsSync(from)) return yield* new CliError({ message: `--from=${from}: no such file` })
    const counts = yield* withStore(config, Effect.andThen(migrateVsp, restoreVsp(readFileSync(from, "utf8").split("\n"))))
    yield* Console.log(`restored from ${from}: ${JSON.stringify(counts)}`)
  })

const statusCommand = (config: VotingServiceConfig) =>
  withStore(
    config,
    Effect.gen(function* () {
      yield* migrateVsp
      const store = yield* VspStore
      const counts = yield* store.counts
      if (config.serverKey.kind === "file" && existsSync(config.serverKey.path)) {
        const key = yield* loadOrCreateServerKey(config.serverKey.path)
        yield* Console.log(`server public key (--vsp.pubkey): ${serverPublicKey(key.seed)}`)
      }
      yield* Console.log(
        `tickets: ${counts.pending} pending, ${counts.voting} voting, ${counts.voted} voted, ${counts.missed} missed, ${counts.expired} expired; fees collected ${atomsToDcr(counts.feesCollected)} DCR`,
      )
    }),
  )

const main = (argv: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const [command, ...rest] = argv
    if (command === undefined || command === "--help" || command === "-h" || command === "help" || rest.includes("--help") || rest.includes("-h")) return yield* Console.log(usage())
    if (!(COMMANDS as ReadonlyArray<string>).includes(command))
      return yield* new CliError({ message: `unknown command ${JSON.stringify(command)}; use one of ${COMMANDS.join(", ")} (see ./dcrforge vsp --help)` })
    const options = parseOptions(rest, process.env)
    if (options instanceof CliError) return yield* options
    const config = configFrom(options, command)
    if (config instanceof CliError) return yield* config
    const level = ({ trace: "Trace", debug: "Debug", info: "Info", warn: "Warn", error: "Error" } as const)[(options.get("loglevel") ?? "info") as "info"] ?? "Info"
    const dataDir = config.store.kind === "embedded" && config.store.dataDir !== undefined ? config.store.dataDir : join(homedir(), ".dcrforge-vsp", config.network)
    const program =
      command === "run"
        ? runCommand(config)
        : command === "backup"
          ? backupCommand(config, options.get("out"), dataDir)
          : command === "restore"
            ? restoreCommand(config, options.get("from"))
            : command === "migrate"
              ? withStore(config, migrateVsp.pipe(Effect.flatMap((applied) => Console.log(`vsp tables up to date (${applied.length} migrations applied now)`))))
              : statusCommand(config)
    return yield* program.pipe(Effect.provideService(References.MinimumLogLevel, level))
  })

if (import.meta.main) {
  NodeRuntime.runMain(
    main(process.argv.slice(2)).pipe(
      Effect.catch((e: unknown) =>
        Effect.sync(() => {
          console.error(`vsp: ${e instanceof Error ? e.message : String(e)}`)
          process.exitCode = 2
        }),
      ),
    ),
  )
}
