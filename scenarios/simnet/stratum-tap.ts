/**
 * A recording TCP relay between a real miner and the pool: every line either side sends is
 * passed on unchanged and written, with its time and direction, to a log file (and the last
 * few kept in memory), so a test can tell exactly which message ended a session. One upstream
 * connection per miner connection; closing either end closes the other.
 */
import { Effect, type Scope } from "effect"
import { appendFileSync } from "node:fs"
import { connect, createServer, type Socket } from "node:net"

interface TapLine {
  /** Milliseconds since the tap started. */
  readonly at: number
  readonly from: "miner" | "pool"
  readonly text: string
}

interface TapConnection {
  readonly id: number
  readonly openedAt: number
  /** Set when either side closed; says who closed first. */
  closedAt: number | undefined
  closedBy: "miner" | "pool" | "tap" | undefined
}

interface StratumTap {
  /** The loopback port miners dial. */
  readonly port: number
  readonly connections: ReadonlyArray<TapConnection>
  /** The last lines through the tap (the whole run is in the log file). */
  readonly recent: () => ReadonlyArray<TapLine>
  /**
   * Lines counted by direction and method (`miner mining.submit`), replies by result (`pool reply
   * true`), refusals by error code and result (`pool refusal (code 22, result false)`).
   */
  readonly counts: () => ReadonlyMap<string, number>
  /** The `mining.set_difficulty` values the pool sent, in order. */
  readonly difficulties: () => ReadonlyArray<unknown>
  readonly logFile: string
}

const RECENT = 40

/** What a line is, for counting: its method, or the kind of reply. */
const kindOf = (text: string): string => {
  try {
    const msg = JSON.parse(text) as { method?: unknown; result?: unknown; error?: unknown }
    if (typeof msg.method === "string") return msg.method
    if (msg.error === null || msg.error === undefined) return `reply ${typeof msg.result === "boolean" || msg.result === null ? String(msg.result) : "with a result"}`
    const code = Array.isArray(msg.error) ? msg.error[0] : "?"
    return `refusal (code ${String(code)}, result ${JSON.stringify(msg.result) ?? "absent"})`
  } catch {
    return "not JSON"
  }
}

/** A tap on 127.0.0.1 relaying to `127.0.0.1:target`, closed (with every connection) with the scope. */
export const stratumTap = (target: number, logFile: string): Effect.Effect<StratumTap, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.callback<{ tap: StratumTap; close: () => Promise<void> }>((resume) => {
      const started = Date.now()
      const connections: Array<TapConnection> = []
      const sockets = new Set<Socket>()
      const recent: Array<TapLine> = []
      const counts = new Map<string, number>()
      const difficulties: Array<unknown> = []
      const record = (id: number, from: "miner" | "pool", text: string) => {
        const at = Date.now() - started
        appendFileSync(logFile, `${(at / 1000).toFixed(3)} #${id} ${from === "miner" ? "miner>" : "<pool "} ${text}\n`)
        recent.push({ at, from, text })
        if (recent.length > RECENT) recent.shift()
        const kind = `${from} ${kindOf(text)}`
        counts.set(kind, (counts.get(kind) ?? 0) + 1)
        if (from === "pool" && kind === "pool mining.set_difficulty") difficulties.push((JSON.parse(text) as { params: ReadonlyArray<unknown> }).params[0])
      }
      const lines = (id: number, from: "miner" | "pool") => {
        let partial = ""
        return (chunk: Buffer) => {
          const parts = (partial + chunk.toString("utf8")).split("\n")
          partial = parts.pop() ?? ""
          for (const p of parts) record(id, from, p)
        }
      }
      const server = createServer((miner) => {
        const conn: TapConnection = { id: connections.length + 1, openedAt: Date.now() - started, closedAt: undefined, closedBy: undefined }
        connections.push(conn)
        const pool = connect(target, "127.0.0.1")
        sockets.add(miner).add(pool)
        const closed = (by: "miner" | "pool") => () => {
          if (conn.closedAt === undefined) {
            conn.closedAt = Date.now() - started
            conn.closedBy = by
            appendFileSync(logFile, `${(conn.closedAt / 1000).toFixed(3)} #${conn.id} closed by ${by}\n`)
          }
          miner.destroy()
          pool.destroy()
          sockets.delete(miner)
          sockets.delete(pool)
        }
        miner.on("data", lines(conn.id, "miner"))
        pool.on("data", lines(conn.id, "pool"))
        miner.pipe(pool)
        pool.pipe(miner)
        miner.on("close", closed("miner"))
        pool.on("close", closed("pool"))
        miner.on("error", () => undefined)
        pool.on("error", () => undefined)
      })
      server.listen(0, "127.0.0.1", () => {
        const address = server.address()
        const port = typeof address === "object" && address !== null ? address.port : 0
        resume(
          Effect.succeed({
            tap: { port, connections, recent: () => [...recent], counts: () => new Map(counts), difficulties: () => [...difficulties], logFile },
            close: () =>
              new Promise<void>((done) => {
                for (const c of connections) {
                  if (c.closedAt !== undefined) continue
                  c.closedAt = Date.now() - started
                  c.closedBy = "tap"
                }
                for (const s of sockets) s.destroy()
                server.close(() => done())
              }),
          }),
        )
      })
    }),
    ({ close }) => Effect.promise(close),
  ).pipe(Effect.map(({ tap }) => tap))
