import * as net from "node:net"
import fc from "fast-check"
import { Effect, Fiber, Layer, Logger, Redacted, References } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { SIMNET } from "../../core/chain/params.ts"
import { StratumListener } from "../../core/services/listener.ts"
import { makeMemoryWallet } from "../../testkit/memory-wallet.ts"
import { makeMiniNode } from "../../testkit/mini-node.ts"
import { serveAdminHttp } from "./server.ts"
import { noCrashPoints } from "../ops/crash-points.ts"
import { PoolMetrics } from "../ops/metrics.ts"
import { runPool } from "../pool.ts"
import { pgliteLayer } from "../store/pglite.ts"
import { poolStoreLayer } from "../store/store.ts"
import { HonestMiner, SIMNET_ADDRESS, type CapturedLog } from "../../testkit/stratum-fuzz.ts"
import { tcpListenerLayer } from "../stratum/tcp-listener.ts"
import { simnetTestPoolOptions } from "../../testkit/pool.ts"

/**
 * The pool's web server (read-only use of pool/http/server.ts) on the production pool, fed
 * malformed and hostile HTTP requests from fast-check over raw TCP, one request a connection.
 * The rule: every request gets one HTTP/1.1 response with a status below 500 (the store is up, so
 * nothing may fail), a JSON body wherever the type says JSON, no body for HEAD; the server logs
 * no error; and afterwards it still serves the API and an honest miner still mines.
 */

const HEX = [..."0123456789abcdef"]
const junk = fc.oneof(
  fc.string({ maxLength: 16 }),
  fc.string({ unit: fc.constantFrom(...HEX), maxLength: 70 }),
  fc.constantFrom("", "..", "%2e%2e", "%00", "%ff", "%", "%zz", "%c0%af", "\u00e9", "a b", "{address}", "-1", "1e999", "0x10", "NaN", SIMNET_ADDRESS, "Dsa3yVGJK9XFx6L5cC8YzcW3M5Q85wdEXcz"),
)
/** Characters that may appear raw in a request target (RFC 9112), and the rest percent-encoded. */
const pathSegment = junk.map((s) => encodeURIComponent(s).replace(/%2[fF]/g, (m) => (m === "%2F" ? "/" : m)))
const PATHS = [
  "/",
  "/connect",
  "/account",
  "/admin",
  "/admin/login",
  "/admin/logout",
  "/admin/backup",
  "/metrics",
  "/app.js",
  "/app.css",
  "/favicon.svg",
  "/api/health",
  "/api/pool",
  "/api/hashrate",
  "/api/blocks",
  "/api/quotas",
  "/api/miners",
  "/api/accounts",
  "/api/payouts",
  "/api/admin/clients",
  "/api/admin/fees",
  "/api/openapi.json",
  "/api/events",
]
const target = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...PATHS) },
  { weight: 3, arbitrary: fc.tuple(fc.constantFrom("/account/", "/api/accounts/"), pathSegment, fc.constantFrom("", "/blocks", "/payments", "/hashrate", "/x", "/")).map((parts) => parts.join("")) },
  { weight: 1, arbitrary: fc.array(pathSegment, { minLength: 1, maxLength: 4 }).map((segments) => `/${segments.join("/")}`) },
  { weight: 1, arbitrary: fc.constantFrom("*", "//", "/api//pool", "/api/pool/", "http://pool/api/pool", "/%2e%2e/%2e%2e/etc/passwd", "/api/../admin", `/${"a".repeat(9000)}`) },
)
const queryPairs = fc
  .array(
    fc.tuple(
      fc.oneof(fc.constantFrom("limit", "offset", "window", "since", "limit[]", "__proto__"), pathSegment),
      fc.oneof(fc.constantFrom("0", "1", "500", "501", "-1", "1.5", "1e3", "99999999999999999999", ""), pathSegment),
    ),
    { maxLength: 4 },
  )
  .map((pairs) => (pairs.length === 0 ? "" : `?${pairs.map(([k, v]) => `${k}=${v}`).join("&")}`))
const query = fc.oneof({ weight: 2, arbitrary: fc.constant("") }, queryPairs)
const header = fc.oneof(
  fc.constantFrom(
    "Cookie: dcrforge_session=abc; dcrforge_session=def",
    "Cookie: =;;=;",
    "Content-Type: application/x-www-form-urlencoded",
    "Content-Type: application/json",
    "Authorization: Basic YWRtaW46Z3Vlc3M=",
    "Authorization: Basic !!!",
    "Authorization: Bearer x",
    "If-None-Match: *",
    "X-Forwarded-For: 1.2.3.4, 5.6.7.8",
    "X-Forwarded-Proto: https",
    "Accept: text/event-stream",
    "Origin: http://evil.example",
    "Expect: 100-continue",
    `X-Long: ${"x".repeat(10_000)}`,
  ),
  fc
    .tuple(
      fc.stringMatching(/^[A-Za-z-]{1,12}$/),
      fc.string({ maxLength: 20 }).map((v) => v.replace(/[\r\n]/g, " ")),
    )
    .map(([k, v]) => `${k}: ${v}`),
)
// CONNECT is left out: Node's HTTP server, given no 'connect' handler, closes such a connection
// without an answer (its documented rule), which is all a pool's web server owes a proxy request.
const method = fc.oneof({ weight: 5, arbitrary: fc.constantFrom("GET", "GET", "HEAD", "POST") }, fc.constantFrom("PUT", "DELETE", "OPTIONS", "PATCH", "TRACE", "get", "BREW"))
const body = fc.oneof(fc.constant(""), fc.string({ maxLength: 64 }), fc.constantFrom("password=x&csrf=y", "password=%zz", "{}", "user=admin&password=guess"))
/** A request as bytes: well-formed HTTP/1.1 with awkward parts, or, now and then, not HTTP at all. */
const request = fc.oneof(
  {
    weight: 9,
    arbitrary: fc.record({ method, target, query, headers: fc.array(header, { maxLength: 3 }), body }).map(({ method, target, query, headers, body }) => ({
      method,
      text: [`${method} ${target}${query} HTTP/1.1`, "Host: pool", ...headers, `Content-Length: ${Buffer.byteLength(body)}`, "Connection: close", "", body].join("\r\n"),
    })),
  },
  { weight: 1, arbitrary: fc.string({ maxLength: 40 }).map((text) => ({ method: "?", text: `${text}\r\n\r\n` })) },
)

interface HttpResponse {
  readonly status: number
  readonly headers: ReadonlyMap<string, string>
  readonly body: string
}

/** Sends raw bytes and reads one response (until the server closes; an event stream only to its headers). */
const exchange = (port: number, text: string): Promise<HttpResponse | string> =>
  new Promise((resolve) => {
    const socket = net.connect({ port, host: "127.0.0.1" })
    let received = Buffer.alloc(0)
    const timer = setTimeout(() => finish(), 5_000)
    const finish = () => {
      clearTimeout(timer)
      socket.destroy()
      // An interim 100 Continue (the answer to Expect: 100-continue) comes before the response.
      const raw = received.toString("latin1").replace(/^(HTTP\/1\.1 1\d\d [^\r]*\r\n(?:[^\r]+\r\n)*\r\n)+/, "")
      const headEnd = raw.indexOf("\r\n\r\n")
      const status = /^HTTP\/1\.1 (\d{3}) /.exec(raw)
      if (status === null || headEnd < 0) return resolve(`no HTTP response: ${JSON.stringify(raw.slice(0, 200))}`)
      const headers = new Map(
        raw
          .slice(0, headEnd)
          .split("\r\n")
          .slice(1)
          .map((line) => [line.slice(0, line.indexOf(":")).toLowerCase(), line.slice(line.indexOf(":") + 1).trim()] as const),
      )
      resolve({ status: Number(status[1]), headers, body: Buffer.from(raw.slice(headEnd + 4), "latin1").toString("utf8") })
    }
    socket.on("data", (chunk) => {
      received = Buffer.concat([received, chunk])
      if (/content-type: text\/event-stream/i.test(received.toString("latin1")) && received.includes("\r\n\r\n")) finish()
    })
    socket.on("close", finish)
    socket.on("error", () => {})
    socket.write(text)
  })

/** Everything wrong with one response by the rule, as lines a person can act on. */
const violationsOf = (sent: { readonly method: string; readonly text: string }, response: HttpResponse | string): Array<string> => {
  const what = JSON.stringify(sent.text.slice(0, 160))
  if (typeof response === "string") return [`${what}: ${response}`]
  const problems: Array<string> = []
  if (response.status < 200) problems.push(`${what}: an interim status ${response.status} and no response`)
  if (response.status >= 500) problems.push(`${what}: status ${response.status}: ${response.body.slice(0, 200)}`)
  const chunked = response.headers.get("transfer-encoding") === "chunked"
  if (sent.method === "HEAD" && response.body !== "") problems.push(`${what}: a body in answer to HEAD`)
  if (sent.method !== "HEAD" && !chunked && (response.headers.get("content-type") ?? "").startsWith("application/json")) {
    try {
      JSON.parse(response.body)
    } catch {
      problems.push(`${what}: status ${response.status} says JSON but is not: ${response.body.slice(0, 200)}`)
    }
  }
  return problems
}

const FEE_ADDRESS = "SsWzYhmaPBo4tmdTpWcdeZVR7rxC3Gb6ERv"

interface Fixture {
  readonly httpPort: number
  readonly stratumPort: number
  readonly logs: Array<CapturedLog>
}

/**
 * The production pool (runPool on PGlite in memory, the mini node, a memory wallet) with its web
 * server, started once for the file: PGlite takes seconds to start, and `./dcrforge explore`
 * repeats the property many times in one run. Stopped by interrupting its fiber.
 */
const startPool = (): { readonly ready: Promise<Fixture>; readonly stop: () => Promise<unknown> } => {
  const logs: Array<CapturedLog> = []
  const capture = Logger.layer([Logger.make((o) => void logs.push({ level: o.logLevel, message: Array.isArray(o.message) ? o.message.join(" ") : String(o.message) }))])
  let started: (fixture: Fixture) => void = () => {}
  const ready = new Promise<Fixture>((resolve) => (started = resolve))
  const fiber = Effect.runFork(
    Effect.gen(function* () {
      const node = yield* makeMiniNode(SIMNET, 0x1b00ffff)
      const store = poolStoreLayer.pipe(Layer.provideMerge(pgliteLayer({ dataDir: undefined })))
      const layers = Layer.mergeAll(tcpListenerLayer({ host: "127.0.0.1", port: 0 }), node.layer, makeMemoryWallet().layer, noCrashPoints, store, PoolMetrics.layer)
      return yield* Effect.gen(function* () {
        const pool = yield* runPool(simnetTestPoolOptions("http-fuzz", FEE_ADDRESS))
        const stratumPort = (yield* StratumListener).port
        // The request budget raised so that the fuzz reaches the routes rather than the 429.
        const http = yield* serveAdminHttp({
          host: "127.0.0.1",
          port: 0,
          adminPassword: Redacted.make("correct horse"),
          live: pool.live,
          stratumPort,
          metrics: pool.metrics.registry,
          rateLimits: { requests: { burst: 100_000, perSecond: 100_000 } },
        })
        started({ httpPort: http.port, stratumPort, logs })
        return yield* Effect.never
      }).pipe(Effect.scoped, Effect.provide(layers))
    }).pipe(Effect.provide(capture), Effect.provideService(References.MinimumLogLevel, "Info")),
  )
  const ended = Effect.runPromise(Fiber.join(fiber)).then(() => {
    throw new Error("the pool stopped before it was ready")
  })
  return { ready: Promise.race([ready, ended]), stop: () => Effect.runPromise(Fiber.interrupt(fiber)) }
}

describe("web server fuzz over TCP", () => {
  let pool: ReturnType<typeof startPool>
  beforeAll(async () => {
    pool = startPool()
    await pool.ready
  }, 120_000)
  afterAll(() => pool.stop())

  it("property: every request a hostile client sends gets one HTTP response under 500, JSON where it says JSON; the server logs no error and keeps serving, and an honest miner keeps mining", async () => {
    const { httpPort, stratumPort, logs } = await pool.ready
    const honest = await HonestMiner.connect({ port: stratumPort, network: SIMNET })
    try {
      expect(await honest.submit()).toBe(true)
      await fc.assert(
        fc.asyncProperty(request, async (sent) => {
          expect(violationsOf(sent, await exchange(httpPort, sent.text))).toEqual([])
        }),
        { numRuns: 150 },
      )
      const after = await exchange(httpPort, "GET /api/pool HTTP/1.1\r\nHost: pool\r\nConnection: close\r\n\r\n")
      expect(typeof after === "string" ? after : after.status).toBe(200)
      expect(await honest.submit(), honest.refusals.join("; ")).toBe(true)
      expect(logs.filter((l) => l.level === "Error" || l.level === "Fatal")).toEqual([])
    } finally {
      honest.close()
    }
  })
})
