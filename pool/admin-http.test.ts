import { Effect, Layer, Redacted, Result, Schema } from "effect"
import { SIMNET } from "../core/chain/params.ts"
import { describe, expect, it } from "vitest"
import { DIFFICULTY_SCALE } from "../core/payout/amounts.ts"
import { serveAdminHttp, type AdminHttpOptions } from "./admin-http.ts"
import { restore } from "./store/backup.ts"
import { pgliteLayer } from "./store/pglite.ts"
import { migrate } from "./store/schema.ts"
import { PoolStore, poolStoreLayer } from "./store/store.ts"
import { API_ROUTES, type PoolLiveState } from "./http-api.ts"
import { hashPassword, makeSessions, parsePasswordHash, verifyPassword } from "./web-auth.ts"
import { spawnSync } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { request as httpsRequest } from "node:https"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { TLSSocket } from "node:tls"
import { makePoolMetrics } from "./metrics.ts"
import { makeTaskSupervisor } from "./supervisor.ts"

const live: PoolLiveState = {
  network: SIMNET,
  mode: "pool",
  scheme: { kind: "pplns", windowMultiple: { numerator: 2n, denominator: 1n } },
  feeBasisPoints: 100,
  counters: { connected: 3, connectionsTotal: 4, refusedPerHost: 0, sharesAccepted: 10, sharesRejected: 1, blockCandidates: 0, badMessages: 0 },
  workHeight: () => 120,
  work: () => ({ height: 120, networkTarget: SIMNET.powLimit / 4n, pow: "blake3" }),
  hashesPerUnitDifficulty: 2n,
  hashrates: () => Effect.succeed({ clients: [{ account: "SsA", worker: "w", model: "gominer", hashesPerSecond: 1234.4, lastMs: 5 }], accounts: new Map([["SsA", 1234.4]]) }),
  nextRewardWeights: () => Effect.succeed(new Map([["SsA", 3n], ["SsB", 1n]])),
  tasks: makeTaskSupervisor(makePoolMetrics()),
  health: Effect.succeed({ ok: true, checkedMs: 0, components: { dcrd: { ok: true, detail: "" }, wallet: { ok: true, detail: "" }, store: { ok: true, detail: "" } }, tasks: [] }),
}
const storeLayer = () => poolStoreLayer.pipe(Layer.provideMerge(pgliteLayer({ dataDir: undefined })))
const share = { id: "s1", account: "SsA", worker: "w", model: "gominer", weight: 5n * DIFFICULTY_SCALE, createdMs: 1, height: 101, networkDifficulty: 9n, instance: "i" }

/** Runs `body` against a server on a fresh in-memory store holding one share and one block. */
const withServer = <A>(options: Partial<AdminHttpOptions>, body: (base: string) => Promise<A>) =>
  Effect.runPromise(
    Effect.gen(function* () {
      yield* migrate
      const store = yield* PoolStore
      yield* store.insertShares([share])
      yield* store.insertBlock({ hash: "ab".repeat(32), height: 119, account: "SsA", worker: "w", model: "gominer", foundMs: 2, networkDifficulty: 9n }, 3)
      const { port } = yield* serveAdminHttp({ host: "127.0.0.1", port: 0, adminPassword: undefined, live, ...options })
      return yield* Effect.promise(() => body(`http://127.0.0.1:${port}`))
    }).pipe(Effect.scoped, Effect.provide(storeLayer())),
  )

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
        account: await get("/api/accounts/SsA"),
        unknownAccount: await get("/api/accounts/SsNobody"),
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
    expect(replies.quotas.body).toMatchObject({ applies: true, total: 2, items: [{ account: "SsA", fraction: 0.75 }, { account: "SsB", fraction: 0.25 }] })
    expect(replies.account.body).toMatchObject({ account: "SsA", blocksFound: 1, quota: 0.75, clients: [{ worker: "w", model: "gominer" }] })
    expect(replies.unknownAccount.status).toBe(404)
    const models = replies.miners.body.models as ReadonlyArray<{ model: string; usable: boolean }>
    // A BLAKE3 chain rules the BLAKE-256 ASICs out.
    expect(models.filter((m) => !m.usable).map((m) => m.model).sort()).toEqual(["antminer-dr3", "antminer-dr5", "innosilicon-d9", "obelisk-dcr1", "whatsminer-d1"])
    expect(replies.badLimit.status).toBe(400)
    expect(String(replies.badLimit.body.error)).toContain("limit must be a whole number from 1 to 500")
    expect(replies.badOffset.status).toBe(400)
    expect(replies.adminWithoutSession.status).toBe(401)
    expect(replies.missing.status).toBe(404)
    expect(replies.backupWithoutPassword).toBe(403)
  }, 60_000)

  it("the OpenAPI document lists every served /api/ path and no other, and each reply matches its schema", async () => {
    const result = await withServer({ adminPassword: Redacted.make("pw") }, async (base) => {
      const doc = (await (await fetch(`${base}/api/openapi.json`)).json()) as { openapi: string; paths: Record<string, unknown> }
      // Served: every path the server answers other than 404 (with an admin session for admin paths).
      const page = await fetch(`${base}/admin`)
      const cookie = page.headers.get("set-cookie")!.split(";")[0]!
      const csrf = /name="csrf" value="([^"]+)"/.exec(await page.text())![1]!
      const login = await fetch(`${base}/admin/login`, { method: "POST", redirect: "manual", headers: { cookie, "content-type": "application/x-www-form-urlencoded" }, body: `csrf=${csrf}&password=pw` })
      const admin = login.headers.get("set-cookie")!.split(";")[0]!
      const replies: Array<{ path: string; status: number; type: string; body: unknown }> = []
      for (const path of Object.keys(doc.paths)) {
        const concrete = path.replace("{address}", "SsA")
        if (concrete === "/api/events") {
          const controller = new AbortController()
          const r = await fetch(`${base}${concrete}`, { signal: controller.signal })
          replies.push({ path, status: r.status, type: r.headers.get("content-type") ?? "", body: undefined })
          controller.abort()
          continue
        }
        const r = await fetch(`${base}${concrete}`, { headers: { cookie: admin } })
        replies.push({ path, status: r.status, type: r.headers.get("content-type") ?? "", body: await r.json() })
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
      const decoded = Schema.decodeUnknownResult(route.response)(reply.body)
      expect(Result.isSuccess(decoded), `${reply.path}: ${JSON.stringify(reply.body)}`).toBe(true)
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
        return { statuses, other, retryAfter: limited.headers.get("retry-after"), body: await limited.json(), cookie: login.headers.get("set-cookie") ?? "", hsts: login.headers.get("strict-transport-security") }
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
  it.skipIf(!openssl)("serves HTTPS from a certificate and key, with a Secure session cookie", async () => {
    const dir = mkdtempSync(join(tmpdir(), "dcrforge-tls-"))
    const made = spawnSync("openssl", [
      "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
      "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
      "-keyout", join(dir, "gui.key"), "-out", join(dir, "gui.cert"),
    ])
    expect(made.status, made.stderr.toString()).toBe(0)
    const cert = readFileSync(join(dir, "gui.cert"), "utf8")
    const key = readFileSync(join(dir, "gui.key"), "utf8")
    const reply = await withServer({ tls: { cert, key }, adminPassword: Redacted.make("pw") }, (base) =>
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
    rmSync(dir, { recursive: true, force: true })
    expect(reply.status).toBe(200)
    expect(reply.cookie).toContain("; Secure")
    expect(reply.hsts).toBe("max-age=31536000")
    expect(reply.protocol).toMatch(/^TLSv1\.[23]$/)
  }, 60_000)
})
