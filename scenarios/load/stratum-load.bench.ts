import { fork } from "node:child_process"
import { writeFileSync } from "node:fs"
import { Session } from "node:inspector/promises"
import { monitorEventLoopDelay } from "node:perf_hooks"
import { fileURLToPath } from "node:url"
import { SIMNET } from "../../core/chain/params.ts"
import type { Bench } from "../../testkit/bench.ts"
import { withTcpPool } from "../../testkit/pool.ts"

type Report = {
  readonly kind: "report"
  readonly latencies: Array<number>
  /** When each submit of `latencies` was sent (ms since the epoch, the miners' clock). */
  readonly sentAts: Array<number>
  readonly accepted: number
  readonly errors: number
  readonly stale: number
  readonly disconnects: number
  readonly errorSamples: Array<string>
  readonly cleanArrivals: Array<[string, Array<number>]>
}

const percentile = (values: ReadonlyArray<number>, p: number) => {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!
}
const round = (x: number, digits = 2) => Math.round(x * 10 ** digits) / 10 ** digits
const BLOCKS = 5
const now = () => performance.timeOrigin + performance.now()

/**
 * The production stratum server on loopback TCP under miners from a separate process, each
 * submitting a real share every 3 s. Miners: DCRFORGE_LOAD_MINERS (default 5,000); steady
 * phase: DCRFORGE_LOAD_SECONDS (default 30); then 5 new blocks 3 s apart for fan-out.
 * DCRFORGE_LOAD_PROFILE=<file> writes a CPU profile of the pool over the block phase
 * (Chrome DevTools format) to find what a block change costs.
 */
const run = async () => {
  const count = Number(process.env.DCRFORGE_LOAD_MINERS ?? 5_000)
  const seconds = Number(process.env.DCRFORGE_LOAD_SECONDS ?? 30)
  return withTcpPool(
    {
      network: SIMNET,
      mode: "pool",
      keepShares: false,
      // Hard enough that no share is a block: blocks come only when the bench says.
      bits: 0x1b00ffff,
      limits: { maxConnectionsPerHost: count + 100 },
    },
    async (pool) => {
      // The pool started and listening, no miner yet: what each connection adds is measured from here.
      globalThis.gc?.()
      const { rss: idleRss, heapUsed: idleHeap } = process.memoryUsage()
      const child = fork(fileURLToPath(new URL("./miners.ts", import.meta.url)), [String(pool.port), String(count), "3000"], { stdio: ["ignore", "inherit", "inherit", "ipc"] })
      const messages: Array<(m: unknown) => void> = []
      child.on("message", (m) => messages.shift()?.(m))
      const nextMessage = <A>() => new Promise<A>((resolve) => messages.push((m) => resolve(m as A)))
      try {
        const rampStart = now()
        const ready = await nextMessage<{ connected: number }>()
        const rampSeconds = (now() - rampStart) / 1000
        // Let the random phases spread out, then measure.
        await new Promise((r) => setTimeout(r, 3_000))
        // Memory a connection costs: RSS and heap with every miner connected and mining, over
        // the idle pool's (the heap after a collection when node runs with --expose-gc).
        globalThis.gc?.()
        const connectedMemory = process.memoryUsage()
        child.send({ kind: "report" })
        await nextMessage<Report>()
        // Phase 1, steady mining: the goal's setting (blocks are minutes apart on mainnet).
        const loopDelay = monitorEventLoopDelay({ resolution: 1 })
        loopDelay.enable()
        await new Promise((r) => setTimeout(r, seconds * 1000))
        loopDelay.disable()
        child.send({ kind: "report" })
        const steady = await nextMessage<Report>()
        // Phase 2, a new block every 3 s: fan-out to every connection, and submits around it.
        const blockSentAt = new Map<string, number>()
        const profileFile = process.env.DCRFORGE_LOAD_PROFILE
        const inspector = profileFile === undefined ? undefined : new Session()
        if (inspector !== undefined) {
          inspector.connect()
          await inspector.post("Profiler.enable")
          await inspector.post("Profiler.start")
        }
        for (let i = 0; i < BLOCKS; i++) {
          await new Promise((r) => setTimeout(r, 3_000))
          const sentAt = now()
          await pool.run(pool.node.externalBlock)
          // The job is made when the pool reads the node's work notification.
          await new Promise((r) => setTimeout(r, 5))
          blockSentAt.set(pool.mining.jobs.current!.id, sentAt)
        }
        await new Promise((r) => setTimeout(r, 1_000))
        if (inspector !== undefined && profileFile !== undefined) {
          const { profile } = await inspector.post("Profiler.stop")
          writeFileSync(profileFile, JSON.stringify(profile))
          inspector.disconnect()
        }
        child.send({ kind: "report" })
        const blocks = await nextMessage<Report>()
        const fanOut: Array<number> = []
        let missing = 0
        for (const [jobId, arrivals] of blocks.cleanArrivals) {
          const sent = blockSentAt.get(jobId)
          if (sent === undefined) continue
          fanOut.push(
            percentile(
              arrivals.map((a) => a - sent),
              99,
            ),
          )
          missing += count - arrivals.length
        }
        // Submits sent within 1 s after a block change: the ones a block change can slow down.
        const sentTimes = [...blockSentAt.values()]
        const nearBlock = blocks.latencies.filter((_, i) => sentTimes.some((t) => blocks.sentAts[i]! >= t && blocks.sentAts[i]! < t + 1_000))
        const blockShares = blocks.accepted + blocks.stale
        const rss = process.memoryUsage().rss / 2 ** 20
        const samples = [...steady.errorSamples, ...blocks.errorSamples]
        if (samples.length > 0) console.error("error samples:", samples)
        return [
          { name: "stratum-load connections held", value: ready.connected - blocks.disconnects, unit: "connections" },
          { name: "stratum-load ramp to all connected", value: round(rampSeconds, 1), unit: "s" },
          { name: "stratum-load shares accepted", value: round(steady.accepted / seconds, 0), unit: "shares/s" },
          { name: "stratum-load submit latency p50", value: round(percentile(steady.latencies, 50)), unit: "ms" },
          { name: "stratum-load submit latency p99", value: round(percentile(steady.latencies, 99)), unit: "ms" },
          { name: "stratum-load submit latency max", value: round(Math.max(...steady.latencies)), unit: "ms" },
          { name: "stratum-load pool event-loop delay p99", value: round(loopDelay.percentile(99) / 1e6), unit: "ms" },
          { name: "stratum-load errors", value: steady.errors + blocks.errors + blocks.disconnects + missing, unit: "count" },
          { name: "stratum-load notify fan-out p99 (worst of 5 blocks)", value: round(Math.max(...fanOut)), unit: "ms" },
          { name: "stratum-load submit latency p99 with a block every 3 s", value: round(percentile(blocks.latencies, 99)), unit: "ms" },
          { name: "stratum-load submit latency p99 within 1 s after a block change", value: round(percentile(nearBlock, 99)), unit: "ms" },
          { name: "stratum-load stale shares at block changes", value: blocks.stale, unit: "count" },
          { name: "stratum-load stale shares per block change", value: round(blocks.stale / BLOCKS, 1), unit: "shares" },
          { name: "stratum-load stale shares with a block every 3 s", value: round((100 * blocks.stale) / Math.max(1, blockShares), 3), unit: "% of shares" },
          { name: "stratum-load samples", value: steady.latencies.length + blocks.latencies.length, unit: "submits" },
          { name: "stratum-load pool RSS", value: round(rss, 0), unit: "MB" },
          { name: "stratum-load memory per connection (RSS)", value: round((connectedMemory.rss - idleRss) / ready.connected / 1024, 1), unit: "KB" },
          { name: "stratum-load heap per connection", value: round((connectedMemory.heapUsed - idleHeap) / ready.connected / 1024, 1), unit: "KB" },
        ]
      } finally {
        child.send({ kind: "stop" })
        child.kill()
      }
    },
  )
}

export const benches: ReadonlyArray<Bench> = [{ name: "stratum-load", run }]
