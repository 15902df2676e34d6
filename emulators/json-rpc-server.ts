import { Data, Effect, FiberSet } from "effect"
import { createHash, timingSafeEqual } from "node:crypto"
import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import { atomsToDcr } from "../core/chain/amounts.ts"

/**
 * A JSON-RPC reply's value. Every bigint is an amount in atoms and goes out as a DCR decimal
 * literal written from the integer (`2310000000n` -> `23.1`), as dcrwallet's float64 amounts
 * read; an undefined field is left out (Go's `omitempty`).
 */
export type RpcValue = null | boolean | number | string | bigint | ReadonlyArray<RpcValue> | { readonly [key: string]: RpcValue | undefined }

/** What a method answers: its result, or a JSON-RPC error with dcrwallet's code and message. */
export type RpcOutcome = { readonly result: RpcValue } | { readonly error: { readonly code: number; readonly message: string } }

/** Answers one call; never fails (a refusal is an `error` outcome). */
export type RpcHandler = (method: string, params: ReadonlyArray<unknown>) => Effect.Effect<RpcOutcome>

export const encodeRpcValue = (value: RpcValue): string => {
  if (typeof value === "bigint") return atomsToDcr(value)
  if (value === null || typeof value !== "object") return JSON.stringify(value)
  if (Array.isArray(value)) return `[${value.map(encodeRpcValue).join(",")}]`
  const fields: Array<string> = []
  for (const [key, field] of Object.entries(value as { readonly [key: string]: RpcValue | undefined })) {
    if (field !== undefined) fields.push(`${JSON.stringify(key)}:${encodeRpcValue(field)}`)
  }
  return `{${fields.join(",")}}`
}

/** dcrwallet's reply shape (dcrjson `MarshalResponse`): result and error both present, one null. */
const replyText = (jsonrpc: string, id: unknown, outcome: RpcOutcome): string => {
  const version = jsonrpc === "2.0" ? "2.0" : "1.0"
  const result = "result" in outcome ? encodeRpcValue(outcome.result) : "null"
  const error = "error" in outcome ? JSON.stringify({ code: outcome.error.code, message: outcome.error.message }) : "null"
  return `{"jsonrpc":"${version}","result":${result},"error":${error},"id":${JSON.stringify(id ?? null)}}`
}

/**
 * One JSON-RPC 1.0 request body answered by `handle`, as dcrwallet answers it: `Invalid request`
 * (-32600) for a body that is not one, else the handler's outcome in dcrjson's reply shape.
 */
const answerJsonRpc = (body: string, handle: RpcHandler): Effect.Effect<string> => {
  let request: unknown
  try {
    request = JSON.parse(body)
  } catch {
    request = undefined
  }
  if (typeof request !== "object" || request === null || Array.isArray(request) || typeof (request as { method?: unknown }).method !== "string") {
    return Effect.succeed(replyText("1.0", null, { error: { code: -32600, message: "Invalid request" } }))
  }
  const { jsonrpc, id, method, params } = request as { jsonrpc?: unknown; id?: unknown; method: string; params?: unknown }
  const version = typeof jsonrpc === "string" ? jsonrpc : "1.0"
  if (params !== undefined && params !== null && !Array.isArray(params)) {
    return Effect.succeed(replyText(version, id, { error: { code: -32600, message: "Invalid request" } }))
  }
  return Effect.map(handle(method, Array.isArray(params) ? params : []), (outcome) => replyText(version, id, outcome))
}

/**
 * An in-memory HTTP POST (the shape of wallet/json-rpc.ts's `HttpPost`) to JSON-RPC servers
 * that live in this process: `route` gives the handler at a URL, or undefined when nothing
 * listens there (the post is refused like a closed port, ECONNREFUSED). The request goes
 * through the same framing as `serveJsonRpc`, without a socket, so a client's whole path runs
 * in virtual time. Credentials are not checked: the server is in the same process.
 */
export const memoryPost =
  (route: (url: string) => RpcHandler | undefined) =>
  async (url: string, init: { readonly body: string }): Promise<{ readonly status: number; text(): Promise<string> }> => {
    const handle = route(url)
    if (handle === undefined) throw Object.assign(new Error(`connect ECONNREFUSED ${url}`), { code: "ECONNREFUSED" })
    const reply = await Effect.runPromise(answerJsonRpc(init.body, handle))
    return { status: 200, text: () => Promise.resolve(reply) }
  }

/** dcrwallet's cap on a request body: 4 MiB. */
const MAX_REQUEST_BYTES = 4 * 1024 * 1024

class JsonRpcServerError extends Data.TaggedError("JsonRpcServerError")<{ readonly reason: string; readonly cause?: unknown }> {
  override get message(): string {
    return `wallet JSON-RPC server: ${this.reason}; pick another port (--walletrpc PORT, 0 for any free one)`
  }
}

interface JsonRpcServerOptions {
  readonly host: string
  /** 0 for any free port. */
  readonly port: number
  readonly user: string
  readonly password: string
  readonly handle: RpcHandler
}

const sha256 = (text: string) => createHash("sha256").update(text).digest()

/**
 * dcrwallet's JSON-RPC front as HTTP POST (no TLS: it listens on loopback only): HTTP basic
 * auth compared in constant time (401 with dcrwallet's realm otherwise), a body of at most
 * 4 MiB, one JSON-RPC 1.0 request per POST, `Invalid request` (-32600) for a body that is not
 * one, and every call answered by `handle`. Closes with the scope; answers the port it got.
 */
export const serveJsonRpc = (options: JsonRpcServerOptions) =>
  Effect.gen(function* () {
    const expected = sha256(`Basic ${Buffer.from(`${options.user}:${options.password}`).toString("base64")}`)
    const authorized = (req: IncomingMessage) => {
      const given = req.headers.authorization
      return given !== undefined && timingSafeEqual(sha256(given), expected)
    }
    const send = (res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}) => {
      res.writeHead(status, { "content-type": "application/json", ...headers })
      res.end(body)
    }
    const answer = (res: ServerResponse, body: string): Effect.Effect<void> => Effect.map(answerJsonRpc(body, options.handle), (reply) => send(res, 200, reply))

    const run = yield* FiberSet.makeRuntime<never>()
    const server = createServer((req, res) => {
      if (!authorized(req)) {
        res.writeHead(401, { "www-authenticate": 'Basic realm="dcrwallet RPC"', "content-type": "text/plain; charset=utf-8" })
        res.end("401 Unauthorized.\n")
        return
      }
      if (req.method !== "POST") {
        res.writeHead(405, { allow: "POST", "content-type": "text/plain; charset=utf-8" })
        res.end("use POST with a JSON-RPC request\n")
        return
      }
      const chunks: Array<Buffer> = []
      let size = 0
      req.on("data", (chunk: Buffer) => {
        size += chunk.length
        if (size > MAX_REQUEST_BYTES) {
          res.writeHead(413, { "content-type": "text/plain; charset=utf-8" })
          res.end("413 Request Too Large.\n")
          req.destroy()
          return
        }
        chunks.push(chunk)
      })
      req.on("end", () => {
        if (size <= MAX_REQUEST_BYTES) void run(answer(res, Buffer.concat(chunks).toString("utf8")))
      })
    })
    const port = yield* Effect.acquireRelease(
      Effect.callback<number, JsonRpcServerError>((resume) => {
        server.once("error", (e) => resume(Effect.fail(new JsonRpcServerError({ reason: `cannot listen on ${options.host}:${options.port}: ${e.message}`, cause: e }))))
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
