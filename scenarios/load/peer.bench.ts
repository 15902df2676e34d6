/**
 * dcrforge side by side with the reference pool, decred/dcrpool v1.2.0 (built from the pinned
 * module by `scenarios/simnet/binaries.ts`), on the same real `dcrd --regnet` (the BLAKE-256 era
 * both speak), under the same load generator (`miners.ts`): N connections of dcrpool's own CPU
 * miner dialect (`cpuminer/1.0.0`, v1.2.0's job layout), each submitting one share every 6 s.
 * Rounds alternate A/B/A/B (dcrforge, dcrpool, dcrforge, dcrpool), each pool a fresh process on a
 * fresh data directory, pinned with `taskset -c 1`, while dcrd, the generator and this process
 * share core 0. Prints, for each figure, `bench: peer <figure> dcrforge|dcrpool|ratio = …` (the
 * mean of each pool's two rounds; ratio = dcrforge / dcrpool, so below 1 is better for latency,
 * memory and CPU, above 1 for throughput), and every round's figures on stderr.
 *
 * What the two pools are asked differs in one way, and it is dcrpool's: it sets every CPU miner a
 * fixed share difficulty of hashrate 5 kH/s × 28 s (solo mode) / 2 = 70,000, about 140,000
 * BLAKE-256 hashes a share, which no generator here could produce for 1,000 miners (23 million
 * hashes a second). The generator sends real difficulty-1 shares to both: dcrforge (share
 * difficulty 1) accepts them, dcrpool answers "low difficulty share" (error 23) after the same
 * work (parse, job lookup, header rebuild, hash, compare), so "answered" is the throughput figure
 * both share, and the accepted and rejected counts say which answer each gave.
 *
 * dcrpool runs in solo mode (no wallet needed) with `--activenet=simnet`: v1.2.0 knows no regnet,
 * and it uses the network only for the proof-of-work limit (simnet's and regnet's are both
 * 2^255 - 1) and its data directory's name. Before the rounds, dcrd mines 86 blocks at once, which
 * raises regnet's difficulty to about 330,000, so a difficulty-1 share is a block once in 330,000
 * and the chain stays put for the whole bench (it may not pass height 126 without tickets).
 *
 * Knobs: DCRFORGE_PEER_MINERS (default 1,000), DCRFORGE_PEER_SECONDS (steady phase per round,
 * default 60), DCRFORGE_PEER_DIFFICULTY (dcrforge's share difficulty, default 1; 70000, dcrpool's,
 * makes dcrforge reject every share as dcrpool does, to compare the two on the same answer). Needs Go for the first build and `taskset` (util-linux) for the pinning; without
 * taskset, or on one core, the rounds run unpinned and say so.
 */
import { type ChildProcess, fork, spawn, spawnSync } from "node:child_process"
import { readFileSync, writeFileSync } from "node:fs"
import { availableParallelism } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { Effect, References } from "effect"
import { encodeAddress } from "../../core/chain/address.ts"
import { blake256Hash } from "../../core/chain/hash.ts"
import { REGNET } from "../../core/chain/params.ts"
import { DIFFICULTY_SCALE } from "../../core/stratum/difficulty.ts"
import type { Bench, BenchFigure } from "../../testkit/bench.ts"
import { ensureDecredBinaries, type DecredBinaries } from "../simnet/binaries.ts"
import { freePorts } from "../simnet/harness.ts"
import { layerNative } from "../simnet/node.ts"
import { regnetDcrd, tempDir } from "../simnet/pool-on-node.ts"

type Pool = "dcrforge" | "dcrpool"

type Report = {
  readonly kind: "report"
  readonly latencies: Array<number>
  readonly accepted: number
  readonly errors: number
  readonly stale: number
  readonly lowDifficulty: number
  readonly disconnects: number
  readonly errorSamples: Array<string>
}

interface Round {
  readonly pool: Pool
  readonly connected: number
  readonly p50: number
  readonly p99: number
  readonly answeredPerSecond: number
  readonly acceptedPerSecond: number
  readonly rejected: number
  readonly stale: number
  readonly otherErrors: number
  readonly rssIdleMB: number
  readonly rssPeakMB: number
  readonly cpuSeconds: number
  readonly cpuSecondsWhole: number
}

const MINERS = Number(process.env.DCRFORGE_PEER_MINERS ?? 1_000)
const SECONDS = Number(process.env.DCRFORGE_PEER_SECONDS ?? 60)
const SHARE_INTERVAL_MS = 6_000
const DCRFORGE_DIFFICULTY = BigInt(process.env.DCRFORGE_PEER_DIFFICULTY ?? 1) * DIFFICULTY_SCALE
/** Blocks mined before the rounds: regnet's difficulty quadruples every 8 fast blocks. */
const PREMINE_BLOCKS = 102
const MINERS_FILE = fileURLToPath(new URL("./miners.ts", import.meta.url))
const DCRFORGE_FILE = fileURLToPath(new URL("./peer-pool.ts", import.meta.url))

const regnetAddress = (label: string) => encodeAddress("p2pkh-ecdsa-secp256k1", blake256Hash(new TextEncoder().encode(label)).subarray(0, 20), REGNET)
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const percentile = (values: ReadonlyArray<number>, p: number) => {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!
}
const round = (x: number, digits = 2) => Math.round(x * 10 ** digits) / 10 ** digits

/** `taskset` is there and there are two cores to split: pool on core 1, the rest on core 0. */
const canPin = (): boolean => availableParallelism() >= 2 && spawnSync("taskset", ["-V"]).status === 0
const clockTicks = (): number => Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout.trim()) || 100

/** utime + stime of a process, in seconds (/proc/<pid>/stat fields 14 and 15). */
const cpuSeconds = (pid: number, ticks: number): number => {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
  return (Number(fields[11]) + Number(fields[12])) / ticks
}
/** A line of /proc/<pid>/status in MB (VmRSS: resident now, VmHWM: the peak). */
const statusMB = (pid: number, field: "VmRSS" | "VmHWM"): number => {
  const line = readFileSync(`/proc/${pid}/status`, "utf8")
    .split("\n")
    .find((l) => l.startsWith(`${field}:`))
  return Number(line?.split(/\s+/)[1] ?? Number.NaN) / 1024
}

/** Starts a program (pinned to core 1 when possible) and waits for a line of its output. */
const startPinned = (pin: boolean, program: string, args: ReadonlyArray<string>, ready: RegExp, what: string) =>
  new Promise<{ child: ChildProcess; match: RegExpExecArray }>((resolve, reject) => {
    const child = pin ? spawn("taskset", ["-c", "1", program, ...args], { stdio: ["ignore", "pipe", "pipe"] }) : spawn(program, args, { stdio: ["ignore", "pipe", "pipe"] })
    let output = ""
    const timer = setTimeout(() => {
      child.kill("SIGKILL")
      reject(new Error(`${what} printed no ${ready} in 120 s; it said:\n${output.slice(-3000)}`))
    }, 120_000)
    const onData = (b: Buffer) => {
      output += b.toString()
      const match = ready.exec(output)
      if (match !== null) {
        clearTimeout(timer)
        child.stdout!.off("data", onData)
        child.stderr!.off("data", onData)
        child.stdout!.resume()
        child.stderr!.resume()
        resolve({ child, match })
      }
    }
    child.stdout!.on("data", onData)
    child.stderr!.on("data", onData)
    child.on("exit", (code, signal) => {
      clearTimeout(timer)
      reject(new Error(`${what} exited (${code ?? signal}) before it was ready; it said:\n${output.slice(-3000)}`))
    })
  })

const stop = (child: ChildProcess) =>
  new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve()
    const killer = setTimeout(() => child.kill("SIGKILL"), 15_000)
    child.once("exit", () => {
      clearTimeout(killer)
      resolve()
    })
    child.kill("SIGINT")
  })

interface Setting {
  readonly binaries: DecredBinaries
  readonly dir: string
  readonly endpoint: { readonly address: string; readonly user: string; readonly password: string; readonly certificate: string }
  readonly endpointFile: string
  readonly certificateFile: string
  readonly minerAddress: string
  readonly pin: boolean
  readonly ticks: number
}

const startPool = async (s: Setting, pool: Pool, index: number) => {
  const dataDir = join(s.dir, `${pool}-${index}`)
  if (pool === "dcrforge") {
    const { child, match } = await startPinned(
      s.pin,
      process.execPath,
      [DCRFORGE_FILE, dataDir, s.endpointFile, String(DCRFORGE_DIFFICULTY), String(MINERS + 100)],
      /ready (\d+)\n/,
      "dcrforge (peer-pool.ts)",
    )
    return { child, port: Number(match[1]) }
  }
  const [minerPort, guiPort] = await Effect.runPromise(freePorts(2))
  const { child } = await startPinned(
    s.pin,
    s.binaries.path("dcrpool"),
    [
      `--appdata=${dataDir}`,
      "--activenet=simnet",
      "--solopool",
      `--dcrdrpchost=${s.endpoint.address}`,
      `--dcrdrpccert=${s.certificateFile}`,
      `--rpcuser=${s.endpoint.user}`,
      `--rpcpass=${s.endpoint.password}`,
      "--adminpass=peer-bench",
      `--guidir=${s.binaries.dcrpoolGuiDir}`,
      `--guilisten=127.0.0.1:${guiPort}`,
      `--minerlisten=127.0.0.1:${minerPort}`,
      `--maxconnperhost=${MINERS + 100}`,
    ],
    /POOL: listening on /,
    "dcrpool",
  )
  return { child, port: minerPort! }
}

const runRound = async (s: Setting, pool: Pool, index: number): Promise<Round> => {
  const { child, port } = await startPool(s, pool, index)
  const pid = child.pid!
  let miners: ChildProcess | undefined
  try {
    await sleep(3_000)
    const rssIdleMB = statusMB(pid, "VmRSS")
    // Forked from this process, so on core 0 with dcrd.
    miners = fork(MINERS_FILE, [String(port), String(MINERS), String(SHARE_INTERVAL_MS), "cpuminer-blake256", "regnet", s.minerAddress], { stdio: ["ignore", "inherit", "inherit", "ipc"] })
    const inbox: Array<(m: unknown) => void> = []
    miners.on("message", (m) => inbox.shift()?.(m))
    const next = <A>() => new Promise<A>((resolve) => inbox.push((m) => resolve(m as A)))
    const ready = await next<{ connected: number }>()
    // One share interval for the random phases to spread out, then measure.
    await sleep(SHARE_INTERVAL_MS)
    miners.send({ kind: "report" })
    const before = await next<Report>()
    const cpuBefore = cpuSeconds(pid, s.ticks)
    await sleep(SECONDS * 1000)
    miners.send({ kind: "report" })
    const steady = await next<Report>()
    const cpuAfter = cpuSeconds(pid, s.ticks)
    const rssPeakMB = statusMB(pid, "VmHWM")
    if (steady.errorSamples.length > 0) console.error(`${pool} error samples:`, steady.errorSamples)
    return {
      pool,
      connected: ready.connected - steady.disconnects,
      p50: percentile(steady.latencies, 50),
      p99: percentile(steady.latencies, 99),
      answeredPerSecond: steady.latencies.length / SECONDS,
      acceptedPerSecond: steady.accepted / SECONDS,
      rejected: steady.lowDifficulty,
      stale: steady.stale,
      // The generator's error count runs on; its low-difficulty count restarts at each report.
      otherErrors: steady.errors - before.errors - steady.lowDifficulty,
      rssIdleMB,
      rssPeakMB,
      cpuSeconds: cpuAfter - cpuBefore,
      cpuSecondsWhole: cpuAfter,
    }
  } finally {
    miners?.send({ kind: "stop" })
    miners?.kill()
    await stop(child)
  }
}

const FIGURES: ReadonlyArray<{ readonly name: string; readonly unit: string; readonly of: (r: Round) => number; readonly ratio: boolean }> = [
  { name: "submit latency p50", unit: "ms", of: (r) => r.p50, ratio: true },
  { name: "submit latency p99", unit: "ms", of: (r) => r.p99, ratio: true },
  { name: "shares answered", unit: "shares/s", of: (r) => r.answeredPerSecond, ratio: true },
  { name: "pool CPU for the steady phase", unit: "s", of: (r) => r.cpuSeconds, ratio: true },
  { name: "pool CPU for the whole round", unit: "s", of: (r) => r.cpuSecondsWhole, ratio: true },
  { name: "pool RSS idle after start", unit: "MB", of: (r) => r.rssIdleMB, ratio: true },
  { name: "pool RSS peak", unit: "MB", of: (r) => r.rssPeakMB, ratio: true },
  { name: "shares accepted", unit: "shares/s", of: (r) => r.acceptedPerSecond, ratio: false },
  { name: "shares rejected low difficulty", unit: "count", of: (r) => r.rejected, ratio: false },
  { name: "shares stale", unit: "count", of: (r) => r.stale, ratio: false },
  { name: "other errors", unit: "count", of: (r) => r.otherErrors, ratio: false },
  { name: "connections held", unit: "connections", of: (r) => r.connected, ratio: false },
]

const run = () =>
  Effect.runPromise(
    Effect.gen(function* () {
      const binaries = yield* ensureDecredBinaries
      const pin = canPin()
      // dcrd (started below), the generator and this process inherit core 0.
      if (pin) spawnSync("taskset", ["-a", "-p", "-c", "0", String(process.pid)], { stdio: "ignore" })
      else console.error("peer bench: not pinned (taskset missing or fewer than two cores); figures include the pools competing with the load for a core")
      const dir = yield* tempDir("dcrforge-peer-")
      const node = yield* regnetDcrd(dir, regnetAddress("dcrforge peer bench mining"))
      yield* node.rpc("generate", [PREMINE_BLOCKS])
      const difficulty = yield* node.rpc("getdifficulty")
      console.error(
        `peer bench: regnet at height ${PREMINE_BLOCKS}, difficulty ${String(difficulty)}; ${MINERS} miners, a share each every ${SHARE_INTERVAL_MS / 1000} s, ${SECONDS} s a round, dcrforge's share difficulty ${DCRFORGE_DIFFICULTY / DIFFICULTY_SCALE}`,
      )
      const endpointFile = join(dir, "endpoint.json")
      const certificateFile = join(dir, "dcrd-rpc.cert")
      writeFileSync(endpointFile, JSON.stringify(node.endpoint))
      writeFileSync(certificateFile, node.endpoint.certificate)
      const setting: Setting = {
        binaries,
        dir,
        endpoint: node.endpoint,
        endpointFile,
        certificateFile,
        minerAddress: regnetAddress("dcrforge peer bench miners"),
        pin,
        ticks: clockTicks(),
      }
      const rounds: Array<Round> = []
      for (const [index, pool] of (["dcrforge", "dcrpool", "dcrforge", "dcrpool"] as const).entries()) {
        const r = yield* Effect.promise(() => runRound(setting, pool, index))
        console.error(`peer bench round ${index + 1} ${pool}: ${FIGURES.map((f) => `${f.name} ${round(f.of(r))} ${f.unit}`).join(", ")}`)
        rounds.push(r)
      }
      const height = yield* node.rpc("getblockcount")
      console.error(`peer bench: regnet ended at height ${String(height)}`)
      const mean = (pool: Pool, of: (r: Round) => number) => {
        const mine = rounds.filter((r) => r.pool === pool).map(of)
        return mine.reduce((a, b) => a + b, 0) / mine.length
      }
      return FIGURES.flatMap((f): Array<BenchFigure> => {
        const forge = mean("dcrforge", f.of)
        const peer = mean("dcrpool", f.of)
        return [
          { name: `peer ${f.name} dcrforge`, value: round(forge), unit: f.unit },
          { name: `peer ${f.name} dcrpool`, value: round(peer), unit: f.unit },
          ...(f.ratio ? [{ name: `peer ${f.name} ratio`, value: round(forge / peer, 3), unit: "x" }] : []),
        ]
      })
    }).pipe(Effect.scoped, Effect.provide(layerNative), Effect.provideService(References.MinimumLogLevel, "Warn")),
  )

export const benches: ReadonlyArray<Bench> = [{ name: "peer", run }]
