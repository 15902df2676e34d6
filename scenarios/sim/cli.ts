/**
 * The scenario runner (`./dcrforge scenario ...`):
 *
 *   scenario list
 *   scenario run NAME [--seed N] [--blocks B] [--hours H] [--miners M] [--network mainnet|simnet] [--log FILE]
 *
 * Runs the production pool in a seeded, virtual-time world (see world.ts), prints a progress
 * line while it runs and a summary at the end, with the log hash and the command that replays
 * the run exactly.
 */
import { Effect } from "effect"
import { createWriteStream } from "node:fs"
import { performance } from "node:perf_hooks"
import { replayCommand, runScenario, SCENARIOS, scenarioByName, type ScenarioParams, type ScenarioSummary } from "./catalogue.ts"
import { withWorld } from "./world.ts"

const usage = "usage: scenario list | scenario run NAME [--seed N] [--blocks B] [--hours H] [--miners M] [--network mainnet|simnet] [--log FILE]"

const parseRunArgs = (args: ReadonlyArray<string>): { readonly params: ScenarioParams; readonly logFile: string | undefined } | string => {
  let seed = Math.floor(Date.now() % 1_000_000_007)
  let blocks: number | undefined
  let hours: number | undefined
  let miners: number | undefined
  let network: ScenarioParams["network"]
  let logFile: string | undefined
  for (let i = 0; i < args.length; i += 2) {
    const flag = args[i]
    const value = args[i + 1]
    if (value === undefined) return `${flag} needs a value`
    const number = Number(value)
    const whole = Number.isSafeInteger(number) && number >= 0
    switch (flag) {
      case "--seed":
        if (!whole) return `--seed must be a whole number, got ${value}`
        seed = number
        break
      case "--blocks":
        if (!whole) return `--blocks must be a whole number, got ${value}`
        blocks = number
        break
      case "--hours":
        if (!(number > 0)) return `--hours must be a positive number, got ${value}`
        hours = number
        break
      case "--miners":
        if (!whole || number === 0) return `--miners must be a whole number above 0, got ${value}`
        miners = number
        break
      case "--network":
        if (value !== "mainnet" && value !== "simnet") return `--network must be mainnet or simnet, got ${value}`
        network = value
        break
      case "--log":
        logFile = value
        break
      default:
        return `unknown option ${flag}\n${usage}`
    }
  }
  return { params: { seed, blocks, hours, miners, network }, logFile }
}

const duration = (millis: number): string => {
  const s = Math.floor(millis / 1000)
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m${String(s % 60).padStart(2, "0")}s`
}

const formatSummary = (name: string, s: ScenarioSummary, wallMillis: number, setupMillis: number): string =>
  [
    `scenario ${name} seed ${s.seed}`,
    `  chain     height ${s.height}, ${s.blocksConnected} blocks in the run, ${s.poolBlocks} found by the pool`,
    `  shares    ${s.sharesAccepted} accepted, ${s.sharesRejected} rejected, ${s.sharesStored} stored in ${s.shareCommits} commits`,
    `  payouts   ${s.payouts} transactions, ${s.paidAtoms} atoms`,
    `  tickets   ${s.ticketsVoted} voted, ${s.ticketsMissed} missed (network)`,
    ...(s.agenda === undefined ? [] : [`  agenda    ${s.agenda}`]),
    `  time      ${duration(s.simulatedMillis)} simulated in ${(wallMillis / 1000).toFixed(1)} s wall: ${Math.round(s.simulatedMillis / Math.max(1, wallMillis))}x (${(setupMillis / 1000).toFixed(1)} s of it setting up; ${Math.round(s.simulatedMillis / Math.max(1, wallMillis - setupMillis))}x after)`,
    `  log       ${s.logLines} events, hash ${s.logHash}`,
  ].join("\n")

const main = async (argv: ReadonlyArray<string>) => {
  const [command, name, ...rest] = argv
  if (command === "list") {
    for (const s of SCENARIOS) console.log(`${s.name.padEnd(16)} ${s.description}`)
    return 0
  }
  if (command !== "run" || name === undefined) {
    console.error(usage)
    return 2
  }
  const scenario = scenarioByName(name)
  if (scenario === undefined) {
    console.error(`unknown scenario "${name}"; \`scenario list\` shows them: ${SCENARIOS.map((s) => s.name).join(", ")}`)
    return 2
  }
  const parsed = parseRunArgs(rest)
  if (typeof parsed === "string") {
    console.error(parsed)
    return 2
  }
  const { params, logFile } = parsed
  const sink = logFile === undefined ? undefined : createWriteStream(logFile)
  const options = scenario.world(params)
  const limits = { hours: params.hours ?? (params.blocks !== undefined ? 0 : scenario.hours), blocks: params.blocks ?? (params.hours !== undefined ? 0 : scenario.blocks) }
  const started = performance.now()
  let lastProgress = 0
  let setupMillis = 0
  const interactive = process.stderr.isTTY === true
  const summary = await Effect.runPromise(
    withWorld({ ...options, logSink: sink === undefined ? undefined : (line) => void sink.write(`${line}\n`) }, (world) =>
      Effect.suspend(() => {
        setupMillis = performance.now() - started
        return runScenario(world, limits, (elapsed) => {
          const wall = performance.now()
          if (wall - lastProgress < 1000) return
          lastProgress = wall
          const line = `${duration(elapsed)} simulated, height ${world.dcrd.height()}, pool blocks ${world.dcrd.counts().poolBlocks}, shares ${world.pool.accounting.counters.sharesWritten}, ${Math.round(elapsed / (wall - started))}x`
          process.stderr.write(interactive ? `\r${line}   ` : `${line}\n`)
        })
      }),
    ),
  ).catch((e: unknown) => {
    console.error(`\nscenario ${name} failed: ${e instanceof Error ? e.message : String(e)}`)
    console.error(`replay: ${replayCommand(name, params)}`)
    return undefined
  })
  sink?.end()
  if (interactive) process.stderr.write("\n")
  if (summary === undefined) return 1
  console.log(formatSummary(name, summary, performance.now() - started, setupMillis))
  console.log(`  replay    ${replayCommand(name, params)}`)
  return 0
}

if (import.meta.main) main(process.argv.slice(2)).then((code) => process.exit(code))
