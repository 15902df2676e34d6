/**
 * The `vsp` command: `./dcrforge vsp <run|backup|restore|migrate|status> [options]`, the voting
 * service (vspd API v3) that stakers' dcrwallets use with `--vsp.url` and `--vsp.pubkey`.
 *
 * Options come from flags, DCRFORGE_VSP_<NAME> environment variables and a config file (a vspd.conf
 * works where its options mean ours; see vsp-config.ts); `--help` lists them.
 */
import { NodeRuntime } from "@effect/platform-node"
import { Console, DateTime, Effect, Layer, References } from "effect"
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from "node:fs"
import { homedir } from "node:os"
import { dirname, join } from "node:path"
import { atomsToDcr } from "../../core/chain/amounts.ts"
import { serverPublicKey } from "../../core/vsp/server-key.ts"
import { migrateVsp, VspStore, vspStoreLayer } from "../../wallet/vsp/store.ts"
import { backupVsp, restoreVsp } from "../store/backup.ts"
import { CliError, configFrom, usage, vspOptions } from "./vsp-config.ts"
import { loadOrCreateServerKey, startVotingService, vspStoreLayerFor, type VotingServiceConfig } from "./vsp-service.ts"

const COMMANDS = ["run", "backup", "restore", "migrate", "status"] as const

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
    const options = vspOptions(rest, process.env)
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
