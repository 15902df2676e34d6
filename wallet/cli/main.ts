/**
 * `./dcrforge stake [options] COMMAND [ARGS...]`: a staker's commands against dcrwallet's
 * JSON-RPC, a real wallet's or the simulated one of `./dcrforge run` (`--sim`). `--help` lists them.
 */
import { NodeRuntime } from "@effect/platform-node"
import { Console, Effect, Redacted, Result } from "effect"
import { readFileSync } from "node:fs"
import { homedir } from "node:os"
import { jsonRpcClient } from "../json-rpc.ts"
import { runStakeCommand, StakeCommandFailed } from "./commands.ts"
import { parseStakeCli, StakeCliError, walletConnection } from "./options.ts"

const HELP = `usage: ./dcrforge stake [options] COMMAND [ARGS...]

Commands (dcrctl's names and argument order; JSON out, DCR as decimals, --atoms for integer atoms):
  purchaseticket fromaccount [minconf] [numtickets] [expiry] [comment]        today's form
  purchaseticket fromaccount spendlimit [minconf] [ticketaddress] [numtickets]
                 [pooladdress] [poolfees] [expiry] [comment]                  the 2016 form
  getstakeinfo                  the wallet's stake info, every field
  tickets                       every ticket of the wallet: status, price, fee, heights, returns,
                                and for one registered with a voting service, the service and its
                                fee status (asked signed by the ticket's commitment address: unlock
                                the wallet; --vsp.pubkey KEY checks the service's answers)
  estimatestakediff [numtickets] the next window's price: min, expected, max, blocks left
  stakestats                    price now and next, pool size, chance to vote, ticket reward %
  autobuy                       the auto-buyer, one line per block (--dryrun: buys nothing)

Connection (dcrctl's options; also read from -C/--configfile, default ~/.dcrctl/dcrctl.conf):
  --sim                         the simulated wallet of ./dcrforge run
  -s, --rpcserver HOST[:PORT]   (or -w/--walletrpcserver) default localhost and the network's dcrwallet port
  -u, --rpcuser USER   -P, --rpcpass PASSWORD
  -c, --rpccert FILE            dcrwallet's certificate (default ~/.dcrwallet/rpc.cert); --notls for plain HTTP
  --testnet | --simnet          the network (default mainnet)

Auto-buyer (the guide's names and dcrwallet's):
  --enablestakemining           buy (without it, only --dryrun runs)
  --balancetomaintain DCR       (or --ticketbuyer.balancetomaintainabsolute) never spend below this
  --ticketmaxprice DCR          buy nothing while the price is above this
  --ticketbuyer.limit N         tickets per block at most (default 1)
  --ticketbuyer.expiry N        blocks a purchase may wait to be mined
  --purchaseaccount NAME        (default "default")   --pollseconds N (default 1)
`

const readText = (path: string): string | undefined => {
  try {
    return readFileSync(path, "utf8")
  } catch {
    return undefined
  }
}

const main = (argv: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const home = homedir()
    const parsed = parseStakeCli(argv, home, readText)
    if (Result.isFailure(parsed)) return yield* Effect.fail(parsed.failure)
    const cli = parsed.success
    if (cli.command === undefined || cli.values.has("help")) return yield* Console.log(HELP)
    const connection = walletConnection(cli, home, readText)
    if (Result.isFailure(connection)) return yield* Effect.fail(connection.failure)
    const { url, user, password, certificatePath } = connection.success
    const certificate = certificatePath === undefined ? undefined : readText(certificatePath)
    if (certificatePath !== undefined && certificate === undefined) {
      return yield* Effect.fail(new StakeCliError({ message: `no certificate at ${certificatePath}: give dcrwallet's rpc.cert with --rpccert (or --notls if the wallet runs without TLS)` }))
    }
    const rpc = yield* jsonRpcClient({ url, user, password: Redacted.make(password), certificate, requestTimeoutMillis: 30_000 }, { server: "dcrwallet" })
    yield* runStakeCommand(
      cli,
      rpc,
      (text) => Console.log(text),
      (text) => Console.error(text),
    )
  }).pipe(Effect.scoped)

if (import.meta.main) {
  NodeRuntime.runMain(
    main(process.argv.slice(2)).pipe(
      Effect.catch((e: StakeCliError | StakeCommandFailed) =>
        Effect.sync(() => {
          console.error(`stake: ${e.message}`)
          process.exitCode = 2
        }),
      ),
    ),
  )
}
