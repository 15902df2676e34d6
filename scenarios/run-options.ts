import { join } from "node:path"
import { DEFAULT_DEMO_CHOICES, DEMO_ERAS, DEMO_SCHEMES, type DemoChoices } from "./sim/demo.ts"

// `./dcrforge run`'s command line (scenarios/main.ts), apart from the job so that a test can
// read the options the job would and run the same world in virtual time.

/** dcrwallet's simnet JSON-RPC port: the demo staker's wallet answers where a simnet wallet would. */
const WALLET_RPC_PORT = 19557

interface RunOptions {
  readonly stratum: number
  readonly http: number
  readonly walletrpc: number
  readonly seed: number
  readonly datadir: string
  readonly adminpass: string | undefined
  readonly choices: DemoChoices
}

export const RUN_USAGE = `usage: ./dcrforge run [OPTION VALUE]...

The main job: the production pool on a simulated Decred network, in real time, until Ctrl-C.
Open the web UI it prints (http://127.0.0.1:8080/ by default) and watch the overview.

  --era blake3|blake256|transition
                      the chain's proof of work (default blake3):
                        blake3      today's chain; the BLAKE-256 ASICs are refused at subscribe
                        blake256    the chain before DCP-0011; the ASICs (D9, DR3, DR5, D1, DCR1)
                                    mine and the BLAKE3 miners are refused
                        transition  the ASICs mine while the stakers vote DCP-0011 in (16-block
                                    intervals instead of simnet's 320); at activation, about 40
                                    blocks in, the pool switches to BLAKE3, closes each ASIC's
                                    session with the reason, and the BLAKE3 miners take over
  --scheme pplns|pps|prop|solo
                      how the pool pays (default pplns: the last 2x network difficulty of shares)
  --miners N          scale the emulated fleet to about N miners, keeping its mix (default: the
                      era's fleet of 8 to 11 miners of every model)
  --network simnet|mainnet
                      whose rules the simulated chain keeps (default simnet: one-second blocks;
                      mainnet: five-minute blocks, so little happens in the first minutes)
  --stratum PORT      stratum port (default 5550; 0: any free port)
  --http PORT         web UI, JSON API and metrics (default 8080; 0: any free port)
  --walletrpc PORT    the demo staker's dcrwallet JSON-RPC (default ${WALLET_RPC_PORT}; 0: any free port)
  --seed N            the simulation's seed (default 1)
  --datadir DIR       the pool's store, emptied at each start (default ${join(".cache", "demo")})
  --adminpass PASS    turns the admin page on with this password (default: off)
  --help              this text`

/**
 * The options, "help" for --help, or what is wrong (one line, then the usage). Options are
 * `--name value` or `--name=value`.
 */
export const parseRunArgs = (args: ReadonlyArray<string>): RunOptions | "help" | { readonly error: string } => {
  const o = {
    stratum: 5550,
    http: 8080,
    walletrpc: WALLET_RPC_PORT,
    seed: 1,
    datadir: join(".cache", "demo"),
    adminpass: undefined as string | undefined,
  }
  let choices: DemoChoices = DEFAULT_DEMO_CHOICES
  const fail = (error: string) => ({ error: `${error}\n(./dcrforge run --help lists every option)` })
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!
    if (arg === "--help" || arg === "-h") return "help"
    const eq = arg.indexOf("=")
    const flag = arg.startsWith("--") && eq > 0 ? arg.slice(0, eq) : arg
    const value = arg.startsWith("--") && eq > 0 ? arg.slice(eq + 1) : args[++i]
    if (!flag.startsWith("--")) return fail(`unexpected argument ${flag}: options are --name value`)
    if (value === undefined) return fail(`${flag} needs a value`)
    const n = Number(value)
    switch (flag) {
      case "--stratum":
      case "--http":
      case "--walletrpc":
        if (value === "" || !Number.isInteger(n) || n < 0 || n > 65535) return fail(`${flag} must be a port number (0-65535, 0 for any free one), got ${value}`)
        o[flag === "--stratum" ? "stratum" : flag === "--http" ? "http" : "walletrpc"] = n
        break
      case "--seed":
        if (value === "" || !Number.isSafeInteger(n) || n < 0) return fail(`--seed must be a whole number, got ${value}`)
        o.seed = n
        break
      case "--datadir":
        o.datadir = value
        break
      case "--adminpass":
        o.adminpass = value
        break
      case "--era": {
        const era = DEMO_ERAS.find((e) => e === value)
        if (era === undefined) return fail(`--era must be one of ${DEMO_ERAS.join(", ")}, got ${value}`)
        choices = { ...choices, era }
        break
      }
      case "--scheme": {
        const scheme = DEMO_SCHEMES[value]
        if (scheme === undefined) return fail(`--scheme must be one of ${Object.keys(DEMO_SCHEMES).join(", ")}, got ${value}`)
        choices = { ...choices, scheme }
        break
      }
      case "--miners":
        if (value === "" || !Number.isSafeInteger(n) || n < 1 || n > 10_000) return fail(`--miners must be a whole number from 1 to 10000, got ${value}`)
        choices = { ...choices, miners: n }
        break
      case "--network":
        if (value !== "simnet" && value !== "mainnet") return fail(`--network must be simnet or mainnet, got ${value}`)
        choices = { ...choices, network: value }
        break
      default:
        return fail(`unknown option ${flag}`)
    }
  }
  return { ...o, choices }
}
