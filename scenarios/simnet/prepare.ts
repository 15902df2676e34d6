/**
 * Builds what the real-simnet suites run, ahead of the tests (CI calls this before
 * `./dcrforge test`, so the first build is not inside a test's time):
 *
 *   ./dcrforge node scenarios/simnet/prepare.ts            dcrd, dcrwallet, dcrctl, gencerts, dcrpool-miner
 *   ./dcrforge node scenarios/simnet/prepare.ts --docker   also the dcrforge/simnet-dcrd image
 *
 * Both are no-ops when already built for the pinned versions.
 */
import { Effect } from "effect"
import { ensureDecredBinaries } from "./binaries.ts"
import { dockerAnswers, DockerUnavailable, ensureSimnetImage } from "./node.ts"

const program = Effect.gen(function* () {
  const started = Date.now()
  const binaries = yield* ensureDecredBinaries
  console.log(`simnet binaries: ${binaries.dir} (${((Date.now() - started) / 1000).toFixed(1)} s)`)
  if (process.argv.includes("--docker")) {
    if (!(yield* dockerAnswers)) return yield* Effect.fail(new DockerUnavailable({ reason: "the engine did not answer" }))
    const image = yield* ensureSimnetImage(binaries)
    console.log(`simnet image: ${image} (${((Date.now() - started) / 1000).toFixed(1)} s)`)
  }
})

Effect.runPromise(program).catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error))
  process.exit(1)
})
