import { Cause, Clock, Context, Effect, Exit, Option, type Scope } from "effect"
import { currentPoolMetrics, type PoolMetricSet } from "./metrics.ts"

/** What health reports of one long-running task. */
interface TaskHealth {
  readonly name: string
  /** running: in its loop; restarting: it failed and waits out its backoff; finished: it ended by itself (one-shot tasks). */
  readonly state: "running" | "restarting" | "finished"
  /** Failures and defects since the pool started (each one was logged with its cause and restarted). */
  readonly failures: number
  /** The last failure: when, and the error's message (the log has the whole cause). */
  readonly lastFailure: { readonly atMs: number; readonly reason: string } | undefined
}

interface SuperviseOptions {
  /** First wait before a restart (default 0.1 s); it doubles with each failure in a row. */
  readonly initialBackoffMillis?: number | undefined
  /** Longest wait before a restart (default 30 s). */
  readonly maxBackoffMillis?: number | undefined
}

/**
 * Runs each of the pool's long-running tasks (the share committer, the settler, the chain event
 * loop, the job roller, the stratum listener, the web server's live updates and samplers) so
 * that none dies quietly: a failure or a defect is logged at error level with its whole cause,
 * counted in `dcrforge_task_failures_total{task}`, shown by health, and the task starts again
 * after a backoff (0.1 s doubling to 30 s; the backoff starts over once a run lasted longer than
 * the longest backoff). Interruption is not a failure: it is the scope closing.
 *
 * Why restart rather than stop the pool: a defect in the settler (one odd block) must not stop
 * shares from being recorded or miners from being answered; the operator sees the failure in the
 * log, the metric and `/api/health`, and the rest of the pool goes on working.
 */
export const makeTaskSupervisor = (metrics: PoolMetricSet) => {
  const tasks = new Map<string, { state: TaskHealth["state"]; failures: number; lastFailure: TaskHealth["lastFailure"] }>()
  const health = (): ReadonlyArray<TaskHealth> => [...tasks].map(([name, t]) => ({ name, ...t }))
  metrics.tasksUp.from(Effect.sync(() => [...tasks].map(([name, t]) => ({ labels: [name], value: t.state === "restarting" ? 0 : 1 }))))

  const supervise = <A, E, R>(name: string, task: Effect.Effect<A, E, R>, options: SuperviseOptions = {}): Effect.Effect<void, never, R | Scope.Scope> =>
    Effect.gen(function* () {
      // Two live copies of one task (two web servers on one pool) are told apart by a suffix.
      let key = name
      for (let n = 2; tasks.has(key); n++) key = `${name}#${n}`
      const entry: { state: TaskHealth["state"]; failures: number; lastFailure: TaskHealth["lastFailure"] } = { state: "running", failures: 0, lastFailure: undefined }
      tasks.set(key, entry)
      // A task whose scope closed is gone, not down.
      yield* Effect.addFinalizer(() => Effect.sync(() => void tasks.delete(key)))
      const failures = metrics.taskFailures.labels(key)
      const initial = options.initialBackoffMillis ?? 100
      const maximum = options.maxBackoffMillis ?? 30_000
      const loop = Effect.gen(function* () {
        let backoff = initial
        for (;;) {
          entry.state = "running"
          const started = yield* Clock.currentTimeMillis
          const exit = yield* Effect.exit(task)
          if (Exit.isSuccess(exit)) {
            entry.state = "finished"
            return
          }
          // Only the task's own interruption gets here (the scope's interrupts this loop too).
          if (Cause.hasInterruptsOnly(exit.cause)) {
            entry.state = "finished"
            return
          }
          const now = yield* Clock.currentTimeMillis
          if (now - started > maximum) backoff = initial
          const squashed = Cause.squash(exit.cause)
          entry.failures++
          entry.lastFailure = { atMs: now, reason: squashed instanceof Error ? `${squashed.name}: ${squashed.message}` : String(squashed) }
          entry.state = "restarting"
          failures.inc()
          yield* Effect.logError(`task ${key} failed (failure ${entry.failures}); restarting in ${backoff} ms`, exit.cause)
          yield* Effect.sleep(backoff)
          backoff = Math.min(backoff * 2, maximum)
        }
      })
      yield* Effect.forkScoped(loop)
    })

  return { supervise, health }
}

export type TaskSupervisorShape = ReturnType<typeof makeTaskSupervisor>

/**
 * The pool's task supervisor as a service: `runPool` makes one and hands it to every part it
 * builds (and to the web server through the live state), so health lists every task.
 */
export class TaskSupervisor extends Context.Service<TaskSupervisor, TaskSupervisorShape>()("dcrforge/TaskSupervisor") {}

/** The supervisor in context, or a private one for a part built on its own (tests, benchmarks). */
export const currentTaskSupervisor: Effect.Effect<TaskSupervisorShape> = Effect.gen(function* () {
  const found = yield* Effect.serviceOption(TaskSupervisor)
  if (Option.isSome(found)) return found.value
  return makeTaskSupervisor(yield* currentPoolMetrics)
})
