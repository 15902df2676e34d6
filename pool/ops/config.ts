import { Data, Redacted, Result, Schema } from "effect"
import { decodeAddress } from "../../core/chain/address.ts"
import { NETWORK_NAMES, NETWORKS, type NetworkName, type NetworkParams } from "../../core/chain/params.ts"
import { ratio, type Ratio } from "../../core/chain/targets.ts"
import { PAYOUT_FEE_SOURCES, type PayoutFeeSource } from "../../core/payout/network-fee.ts"
import type { PayoutScheme } from "../../core/payout/schemes.ts"
import { decimalInUnits, parseDcr, parseDecimal } from "../../core/chain/amounts.ts"
import { isPasswordHash, parsePasswordHash } from "../http/auth.ts"

// The pool's configuration: command-line flags, then DCRFORGE_<NAME> environment variables, then
// a config file (the go-flags INI form dcrd, dcrwallet and dcrpool read: `[Application Options]`,
// `;` and `#` comments, repeated keys for a list), then defaults. Pure: the caller injects argv,
// the environment, file reading and the home directory. Option names are dcrpool's where the
// meaning is the same; a dcrpool option that means something else here is refused with what to
// write instead (every such line of a file at once). Values are resolved exactly (basis points,
// atoms, ratios, milliseconds). The sample config (`pool writeconfig`) is generated from the
// same option table.

// ---- per-network defaults (the one table) --------------------------------------------------------

interface NetworkDefaults {
  /** Stratum port miners connect to; dcrpool uses 5550 on every network. */
  readonly minerPort: number
  /** dcrd's JSON-RPC port (dcrd `params.go`). */
  readonly dcrdRpcPort: number
  /** dcrwallet's JSON-RPC port; dcrwallet has no regnet network, so regnet has none. */
  readonly walletRpcPort: number | undefined
}

export const NETWORK_DEFAULTS: { readonly [K in NetworkName]: NetworkDefaults } = {
  mainnet: { minerPort: 5550, dcrdRpcPort: 9109, walletRpcPort: 9110 },
  testnet3: { minerPort: 5550, dcrdRpcPort: 19109, walletRpcPort: 19110 },
  simnet: { minerPort: 5550, dcrdRpcPort: 19556, walletRpcPort: 19557 },
  regnet: { minerPort: 5550, dcrdRpcPort: 18656, walletRpcPort: undefined },
}

// ---- value types -----------------------------------------------------------------------------------

const DEBUG_LEVELS = ["trace", "debug", "info", "warn", "error"] as const
type DebugLevel = (typeof DEBUG_LEVELS)[number]

const PAYMENT_METHODS = ["pplns", "pps", "proportional", "pplns-time"] as const
type PaymentMethod = (typeof PAYMENT_METHODS)[number]

const isDebugLevel = Schema.is(Schema.Literals(DEBUG_LEVELS))
const isPaymentMethod = Schema.is(Schema.Literals(PAYMENT_METHODS))
const isNetwork = Schema.is(Schema.Literals(NETWORK_NAMES))
const isPayoutFeeSource = Schema.is(Schema.Literals(PAYOUT_FEE_SOURCES))

const FEE_ADDRESS_POLICIES = ["rotate", "first"] as const
type FeeAddressPolicy = (typeof FEE_ADDRESS_POLICIES)[number]
const isFeeAddressPolicy = Schema.is(Schema.Literals(FEE_ADDRESS_POLICIES))

interface HostPort {
  readonly host: string
  readonly port: number
}

/** `host:port`, with an IPv6 host in brackets. */
export const formatHostPort = (hp: HostPort): string => (hp.host.includes(":") ? `[${hp.host}]:${hp.port}` : `${hp.host}:${hp.port}`)

/** Pool fee bounds in basis points: dcrpool's 0.002 to 0.05. */
const MIN_POOL_FEE_BASIS_POINTS = 20
const MAX_POOL_FEE_BASIS_POINTS = 500
const MIN_LASTN_PERIOD_MS = 60_000
const MIN_MAX_GEN_TIME_MS = 2_000

// ---- options ---------------------------------------------------------------------------------------

export const OPTION_NAMES = [
  "activenet",
  "appdata",
  "configfile",
  "datadir",
  "debuglevel",
  "minerlisten",
  "maxconnperhost",
  "dcrdrpchost",
  "dcrdrpccert",
  "rpcuser",
  "rpcpass",
  "walletrpchost",
  "walletrpccert",
  "walletrpcuser",
  "walletrpcpass",
  "walletpass",
  "walletaccount",
  "solopool",
  "poolfeeaddrs",
  "feeaddrpolicy",
  "poolfee",
  "paymentmethod",
  "pplnswindow",
  "lastnperiod",
  "minpayment",
  "ppsreservelow",
  "payoutfeefrom",
  "maxgentime",
  "guilisten",
  "adminpass",
  "guicert",
  "guikey",
  "trustproxy",
  "metrics",
  "designation",
  "postgres",
  "postgreshost",
  "postgresport",
  "postgresuser",
  "postgrespass",
  "postgresdbname",
  "instance",
] as const
type OptionName = (typeof OPTION_NAMES)[number]

interface DefaultsContext {
  readonly net: NetworkName
  readonly appData: string
}

interface OptionSpec {
  /** The value's shape in the help text; undefined for a boolean (`--name` sets it). */
  readonly arg: string | undefined
  readonly help: string
  /** The default as a string, parsed like any other source; undefined when there is none. */
  readonly default: (ctx: DefaultsContext) => string | undefined
  /** The default as the help text shows it. */
  readonly defaultHelp: string
  /** A valid value (for the active network when it is known), for the fix in error messages. */
  readonly example: string | ((net: NetworkName | undefined) => string)
  readonly secret?: true
  /** Locates the config file, so it can only come from a flag or the environment. */
  readonly notInFile?: true
}

/** `host:port` as the help shows it: one port, or the port per network. */
const perNetwork = (host: string, port: (d: NetworkDefaults) => number | undefined): string => {
  const ports = NETWORK_NAMES.map((n) => port(NETWORK_DEFAULTS[n]))
  return ports.every((p) => p === ports[0]) ? `${host}:${ports[0]}` : `${host}:<port> (${NETWORK_NAMES.map((n, i) => `${n} ${ports[i] ?? "none"}`).join(", ")})`
}

const DEFAULT_APPDATA = "~/.dcrforge"
const configFileIn = (appData: string): string => `${appData}/dcrforge.conf`

const constant = (value: string) => ({ default: () => value, defaultHelp: value })
const none = (defaultHelp: string) => ({ default: () => undefined, defaultHelp })

const OPTIONS: { readonly [K in OptionName]: OptionSpec } = {
  activenet: { arg: "<net>", help: "network: mainnet, testnet3, simnet or regnet", example: "mainnet", ...constant("simnet") },
  appdata: {
    arg: "<dir>",
    help: "application data directory (holds dcrforge.conf and data/)",
    example: DEFAULT_APPDATA,
    notInFile: true,
    ...constant(DEFAULT_APPDATA),
  },
  configfile: {
    arg: "<file>",
    help: "config file of name=value lines; a missing default file is fine",
    example: "~/.dcrforge/dcrforge.conf",
    notInFile: true,
    default: (c) => configFileIn(c.appData),
    defaultHelp: "<appdata>/dcrforge.conf",
  },
  datadir: {
    arg: "<dir>",
    help: "the pool's database directory",
    example: "~/.dcrforge/data/mainnet",
    default: (c) => `${c.appData}/data/${c.net}`,
    defaultHelp: "<appdata>/data/<activenet>",
  },
  debuglevel: { arg: "<level>", help: "logging level: trace, debug, info, warn or error", example: "debug", ...constant("info") },
  minerlisten: {
    arg: "<host:port>",
    help: "stratum listen address for miners",
    example: (net) => `0.0.0.0:${NETWORK_DEFAULTS[net ?? "mainnet"].minerPort}`,
    default: (c) => `0.0.0.0:${NETWORK_DEFAULTS[c.net].minerPort}`,
    defaultHelp: perNetwork("0.0.0.0", (d) => d.minerPort),
  },
  maxconnperhost: { arg: "<n>", help: "most miner connections from one IP address", example: "100", ...constant("100") },
  dcrdrpchost: {
    arg: "<host:port>",
    help: "dcrd JSON-RPC address",
    example: (net) => `127.0.0.1:${net === undefined ? "<dcrd's RPC port>" : NETWORK_DEFAULTS[net].dcrdRpcPort}`,
    default: (c) => `127.0.0.1:${NETWORK_DEFAULTS[c.net].dcrdRpcPort}`,
    defaultHelp: perNetwork("127.0.0.1", (d) => d.dcrdRpcPort),
  },
  dcrdrpccert: { arg: "<file>", help: "dcrd's RPC TLS certificate", example: "~/.dcrd/rpc.cert", ...constant("~/.dcrd/rpc.cert") },
  rpcuser: { arg: "<user>", help: "dcrd RPC user name", example: "<dcrd's rpcuser>", ...none("none; required") },
  rpcpass: { arg: "<pass>", help: "dcrd RPC password", example: "<dcrd's rpcpass>", secret: true, ...none("none; required") },
  walletrpchost: {
    arg: "<host:port>",
    help: "dcrwallet JSON-RPC address (pool mode)",
    example: (net) => `127.0.0.1:${(net === undefined ? undefined : NETWORK_DEFAULTS[net].walletRpcPort) ?? "<dcrwallet's RPC port>"}`,
    default: (c) => {
      const port = NETWORK_DEFAULTS[c.net].walletRpcPort
      return port === undefined ? undefined : `127.0.0.1:${port}`
    },
    defaultHelp: perNetwork("127.0.0.1", (d) => d.walletRpcPort),
  },
  walletrpccert: {
    arg: "<file>",
    help: "dcrwallet's RPC TLS certificate",
    example: "~/.dcrwallet/rpc.cert",
    ...constant("~/.dcrwallet/rpc.cert"),
  },
  walletrpcuser: { arg: "<user>", help: "dcrwallet RPC user name", example: "<dcrwallet's username>", ...none("rpcuser") },
  walletrpcpass: {
    arg: "<pass>",
    help: "dcrwallet RPC password",
    example: "<dcrwallet's password>",
    secret: true,
    ...none("rpcpass"),
  },
  walletpass: {
    arg: "<pass>",
    help: "dcrwallet private passphrase, to unlock it for payments",
    example: "<wallet passphrase>",
    secret: true,
    ...none("none: the wallet is unlocked already"),
  },
  walletaccount: {
    arg: "<name>",
    help: 'wallet account payments are made from (dcrpool\'s account 0 is "default")',
    example: "default",
    ...constant("default"),
  },
  solopool: {
    arg: undefined,
    help: "solo pool: rewards stay at dcrd's --miningaddr, no fees or payments",
    example: "true",
    ...constant("false"),
  },
  poolfeeaddrs: {
    arg: "<addr,...>",
    help: "addresses the pool fee is paid to, comma-separated or repeated",
    example: (net) => (net === undefined ? "<address>" : `<${net} address>`),
    ...none("none; required in pool mode"),
  },
  feeaddrpolicy: {
    arg: "<policy>",
    help: "which poolfeeaddrs a payout batch pays the fee to: rotate (each batch the next, in turn) or first (always the first)",
    example: "rotate",
    ...constant("rotate"),
  },
  poolfee: { arg: "<fraction>", help: "pool fee as a fraction, 0.002 to 0.05 (0.01 = 1%)", example: "0.01", ...constant("0.01") },
  paymentmethod: {
    arg: "<method>",
    help: "payout scheme: pplns, pps, proportional or pplns-time",
    example: "pplns",
    ...constant("pplns"),
  },
  pplnswindow: { arg: "<multiple>", help: "PPLNS window as a multiple of network difficulty", example: "2", ...constant("2") },
  lastnperiod: { arg: "<duration>", help: "pplns-time window (at least 60s)", example: "24h", ...constant("24h") },
  minpayment: { arg: "<DCR>", help: "smallest payout in DCR; smaller balances wait", example: "0.1", ...constant("0.1") },
  ppsreservelow: {
    arg: "<DCR>",
    help: "PPS: warn (log once, admin page) when the reserve, what blocks paid in less what PPS paid out, is below this; negative allowed (-50: warn once PPS has paid 50 DCR more than blocks brought)",
    example: "-50",
    ...constant("0"),
  },
  payoutfeefrom: {
    arg: "<payer>",
    help: "who pays a payout's network fee: poolfee (the pool fee's output) or miners (their outputs, pro rata, as dcrpool)",
    example: "miners",
    ...constant("poolfee"),
  },
  maxgentime: {
    arg: "<duration>",
    help: "target time between a miner's shares, which sets its difficulty (at least 2s; under 30s advised)",
    example: "15s",
    ...constant("15s"),
  },
  guilisten: { arg: "<host:port>", help: "web UI listen address", example: "0.0.0.0:8080", ...constant("0.0.0.0:8080") },
  adminpass: {
    arg: "<pass>",
    help: "web UI admin password, or its scrypt$... hash (`./dcrforge pool hashpass`); kept only hashed",
    example: "<admin password>",
    secret: true,
    ...none("none: no admin page"),
  },
  guicert: { arg: "<file>", help: "TLS certificate (PEM) for the web UI: serve HTTPS", example: "~/.dcrforge/gui.cert", ...none("none: plain HTTP") },
  guikey: { arg: "<file>", help: "TLS private key (PEM) for guicert", example: "~/.dcrforge/gui.key", ...none("none") },
  trustproxy: {
    arg: undefined,
    help: "behind a reverse proxy: take the client address and scheme from X-Forwarded-For/-Proto",
    example: "true",
    ...constant("false"),
  },
  metrics: {
    arg: undefined,
    help: "serve Prometheus metrics at /metrics on the web UI's address, without authentication (--metrics=false: off)",
    example: "false",
    ...constant("true"),
  },
  designation: { arg: "<name>", help: "the pool's name shown in the web UI", example: "MyPool", ...constant("YourPoolNameHere") },
  postgres: { arg: undefined, help: "store in Postgres instead of the embedded database", example: "true", ...constant("false") },
  postgreshost: { arg: "<host>", help: "Postgres host", example: "127.0.0.1", ...constant("127.0.0.1") },
  postgresport: { arg: "<port>", help: "Postgres port", example: "5432", ...constant("5432") },
  postgresuser: { arg: "<user>", help: "Postgres user", example: "dcrforge", ...constant("dcrforge") },
  postgrespass: { arg: "<pass>", help: "Postgres password", example: "<postgres password>", secret: true, ...none("none") },
  postgresdbname: { arg: "<name>", help: "Postgres database name", example: "dcrforge", ...constant("dcrforge") },
  instance: {
    arg: "<id>",
    help: "id of this pool instance (letters, digits, . _ -)",
    example: "pool-1",
    ...none("none: chosen by the caller"),
  },
}

/**
 * dcrpool's names (its config.go) for options dcrforge has under another name with the same
 * meaning: read as that option, so an operator's dcrpool.conf line works as it is.
 */
const DCRPOOL_ALIASES: Readonly<Record<string, OptionName>> = { tlscert: "guicert", tlskey: "guikey" }

/** What to do instead of a dcrpool option dcrforge reads differently: write another option, or drop the line. */
type DcrpoolFix = { readonly write: OptionName; readonly value: string; readonly why: string } | { readonly write?: undefined; readonly why: string }

const walletJsonRpcPort = (net: NetworkName | undefined): string => String((net === undefined ? undefined : NETWORK_DEFAULTS[net].walletRpcPort) ?? "<dcrwallet's JSON-RPC port>")

/**
 * dcrpool's options (config.go, sample-dcrpool.conf) that dcrforge reads differently or not at
 * all, each with the fix for its value: never silently ignored, so a dcrpool.conf either works
 * or gets one line per option that differs. `undefined`: the value means what it meant (kept).
 */
const DCRPOOL_DIFFERS: Readonly<Record<string, (value: string, net: NetworkName | undefined) => DcrpoolFix | undefined>> = {
  homedir: (v) => ({ write: "appdata", value: v || DEFAULT_APPDATA, why: "dcrpool's old name; appdata locates the config file, so set it as a flag or DCRFORGE_APPDATA" }),
  walletgrpchost: (v, net) => ({
    write: "walletrpchost",
    value: `${v.replace(/:\d+$/, "") || "127.0.0.1"}:${walletJsonRpcPort(net)}`,
    why: "dcrforge pays through dcrwallet's JSON-RPC listener, not its gRPC one",
  }),
  wallettlscert: () => ({ why: "dcrforge logs in to dcrwallet's JSON-RPC with walletrpcuser and walletrpcpass (dcrwallet's username and password), not a client certificate" }),
  wallettlskey: () => ({ why: "dcrforge logs in to dcrwallet's JSON-RPC with walletrpcuser and walletrpcpass, not a client certificate" }),
  logdir: () => ({ why: "dcrforge logs to standard error, for journald or docker to keep; debuglevel sets how much" }),
  dbfile: () => ({ why: "dcrforge keeps its own database in datadir (or Postgres) and does not read dcrpool's bolt file" }),
  guidir: () => ({ why: "the web UI is built in" }),
  domain: () => ({
    why: "dcrforge gets no Let's Encrypt certificate itself: give guicert and guikey (certbot's fullchain.pem and privkey.pem), or terminate TLS at a reverse proxy and set trustproxy",
  }),
  uselehttps: () => ({ why: "dcrforge gets no Let's Encrypt certificate itself: give guicert and guikey, or terminate TLS at a reverse proxy and set trustproxy" }),
  noguitls: (v) =>
    Result.getOrElse(
      Result.map(parseBool(v), (off): DcrpoolFix | undefined =>
        off ? undefined : { why: "dcrforge serves HTTPS only with guicert and guikey (dcrpool made a self-signed pair): set them, or drop the line for plain HTTP" },
      ),
      () => ({ why: "noguitls takes true or false; dcrforge serves plain HTTP unless guicert and guikey are set" }),
    ),
  profile: () => ({ why: "dcrforge has no profiling server; its metrics are at /metrics" }),
  conftimeout: () => ({ why: "dcrforge pays a block's credits once dcrd shows its coinbase mature, with no timeout to tune" }),
  gencertsonly: () => ({ why: "dcrforge makes no certificates: give guicert and guikey for HTTPS" }),
  purgedb: () => ({ why: "dcrforge never wipes its database at start: use a new datadir or postgresdbname for a fresh one" }),
  monitorcycle: () => ({ why: "dcrforge sets each miner's difficulty by vardiff from maxgentime, not by monitoring for upgrades" }),
  maxupgradetries: () => ({ why: "dcrforge sets each miner's difficulty by vardiff from maxgentime, not by monitoring for upgrades" }),
  version: () => ({ why: "not an option of dcrforge's pool" }),
}

/**
 * dcrpool's payment methods under the same names mean other schemes: its pps splits each block
 * over the shares since the previous one (dcrforge's proportional) and its pplns over the
 * shares of the last lastnperiod (dcrforge's pplns-time). Asked only of a dcrpool config (see
 * `isDcrpoolFile`); `undefined` for a method that means the same.
 */
const dcrpoolPaymentMethod = (value: string | undefined): DcrpoolFix | undefined =>
  value === undefined || value === "pplns"
    ? {
        write: "paymentmethod",
        value: "pplns-time",
        why: `dcrpool's pplns${value === undefined ? " (its default)" : ""} pays the shares of the last lastnperiod, which is dcrforge's pplns-time; dcrforge's pplns counts a window of work (pplnswindow)`,
      }
    : value === "pps"
      ? {
          write: "paymentmethod",
          value: "proportional",
          why: "dcrpool's pps splits each block over the shares since the previous one, which is dcrforge's proportional; dcrforge's pps pays every share its expected value",
        }
      : undefined

/** The option as the source writes it: `--name=value`, `DCRFORGE_NAME=value` or `name=value`. */
const written = (name: string, value: string, source: Source): string =>
  source.kind === "flag" ? `--${name}=${value}` : source.kind === "env" ? `${ENV_PREFIX}${name.toUpperCase()}=${value}` : `${name}=${value}`

/** One dcrpool option that differs, as an error: the line, what to write instead and why. */
const dcrpoolDiffers = (name: string, value: string, source: Source, fix: DcrpoolFix): ConfigError => {
  const at = source.kind === "file" ? `${sourceText(source)}: ` : ""
  const instead =
    fix.write === undefined
      ? source.kind === "file"
        ? "remove the line"
        : `drop ${source.kind === "flag" ? source.flag : source.kind === "env" ? source.variable : sourceText(source)}`
      : `write ${written(fix.write, fix.value, source)}`
  return new ConfigError({
    option: name,
    problem: "dcrpool-option",
    source: sourceText(source),
    message: `${at}${written(name, value, source)} is dcrpool's and differs in dcrforge: ${instead} (${fix.why})`,
  })
}

/**
 * DCRFORGE_ variables that are not pool options (test and benchmark knobs); they are ignored
 * rather than refused as unknown options.
 */
const NON_OPTION_ENV_VARS: ReadonlyArray<string> = ["DCRFORGE_VECTORS", "DCRFORGE_LOAD_MINERS", "DCRFORGE_LOAD_SECONDS"]

/** True when argv asks for the option list (`--help`, `-h`): print describeOptions() instead of loading. */
export const wantsHelp = (argv: ReadonlyArray<string>): boolean => argv.some((a) => a === "--help" || a === "-h")

const ENV_PREFIX = "DCRFORGE_"
export const envName = (name: OptionName): string => `${ENV_PREFIX}${name.toUpperCase()}`

const isOptionName = (s: string): s is OptionName => (OPTION_NAMES as ReadonlyArray<string>).includes(s)

// ---- the resolved configuration ----------------------------------------------------------------------

export interface PoolConfig {
  readonly activeNet: NetworkName
  readonly params: NetworkParams
  readonly appData: string
  readonly dataDir: string
  readonly configFile: string
  /** False when the default config file did not exist. */
  readonly configFileRead: boolean
  readonly debugLevel: DebugLevel
  readonly minerListen: HostPort
  readonly maxConnPerHost: number
  readonly dcrdRpcHost: HostPort
  readonly dcrdRpcCert: string
  readonly rpcUser: string
  readonly rpcPass: Redacted.Redacted<string>
  /** Always set in pool mode; undefined only for a solo pool on regnet (dcrwallet has no regnet). */
  readonly walletRpcHost: HostPort | undefined
  readonly walletRpcCert: string
  /** walletrpcuser, or rpcuser when unset. */
  readonly walletRpcUser: string
  /** walletrpcpass, or rpcpass when unset. */
  readonly walletRpcPass: Redacted.Redacted<string>
  readonly walletPass: Redacted.Redacted<string> | undefined
  readonly walletAccount: string
  readonly soloPool: boolean
  /** Checked against the active network; non-empty in pool mode. */
  readonly poolFeeAddrs: ReadonlyArray<string>
  /** rotate: batch n pays the fee to poolFeeAddrs[(n - 1) mod count]; first: always poolFeeAddrs[0]. */
  readonly feeAddrPolicy: FeeAddressPolicy
  /** The addresses the payouts pay the fee to, in turn: poolFeeAddrs, or only its first under feeaddrpolicy=first. */
  readonly feeAddressesInTurn: ReadonlyArray<string>
  /** poolfee in basis points (0.01 = 100). */
  readonly poolFeeBasisPoints: number
  readonly paymentMethod: PaymentMethod
  readonly pplnsWindow: Ratio
  readonly lastNPeriodMs: number
  /** The payout scheme these options select (`solo` in solo-pool mode). */
  readonly payoutScheme: PayoutScheme
  readonly minPaymentAtoms: bigint
  /** PPS: below this reserve balance (atoms, may be negative) the pool warns. */
  readonly ppsReserveLowAtoms: bigint
  /** Whose outputs a payout's network fee comes out of. */
  readonly payoutFeeFrom: PayoutFeeSource
  readonly maxGenTimeMs: number
  readonly guiListen: HostPort
  /** The password or its scrypt hash (checked here; hashed when the server starts). */
  readonly adminPass: Redacted.Redacted<string> | undefined
  readonly guiCert: string | undefined
  readonly guiKey: string | undefined
  readonly trustProxy: boolean
  readonly metrics: boolean
  readonly designation: string
  readonly postgres: boolean
  readonly postgresHost: string
  readonly postgresPort: number
  readonly postgresUser: string
  readonly postgresPass: Redacted.Redacted<string> | undefined
  readonly postgresDbName: string
  readonly instance: string | undefined
  /** Where each option's value came from ("--poolfee", "env DCRFORGE_POOLFEE", "file:3", "default", "unset"). */
  readonly sources: { readonly [K in OptionName]: string }
}

// ---- errors ------------------------------------------------------------------------------------------

type ConfigProblem = "unknown-option" | "dcrpool-option" | "bad-argument" | "bad-file-line" | "missing-file" | "invalid-value" | "missing-value" | "several"

/**
 * One configuration problem. The message names the option, the value and where it came from,
 * what is wrong and how to fix it.
 */
export class ConfigError extends Data.TaggedError("ConfigError")<{
  /** The option, or the unknown name as written. */
  readonly option: string
  readonly problem: ConfigProblem
  /** Where the offending value came from ("--poolfee", "env DCRFORGE_POOLFEE", "path:line", "default"). */
  readonly source: string
  readonly message: string
}> {}

type Source =
  | { readonly kind: "flag"; readonly flag: string }
  | { readonly kind: "env"; readonly variable: string }
  | { readonly kind: "file"; readonly path: string; readonly line: number }
  | { readonly kind: "default" }

interface Raw {
  readonly value: string
  readonly source: Source
}

const sourceText = (s: Source): string => (s.kind === "flag" ? s.flag : s.kind === "env" ? `env ${s.variable}` : s.kind === "file" ? `${s.path}:${s.line}` : "default")

const fromText = (s: Source): string => (s.kind === "default" ? "the default" : `from ${sourceText(s)}`)

/** The fix, in the form of the source the value came from (or every form when it was not set). */
const fixText = (name: OptionName, source: Source | undefined, configFile: string, net: NetworkName | undefined): string => {
  const example = OPTIONS[name].example
  const value = typeof example === "string" ? example : example(net)
  switch (source?.kind) {
    case "flag":
      return `set e.g. --${name}=${value}`
    case "env":
      return `set e.g. ${envName(name)}=${value}`
    case "file":
      return `set e.g. ${name}=${value} at ${source.path}:${source.line}`
    default:
      return `set e.g. --${name}=${value} (or ${envName(name)}=${value}, or ${name}=${value} in ${configFile})`
  }
}

const shown = (name: OptionName, value: string): string => (OPTIONS[name].secret === true ? "<redacted>" : value)

// ---- parsing values ----------------------------------------------------------------------------------

const decimalProblem = (text: string, what: string): string => `"${text}" is not ${what} (digits with an optional decimal point)`

const parseBool = (text: string): Result.Result<boolean, string> => {
  const t = text.toLowerCase()
  if (t === "true" || t === "1" || t === "yes") return Result.succeed(true)
  if (t === "false" || t === "0" || t === "no") return Result.succeed(false)
  return Result.fail(`"${text}" is not a boolean (true or false)`)
}

const parseInteger = (text: string, min: number, max: number, what: string): Result.Result<number, string> => {
  if (!/^\d+$/.test(text)) return Result.fail(`"${text}" is not ${what}`)
  const n = Number(text)
  if (n < min || n > max) return Result.fail(`must be ${what} from ${min} to ${max}`)
  return Result.succeed(n)
}

const nonEmpty = (text: string): Result.Result<string, string> => (text === "" ? Result.fail("must not be empty") : Result.succeed(text))

const oneOf = <A extends string>(text: string, is: (u: unknown) => u is A, names: ReadonlyArray<string>): Result.Result<A, string> =>
  is(text) ? Result.succeed(text) : Result.fail(`must be one of ${names.join(", ")}`)

/** `host:port`, `[ipv6]:port`, or a host alone (then the default port). */
const parseHostPort = (text: string, defaultPort: number | undefined, listen: boolean): Result.Result<HostPort, string> => {
  let host: string
  let portText: string | undefined
  const bracketed = /^\[([^\]]*)\](?::(.*))?$/.exec(text)
  if (bracketed !== null) {
    host = bracketed[1] ?? ""
    portText = bracketed[2]
  } else {
    const colons = text.split(":").length - 1
    if (colons > 1) return Result.fail(`"${text}" is ambiguous: write an IPv6 address in brackets, as [::1]:${defaultPort ?? 1234}`)
    const i = text.indexOf(":")
    host = i < 0 ? text : text.slice(0, i)
    portText = i < 0 ? undefined : text.slice(i + 1)
  }
  if (host === "") {
    if (!listen) return Result.fail(`"${text}" has no host`)
    host = "0.0.0.0"
  }
  if (/\s|\//.test(host)) return Result.fail(`"${host}" is not a host name or IP address`)
  if (portText === undefined) {
    return defaultPort === undefined ? Result.fail(`"${text}" has no port and there is no default: write host:port`) : Result.succeed({ host, port: defaultPort })
  }
  if (!/^\d+$/.test(portText) || Number(portText) > 65535 || (!listen && Number(portText) === 0)) {
    return Result.fail(`"${portText}" is not a port (${listen ? 0 : 1} to 65535)`)
  }
  return Result.succeed({ host, port: Number(portText) })
}

const DURATION_UNITS: Readonly<Record<string, bigint>> = { ms: 1n, s: 1_000n, m: 60_000n, h: 3_600_000n }

/** A Go-style duration ("24h", "5m", "90s", "1h30m", "1.5s", "250ms") in whole milliseconds. */
export const parseDuration = (text: string): Result.Result<number, string> => {
  const bad = Result.fail(`"${text}" is not a duration: use a number and a unit (h, m, s, ms), e.g. 90s, 5m or 1h30m`)
  if (text === "") return bad
  let rest = text
  let total = 0n
  while (rest !== "") {
    const m = /^(\d+(?:\.\d+)?)(ms|h|m|s)/.exec(rest)
    if (m === null) return bad
    const d = parseDecimal(m[1]!)
    if (d === undefined) return bad
    const exact = d.digits * DURATION_UNITS[m[2]!]!
    const divisor = 10n ** BigInt(d.scale)
    if (exact % divisor !== 0n) return Result.fail(`"${text}" is not a whole number of milliseconds`)
    total += exact / divisor
    rest = rest.slice(m[0].length)
  }
  if (total > BigInt(Number.MAX_SAFE_INTEGER)) return Result.fail(`"${text}" is too long`)
  return Result.succeed(Number(total))
}

/** Milliseconds as the shortest Go-style duration ("1h30m", "90s" prints as "1m30s"). */
export const formatDuration = (ms: number): string => {
  if (ms === 0) return "0s"
  let rest = ms
  let out = ""
  for (const [unit, size] of [
    ["h", 3_600_000],
    ["m", 60_000],
    ["s", 1_000],
    ["ms", 1],
  ] as const) {
    const n = Math.floor(rest / size)
    if (n > 0) out += `${n}${unit}`
    rest -= n * size
  }
  return out
}

const parsePoolFee = (text: string): Result.Result<number, string> => {
  const d = parseDecimal(text)
  if (d === undefined) return Result.fail(decimalProblem(text, "a fraction"))
  const bp = decimalInUnits(d, 4)
  if (bp === undefined) return Result.fail("is finer than a basis point (0.0001 = 0.01%)")
  if (bp < BigInt(MIN_POOL_FEE_BASIS_POINTS) || bp > BigInt(MAX_POOL_FEE_BASIS_POINTS)) {
    return Result.fail("must be between 0.002 and 0.05 (0.2%-5%)")
  }
  return Result.succeed(Number(bp))
}

const parseWindow = (text: string): Result.Result<Ratio, string> => {
  const d = parseDecimal(text)
  if (d === undefined) return Result.fail(decimalProblem(text, "a multiple of network difficulty"))
  if (d.digits === 0n) return Result.fail("must be more than 0")
  return Result.succeed(ratio(d.digits, 10n ** BigInt(d.scale)))
}

/** A DCR amount to atoms, exactly; at most 8 decimal places and 21 million DCR. */
const parseDcrOption = (text: string): Result.Result<bigint, string> => Result.mapError(parseDcr(text), (e) => e.problem)

const durationAtLeast = (text: string, minMs: number, minText: string): Result.Result<number, string> =>
  Result.flatMap(parseDuration(text), (ms) => (ms < minMs ? Result.fail(`must be at least ${minText}`) : Result.succeed(ms)))

const expandHome = (path: string, home: string): string => (path === "~" ? home : path.startsWith("~/") ? `${home.replace(/\/+$/, "")}/${path.slice(2)}` : path)

const parsePath =
  (home: string) =>
  (text: string): Result.Result<string, string> =>
    Result.map(nonEmpty(text), (p) => expandHome(p, home).replace(/(.)\/+$/, "$1"))

// ---- reading the sources -----------------------------------------------------------------------------

const levenshtein = (a: string, b: string): number => {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const row = [i]
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1))
    }
    prev = row
  }
  return prev[b.length]!
}

/** The known option nearest to an unknown name. */
const closestOption = (name: string): OptionName => {
  let best: OptionName = OPTION_NAMES[0]
  let bestDistance = Infinity
  for (const option of OPTION_NAMES) {
    const d = levenshtein(name, option)
    if (d < bestDistance) {
      best = option
      bestDistance = d
    }
  }
  return best
}

const unknownOption = (written: string, name: string, source: Source, configFile: string): ConfigError => {
  const closest = closestOption(name)
  const suggestion = source.kind === "flag" ? `--${closest}` : source.kind === "env" ? envName(closest) : closest
  return new ConfigError({
    option: written,
    problem: "unknown-option",
    source: sourceText(source),
    message: `unknown option ${written} (${fromText(source)}): did you mean ${suggestion}? ` + fixText(closest, source, configFile, undefined),
  })
}

type RawValues = Map<OptionName, Raw>

/** Sets an option's value within one source: a later value replaces an earlier one, except that
 * repeated poolfeeaddrs add up (go-flags' list option). */
const setRaw = (values: RawValues, name: OptionName, raw: Raw): void => {
  const earlier = values.get(name)
  const adds = name === "poolfeeaddrs" && earlier !== undefined && earlier.value !== ""
  values.set(name, adds ? { value: `${earlier.value},${raw.value}`, source: raw.source } : raw)
}

/** dcrd's short flags for the options that locate the config: `-C file`, `-Cfile`, `-A dir`. */
const SHORT_FLAGS: Readonly<Record<string, OptionName>> = { C: "configfile", A: "appdata" }

/**
 * A name as written in any source, read: one of dcrforge's options (a dcrpool alias resolved),
 * or a dcrpool option that differs (an error with its fix), or an unknown one.
 */
const optionNamed = (name: string): OptionName | undefined => DCRPOOL_ALIASES[name] ?? (isOptionName(name) ? name : undefined)

const parseArgv = (argv: ReadonlyArray<string>, configFile: string): Result.Result<RawValues, ConfigError> => {
  const values: RawValues = new Map()
  let lastBool: OptionName | undefined
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    const boolBefore = lastBool
    lastBool = undefined
    const short = /^-([A-Za-z])(.*)$/s.exec(arg)
    const shortName = short === null ? undefined : SHORT_FLAGS[short[1]!]
    if (short !== null && shortName !== undefined) {
      const flag = `-${short[1]}`
      const inline = short[2]!.replace(/^=/, "")
      const value = inline !== "" ? inline : argv[i + 1]
      if (value === undefined || (inline === "" && value.startsWith("-"))) {
        return Result.fail(
          new ConfigError({ option: shortName, problem: "missing-value", source: flag, message: `${flag} needs a value: ${flag} <file>, as dcrd takes it (or --${shortName}=<value>)` }),
        )
      }
      if (inline === "") i++
      setRaw(values, shortName, { value, source: { kind: "flag", flag } })
      continue
    }
    if (!arg.startsWith("--") || arg === "--") {
      const source: Source = { kind: "flag", flag: arg }
      const message =
        boolBefore !== undefined && Result.isSuccess(parseBool(arg))
          ? `unexpected argument "${arg}" after --${boolBefore}: a boolean flag takes its value after "=", as --${boolBefore}=${arg}`
          : arg.startsWith("-") && arg.length > 1 && arg !== "--"
            ? `unknown flag ${arg}: dcrforge's flags are long, as --name=value, e.g. --activenet=mainnet (the short ones are -C <file> and -A <dir>, as dcrd's)`
            : `unexpected argument "${arg}": options are written --name=value, e.g. --activenet=mainnet`
      return Result.fail(new ConfigError({ option: arg, problem: "bad-argument", source: sourceText(source), message }))
    }
    const body = arg.slice(2)
    const eq = body.indexOf("=")
    const writtenName = eq < 0 ? body : body.slice(0, eq)
    const lower = writtenName.toLowerCase()
    const inline = eq < 0 ? undefined : body.slice(eq + 1)
    const flag = `--${writtenName}`
    const source: Source = { kind: "flag", flag }
    const differs = DCRPOOL_DIFFERS[lower]
    if (differs !== undefined) {
      const value = inline ?? (argv[i + 1] !== undefined && !argv[i + 1]!.startsWith("--") ? argv[++i]! : "true")
      const fix = differs(value, undefined)
      if (fix !== undefined) return Result.fail(dcrpoolDiffers(lower, value, source, fix))
      continue
    }
    const name = optionNamed(lower)
    if (name === undefined) return Result.fail(unknownOption(flag, lower, source, configFile))
    if (OPTIONS[name].arg === undefined) {
      setRaw(values, name, { value: inline ?? "true", source })
      if (inline === undefined) lastBool = name
      continue
    }
    let value = inline
    if (value === undefined) {
      const next = argv[i + 1]
      if (next === undefined || next.startsWith("--")) {
        return Result.fail(
          new ConfigError({
            option: name,
            problem: "missing-value",
            source: flag,
            message: `${flag} needs a value: ${fixText(name, source, configFile, undefined)}`,
          }),
        )
      }
      value = next
      i++
    }
    setRaw(values, name, { value, source })
  }
  return Result.succeed(values)
}

const parseEnv = (env: Readonly<Record<string, string | undefined>>, configFile: string): Result.Result<RawValues, ConfigError> => {
  const values: RawValues = new Map()
  for (const variable of Object.keys(env).sort()) {
    const value = env[variable]
    if (!variable.startsWith(ENV_PREFIX) || value === undefined || value === "") continue
    if (NON_OPTION_ENV_VARS.includes(variable)) continue
    const lower = variable.slice(ENV_PREFIX.length).toLowerCase()
    const source: Source = { kind: "env", variable }
    const differs = DCRPOOL_DIFFERS[lower]
    if (differs !== undefined) {
      const fix = differs(value, undefined)
      if (fix !== undefined) return Result.fail(dcrpoolDiffers(lower, value, source, fix))
      continue
    }
    const name = optionNamed(lower)
    if (name === undefined) return Result.fail(unknownOption(variable, lower, source, configFile))
    values.set(name, { value, source })
  }
  return Result.succeed(values)
}

/** The one section go-flags reads options from for a program without option groups. */
const MAIN_SECTION = "application options"

/**
 * A config file in the INI form dcrd, dcrwallet and dcrpool read (go-flags): an optional
 * `[Application Options]` header, `name=value` lines, `;` and `#` comment lines, a bare name for
 * a boolean, repeated `poolfeeaddrs` lines adding up. Every problem is collected, one line each
 * with its fix: an operator's dcrpool.conf gets every option that differs at once, not one per
 * try. `netHint` is the network the flags or the file name, for fixes that depend on it.
 */
const parseFile = (text: string, path: string, netHint: NetworkName | undefined): Result.Result<RawValues, ConfigError> => {
  const values: RawValues = new Map()
  const problems: Array<ConfigError> = []
  const lines = text.replace(/^\uFEFF/, "").split(/\r?\n/)
  const keys = lines.map((l) => l.trim()).filter((l) => l !== "" && !l.startsWith("#") && !l.startsWith(";") && !l.startsWith("["))
  const keyNames = keys.map((l) => (l.includes("=") ? l.slice(0, l.indexOf("=")) : l).trim().toLowerCase())
  const fileNet = keys.flatMap((l, i) => (keyNames[i] === "activenet" ? [l.slice(l.indexOf("=") + 1).trim()] : [])).at(-1)
  const net = netHint ?? (fileNet !== undefined && isNetwork(fileNet) ? fileNet : undefined)
  // A dcrpool config: its file name, or an option only dcrpool has (each one a line to change, so
  // the operator fixes paymentmethod in the same pass). Then paymentmethod means what dcrpool
  // meant. Aliases (tlscert) do not count: they mean the same in both.
  const isDcrpoolFile = /(^|\/)dcrpool\.conf$/.test(path) || keyNames.some((n) => n in DCRPOOL_DIFFERS)
  let inMainSection = true
  let paymentMethod: { readonly value: string; readonly source: Source } | undefined
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim()
    const source: Source = { kind: "file", path, line: i + 1 }
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue
    if (line.startsWith("[")) {
      const section = line.endsWith("]") ? line.slice(1, -1).trim() : undefined
      if (section === undefined) {
        problems.push(
          new ConfigError({
            option: line,
            problem: "bad-file-line",
            source: sourceText(source),
            message: `${sourceText(source)}: "${line}" is not a section header: close it with "]" or make it a comment with "#"`,
          }),
        )
        continue
      }
      inMainSection = section.toLowerCase() === MAIN_SECTION
      if (!inMainSection) {
        problems.push(
          new ConfigError({
            option: line,
            problem: "bad-file-line",
            source: sourceText(source),
            message: `${sourceText(source)}: section [${section}] is not one dcrforge reads (its options are under [Application Options], as dcrd's): move its lines there`,
          }),
        )
      }
      continue
    }
    if (!inMainSection) continue
    const eq = line.indexOf("=")
    const lower = (eq < 0 ? line : line.slice(0, eq)).trim().toLowerCase()
    let value = eq < 0 ? undefined : line.slice(eq + 1).trim()
    if (value !== undefined && value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1)
    const differs = DCRPOOL_DIFFERS[lower]
    if (differs !== undefined) {
      const fix =
        lower === "noguitls" && keyNames.some((n) => optionNamed(n) === "guicert") && Result.getOrUndefined(parseBool(value ?? "true")) === true
          ? { why: "this file also sets a TLS certificate, which dcrforge serves HTTPS with (dcrpool's noguitls=true ignored it): remove one of them" }
          : differs(value ?? "true", net)
      if (fix !== undefined) problems.push(dcrpoolDiffers(lower, value ?? "true", source, fix))
      continue
    }
    const name = optionNamed(lower)
    if (name === undefined) {
      problems.push(unknownOption(lower, lower, source, path))
      continue
    }
    const spec = OPTIONS[name]
    if (spec.notInFile === true) {
      problems.push(
        new ConfigError({
          option: name,
          problem: "bad-file-line",
          source: sourceText(source),
          message: `${name} cannot be set in the config file (${fromText(source)}), as it locates that file: ` + `set it with --${name}=<value> or ${envName(name)}, and remove line ${i + 1}`,
        }),
      )
      continue
    }
    if (value === undefined) {
      if (spec.arg === undefined) {
        setRaw(values, name, { value: "true", source })
        continue
      }
      problems.push(
        new ConfigError({
          option: name,
          problem: "bad-file-line",
          source: sourceText(source),
          message: `${name} has no value (${fromText(source)}): write name=value, ${fixText(name, source, path, undefined)}`,
        }),
      )
      continue
    }
    if (name === "paymentmethod") paymentMethod = { value, source }
    setRaw(values, name, { value, source })
  }
  if (isDcrpoolFile) {
    const fix = dcrpoolPaymentMethod(paymentMethod?.value)
    if (fix !== undefined) {
      problems.push(
        paymentMethod === undefined
          ? new ConfigError({
              option: "paymentmethod",
              problem: "dcrpool-option",
              source: path,
              message: `${path}: paymentmethod is not set, and this is a dcrpool config: write ${written(fix.write ?? "paymentmethod", fix.write === undefined ? "" : fix.value, { kind: "file", path, line: 0 })} (${fix.why})`,
            })
          : dcrpoolDiffers("paymentmethod", paymentMethod.value, paymentMethod.source, fix),
      )
    }
  }
  if (problems.length === 0) return Result.succeed(values)
  if (problems.length === 1) return Result.fail(problems[0]!)
  return Result.fail(
    new ConfigError({
      option: problems[0]!.option,
      problem: "several",
      source: problems[0]!.source,
      message: `${path} has ${problems.length} lines to change:\n${problems.map((p) => `  ${p.message}`).join("\n")}`,
    }),
  )
}

// ---- loading -------------------------------------------------------------------------------------------

interface ConfigInput {
  readonly argv: ReadonlyArray<string>
  readonly env: Readonly<Record<string, string | undefined>>
  /** The file's text, or undefined when it does not exist or cannot be read. */
  readonly readFile: (path: string) => string | undefined
  /** The user's home directory, for `~` and the default appdata. */
  readonly home: string
}

/**
 * Resolves the pool's configuration: flags over DCRFORGE_ variables over the config file over
 * per-network defaults. The first problem found is returned as one `ConfigError`.
 */
export const loadConfig = (input: ConfigInput): Result.Result<PoolConfig, ConfigError> =>
  Result.gen(function* () {
    const home = input.home
    const path = parsePath(home)
    const fallbackConfigFile = configFileIn(expandHome(DEFAULT_APPDATA, home))
    const flags = yield* parseArgv(input.argv, fallbackConfigFile)
    const env = yield* parseEnv(input.env, fallbackConfigFile)

    // appdata and configfile locate the file, so they come from flags or the environment only.
    let currentNet: NetworkName | undefined
    const early = (name: OptionName): Raw | undefined => flags.get(name) ?? env.get(name)
    const invalid = (name: OptionName, raw: Raw, problem: string, configFile: string) =>
      new ConfigError({
        option: name,
        problem: "invalid-value",
        source: sourceText(raw.source),
        message: `${name}=${shown(name, raw.value)} (${fromText(raw.source)}): ${problem}; ${fixText(name, raw.source, configFile, currentNet)}`,
      })
    const parseRaw = <A>(name: OptionName, raw: Raw, parse: (text: string) => Result.Result<A, string>, configFile: string) =>
      Result.mapError(parse(raw.value), (problem) => invalid(name, raw, problem, configFile))

    const appDataRaw = early("appdata") ?? { value: DEFAULT_APPDATA, source: { kind: "default" } }
    const appData = yield* parseRaw("appdata", appDataRaw, path, fallbackConfigFile)
    const configRaw = early("configfile") ?? { value: configFileIn(appData), source: { kind: "default" } }
    const configFile = yield* parseRaw("configfile", configRaw, path, fallbackConfigFile)
    const text = input.readFile(configFile)
    if (text === undefined && configRaw.source.kind !== "default") {
      const setBy = configRaw.source.kind === "flag" ? configRaw.source.flag : configRaw.source.kind === "env" ? configRaw.source.variable : "it"
      return yield* Result.fail(
        new ConfigError({
          option: "configfile",
          problem: "missing-file",
          source: sourceText(configRaw.source),
          message:
            `configfile=${configFile} (${fromText(configRaw.source)}): the file does not exist or cannot be read; ` + `create it, correct the path, or drop ${setBy} to use ${configFileIn(appData)}`,
        }),
      )
    }
    const hinted = early("activenet")?.value
    const file = text === undefined ? new Map<OptionName, Raw>() : yield* parseFile(text, configFile, hinted !== undefined && isNetwork(hinted) ? hinted : undefined)

    const given = (name: OptionName): Raw | undefined => flags.get(name) ?? env.get(name) ?? file.get(name)
    const sources = Object.fromEntries(OPTION_NAMES.map((n) => [n, "unset"])) as { [K in OptionName]: string }
    sources.appdata = sourceText(appDataRaw.source)
    sources.configfile = sourceText(configRaw.source)

    const netRaw = given("activenet") ?? { value: "simnet", source: { kind: "default" } }
    const activeNet = yield* parseRaw("activenet", netRaw, (t) => oneOf(t, isNetwork, NETWORK_NAMES), configFile)
    sources.activenet = sourceText(netRaw.source)
    currentNet = activeNet
    const ctx: DefaultsContext = { net: activeNet, appData }
    const netDefaults = NETWORK_DEFAULTS[activeNet]
    const params = NETWORKS[activeNet]

    const rawOf = (name: OptionName): Raw | undefined => {
      const g = given(name)
      if (g !== undefined) return g
      const d = OPTIONS[name].default(ctx)
      return d === undefined ? undefined : { value: d, source: { kind: "default" } }
    }
    const missing = (name: OptionName, why: string) =>
      new ConfigError({
        option: name,
        problem: "missing-value",
        source: "unset",
        message: `${name} is not set: ${why}; ${fixText(name, undefined, configFile, currentNet)}`,
      })
    /** The option's value from its source or default, parsed; a missing-value error when neither. */
    const required = <A>(name: OptionName, parse: (text: string) => Result.Result<A, string>, why = "it is required") => {
      const raw = rawOf(name)
      if (raw === undefined) return Result.fail(missing(name, why))
      sources[name] = sourceText(raw.source)
      return parseRaw(name, raw, parse, configFile)
    }
    /** The option's value parsed, or undefined when unset (an empty value counts as unset). */
    const optional = <A>(name: OptionName, parse: (text: string) => Result.Result<A, string>): Result.Result<A | undefined, ConfigError> => {
      const raw = rawOf(name)
      if (raw === undefined || raw.value === "") return Result.succeed(undefined)
      sources[name] = sourceText(raw.source)
      return parseRaw(name, raw, parse, configFile)
    }
    const secret = (text: string) => Result.map(nonEmpty(text), (t) => Redacted.make(t))
    const bool = parseBool

    const dataDir = yield* required("datadir", path)
    const debugLevel = yield* required("debuglevel", (t) => oneOf(t, isDebugLevel, DEBUG_LEVELS))
    const minerListen = yield* required("minerlisten", (t) => parseHostPort(t, netDefaults.minerPort, true))
    const maxConnPerHost = yield* required("maxconnperhost", (t) => parseInteger(t, 1, 1_000_000, "a whole number"))
    const dcrdRpcHost = yield* required("dcrdrpchost", (t) => parseHostPort(t, netDefaults.dcrdRpcPort, false))
    const dcrdRpcCert = yield* required("dcrdrpccert", path)
    const rpcUser = yield* required("rpcuser", nonEmpty, "dcrd's RPC user name is required (dcrd's --rpcuser)")
    const rpcPass = yield* required("rpcpass", secret, "dcrd's RPC password is required (dcrd's --rpcpass)")
    const soloPool = yield* required("solopool", bool)
    const walletRpcHostRaw = rawOf("walletrpchost")
    const walletRpcHost =
      walletRpcHostRaw === undefined && soloPool
        ? undefined
        : yield* required(
            "walletrpchost",
            (t) => parseHostPort(t, netDefaults.walletRpcPort, false),
            `a pool pays through dcrwallet, which has no ${activeNet} network and so no default port; point it at the wallet's JSON-RPC listener`,
          )
    const walletRpcCert = yield* required("walletrpccert", path)
    const walletRpcUser = (yield* optional("walletrpcuser", nonEmpty)) ?? rpcUser
    const walletRpcPass = (yield* optional("walletrpcpass", secret)) ?? rpcPass
    if (sources.walletrpcuser === "unset") sources.walletrpcuser = `rpcuser (${sources.rpcuser})`
    if (sources.walletrpcpass === "unset") sources.walletrpcpass = `rpcpass (${sources.rpcpass})`
    const walletPass = yield* optional("walletpass", secret)
    const walletAccount = yield* required("walletaccount", (t) =>
      // dcrpool took the account's number; dcrwallet's JSON-RPC takes its name, and account 0 is "default".
      /^\d+$/.test(t)
        ? t === "0"
          ? Result.succeed("default")
          : Result.fail(`dcrforge names the account (dcrwallet's JSON-RPC takes names; dcrpool took numbers): give the name of account ${t}, as \`dcrctl --wallet listaccounts\` lists it`)
        : nonEmpty(t),
    )

    const poolFeeAddrs = (yield* optional("poolfeeaddrs", (t) => checkAddresses(t, params))) ?? []
    if (!soloPool && poolFeeAddrs.length === 0) {
      return yield* Result.fail(
        missing("poolfeeaddrs", `in pool mode (solopool=false) the pool fee is paid to these ${activeNet} addresses, ` + "so at least one is required (or run a solo pool with --solopool)"),
      )
    }
    const feeAddrPolicy = yield* required("feeaddrpolicy", (t) => oneOf(t, isFeeAddressPolicy, FEE_ADDRESS_POLICIES))
    const poolFeeBasisPoints = yield* required("poolfee", parsePoolFee)
    const paymentMethod = yield* required("paymentmethod", (t) => oneOf(t, isPaymentMethod, PAYMENT_METHODS))
    const pplnsWindow = yield* required("pplnswindow", parseWindow)
    const lastNPeriodMs = yield* required("lastnperiod", (t) => durationAtLeast(t, MIN_LASTN_PERIOD_MS, "60s"))
    const minPaymentAtoms = yield* required("minpayment", parseDcrOption)
    const ppsReserveLowAtoms = yield* required("ppsreservelow", (t) => (t.startsWith("-") ? Result.map(parseDcrOption(t.slice(1)), (a) => -a) : parseDcrOption(t)))
    const payoutFeeFrom = yield* required("payoutfeefrom", (t) => oneOf(t, isPayoutFeeSource, PAYOUT_FEE_SOURCES))
    const maxGenTimeMs = yield* required("maxgentime", (t) => durationAtLeast(t, MIN_MAX_GEN_TIME_MS, "2s"))
    const guiListen = yield* required("guilisten", (t) => parseHostPort(t, 8080, true))
    const adminPass = yield* optional("adminpass", (t) => {
      // A hash is checked now, so a mangled one fails at start, not at the first login.
      const problem = isPasswordHash(t) ? parsePasswordHash(t) : undefined
      return typeof problem === "string" ? Result.fail(`the hash ${problem}`) : secret(t)
    })
    const guiCert = yield* optional("guicert", path)
    const guiKey = yield* optional("guikey", path)
    if ((guiCert === undefined) !== (guiKey === undefined)) {
      return yield* Result.fail(missing(guiCert === undefined ? "guicert" : "guikey", "HTTPS needs both guicert and guikey (or neither, for plain HTTP)"))
    }
    const trustProxy = yield* required("trustproxy", bool)
    const metrics = yield* required("metrics", bool)
    const designation = yield* required("designation", nonEmpty)
    const postgres = yield* required("postgres", bool)
    const postgresHost = yield* required("postgreshost", (t) =>
      Result.flatMap(nonEmpty(t), (h) =>
        /[\s/]/.test(h)
          ? Result.fail(`"${h}" is not a host name or IP address`)
          : h.split(":").length === 2
            ? Result.fail(`"${h}" has a port: give the host alone and the port in postgresport`)
            : Result.succeed(h),
      ),
    )
    const postgresPort = yield* required("postgresport", (t) => parseInteger(t, 1, 65535, "a port"))
    const postgresUser = yield* required("postgresuser", nonEmpty)
    const postgresPass = yield* optional("postgrespass", secret)
    const postgresDbName = yield* required("postgresdbname", nonEmpty)
    const instance = yield* optional("instance", (t) => (/^[A-Za-z0-9._-]{1,64}$/.test(t) ? Result.succeed(t) : Result.fail("must be 1 to 64 letters, digits, '.', '_' or '-'")))

    // A window set away from its default that the chosen method does not read is a mistake to
    // say, not to ignore (dcrpool's pplns was a time window: lastnperiod=5m with pplns is one).
    // At its default it changes nothing, so the sample config with every line uncommented loads.
    const windowMoved = {
      lastnperiod: lastNPeriodMs !== Result.getOrUndefined(parseDuration(OPTIONS.lastnperiod.default(ctx) ?? "")),
      pplnswindow: Result.match(parseWindow(OPTIONS.pplnswindow.default(ctx) ?? ""), {
        onSuccess: (d) => pplnsWindow.numerator * d.denominator !== d.numerator * pplnsWindow.denominator,
        onFailure: () => true,
      }),
    }
    for (const [option, method] of [
      ["lastnperiod", "pplns-time"],
      ["pplnswindow", "pplns"],
    ] as const) {
      const raw = given(option)
      if (!soloPool && raw !== undefined && windowMoved[option] && paymentMethod !== method) {
        return yield* Result.fail(
          new ConfigError({
            option,
            problem: "invalid-value",
            source: sourceText(raw.source),
            message: `${option}=${raw.value} (${fromText(raw.source)}) sets the window of paymentmethod=${method} only, and the method is ${paymentMethod}: set paymentmethod=${method}${option === "lastnperiod" ? " (dcrpool's pplns)" : ""}, or remove ${option}`,
          }),
        )
      }
    }
    const payoutScheme: PayoutScheme = soloPool
      ? { kind: "solo", atMiningAddress: true }
      : paymentMethod === "pplns"
        ? { kind: "pplns", windowMultiple: pplnsWindow }
        : paymentMethod === "pplns-time"
          ? { kind: "pplns-time", periodMs: lastNPeriodMs }
          : { kind: paymentMethod }

    const config: PoolConfig = {
      activeNet,
      params,
      appData,
      dataDir,
      configFile,
      configFileRead: text !== undefined,
      debugLevel,
      minerListen,
      maxConnPerHost,
      dcrdRpcHost,
      dcrdRpcCert,
      rpcUser,
      rpcPass,
      walletRpcHost,
      walletRpcCert,
      walletRpcUser,
      walletRpcPass,
      walletPass,
      walletAccount,
      soloPool,
      poolFeeAddrs,
      feeAddrPolicy,
      feeAddressesInTurn: feeAddrPolicy === "first" ? poolFeeAddrs.slice(0, 1) : poolFeeAddrs,
      poolFeeBasisPoints,
      paymentMethod,
      pplnsWindow,
      lastNPeriodMs,
      payoutScheme,
      minPaymentAtoms,
      ppsReserveLowAtoms,
      payoutFeeFrom,
      maxGenTimeMs,
      guiListen,
      adminPass,
      guiCert,
      guiKey,
      trustProxy,
      metrics,
      designation,
      postgres,
      postgresHost,
      postgresPort,
      postgresUser,
      postgresPass,
      postgresDbName,
      instance,
      sources,
    }
    return config
  })

/** Comma-separated addresses, each decoded for the active network. */
const checkAddresses = (text: string, params: NetworkParams): Result.Result<ReadonlyArray<string>, string> => {
  const addresses = text
    .split(",")
    .map((a) => a.trim())
    .filter((a) => a !== "")
  for (const [i, address] of addresses.entries()) {
    const decoded = decodeAddress(address, params)
    if (Result.isFailure(decoded)) {
      return Result.fail(`address ${i + 1} of ${addresses.length} is bad: ${decoded.failure.message}`)
    }
  }
  return Result.succeed(addresses)
}

// ---- help ------------------------------------------------------------------------------------------------

/** The options, one line each with its default, for `--help`. */
export const describeOptions = (): string => {
  const short = Object.fromEntries(Object.entries(SHORT_FLAGS).map(([letter, name]) => [name, letter]))
  const left = OPTION_NAMES.map((name) => {
    const arg = OPTIONS[name].arg
    const long = arg === undefined ? `--${name}` : `--${name}=${arg}`
    return short[name] === undefined ? long : `-${short[name]}, ${long}`
  })
  const width = Math.max(...left.map((l) => l.length)) + 2
  const aliases = Object.fromEntries(Object.entries(DCRPOOL_ALIASES).map(([alias, name]) => [name, alias]))
  const lines = OPTION_NAMES.map((name, i) => {
    const spec = OPTIONS[name]
    return `  ${left[i]!.padEnd(width)}${spec.help} (default: ${spec.defaultHelp})${aliases[name] === undefined ? "" : ` (dcrpool: ${aliases[name]})`}`
  })
  return [
    "dcrforge pool options. Each can also be set as DCRFORGE_<NAME> (e.g. DCRFORGE_POOLFEE=0.01) or as",
    "name=value in the config file (INI, as dcrd's: [Application Options], ; and # comments; `pool writeconfig` writes a sample);",
    "a flag wins over the environment, which wins over the file. dcrpool's option names work where they mean the same;",
    "a dcrpool option that differs is refused with what to write instead.",
    ...lines,
    "",
  ].join("\n")
}

// ---- the sample config file ---------------------------------------------------------------------------

/**
 * A commented sample of every option with its default, generated from the same table the
 * parser reads (so it cannot drift): each option's help, then `; name=default`, commented out
 * as dcrd's sample is; uncommented, every line gives back the default. Defaults that depend on
 * the network are written for `net`; `appData` is written as given (`~` kept).
 */
const sampleConfig = (net: NetworkName, appData: string, netGiven: boolean): string => {
  const ctx: DefaultsContext = { net, appData }
  const out = [
    "; dcrforge pool configuration (`./dcrforge pool writeconfig` wrote this sample).",
    ";",
    "; The INI form dcrd, dcrwallet and dcrpool read: options under [Application Options], one",
    "; option a line as name=value, ; and # start comments, a list option (poolfeeaddrs) repeated a line each.",
    "; Each option below is commented out at its default: remove the ; to set it. A command-line",
    "; flag (--name=value) wins over DCRFORGE_<NAME>, which wins over this file.",
    ";",
    `; Not here: appdata and configfile (they locate this file): -A/--appdata, -C/--configfile.`,
    `; Defaults that depend on the network are ${net}'s${netGiven ? "" : " (the default network; `writeconfig --activenet=NET` writes another's)"}.`,
    "",
    "[Application Options]",
    "",
  ]
  for (const name of OPTION_NAMES) {
    const spec = OPTIONS[name]
    if (spec.notInFile === true) continue
    out.push(`; ${spec.help}.`)
    out.push(`; Default: ${spec.defaultHelp}.`)
    if (name === "activenet" && netGiven) out.push(`activenet=${net}`)
    else out.push(`; ${name}=${spec.default(ctx) ?? ""}`)
    out.push("")
  }
  return out.join("\n")
}

/**
 * `pool writeconfig [path]`: the sample for the network `--activenet` names (default simnet) and
 * the file to write: `path`, else -C/--configfile, else the default config file. Only
 * activenet, appdata and configfile are read.
 */
export const writeConfigRequest = (input: ConfigInput): Result.Result<{ readonly path: string; readonly text: string }, ConfigError> =>
  Result.gen(function* () {
    const fallback = configFileIn(expandHome(DEFAULT_APPDATA, input.home))
    const flags = yield* parseArgv(input.argv, fallback)
    for (const [name, raw] of flags) {
      if (name !== "activenet" && name !== "appdata" && name !== "configfile") {
        return yield* Result.fail(
          new ConfigError({
            option: name,
            problem: "bad-argument",
            source: sourceText(raw.source),
            message: `writeconfig writes every option at its default and reads only --activenet, --appdata and -C/--configfile; drop ${sourceText(raw.source)}`,
          }),
        )
      }
    }
    const netText = flags.get("activenet")?.value
    if (netText !== undefined && !isNetwork(netText)) {
      return yield* Result.fail(new ConfigError({ option: "activenet", problem: "invalid-value", source: "--activenet", message: `activenet=${netText}: must be one of ${NETWORK_NAMES.join(", ")}` }))
    }
    const appDataWritten = flags.get("appdata")?.value ?? DEFAULT_APPDATA
    const path = flags.get("configfile")?.value ?? configFileIn(appDataWritten)
    const net: NetworkName = netText ?? "simnet"
    return { path: expandHome(path, input.home), text: sampleConfig(net, appDataWritten, netText !== undefined) }
  })
