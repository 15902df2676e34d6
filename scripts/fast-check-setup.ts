/**
 * vitest setup file (both projects in vitest.config.ts): chooses the seed of every fast-check
 * property in every test file, so that no test file has to.
 *
 * - In `./dcrforge test` each test runs on each of FIXED_SEEDS, then once per corpus entry
 *   naming it (vitest `repeats`, one repeat per extra seed), replaying that entry's seed and path.
 * - Under `DCRFORGE_EXPLORE=1` every property gets a fresh seed, drawn here (rather than by
 *   fast-check) so that it is known, and logged, before the first case runs.
 * - Under `DCRFORGE_PROPERTY_SEED` (and `_PATH`) every property runs that seed (that one case).
 *
 * The seed reaches fast-check through `fc.configureGlobal`, which `fc.assert`, `fc.check` and
 * `fc.sample` read on each call, so a property that names its own `seed` keeps it. (@fast-check/vitest's
 * `test.prop` reads the global seed once, when the test is defined: it gets the fixed or fresh
 * seed but not corpus replays, so properties here use `fc.assert` inside `it`.)
 *
 * A global fast-check plugin prints each run's seed (and the replay line on failure), records it
 * in the test's `meta.fastCheck` (vitest's JSON report carries it) and, for explore, appends its
 * start and end to `DCRFORGE_EXPLORE_LOG`.
 */
import { appendFileSync } from "node:fs"
import { randomInt } from "node:crypto"
import { relative } from "node:path"
import fc from "fast-check"
import { beforeAll, beforeEach, TestRunner, type RunnerTask, type RunnerTestCase } from "vitest"
import { CORPUS_FILE, corpusEntriesFor, loadCorpus, replayCommand, ROOT, seedModeOf, type PropertyRun, type PropertyStart, type TestIdentity } from "./property-seeds.ts"

declare module "vitest" {
  interface TaskMeta {
    /** Every fast-check run of the test, in order (see scripts/fast-check-setup.ts). */
    fastCheck?: Array<PropertyRun>
  }
}

/** What one repeat of a test runs its properties on. */
type SeedPlan =
  | { readonly source: "fixed"; readonly seed: number }
  | { readonly source: "corpus"; readonly seed: number; readonly path?: string; readonly found: string }
  | { readonly source: "explore"; readonly seed: number }
  | { readonly source: "replay"; readonly seed: number; readonly path?: string }

const mode = seedModeOf(process.env)
const corpus = mode.kind === "fixed" ? loadCorpus() : []
const exploreLog = process.env["DCRFORGE_EXPLORE_LOG"]

/** A 32-bit seed, as fast-check draws its own. */
const freshSeed = () => randomInt(-(2 ** 31), 2 ** 31)

const identityOf = (test: RunnerTestCase): TestIdentity => ({
  file: relative(ROOT, test.file.filepath),
  name: test.name,
  fullName: test.fullTestName,
})

const plansFor = (test: TestIdentity): ReadonlyArray<SeedPlan> => {
  switch (mode.kind) {
    case "explore":
      return [{ source: "explore", seed: freshSeed() }]
    case "replay":
      return [{ source: "replay", seed: mode.seed, ...(mode.path === undefined ? {} : { path: mode.path }) }]
    case "fixed":
      return [
        ...mode.seeds.map((seed): SeedPlan => ({ source: "fixed", seed })),
        ...corpusEntriesFor(corpus, test).map((e): SeedPlan => ({ source: "corpus", seed: e.seed, found: e.found, ...(e.path === undefined ? {} : { path: e.path }) })),
      ]
  }
}

/**
 * The plan in force, in one object shared by every copy of this module in the process (a
 * worker may load the setup file once per test file while fast-check, an external package,
 * is loaded once), so the single installed plugin always sees the current test's plan.
 */
interface SharedState {
  plan: SeedPlan
  pluginInstalled: boolean
  /** fast-check runs started in this process, to pair each start with its end in the explore log. */
  started: number
}
const stateKey = Symbol.for("dcrforge.fast-check-seeds")
const globals = globalThis as typeof globalThis & { [stateKey]?: SharedState }
const state: SharedState = (globals[stateKey] ??= { plan: plansFor({ file: "", name: "", fullName: "" })[0]!, pluginInstalled: false, started: 0 })

/** `path` is left out of fast-check's global parameter type but read like the rest; a replay needs it. */
const configure = (plan: SeedPlan) => {
  state.plan = plan
  const parameters: fc.GlobalParameters & { path?: string } = { seed: plan.seed, ...("path" in plan && plan.path !== undefined ? { path: plan.path } : {}) }
  fc.configureGlobal(parameters)
}

// Properties sampled while the file is collected get the first plan too.
configure(state.plan)

const testsIn = (task: RunnerTask): Array<RunnerTestCase> => (task.type === "test" ? [task] : task.type === "suite" ? task.tasks.flatMap(testsIn) : [])

// One repeat per extra plan; a test that repeats anyway (--repeats, or its own options) runs every plan each time.
beforeAll(({}, suite) => {
  if (mode.kind !== "fixed") return
  const tests = suite.tasks.flatMap(testsIn)
  for (const test of tests) {
    const plans = plansFor(identityOf(test)).length
    if (plans > 1) test.repeats = ((test.repeats ?? 0) + 1) * plans - 1
  }
  // An entry for this file that names no test in it (a renamed test) would silently stop checking what it found.
  const identities = tests.map(identityOf)
  const file = relative(ROOT, suite.file.filepath)
  const orphans = corpus.filter((e) => e.file === file && !identities.some((t) => corpusEntriesFor([e], t).length > 0))
  if (orphans.length > 0) {
    throw new Error(`${CORPUS_FILE} has entries for ${file} that name no test in it (renamed?): ${orphans.map((e) => `"${e.property}" (seed ${e.seed})`).join(", ")}`)
  }
})

beforeEach(({ task }) => {
  const plans = plansFor(identityOf(task))
  configure(plans[(task.result?.repeatCount ?? 0) % plans.length]!)
})

const describeRun = (run: PropertyRun, plan: SeedPlan) => {
  const source = plan.source === "corpus" ? `corpus: ${plan.found}` : plan.source
  const seed = `fast-check seed ${run.seed}${run.path === undefined ? "" : ` path ${run.path}`} (${source})`
  return `${seed}, ${run.runs} run${run.runs === 1 ? "" : "s"}${run.failed ? `, FAILED at path ${run.counterexamplePath ?? "(none)"}` : ""}`
}

const writeExploreLog = (line: PropertyStart | PropertyRun) => {
  if (exploreLog !== undefined && exploreLog !== "") appendFileSync(exploreLog, `${JSON.stringify(line)}\n`)
}

/**
 * Records one fast-check run: its seed is logged before the first case (a property that hangs
 * or kills the worker still leaves it), its outcome after the last. Counts the cases the
 * predicate really ran and, when a path names one case (a corpus entry or an environment
 * replay), runs just that case: fast-check would go on to the cases after it, which for a
 * scenario property is another world of 5 to 60 seconds that nobody asked for.
 */
const seedRecorder: fc.Plugin<unknown> = () => {
  const test = TestRunner.getCurrentTest<RunnerTestCase | undefined>()
  const plan = state.plan
  const path = "path" in plan ? plan.path : undefined
  // Each property in a test gets its own fresh seed when exploring.
  if (plan.source === "explore") configure({ source: "explore", seed: freshSeed() })
  if (test === undefined) return {} // checked outside any test (while collecting): nothing to attach it to
  const start: PropertyStart = {
    event: "start",
    id: `${process.pid}-${++state.started}`,
    ...identityOf(test),
    source: plan.source,
    seed: plan.seed,
    ...(path === undefined ? {} : { path }),
  }
  writeExploreLog(start)
  let runs = 0
  let isAsync = false
  return {
    decorateRun: (nestedRun) => (value) => {
      // A skipped case passes, in the same (a)synchrony as the property.
      if (path !== undefined && runs > 0) return isAsync ? Promise.resolve(null) : null
      runs++
      const outcome = nestedRun(value)
      isAsync = outcome instanceof Promise
      return outcome
    },
    onAllRunsComplete: (details) => {
      const error = !details.failed ? undefined : details.errorInstance instanceof Error ? details.errorInstance.message : (fc.defaultReportMessage(details) ?? "failed")
      const run: PropertyRun = {
        ...start,
        event: "end",
        seed: details.seed,
        runs,
        failed: details.failed,
        ...(details.counterexamplePath === null ? {} : { counterexamplePath: details.counterexamplePath }),
        ...(error === undefined ? {} : { error: error.slice(0, 4000) }),
      }
      ;(test.meta.fastCheck ??= []).push(run)
      writeExploreLog(run)
      console.log(describeRun(run, plan))
      if (run.failed) console.error(`replay: ${replayCommand(run, run.seed, run.counterexamplePath)}`)
    },
  }
}

if (!state.pluginInstalled) {
  fc.installGlobalPlugin(seedRecorder)
  state.pluginInstalled = true
}
