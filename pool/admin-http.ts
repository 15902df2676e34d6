import { Data, Effect, Redacted } from "effect"
import type * as SqlClient from "effect/sql/SqlClient"
import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import { timingSafeEqual } from "node:crypto"
import { backup } from "./store/backup.ts"
import { poolApi, toJson, type PoolLiveState } from "./http-api.ts"
import type { PoolStore } from "./store/store.ts"

/**
 * The pool's HTTP server: the read-only JSON API under `/api/` (see http-api.ts) when given the
 * pool's live state, and `POST /admin/backup`, which streams a consistent snapshot (the same
 * JSON lines as `pool backup`) to an operator holding the admin password (HTTP basic auth,
 * user "admin"). The web UI builds on this server (issue 9).
 */
export interface AdminHttpOptions {
  readonly host: string
  readonly port: number
  /** Without one, the admin endpoints refuse every request. */
  readonly adminPassword: Redacted.Redacted<string> | undefined
  readonly live?: PoolLiveState
}

export class AdminHttpError extends Data.TaggedError("AdminHttpError")<{ readonly reason: string }> {
  override get message(): string {
    return `admin HTTP server: ${this.reason}`
  }
}

const authorized = (req: IncomingMessage, password: Redacted.Redacted<string>): boolean => {
  const header = req.headers.authorization ?? ""
  if (!header.startsWith("Basic ")) return false
  const given = Buffer.from(header.slice(6), "base64")
  const expected = Buffer.from(`admin:${Redacted.value(password)}`)
  // Constant time: the comparison must not tell a guesser how much of the password matched.
  return given.length === expected.length && timingSafeEqual(given, expected)
}

/** Serves until the scope closes; returns the bound port. */
export const serveAdminHttp = (options: AdminHttpOptions) =>
  Effect.gen(function* () {
    const context = yield* Effect.context<SqlClient.SqlClient | PoolStore>()
    const run = Effect.runPromiseWith(context)
    const api = options.live === undefined ? undefined : poolApi(options.live)
    const serveApi = (req: IncomingMessage, res: ServerResponse, url: URL) => {
      if (api === undefined) return false
      if (req.method !== "GET") {
        res.writeHead(405, { allow: "GET", "content-type": "text/plain" }).end("use GET\n")
        return true
      }
      run(api(url.pathname, url.searchParams)).then(
        (reply) => {
          if (reply === undefined) return void res.writeHead(404, { "content-type": "application/json" }).end(toJson({ error: `no such API path: ${url.pathname}` }))
          res.writeHead(reply.status, { "content-type": "application/json", "cache-control": "no-store" }).end(toJson(reply.body))
        },
        (e: unknown) => {
          res.writeHead(503, { "content-type": "application/json" }).end(toJson({ error: `the pool's database did not answer: ${e instanceof Error ? e.message : String(e)}` }))
        },
      )
      return true
    }
    const handle = (req: IncomingMessage, res: ServerResponse) => {
      const url = new URL(req.url ?? "/", "http://pool")
      if (url.pathname.startsWith("/api/") && serveApi(req, res, url)) return
      if (req.url !== "/admin/backup") return void res.writeHead(404, { "content-type": "text/plain" }).end("not found\n")
      if (req.method !== "POST") return void res.writeHead(405, { allow: "POST", "content-type": "text/plain" }).end("use POST\n")
      if (options.adminPassword === undefined) {
        return void res.writeHead(403, { "content-type": "text/plain" }).end("admin endpoints are off: start the pool with --adminpass to use them\n")
      }
      if (!authorized(req, options.adminPassword)) {
        return void res.writeHead(401, { "www-authenticate": 'Basic realm="dcrforge admin"', "content-type": "text/plain" }).end("admin password required\n")
      }
      const name = `dcrforge-backup-${new Date().toISOString().replace(/[:.]/g, "-")}.jsonl`
      res.writeHead(200, { "content-type": "application/x-ndjson", "content-disposition": `attachment; filename="${name}"` })
      run(backup((line) => Effect.sync(() => void res.write(`${line}\n`)))).then(
        () => res.end(),
        // Headers are gone; cutting the stream short is how the client learns the backup is incomplete.
        () => res.destroy(),
      )
    }
    const server = createServer(handle)
    const port = yield* Effect.acquireRelease(
      Effect.callback<number, AdminHttpError>((resume) => {
        server.once("error", (e) => resume(Effect.fail(new AdminHttpError({ reason: `cannot listen on ${options.host}:${options.port}: ${e.message}` }))))
        server.listen(options.port, options.host, () => resume(Effect.succeed((server.address() as AddressInfo).port)))
      }),
      () =>
        Effect.callback<void>((resume) => {
          server.close(() => resume(Effect.void))
          server.closeAllConnections()
        }),
    )
    return { port }
  })
