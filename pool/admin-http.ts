import { Data, Effect, Redacted } from "effect"
import type * as SqlClient from "effect/sql/SqlClient"
import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import { timingSafeEqual } from "node:crypto"
import { backup } from "./store/backup.ts"

/**
 * The admin API as far as storage needs it: `POST /admin/backup` streams a consistent snapshot
 * (the same JSON lines as `pool backup`) to an operator holding the admin password (HTTP basic
 * auth, user "admin"). The web UI and the rest of the API build on this server (issue 9).
 */
export interface AdminHttpOptions {
  readonly host: string
  readonly port: number
  readonly adminPassword: Redacted.Redacted<string>
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
    const context = yield* Effect.context<SqlClient.SqlClient>()
    const run = Effect.runPromiseWith(context)
    const handle = (req: IncomingMessage, res: ServerResponse) => {
      if (req.url !== "/admin/backup") return void res.writeHead(404, { "content-type": "text/plain" }).end("not found\n")
      if (req.method !== "POST") return void res.writeHead(405, { allow: "POST", "content-type": "text/plain" }).end("use POST\n")
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
