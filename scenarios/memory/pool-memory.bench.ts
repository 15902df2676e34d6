import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { createInterface } from "node:readline"
import { profileOf } from "../../core/stratum/profiles.ts"
import type { Bench, BenchFigure } from "../../testkit/bench.ts"
import type { LineClient } from "../../testkit/line-client.ts"
import { connectMiner } from "../../testkit/pool.ts"

/**
 * The pool's resident memory: a pool process (idle-pool.ts: the production assembly on an
 * embedded store on disk) started, left idle, then holding DCRFORGE_MEMORY_MINERS (default
 * 1,000) subscribed and authorized miners. Memory figures hold on a busy machine, unlike
 * timings. The PGlite figure is the store the pool used before SQLite, for comparison.
 */
const CHILD = join(import.meta.dirname, "idle-pool.ts")
const IDLE_SECONDS = 3
const MB = 1024 * 1024

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** The child's lines, one at a time, as they come. */
const linesOf = (child: ChildProcessWithoutNullStreams) => {
  const pending: Array<string> = []
  let wake: (() => void) | undefined
  createInterface({ input: child.stdout }).on("line", (line) => {
    pending.push(line)
    wake?.()
  })
  return async (prefix: string): Promise<string> => {
    for (;;) {
      const i = pending.findIndex((l) => l.startsWith(prefix))
      if (i >= 0) return pending.splice(i, 1)[0]!.slice(prefix.length)
      if (child.exitCode !== null) throw new Error(`idle pool exited (${child.exitCode}) before "${prefix}"`)
      await new Promise<void>((resolve) => {
        wake = resolve
        setTimeout(resolve, 1000)
      })
    }
  }
}

const measure = async (store: "sqlite" | "pglite", miners: number): Promise<{ readonly idle: number; readonly withMiners: number | undefined }> => {
  const dir = mkdtempSync(join(tmpdir(), "dcrforge-memory-"))
  const child = spawn(process.execPath, [CHILD, store, dir], { stdio: ["pipe", "pipe", "pipe"] })
  let stderr = ""
  child.stderr.on("data", (chunk: Buffer) => void (stderr += chunk.toString()))
  const next = linesOf(child)
  const rss = async () => {
    child.stdin.write("rss\n")
    return Number(await next("rss "))
  }
  const clients: Array<LineClient> = []
  try {
    const port = Number(await next("ready "))
    await sleep(IDLE_SECONDS * 1000)
    const idle = await rss()
    if (miners === 0) return { idle, withMiners: undefined }
    for (let i = 0; i < miners; i += 50) {
      const batch = Array.from({ length: Math.min(50, miners - i) }, (_, j) => connectMiner({ port }, profileOf("gominer"), `Sspzuh5xuvqxccYLWJDJjCtqp166NRxcaPB.m${i + j}`, `m${i + j}`))
      for (const { client } of await Promise.all(batch)) clients.push(client)
    }
    await sleep(IDLE_SECONDS * 1000)
    return { idle, withMiners: await rss() }
  } catch (e) {
    throw new Error(`${e instanceof Error ? e.message : String(e)}; stderr: ${stderr}`)
  } finally {
    for (const c of clients) c.close()
    child.kill("SIGKILL")
    await new Promise((resolve) => child.once("exit", resolve))
    rmSync(dir, { recursive: true, force: true })
  }
}

const run = async (): Promise<ReadonlyArray<BenchFigure>> => {
  const miners = Number(process.env.DCRFORGE_MEMORY_MINERS ?? 1_000)
  const sqlite = await measure("sqlite", miners)
  const pglite = await measure("pglite", 0)
  const figures: Array<BenchFigure> = [
    { name: "pool-idle-rss", value: Math.round(sqlite.idle / MB), unit: "MB" },
    { name: "pool-idle-rss-pglite", value: Math.round(pglite.idle / MB), unit: "MB" },
  ]
  if (sqlite.withMiners !== undefined) figures.push({ name: "pool-rss-per-connection", value: Math.round((sqlite.withMiners - sqlite.idle) / miners / 102.4) / 10, unit: `KB (${miners} miners)` })
  return figures
}

export const benches: ReadonlyArray<Bench> = [{ name: "pool-memory", run }]
