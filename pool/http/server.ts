import type { AgendaVoteProgress } from "../../core/chain/agendas.ts"
import { Cause, Clock, Data, Effect, Exit, FiberSet, Redacted, Schedule } from "effect"
import type * as SqlClient from "effect/sql/SqlClient"
import { createHash, timingSafeEqual } from "node:crypto"
import { readFileSync } from "node:fs"
import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import { createServer as createHttpsServer } from "node:https"
import type { AddressInfo } from "node:net"
import { join } from "node:path"
import { CrashPoints } from "../ops/crash-points.ts"
import { healthProblems } from "../ops/health.ts"
import { PROMETHEUS_CONTENT_TYPE, type MetricsRegistry } from "../ops/metrics.ts"
import { backup } from "../store/backup.ts"
import { gatherStatus, StatusReport } from "../ops/status.ts"
import { accountInputError, API_ROUTES, apiInput, encodeJson, errorJson, liveStats, LiveEvent, matchRoute, openApiDocument, type ApiContext } from "./api.ts"
import type { PoolLiveState } from "../pool.ts"
import type { PoolStore } from "../store/store.ts"
import type { StakeView } from "../../core/services/stake-view.ts"
import {
  adminPasswordHash,
  clearedSessionCookie,
  csrfMatches,
  DEVICE_COOKIE,
  deviceCookie,
  makeRateLimiter,
  makeSessions,
  makeTrustedDevices,
  parseCookies,
  SESSION_COOKIE,
  sessionCookie,
  verifyPassword,
  type PasswordHash,
  type RateLimit,
  type WebSession,
} from "./auth.ts"
import { makeHashrateHistory } from "./history.ts"
import { accountPage, adminPage, connectPage, errorPage, loginPage, overviewPage, stakingPage } from "./pages.ts"

/**
 * The pool's HTTP server: the web UI (overview, connect, account, admin pages), the JSON API
 * under `/api/` (see api.ts, described at /api/openapi.json), live updates as server-sent
 * events at /api/events, and `POST /admin/backup`, which streams a consistent snapshot (the same
 * JSON lines as `pool backup`) to the admin: from the admin page (session cookie and CSRF token)
 * or from a script (HTTP basic auth, user "admin").
 *
 * Security: the admin password is kept as a salted scrypt hash; sessions are random ids in an
 * HttpOnly, SameSite=Strict cookie (Secure under TLS); every state-changing POST carries the
 * session's CSRF token; requests are rate-limited per client and live-update streams capped per
 * client (429 + Retry-After); admin logins are throttled per client and for the account as a
 * whole, except from a browser that logged in before (see "admin login throttling" below);
 * every response carries a CSP without inline script and frame-ancestors 'none'. HTTPS from a
 * certificate and key, or plain HTTP behind a reverse proxy (X-Forwarded-For/-Proto trusted only
 * with `trustProxy`). Nothing secret is logged or rendered, and no reply carries a backend's error
 * text: a malformed path or query is a 400 naming it, a failure inside a logged 503.
 *
 * Why node:http and not Effect's HttpServer / HttpRouter / HttpApi (effect/http,
 * @effect/platform-node's NodeHttpServer): the server holds each live-update stream open outside
 * any request, written by one shared poller, with a per-client slot freed on the response's
 * close; at shutdown it ends every stream and cuts every keep-alive connection so no browser
 * holds the pool open (NodeHttpServer's shutdown is server.close, which waits for them); and the
 * request checks the fuzz and security tests pin (the strict query parser, path parameters
 * decoded and refused by us, the 404/405/429 shapes, the headers on every response) would have
 * to be rebuilt as router middleware byte for byte. What is Effect's: each request is an Effect
 * forked into a FiberSet runtime bound to this server's scope (no promise bridges inside
 * handlers), and every JSON reply is encoded through its route's Schema (api.ts).
 */
export interface AdminHttpOptions {
  readonly host: string
  readonly port: number
  /** The admin password, or its `scrypt$...` hash. Without one, the admin endpoints refuse every request. */
  readonly adminPassword: Redacted.Redacted<string> | undefined
  /** The running pool; without it only the admin backup is served. */
  readonly live?: PoolLiveState | undefined
  /** The stake side of the chain for the Staking page and /api/staking; without it they say it is not available. */
  readonly stakeView?: StakeView["Service"] | undefined
  /** The pool's name in the UI. */
  readonly designation?: string | undefined
  /** The stratum port shown on the connect page. */
  readonly stratumPort?: number | undefined
  /** PEM certificate and key: serve HTTPS. */
  readonly tls?: { readonly cert: string; readonly key: string } | undefined
  /** Behind a reverse proxy: take the client address and scheme from X-Forwarded-For / -Proto. */
  readonly trustProxy?: boolean | undefined
  readonly rateLimits?:
    | {
        readonly requests?: RateLimit | undefined
        /** Admin login attempts per client, from browsers without a trusted-device cookie. */
        readonly logins?: RateLimit | undefined
        /** Admin login attempts from all such clients together: the cap on guessing from many addresses. */
        readonly accountLogins?: RateLimit | undefined
        /** Admin login attempts per trusted device (a browser that logged in before). */
        readonly deviceLogins?: RateLimit | undefined
      }
    | undefined
  /** Live-update streams (/api/events) open at once: in all, and from one client. */
  readonly eventStreams?: { readonly total?: number | undefined; readonly perClient?: number | undefined } | undefined
  /** Hashrate samples for the charts (default every 10 s, 360 kept: an hour). */
  readonly history?: { readonly intervalMillis: number; readonly capacity: number } | undefined
  readonly sessionLifetimeMillis?: number | undefined
  /** The pool's metrics: `GET /metrics` for Prometheus, without authentication (see metrics.ts). */
  readonly metrics?: MetricsRegistry | undefined
  /**
   * A consensus vote the chain holds, shown on the overview: the operator's dcrd's blake3pow
   * vote on regnet (dcrd-agenda-vote.ts), the simulated dcrd's in the main job.
   */
  readonly agendaProgress?: Effect.Effect<AgendaVoteProgress | undefined> | undefined
  /**
   * The running pool's token for the command line (`pool backup` and `pool status` while the
   * pool holds the embedded store; see ops/control.ts): `Authorization: Bearer <token>` on
   * `POST /admin/backup` and `GET /admin/status`, with or without an admin password.
   */
  readonly controlToken?: Redacted.Redacted<string> | undefined
}

class AdminHttpError extends Data.TaggedError("AdminHttpError")<{
  readonly reason: string
  /** The underlying error (a listen failure's EADDRINUSE, say), kept whole for the log. */
  readonly cause?: unknown
}> {
  override get message(): string {
    return `admin HTTP server: ${this.reason}`
  }
}

/** Per client: generous for pages and the API, strict for password guesses. */
const DEFAULT_REQUEST_LIMIT: RateLimit = { burst: 240, perSecond: 40 }
const DEFAULT_LOGIN_LIMIT: RateLimit = { burst: 5, perSecond: 1 / 12 }
/** Every client without a trusted-device cookie together: at most 720 guesses an hour at the admin password. */
const DEFAULT_ACCOUNT_LOGIN_LIMIT: RateLimit = { burst: 20, perSecond: 1 / 5 }
/** Per trusted device: the same as a client's, on a bucket no one else's guesses drain. */
const DEFAULT_DEVICE_LOGIN_LIMIT: RateLimit = DEFAULT_LOGIN_LIMIT
/** How long a browser stays trusted after its last successful admin login. */
const TRUSTED_DEVICE_LIFETIME_MS = 30 * 24 * 3600_000
/** The key of the one account logins are for (the bucket shared by every untrusted client). */
const ADMIN_ACCOUNT = "admin"

const SECURITY_HEADERS = {
  "content-security-policy":
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
  "cross-origin-opener-policy": "same-origin",
} as const

const STATIC_TYPES: Readonly<Record<string, string>> = {
  "app.js": "text/javascript; charset=utf-8",
  "app.css": "text/css; charset=utf-8",
  "favicon.svg": "image/svg+xml",
}

/** The UI's static files, read once at start (they ship with the code, under pool/http/web/). */
const loadStatic = () =>
  new Map<string, { readonly body: Buffer; readonly type: string; readonly etag: string }>(
    Object.entries(STATIC_TYPES).map(([name, type]) => {
      const body = readFileSync(join(import.meta.dirname, "web", name))
      return [`/static/${name}` as string, { body, type, etag: `"${createHash("sha256").update(body).digest("base64url").slice(0, 22)}"` }] as const
    }),
  )

const MAX_FORM_BYTES = 8 * 1024
const MAX_EVENT_STREAMS = 1000
/** A few browser tabs, or a few people behind one NAT; far below the total, so a handful of clients cannot take every stream. */
const MAX_EVENT_STREAMS_PER_CLIENT = 8
/** What a client is told when a lookup failed inside; the cause goes to the log, since a database's own text can name its internals. */
const STORE_DID_NOT_ANSWER = "the pool's database did not answer; see the pool's log"

/** A urlencoded form body, or undefined when it is over MAX_FORM_BYTES or the upload broke off. */
const readForm = (req: IncomingMessage) =>
  Effect.callback<URLSearchParams | undefined>((resume) => {
    const chunks: Array<Buffer> = []
    let size = 0
    req.on("data", (chunk: Buffer) => {
      size += chunk.length
      if (size > MAX_FORM_BYTES) {
        resume(Effect.succeed(undefined))
        req.destroy()
      } else chunks.push(chunk)
    })
    req.on("end", () => resume(Effect.succeed(new URLSearchParams(Buffer.concat(chunks).toString("utf8")))))
    req.on("error", () => resume(Effect.succeed(undefined)))
  })

/** The services a request's Effect runs with: the store, and the SQL client the backup reads through. */
type RequestServices = SqlClient.SqlClient | PoolStore
/** A route's handler: an Effect the server's runtime runs, one fiber per request. */
type Handler = (req: IncomingMessage, res: ServerResponse, url: URL) => Effect.Effect<void, never, RequestServices>
/** A handler that only writes its reply (no lookups, nothing to wait for). */
const replying =
  (write: (req: IncomingMessage, res: ServerResponse, url: URL) => void): Handler =>
  (req, res, url) =>
    Effect.sync(() => write(req, res, url))

const verified = (hash: PasswordHash, given: string) => Effect.promise(() => verifyPassword(hash, given))
const encodeLiveEvent = encodeJson(LiveEvent)
const encodeStatus = encodeJson(StatusReport)

/** Compares digests, so the comparison takes the same time whatever the token given. */
const sameToken = (given: string, token: string): boolean => timingSafeEqual(createHash("sha256").update(given).digest(), createHash("sha256").update(token).digest())

/** Serves until the scope closes; returns the bound port. */
export const serveAdminHttp = (options: AdminHttpOptions) =>
  Effect.gen(function* () {
    // Every request is one fiber of this runtime, in a set the server's scope interrupts at
    // shutdown: the node callback forks the request's Effect and nothing inside it bridges back
    // to promises (see README: why node:http and not Effect's HttpServer).
    const runRequest = yield* FiberSet.makeRuntime<RequestServices>()
    const clock = yield* Clock.clockWith(Effect.succeed)
    const now = () => clock.currentTimeMillisUnsafe()
    const password: PasswordHash | undefined = options.adminPassword === undefined ? undefined : yield* checkedPassword(options.adminPassword)
    const sessions = makeSessions({ lifetimeMs: options.sessionLifetimeMillis ?? 8 * 3600_000, capacity: 10_000, now })
    const requestLimit = makeRateLimiter(options.rateLimits?.requests ?? DEFAULT_REQUEST_LIMIT, now)
    const clientLoginLimit = makeRateLimiter(options.rateLimits?.logins ?? DEFAULT_LOGIN_LIMIT, now)
    const accountLoginLimit = makeRateLimiter(options.rateLimits?.accountLogins ?? DEFAULT_ACCOUNT_LOGIN_LIMIT, now)
    const deviceLoginLimit = makeRateLimiter(options.rateLimits?.deviceLogins ?? DEFAULT_DEVICE_LOGIN_LIMIT, now)
    const devices = password === undefined ? undefined : makeTrustedDevices(password, { lifetimeMs: TRUSTED_DEVICE_LIFETIME_MS, now })
    const maxStreams = options.eventStreams?.total ?? MAX_EVENT_STREAMS
    const maxStreamsPerClient = options.eventStreams?.perClient ?? MAX_EVENT_STREAMS_PER_CLIENT
    const statics = loadStatic()
    const designation = options.designation ?? "dcrforge pool"
    const live = options.live
    const api: ApiContext | undefined =
      live === undefined
        ? undefined
        : {
            live,
            designation,
            stratumPort: options.stratumPort ?? live.network.ports.p2p,
            stakeView: options.stakeView,
            history: yield* makeHashrateHistory(live, { intervalMillis: options.history?.intervalMillis ?? 10_000, capacity: options.history?.capacity ?? 360, windowMillis: 10 * 60_000 }),
          }

    // ---- helpers
    const secureRequest = (req: IncomingMessage) => options.tls !== undefined || (options.trustProxy === true && req.headers["x-forwarded-proto"] === "https")
    /** The client's address: the proxy's last hop when trusted, else the socket's peer. */
    const clientOf = (req: IncomingMessage): string => {
      const forwarded = req.headers["x-forwarded-for"]
      if (options.trustProxy === true && typeof forwarded === "string" && forwarded !== "") return forwarded.split(",").at(-1)!.trim()
      return req.socket.remoteAddress ?? "unknown"
    }
    const send = (res: ServerResponse, status: number, type: string, body: string | Buffer, headers: Record<string, string | ReadonlyArray<string>> = {}) =>
      void res.writeHead(status, { "content-type": type, "cache-control": "no-store", ...headers }).end(body)
    /** JSON already encoded through its schema (a route's reply, or ErrorReply by `sendError`). */
    const sendJson = (res: ServerResponse, status: number, json: string, headers: Record<string, string> = {}) => send(res, status, "application/json", json, headers)
    const sendError = (res: ServerResponse, status: number, message: string, headers: Record<string, string> = {}) => sendJson(res, status, errorJson(message), headers)
    const sendHtml = (res: ServerResponse, status: number, body: string, headers: Record<string, string | ReadonlyArray<string>> = {}) => send(res, status, "text/html; charset=utf-8", body, headers)
    const frame = (csrf?: string) => ({ designation, network: live?.network.name ?? "", csrf })
    /** The generic 503, as a page or as JSON: never the failure's own text (that is logged). */
    const unavailable = (res: ServerResponse, html: boolean) => {
      if (res.headersSent) return void res.destroy()
      if (html) sendHtml(res, 503, errorPage(frame(), 503, "The pool's database did not answer; see the pool's log."))
      else sendError(res, 503, STORE_DID_NOT_ANSWER)
    }
    /**
     * Runs a request's lookups and answers with `reply`; a failure (a lookup's, a reply its
     * schema refuses, or a bug in `reply`) is logged with its cause, naming the request, and
     * answered with the generic 503.
     */
    const answer = <A>(res: ServerResponse, request: string, html: boolean, effect: Effect.Effect<A, unknown, RequestServices>, reply: (a: A) => void) =>
      Effect.gen(function* () {
        const exit = yield* Effect.exit(Effect.flatMap(effect, (a) => Effect.sync(() => reply(a))))
        if (Exit.isSuccess(exit)) return
        yield* Effect.logError(`${request} failed; answered 503`, exit.cause)
        unavailable(res, html)
      })
    const tooMany = (res: ServerResponse, seconds: number, html: boolean, what = "Too many requests") =>
      html
        ? sendHtml(res, 429, errorPage(frame(), 429, `${what}: try again in ${seconds} s.`), { "retry-after": String(seconds) })
        : sendError(res, 429, `${what.toLowerCase()}: try again in ${seconds} s`, { "retry-after": String(seconds) })
    const sessionOf = (req: IncomingMessage): WebSession | undefined => sessions.get(parseCookies(req.headers.cookie).get(SESSION_COOKIE))

    // ---- the API
    const serveApi: Handler = (req, res, url) => {
      const refuse = (status: number, message: string) => Effect.sync(() => sendError(res, status, message))
      if (api === undefined) return refuse(404, "the API is off on this server")
      if (req.method !== "GET") return Effect.sync(() => send(res, 405, "text/plain", "use GET\n", { allow: "GET" }))
      const matched = matchRoute(url.pathname)
      if (matched === undefined) return refuse(404, `no such API path: ${url.pathname} (see /api/openapi.json)`)
      if (matched.route.admin === true && sessionOf(req)?.admin !== true) return refuse(401, "admin session required: log in at /admin")
      // Checked before any lookup: bad input is the client's to fix (400), never a database error.
      const input = apiInput(api.live, matched.route, matched.rawPath, url.search)
      if (typeof input === "string") return refuse(400, input)
      // The document is generated from the route table, not a reply of its own schema: plain JSON.
      if (url.pathname === "/api/openapi.json") return Effect.sync(() => sendJson(res, 200, JSON.stringify(openApiDocument(designation)), { "cache-control": "no-cache" }))
      if (url.pathname === "/api/events") return Effect.sync(() => serveEvents(req, res))
      const serve = matched.route.serve
      if (serve === undefined) return refuse(404, `no such API path: ${url.pathname} (see /api/openapi.json)`)
      return answer(res, `GET ${url.pathname}`, false, serve(api, input), (reply) => sendJson(res, reply.status, reply.json))
    }

    // ---- live updates: one poller for every open stream
    const streams = new Set<ServerResponse>()
    /** Open streams per client (as the rate limiter names clients), so a few clients cannot take all of them. */
    const streamsByClient = new Map<string, number>()
    let lastStats: { readonly json: string; readonly blocks: number } | undefined
    const serveEvents = (req: IncomingMessage, res: ServerResponse) => {
      const client = clientOf(req)
      const open = streamsByClient.get(client) ?? 0
      if (open >= maxStreamsPerClient) {
        return sendError(res, 429, `${open} live-update streams are open from your address already (at most ${maxStreamsPerClient}): close other tabs of this pool, then reload`, {
          "retry-after": "30",
        })
      }
      if (streams.size >= maxStreams) return sendError(res, 503, "too many live-update streams open; reload later")
      res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-store", "x-accel-buffering": "no" })
      res.write("retry: 3000\n\n")
      if (lastStats !== undefined) res.write(`event: stats\ndata: ${lastStats.json}\n\n`)
      streams.add(res)
      streamsByClient.set(client, open + 1)
      // The response's close (the client went, or the server ends it) frees the slot, once.
      res.once("close", () => {
        streams.delete(res)
        const left = (streamsByClient.get(client) ?? 1) - 1
        if (left <= 0) streamsByClient.delete(client)
        else streamsByClient.set(client, left)
      })
    }
    const broadcast = (event: string, data: string) => {
      for (const res of streams) res.write(`event: ${event}\ndata: ${data}\n\n`)
    }
    if (api !== undefined) {
      const faults = yield* Effect.serviceOption(CrashPoints)
      const tick = Effect.gen(function* () {
        if (faults._tag === "Some") yield* faults.value.at("live:tick")
        const stats = yield* liveStats(api.live, api.history.windowMillis)
        // Each event's data is encoded through LiveEvent, the schema the document gives for it.
        const json = yield* encodeLiveEvent(stats)
        if (lastStats !== undefined && stats.blocksFound !== lastStats.blocks) broadcast("block", json)
        if (json !== lastStats?.json) broadcast("stats", json)
        lastStats = { json, blocks: stats.blocksFound }
      }).pipe(Effect.catch((error) => Effect.logWarning("live update skipped; the next tick tries again", Cause.fail(error))))
      yield* api.live.tasks.supervise("live-updates", Effect.repeat(tick, Schedule.spaced("1 second")))
      // A comment line now and then keeps proxies from closing an idle stream.
      yield* api.live.tasks.supervise(
        "live-keepalive",
        Effect.repeat(
          Effect.sync(() => {
            for (const res of streams) res.write(": keep-alive\n\n")
          }),
          Schedule.spaced("20 seconds"),
        ),
      )
    }

    // ---- pages
    const overview: Handler = (_req, res) => {
      if (api === undefined) return Effect.sync(() => sendHtml(res, 404, errorPage(frame(), 404, "This server runs without the pool.")))
      return answer(
        res,
        "GET /",
        true,
        Effect.all([liveStats(api.live, api.history.windowMillis), api.live.health, options.agendaProgress ?? Effect.succeed(undefined)]),
        ([stats, health, agenda]) => {
          const network = api.history.samples().at(-1)?.network
          sendHtml(
            res,
            200,
            overviewPage(frame(), {
              network: api.live.network.name,
              mode: api.live.mode,
              scheme: api.live.scheme.kind,
              feeBasisPoints: api.live.feeBasisPoints,
              workHeight: stats.workHeight,
              connectedMiners: stats.connectedMiners,
              blocksFound: stats.blocksFound,
              hashesPerSecond: stats.hashesPerSecond,
              networkHashesPerSecond: network ?? null,
              healthProblems: healthProblems(health),
              agenda,
            }),
          )
        },
      )
    }
    const connect = replying((req, res) => {
      if (api === undefined) return sendHtml(res, 404, errorPage(frame(), 404, "This server runs without the pool."))
      const host = (req.headers.host ?? "127.0.0.1").replace(/:\d+$/, "")
      sendHtml(res, 200, connectPage(frame(), { host, port: api.stratumPort, pow: api.live.work()?.pow }))
    })
    const account = replying((_req, res, url) => {
      if (url.pathname === "/account") {
        const address = (url.searchParams.get("address") ?? "").trim()
        if (address === "") return sendHtml(res, 400, errorPage(frame(), 400, "Give a payout address to look up."))
        return send(res, 303, "text/plain", "", { location: `/account/${encodeURIComponent(address)}` })
      }
      let address: string
      try {
        address = decodeURIComponent(url.pathname.slice("/account/".length))
      } catch {
        return sendHtml(res, 400, errorPage(frame(), 400, "That is not an address."))
      }
      const problem =
        live === undefined ? (/^[A-Za-z0-9:]{1,100}$/.test(address) ? undefined : "That is not an address: payout addresses are letters and digits.") : accountInputError(live, address, "That address")
      if (problem !== undefined) return sendHtml(res, 400, errorPage(frame(), 400, problem))
      sendHtml(res, 200, accountPage(frame(), address))
    })
    /** `/staking`, and `/staking?address=A` to look a staker's tickets up (the script asks the API and shows its answer). */
    const staking: Handler = (_req, res, url) => {
      if (api === undefined) return Effect.sync(() => sendHtml(res, 404, errorPage(frame(), 404, "This server runs without the pool.")))
      const address = (url.searchParams.get("address") ?? "").trim()
      const view = api.stakeView
      if (view === undefined) {
        return Effect.sync(() => sendHtml(res, 200, stakingPage(frame(), { address, unavailable: "not available: this server runs without a staking view (the main job and `pool run` give it one)" })))
      }
      return Effect.gen(function* () {
        const exit = yield* Effect.exit(view.overview)
        if (Exit.isFailure(exit)) {
          yield* Effect.logWarning("GET /staking: the staking view did not answer", exit.cause)
          const message = exit.cause.reasons.find(Cause.isFailReason)?.error.message ?? "the staking view failed; see the pool's log"
          return sendHtml(res, 503, stakingPage(frame(), { address, unavailable: message }))
        }
        sendHtml(res, 200, stakingPage(frame(), { address, network: api.live.network.name, overview: exit.value }))
      })
    }
    const admin: Handler = (req, res) =>
      Effect.gen(function* () {
        const session = sessionOf(req)
        if (session?.admin === true && live !== undefined) {
          // The reserve is read for the page; a store that does not answer is said on the page, the cause logged.
          const reserve = yield* live.ppsReserve.pipe(Effect.catchCause((cause) => Effect.as(Effect.logError("GET /admin: the PPS reserve could not be read", cause), "unavailable" as const)))
          return sendHtml(res, 200, adminPage(frame(session.csrf), { mode: live.mode, scheme: live.scheme.kind, feeBasisPoints: live.feeBasisPoints, instance: live.network.name, reserve }))
        }
        if (password === undefined) return sendHtml(res, 200, loginPage(frame(), { enabled: false }))
        const anonymous = session ?? sessions.anonymous()
        sendHtml(res, 200, loginPage(frame(anonymous.csrf), { enabled: true }), session === undefined ? { "set-cookie": sessionCookie(anonymous, sessions.lifetimeMs, secureRequest(req)) } : {})
      })
    // ---- admin login throttling
    // An attacker must not be able to guess the password at speed, nor lock the admin out by
    // guessing wrong. Without something that tells the admin from a stranger, the two pull apart:
    // a stranger behind the admin's NAT is the same client, and a password checked (and accepted)
    // while the client is throttled would let every throttled guess be tried after all. So:
    // - A browser without a trusted-device cookie takes a token from its client's bucket (5, then
    //   one per 12 s) and then from the account's bucket shared by all such clients (20, then one
    //   per 5 s: the cap on guessing from many addresses). A throttled attempt is answered 429
    //   before its password is read: it costs the server nothing and tells nothing. A correct
    //   password never resets a bucket, so the admin logging in frees no guesses for others.
    // - A successful login sets a signed trusted-device cookie (auth.ts). Attempts carrying a
    //   valid one take tokens only from that device's own bucket, which nobody else's guesses
    //   drain: a browser that has logged in before is never locked out by others' failures.
    // - The admin on a new browser while someone guesses waits for the buckets to refill once the
    //   guessing stops (captcha-free backoff; Retry-After says how long), or logs in from a trusted one.
    const loginWait = (req: IncomingMessage): number | undefined => {
      const device = devices?.verify(parseCookies(req.headers.cookie).get(DEVICE_COOKIE))
      if (device !== undefined) return deviceLoginLimit.take(device)
      return clientLoginLimit.take(clientOf(req)) ?? accountLoginLimit.take(ADMIN_ACCOUNT)
    }
    const TOO_MANY_LOGINS = "Too many admin login attempts (a browser that has logged in here before is not held up by others' attempts)"
    /** The trusted-device cookie a successful login sets (renewed at each). */
    const trustedDeviceCookie = (req: IncomingMessage): ReadonlyArray<string> => (devices === undefined ? [] : [deviceCookie(devices.issue(), devices.lifetimeMs, secureRequest(req))])
    const login: Handler = (req, res) =>
      Effect.gen(function* () {
        if (password === undefined) return sendHtml(res, 403, loginPage(frame(), { enabled: false }))
        const wait = loginWait(req)
        if (wait !== undefined) return tooMany(res, wait, true, TOO_MANY_LOGINS)
        const form = yield* readForm(req)
        const session = sessionOf(req)
        if (form === undefined || session === undefined || !csrfMatches(session, form.get("csrf"))) {
          return sendHtml(res, 403, errorPage(frame(), 403, "The login form expired or did not come from this site: reload the admin page and try again."))
        }
        if (!(yield* verified(password, form.get("password") ?? ""))) return sendHtml(res, 401, loginPage(frame(session.csrf), { enabled: true, error: "Wrong password." }))
        const promoted = sessions.promote(session)
        send(res, 303, "text/plain", "", { location: "/admin", "set-cookie": [sessionCookie(promoted, sessions.lifetimeMs, secureRequest(req)), ...trustedDeviceCookie(req)] })
      })
    const logout: Handler = (req, res) =>
      Effect.gen(function* () {
        const form = yield* readForm(req)
        const session = sessionOf(req)
        if (session === undefined || form === undefined || !csrfMatches(session, form.get("csrf"))) return sendHtml(res, 403, errorPage(frame(), 403, "Log out from the admin page."))
        sessions.end(session.id)
        send(res, 303, "text/plain", "", { location: "/", "set-cookie": clearedSessionCookie(secureRequest(req)) })
      })
    const streamBackup = (res: ServerResponse, headers: Record<string, string | ReadonlyArray<string>> = {}) =>
      Effect.gen(function* () {
        const name = `dcrforge-backup-${new Date(now()).toISOString().replace(/[:.]/g, "-")}.jsonl`
        res.writeHead(200, { "content-type": "application/x-ndjson", "content-disposition": `attachment; filename="${name}"`, "cache-control": "no-store", ...headers })
        const exit = yield* Effect.exit(backup((line) => Effect.sync(() => void res.write(`${line}\n`))))
        if (Exit.isSuccess(exit)) return void res.end()
        // Headers are gone; cutting the stream short is how the client learns the backup is incomplete.
        res.destroy()
        yield* Effect.logError("POST /admin/backup failed; the stream was cut short", exit.cause)
      })
    /** The command line's token (ops/control.ts), when the request carries it. */
    const bearsControlToken = (req: IncomingMessage): boolean => {
      const header = req.headers.authorization
      return options.controlToken !== undefined && header !== undefined && header.startsWith("Bearer ") && sameToken(header.slice(7), Redacted.value(options.controlToken))
    }
    const backupRoute: Handler = (req, res) =>
      Effect.gen(function* () {
        if (bearsControlToken(req)) return yield* streamBackup(res)
        if (password === undefined) return send(res, 403, "text/plain", "admin endpoints are off: start the pool with --adminpass to use them\n")
        const header = req.headers.authorization
        if (header !== undefined) {
          // Scripts: HTTP basic auth, throttled like the form (a script may send the device cookie too).
          const wait = loginWait(req)
          if (wait !== undefined) return tooMany(res, wait, false, TOO_MANY_LOGINS)
          const given = header.startsWith("Basic ") ? Buffer.from(header.slice(6), "base64").toString("utf8") : ""
          const ok = given.startsWith("admin:") && (yield* verified(password, given.slice(6)))
          if (!ok) return send(res, 401, "text/plain", "admin password required\n", { "www-authenticate": 'Basic realm="dcrforge admin"' })
          return yield* streamBackup(res, { "set-cookie": trustedDeviceCookie(req) })
        }
        const session = sessionOf(req)
        if (session?.admin !== true) return send(res, 401, "text/plain", "admin password required\n", { "www-authenticate": 'Basic realm="dcrforge admin"' })
        const form = yield* readForm(req)
        if (form === undefined || !csrfMatches(session, form.get("csrf"))) return sendHtml(res, 403, errorPage(frame(), 403, "The backup form expired: reload the admin page."))
        yield* streamBackup(res)
      })
    /** `GET /admin/status`: what `pool status` prints, as JSON, for the command line's token or an admin session. */
    const statusRoute: Handler = (req, res) => {
      if (!bearsControlToken(req) && sessionOf(req)?.admin !== true) {
        return Effect.sync(() => sendError(res, 401, "the running pool's token (pool status reads it from the data directory) or an admin session is required"))
      }
      return answer(res, "GET /admin/status", false, Effect.flatMap(gatherStatus, encodeStatus), (json) => sendJson(res, 200, json))
    }
    /** `GET /metrics`: the registry rendered in the request's fiber (a render that fails is a 500 and a log line). */
    const metrics: Handler = (_req, res) => {
      const registry = options.metrics
      if (registry === undefined) return Effect.sync(() => send(res, 404, "text/plain", "metrics are off on this server\n"))
      return Effect.gen(function* () {
        const exit = yield* Effect.exit(registry.render)
        if (Exit.isSuccess(exit)) return send(res, 200, PROMETHEUS_CONTENT_TYPE, exit.value)
        yield* Effect.logError("GET /metrics failed; answered 500", exit.cause)
        send(res, 500, "text/plain", "metrics could not be rendered\n")
      })
    }

    /** Exact paths: method -> handler. Add a route here. */
    const routes = new Map<string, Partial<Record<"GET" | "POST", Handler>>>([
      ["/", { GET: overview }],
      ["/connect", { GET: connect }],
      ["/account", { GET: account }],
      ["/staking", { GET: staking }],
      ["/admin", { GET: admin }],
      ["/admin/login", { POST: login }],
      ["/admin/logout", { POST: logout }],
      ["/admin/backup", { POST: backupRoute }],
      ["/admin/status", { GET: statusRoute }],
      ["/metrics", { GET: metrics }],
    ])

    /** One request: checks and replies that need no lookup are done at once; the rest is the route's Effect. */
    const handle = (req: IncomingMessage, res: ServerResponse): Effect.Effect<void, never, RequestServices> => {
      for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value)
      if (secureRequest(req)) res.setHeader("strict-transport-security", "max-age=31536000")
      let url: URL
      try {
        url = new URL(req.url ?? "/", "http://pool")
      } catch {
        return Effect.sync(() => send(res, 400, "text/plain", "bad request\n"))
      }
      const asset = statics.get(url.pathname)
      if (asset !== undefined) {
        if (req.headers["if-none-match"] === asset.etag) return Effect.sync(() => void res.writeHead(304, { etag: asset.etag }).end())
        return Effect.sync(() => send(res, 200, asset.type, asset.body, { "cache-control": "public, max-age=300", etag: asset.etag }))
      }
      const wait = requestLimit.take(clientOf(req))
      const isApi = url.pathname.startsWith("/api/")
      if (wait !== undefined) return Effect.sync(() => tooMany(res, wait, !isApi))
      if (isApi) return serveApi(req, res, url)
      const route = url.pathname.startsWith("/account/") ? { GET: account } : routes.get(url.pathname)
      if (route === undefined) return Effect.sync(() => sendHtml(res, 404, errorPage(frame(), 404, "No such page.")))
      const handler = route[req.method as "GET" | "POST"]
      if (handler === undefined) return Effect.sync(() => send(res, 405, "text/plain", `use ${Object.keys(route).join(" or ")}\n`, { allow: Object.keys(route).join(", ") }))
      return handler(req, res, url)
    }
    // The one bridge from node's callback into Effect: the request's fiber, in the server's set.
    const onRequest = (req: IncomingMessage, res: ServerResponse) => void runRequest(Effect.suspend(() => handle(req, res)))

    const server = options.tls === undefined ? createServer(onRequest) : createHttpsServer({ cert: options.tls.cert, key: options.tls.key, minVersion: "TLSv1.2" }, onRequest)
    const port = yield* Effect.acquireRelease(
      Effect.callback<number, AdminHttpError>((resume) => {
        server.once("error", (e) => resume(Effect.fail(new AdminHttpError({ reason: `cannot listen on ${options.host}:${options.port}: ${e.message}`, cause: e }))))
        server.listen(options.port, options.host, () => resume(Effect.succeed((server.address() as AddressInfo).port)))
      }),
      () =>
        Effect.callback<void>((resume) => {
          for (const res of streams) res.end()
          server.close(() => resume(Effect.void))
          server.closeAllConnections()
        }),
    )
    return { port, routes: API_ROUTES.map((r) => r.path) }
  })

const checkedPassword = (configured: Redacted.Redacted<string>) => {
  const hash = adminPasswordHash(configured)
  return typeof hash === "string" ? Effect.fail(new AdminHttpError({ reason: `adminpass ${hash}; give the password itself or a hash made by \`./dcrforge pool hashpass\`` })) : Effect.succeed(hash)
}
