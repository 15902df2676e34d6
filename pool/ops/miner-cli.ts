/**
 * The `miner` command: `./dcrforge miner --pool HOST:PORT --user ADDRESS.WORKER [options]`
 * (installed as bin/dcrforge-miner). A CPU test miner for checking a pool end to end; see
 * pool/ops/test-miner.ts. Exit status: 0 no share refused but as stale, 1 some refused, 2 it could not
 * mine (pool unreachable, subscribe or authorize refused, connection closed, bad options).
 */
import { NodeRuntime } from "@effect/platform-node"
import { Console, Data, Effect, Result } from "effect"
import { decodeAddress } from "../../core/chain/address.ts"
import { NETWORKS, type NetworkName, type NetworkParams } from "../../core/chain/params.ts"
import { profileOf, type MinerModel } from "../../core/stratum/profiles.ts"
import { runTestMiner } from "./test-miner.ts"

class MinerCliError extends Data.TaggedError("MinerCliError")<{ readonly message: string }> {}

/** The BLAKE3 miners it can speak as; the pool sets each one's starting difficulty by its model. */
const PROFILES: ReadonlyArray<MinerModel> = ["cpuminer", "gominer"]

const USAGE = `usage: miner --pool HOST:PORT --user USER [options]

Mines real shares with this machine's CPU against a Decred stratum pool and prints every answer:
for checking a new pool end to end, not for earning (a CPU finds nothing at mainnet's difficulty).

  --pool=HOST:PORT        the pool's stratum address (stratum+tcp://HOST:PORT works too)
  --user=USER             what miners authorize as: <payout address>.<worker> on a public pool,
                          anything on a solo pool
  --pass=PASS             the password field (pools ignore it) (default: x)
  --profile=MODEL         speak as ${PROFILES.join(" or ")} (default: cpuminer, which the pool starts at
                          a CPU's difficulty; gominer starts at a GPU's and waits for vardiff)
  --shares=N              stop after N answered shares (default: 0, mine until Ctrl-C)
  --network=NET           mainnet, testnet3, simnet or regnet: whose proof-of-work limit is
                          difficulty 1 (default: the network of USER's address; required otherwise)

A share refused as stale (a new block came first) is normal right after a block; any other
refusal is printed as REJECTED with the pool's reason.

Exit status: 0 no share refused but as stale, 1 some REJECTED, 2 it could not mine.`

/** `--name=value` or `--name value` options; the bare word `help` or `-h` asks for the usage. */
const parseOptions = (argv: ReadonlyArray<string>): Result.Result<Map<string, string>, MinerCliError> => {
  const options = new Map<string, string>()
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!
    const m = /^--([a-z]+)(?:=(.*))?$/.exec(a)
    if (m === null) return Result.fail(new MinerCliError({ message: `unexpected argument ${JSON.stringify(a)}; options look like --pool=HOST:PORT (see --help)` }))
    const value = m[2] ?? argv[++i]
    if (value === undefined) return Result.fail(new MinerCliError({ message: `--${m[1]} needs a value` }))
    options.set(m[1]!, value)
  }
  return Result.succeed(options)
}

/** The network whose address `user` starts with (the part before the first dot). */
const networkOfUser = (user: string): NetworkParams | undefined => {
  const address = user.split(".")[0]!
  return Object.values(NETWORKS).find((params) => Result.isSuccess(decodeAddress(address, params)))
}

const main = (argv: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    if (argv.includes("--help") || argv.includes("-h")) return yield* Console.log(USAGE).pipe(Effect.as(0))
    const parsed = parseOptions(argv)
    if (Result.isFailure(parsed)) return yield* parsed.failure
    const options = parsed.success
    for (const name of options.keys())
      if (!["pool", "user", "pass", "profile", "shares", "network"].includes(name)) return yield* new MinerCliError({ message: `unknown option --${name} (see --help)` })
    const pool = options.get("pool")
    const user = options.get("user")
    if (pool === undefined || user === undefined) return yield* new MinerCliError({ message: "--pool=HOST:PORT and --user=ADDRESS.WORKER are required (see --help)" })
    const hostPort = /^(?:stratum\+tcp:\/\/)?\[?([^\]]*?)\]?:(\d+)\/?$/.exec(pool)
    if (hostPort === null || Number(hostPort[2]) < 1 || Number(hostPort[2]) > 65535) return yield* new MinerCliError({ message: `--pool=${pool}: expected HOST:PORT, e.g. 127.0.0.1:5550` })
    const model = options.get("profile") ?? "cpuminer"
    if (!(PROFILES as ReadonlyArray<string>).includes(model)) return yield* new MinerCliError({ message: `--profile=${model}: one of ${PROFILES.join(", ")}` })
    const shares = Number(options.get("shares") ?? "0")
    if (!Number.isInteger(shares) || shares < 0) return yield* new MinerCliError({ message: `--shares=${options.get("shares")}: a whole number, 0 for no limit` })
    const networkName = options.get("network")
    let network: NetworkParams | undefined
    if (networkName !== undefined) {
      network = NETWORKS[(networkName === "testnet" ? "testnet3" : networkName) as NetworkName]
      if (network === undefined) return yield* new MinerCliError({ message: `--network=${networkName}: one of ${Object.keys(NETWORKS).join(", ")}` })
    } else {
      network = networkOfUser(user)
      if (network === undefined)
        return yield* new MinerCliError({ message: `--user=${user} does not start with a Decred address, so say which network the pool is on: --network=mainnet|testnet3|simnet|regnet` })
    }
    const summary = yield* runTestMiner(
      { host: hostPort[1]!, port: Number(hostPort[2]), user, password: options.get("pass") ?? "x", profile: profileOf(model as MinerModel), network, shares },
      (line) => Console.log(`miner: ${line}`),
    )
    const perSecond = summary.seconds > 0 ? summary.hashes / summary.seconds : 0
    const rate = perSecond >= 1000 ? `${Math.round(perSecond / 1000)} kH/s` : `${Math.round(perSecond)} H/s`
    yield* Console.log(`miner: ${summary.accepted} accepted, ${summary.stale} stale, ${summary.rejected} rejected; ${summary.hashes} hashes in ${summary.seconds.toFixed(1)} s (${rate})`)
    return summary.rejected === 0 ? 0 : 1
  })

if (import.meta.main) {
  NodeRuntime.runMain(
    main(process.argv.slice(2)).pipe(
      Effect.tap((status) => Effect.sync(() => void (process.exitCode = status))),
      Effect.catch((e: unknown) =>
        Effect.sync(() => {
          console.error(`miner: ${e instanceof Error ? e.message : String(e)}`)
          process.exitCode = 2
        }),
      ),
    ),
  )
}
