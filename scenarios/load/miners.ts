/**
 * Load generator for the stratum benchmarks, run as its own process so the pool's event loop
 * measures only the pool: `node miners.ts <port> <count> <intervalMs> [model] [network] [address]`.
 * Each of `count` connections of miner `model` (default gominer) subscribes, authorizes as
 * `<address>.m<i>` (default a simnet address), then submits a real difficulty-1 share (the
 * network's proof-of-work limit, hashed with the model's hash) every `intervalMs` (random phase),
 * whatever difficulty the pool sets. Reports to the parent over IPC: submit round-trip latencies,
 * errors (low-difficulty rejections among them, also counted apart), stale rejections,
 * disconnects, when each submit was sent (to pick those around a block change) and when each
 * clean job arrived (for fan-out latency).
 */
import * as net from "node:net"
import { Result } from "effect"
import { powHashWith } from "../../core/chain/hash.ts"
import { REGNET, SIMNET } from "../../core/chain/params.ts"
import { hashMeetsTarget } from "../../core/chain/targets.ts"
import { profileOf, userAgentOf, type MinerModel } from "../../core/stratum/profiles.ts"
import { minerSolution, parseNotifyParams, type MinerJob } from "../../core/stratum/work.ts"

const [port, count, intervalMs] = process.argv.slice(2, 5).map(Number) as [number, number, number]
const profile = profileOf((process.argv[5] ?? "gominer") as MinerModel)
const network = process.argv[6] === "regnet" ? REGNET : SIMNET
const ADDRESS = process.argv[7] ?? "Sspzuh5xuvqxccYLWJDJjCtqp166NRxcaPB"
const shareTarget = network.powLimit
const now = () => performance.timeOrigin + performance.now()

const stats = { latencies: [] as Array<number>, sentAts: [] as Array<number>, accepted: 0, errors: 0, stale: 0, lowDifficulty: 0, disconnects: 0, errorSamples: [] as Array<string> }
const cleanArrivals = new Map<string, Array<number>>()

class Miner {
  private readonly socket: net.Socket
  private buffer = ""
  private extraNonce1 = ""
  private job: MinerJob | undefined
  /** The latest notify's params, parsed only when the next share is due (keeps the generator light). */
  private notifyParams: Array<unknown> | undefined
  private nonce = 0
  private nextId = 10
  private readonly sent = new Map<number, number>()
  private readonly index: number
  readonly ready: Promise<void>
  private markReady: () => void = () => {}

  constructor(index: number) {
    this.index = index
    this.ready = new Promise((resolve) => (this.markReady = resolve))
    this.socket = net.connect({ port, host: "127.0.0.1", noDelay: true }, () => {
      this.socket.write(`${JSON.stringify({ id: 1, method: "mining.subscribe", params: [userAgentOf(profile)] })}\n`)
      this.socket.write(`${JSON.stringify({ id: 2, method: "mining.authorize", params: [`${ADDRESS}.m${index}`, "x"] })}\n`)
    })
    this.socket.setEncoding("utf8")
    this.socket.on("data", (chunk: string) => {
      const at = now()
      this.buffer += chunk
      let i: number
      while ((i = this.buffer.indexOf("\n")) >= 0) {
        this.onLine(this.buffer.slice(0, i), at)
        this.buffer = this.buffer.slice(i + 1)
      }
    })
    this.socket.on("close", () => stats.disconnects++)
    this.socket.on("error", () => {})
  }

  private onLine(line: string, at: number) {
    const m = JSON.parse(line) as { id: number | null; result?: unknown; error?: [number, string] | null; method?: string; params?: Array<unknown> }
    if (m.method === "mining.notify") {
      this.notifyParams = m.params!
      if (m.params![8] === true) {
        const jobId = m.params![0] as string
        let list = cleanArrivals.get(jobId)
        if (list === undefined) cleanArrivals.set(jobId, (list = []))
        list.push(at)
      }
      this.markReady()
      return
    }
    if (m.id === 1 && Array.isArray(m.result)) this.extraNonce1 = m.result[1] as string
    if (m.id === null || m.id < 10) {
      if (m.error) stats.errors++
      return
    }
    const sentAt = this.sent.get(m.id)
    if (sentAt === undefined) return
    this.sent.delete(m.id)
    stats.latencies.push(at - sentAt)
    stats.sentAts.push(sentAt)
    if (m.error === null || m.error === undefined) stats.accepted++
    else if (m.error[0] === 21) stats.stale++
    else {
      // Low-difficulty rejections are errors too (stratum-load counts them so), and counted apart.
      stats.errors++
      if (m.error[0] === 23) stats.lowDifficulty++
      else if (stats.errorSamples.length < 5) stats.errorSamples.push(line)
    }
  }

  submit() {
    if (this.notifyParams !== undefined) {
      this.job = Result.getOrThrow(parseNotifyParams(profile, this.notifyParams))
      this.notifyParams = undefined
    }
    const job = this.job
    if (job === undefined) return
    const time = new DataView(job.header.buffer).getUint32(136, true)
    const extraNonce2 = new Uint8Array(profile.extraNonce.en2Size)
    new DataView(extraNonce2.buffer).setUint32(0, this.index)
    for (;;) {
      const s = minerSolution(profile, job, `m${this.index}`, this.extraNonce1, extraNonce2, time, this.nonce++)
      if (!hashMeetsTarget(powHashWith(profile.pow, s.header), shareTarget)) continue
      const id = this.nextId++
      this.sent.set(id, now())
      this.socket.write(`${JSON.stringify({ id, method: "mining.submit", params: s.params })}\n`)
      return
    }
  }
}

const miners: Array<Miner> = []
// Connect in waves, as a restarted farm would, without overflowing the accept queue.
for (let i = 0; i < count; i += 250) {
  const wave = Array.from({ length: Math.min(250, count - i) }, (_, k) => new Miner(i + k))
  miners.push(...wave)
  await Promise.all(wave.map((m) => m.ready))
}
stats.errors = 0
for (const m of miners) setTimeout(() => setInterval(() => m.submit(), intervalMs), Math.random() * intervalMs)
process.send!({ kind: "ready", connected: miners.length })

process.on("message", (message: { kind: string }) => {
  if (message.kind === "report") {
    process.send!({ kind: "report", ...stats, cleanArrivals: [...cleanArrivals] })
    stats.latencies = []
    stats.sentAts = []
    stats.accepted = 0
    stats.stale = 0
    stats.lowDifficulty = 0
    cleanArrivals.clear()
  }
  if (message.kind === "stop") process.exit(0)
})
