import { Cause, Effect, JsonSchema, Layer, Logger, Redacted, Result, Schema, SchemaRepresentation } from "effect"
import { SqlError, UnknownError } from "effect/sql/SqlError"
import { DIFFICULTY_SCALE } from "../../core/stratum/difficulty.ts"
import { encodeAddress } from "../../core/chain/address.ts"
import { MAINNET, SIMNET } from "../../core/chain/params.ts"
import { describe, expect, it } from "vitest"
import { serveAdminHttp, type AdminHttpOptions } from "./server.ts"
import { restore } from "../store/backup.ts"
import { pgliteLayer } from "../store/pglite.ts"
import { migrate } from "../store/schema.ts"
import { PoolStore, poolStoreLayer, type PoolStoreShape } from "../store/store.ts"
import { API_ROUTES } from "./api.ts"
import type { PoolLiveState } from "../pool.ts"
import { TicketLookupUnavailable, type StakeView, StakeViewUnavailable } from "../../core/services/stake-view.ts"
import { hashPassword, makeSessions, parsePasswordHash, verifyPassword } from "./auth.ts"
import { spawnSync } from "node:child_process"
import { selfSignedCertificate } from "../../testkit/tls.ts"
import { request as httpsRequest } from "node:https"
import type { TLSSocket } from "node:tls"
import { makePoolMetrics } from "../ops/metrics.ts"
import { makeTaskSupervisor } from "../ops/supervisor.ts"

/** Payout addresses of the test pool's network (the API refuses anything else as an account). */
const simnetAddress = (byte: number) => encodeAddress("p2pkh-ecdsa-secp256k1", new Uint8Array(20).fill(byte), SIMNET)
const ALICE = simnetAddress(1)
const BOB = simnetAddress(2)
const NOBODY = simnetAddress(3)

const live: PoolLiveState = {
  network: SIMNET,
  mode: "pool",
  scheme: { kind: "pplns", windowMultiple: { numerator: 2n, denominator: 1n } },
  feeBasisPoints: 100,
  counters: { connected: 3, connectionsTotal: 4, sharesAccepted: 10, sharesRejected: 1, blockCandidates: 0 },
  workHeight: () => 120,
  work: () => ({ height: 120, networkTarget: SIMNET.powLimit / 4n, pow: "blake3" }),
  hashesPerUnitDifficulty: 2n,
  hashrates: () => Effect.succeed({ clients: [{ account: ALICE, worker: "w", model: "gominer", hashesPerSecond: 1234.4, lastMs: 5 }], accounts: new Map([[ALICE, 1234.4]]) }),
  nextRewardWeights: () =>
    Effect.succeed(
      new Map([
        [ALICE, 3n],
        [BOB, 1n],
      ]),
    ),
  ppsReserve: Effect.succeed({ applies: false, blocks: 0, blocksIn: 0n, creditedToShares: 0n, balance: 0n, lowThreshold: 0n, low: false }),
  tasks: makeTaskSupervisor(makePoolMetrics()),
  health: Effect.succeed({ ok: true, checkedMs: 0, components: { dcrd: { ok: true, detail: "" }, wallet: { ok: true, detail: "" }, store: { ok: true, detail: "" } }, tasks: [] }),
}
/** A staking view over fixed figures: the API's and the page's input, without a chain. */
const stakeView: StakeView["Service"] = {
  overview: Effect.succeed({
    height: 150,
    price: 2_500_000_000n,
    estimate: { min: 2_000_000_000n, expected: 2_600_000_000n, max: 9_007_199_254_740_993n, blocksLeftInWindow: 9, nextWindowStartsAt: 160 },
    windowSize: 8,
    poolSize: 300,
    poolTarget: 320,
    mempoolTickets: 4,
  }),
  priceHistory: (windows) => Effect.succeed(Array.from({ length: 19 }, (_, i) => ({ startHeight: i * 8, price: 200_000_000n + BigInt(i) * 10_000_000n })).slice(-windows)),
  recentBlocks: (limit, offset) =>
    Effect.succeed({
      blocks: Array.from({ length: Math.max(0, Math.min(limit, 151 - offset)) }, (_, i) => ({
        height: 150 - offset - i,
        hash: "cd".repeat(32),
        votes: 4,
        misses: 1,
        revocations: 1,
        tickets: 2,
        poolSize: 300,
        price: 2_500_000_000n,
      })),
      total: 151,
    }),
  ticketsOf: (address) =>
    Effect.succeed(
      address === ALICE
        ? [
            {
              ticket: "01".repeat(32),
              status: "live",
              price: 2_500_000_000n,
              fee: 10_000n,
              minedAt: 120,
              liveAt: 136,
              spentAt: undefined,
              revokedAt: undefined,
              revokedBecause: undefined,
              returned: undefined,
            },
            {
              ticket: "02".repeat(32),
              status: "voted",
              price: 2_000_000_000n,
              fee: 10_000n,
              minedAt: 90,
              liveAt: 106,
              spentAt: 140,
              revokedAt: undefined,
              revokedBecause: undefined,
              returned: 2_100_010_000n,
            },
            {
              ticket: "03".repeat(32),
              status: "revoked",
              price: 2_000_000_000n,
              fee: undefined,
              minedAt: 80,
              liveAt: 96,
              spentAt: 130,
              revokedAt: 130,
              revokedBecause: "missed",
              returned: 2_000_010_000n,
            },
          ]
        : [],
    ),
}

const storeLayer = () => poolStoreLayer.pipe(Layer.provideMerge(pgliteLayer({ dataDir: undefined })))
const share = { id: "s1", account: ALICE, worker: "w", model: "gominer", weight: 5n * DIFFICULTY_SCALE, createdMs: 1, height: 101, networkDifficulty: 9n, instance: "i" }

/**
 * Runs `body` against a server on a fresh in-memory store holding one share and one block.
 * `store` swaps in another store for the server (one that fails, say); `logs` collects what the
 * server logs, each line with its cause.
 */
const withServer = <A>(
  options: Partial<AdminHttpOptions>,
  body: (base: string) => Promise<A>,
  extra: { readonly store?: (real: PoolStoreShape) => PoolStoreShape; readonly logs?: Array<string> } = {},
) =>
  Effect.runPromise(
    Effect.gen(function* () {
      yield* migrate
      const store = yield* PoolStore
      yield* store.insertShares([share])
      yield* store.insertBlock({ hash: "ab".repeat(32), height: 119, account: ALICE, worker: "w", model: "gominer", foundMs: 2, networkDifficulty: 9n }, 3)
      const serve = serveAdminHttp({ host: "127.0.0.1", port: 0, adminPassword: undefined, live, stakeView, ...options })
      const { port } = yield* extra.store === undefined ? serve : Effect.provideService(serve, PoolStore, extra.store(store))
      return yield* Effect.promise(() => body(`http://127.0.0.1:${port}`))
    }).pipe(Effect.scoped, Effect.provide(storeLayer()), (effect) => (extra.logs === undefined ? effect : Effect.provide(effect, capturedLogs(extra.logs)))),
  )

interface OpenApiDocument {
  readonly openapi: string
  readonly paths: Record<string, { readonly get: { readonly responses: Record<string, { readonly content: Record<string, { readonly schema: JsonSchema.JsonSchema }> }> } }>
}

/** The 200 reply's JSON Schema for `path` in a served OpenAPI document, as an Effect schema. */
const documentedSchema = (doc: OpenApiDocument, path: string) => {
  const { $defs, ...schema } = doc.paths[path]!.get.responses["200"]!.content["application/json"]!.schema as JsonSchema.JsonSchema & { readonly $defs?: JsonSchema.Definitions }
  // Typed as Top; an imported schema is built of Effect's own schemas, which need no services.
  return SchemaRepresentation.fromJsonSchemaDocument({ dialect: "draft-2020-12", schema, definitions: $defs ?? {} }) as Schema.Codec<unknown>
}

/** A logger that keeps each line with its cause, in place of the console. */
const capturedLogs = (into: Array<string>) => Logger.layer([Logger.make((o) => void into.push(`${String(o.message)}\n${Cause.pretty(o.cause)}`))])

describe("admin API: backup", () => {
  it("POST /admin/backup streams a snapshot to the admin only (basic auth), and it restores", async () => {
    const { unauthorized, wrong, ok, lines } = await withServer({ adminPassword: Redacted.make("s3cret") }, async (base) => {
      const post = (auth?: string) => fetch(`${base}/admin/backup`, { method: "POST", headers: auth === undefined ? {} : { authorization: `Basic ${btoa(auth)}` } })
      const unauthorized = (await post()).status
      const wrong = (await post("admin:guess")).status
      const response = await post("admin:s3cret")
      return { unauthorized, wrong, ok: response.status, lines: (await response.text()).split("\n") }
    })
    expect([unauthorized, wrong, ok]).toEqual([401, 401, 200])
    const counts = await Effect.runPromise(restore(lines).pipe(Effect.scoped, Effect.provide(pgliteLayer({ dataDir: undefined }))))
    expect(counts.shares).toBe(1)
  }, 60_000)
})

/** Logs in at /admin with `password`; the admin session's cookie. */
const adminLogin = async (base: string, password: string): Promise<string> => {
  const page = await fetch(`${base}/admin`)
  const cookie = page.headers.get("set-cookie")!.split(";")[0]!
  const csrf = /name="csrf" value="([^"]+)"/.exec(await page.text())![1]!
  const login = await fetch(`${base}/admin/login`, {
    method: "POST",
    redirect: "manual",
    headers: { cookie, "content-type": "application/x-www-form-urlencoded" },
    body: `csrf=${csrf}&password=${password}`,
  })
  return login.headers.get("set-cookie")!.split(";")[0]!
}

describe("admin: the PPS reserve", () => {
  const reserve = (balance: bigint) => ({
    applies: true,
    blocks: 2,
    blocksIn: 2_000_000_000n,
    creditedToShares: 2_000_000_000n - balance,
    balance,
    lowThreshold: -500_000_000n,
    low: balance < -500_000_000n,
  })
  const pps = (ppsReserve: PoolLiveState["ppsReserve"]): PoolLiveState => ({ ...live, scheme: { kind: "pps" }, ppsReserve })
  const look = (ppsReserve: PoolLiveState["ppsReserve"], logs?: Array<string>) =>
    withServer(
      { adminPassword: Redacted.make("pw"), live: pps(ppsReserve) },
      async (base) => {
        const admin = await adminLogin(base, "pw")
        const page = await (await fetch(`${base}/admin`, { headers: { cookie: admin } })).text()
        const api = await fetch(`${base}/api/admin/pps-reserve`, { headers: { cookie: admin } })
        const anonymous = await fetch(`${base}/api/admin/pps-reserve`)
        return { page, status: api.status, body: (await api.json()) as unknown, anonymous: anonymous.status }
      },
      logs === undefined ? {} : { logs },
    )

  it("the admin page and /api/admin/pps-reserve show blocks in, PPS out and the balance; below the threshold the page warns", async () => {
    const low = await look(Effect.succeed(reserve(-750_000_000n)))
    expect(low.status).toBe(200)
    expect(low.anonymous).toBe(401)
    expect(low.body).toEqual({ applies: true, blocks: 2, blocksIn: "2000000000", creditedToShares: "2750000000", balance: "-750000000", lowThreshold: "-500000000", low: true })
    expect(low.page).toContain('id="pps-reserve-balance">-7.5 DCR<')
    expect(low.page).toContain('id="pps-reserve-in">20 DCR<')
    expect(low.page).toContain('id="pps-reserve-out">27.5 DCR<')
    expect(low.page).toContain('id="pps-reserve-warning"')
    expect(low.page).toContain("The reserve is low: -7.5 DCR, below the threshold of -5 DCR")
    const fine = await look(Effect.succeed(reserve(100_000_000n)))
    expect(fine.page).toContain('id="pps-reserve-balance">1 DCR<')
    expect(fine.page).not.toContain("pps-reserve-warning")
  }, 60_000)

  it("a reserve the store cannot read is said on the admin page (the cause logged) and is a 503 from the API", async () => {
    const logs: Array<string> = []
    const down = await look(Effect.fail(new SqlError({ reason: new UnknownError({ cause: new Error("relation blocks is gone"), message: "relation blocks is gone", operation: "execute" }) })), logs)
    expect(down.page).toContain("The reserve could not be read")
    expect(down.page).not.toContain("relation blocks is gone")
    expect(down.status).toBe(503)
    expect(logs.some((l) => l.includes("the PPS reserve could not be read") && l.includes("relation blocks is gone"))).toBe(true)
  }, 60_000)
})

describe("JSON API", () => {
  it("reports live pool state and stored rows in pages, and refuses a bad page clearly", async () => {
    const replies = await withServer({}, async (base) => {
      const get = async (path: string) => {
        const r = await fetch(`${base}${path}`)
        return { status: r.status, body: (await r.json()) as Record<string, unknown> }
      }
      const backup = await fetch(`${base}/admin/backup`, { method: "POST" })
      return {
        pool: await get("/api/pool"),
        accounts: await get("/api/accounts"),
        blocks: await get("/api/blocks?limit=5"),
        blocksPast: await get("/api/blocks?limit=5&offset=1"),
        quotas: await get("/api/quotas"),
        account: await get(`/api/accounts/${ALICE}`),
        unknownAccount: await get(`/api/accounts/${NOBODY}`),
        miners: await get("/api/miners"),
        badLimit: await get("/api/blocks?limit=0"),
        badOffset: await get("/api/blocks?offset=-1"),
        adminWithoutSession: await get("/api/admin/clients"),
        missing: await get("/api/nothing"),
        backupWithoutPassword: backup.status,
      }
    })
    expect(replies.pool.body).toMatchObject({ network: "simnet", scheme: "pplns", workHeight: 120, connectedMiners: 3, sharesAccepted: 10, hashesPerSecond: 1234, blocksFound: 1, pow: "blake3" })
    // Difficulty 4 x 2 hashes each over simnet's 1 s blocks.
    expect(replies.pool.body.networkHashesPerSecond).toBe(8)
    expect(replies.accounts.status).toBe(200)
    expect(replies.blocks.body).toMatchObject({ total: 1, limit: 5, offset: 0, items: [{ height: 119, status: "accepted", reward: null }] })
    expect(replies.blocksPast.body).toMatchObject({ total: 1, offset: 1, items: [] })
    expect(replies.quotas.body).toMatchObject({
      applies: true,
      total: 2,
      items: [
        { account: ALICE, fraction: 0.75 },
        { account: BOB, fraction: 0.25 },
      ],
    })
    expect(replies.account.body).toMatchObject({ account: ALICE, blocksFound: 1, quota: 0.75, clients: [{ worker: "w", model: "gominer" }] })
    expect(replies.unknownAccount.status).toBe(404)
    const models = replies.miners.body.models as ReadonlyArray<{ model: string; usable: boolean }>
    // A BLAKE3 chain rules the BLAKE-256 ASICs out.
    expect(
      models
        .filter((m) => !m.usable)
        .map((m) => m.model)
        .sort(),
    ).toEqual(["antminer-dr3", "antminer-dr5", "cpuminer-blake256", "innosilicon-d9", "obelisk-dcr1", "whatsminer-d1"])
    expect(replies.badLimit.status).toBe(400)
    expect(String(replies.badLimit.body.error)).toContain("limit must be a whole number from 1 to 500")
    expect(replies.badOffset.status).toBe(400)
    expect(replies.adminWithoutSession.status).toBe(401)
    expect(replies.missing.status).toBe(404)
    expect(replies.backupWithoutPassword).toBe(403)
  }, 60_000)

  it("the OpenAPI document lists every served /api/ path and no other, and each reply's bytes are its schema's encoding, which the document describes", async () => {
    const result = await withServer({ adminPassword: Redacted.make("pw") }, async (base) => {
      const doc = (await (await fetch(`${base}/api/openapi.json`)).json()) as OpenApiDocument
      // Served: every path the server answers other than 404 (with an admin session for admin paths).
      const page = await fetch(`${base}/admin`)
      const cookie = page.headers.get("set-cookie")!.split(";")[0]!
      const csrf = /name="csrf" value="([^"]+)"/.exec(await page.text())![1]!
      const login = await fetch(`${base}/admin/login`, {
        method: "POST",
        redirect: "manual",
        headers: { cookie, "content-type": "application/x-www-form-urlencoded" },
        body: `csrf=${csrf}&password=pw`,
      })
      const admin = login.headers.get("set-cookie")!.split(";")[0]!
      const replies: Array<{ path: string; status: number; type: string; text: string }> = []
      for (const path of Object.keys(doc.paths)) {
        const concrete = path.replace("{address}", ALICE)
        if (concrete === "/api/events") {
          const controller = new AbortController()
          const r = await fetch(`${base}${concrete}`, { signal: controller.signal })
          replies.push({ path, status: r.status, type: r.headers.get("content-type") ?? "", text: "" })
          controller.abort()
          continue
        }
        const r = await fetch(`${base}${concrete}`, { headers: { cookie: admin } })
        replies.push({ path, status: r.status, type: r.headers.get("content-type") ?? "", text: await r.text() })
      }
      return { doc, replies }
    })
    expect(result.doc.openapi).toBe("3.1.0")
    expect(Object.keys(result.doc.paths).sort()).toEqual(API_ROUTES.map((r) => r.path).sort())
    for (const reply of result.replies) {
      expect(reply.status, reply.path).toBe(200)
      const route = API_ROUTES.find((r) => r.path === reply.path)!
      if (route.contentType === "text/event-stream") {
        expect(reply.type).toBe("text/event-stream")
        continue
      }
      const body: unknown = JSON.parse(reply.text)
      // What a client reads: the document's own JSON Schema for the route accepts the reply
      // (imported from the served document, not the route's Effect schema).
      const documented = documentedSchema(result.doc, reply.path)
      const accepted = Schema.decodeUnknownResult(documented)(body)
      expect(Result.isSuccess(accepted), `${reply.path} against the document: ${reply.text}\n${Result.isFailure(accepted) ? String(accepted.failure) : ""}`).toBe(true)
      // Where the bytes come from: decoding them through the route's schema and encoding back
      // gives the same bytes, so no field, key order or bigint spelling is the server's own.
      // (The document itself is generated, not a reply of its one-field schema.)
      if (route.serve === undefined) continue
      const decoded = Schema.decodeUnknownResult(route.response)(body)
      if (Result.isFailure(decoded)) throw new Error(`${reply.path}: ${reply.text}\n${String(decoded.failure)}`)
      expect(JSON.stringify(Schema.encodeSync(route.response)(decoded.success)), reply.path).toBe(reply.text)
    }
  }, 60_000)
})

describe("web UI security", () => {
  it("admin login: CSRF token required, wrong password refused, session cookie HttpOnly and SameSite=Strict, backup from the form, guesses rate-limited", async () => {
    const hashed = hashPassword("correct horse")
    const r = await withServer({ adminPassword: Redacted.make(hashed), rateLimits: { logins: { burst: 3, perSecond: 0.01 } } }, async (base) => {
      const overview = await fetch(`${base}/`)
      const headers = Object.fromEntries(overview.headers)
      const overviewHtml = await overview.text()
      const page = await fetch(`${base}/admin`)
      const anonymousCookie = page.headers.get("set-cookie")!
      const cookie = anonymousCookie.split(";")[0]!
      const csrf = /name="csrf" value="([^"]+)"/.exec(await page.text())![1]!
      const form = (body: string, c = cookie) => ({ method: "POST", redirect: "manual" as const, headers: { cookie: c, "content-type": "application/x-www-form-urlencoded" }, body })
      const noCsrf = await fetch(`${base}/admin/login`, form("password=correct+horse"))
      const wrong = await fetch(`${base}/admin/login`, form(`csrf=${csrf}&password=guess`))
      const right = await fetch(`${base}/admin/login`, form(`csrf=${csrf}&password=correct+horse`))
      const sessionCookie = right.headers.get("set-cookie") ?? ""
      const admin = sessionCookie.split(";")[0]!
      const adminPage = await (await fetch(`${base}/admin`, { headers: { cookie: admin } })).text()
      const adminCsrf = /name="csrf" value="([^"]+)"/.exec(adminPage)![1]!
      const backupNoCsrf = await fetch(`${base}/admin/backup`, form("", admin))
      const backup = await fetch(`${base}/admin/backup`, form(`csrf=${adminCsrf}`, admin))
      const backupText = await backup.text()
      const limited = await fetch(`${base}/admin/login`, form(`csrf=${csrf}&password=guess`))
      const staticJs = await fetch(`${base}/static/app.js`)
      return {
        headers,
        overviewHtml,
        anonymousCookie,
        statuses: [noCsrf.status, wrong.status, right.status, backupNoCsrf.status, backup.status],
        location: right.headers.get("location"),
        sessionCookie,
        adminPage,
        backupText,
        limited: { status: limited.status, retryAfter: limited.headers.get("retry-after") },
        staticJs: { type: staticJs.headers.get("content-type"), cache: staticJs.headers.get("cache-control"), etag: staticJs.headers.get("etag") },
      }
    })
    expect(r.headers["content-security-policy"]).toContain("script-src 'self'")
    expect(r.headers["content-security-policy"]).toContain("frame-ancestors 'none'")
    expect(r.headers["x-content-type-options"]).toBe("nosniff")
    expect(r.headers["referrer-policy"]).toBe("no-referrer")
    expect(r.overviewHtml).not.toMatch(/<script>|style="/)
    expect(r.anonymousCookie).toMatch(/HttpOnly/)
    expect(r.statuses).toEqual([403, 401, 303, 403, 200])
    expect(r.location).toBe("/admin")
    expect(r.sessionCookie).toMatch(/dcrforge_session=[\w-]{40,}; Path=\/; HttpOnly; SameSite=Strict/)
    expect(r.adminPage).toContain("Download backup")
    expect(r.adminPage).not.toContain("correct horse")
    expect(r.backupText).toContain('"shares"')
    expect(r.limited.status).toBe(429)
    expect(Number(r.limited.retryAfter)).toBeGreaterThan(0)
    expect(r.staticJs).toMatchObject({ type: "text/javascript; charset=utf-8", cache: "public, max-age=300" })
    expect(r.staticJs.etag).toMatch(/^"/)
  }, 60_000)

  it("passwords are kept as salted scrypt hashes that verify only the password", async () => {
    const a = hashPassword("pw")
    const b = hashPassword("pw")
    expect(a).not.toBe(b)
    expect(a).toMatch(/^scrypt\$32768\$8\$1\$/)
    const parsed = parsePasswordHash(a)
    if (typeof parsed === "string") throw new Error(parsed)
    expect(await verifyPassword(parsed, "pw")).toBe(true)
    expect(await verifyPassword(parsed, "pW")).toBe(false)
    expect(parsePasswordHash("scrypt$3$8$1$x$y")).toMatch(/out of range/)
  })
})

describe("web UI behind a proxy, over TLS, under load", () => {
  it("sessions: a flood of login-form visits cannot push an admin session out", () => {
    let now = 0
    const sessions = makeSessions({ lifetimeMs: 1000, capacity: 10, now: () => now })
    const admin = sessions.promote(sessions.anonymous())
    for (let i = 0; i < 100; i++) sessions.anonymous()
    expect(sessions.get(admin.id)?.admin).toBe(true)
    now = 1000
    expect(sessions.get(admin.id)).toBeUndefined()
  })

  it("requests are limited per client (429 + Retry-After); X-Forwarded-For and -Proto count only with trustProxy", async () => {
    const requests = { burst: 3, perSecond: 0.01 }
    const run = (trustProxy: boolean) =>
      withServer({ trustProxy, adminPassword: Redacted.make("pw"), rateLimits: { requests } }, async (base) => {
        const get = (client: string, path = "/api/pool") => fetch(`${base}${path}`, { headers: { "x-forwarded-for": `203.0.113.9, ${client}`, "x-forwarded-proto": "https" } })
        const statuses: Array<number> = []
        for (let i = 0; i < 4; i++) statuses.push((await get("198.51.100.1")).status)
        const other = (await get("198.51.100.2")).status
        const limited = await get("198.51.100.1")
        const login = await get("198.51.100.3", "/admin")
        return {
          statuses,
          other,
          retryAfter: limited.headers.get("retry-after"),
          body: await limited.json(),
          cookie: login.headers.get("set-cookie") ?? "",
          hsts: login.headers.get("strict-transport-security"),
        }
      })
    const trusted = await run(true)
    expect(trusted.statuses).toEqual([200, 200, 200, 429])
    expect(trusted.other).toBe(200)
    expect(Number(trusted.retryAfter)).toBeGreaterThan(0)
    expect(String((trusted.body as { error: string }).error)).toContain("too many requests")
    expect(trusted.cookie).toContain("; Secure")
    expect(trusted.hsts).toBe("max-age=31536000")
    // Not trusted: every request is the same socket peer, and the cookie is not marked Secure.
    const untrusted = await run(false)
    expect(untrusted.statuses).toEqual([200, 200, 200, 429])
    expect(untrusted.other).toBe(429)
    expect(untrusted.hsts).toBeNull()
  }, 60_000)

  const openssl = spawnSync("openssl", ["version"]).status === 0
  if (!openssl && process.env.CI === "true") throw new Error("openssl is needed to make the TLS test's certificate (Debian's openssl package)")
  it.skipIf(!openssl)(
    "serves HTTPS from a certificate and key, with a Secure session cookie",
    async () => {
      const { cert, key } = selfSignedCertificate()
      const reply = await withServer(
        { tls: { cert, key }, adminPassword: Redacted.make("pw") },
        (base) =>
          new Promise<{ status: number; cookie: string; hsts: string | undefined; protocol: string }>((resolve, reject) => {
            const url = new URL(`${base}/admin`)
            const req = httpsRequest({ host: url.hostname, port: url.port, path: url.pathname, ca: cert }, (res) => {
              res.resume()
              const socket = res.socket as TLSSocket
              resolve({ status: res.statusCode ?? 0, cookie: String(res.headers["set-cookie"] ?? ""), hsts: res.headers["strict-transport-security"], protocol: socket.getProtocol() ?? "" })
            })
            req.on("error", reject)
            req.end()
          }),
      )
      expect(reply.status).toBe(200)
      expect(reply.cookie).toContain("; Secure")
      expect(reply.hsts).toBe("max-age=31536000")
      expect(reply.protocol).toMatch(/^TLSv1\.[23]$/)
    },
    60_000,
  )
})

describe("staking API and page", () => {
  const getter = (base: string) => async (path: string) => {
    const r = await fetch(`${base}${path}`)
    const text = await r.text()
    return { path, status: r.status, type: r.headers.get("content-type") ?? "", text, json: () => JSON.parse(text) as Record<string, unknown> }
  }
  const errorOf = (reply: { json: () => Record<string, unknown> }) => reply.json().error

  it("serves the price, the next window's band, the history, blocks in pages and a staker's tickets, bigints as exact decimal strings", async () => {
    const replies = await withServer({}, async (base) => {
      const get = getter(base)
      return {
        staking: await get("/api/staking"),
        blocks: await get("/api/staking/blocks?limit=2&offset=1"),
        tickets: await get(`/api/staking/tickets/${ALICE}?limit=2`),
        nobody: await get(`/api/staking/tickets/${NOBODY}`),
        page: await get("/staking"),
        lookupPage: await get(`/staking?address=${ALICE}`),
      }
    })
    expect(replies.staking.status).toBe(200)
    const staking = replies.staking.json()
    expect(staking).toMatchObject({ network: "simnet", height: 150, price: "2500000000", poolSize: 300, poolTarget: 320, windowSize: 8, mempoolTickets: 4 })
    // Past 2^53: a JSON number would have lost the last digit.
    expect(staking.estimate).toEqual({ min: "2000000000", expected: "2600000000", max: "9007199254740993", blocksLeftInWindow: 9, nextWindowStartsAt: 160 })
    expect((staking.history as Array<unknown>).length).toBe(19)
    expect((staking.history as Array<unknown>)[18]).toEqual({ startHeight: 144, price: "380000000" })
    expect(replies.blocks.json()).toMatchObject({ total: 151, limit: 2, offset: 1, items: [{ height: 149, votes: 4, misses: 1, revocations: 1 }, { height: 148 }] })
    const tickets = replies.tickets.json()
    expect(tickets).toMatchObject({ address: ALICE, total: 3, limit: 2, offset: 0, counts: { live: 1, voted: 1, revoked: 1, unmined: 0, missed: 0 } })
    expect(tickets.items).toEqual([
      { ticket: "01".repeat(32), status: "live", price: "2500000000", fee: "10000", minedAt: 120, liveAt: 136, spentAt: null, revokedAt: null, revokedBecause: null, returned: null },
      { ticket: "02".repeat(32), status: "voted", price: "2000000000", fee: "10000", minedAt: 90, liveAt: 106, spentAt: 140, revokedAt: null, revokedBecause: null, returned: "2100010000" },
    ])
    expect(replies.nobody.json()).toMatchObject({ total: 0, items: [] })
    // The page: figures rendered on the server, the nav links it, the lookup carries the address.
    expect(replies.page.status).toBe(200)
    expect(replies.page.text).toContain('<a href="/staking" aria-current="page">Staking</a>')
    expect(replies.page.text).toMatch(/id="staking-price">25 DCR</)
    expect(replies.page.text).toMatch(/id="staking-pool-size">300</)
    expect(replies.page.text).toMatch(/id="staking-pool-target">320</)
    expect(replies.page.text).not.toContain("data-address")
    expect(replies.lookupPage.text).toContain(`data-address="${ALICE}"`)
  }, 60_000)

  it("bad input is a 400 naming it: a malformed or other-network address, the pool's own account names, a bad limit, an unknown parameter", async () => {
    const replies = await withServer({}, async (base) => {
      const get = getter(base)
      return {
        notAddress: await get("/api/staking/tickets/SsNotAnAddress"),
        otherNetwork: await get(`/api/staking/tickets/${encodeAddress("p2pkh-ecdsa-secp256k1", new Uint8Array(20).fill(1), MAINNET)}`),
        poolFee: await get("/api/staking/tickets/pool:fee"),
        nul: await get("/api/staking/tickets/%00"),
        limitZero: await get("/api/staking/blocks?limit=0"),
        limitWord: await get(`/api/staking/tickets/${ALICE}?limit=ten`),
        limitHuge: await get("/api/staking/blocks?limit=501"),
        unknown: await get("/api/staking?windows=5"),
      }
    })
    for (const reply of Object.values(replies)) {
      expect(reply.status, reply.path).toBe(400)
      expect(reply.type, reply.path).toBe("application/json")
    }
    expect(errorOf(replies.notAddress)).toMatch(/^the address in the path is not a simnet payout address: "SsNotAnAddress"/)
    expect(errorOf(replies.otherNetwork)).toContain("is a mainnet address, but this is simnet")
    expect(errorOf(replies.poolFee)).toMatch(/^the address in the path is not a simnet address: /)
    expect(errorOf(replies.nul)).toContain("the address in the path contains a control character")
    expect(errorOf(replies.limitZero)).toBe('limit must be a whole number from 1 to 500, got "0"')
    expect(errorOf(replies.limitWord)).toBe('limit must be a whole number from 1 to 500, got "ten"')
    expect(errorOf(replies.limitHuge)).toBe('limit must be a whole number from 1 to 500, got "501"')
    expect(errorOf(replies.unknown)).toBe('unknown query parameter "windows" on /api/staking: it takes none')
  }, 60_000)

  it("without a staking view the API answers 501 and the page says it is not available; the view's own failures are a 503 or, for a node that cannot look tickets up by address, a 501 saying where to look", async () => {
    const without = await withServer({ stakeView: undefined }, async (base) => {
      const get = getter(base)
      return { api: await get("/api/staking"), blocks: await get("/api/staking/blocks"), tickets: await get(`/api/staking/tickets/${ALICE}`), page: await get("/staking") }
    })
    for (const reply of [without.api, without.blocks, without.tickets]) {
      expect(reply.status, reply.path).toBe(501)
      expect(errorOf(reply), reply.path).toMatch(/^staking figures are not available: this server runs without a staking view/)
    }
    expect(without.page.status).toBe(200)
    expect(without.page.text).toContain("not available: this server runs without a staking view")

    const down = new StakeViewUnavailable({ reason: "dcrd refused getstakedifficulty" })
    const failing: StakeView["Service"] = {
      overview: Effect.fail(down),
      priceHistory: () => Effect.fail(down),
      recentBlocks: () => Effect.fail(down),
      ticketsOf: () => Effect.fail(new TicketLookupUnavailable({ reason: "dcrd has had no address index since 1.8; the staker's own wallet lists its tickets" })),
    }
    const failed = await withServer({ stakeView: failing }, async (base) => {
      const get = getter(base)
      return { api: await get("/api/staking"), tickets: await get(`/api/staking/tickets/${ALICE}`), page: await get("/staking") }
    })
    expect(failed.api.status).toBe(503)
    expect(errorOf(failed.api)).toBe("the staking figures are not available: dcrd refused getstakedifficulty; check that dcrd runs and answers")
    expect(failed.tickets.status).toBe(501)
    expect(errorOf(failed.tickets)).toBe("looking tickets up by address is not available: dcrd has had no address index since 1.8; the staker's own wallet lists its tickets")
    expect(failed.page.status).toBe(503)
    expect(failed.page.text).toContain("the staking figures are not available: dcrd refused getstakedifficulty")
  }, 60_000)
})

describe("hostile clients", () => {
  /** What a database says about a NUL (PGlite, Postgres) or a broken table: none of it may reach a client. */
  const BACKEND_TEXT = /byte sequence|UTF8|0x00|pglite|postgres|sql|relation|pool_blocks/i

  it("bad path or query input is a 400 naming it, refused before the store: /api/accounts/%00 above all", async () => {
    const replies = await withServer({}, async (base) => {
      const get = async (path: string) => {
        const r = await fetch(`${base}${path}`)
        return { path, status: r.status, type: r.headers.get("content-type") ?? "", text: await r.text() }
      }
      return {
        nul: await get("/api/accounts/%00"),
        nulBelow: await Promise.all(["payments", "blocks", "hashrate"].map((tail) => get(`/api/accounts/%00/${tail}`))),
        badEscape: await get("/api/accounts/%ZZ"),
        notUtf8: await get("/api/accounts/%C3%28"),
        overLong: await get(`/api/accounts/${"S".repeat(5000)}`),
        notAddress: await get("/api/accounts/SsNotAnAddress"),
        otherNetwork: await get(`/api/accounts/${encodeAddress("p2pkh-ecdsa-secp256k1", new Uint8Array(20).fill(1), MAINNET)}`),
        limitNul: await get("/api/blocks?limit=%00"),
        limitBadEscape: await get("/api/blocks?limit=%ZZ"),
        limitExponent: await get("/api/blocks?limit=1e2"),
        limitTwice: await get("/api/blocks?limit=5&limit=6"),
        misspelt: await get("/api/blocks?limt=5"),
        queryOnPlainRoute: await get("/api/pool?x=1"),
        offsetOverLong: await get(`/api/blocks?offset=${"9".repeat(200)}`),
        page: await get("/account/%00"),
        pageNotAddress: await get("/account/SsNotAnAddress"),
        stillFine: await get(`/api/accounts/${ALICE}/blocks?limit=5&offset=0`),
      }
    })
    const error = (reply: { text: string }) => (JSON.parse(reply.text) as { error: string }).error
    const refused = [
      replies.nul,
      ...replies.nulBelow,
      replies.badEscape,
      replies.notUtf8,
      replies.overLong,
      replies.notAddress,
      replies.otherNetwork,
      replies.limitNul,
      replies.limitBadEscape,
      replies.limitExponent,
      replies.limitTwice,
      replies.misspelt,
      replies.queryOnPlainRoute,
      replies.offsetOverLong,
    ]
    for (const reply of refused) {
      expect(reply.status, reply.path).toBe(400)
      expect(reply.type, reply.path).toBe("application/json")
      expect(reply.text, reply.path).not.toMatch(BACKEND_TEXT)
    }
    expect(error(replies.nul)).toBe("the address in the path contains a control character (such as NUL or a newline): give a simnet payout address")
    for (const reply of replies.nulBelow) expect(error(reply)).toContain("the address in the path contains a control character")
    expect(error(replies.badEscape)).toContain("the address in the path has malformed percent-encoding")
    expect(error(replies.notUtf8)).toContain("the address in the path has malformed percent-encoding")
    expect(error(replies.overLong)).toBe("the address in the path is 5000 characters long; a payout address has at most 54")
    expect(error(replies.notAddress)).toMatch(/^the address in the path is not a simnet payout address: "SsNotAnAddress"/)
    expect(error(replies.otherNetwork)).toContain("is a mainnet address, but this is simnet")
    expect(error(replies.limitNul)).toBe("query parameter limit contains a control character (such as NUL or a newline)")
    expect(error(replies.limitBadEscape)).toContain("query parameter limit has malformed percent-encoding")
    expect(error(replies.limitExponent)).toBe('limit must be a whole number from 1 to 500, got "1e2"')
    expect(error(replies.limitTwice)).toBe("query parameter limit is given twice: give it once")
    expect(error(replies.misspelt)).toBe('unknown query parameter "limt" on /api/blocks: it takes limit and offset')
    expect(error(replies.queryOnPlainRoute)).toBe('unknown query parameter "x" on /api/pool: it takes none')
    expect(error(replies.offsetOverLong)).toBe("query parameter offset is 200 characters long; at most 100")
    expect(replies.page.status).toBe(400)
    expect(replies.page.text).toContain("That address contains a control character")
    expect(replies.pageNotAddress.status).toBe(400)
    expect(replies.pageNotAddress.text).toContain("is not a simnet payout address")
    expect(replies.stillFine.status).toBe(200)
  }, 60_000)

  it("a store that fails is a generic 503, to the API and the pages alike; its own text is only in the log", async () => {
    const secret = 'relation "pool_blocks" does not exist (SQLSTATE 42P01 in pglite)'
    const broken = Effect.fail(new SqlError({ reason: new UnknownError({ cause: new Error(secret), message: secret, operation: "execute" }) }))
    const logs: Array<string> = []
    const replies = await withServer(
      {},
      async (base) => {
        const get = async (path: string) => {
          const r = await fetch(`${base}${path}`)
          return { path, status: r.status, type: r.headers.get("content-type") ?? "", text: await r.text() }
        }
        return [await get("/api/blocks"), await get(`/api/accounts/${ALICE}`), await get("/api/pool"), await get("/")]
      },
      { store: (real) => ({ ...real, blocksPage: () => broken, blockCount: () => broken }), logs },
    )
    for (const reply of replies) {
      expect(reply.status, reply.path).toBe(503)
      expect(reply.text, reply.path).not.toMatch(BACKEND_TEXT)
    }
    expect(JSON.parse(replies[0]!.text)).toEqual({ error: "the pool's database did not answer; see the pool's log" })
    expect(replies[3]!.type).toBe("text/html; charset=utf-8")
    expect(replies[3]!.text).toContain("The pool&#39;s database did not answer; see the pool&#39;s log.")
    // The operator still learns what happened: each failure logged with the request and the cause.
    for (const request of ["GET /api/blocks", `GET /api/accounts/${ALICE}`, "GET /api/pool", "GET /"]) {
      expect(
        logs.some((line) => line.startsWith(`${request} failed; answered 503`) && line.includes(secret)),
        request,
      ).toBe(true)
    }
  }, 60_000)

  it("live-update streams are capped per client (429), so two clients cannot take every slot; the global cap stays, and a closed stream frees its slot", async () => {
    const r = await withServer({ trustProxy: true, eventStreams: { total: 5, perClient: 2 } }, async (base) => {
      const open: Array<AbortController> = []
      const stream = async (client: string) => {
        const controller = new AbortController()
        const reply = await fetch(`${base}/api/events`, { signal: controller.signal, headers: { "x-forwarded-for": client } })
        if (reply.status === 200) {
          open.push(controller)
          return { status: 200, error: "", retryAfter: null, close: () => controller.abort() }
        }
        return { status: reply.status, error: ((await reply.json()) as { error: string }).error, retryAfter: reply.headers.get("retry-after"), close: () => undefined }
      }
      const first = [await stream("198.51.100.1"), await stream("198.51.100.1"), await stream("198.51.100.1")]
      const second = [await stream("198.51.100.2"), await stream("198.51.100.2"), await stream("198.51.100.2")]
      const third = await stream("198.51.100.3")
      const overGlobal = await stream("198.51.100.4")
      first[0]!.close()
      // The server sees the close a moment later; the first client then gets a stream again.
      let again = await stream("198.51.100.1")
      for (let i = 0; again.status !== 200 && i < 40; i++) {
        await new Promise((resolve) => setTimeout(resolve, 50))
        again = await stream("198.51.100.1")
      }
      for (const controller of open) controller.abort()
      return { first: first.map((s) => s.status), second: second.map((s) => s.status), refused: first[2]!, third: third.status, overGlobal: overGlobal.status, again: again.status }
    })
    expect(r.first).toEqual([200, 200, 429])
    expect(r.second).toEqual([200, 200, 429])
    expect(r.refused.error).toBe("2 live-update streams are open from your address already (at most 2): close other tabs of this pool, then reload")
    expect(Number(r.refused.retryAfter)).toBeGreaterThan(0)
    expect(r.third).toBe(200)
    expect(r.overGlobal).toBe(503)
    expect(r.again).toBe(200)
  }, 60_000)

  /** Opens the login form as `client` and posts `password`, with a trusted-device cookie if given. */
  const login = async (base: string, client: string, password: string, device?: string) => {
    const page = await fetch(`${base}/admin`, { headers: { "x-forwarded-for": client } })
    const session = page.headers.get("set-cookie")!.split(";")[0]!
    const csrf = /name="csrf" value="([^"]+)"/.exec(await page.text())![1]!
    const reply = await fetch(`${base}/admin/login`, {
      method: "POST",
      redirect: "manual",
      headers: { "x-forwarded-for": client, cookie: device === undefined ? session : `${session}; ${device}`, "content-type": "application/x-www-form-urlencoded" },
      body: `csrf=${csrf}&password=${encodeURIComponent(password)}`,
    })
    const device2 = reply.headers.getSetCookie().find((c) => c.startsWith("dcrforge_device="))
    return { status: reply.status, retryAfter: reply.headers.get("retry-after"), text: await reply.text(), device: device2?.split(";")[0], deviceCookie: device2 }
  }

  it("admin login: guessing from the admin's own address, or from many, stays throttled; a browser that logged in before gets in at once", async () => {
    const nat = "198.51.100.7"
    const r = await withServer(
      { trustProxy: true, adminPassword: Redacted.make(hashPassword("correct horse")), rateLimits: { logins: { burst: 3, perSecond: 0.001 }, accountLogins: { burst: 10, perSecond: 0.001 } } },
      async (base) => {
        const first = await login(base, nat, "correct horse")
        const device = first.device!
        // Someone behind the same NAT guesses; then the admin, from that NAT, in the same browser.
        const guesses: Array<Awaited<ReturnType<typeof login>>> = []
        for (let i = 0; i < 10; i++) guesses.push(await login(base, nat, `guess ${i}`))
        const adminAgain = await login(base, nat, "correct horse", device)
        const guessAfterAdmin = await login(base, nat, "guess 10")
        // The right password without the cookie, from the guessed-at address: refused unread, like a guess.
        const rightWithoutDevice = await login(base, nat, "correct horse")
        const deviceWrong = await login(base, nat, "not it", device)
        // Guessing from many addresses drains the account's bucket: a fresh address is throttled too...
        const spread: Array<number> = []
        for (let i = 1; i <= 8; i++) spread.push((await login(base, `203.0.113.${i}`, `spread ${i}`)).status)
        const freshWithoutDevice = await login(base, "192.0.2.1", "correct horse")
        // ...but not the admin's browser, from anywhere; and only a cookie the server signed counts.
        const adminElsewhere = await login(base, "192.0.2.2", "correct horse", device)
        const forged = await login(base, "192.0.2.3", "correct horse", `${device.slice(0, -2)}AA`)
        return { first, guesses, adminAgain, guessAfterAdmin, rightWithoutDevice, deviceWrong, spread, freshWithoutDevice, adminElsewhere, forged }
      },
    )
    expect(r.first.status).toBe(303)
    expect(r.first.deviceCookie).toMatch(/^dcrforge_device=[\w-]+\.\d+\.[\w-]+; Path=\/admin; HttpOnly; SameSite=Strict; Max-Age=2592000$/)
    expect(r.guesses.map((g) => g.status)).toEqual([401, 401, 429, 429, 429, 429, 429, 429, 429, 429])
    expect(r.guesses[2]!.text).toContain("Too many admin login attempts")
    expect(Number(r.guesses[2]!.retryAfter)).toBeGreaterThan(0)
    expect(r.adminAgain.status).toBe(303)
    expect(r.guessAfterAdmin.status).toBe(429)
    // Nothing tells a throttled right password from a throttled guess.
    expect(r.rightWithoutDevice.status).toBe(429)
    expect(r.rightWithoutDevice.text.replace(/\d+/g, "N")).toBe(r.guessAfterAdmin.text.replace(/\d+/g, "N"))
    expect(r.deviceWrong.status).toBe(401)
    // 10 for the account: 1 login and 2 guesses from the NAT, then 7 of the 8 spread guesses.
    expect(r.spread).toEqual([401, 401, 401, 401, 401, 401, 401, 429])
    expect(r.freshWithoutDevice.status).toBe(429)
    expect(r.adminElsewhere.status).toBe(303)
    expect(r.forged.status).toBe(429)
  }, 60_000)

  it("admin login: once the guessing stops, the admin on a new browser gets in after the Retry-After backoff", async () => {
    const nat = "198.51.100.8"
    const r = await withServer({ trustProxy: true, adminPassword: Redacted.make(hashPassword("correct horse")), rateLimits: { logins: { burst: 2, perSecond: 0.5 } } }, async (base) => {
      // At once, so all three reach the throttle before a slow (loaded) machine refills it.
      const guesses = await Promise.all(["a", "b", "c"].map((guess) => login(base, nat, guess)))
      const wait = Math.max(...guesses.map((g) => Number(g.retryAfter ?? 0)))
      await new Promise((resolve) => setTimeout(resolve, wait * 1000))
      return { guesses: guesses.map((g) => g.status).sort(), wait, admin: await login(base, nat, "correct horse") }
    })
    expect(r.guesses).toEqual([401, 401, 429])
    expect(r.wait).toBeGreaterThan(0)
    expect(r.wait).toBeLessThanOrEqual(2)
    expect(r.admin.status).toBe(303)
  }, 60_000)
})
