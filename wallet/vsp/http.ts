import { Clock, Data, Effect, FiberSet, Redacted, Ref, Schema } from "effect"
import { createHash, timingSafeEqual } from "node:crypto"
import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import type { ServiceState, SignedReply, VspApi } from "./api.ts"
import { AdminStatusResponse, refusal, VspErrorCode } from "./api-types.ts"
import { VspChain } from "./chain.ts"
import { VotingFleet } from "./fleet-port.ts"
import { adminPage } from "./admin-page.ts"
import { VspStore } from "./store.ts"

/**
 * The voting service's HTTP server (node:http, as the pool's, for the same reasons: exact
 * control of the bytes written, since the signature covers them, and of shutdown):
 *
 * - `/api/v3/*`: vspd's API. Bodies are read up to 1 MiB (vspd's cap; a larger body is refused
 *   before it is parsed); each client address has a token bucket (a flood gets 429 with a signed
 *   vspd error body); every answer carries `VSP-Server-Signature`.
 * - `GET /admin/status`: HTTP basic auth (user `admin`), 3 requests a second per client as
 *   vspd's; 200 when every voting wallet is connected, unlocked and voting and dcrd answers,
 *   500 otherwise, with vspd's fields.
 * - `GET /admin` (basic auth): a small page: status, counts, fees, missed tickets, and a ticket
 *   looked up by `?ticket=<hash>`.
 * - `GET /metrics`: Prometheus text (tickets by status, voting wallets online, fees collected).
 */

export interface VspHttpOptions {
  readonly host: string
  /** 0 picks a free port (tests). */
  readonly port: number
  /** The admin password; without one /admin and /admin/status refuse everyone. */
  readonly adminPassword: Redacted.Redacted<string> | undefined
  /** How dcrd is named in /admin/status (its address). */
  readonly dcrdHost: string
  /**
   * Behind a reverse proxy (TLS termination): the client is the last hop of X-Forwarded-For, so
   * each staker has a rate limit of their own rather than all sharing the proxy's.
   */
  readonly trustProxy?: boolean | undefined
  /** Per-client API requests: sustained per second, and the burst allowed. */
  readonly rateLimit?: { readonly perSecond: number; readonly burst: number } | undefined
}

class VspHttpError extends Data.TaggedError("VspHttpError")<{ readonly reason: string; readonly cause?: unknown }> {
  override get message(): string {
    return `voting service HTTP server: ${this.reason}; choose another --listen address or stop what holds it`
  }
}

/** vspd's cap on a request body. */
const MAX_BODY_BYTES = 1 << 20
// A wallet buying a batch of tickets sends a feeaddress and a payfee for each at once: the burst
// takes a large purchase, the rate stops a flood.
const DEFAULT_RATE = { perSecond: 20, burst: 200 } as const
/** vspd: 3 a second on /admin/status. */
const STATUS_RATE = { perSecond: 3, burst: 3 } as const
const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

/** Token buckets per client address; emptied buckets are dropped when full again, so memory stays bounded by active clients. */
const makeLimiter = (rate: { readonly perSecond: number; readonly burst: number }) => {
  const buckets = new Map<string, { tokens: number; atMs: number }>()
  return (client: string, nowMs: number): boolean => {
    const b = buckets.get(client) ?? { tokens: rate.burst, atMs: nowMs }
    b.tokens = Math.min(rate.burst, b.tokens + ((nowMs - b.atMs) / 1000) * rate.perSecond)
    b.atMs = nowMs
    if (buckets.size > 100_000) for (const [k, v] of buckets) if (v.tokens >= rate.burst) buckets.delete(k)
    if (b.tokens < 1) {
      buckets.set(client, b)
      return false
    }
    b.tokens -= 1
    buckets.set(client, b)
    return true
  }
}

const digest = (text: string) => createHash("sha256").update(text).digest()

/** Reads the body up to the cap: its bytes, or "too-large" (the rest is not read). */
const readBody = (req: IncomingMessage): Effect.Effect<Buffer | "too-large"> =>
  Effect.callback<Buffer | "too-large">((resume) => {
    const chunks: Array<Buffer> = []
    let size = 0
    let done = false
    req.on("data", (chunk: Buffer) => {
      if (done) return
      size += chunk.length
      if (size > MAX_BODY_BYTES) {
        done = true
        req.pause()
        resume(Effect.succeed("too-large"))
        return
      }
      chunks.push(chunk)
    })
    req.on("end", () => {
      if (!done) resume(Effect.succeed(Buffer.concat(chunks)))
    })
    req.on("error", () => {
      if (!done) resume(Effect.succeed("too-large"))
    })
  })

export const serveVspHttp = (options: VspHttpOptions, api: VspApi, state: Ref.Ref<ServiceState>) =>
  Effect.gen(function* () {
    const runRequest = yield* FiberSet.makeRuntime<VspChain | VspStore | VotingFleet>()
    const chain = yield* VspChain
    const store = yield* VspStore
    const fleet = yield* VotingFleet
    const clock = yield* Clock.clockWith(Effect.succeed)
    const now = () => clock.currentTimeMillisUnsafe()
    const apiLimit = makeLimiter(options.rateLimit ?? DEFAULT_RATE)
    const statusLimit = makeLimiter(STATUS_RATE)
    const password = options.adminPassword === undefined ? undefined : digest(Redacted.value(options.adminPassword))

    const send = (res: ServerResponse, status: number, type: string, body: string, headers: Record<string, string> = {}) =>
      void res.writeHead(status, { "content-type": type, "cache-control": "no-store", ...headers }).end(body)
    const sendSigned = (res: ServerResponse, reply: SignedReply) => send(res, reply.status, "application/json; charset=utf-8", reply.body, { "VSP-Server-Signature": reply.signature })
    const clientOf = (req: IncomingMessage): string => {
      const forwarded = req.headers["x-forwarded-for"]
      if (options.trustProxy === true && typeof forwarded === "string" && forwarded !== "") return forwarded.split(",").at(-1)?.trim() ?? "unknown"
      return req.socket.remoteAddress ?? "unknown"
    }

    /** Basic auth as `admin` with the admin password, compared in constant time. */
    const isAdmin = (req: IncomingMessage): boolean => {
      const header = req.headers.authorization
      if (password === undefined || header === undefined || !header.startsWith("Basic ")) return false
      const decoded = Buffer.from(header.slice(6), "base64").toString("utf8")
      const colon = decoded.indexOf(":")
      if (colon < 0 || decoded.slice(0, colon) !== "admin") return false
      return timingSafeEqual(digest(decoded.slice(colon + 1)), password)
    }
    const challenge = (res: ServerResponse) => send(res, 401, "text/plain", "admin login required\n", { "www-authenticate": 'Basic realm="dcrforge vsp", charset="UTF-8"' })

    const adminStatus = Effect.gen(function* () {
      const wallets = yield* fleet.status
      const tip = yield* chain.tip.pipe(Effect.result)
      const walletRows = Object.fromEntries(
        wallets.map((w) => [
          w.name,
          {
            connected: w.connected,
            infoerror: w.connected && w.error !== undefined,
            daemonconnected: w.connected && w.error === undefined,
            voteversion: w.voteVersion,
            unlocked: w.unlocked,
            voting: w.voting,
            bestblockerror: w.connected && w.error !== undefined,
            bestblockheight: w.bestBlockHeight,
          },
        ]),
      )
      const dcrd = {
        host: options.dcrdHost,
        connected: tip._tag === "Success",
        bestblockerror: tip._tag === "Failure",
        bestblockheight: tip._tag === "Success" ? tip.success.height : 0,
      }
      const healthy = dcrd.connected && wallets.length > 0 && wallets.every((w) => w.connected && w.unlocked && w.voting && w.error === undefined)
      return { healthy, body: JSON.stringify(Schema.encodeSync(AdminStatusResponse)({ wallets: walletRows, dcrd })), wallets, tipHeight: dcrd.bestblockheight }
    })

    const metrics = Effect.gen(function* () {
      const counts = yield* store.counts
      const s = yield* Ref.get(state)
      const lines = [
        "# HELP dcrforge_vsp_tickets Tickets the voting service knows, by status.",
        "# TYPE dcrforge_vsp_tickets gauge",
        ...(["pending", "voting", "voted", "missed", "expired"] as const).map((k) => `dcrforge_vsp_tickets{status="${k}"} ${counts[k]}`),
        "# HELP dcrforge_vsp_voting_wallets_online Voting wallets connected, unlocked and voting.",
        "# TYPE dcrforge_vsp_voting_wallets_online gauge",
        `dcrforge_vsp_voting_wallets_online ${s.walletsOnline}`,
        "# HELP dcrforge_vsp_voting_wallets Voting wallets configured.",
        "# TYPE dcrforge_vsp_voting_wallets gauge",
        `dcrforge_vsp_voting_wallets ${s.walletsTotal}`,
        "# HELP dcrforge_vsp_fees_collected_atoms Fees paid by confirmed fee transactions, in atoms.",
        "# TYPE dcrforge_vsp_fees_collected_atoms counter",
        `dcrforge_vsp_fees_collected_atoms ${counts.feesCollected}`,
        "# HELP dcrforge_vsp_open 1 while the service takes new tickets.",
        "# TYPE dcrforge_vsp_open gauge",
        `dcrforge_vsp_open ${s.closedReason === undefined ? 1 : 0}`,
        "",
      ]
      return lines.join("\n")
    })

    const POSTS: Record<string, VspApi["feeAddress"]> = {
      "/api/v3/feeaddress": api.feeAddress,
      "/api/v3/payfee": api.payFee,
      "/api/v3/ticketstatus": api.ticketStatus,
      "/api/v3/setvotechoices": api.setVoteChoices,
      "/api/v3/setaltsignaddr": api.setAltSignAddr,
    }

    const handle = (req: IncomingMessage, res: ServerResponse): Effect.Effect<void, unknown, VspChain | VspStore | VotingFleet> =>
      Effect.gen(function* () {
        const url = new URL(req.url ?? "/", "http://vsp")
        const path = url.pathname
        if (path.startsWith("/api/")) {
          // A flood: 429 with a signed vspd error body (the client reads it as an API error).
          if (!apiLimit(clientOf(req), now())) return sendSigned(res, { ...api.refused(refusal(VspErrorCode.BadRequest, "too many requests: slow down")), status: 429 })
          if (path === "/api/v3/vspinfo") {
            if (req.method !== "GET") return send(res, 405, "text/plain", "use GET\n", { allow: "GET" })
            return sendSigned(res, yield* api.vspInfo)
          }
          const handler = POSTS[path]
          if (handler === undefined) return send(res, 404, "text/plain", "no such API path\n")
          if (req.method !== "POST") return send(res, 405, "text/plain", "use POST\n", { allow: "POST" })
          const body = yield* readBody(req)
          if (body === "too-large") {
            sendSigned(res, api.refused(refusal(VspErrorCode.BadRequest, `request body larger than ${MAX_BODY_BYTES} bytes`)))
            return void req.destroy()
          }
          const signature = req.headers["vsp-client-signature"]
          return sendSigned(res, yield* handler({ bytes: body, body: body.toString("utf8"), clientSignature: typeof signature === "string" ? signature : undefined }))
        }
        if (path === "/metrics") return send(res, 200, PROMETHEUS_CONTENT_TYPE, yield* metrics)
        if (path === "/admin/status") {
          if (!statusLimit(clientOf(req), now())) return send(res, 429, "text/plain", "too many requests\n")
          if (!isAdmin(req)) return challenge(res)
          const status = yield* adminStatus
          return send(res, status.healthy ? 200 : 500, "application/json; charset=utf-8", status.body)
        }
        if (path === "/admin") {
          if (!statusLimit(clientOf(req), now())) return send(res, 429, "text/plain", "too many requests\n")
          if (!isAdmin(req)) return challenge(res)
          const status = yield* adminStatus
          const counts = yield* store.counts
          const missed = yield* store.missedTickets
          const wanted = url.searchParams.get("ticket")?.trim()
          const found = wanted === undefined || wanted === "" ? undefined : { hash: wanted, ticket: yield* store.ticket(wanted), alt: yield* store.altSignAddr(wanted) }
          return send(res, 200, "text/html; charset=utf-8", adminPage({ state: yield* Ref.get(state), wallets: status.wallets, tipHeight: status.tipHeight, counts, missed, search: found }), {
            "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
          })
        }
        if (path === "/") return send(res, 200, "text/plain", "dcrforge voting service: vspd API v3 at /api/v3/vspinfo\n")
        return send(res, 404, "text/plain", "not found\n")
      })

    const onRequest = (req: IncomingMessage, res: ServerResponse) =>
      void runRequest(
        Effect.suspend(() => handle(req, res)).pipe(
          Effect.catchCause((cause) =>
            Effect.logError("vsp: request failed", cause).pipe(
              Effect.andThen(Effect.sync(() => (res.headersSent ? res.destroy() : sendSigned(res, api.refused(refusal(VspErrorCode.InternalError)))))),
            ),
          ),
        ),
      )

    const server = createServer(onRequest)
    const port = yield* Effect.acquireRelease(
      Effect.callback<number, VspHttpError>((resume) => {
        server.once("error", (e) => resume(Effect.fail(new VspHttpError({ reason: `cannot listen on ${options.host}:${options.port}: ${e.message}`, cause: e }))))
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
