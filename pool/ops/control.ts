import { Data, Effect, Redacted, Schema } from "effect"
import { randomBytes, X509Certificate } from "node:crypto"
import { readFileSync, renameSync, rmSync, writeFileSync } from "node:fs"
import { request, type IncomingMessage } from "node:http"
import type { Socket } from "node:net"
import { connect as tlsConnect } from "node:tls"
import { join } from "node:path"
import { processAlive } from "../store/pglite.ts"
import { formatStatus, StatusReport } from "./status.ts"

/**
 * Reaching a running pool from the command line. A pool on the embedded store holds its files
 * (one process per data directory), so `pool backup` and `pool status` ask the running pool
 * instead, over its admin HTTP server. The pool publishes where it listens and a fresh random
 * token in `<datadir>/running-pool.json` (mode 0600, removed when it stops): whoever can read
 * the data directory can read the database anyway, so the file's permissions are the
 * authentication, as with bitcoind's cookie file. The token is sent as `Authorization: Bearer`;
 * over HTTPS the command checks the pool's certificate against the fingerprint in the file
 * before it sends anything.
 */
const RunningPool = Schema.Struct({
  pid: Schema.Int,
  /** Where the admin server answers, from this machine: `http://127.0.0.1:8080`. */
  url: Schema.String,
  token: Schema.String,
  /** The SHA-256 fingerprint of the web UI's certificate (HTTPS), as node prints it. */
  certificateSha256: Schema.NullOr(Schema.String),
})
type RunningPool = typeof RunningPool.Type

const FILE = "running-pool.json"
const decodeRunningPool = Schema.decodeUnknownResult(Schema.fromJsonString(RunningPool))

class RunningPoolError extends Data.TaggedError("RunningPoolError")<{ readonly message: string }> {}

/** A fresh token for one run of the pool (node:crypto: a guessable token would be a way in, so not the seeded Random). */
export const newControlToken = (): Redacted.Redacted<string> => Redacted.make(randomBytes(32).toString("base64url"))

/** The address to dial for a listen address: a wildcard listens on loopback too. */
const dialHost = (host: string): string => (host === "0.0.0.0" || host === "" ? "127.0.0.1" : host === "::" ? "[::1]" : host.includes(":") ? `[${host}]` : host)

/**
 * Publishes the running pool for the command line until the scope closes. Written whole (a
 * temporary file renamed) and readable by the owner only.
 */
export const publishRunningPool = (dataDir: string, pool: { readonly host: string; readonly port: number; readonly token: Redacted.Redacted<string>; readonly tlsCertificate: string | undefined }) =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const path = join(dataDir, FILE)
      const body: RunningPool = {
        pid: process.pid,
        url: `${pool.tlsCertificate === undefined ? "http" : "https"}://${dialHost(pool.host)}:${pool.port}`,
        token: Redacted.value(pool.token),
        certificateSha256: pool.tlsCertificate === undefined ? null : new X509Certificate(pool.tlsCertificate).fingerprint256,
      }
      writeFileSync(`${path}.partial`, JSON.stringify(body), { mode: 0o600 })
      renameSync(`${path}.partial`, path)
      return path
    }),
    (path) =>
      Effect.sync(() => {
        // Only our own file: a pool started after this one may have published its own.
        const current = readRunning(path)
        if (current?.pid === process.pid) rmSync(path, { force: true })
      }),
  )

const readRunning = (path: string): RunningPool | undefined => {
  let text: string
  try {
    text = readFileSync(path, "utf8")
  } catch {
    return undefined
  }
  const decoded = decodeRunningPool(text)
  return decoded._tag === "Success" ? decoded.success : undefined
}

/** The pool published in `dataDir` while its process lives (a file left by a killed pool is not one). */
export const publishedRunningPool = (dataDir: string): RunningPool | undefined => {
  const running = readRunning(join(dataDir, FILE))
  return running !== undefined && processAlive(running.pid) ? running : undefined
}

/**
 * The running pool that holds the embedded store as process `owner`, from its published file;
 * a RunningPoolError saying what to do when it published none (or another process's).
 */
export const runningPoolOf = (dataDir: string, owner: number): Effect.Effect<RunningPool, RunningPoolError> => {
  const running = readRunning(join(dataDir, FILE))
  if (running !== undefined && running.pid === owner) return Effect.succeed(running)
  return Effect.fail(
    new RunningPoolError({
      message:
        `the embedded database in ${dataDir} is in use by process ${owner}, which published no admin address in ${join(dataDir, FILE)} ` +
        "(a pool of an older version, or another command): stop that process and run this again, or upgrade and restart the pool",
    }),
  )
}

/**
 * One request to the running pool's admin server with its token; `onResponse` gets the response
 * once its status is 200. Over HTTPS the TLS session is checked against the published
 * certificate before the request (and its token) is written.
 */
const ask = (running: RunningPool, method: "GET" | "POST", path: string, onResponse: (res: IncomingMessage, done: (error?: string) => void) => void) =>
  Effect.callback<void, RunningPoolError>((resume) => {
    const url = new URL(path, running.url)
    const fail = (why: string) => resume(Effect.fail(new RunningPoolError({ message: `the running pool (process ${running.pid}, ${running.url}) ${why}` })))
    const send = (createConnection?: () => Socket) => {
      const req = request(
        {
          method,
          host: url.hostname.replace(/^\[|\]$/g, ""),
          port: url.port,
          path: url.pathname,
          headers: { authorization: `Bearer ${running.token}` },
          // node uses createConnection only without an agent; `agent: false` alone means a fresh one, no kept-alive socket.
          ...(createConnection === undefined ? { agent: false } : { createConnection }),
        },
        (res) => {
          if (res.statusCode !== 200) {
            let text = ""
            res.setEncoding("utf8")
            res.on("data", (c: string) => void (text.length < 2000 && (text += c)))
            res.on("end", () => fail(`answered ${res.statusCode}: ${text.trim()}`))
            return
          }
          onResponse(res, (error) => (error === undefined ? resume(Effect.void) : fail(error)))
        },
      )
      req.on("error", (e) => fail(`did not answer: ${e.message}; is it still running? (\`pool status\` again once it is, or stop it to work on the files directly)`))
      req.end()
    }
    if (running.certificateSha256 === null) return send()
    const socket = tlsConnect({ host: url.hostname.replace(/^\[|\]$/g, ""), port: Number(url.port), rejectUnauthorized: false }, () => {
      if (socket.getPeerCertificate().fingerprint256 !== running.certificateSha256) {
        socket.destroy()
        return fail("presented a certificate other than the one it published; nothing was sent")
      }
      send(() => socket)
    })
    socket.on("error", (e) => fail(`did not answer over TLS: ${e.message}`))
  })

/**
 * Streams the running pool's backup (the JSON lines `pool backup` writes offline) to `write`;
 * fails when the stream ends short (the pool cuts it when its snapshot fails).
 */
export const backupFromRunningPool = (running: RunningPool, write: (chunk: Buffer) => void) =>
  ask(running, "POST", "/admin/backup", (res, done) => {
    res.on("data", (chunk: Buffer) => write(chunk))
    res.on("error", () => undefined)
    res.on("close", () => (res.complete ? done() : done("cut the backup short (its log says why); the partial file was removed")))
  })

/** The running pool's status, as `pool status` prints it. */
export const statusFromRunningPool = (running: RunningPool) =>
  Effect.gen(function* () {
    let text = ""
    yield* ask(running, "GET", "/admin/status", (res, done) => {
      res.setEncoding("utf8")
      res.on("data", (c: string) => void (text += c))
      res.on("close", () => (res.complete ? done() : done("cut its status reply short")))
    })
    const report = Schema.decodeUnknownResult(Schema.fromJsonString(StatusReport))(text)
    if (report._tag === "Failure") return yield* new RunningPoolError({ message: `the running pool (process ${running.pid}) answered a status this version cannot read: ${report.failure.message}` })
    return formatStatus(report.success)
  })
