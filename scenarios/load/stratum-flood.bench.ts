import { fork, type ChildProcess } from "node:child_process"
import { fileURLToPath } from "node:url"
import { SIMNET } from "../../core/chain/params.ts"
import type { Bench, BenchFigure } from "../../testkit/bench.ts"
import { withTcpPool } from "../../testkit/pool.ts"

interface MinerReport {
  readonly kind: "report"
  readonly latencies: Array<number>
  readonly accepted: number
  readonly errors: number
  readonly disconnects: number
  readonly errorSamples: Array<string>
}

interface FloodReport {
  readonly kind: "done"
  readonly results: ReadonlyArray<{ readonly bytesWritten: number; readonly closedByPool: boolean; readonly seconds: number }>
}

const percentile = (values: ReadonlyArray<number>, p: number) => {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!
}
const round = (x: number, digits = 2) => Math.round(x * 10 ** digits) / 10 ** digits
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** A child's IPC messages in order, one promise each. */
const messagesOf = (child: ChildProcess) => {
  const queued: Array<unknown> = []
  const waiting: Array<(m: unknown) => void> = []
  child.on("message", (m) => {
    const w = waiting.shift()
    if (w === undefined) queued.push(m)
    else w(m)
  })
  return <A>() => (queued.length > 0 ? Promise.resolve(queued.shift() as A) : new Promise<A>((resolve) => waiting.push((m) => resolve(m as A))))
}

/** Seconds of CPU (user + system) this process used since `since`. */
const cpuSecondsSince = (since: NodeJS.CpuUsage) => {
  const used = process.cpuUsage(since)
  return (used.user + used.system) / 1e6
}

/**
 * Issue 16's hostile client: connections that send nothing but newlines, beside honest miners.
 * The production stratum server on loopback TCP; honest miners (`miners.ts`: 4 gominers, a real
 * share every 100 ms each, half their message budget) in one process, the flood (`flooder.ts`:
 * DCRFORGE_FLOOD_CONNECTIONS connections, default 4, each sending DCRFORGE_FLOOD_MIB MiB of
 * newlines, default 16) in another, so this process's CPU time is the pool's. First 3 s quiet,
 * then the flood until every flooding connection has been read to the end or closed (and at least
 * 3 s): the pool's CPU time and the honest miners' submit latencies in each phase.
 */
const run = async (): Promise<ReadonlyArray<BenchFigure>> => {
  const connections = Number(process.env.DCRFORGE_FLOOD_CONNECTIONS ?? 4)
  const mebibytes = Number(process.env.DCRFORGE_FLOOD_MIB ?? 16)
  const honestMiners = 4
  return withTcpPool({ network: SIMNET, mode: "pool", keepShares: false, bits: 0x1b00ffff }, async (pool) => {
    const honest = fork(fileURLToPath(new URL("./miners.ts", import.meta.url)), [String(pool.port), String(honestMiners), "100"], { stdio: ["ignore", "inherit", "inherit", "ipc"] })
    const fromHonest = messagesOf(honest)
    let flooder: ChildProcess | undefined
    try {
      await fromHonest<{ connected: number }>()
      await sleep(500)
      honest.send({ kind: "report" })
      await fromHonest<MinerReport>()

      const quietCpu = process.cpuUsage()
      const quietStart = performance.now()
      await sleep(3_000)
      honest.send({ kind: "report" })
      const quiet = await fromHonest<MinerReport>()
      const quietSeconds = (performance.now() - quietStart) / 1000
      const quietCpuSeconds = cpuSecondsSince(quietCpu)

      const floodCpu = process.cpuUsage()
      const floodStart = performance.now()
      flooder = fork(fileURLToPath(new URL("./flooder.ts", import.meta.url)), [String(pool.port), String(connections), String(mebibytes), "10"], {
        stdio: ["ignore", "inherit", "inherit", "ipc"],
      })
      const fromFlooder = messagesOf(flooder)
      await fromFlooder<{ kind: "started" }>()
      const [flood] = await Promise.all([fromFlooder<FloodReport>(), sleep(3_000)])
      honest.send({ kind: "report" })
      const during = await fromHonest<MinerReport>()
      const floodSeconds = (performance.now() - floodStart) / 1000
      const floodCpuSeconds = cpuSecondsSince(floodCpu)

      const samples = [...quiet.errorSamples, ...during.errorSamples]
      if (samples.length > 0) console.error("honest miners' error samples:", samples)
      const readMiB = flood.results.reduce((sum, r) => sum + r.bytesWritten, 0) / 2 ** 20
      return [
        { name: "stratum-flood quiet: pool CPU", value: round((100 * quietCpuSeconds) / quietSeconds, 1), unit: "% of a core" },
        { name: "stratum-flood quiet: honest submit latency p50", value: round(percentile(quiet.latencies, 50)), unit: "ms" },
        { name: "stratum-flood quiet: honest submit latency p99", value: round(percentile(quiet.latencies, 99)), unit: "ms" },
        { name: `stratum-flood ${connections} x ${mebibytes} MiB of newlines: MiB written before the pool closed them`, value: round(readMiB, 3), unit: "MiB" },
        { name: "stratum-flood flood: connections the pool closed early", value: flood.results.filter((r) => r.closedByPool).length, unit: "connections" },
        { name: "stratum-flood flood: last flooding connection ended after", value: round(Math.max(...flood.results.map((r) => r.seconds))), unit: "s" },
        { name: "stratum-flood flood: pool CPU", value: round(floodCpuSeconds), unit: "s" },
        { name: "stratum-flood flood: phase", value: round(floodSeconds), unit: "s" },
        { name: "stratum-flood flood: honest submit latency p50", value: round(percentile(during.latencies, 50)), unit: "ms" },
        { name: "stratum-flood flood: honest submit latency p99", value: round(percentile(during.latencies, 99)), unit: "ms" },
        { name: "stratum-flood flood: honest submits answered", value: during.latencies.length, unit: "submits" },
        { name: "stratum-flood honest errors and disconnects", value: quiet.errors + during.errors + during.disconnects, unit: "count" },
      ]
    } finally {
      honest.send({ kind: "stop" })
      honest.kill()
      flooder?.kill()
    }
  })
}

export const benches: ReadonlyArray<Bench> = [{ name: "stratum-flood", run }]
