import { Effect, Schema } from "effect"
import type { ChainRpc } from "../../core/services/chain.ts"
import type { PayoutWallet } from "../../core/services/wallet.ts"
import type { PoolStoreShape } from "../store/store.ts"
import type { TaskSupervisorShape } from "./supervisor.ts"

/** One dependency's answer: whether it answered, and what an operator should know. */
const ComponentHealth = Schema.Struct({
  ok: Schema.Boolean,
  detail: Schema.String.annotate({ description: "what the check saw: the best block, or why it failed and what to check" }),
})

const TaskHealthJson = Schema.Struct({
  name: Schema.String,
  state: Schema.Literals(["running", "restarting", "finished"]),
  failures: Schema.Int.annotate({ description: "failures since the pool started; each was logged with its cause and the task restarted" }),
  lastFailureMs: Schema.NullOr(Schema.Int),
  lastFailure: Schema.NullOr(Schema.String),
})

/** `GET /api/health`: 200 when every task runs and dcrd, the wallet and the store answer; 503 otherwise. */
export const HealthReport = Schema.Struct({
  ok: Schema.Boolean,
  checkedMs: Schema.Int,
  components: Schema.Struct({ dcrd: ComponentHealth, wallet: ComponentHealth, store: ComponentHealth }),
  tasks: Schema.Array(TaskHealthJson),
})
export type HealthReport = typeof HealthReport.Type

/** What is wrong, one line each (empty when healthy): the overview page's health card. */
export const healthProblems = (report: HealthReport): ReadonlyArray<string> => [
  ...Object.entries(report.components)
    .filter(([, c]) => !c.ok)
    .map(([name, c]) => `${name}: ${c.detail}`),
  ...report.tasks.filter((t) => t.state === "restarting").map((t) => `task ${t.name} restarting after ${t.failures} failure${t.failures === 1 ? "" : "s"}: ${t.lastFailure ?? "unknown"}`),
]

/** A transaction id no transaction has: asking the wallet about it costs nothing and shows it answers. */
const NO_SUCH_TXID = "0".repeat(64)

/**
 * The pool's health, checked when asked (each check at most `timeoutMillis`; a dependency that
 * hangs is as down as one that refuses). Like vspd's `/admin/status`: one entry per component,
 * so an operator's monitor can say which one to look at.
 */
export const makeHealthCheck = (deps: {
  readonly chain: ChainRpc["Service"]
  readonly wallet: PayoutWallet["Service"]
  readonly store: PoolStoreShape
  readonly tasks: TaskSupervisorShape
  readonly timeoutMillis?: number | undefined
}): Effect.Effect<HealthReport> => {
  const timeout = deps.timeoutMillis ?? 5_000
  const bounded = <A, E>(check: Effect.Effect<A, E>, onAnswer: (a: A) => typeof ComponentHealth.Type, onError: (e: E) => typeof ComponentHealth.Type) =>
    check.pipe(
      Effect.map(onAnswer),
      Effect.catch((e) => Effect.succeed(onError(e))),
      Effect.timeoutOrElse({ duration: timeout, orElse: () => Effect.succeed({ ok: false, detail: `no answer within ${timeout / 1000} s` }) }),
    )
  const dcrd = bounded(
    deps.chain.getBestBlock,
    (best) => ({ ok: true, detail: `best block ${best.height}` }),
    (e) => ({ ok: false, detail: e.message }),
  )
  // Any answer, even a refusal, shows the wallet is there; only an unreachable one is down.
  const wallet = bounded(
    Effect.suspend(() => deps.wallet.status(NO_SUCH_TXID)),
    () => ({ ok: true, detail: "answers" }),
    (e) => (e._tag === "WalletRpcError" ? { ok: true, detail: "answers" } : { ok: false, detail: e.message }),
  )
  // The database's own error text stays in the log: it can name the backend's internals.
  const store = bounded(
    deps.store.ping,
    () => ({ ok: true, detail: "answers" }),
    (e) => ({ ok: false, detail: `the pool's database did not answer (${e._tag}); see the pool's log` }),
  )
  return Effect.gen(function* () {
    const [d, w, s] = yield* Effect.all([dcrd, wallet, store], { concurrency: "unbounded" })
    const tasks = deps.tasks.health().map((t) => ({
      name: t.name,
      state: t.state,
      failures: t.failures,
      lastFailureMs: t.lastFailure?.atMs ?? null,
      lastFailure: t.lastFailure?.reason ?? null,
    }))
    const checkedMs = yield* Effect.clockWith((clock) => clock.currentTimeMillis)
    return {
      ok: d.ok && w.ok && s.ok && tasks.every((t) => t.state !== "restarting"),
      checkedMs,
      components: { dcrd: d, wallet: w, store: s },
      tasks,
    }
  })
}
