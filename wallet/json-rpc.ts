import { Data, Effect, Redacted, Result, Schema, type Scope } from "effect"
import { Agent, fetch as undiciFetch } from "undici"
import { atomsToDcr } from "../core/chain/amounts.ts"

// The one JSON-RPC 1.0 client for dcrd and dcrwallet over HTTP POST: the payout and staking
// adapters and the real-simnet tooling all call through it. Amounts stay exact both ways: they
// go out as decimal literals written from atoms (`dcrAmountLiteral`), and come back as the
// text of their JSON number (`parseJsonExact`), for `dcrToAtoms` to read without a float.

/** An HTTP POST JSON-RPC endpoint of dcrd or dcrwallet. */
export interface JsonRpcEndpoint {
  /** e.g. `https://127.0.0.1:9110` (`http://` only when the server runs without TLS). */
  readonly url: string
  readonly user: string
  readonly password: Redacted.Redacted<string>
  /** The server's rpc.cert (PEM): the only certificate trusted for the connection. */
  readonly certificate?: string | undefined
  readonly requestTimeoutMillis: number
}

/** What the client needs of `fetch`: undici's with a TLS agent in production (`trustingPost`). */
export type HttpPost = (
  url: string,
  init: { readonly method: "POST"; readonly headers: Record<string, string>; readonly body: string; readonly signal: AbortSignal },
) => Promise<{ readonly status: number; text(): Promise<string> }>

/** The server answered the call with a JSON-RPC error: its code and message, as it sent them. */
class JsonRpcRefused extends Data.TaggedError("JsonRpcRefused")<{
  /** Who was asked ("dcrd", "dcrwallet", a wallet's name): the messages say it. */
  readonly server: string
  readonly method: string
  readonly code: number
  readonly reason: string
}> {
  override get message(): string {
    return `${this.server} refused ${this.method} (code ${this.code}): ${this.reason}`
  }
}

/** The server could not be asked: refused connection, wrong certificate or credentials, timeout, a reply that is no JSON-RPC reply. */
class JsonRpcUnavailable extends Data.TaggedError("JsonRpcUnavailable")<{
  readonly server: string
  readonly url: string
  readonly method: string
  readonly reason: string
  /** What failed underneath (the socket's or TLS's error), kept whole for the log. */
  readonly cause?: unknown
}> {
  override get message(): string {
    return `${this.server} at ${this.url} unavailable for ${this.method}: ${this.reason}; check that it runs with its JSON-RPC server on, and the address, RPC user, password and certificate`
  }
}

export type JsonRpcFailure = JsonRpcRefused | JsonRpcUnavailable

/**
 * A param already written as JSON text, sent as it is: how amounts go out as exact decimal
 * literals (`{"Ss...":0.30000001}`) rather than through a float.
 */
export class JsonLiteral {
  readonly text: string
  constructor(text: string) {
    this.text = text
  }
}

/** Atoms as a JSON number literal in DCR, written from the integer: `5n` -> `0.00000005`. */
export const dcrAmountLiteral = (atoms: bigint): string => {
  if (atoms < 0n) throw new RangeError(`negative amount ${atoms}`)
  return atomsToDcr(atoms)
}

const encodeParam = (p: unknown): string => (p instanceof JsonLiteral ? p.text : JSON.stringify(p))

const NO_KEYS: ReadonlySet<string> = new Set()

/**
 * Parses JSON keeping number literals as their source text where a float could change them:
 * every number that is not an integer, and every number under `exactKeys` (for a field read as
 * a string whatever its value, such as getbalance's amounts). So DCR amounts reach `dcrToAtoms`
 * as written. Integers elsewhere (heights, counts) stay numbers. Undefined when it is not JSON.
 */
export const parseJsonExact = (text: string, exactKeys: ReadonlySet<string> = NO_KEYS): unknown => {
  try {
    return JSON.parse(text, (key: string, value: unknown, context?: { readonly source?: string }) =>
      typeof value === "number" && (exactKeys.has(key) || !Number.isInteger(value)) ? (context?.source ?? String(value)) : value,
    )
  } catch {
    return undefined
  }
}

const RpcErrorObject = Schema.Struct({ code: Schema.Number, message: Schema.String })
const RpcReply = Schema.Struct({
  id: Schema.Union([Schema.Number, Schema.String, Schema.Null]),
  result: Schema.optional(Schema.Unknown),
  error: Schema.optional(Schema.Union([RpcErrorObject, Schema.Null])),
})

/** Says why a request never got an answer, from what fetch threw. */
const describeFailure = (url: string, error: unknown): string => {
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error
  const code = typeof cause === "object" && cause !== null && "code" in cause ? String(cause.code) : undefined
  const message = cause instanceof Error ? cause.message : String(cause)
  if (code === "ECONNREFUSED") return `connection refused at ${url}`
  if (code !== undefined && /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ALTNAME/.test(code)) {
    return `the TLS certificate at ${url} is not the configured one (${code})`
  }
  return code === undefined ? message : `${message} (${code})`
}

/**
 * One JSON-RPC call: `params` are values (written with JSON.stringify) or `JsonLiteral`s
 * (written as they are); number literals under `exactKeys` (the client's own when not given),
 * and every fractional one, come back as their source text.
 */
export type JsonRpcCall = (method: string, params?: ReadonlyArray<unknown>, exactKeys?: ReadonlySet<string>) => Effect.Effect<unknown, JsonRpcFailure>

interface JsonRpcClientOptions {
  /** Who is asked, for messages: "dcrd", "dcrwallet". */
  readonly server: string
  /** Keys whose numbers always come back as text (see parseJsonExact). */
  readonly exactKeys?: ReadonlySet<string> | undefined
}

/**
 * Makes JSON-RPC 1.0 calls to `endpoint` over `post`, with HTTP basic auth. Failures are typed:
 * no answer, bad credentials or a reply that is no JSON-RPC reply to this request are
 * `JsonRpcUnavailable`; an answer with an error is `JsonRpcRefused` with the server's code and
 * message.
 */
export const makeJsonRpcCall = (endpoint: Omit<JsonRpcEndpoint, "certificate">, post: HttpPost, options: JsonRpcClientOptions): JsonRpcCall => {
  const authorization = `Basic ${Buffer.from(`${endpoint.user}:${Redacted.value(endpoint.password)}`).toString("base64")}`
  const server = options.server
  let nextId = 0
  return (method, params = [], exactKeys = options.exactKeys) =>
    Effect.gen(function* () {
      const id = ++nextId
      const body = `{"jsonrpc":"1.0","id":${id},"method":${JSON.stringify(method)},"params":[${params.map(encodeParam).join(",")}]}`
      const unavailable = (reason: string, cause?: unknown) => new JsonRpcUnavailable({ server, url: endpoint.url, method, reason, cause })
      const reply = yield* Effect.tryPromise({
        try: async (signal) => {
          const response = await post(endpoint.url, {
            method: "POST",
            headers: { Authorization: authorization, "Content-Type": "application/json" },
            body,
            signal,
          })
          return { status: response.status, text: await response.text() }
        },
        catch: (error) => unavailable(describeFailure(endpoint.url, error), error),
      }).pipe(
        Effect.timeoutOrElse({
          duration: endpoint.requestTimeoutMillis,
          orElse: () => Effect.fail(unavailable(`no answer in ${endpoint.requestTimeoutMillis} ms`)),
        }),
      )
      if (reply.status === 401) {
        return yield* Effect.fail(unavailable(`HTTP 401: ${server} refused the RPC user and password (they must be ${server}'s username and password)`))
      }
      const decoded = Schema.decodeUnknownResult(RpcReply)(parseJsonExact(reply.text, exactKeys))
      if (Result.isFailure(decoded)) {
        return yield* Effect.fail(unavailable(`HTTP ${reply.status} with no JSON-RPC reply: ${reply.text.slice(0, 120)}`))
      }
      if (decoded.success.id !== id) return yield* Effect.fail(unavailable(`reply to request ${String(decoded.success.id)}, not ${id}`))
      const error = decoded.success.error
      if (error !== undefined && error !== null) {
        return yield* Effect.fail(new JsonRpcRefused({ server, method, code: error.code, reason: error.message }))
      }
      return decoded.success.result ?? null
    })
}

/**
 * undici's fetch trusting only `certificate` (PEM) when given, the system's roots otherwise;
 * `close` ends its connections. For a client whose life is no scope's (`trustingPost` otherwise).
 */
export const makeTrustingPost = (certificate: string | undefined): { readonly post: HttpPost; readonly close: Effect.Effect<void> } => {
  const agent = new Agent(certificate === undefined ? {} : { connect: { ca: certificate } })
  return {
    post: (url, init) => undiciFetch(url, { ...init, dispatcher: agent }),
    close: Effect.promise(() => agent.close()),
  }
}

/** `makeTrustingPost`, its connections closed with the scope. */
export const trustingPost = (certificate: string | undefined): Effect.Effect<HttpPost, never, Scope.Scope> =>
  Effect.map(
    Effect.acquireRelease(
      Effect.sync(() => makeTrustingPost(certificate)),
      (t) => t.close,
    ),
    (t) => t.post,
  )

/** A JSON-RPC caller for `endpoint`, trusting only its certificate; its connections close with the scope. */
export const jsonRpcClient = (endpoint: JsonRpcEndpoint, options: JsonRpcClientOptions): Effect.Effect<JsonRpcCall, never, Scope.Scope> =>
  Effect.map(trustingPost(endpoint.certificate), (post) => makeJsonRpcCall(endpoint, post, options))
