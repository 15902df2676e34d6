/**
 * README command 1 (`./dcrforge run`): the main job.
 *
 * The production pool on the embedded default: a simulated Decred network (the emulated dcrd
 * with the stake rules, on simnet's rules: BLAKE3, one-second blocks, coinbases spendable after
 * 16), the simulated payout wallet, the embedded store on disk, a fleet of emulated miners of
 * every model connecting over real TCP on localhost, and the pool's HTTP API. Runs in real time
 * until stopped (Ctrl-C). Legacy BLAKE-256 ASICs are in the fleet to show how the pool refuses
 * them on a BLAKE3 chain; anyone's own BLAKE3 miner can connect to the stratum port too.
 *
 *   ./dcrforge run [--stratum PORT] [--http PORT] [--seed N] [--datadir DIR] [--adminpass PASS]
 */
import { NodeRuntime } from "@effect/platform-node"
import { Console, Context, Effect, Layer, Redacted, References, Schedule } from "effect"
import { rmSync } from "node:fs"
import { join } from "node:path"
import { SIMNET } from "../core/chain/params.ts"
import { StratumListener } from "../core/services/listener.ts"
import { tcpDial } from "../emulators/network.ts"
import { serveAdminHttp } from "../pool/http/server.ts"
import { tcpListenerLayer } from "../pool/stratum/tcp-listener.ts"
import { makeSimStakeView } from "./sim/staking-view.ts"
import { buildWorld, type WorldOptions } from "./sim/world.ts"

const usage = "usage: ./dcrforge run [--stratum PORT] [--http PORT] [--seed N] [--datadir DIR] [--adminpass PASS]"

const parseArgs = (args: ReadonlyArray<string>) => {
  const o: { stratum: number; http: number; seed: number; datadir: string; adminpass: string | undefined } = {
    stratum: 5550,
    http: 8080,
    seed: 1,
    datadir: join(".cache", "demo"),
    adminpass: undefined,
  }
  for (let i = 0; i < args.length; i += 2) {
    const [flag, value] = [args[i], args[i + 1]]
    if (value === undefined) return `${flag ?? ""} needs a value\n${usage}`
    const n = Number(value)
    switch (flag) {
      case "--stratum":
      case "--http":
        if (!Number.isInteger(n) || n < 0 || n > 65535) return `${flag} must be a port number (0-65535), got ${value}`
        o[flag === "--stratum" ? "stratum" : "http"] = n
        break
      case "--seed":
        if (!Number.isSafeInteger(n) || n < 0) return `--seed must be a whole number, got ${value}`
        o.seed = n
        break
      case "--datadir":
        o.datadir = value
        break
      case "--adminpass":
        o.adminpass = value
        break
      default:
        return `unknown option ${flag}\n${usage}`
    }
  }
  return o
}

const options = (seed: number, dataDir: string): WorldOptions => ({
  seed,
  base: SIMNET,
  blake3: "forced",
  bootstrapHeight: SIMNET.stakeValidationHeight + 8,
  // A gominer (5 GH/s) does a couple of real hashes a second here: shares cost next to nothing.
  hashScale: 2e9,
  networkHashrate: 2e10,
  fleet: [
    { model: "gominer", count: 4 },
    { model: "nicehash", count: 1, hashrate: 1e10 },
    { model: "cpuminer", count: 1, hashrate: 2e9 },
    { model: "innosilicon-d9", count: 1 },
    { model: "antminer-dr3", count: 1 },
    { model: "antminer-dr5", count: 1 },
    { model: "whatsminer-d1", count: 1 },
    { model: "obelisk-dcr1", count: 1 },
  ],
  accounts: 3,
  scheme: { kind: "pplns", windowMultiple: { numerator: 2n, denominator: 1n } },
  feeBasisPoints: 100,
  vardiffTargetSeconds: 5,
  dataDir,
  shareCommitLingerMillis: 0,
})

const main = (args: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const parsed = parseArgs(args)
    if (typeof parsed === "string") return yield* Effect.fail(parsed)
    // The simulated chain starts from genesis each run: so does its pool's database.
    rmSync(parsed.datadir, { recursive: true, force: true })
    const listener = tcpListenerLayer({ host: "127.0.0.1", port: parsed.stratum })
    const listenerContext = yield* Layer.build(listener)
    const port = Context.get(listenerContext, StratumListener).port
    const world = yield* buildWorld(options(parsed.seed, parsed.datadir), Layer.succeedContext(listenerContext), tcpDial("127.0.0.1", port))
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
    }).pipe(Effect.provideContext(world.services))
    yield* Console.log(
      [
        `dcrforge pool on a simulated Decred network (simnet rules, BLAKE3), seed ${parsed.seed}, store in ${parsed.datadir}`,
        `  stratum   stratum+tcp://127.0.0.1:${port}  (username: a simnet address, then .worker)`,
        `  web UI    http://127.0.0.1:${http.port}/  (connect, account and admin pages${parsed.adminpass === undefined ? "; --adminpass PASS turns the admin page on" : ""})`,
        `  API       http://127.0.0.1:${http.port}/api/pool  /api/blocks  /api/accounts  /api/payouts  (all: /api/openapi.json)`,
        `  metrics   http://127.0.0.1:${http.port}/metrics  (Prometheus)`,
        `  miners    ${world.miners.length} emulated: ${[...new Set(world.miners.map((m) => m.model))].join(", ")} (the BLAKE-256 ASICs are refused, as on today's mainnet)`,
        "  Ctrl-C stops it.",
      ].join("\n"),
    )
    const status = Effect.gen(function* () {
      const c = world.dcrd.counts()
      const accepted = world.miners.reduce((s, m) => s + m.stats.accepted, 0)
      let paid = 0n
      for (const v of world.wallet.paidTo().values()) paid += v
      yield* Console.log(
        `height ${world.dcrd.height()}, pool blocks ${c.poolBlocks} (orphaned ${c.orphanedPoolBlocks}), miners connected ${world.pool.live.counters.connected}, shares ${accepted}, payouts ${world.wallet.published.length} (${paid} atoms)`,
      )
    })
    yield* Effect.repeat(status, Schedule.spaced("10 seconds"))
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
