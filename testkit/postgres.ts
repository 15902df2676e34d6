import { execFile, spawnSync } from "node:child_process"
import { randomBytes } from "node:crypto"
import { accessSync, constants, chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { delimiter, dirname, join } from "node:path"
import { PgClient } from "@effect/sql-pg"
import { Effect, Redacted } from "effect"
import { SqlClient } from "effect/sql"
import { inCi } from "./vectors.ts"

/**
 * A real PostgreSQL server for the storage suites, one fresh database per caller (per test
 * file), so files running in parallel never see each other's tables.
 *
 * - With DCRFORGE_PG_URL set (CI sets it: .ci/run starts a cluster and exports it), the
 *   database is created on that server (its role needs CREATEDB) and dropped by `stop`.
 * - Otherwise a private throwaway cluster is started: initdb into a temp directory (as the
 *   `postgres` system user when running as root, since PostgreSQL refuses root), listening
 *   on 127.0.0.1 at a free port, with a random password; `stop` shuts it down and deletes it.
 * - With neither (no server binaries in PATH or /usr/lib/postgresql/<v>/bin, or root without
 *   a `postgres` user) it returns `{ skip: reason }` on a developer's machine; in CI
 *   (CI=true) it throws instead, since a missing engine is a failure there, never a skip.
 *   A server that is present but fails to start, or a DCRFORGE_PG_URL that does not
 *   answer, always throws.
 */
interface PostgresForTests {
  /** postgres://user:password@127.0.0.1:port/database, for `PgClient.layer({ url: Redacted.make(url) })`. */
  readonly url: string
  /** Drops the database (or stops and deletes the private cluster). Safe to call twice. */
  readonly stop: () => Promise<void>
}

type PostgresForTestsResult = PostgresForTests | { readonly skip: string }

export const postgresForTests = async (): Promise<PostgresForTestsResult> => {
  const shared = process.env["DCRFORGE_PG_URL"]
  if (shared !== undefined && shared !== "") return freshDatabase(shared, "DCRFORGE_PG_URL")
  const engine = findEngine()
  if (typeof engine === "string") {
    const reason = `no PostgreSQL for the storage tests: ${engine}; install Debian's postgresql or set DCRFORGE_PG_URL`
    if (inCi()) throw new Error(`${reason}. CI may not skip them (.ci/run provisions PostgreSQL)`)
    console.warn(`skipping: ${reason}`)
    return { skip: reason }
  }
  const cluster = await startCluster(engine)
  try {
    const db = await freshDatabase(cluster.url, "the private test cluster")
    return { url: db.url, stop: once(cluster.stop) }
  } catch (error) {
    await cluster.stop()
    throw error
  }
}

// --- a fresh database on a given server -----------------------------------------------

/** Runs `body` against the server at `url` (its own database), then closes the client. */
const withClient = <A>(url: string, body: (sql: SqlClient.SqlClient) => Effect.Effect<A, unknown>): Promise<A> =>
  Effect.runPromise(
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      return yield* body(sql)
    }).pipe(Effect.provide(PgClient.layer({ url: Redacted.make(url), maxConnections: 1, connectTimeout: "10 seconds" })), Effect.scoped),
  )

const redact = (url: string): string => {
  try {
    const u = new URL(url)
    if (u.password !== "") u.password = "***"
    return u.toString()
  } catch {
    return "(unparseable URL)"
  }
}

const freshDatabase = async (serverUrl: string, source: string): Promise<PostgresForTests> => {
  let url: URL
  try {
    url = new URL(serverUrl)
  } catch {
    throw new Error(`${source} is not a postgres:// URL`)
  }
  // Unique across parallel test files, processes and reruns; a valid unquoted identifier.
  const name = `dcrforge_test_${process.pid}_${Date.now().toString(36)}_${randomBytes(4).toString("hex")}`
  try {
    await withClient(serverUrl, (sql) => sql.unsafe(`CREATE DATABASE ${name}`))
  } catch (error) {
    throw new Error(`could not create a test database on ${redact(serverUrl)} (${source}): ${messageOf(error)}`, { cause: error })
  }
  url.pathname = `/${name}`
  const stop = once(async () => {
    // FORCE ends connections a suite's pool may still hold (PostgreSQL 13+).
    await withClient(serverUrl, (sql) => sql.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`))
  })
  return { url: url.toString(), stop }
}

// --- a private throwaway cluster ------------------------------------------------------

interface Engine {
  readonly bin: string
  /** The uid/gid to run the server as when we are root (the `postgres` system user). */
  readonly as: { readonly uid: number; readonly gid: number } | undefined
}

const SERVER_BINARIES = ["initdb", "pg_ctl", "postgres"] as const

const hasServerBinaries = (dir: string): boolean =>
  SERVER_BINARIES.every((name) => {
    try {
      accessSync(join(dir, name), constants.X_OK)
      return true
    } catch {
      return false
    }
  })

/** The server binaries' directory: beside pg_ctl on PATH, else the newest /usr/lib/postgresql/<v>/bin. */
const findBinDir = (): string | undefined => {
  for (const dir of (process.env["PATH"] ?? "").split(delimiter)) {
    if (dir === "" || !existsSync(join(dir, "pg_ctl"))) continue
    try {
      const real = dirname(realpathSync(join(dir, "pg_ctl")))
      if (hasServerBinaries(real)) return real
    } catch {
      // a dangling link: keep looking
    }
  }
  const root = "/usr/lib/postgresql"
  let versions: Array<string> = []
  try {
    versions = readdirSync(root)
  } catch {
    return undefined
  }
  return versions
    .sort((a, b) => Number.parseFloat(b) - Number.parseFloat(a))
    .map((v) => join(root, v, "bin"))
    .find(hasServerBinaries)
}

/** The `postgres` user's uid and gid from /etc/passwd, if there is one. */
const postgresUser = (): { uid: number; gid: number } | undefined => {
  try {
    for (const line of readFileSync("/etc/passwd", "utf8").split("\n")) {
      const [user, , uid, gid] = line.split(":")
      if (user === "postgres" && uid !== undefined && gid !== undefined) return { uid: Number(uid), gid: Number(gid) }
    }
  } catch {
    // no /etc/passwd: fall through
  }
  return undefined
}

/** The engine to start, or why there is none. */
const findEngine = (): Engine | string => {
  const bin = findBinDir()
  if (bin === undefined) return "no PostgreSQL server binaries (initdb, pg_ctl, postgres) in PATH or /usr/lib/postgresql/*/bin"
  if (process.getuid?.() !== 0) return { bin, as: undefined }
  const as = postgresUser()
  if (as === undefined) return `running as root (which PostgreSQL refuses) and there is no "postgres" system user to run ${bin}/postgres as`
  return { bin, as }
}

const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer()
    server.unref()
    server.once("error", reject)
    server.listen({ host: "127.0.0.1", port: 0, exclusive: true }, () => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      server.close(() => (port > 0 ? resolve(port) : reject(new Error("no port from the OS"))))
    })
  })

const run = (engine: Engine, cwd: string, file: string, args: ReadonlyArray<string>): Promise<string> =>
  new Promise((resolve, reject) => {
    execFile(join(engine.bin, file), args, { cwd, timeout: 120_000, env: { ...process.env, LC_ALL: "C" }, ...(engine.as ?? {}) }, (error, stdout, stderr) => {
      if (error === null) resolve(stdout)
      else reject(new Error(`${file} ${args.join(" ")} failed: ${error.message}\n${stdout}${stderr}`.trim()))
    })
  })

const tail = (path: string): string => {
  try {
    return readFileSync(path, "utf8").split("\n").slice(-30).join("\n")
  } catch {
    return "(no server log)"
  }
}

const startCluster = async (engine: Engine): Promise<{ url: string; stop: () => Promise<void> }> => {
  const dir = mkdtempSync(join(tmpdir(), "dcrforge-pg-"))
  const data = join(dir, "data")
  const log = join(dir, "server.log")
  const password = randomBytes(16).toString("hex")
  if (engine.as !== undefined) chownSync(dir, engine.as.uid, engine.as.gid)
  chmodSync(dir, 0o700)

  // Synchronous so it also runs from a process "exit" handler, should a suite never call stop.
  const stopNow = (): void => {
    if (existsSync(join(data, "postmaster.pid"))) spawnSync(join(engine.bin, "pg_ctl"), ["-D", data, "-m", "immediate", "-w", "-t", "30", "stop"], { cwd: dir, stdio: "ignore", ...(engine.as ?? {}) })
    rmSync(dir, { recursive: true, force: true })
  }
  process.once("exit", stopNow)
  const stop = once(async () => {
    process.off("exit", stopNow)
    if (existsSync(join(data, "postmaster.pid"))) await run(engine, dir, "pg_ctl", ["-D", data, "-m", "fast", "-w", "-t", "60", "stop"]).catch(() => undefined)
    stopNow()
  })

  try {
    const pwfile = join(dir, "pwfile")
    writeFileSync(pwfile, `${password}\n`, { mode: 0o600 })
    if (engine.as !== undefined) chownSync(pwfile, engine.as.uid, engine.as.gid)
    await run(engine, dir, "initdb", ["-D", data, "-U", "dcrforge", "-E", "UTF8", "--no-locale", "--auth=scram-sha-256", `--pwfile=${pwfile}`])
    rmSync(pwfile)
    writeFileSync(
      join(data, "postgresql.conf"),
      [
        "",
        "# dcrforge tests: a throwaway server on loopback, durability traded for speed",
        "listen_addresses = '127.0.0.1'",
        `unix_socket_directories = '${dir}'`,
        "fsync = off",
        "synchronous_commit = off",
        "full_page_writes = off",
        "",
      ].join("\n"),
      { flag: "a" },
    )
    // Another process may take the port between our probe and the server's bind: retry.
    for (let attempt = 1; ; attempt++) {
      const port = await freePort()
      try {
        await run(engine, dir, "pg_ctl", ["-D", data, "-l", log, "-o", `-p ${port}`, "-w", "-t", "60", "start"])
        return { url: `postgres://dcrforge:${password}@127.0.0.1:${port}/postgres`, stop }
      } catch (error) {
        const serverLog = tail(log)
        if (attempt < 5 && /could not bind|could not create listen socket|address already in use/i.test(serverLog)) {
          rmSync(log, { force: true })
          continue
        }
        throw new Error(`${messageOf(error)}\n--- server log ---\n${serverLog}`, { cause: error })
      }
    }
  } catch (error) {
    await stop()
    throw new Error(`could not start a private PostgreSQL cluster with ${engine.bin}: ${messageOf(error)}`, { cause: error })
  }
}

// --- small helpers --------------------------------------------------------------------

/** The message with its causes' ("PgConnection: Failed to connect: password authentication failed ..."). */
const messageOf = (error: unknown): string => {
  const parts: Array<string> = []
  let current: unknown = error
  for (let depth = 0; depth < 5 && current !== undefined && current !== null; depth++) {
    const message = current instanceof Error ? current.message : typeof current === "object" ? undefined : String(current)
    if (message !== undefined && message !== "" && !parts.some((p) => p.includes(message))) parts.push(message)
    const next = current as { readonly cause?: unknown; readonly reason?: { readonly cause?: unknown } }
    current = typeof current === "object" ? (next.cause ?? next.reason?.cause) : undefined
  }
  return parts.join(": ")
}

const once = (f: () => Promise<void>): (() => Promise<void>) => {
  let done: Promise<void> | undefined
  return () => (done ??= f())
}
