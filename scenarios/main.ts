/**
 * README command 1 (`./dcrforge run`): the main job.
 *
 * The production pool on the embedded default: a simulated Decred network (the emulated dcrd
 * with the stake rules, on simnet's rules: BLAKE3, one-second blocks, coinbases spendable after
 * 16), the simulated payout wallet, the embedded store on disk, a fleet of emulated miners of
 * every model connecting over real TCP on localhost, and the pool's HTTP API. Runs in real time
 * until stopped (Ctrl-C). Legacy BLAKE-256 ASICs are in the fleet to show how the pool refuses
 * them on a BLAKE3 chain; anyone's own BLAKE3 miner can connect to the stratum port too.
 * `--era blake256` runs the chain before DCP-0011 (the ASICs mine), `--era transition` one that
 * votes it in during the run (run-options.ts lists every option; `--help` prints them).
 * Stakers buy and vote (scenarios/sim/demo.ts); the demo staker's wallet answers dcrwallet's
 * JSON-RPC on the wallet RPC port, its address and credentials written to
 * `<datadir>/wallet-rpc.json` for `./dcrforge stake --sim`.
 *
 *   ./dcrforge run [--era blake3|blake256|transition] [--scheme pplns|pps|prop|solo] [--miners N] [--network simnet|mainnet]
 *                  [--stratum PORT] [--http PORT] [--walletrpc PORT] [--seed N] [--datadir DIR] [--adminpass PASS] [--help]
 */
import { NodeRuntime } from "@effect/platform-node"
import { Console, Context, Effect, Layer, Redacted, References, Schedule } from "effect"
import { randomBytes } from "node:crypto"
import { mkdirSync, rmSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { StratumListener } from "../core/services/listener.ts"
import { serveJsonRpc } from "../emulators/json-rpc-server.ts"
import { tcpDial } from "../emulators/network.ts"
import { serveAdminHttp } from "../pool/http/server.ts"
import { tcpListenerLayer } from "../pool/stratum/tcp-listener.ts"
import { parseRunArgs, RUN_USAGE } from "./run-options.ts"
import { demoWorldOptions, startDemoStaker } from "./sim/demo.ts"
import { makeSimStakeView } from "./sim/staking-view.ts"
import { buildWorld } from "./sim/world.ts"

/** The demo wallet's RPC user; its password is drawn at each start. */
const WALLET_RPC_USER = "dcrforge"

const ERA_BANNERS = {
  blake3: "BLAKE3 (today's chain)",
  blake256: "BLAKE-256 (the chain before DCP-0011)",
  transition: "BLAKE-256 until the stakers vote DCP-0011 (BLAKE3) in, about 40 blocks in",
} as const

const MINER_NOTES = {
  blake3: "the BLAKE-256 ASICs are refused, as on today's mainnet",
  blake256: "the ASICs mine; the BLAKE3 miners are refused",
  transition: "the ASICs mine until BLAKE3 activates, are closed then, and the BLAKE3 miners take over",
} as const

const main = (args: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const parsed = parseRunArgs(args)
    if (parsed === "help") return yield* Console.log(RUN_USAGE)
    if ("error" in parsed) return yield* Effect.fail(parsed.error)
    const { choices } = parsed
    const networkName = choices.network
    // The simulated chain starts from genesis each run: so does its pool's database.
    rmSync(parsed.datadir, { recursive: true, force: true })
    const listener = tcpListenerLayer({ host: "127.0.0.1", port: parsed.stratum })
    const listenerContext = yield* Layer.build(listener)
    const port = Context.get(listenerContext, StratumListener).port
    const world = yield* buildWorld(demoWorldOptions(parsed.seed, parsed.datadir, choices), Layer.succeedContext(listenerContext), tcpDial("127.0.0.1", port))
    // Before the web server, so that what it shows of staking can name the demo staker.
    const staker = yield* startDemoStaker(world)
    const http = yield* serveAdminHttp({
      host: "127.0.0.1",
      port: parsed.http,
      adminPassword: parsed.adminpass === undefined ? undefined : Redacted.make(parsed.adminpass),
      live: world.pool.live,
      stakeView: yield* makeSimStakeView(world.dcrd),
      metrics: world.pool.metrics.registry,
      designation: "dcrforge demo pool",
      stratumPort: port,
      history: { intervalMillis: 5_000, capacity: 720 },
      agendaProgress: Effect.sync(() => world.dcrd.agendaVote()),
    }).pipe(Effect.provideContext(world.services))
    const walletRpc = { user: WALLET_RPC_USER, password: randomBytes(12).toString("hex") }
    const { port: walletRpcPort } = yield* serveJsonRpc({ host: "127.0.0.1", port: parsed.walletrpc, ...walletRpc, handle: staker.handler })
    // What `./dcrforge stake --sim` reads to reach the demo wallet; gone again when the job stops.
    const walletRpcFile = join(parsed.datadir, "wallet-rpc.json")
    yield* Effect.acquireRelease(
      Effect.sync(() => {
        mkdirSync(parsed.datadir, { recursive: true })
        writeFileSync(walletRpcFile, `${JSON.stringify({ url: `http://127.0.0.1:${walletRpcPort}`, ...walletRpc, network: networkName })}\n`, { mode: 0o600 })
      }),
      () => Effect.sync(() => rmSync(walletRpcFile, { force: true })),
    )
    yield* Console.log(
      [
        `dcrforge pool on a simulated Decred network (${networkName} rules, ${ERA_BANNERS[choices.era]}), ${choices.scheme.kind}, seed ${parsed.seed}, store in ${parsed.datadir}`,
        `  stratum   stratum+tcp://127.0.0.1:${port}  (username: a ${networkName} address, then .worker)`,
        `  web UI    http://127.0.0.1:${http.port}/  (connect, account and admin pages${parsed.adminpass === undefined ? "; --adminpass PASS turns the admin page on" : ""})`,
        `  API       http://127.0.0.1:${http.port}/api/pool  /api/blocks  /api/accounts  /api/payouts  (all: /api/openapi.json)`,
        `  metrics   http://127.0.0.1:${http.port}/metrics  (Prometheus)`,
        `  wallet    http://127.0.0.1:${walletRpcPort}  (dcrwallet JSON-RPC of the demo staker ${staker.wallet.owner}; user ${walletRpc.user}, password ${walletRpc.password}; also in ${walletRpcFile})`,
        `  stakers   the demo staker on the auto-buyer, three solo stakers, one offline at times (its tickets are missed and revoked)`,
        `  miners    ${world.miners.length} emulated: ${[...new Set(world.miners.map((m) => m.model))].join(", ")} (${MINER_NOTES[choices.era]})`,
        ...(choices.era === "transition" ? [`  vote      the overview shows the blake3pow vote; ./dcrforge run --help lists every option`] : []),
        "  Ctrl-C stops it.",
      ].join("\n"),
    )
    const demoTickets = () => {
      const counts = new Map<string, number>()
      for (const t of staker.wallet.tickets()) counts.set(t.status, (counts.get(t.status) ?? 0) + 1)
      const spendable = staker.wallet.balance().spendable / 100_000_000n
      return `${[...counts].map(([status, n]) => `${n} ${status}`).join(", ") || "no tickets"}, ${spendable} DCR spendable`
    }
    const status = Effect.gen(function* () {
      const c = world.dcrd.counts()
      const accepted = world.miners.reduce((s, m) => s + m.stats.accepted, 0)
      let paid = 0n
      for (const v of world.wallet.paidTo().values()) paid += v
      const vote = world.dcrd.agendaVote()
      const voteText =
        vote === undefined
          ? ""
          : `, ${vote.agenda} ${vote.state} (${vote.state === "defined" ? `voting opens at height ${vote.interval.last + 1}` : vote.state === "started" ? `${vote.yes} yes, ${vote.no} no of quorum ${vote.quorum} this interval` : `BLAKE3 from height ${vote.activationHeight}`})`
      yield* Console.log(
        `height ${world.dcrd.height()}${voteText}, pool blocks ${c.poolBlocks} (orphaned ${c.orphanedPoolBlocks}), miners connected ${world.pool.live.counters.connected}, shares ${accepted}, payouts ${world.wallet.published.length} (${paid} atoms), demo staker: ${demoTickets()}`,
      )
    })
    yield* Effect.repeat(status, Schedule.spaced("10 seconds")).pipe(Effect.forkScoped)
    // The vote's turns, as they happen (only a transition's chain holds one).
    let voteState: string | undefined
    const announceVote = Effect.suspend(() => {
      const vote = world.dcrd.agendaVote()
      if (vote === undefined || vote.state === voteState) return Effect.void
      voteState = vote.state
      // The state holds for the whole interval: it turned at the interval's first block.
      const at = vote.interval.first
      switch (vote.state) {
        case "started":
          return Console.log(`agenda ${vote.agenda}: voting opened at height ${at} (intervals of ${vote.interval.last - vote.interval.first + 1} blocks, quorum ${vote.quorum}, 3/4 yes to lock in)`)
        case "lockedin":
          return Console.log(`agenda ${vote.agenda}: locked in at height ${at}; BLAKE3 from height ${vote.activationHeight}`)
        case "active":
          return Console.log(`agenda ${vote.agenda}: active from height ${vote.activationHeight}: the pool mines BLAKE3 now and closed the ASICs' sessions`)
        default:
          return Effect.void
      }
    })
    yield* Effect.repeat(announceVote, Schedule.spaced("1 second"))
    return yield* Effect.never
  }).pipe(Effect.scoped, Effect.provideService(References.MinimumLogLevel, "Warn"))

NodeRuntime.runMain(
  main(process.argv.slice(2)).pipe(
    Effect.catch((e) =>
      Effect.andThen(
        Console.error(typeof e === "string" ? e : e.message),
        Effect.sync(() => process.exit(typeof e === "string" ? 2 : 1)),
      ),
    ),
  ),
)
