/**
 * `./dcrforge explore [--minutes N] [FILTER]`: hunts for property failures on fresh seeds.
 *
 * `./dcrforge test` runs every fast-check property on fixed seeds plus the committed corpus,
 * so that it fails only for real; finding new failures is this command's job. It runs the
 * property test files under vitest with DCRFORGE_EXPLORE=1 (a fresh seed per property, see
 * scripts/fast-check-setup.ts), over and over until N minutes (default 30) have passed, and
 * prints each failure with the command that replays it and the corpus entry that makes
 * `./dcrforge test` replay it from then on; at the end, a summary: minutes, seeds and cases
 * per property, failures. It exits 1 if anything failed.
 *
 * FILTER is part of a test file's path (`core/payout`, `properties.test.ts`) or else a vitest
 * `-t` pattern on test names (`PPLNS`, `maturity`). Files that import fast-check are the
 * candidates; after a file's first round only its tests that ran a property are repeated.
 *
 * The scenario properties (a simulated world each, 5 to 60 s) run in a lane of their own, beside
 * the quick unit properties, so that the quick ones still get thousands of seeds; a quick lane's
 * round repeats its tests (vitest --repeats) to last about a minute rather than paying vitest's
 * start-up per seed. At the deadline (or on Ctrl-C) the rounds under way are stopped; every
 * property that finished by then counts, because the setup file logs each one as it ends.
 * Each round's output goes to .cache/explore/.
 */
import { spawn, type ChildProcess } from "node:child_process"
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync } from "node:fs"
import { join, relative } from "node:path"
import { corpusEntryFor, CORPUS_FILE, decodeExploreLogLine, replayCommand, ROOT, shellQuote, testNamePattern, type PropertyRun, type PropertyStart } from "./property-seeds.ts"

const USAGE = "usage: ./dcrforge explore [--minutes N] [FILTER]"
const OUTPUT_DIR = join(ROOT, ".cache", "explore")
const TEST_FOLDERS = ["core", "pool", "wallet", "emulators", "testkit", "scenarios"]
/** The vitest "system" project's suites (real daemons, a browser): not properties, and not to be run in a loop. */
const SYSTEM_SUITES = ["scenarios/simnet/", "scenarios/web/"]
/** A round that is killed gets this long to stop before it is killed for good. */
const STOP_GRACE_MS = 10_000
/** How long a round should last: long enough to amortise vitest's start-up, short enough to report as it goes. */
const ROUND_TARGET_MS = 60_000
/** Failures of one property printed in full; later ones are counted (each is the same property failing again). */
const PRINTED_FAILURES_PER_PROPERTY = 3

interface Options {
  readonly minutes: number
  readonly filter?: string
}

const parseOptions = (args: ReadonlyArray<string>): Options => {
  let minutes = 30
  let filter: string | undefined
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!
    if (arg === "--help" || arg === "-h") {
      console.log(USAGE)
      process.exit(0)
    } else if (arg === "--minutes" || arg.startsWith("--minutes=")) {
      const text = arg === "--minutes" ? args[++i] : arg.slice("--minutes=".length)
      minutes = Number(text)
      if (text === undefined || !Number.isFinite(minutes) || minutes <= 0) usageError(`--minutes wants a positive number, not "${text ?? ""}"`)
    } else if (arg.startsWith("-")) {
      usageError(`unknown option ${arg}`)
    } else if (filter === undefined) {
      filter = arg
    } else {
      usageError(`one FILTER at most (got "${filter}" and "${arg}")`)
    }
  }
  return filter === undefined ? { minutes } : { minutes, filter }
}

function usageError(message: string): never {
  console.error(`explore: ${message}\n${USAGE}`)
  process.exit(2)
}

/** Test files that use fast-check, relative to the repository. */
const propertyFiles = (): Array<string> => {
  const walk = (dir: string): Array<string> =>
    readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
      const path = join(dir, entry.name)
      if (entry.isDirectory()) return entry.name === "node_modules" ? [] : walk(path)
      return entry.name.endsWith(".test.ts") ? [path] : []
    })
  return TEST_FOLDERS.flatMap((folder) => walk(join(ROOT, folder)))
    .map((path) => relative(ROOT, path))
    .filter((file) => !SYSTEM_SUITES.some((prefix) => file.startsWith(prefix)))
    .filter((file) => /from "(fast-check|@fast-check\/vitest)"/.test(readFileSync(join(ROOT, file), "utf8")))
    .sort()
}

/** One property (a test that ran fast-check), as explore counts it. */
interface PropertyTally {
  readonly file: string
  readonly fullName: string
  seeds: number
  cases: number
  failures: number
}

interface Failure {
  /** The property (or test) that failed: file > full name. */
  readonly what: string
  readonly detail: string
  readonly replay?: string
  readonly corpusEntry?: string
}

/** A group of files explored in a loop of its own. */
interface Lane {
  readonly name: string
  /** After the first round, only the files in which a property ran. */
  files: ReadonlyArray<string>
  rounds: number
  /** vitest --repeats for the next round. */
  repeats: number
  /** When the lane last printed its progress. */
  reportedAt: number
  /** Full names of the lane's tests that ran a property, once a round has shown them; later rounds run only these. */
  properties?: ReadonlyArray<string>
}

const options = parseOptions(process.argv.slice(2))
const started = Date.now()
const deadline = started + options.minutes * 60_000

const candidates = propertyFiles()
const filesMatching = options.filter === undefined ? candidates : candidates.filter((file) => file.includes(options.filter!))
const namePattern = options.filter !== undefined && filesMatching.length === 0 ? options.filter : undefined
if (namePattern !== undefined) {
  try {
    new RegExp(namePattern)
  } catch {
    usageError(`"${namePattern}" matches no property file and is no valid test-name pattern`)
  }
}
const files = namePattern === undefined ? filesMatching : candidates
const lanes: Array<Lane> = [
  { name: "unit", files: files.filter((file) => !file.startsWith("scenarios/")), rounds: 0, repeats: 0, reportedAt: started },
  { name: "scenarios", files: files.filter((file) => file.startsWith("scenarios/")), rounds: 0, repeats: 0, reportedAt: started },
].filter((lane) => lane.files.length > 0)

const tallies = new Map<string, PropertyTally>()
const failures: Array<Failure> = []
const running = new Set<ChildProcess>()
/** Rounds stopped before their end: their unfinished properties are cut off, not failures. */
const stopped = new WeakSet<ChildProcess>()
let interrupted = false
let stoppedAtDeadline = false

const tallyOf = (run: { readonly file: string; readonly fullName: string }) => {
  const key = `${run.file} > ${run.fullName}`
  let tally = tallies.get(key)
  if (tally === undefined) {
    tally = { file: run.file, fullName: run.fullName, seeds: 0, cases: 0, failures: 0 }
    tallies.set(key, tally)
  }
  return tally
}

const corpusText = (run: PropertyStart | PropertyRun) => JSON.stringify(corpusEntryFor(run, new Date()), null, 2).replaceAll("\n", "\n    ")

const report = (failure: Failure) => {
  failures.push(failure)
  const earlier = failures.filter((f) => f.what === failure.what).length
  if (earlier > PRINTED_FAILURES_PER_PROPERTY) return
  if (earlier === PRINTED_FAILURES_PER_PROPERTY) console.log(`\n(further failures of ${failure.what} are counted, not printed)`)
  console.log(`\nFAIL ${failure.what}`)
  console.log(`  ${failure.detail.split("\n").slice(0, 6).join("\n  ")}`)
  if (failure.replay !== undefined) console.log(`  replay: ${failure.replay}`)
  if (failure.corpusEntry !== undefined) console.log(`  corpus entry for ${CORPUS_FILE} (say in "found" what it found):\n    ${failure.corpusEntry}`)
}

interface RoundLog {
  /** Full name to file, of every test that ran a property. */
  readonly ran: Map<string, string>
  /** Full names of tests whose property never finished (reported here, so not again from vitest's report). */
  readonly unfinished: Set<string>
}

/** Reads a round's log of property runs: counts each finished one, reports failures and runs that never finished. */
const readExploreLog = (file: string, roundCompleted: boolean): RoundLog => {
  const ran = new Map<string, string>()
  const unfinished = new Set<string>()
  if (!existsSync(file)) return { ran, unfinished }
  const startedRuns = new Map<string, PropertyStart>()
  for (const line of readFileSync(file, "utf8").split("\n")) {
    if (line.trim() === "") continue
    let entry: PropertyStart | PropertyRun
    try {
      entry = decodeExploreLogLine(line)
    } catch {
      continue // a line cut short by a killed worker
    }
    ran.set(entry.fullName, entry.file)
    if (entry.event === "start") {
      startedRuns.set(entry.id, entry)
      continue
    }
    startedRuns.delete(entry.id)
    const tally = tallyOf(entry)
    tally.seeds++
    tally.cases += entry.runs
    if (!entry.failed) continue
    tally.failures++
    report({
      what: `${entry.file} > ${entry.fullName}`,
      detail: `fast-check seed ${entry.seed}, counterexample path ${entry.counterexamplePath ?? "(none)"}: ${entry.error ?? "failed"}`,
      replay: replayCommand(entry, entry.seed, entry.counterexamplePath),
      corpusEntry: corpusText(entry),
    })
  }
  // A property that started but never ended in a round that ran to its end hung (the test's
  // time limit) or took its worker down: a failure too, and its seed is known.
  if (roundCompleted) {
    for (const start of startedRuns.values()) {
      unfinished.add(start.fullName)
      const tally = tallyOf(start)
      tally.seeds++
      tally.failures++
      report({
        what: `${start.file} > ${start.fullName}`,
        detail: `fast-check seed ${start.seed} started and never finished (a time-out, or the worker died); see the round's output`,
        replay: replayCommand(start, start.seed),
        corpusEntry: corpusText(start),
      })
    }
  }
  return { ran, unfinished }
}

interface VitestReport {
  readonly testResults: ReadonlyArray<{
    readonly name: string
    readonly message?: string
    readonly assertionResults: ReadonlyArray<{
      readonly ancestorTitles: ReadonlyArray<string>
      readonly title: string
      readonly status: string
      readonly failureMessages: ReadonlyArray<string>
      readonly meta?: { readonly fastCheck?: ReadonlyArray<{ readonly failed: boolean }> }
    }>
  }>
}

/** Failures the property log cannot show: tests that failed outside a property, files that did not load. */
const readVitestReport = (file: string, output: string, reported: ReadonlySet<string>) => {
  if (!existsSync(file)) return
  let parsed: VitestReport
  try {
    parsed = JSON.parse(readFileSync(file, "utf8")) as VitestReport
  } catch {
    return
  }
  for (const result of parsed.testResults) {
    const testFile = relative(ROOT, result.name)
    if (result.assertionResults.length === 0 && result.message !== undefined && result.message !== "") {
      report({ what: `${testFile} (did not load)`, detail: `${result.message}\n(output: ${relative(ROOT, output)})` })
    }
    for (const test of result.assertionResults) {
      const fullName = [...test.ancestorTitles, test.title].join(" > ")
      if (test.status !== "failed" || (test.meta?.fastCheck ?? []).some((run) => run.failed) || reported.has(fullName)) continue
      report({
        what: `${testFile} > ${fullName} (outside a property)`,
        detail: `${test.failureMessages[0] ?? "failed"}\n(output: ${relative(ROOT, output)})`,
        replay: `./dcrforge test ${shellQuote(testFile)} -t ${shellQuote(testNamePattern({ fullName }))}`,
      })
    }
  }
}

/** Runs vitest once over the lane's files; resolves when it exits or has been stopped. */
const runRound = (lane: Lane, workers: number): Promise<boolean> => {
  lane.rounds++
  const base = join(OUTPUT_DIR, `${lane.name}-${lane.rounds}`)
  const pattern = lane.properties === undefined ? namePattern : lane.properties.map((fullName) => testNamePattern({ fullName })).join("|")
  const args = [
    join(ROOT, "node_modules", "vitest", "vitest.mjs"),
    "run",
    "--project=unit",
    `--maxWorkers=${workers}`,
    `--repeats=${lane.repeats}`,
    "--reporter=default",
    "--reporter=json",
    `--outputFile.json=${base}.json`,
    ...(pattern === undefined ? [] : ["-t", pattern]),
    ...lane.files,
  ]
  const env: NodeJS.ProcessEnv = { ...process.env, DCRFORGE_EXPLORE: "1", DCRFORGE_EXPLORE_LOG: `${base}.jsonl`, FORCE_COLOR: "0" }
  delete env["DCRFORGE_PROPERTY_SEED"]
  delete env["DCRFORGE_PROPERTY_PATH"]
  const output = openSync(`${base}.log`, "w")
  // Its own process group, so that stopping it stops its workers too.
  const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ["ignore", output, output], detached: true })
  closeSync(output)
  running.add(child)
  const untilDeadline = setTimeout(
    () => {
      stoppedAtDeadline = true
      stop(child)
    },
    Math.max(0, deadline - Date.now()),
  )
  const roundStart = Date.now()
  return new Promise((resolve) => {
    child.on("exit", () => {
      clearTimeout(untilDeadline)
      running.delete(child)
      const completed = !stopped.has(child)
      const { ran, unfinished } = readExploreLog(`${base}.jsonl`, completed)
      if (completed) readVitestReport(`${base}.json`, `${base}.log`, unfinished)
      if (completed && lane.properties !== undefined) {
        // The round ran each property repeats + 1 times: aim the next at ROUND_TARGET_MS.
        const perRepeat = (Date.now() - roundStart) / (lane.repeats + 1)
        lane.repeats = Math.max(0, Math.min(200, Math.floor(ROUND_TARGET_MS / perRepeat) - 1))
      }
      if (completed && lane.properties === undefined) {
        lane.properties = [...ran.keys()]
        lane.files = lane.files.filter((file) => [...ran.values()].includes(file))
      }
      resolve(completed)
    })
  })
}

const stop = (child: ChildProcess) => {
  stopped.add(child)
  if (child.pid === undefined || child.exitCode !== null) return
  const signal = (name: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, name)
    } catch {
      // already gone
    }
  }
  signal("SIGTERM")
  setTimeout(() => signal("SIGKILL"), STOP_GRACE_MS).unref()
}

const explore = async (lane: Lane, workers: number) => {
  while (!interrupted && Date.now() < deadline) {
    const completed = await runRound(lane, workers)
    if (!completed) break
    const tested = lane.properties ?? []
    if (tested.length === 0) {
      console.log(`explore: no property ran in the ${lane.name} files${namePattern === undefined ? "" : ` for "${namePattern}"`}; that lane stops`)
      break
    }
    if (Date.now() - lane.reportedAt < ROUND_TARGET_MS && lane.rounds > 1) continue
    lane.reportedAt = Date.now()
    const mine = [...tallies.values()].filter((t) => lane.files.includes(t.file))
    const seeds = mine.reduce((s, t) => s + t.seeds, 0)
    const failed = mine.reduce((s, t) => s + t.failures, 0)
    const minutes = ((Date.now() - started) / 60_000).toFixed(1)
    console.log(`explore: ${minutes} min, ${lane.name}: ${lane.rounds} round${lane.rounds === 1 ? "" : "s"}, ${tested.length} properties, ${seeds} seeds, ${failed} failed`)
  }
}

const summary = () => {
  const minutes = (Date.now() - started) / 60_000
  const rows = [...tallies.values()].sort((a, b) => a.file.localeCompare(b.file) || a.fullName.localeCompare(b.fullName))
  console.log(
    `\nexplore summary: ${minutes.toFixed(1)} minutes${interrupted ? " (interrupted)" : stoppedAtDeadline ? " (rounds under way at the deadline were stopped)" : ""}, ${lanes.map((l) => `${l.rounds} ${l.name} round${l.rounds === 1 ? "" : "s"}`).join(", ")}`,
  )
  console.log("  seeds   cases  failed  property")
  for (const t of rows) console.log(`${String(t.seeds).padStart(7)} ${String(t.cases).padStart(7)} ${String(t.failures).padStart(7)}  ${t.file} > ${t.fullName}`)
  const seeds = rows.reduce((s, t) => s + t.seeds, 0)
  console.log(`${rows.length} properties, ${seeds} seeds, ${failures.length} failure${failures.length === 1 ? "" : "s"}${failures.length === 0 ? "" : ":"}`)
  const failedWhats = [...new Set(failures.map((f) => f.what))]
  for (const what of failedWhats) {
    const mine = failures.filter((f) => f.what === what)
    console.log(`  ${what}: ${mine.length} failure${mine.length === 1 ? "" : "s"}`)
    for (const f of mine.slice(0, PRINTED_FAILURES_PER_PROPERTY)) if (f.replay !== undefined) console.log(`    replay: ${f.replay}`)
  }
  console.log(`(each round's output: ${relative(ROOT, OUTPUT_DIR)}/)`)
}

if (lanes.length === 0) usageError(`no property test file matches "${options.filter ?? ""}"`)
rmSync(OUTPUT_DIR, { recursive: true, force: true })
mkdirSync(OUTPUT_DIR, { recursive: true })
process.on("SIGINT", () => {
  console.log("\nexplore: interrupted; stopping the rounds under way")
  interrupted = true
  for (const child of running) stop(child)
})
console.log(
  `explore: fresh seeds for ${options.minutes} minute${options.minutes === 1 ? "" : "s"} over ${files.length} file${files.length === 1 ? "" : "s"}${namePattern === undefined ? "" : `, tests matching /${namePattern}/`}: ${lanes.map((l) => `${l.name} (${l.files.length})`).join(", ")}`,
)
// Two cores: one worker per lane when both run, both for a lane alone.
await Promise.all(lanes.map((lane) => explore(lane, lanes.length === 1 ? 2 : 1)))
summary()
process.exitCode = failures.length > 0 ? 1 : 0
