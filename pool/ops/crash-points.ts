import { Context, Effect, Layer } from "effect"

/**
 * Named steps of share persistence, the payout pipeline and the long-running tasks, where the
 * crash-safety tests kill the pool and the fault tests inject a defect. In production nothing
 * happens at them; the crash layer, chosen from the environment of a real child process, sends
 * SIGKILL to itself at the chosen step, so the test exercises exactly what an operator's
 * `kill -9` or a power cut would.
 */
const CRASH_POINTS = [
  "shares:before-commit",
  "shares:after-commit",
  "credit:after-confirm",
  "payout:after-reserve",
  "payout:after-build",
  "payout:after-sign-stored",
  "payout:after-publish",
  "payout:after-published-stored",
  // Steps of the pool's long-running tasks, where the fault tests inject a defect (see
  // pool/ops/supervisor.ts): each task must log it, restart and go on.
  "chain:event",
  "jobs:roll",
  "stratum:tick",
  "settle:pass",
  "live:tick",
  "history:sample",
] as const

export type CrashPointName = (typeof CRASH_POINTS)[number]

export class CrashPoints extends Context.Service<CrashPoints, { readonly at: (name: CrashPointName) => Effect.Effect<void> }>()("dcrforge/CrashPoints") {}

export const noCrashPoints = Layer.succeed(CrashPoints)({ at: () => Effect.void })

/**
 * `DCRFORGE_CRASH_AT=<name>[:<n>]`: SIGKILL at the n-th time (default first) the step is reached.
 * Test-only by intent; the variable is documented so nobody sets it by accident.
 */
export const crashPointsFromEnv = (value: string | undefined): Layer.Layer<CrashPoints> => {
  if (value === undefined || value === "") return noCrashPoints
  const match = /^(.*?)(?::(\d+))?$/.exec(value)
  const name = match?.[1]
  const count = match?.[2]
  if (!(CRASH_POINTS as ReadonlyArray<string>).includes(name ?? "")) {
    throw new Error(`DCRFORGE_CRASH_AT=${value}: unknown step; use one of ${CRASH_POINTS.join(", ")}`)
  }
  let remaining = count === undefined ? 1 : Number(count)
  return Layer.succeed(CrashPoints)({
    at: (step) =>
      Effect.sync(() => {
        if (step !== name || --remaining > 0) return
        process.kill(process.pid, "SIGKILL")
      }),
  })
}
