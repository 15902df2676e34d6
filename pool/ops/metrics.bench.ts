import { Clock, Effect } from "effect"
import { opsPerSecond, sig3, type Bench } from "../../testkit/bench.ts"
import { makePoolMetrics, type ShareRejectReason } from "./metrics.ts"

/**
 * What the metrics cost the hot path: an increment on a child resolved at start-up, a
 * rejection counted by its reason, a latency timed by the Clock service and put in a histogram;
 * and what a scrape costs with every pool metric populated.
 */
export const benches: ReadonlyArray<Bench> = [
  {
    name: "metrics",
    run: () => {
      const metrics = makePoolMetrics()
      const clock = Effect.runSync(Clock.clockWith(Effect.succeed))
      const reasons: ReadonlyArray<ShareRejectReason> = ["duplicate", "low-difficulty", "stale-job", "unknown-job"]
      let i = 0
      const nsPerOp = (op: () => unknown) => sig3(1e9 / opsPerSecond(op))
      const increment = nsPerOp(() => metrics.sharesAccepted.inc())
      const byReason = nsPerOp(() => metrics.sharesRejected[reasons[i++ & 3]!].inc())
      const observe = nsPerOp(() => metrics.shareRecordSeconds.observe((i++ & 1023) / 100_000))
      const timed = nsPerOp(() => {
        const start = clock.monotonicTimeNanosUnsafe()
        metrics.shareRecordSeconds.observeSince(clock, start)
      })
      for (const method of ["getwork", "getwork_submit", "getbestblock", "getblockhash", "getblock"]) metrics.rpcSeconds.labels("dcrd", method).observe(0.001)
      const renderStart = performance.now()
      const runs = 200
      let bytes = 0
      for (let r = 0; r < runs; r++) bytes = Effect.runSync(metrics.registry.render).length
      const renderMs = (performance.now() - renderStart) / runs
      return [
        { name: "metrics-increment", value: increment, unit: "ns/op" },
        { name: "metrics-increment by rejection reason", value: byReason, unit: "ns/op" },
        { name: "metrics-histogram observe", value: observe, unit: "ns/op" },
        { name: "metrics-timed by Clock (two clock reads and an observe)", value: timed, unit: "ns/op" },
        { name: "metrics-render of the pool's metrics", value: sig3(renderMs), unit: "ms" },
        { name: "metrics-render size", value: bytes, unit: "bytes" },
      ]
    },
  },
]
