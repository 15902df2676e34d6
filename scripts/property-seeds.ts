/**
 * Which seeds the fast-check properties run on. Shared by the vitest setup file
 * (`scripts/fast-check-setup.ts`, which applies it to every property in every test file),
 * `./dcrforge explore` (`scripts/explore.ts`) and the scenario properties' replay line.
 *
 * `./dcrforge test` (and so CI) runs every property on the fixed seeds below, then once more on
 * each corpus entry for it, so a test run fails only when the code changed, never by the luck
 * of a fresh seed. Fresh seeds are for `./dcrforge explore`, which hunts for new failures and
 * prints, for each, the corpus entry that makes `./dcrforge test` replay it from then on.
 *
 * The environment picks the mode:
 * - nothing set: the fixed seeds, then the corpus;
 * - `DCRFORGE_EXPLORE=1`: a fresh seed for every property (what explore sets);
 * - `DCRFORGE_PROPERTY_SEED=N` (and optionally `DCRFORGE_PROPERTY_PATH=P`): that seed, and with
 *   a path just the one case it names, for every property that runs (pick one with `-t`).
 * `DCRFORGE_EXPLORE_LOG=FILE` makes each property run append one JSON line to FILE (explore reads them).
 */
import { readFileSync } from "node:fs"
import { resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { Schema } from "effect"

export const ROOT = resolve(fileURLToPath(import.meta.url), "..", "..")

/**
 * The seeds every property runs on in `./dcrforge test`. Any constants do; changing them
 * re-rolls what CI checks, so do it on purpose (and run the properties) or not at all. The
 * first is the mainnet genesis block's timestamp, easy to recognise in a log.
 */
const FIXED_SEEDS: ReadonlyArray<number> = [1_454_954_400]

export const CORPUS_FILE = "scenarios/corpus/seeds.json"

/** One case a property failed on, kept so that every test run replays it. */
const CorpusEntry = Schema.Struct({
  /** The test's name as written in `it(...)`, or its full name ("describe > test") where the name alone is ambiguous. */
  property: Schema.NonEmptyString,
  /** The test file, relative to the repository; when given, only that file's test of that name replays it. */
  file: Schema.optionalKey(Schema.NonEmptyString),
  /** fast-check's seed. */
  seed: Schema.Int,
  /** fast-check's counterexample path: with it, just the case that failed runs; without, the whole seed. */
  path: Schema.optionalKey(Schema.String),
  /** For scenario properties, the simulated world the case drew (information only: seed and path replay it). */
  world: Schema.optionalKey(Schema.Struct({ seed: Schema.Int, network: Schema.optionalKey(Schema.String) })),
  /** One line on what it found. */
  found: Schema.NonEmptyString,
  /** When it was found, YYYY-MM-DD. */
  date: Schema.String.check(Schema.isPattern(/^\d{4}-\d{2}-\d{2}$/)),
})
type CorpusEntry = typeof CorpusEntry.Type

const decodeCorpus = Schema.decodeUnknownSync(Schema.fromJsonString(Schema.Array(CorpusEntry)), { errors: "all" })

/** The committed corpus; a malformed file stops the run with what is wrong rather than silently replaying nothing. */
export const loadCorpus = (file: string = resolve(ROOT, CORPUS_FILE)): ReadonlyArray<CorpusEntry> => {
  try {
    return decodeCorpus(readFileSync(file, "utf8"))
  } catch (cause) {
    throw new Error(`${CORPUS_FILE} is not a valid corpus: ${cause instanceof Error ? cause.message : String(cause)}`)
  }
}

/** Names a test the way corpus entries and replays do. */
export interface TestIdentity {
  /** Relative to the repository. */
  readonly file: string
  /** As written in `it(...)`. */
  readonly name: string
  /** Describe blocks and name, joined by " > " (vitest's `fullTestName`). */
  readonly fullName: string
}

export const corpusEntriesFor = (corpus: ReadonlyArray<CorpusEntry>, test: TestIdentity): ReadonlyArray<CorpusEntry> =>
  corpus.filter((e) => (e.property === test.name || e.property === test.fullName) && (e.file === undefined || e.file === test.file))

/** How this process picks fast-check seeds. */
type SeedMode = { readonly kind: "fixed"; readonly seeds: ReadonlyArray<number> } | { readonly kind: "explore" } | { readonly kind: "replay"; readonly seed: number; readonly path?: string }

const flagSet = (value: string | undefined) => value !== undefined && value !== "" && value !== "0" && value !== "false"

export const seedModeOf = (env: NodeJS.ProcessEnv): SeedMode => {
  const seedText = env["DCRFORGE_PROPERTY_SEED"]
  if (seedText !== undefined && seedText !== "") {
    const seed = Number(seedText)
    if (!Number.isSafeInteger(seed)) throw new Error(`DCRFORGE_PROPERTY_SEED must be an integer, not "${seedText}"`)
    const path = env["DCRFORGE_PROPERTY_PATH"]
    return path === undefined || path === "" ? { kind: "replay", seed } : { kind: "replay", seed, path }
  }
  if (flagSet(env["DCRFORGE_EXPLORE"])) return { kind: "explore" }
  return { kind: "fixed", seeds: FIXED_SEEDS }
}

/** Quotes a word for bash, so a replay line pastes as it is whatever the test's name holds. */
export const shellQuote = (word: string) => (/^[\w./:=@%+-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`)

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")

/** A `-t` pattern that selects exactly this test (vitest matches it against the full name). */
export const testNamePattern = (test: Pick<TestIdentity, "fullName">) => `^${escapeRegExp(test.fullName)}$`

/** The command that runs this one test on this seed (and path). */
export const replayCommand = (test: Pick<TestIdentity, "file" | "fullName">, seed: number, path?: string) =>
  [
    `DCRFORGE_PROPERTY_SEED=${seed}`,
    ...(path === undefined || path === "" ? [] : [`DCRFORGE_PROPERTY_PATH=${shellQuote(path)}`]),
    `./dcrforge test ${shellQuote(test.file)} -t ${shellQuote(testNamePattern(test))}`,
  ].join(" ")

/** Which property ran, on what, and why that seed: the fixed list, a corpus entry, a fresh draw, or the environment's replay. */
const RunFields = {
  /** Pairs a start with its end, unique within the process. */
  id: Schema.String,
  file: Schema.String,
  name: Schema.String,
  fullName: Schema.String,
  source: Schema.Literals(["fixed", "corpus", "explore", "replay"]),
  seed: Schema.Int,
  path: Schema.optionalKey(Schema.String),
}

/** Written before the first case runs, so that a property that hangs or kills its worker still leaves its seed. */
export const PropertyStart = Schema.Struct({ event: Schema.Literal("start"), ...RunFields })
export type PropertyStart = typeof PropertyStart.Type

/** What the setup file records for each fast-check run: the test's `meta.fastCheck`, and a line in `DCRFORGE_EXPLORE_LOG`. */
export const PropertyRun = Schema.Struct({
  event: Schema.Literal("end"),
  ...RunFields,
  /** Cases the predicate ran on (shrinking included). */
  runs: Schema.Int,
  failed: Schema.Boolean,
  counterexamplePath: Schema.optionalKey(Schema.String),
  /** The failure, as fast-check reports it (cut short). */
  error: Schema.optionalKey(Schema.String),
})
export type PropertyRun = typeof PropertyRun.Type

export const decodeExploreLogLine = Schema.decodeUnknownSync(Schema.fromJsonString(Schema.Union([PropertyStart, PropertyRun])))

/** The entry to paste into the corpus for a failure (`found` is for a person to write). */
export const corpusEntryFor = (run: PropertyStart | PropertyRun, date: Date): CorpusEntry => {
  const failure = run.event === "end" ? run : undefined
  const worldSeed = /world seed (\d+)/.exec(failure?.error ?? "")?.[1]
  const path = failure === undefined ? run.path : failure.counterexamplePath
  return {
    property: run.fullName,
    file: run.file,
    seed: run.seed,
    ...(path === undefined ? {} : { path }),
    ...(worldSeed === undefined ? {} : { world: { seed: Number(worldSeed) } }),
    found: "TODO: one line on what it found",
    date: date.toISOString().slice(0, 10),
  }
}
