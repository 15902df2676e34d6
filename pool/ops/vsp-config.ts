/**
 * The voting service's options (`./dcrforge vsp`): flags (`--name=value` or `--name value`),
 * DCRFORGE_VSP_<NAME> environment variables and a config file, in that order of precedence.
 *
 * The file is the INI form dcrd, dcrwallet and vspd read (`[Application Options]`, `;` and `#`
 * comments): `--configfile`, or `~/.dcrforge-vsp/dcrforge-vsp.conf` when that exists. An
 * operator's vspd.conf works as it is where vspd's options mean what ours do (dcrdhost, vspfee,
 * network=testnet, per-wallet walletuser and walletpass lists, vspclosed with vspclosedmsg); each
 * option that does not gets one line saying what to write instead, all of them at once.
 */
import { Data } from "effect"
import { existsSync, readFileSync } from "node:fs"
import { homedir } from "node:os"
import { join } from "node:path"
import { NETWORK_NAMES, NETWORKS, type NetworkName } from "../../core/chain/params.ts"
import { validPoolFeeRate } from "../../core/vsp/fee.ts"
import type { VotingServiceConfig } from "./vsp-service.ts"

export class CliError extends Data.TaggedError("CliError")<{ readonly message: string }> {}

interface OptionSpec {
  readonly name: string
  readonly value: string
  readonly help: string
}

const OPTIONS: ReadonlyArray<OptionSpec> = [
  { name: "configfile", value: "file", help: "the config file (INI, as vspd.conf; default ~/.dcrforge-vsp/dcrforge-vsp.conf when it exists)" },
  { name: "network", value: "mainnet|testnet3|simnet|regnet", help: "the network (default mainnet)" },
  { name: "dcrdrpc", value: "host:port", help: "dcrd's RPC address (default localhost and the network's dcrd RPC port)" },
  { name: "dcrduser", value: "user", help: "dcrd's RPC user" },
  { name: "dcrdpass", value: "password", help: "dcrd's RPC password" },
  { name: "dcrdcert", value: "file", help: "dcrd's rpc.cert (default ~/.dcrd/rpc.cert)" },
  { name: "wallethost", value: "host:port,...", help: "the voting wallets' RPC addresses (dcrwallet --enablevoting --manualtickets), comma-separated, at least 3 advised" },
  { name: "walletuser", value: "user,...", help: "the voting wallets' RPC user: one for all, or one per --wallethost in order" },
  { name: "walletpass", value: "password,...", help: "the voting wallets' RPC password: one for all, or one per --wallethost in order" },
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

export const usage = () =>
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
    "options (flags win over DCRFORGE_VSP_<NAME> environment variables, which win over name=value lines in the config file):",
    ...OPTIONS.map((o) => `  --${o.name}=${o.value}\n      ${o.help}`),
  ].join("\n")

/** Options only a command line gives: where the file is, and what one command reads or writes. */
const NOT_IN_FILE: ReadonlySet<string> = new Set(["configfile", "out", "from"])

/**
 * vspd.conf's options under names of their own: ours by another name, or (a reason) none here,
 * the reason saying what to do instead. vspclosed and vspclosedmsg become `closed` together.
 */
const VSPD_OPTIONS: Readonly<Record<string, { readonly name: string } | { readonly reason: string }>> = {
  dcrdhost: { name: "dcrdrpc" },
  vspfee: { name: "fee" },
  maxlogsize: { reason: "dcrforge logs to standard output (journald or docker keep and rotate it): remove it" },
  logstokeep: { reason: "dcrforge logs to standard output (journald or docker keep and rotate it): remove it" },
  webserverdebug: { reason: "there are no templates to reload; loglevel=debug logs each request: remove it" },
  supportemail: { reason: "the service shows no support address: remove it (put it where stakers find your service)" },
  designation: { reason: "the service's pages carry no name: remove it" },
  backupinterval: {
    reason: "backups are taken by `./dcrforge vsp backup` from a timer (cron or a systemd timer), consistent while the service runs: remove it and schedule that",
  },
}

interface FileValues {
  readonly values: Map<string, string>
  readonly problems: ReadonlyArray<string>
}

/** A config file's options by our names, and every line that cannot be read, each with its fix. */
const parseConfigFile = (text: string, path: string): FileValues => {
  const values = new Map<string, string>()
  const problems: Array<string> = []
  let inMain = true
  let closed: { readonly on: boolean; readonly message: string | undefined } = { on: false, message: undefined }
  const lines = text.replace(/^\uFEFF/, "").split(/\r?\n/)
  for (const [i, raw] of lines.entries()) {
    const line = raw.trim()
    const at = `${path}:${i + 1}`
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue
    if (line.startsWith("[")) {
      inMain =
        line
          .slice(1, line.endsWith("]") ? -1 : undefined)
          .trim()
          .toLowerCase() === "application options"
      if (!inMain) problems.push(`${at}: section ${line} is not read (options go under [Application Options], as vspd's): move its lines there`)
      continue
    }
    if (!inMain) continue
    const eq = line.indexOf("=")
    const name = (eq < 0 ? line : line.slice(0, eq)).trim().toLowerCase()
    let value = eq < 0 ? "true" : line.slice(eq + 1).trim()
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1)
    if (name === "vspclosed") {
      closed = { ...closed, on: value === "true" || value === "1" }
      continue
    }
    if (name === "vspclosedmsg") {
      closed = { ...closed, message: value }
      continue
    }
    const vspd = VSPD_OPTIONS[name]
    if (vspd !== undefined && "reason" in vspd) {
      problems.push(`${at}: vspd's ${name} — ${vspd.reason}`)
      continue
    }
    const ours = vspd?.name ?? name
    if (!OPTIONS.some((o) => o.name === ours)) {
      problems.push(`${at}: unknown option ${name} (the options are those of ./dcrforge vsp --help, without the dashes)`)
      continue
    }
    if (NOT_IN_FILE.has(ours)) {
      problems.push(`${at}: ${ours} is given on the command line only (--${ours}=...): remove this line`)
      continue
    }
    // vspd's network=testnet is testnet3 here, as dcrd names it.
    values.set(ours, ours === "network" && value === "testnet" ? "testnet3" : value)
  }
  if (closed.on) values.set("closed", closed.message ?? "This voting service is closed to new tickets.")
  return { values, problems }
}

const DEFAULT_CONFIG_FILE = (home: string) => join(home, ".dcrforge-vsp", "dcrforge-vsp.conf")

/**
 * The value of each known option: the config file's, then the environment's, then the flags'
 * (each wins over the one before); an unknown flag, a missing file named by --configfile, and
 * every line of the file that cannot be taken as it is, are errors (the file's all at once).
 */
export const vspOptions = (argv: ReadonlyArray<string>, env: NodeJS.ProcessEnv, home: string = homedir()): Map<string, string> | CliError => {
  const flags = new Map<string, string>()
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    if (!arg.startsWith("--")) return new CliError({ message: `unexpected argument ${JSON.stringify(arg)}; options are --name=value (see --help)` })
    const eq = arg.indexOf("=")
    const name = arg.slice(2, eq < 0 ? undefined : eq)
    if (!OPTIONS.some((o) => o.name === name)) return new CliError({ message: `unknown option --${name} (see ./dcrforge vsp --help)` })
    const value = eq < 0 ? argv[++i] : arg.slice(eq + 1)
    if (value === undefined) return new CliError({ message: `--${name} needs a value` })
    flags.set(name, value)
  }
  const fromEnv = new Map<string, string>()
  for (const o of OPTIONS) {
    const value = env[`DCRFORGE_VSP_${o.name.toUpperCase()}`]
    if (value !== undefined) fromEnv.set(o.name, value)
  }
  const named = flags.get("configfile") ?? fromEnv.get("configfile")
  const path = named ?? DEFAULT_CONFIG_FILE(home)
  let file: FileValues = { values: new Map(), problems: [] }
  if (existsSync(path)) file = parseConfigFile(readFileSync(path, "utf8"), path)
  else if (named !== undefined) return new CliError({ message: `--configfile=${named}: no such file` })
  if (file.problems.length > 0) return new CliError({ message: `${path} needs changes before the service starts:\n  ${file.problems.join("\n  ")}` })
  return new Map([...file.values, ...fromEnv, ...flags])
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
export const configFrom = (o: Map<string, string>, command: string): VotingServiceConfig | CliError => {
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
  const walletUsers = (o.get("walletuser") ?? "").split(",")
  const walletPasses = (o.get("walletpass") ?? "").split(",")
  if (o.get("walletuser") === undefined || o.get("walletpass") === undefined) return new CliError({ message: "--walletuser and --walletpass are required (the voting wallets' RPC credentials)" })
  // vspd's form: one per wallet, in --wallethost's order; ours also takes one for all.
  if (walletUsers.length !== 1 && walletUsers.length !== hosts.length) return new CliError({ message: "--walletuser: give one user for all voting wallets or one per --wallethost" })
  if (walletPasses.length !== 1 && walletPasses.length !== hosts.length) return new CliError({ message: "--walletpass: give one password for all voting wallets or one per --wallethost" })
  const votingWallets: Array<VotingServiceConfig["votingWallets"][number]> = []
  for (const [i, h] of hosts.entries()) {
    const address = hostPort(h, "wallethost")
    if (address instanceof CliError) return address
    const cert = readText(certs[certs.length === 1 ? 0 : i]!, "--walletcert")
    if (cert instanceof CliError) return cert
    const pick = (list: ReadonlyArray<string>) => list[list.length === 1 ? 0 : i]!
    votingWallets.push({ name: h, url: `https://${h}`, user: pick(walletUsers), password: pick(walletPasses), certificate: cert })
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
