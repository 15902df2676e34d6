import { Data, Result } from "effect"
import { join } from "node:path"
import { MAINNET, type NetworkParams, SIMNET, TESTNET3 } from "../../core/chain/params.ts"

/** A flag, config value or command line the CLI cannot use; the message names it and the fix. */
export class StakeCliError extends Data.TaggedError("StakeCliError")<{ readonly message: string }> {}

/**
 * The options of `./dcrforge stake`, named as dcrctl names them (its config.go): `-C/--configfile`,
 * `-u/--rpcuser`, `-P/--rpcpass`, `-s/--rpcserver`, `-w/--walletrpcserver`, `-c/--rpccert`,
 * `--notls`, `--testnet`, `--simnet`, `--wallet` (accepted: this CLI always talks to the wallet).
 * Then dcrforge's own (`--sim`, `--atoms`, `--dryrun`, `--form`, `--purchaseaccount`,
 * `--pollseconds`, `--vsp.pubkey` to check a voting service's answers as dcrwallet does) and the
 * auto-buyer's, in the guide's and today's dcrwallet names.
 */
const VALUE_OPTIONS = new Set([
  "configfile",
  "rpcuser",
  "rpcpass",
  "rpcserver",
  "walletrpcserver",
  "rpccert",
  "form",
  "purchaseaccount",
  "pollseconds",
  "balancetomaintain",
  "ticketbuyer.balancetomaintainabsolute",
  "ticketmaxprice",
  "ticketbuyer.limit",
  "ticketbuyer.expiry",
  "enablestakemining",
  "vsp.pubkey",
])
const SWITCHES = new Set(["notls", "testnet", "simnet", "wallet", "sim", "atoms", "dryrun", "enablestakemining", "help"])
const SHORT: Record<string, string> = { C: "configfile", u: "rpcuser", P: "rpcpass", s: "rpcserver", w: "walletrpcserver", c: "rpccert", h: "help" }

export interface StakeCli {
  readonly network: NetworkParams
  /** Options as given (flags over the config file), by long name. */
  readonly values: ReadonlyMap<string, string>
  readonly sim: boolean
  readonly atoms: boolean
  readonly dryrun: boolean
  readonly command: string | undefined
  readonly args: ReadonlyArray<string>
}

/** Where a connection goes: the wallet's JSON-RPC URL and what to trust and send. */
interface WalletConnection {
  readonly url: string
  readonly user: string
  readonly password: string
  /** Path of the certificate to trust; undefined over plain HTTP (--notls, --sim). */
  readonly certificatePath: string | undefined
}

/** dcrctl.conf's INI form: `[Application Options]` then `name=value` lines; `;` and `#` comment. */
const parseConfigFile = (text: string, path: string): Result.Result<Map<string, string>, StakeCliError> => {
  const values = new Map<string, string>()
  for (const [index, raw] of text.split(/\r?\n/).entries()) {
    const line = raw.trim()
    if (line === "" || line.startsWith(";") || line.startsWith("#") || /^\[.*\]$/.test(line)) continue
    const m = /^([\w.]+)\s*=\s*(.*)$/.exec(line)
    const name = m?.[1]
    if (m === null || name === undefined) return Result.fail(new StakeCliError({ message: `${path}:${index + 1}: "${line}" is not name=value` }))
    if (!VALUE_OPTIONS.has(name) && !SWITCHES.has(name)) {
      return Result.fail(new StakeCliError({ message: `${path}:${index + 1}: unknown option ${name}; see ./dcrforge stake --help for the names` }))
    }
    values.set(name, (m[2] ?? "").trim())
  }
  return Result.succeed(values)
}

const isOn = (value: string | undefined) => value !== undefined && value !== "0" && value.toLowerCase() !== "false"

/**
 * Reads the command line and the config file (`-C`, default dcrctl's `~/.dcrctl/dcrctl.conf`,
 * read only when it exists): flags win over the file. `readText` answers undefined for a file
 * that does not exist.
 */
export const parseStakeCli = (argv: ReadonlyArray<string>, home: string, readText: (path: string) => string | undefined): Result.Result<StakeCli, StakeCliError> => {
  const flags = new Map<string, string>()
  const positional: Array<string> = []
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    // Options may follow the command too (`autobuy --dryrun`); after it, only `--name` of a known
    // option is one, so that arguments such as a negative amount reach the command to be refused.
    const knownLong = arg.startsWith("--") && (VALUE_OPTIONS.has(splitOnce(arg.slice(2))[0]) || SWITCHES.has(splitOnce(arg.slice(2))[0]))
    if ((positional.length > 0 && !knownLong) || !arg.startsWith("-") || arg === "-" || /^-\d/.test(arg)) {
      positional.push(arg)
      continue
    }
    const long = arg.startsWith("--") ? arg.slice(2) : SHORT[arg.slice(1, 2)]
    const [name, inline] = long === undefined ? [undefined, undefined] : arg.startsWith("--") ? splitOnce(long) : [long, arg.length > 2 ? arg.slice(2) : undefined]
    if (name === undefined || (!VALUE_OPTIONS.has(name) && !SWITCHES.has(name))) {
      return Result.fail(new StakeCliError({ message: `unknown option ${arg}; see ./dcrforge stake --help` }))
    }
    if (inline !== undefined) flags.set(name, inline)
    else if (SWITCHES.has(name)) flags.set(name, "1")
    else {
      const next = argv[i + 1]
      if (next === undefined) return Result.fail(new StakeCliError({ message: `option --${name} needs a value` }))
      flags.set(name, next)
      i++
    }
  }
  const configPath = flags.get("configfile") ?? join(home, ".dcrctl", "dcrctl.conf")
  const configText = readText(configPath)
  if (configText === undefined && flags.has("configfile")) {
    return Result.fail(new StakeCliError({ message: `config file ${configPath} (-C/--configfile) does not exist; give the path of your dcrctl.conf` }))
  }
  const fromFile = configText === undefined ? Result.succeed(new Map<string, string>()) : parseConfigFile(configText, configPath)
  if (Result.isFailure(fromFile)) return Result.fail(fromFile.failure)
  const values = new Map([...fromFile.success, ...flags])
  const testnet = isOn(values.get("testnet"))
  const simnet = isOn(values.get("simnet"))
  const sim = isOn(values.get("sim"))
  if (testnet && simnet) return Result.fail(new StakeCliError({ message: "--testnet and --simnet can't be used together: choose one of the two" }))
  return Result.succeed({
    // The simulated network of ./dcrforge run is a simnet.
    network: testnet ? TESTNET3 : simnet || sim ? SIMNET : MAINNET,
    values,
    sim,
    atoms: isOn(values.get("atoms")),
    dryrun: isOn(values.get("dryrun")),
    command: positional[0],
    args: positional.slice(1),
  })
}

const splitOnce = (text: string): [string, string | undefined] => {
  const at = text.indexOf("=")
  return at < 0 ? [text, undefined] : [text.slice(0, at), text.slice(at + 1)]
}

/** The file `./dcrforge run` writes with its simulated wallet's JSON-RPC endpoint. */
const SIM_ENDPOINT_FILE = join(".cache", "demo", "wallet-rpc.json")

/**
 * Where to connect. `--sim`: the endpoint `./dcrforge run` wrote (plain HTTP on localhost).
 * Otherwise dcrctl's rules for a wallet: `--walletrpcserver`, else `--rpcserver`, else localhost,
 * with the network's dcrwallet port when none is given; TLS trusting `--rpccert` (default
 * dcrwallet's `~/.dcrwallet/rpc.cert`) unless `--notls`.
 */
export const walletConnection = (cli: StakeCli, home: string, readText: (path: string) => string | undefined): Result.Result<WalletConnection, StakeCliError> => {
  if (cli.sim) {
    const text = readText(SIM_ENDPOINT_FILE)
    if (text === undefined) {
      return Result.fail(new StakeCliError({ message: `no simulated wallet: ${SIM_ENDPOINT_FILE} is missing; start ./dcrforge run first (in another terminal), then run this again` }))
    }
    const parsed = parseSimEndpoint(text)
    if (parsed === undefined) return Result.fail(new StakeCliError({ message: `${SIM_ENDPOINT_FILE} is not {"url","user","password"}; restart ./dcrforge run to rewrite it` }))
    return Result.succeed({ ...parsed, certificatePath: undefined })
  }
  const user = cli.values.get("rpcuser")
  const password = cli.values.get("rpcpass")
  if (user === undefined || password === undefined) {
    return Result.fail(
      new StakeCliError({ message: "give dcrwallet's RPC user and password: --rpcuser and --rpcpass (or rpcuser=/rpcpass= in dcrctl.conf), or --sim for ./dcrforge run's simulated wallet" }),
    )
  }
  const server = cli.values.get("walletrpcserver") ?? cli.values.get("rpcserver") ?? "localhost"
  const port = cli.network.ports.walletRpc
  const hostPort = /:\d+$/.test(server) ? server : `${server}:${port}`
  const tls = !isOn(cli.values.get("notls"))
  return Result.succeed({
    url: `${tls ? "https" : "http"}://${hostPort}`,
    user,
    password,
    certificatePath: tls ? (cli.values.get("rpccert") ?? join(home, ".dcrwallet", "rpc.cert")) : undefined,
  })
}

const parseSimEndpoint = (text: string): { url: string; user: string; password: string } | undefined => {
  try {
    const v: unknown = JSON.parse(text)
    if (typeof v !== "object" || v === null) return undefined
    const { url, user, password } = v as Record<string, unknown>
    return typeof url === "string" && typeof user === "string" && typeof password === "string" ? { url, user, password } : undefined
  } catch {
    return undefined
  }
}
