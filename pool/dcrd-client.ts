import { Clock, Context, Deferred, Effect, Fiber, Layer, Queue, Redacted, Result, Schema, Stream } from "effect"
import * as Socket from "effect/socket/Socket"
import { Agent, WebSocket as UndiciWebSocket } from "undici"
import { fromHex, toHex } from "../core/chain/bytes.ts"
import { targetFromLEHex } from "../core/chain/targets.ts"
import { dcrToAtoms } from "../core/chain/amounts.ts"
import { GETWORK_DATA_BYTES } from "../core/chain/getwork.ts"
import { HEADER_BYTES } from "../core/chain/header.ts"
import { parseJsonExact } from "../wallet/json-rpc.ts"
import { ChainRpc, ChainRpcError, ChainUnavailable, type ChainEvent, type ChainFailure, type WorkReason } from "../core/services/chain.ts"

export interface DcrdOptions {
  /** The websocket endpoint, e.g. `wss://127.0.0.1:9109/ws` (`ws://` only with dcrd's --notls). */
  readonly url: string
  readonly user: string
  readonly password: Redacted.Redacted<string>
  /** dcrd's rpc.cert (PEM): the only certificate trusted for the connection. */
  readonly certificate?: string | undefined
  readonly requestTimeoutMillis: number
  /** Reconnect delay: doubles from the first value up to the second. */
  readonly reconnectMillis: readonly [number, number]
}

/**
 * Any dcrd JSON-RPC call over the same connection as `ChainRpc` (the same subscription, timeouts
 * and reconnects): for read-only views beside the mining path, such as the Staking page's.
 */
export class DcrdCalls extends Context.Service<DcrdCalls, { readonly call: (method: string, params: ReadonlyArray<unknown>) => Effect.Effect<unknown, ChainFailure> }>()("dcrforge/DcrdCalls") {}

export const defaultDcrdTimeouts = { requestTimeoutMillis: 30_000, reconnectMillis: [250, 30_000] as const }

// ---- wire shapes (dcrd's JSON-RPC 1.0) ---------------------------------------------------------

const RpcErrorObject = Schema.Struct({ code: Schema.Number, message: Schema.String })
const RpcResponse = Schema.Struct({
  id: Schema.Union([Schema.Number, Schema.String, Schema.Null]),
  result: Schema.optional(Schema.Unknown),
  error: Schema.optional(Schema.Union([RpcErrorObject, Schema.Null])),
})
const RpcNotification = Schema.Struct({ method: Schema.String, params: Schema.Array(Schema.Unknown) })
const GetWorkResult = Schema.Struct({ data: Schema.String, target: Schema.String })
const BestBlockResult = Schema.Struct({ hash: Schema.String, height: Schema.Number })
const WorkNotification = Schema.Tuple([Schema.String, Schema.String, Schema.Literals(["newparent", "newvotes", "newtxns"])])

const decodeWork = (data: string, target: string, reason: WorkReason) => {
  const bytes = fromHex(data, "getwork data")
  const t = targetFromLEHex(target)
  if (Result.isFailure(bytes) || bytes.success.length !== GETWORK_DATA_BYTES || Result.isFailure(t)) return undefined
  return { data: bytes.success, target: t.success, reason }
}

const decodeHeaderParam = (params: ReadonlyArray<unknown>): Uint8Array | undefined => {
  const hex = params[0]
  if (typeof hex !== "string") return undefined
  const bytes = fromHex(hex, "header")
  return Result.isSuccess(bytes) && bytes.success.length === HEADER_BYTES ? bytes.success : undefined
}

/** Turns one notification into a chain event, or says why it cannot. */
const decodeNotification = (method: string, params: ReadonlyArray<unknown>): ChainEvent | string | undefined => {
  switch (method) {
    case "work": {
      const p = Schema.decodeUnknownResult(WorkNotification)(params)
      const work = Result.isSuccess(p) ? decodeWork(p.success[0], p.success[1], p.success[2]) : undefined
      return work === undefined ? "malformed work notification" : { _tag: "Work", work }
    }
    case "blockconnected":
    case "blockdisconnected": {
      const header = decodeHeaderParam(params)
      if (header === undefined) return `malformed ${method} notification`
      return method === "blockconnected" ? { _tag: "BlockConnected", header } : { _tag: "BlockDisconnected", header }
    }
    default:
      // Other subscriptions (tickets, transactions) are not the pool's business.
      return undefined
  }
}

/**
 * The live `ChainRpc`: dcrd's websocket JSON-RPC with basic auth over TLS. It keeps one
 * connection, re-dials with backoff when it drops, subscribes to work and block notifications
 * on every connect, and fails calls in flight with `ChainUnavailable` when the link is lost.
 */
export const dcrdChainLayer = (options: DcrdOptions): Layer.Layer<ChainRpc | DcrdCalls, never, Socket.WebSocketConstructor> =>
  Layer.effectContext(
    Effect.gen(function* () {
      const scope = yield* Effect.scope
      const events = yield* Queue.unbounded<ChainEvent>()
      /** Calls awaiting their reply, by request id, with the method for error messages. */
      const pending = new Map<number, { readonly method: string; readonly answer: Deferred.Deferred<unknown, ChainFailure> }>()
      let writer: Socket.Writer | undefined
      let nextId = 0
      const authorization = `Basic ${Buffer.from(`${options.user}:${Redacted.value(options.password)}`).toString("base64")}`

      const failPending = (reason: string) =>
        Effect.forEach([...pending.values()], (p) => Deferred.fail(p.answer, new ChainUnavailable({ method: p.method, reason })), { discard: true }).pipe(
          Effect.andThen(Effect.sync(() => pending.clear())),
        )

      const callOn = (w: Socket.Writer, method: string, params: ReadonlyArray<unknown>): Effect.Effect<unknown, ChainFailure> =>
        Effect.gen(function* () {
          const id = ++nextId
          const answer = yield* Deferred.make<unknown, ChainFailure>()
          pending.set(id, { method, answer })
          yield* w
            .write(JSON.stringify({ jsonrpc: "1.0", id, method, params }))
            .pipe(Effect.catch((cause) => Deferred.fail(answer, new ChainUnavailable({ method, reason: "connection lost while sending", cause }))))
          return yield* Deferred.await(answer).pipe(
            Effect.timeoutOrElse({
              duration: options.requestTimeoutMillis,
              orElse: () => Effect.fail(new ChainUnavailable({ method, reason: `no answer in ${options.requestTimeoutMillis} ms` })),
            }),
            Effect.ensuring(Effect.sync(() => pending.delete(id))),
          )
        })

      /** Calls go out only once the connection is subscribed, so no notification is missed. */
      const call = (method: string, params: ReadonlyArray<unknown>): Effect.Effect<unknown, ChainFailure> =>
        Effect.suspend(() => (writer === undefined ? Effect.fail(new ChainUnavailable({ method, reason: "not connected" })) : callOn(writer, method, params)))

      const onMessage = (text: string) =>
        Effect.gen(function* () {
          // Amounts (getblock's output values) stay their source text, for dcrToAtoms to read exactly.
          const json = parseJsonExact(text)
          const response = Schema.decodeUnknownResult(RpcResponse)(json)
          if (Result.isSuccess(response) && typeof response.success.id === "number") {
            const call = pending.get(response.success.id)
            if (call === undefined) return
            const error = response.success.error
            if (error !== undefined && error !== null) {
              return yield* Deferred.fail(call.answer, new ChainRpcError({ method: call.method, code: error.code, reason: error.message }))
            }
            return yield* Deferred.succeed(call.answer, response.success.result ?? null)
          }
          const notification = Schema.decodeUnknownResult(RpcNotification)(json)
          if (Result.isFailure(notification)) return yield* Effect.logWarning(`dcrd sent a message that is neither a reply nor a notification: ${text.slice(0, 120)}`)
          const event = decodeNotification(notification.success.method, notification.success.params)
          if (typeof event === "string") return yield* Effect.logWarning(`ignored ${event} from dcrd: ${text.slice(0, 120)}`)
          if (event !== undefined) yield* Queue.offer(events, event)
        })

      const requireResult =
        <A>(method: string, schema: Schema.Codec<A, unknown>) =>
        (value: unknown) => {
          const decoded = Schema.decodeUnknownResult(schema)(value)
          return Result.isSuccess(decoded)
            ? Effect.succeed(decoded.success)
            : Effect.fail(new ChainRpcError({ method, code: -1, reason: `unexpected reply shape: ${JSON.stringify(value).slice(0, 120)}` }))
        }
      /** One connection's life: dial, subscribe, read until it drops. */
      const session = (reconnected: boolean) =>
        Effect.gen(function* () {
          const socket = yield* Socket.makeWebSocket(options.url, { headers: { Authorization: authorization }, openTimeout: 10_000 })
          const reader = yield* socket.reader
          const socketWriter = yield* socket.writer
          const reading = yield* Effect.forkScoped(
            Effect.gen(function* () {
              for (;;) {
                const chunks = yield* reader.pull
                for (const chunk of chunks) yield* onMessage(typeof chunk === "string" ? chunk : new TextDecoder().decode(chunk))
              }
            }),
          )
          yield* callOn(socketWriter, "notifywork", [])
          yield* callOn(socketWriter, "notifyblocks", [])
          writer = socketWriter
          yield* Effect.logInfo(`connected to dcrd at ${options.url}`)
          if (reconnected) yield* Queue.offer(events, { _tag: "Reconnected" })
          return yield* Fiber.join(reading)
        }).pipe(Effect.scoped)

      const connectForever = Effect.gen(function* () {
        let delay = options.reconnectMillis[0]
        let everConnected = false
        for (;;) {
          const started = yield* Clock.currentTimeMillis
          const exit = yield* Effect.exit(session(everConnected).pipe(Effect.onExit(() => Effect.sync(() => (writer = undefined)))))
          yield* failPending("connection to dcrd lost")
          const lasted = (yield* Clock.currentTimeMillis) - started
          // A connection that held for a while resets the backoff; one that failed at once grows it.
          if (lasted > options.reconnectMillis[1]) delay = options.reconnectMillis[0]
          everConnected = true
          // The failure goes with the line as its cause, whole, not flattened to text.
          yield* exit._tag === "Failure"
            ? Effect.logWarning(`dcrd connection at ${options.url} failed; retrying in ${delay} ms`, exit.cause)
            : Effect.logWarning(`dcrd connection at ${options.url} ended (closed); retrying in ${delay} ms`)
          yield* Effect.sleep(delay)
          delay = Math.min(delay * 2, options.reconnectMillis[1])
        }
      })
      yield* Effect.forkIn(connectForever, scope)

      const chain = ChainRpc.of({
        getWork: call("getwork", []).pipe(
          Effect.flatMap(requireResult("getwork", GetWorkResult)),
          Effect.flatMap((r) => {
            const work = decodeWork(r.data, r.target, "initial")
            return work === undefined ? Effect.fail(new ChainRpcError({ method: "getwork", code: -1, reason: "work data or target of the wrong length" })) : Effect.succeed(work)
          }),
        ),
        submitWork: (data) => call("getwork", [toHex(data)]).pipe(Effect.flatMap(requireResult("getwork", Schema.Boolean))),
        getBestBlock: call("getbestblock", []).pipe(Effect.flatMap(requireResult("getbestblock", BestBlockResult))),
        getBlockHash: (height) => call("getblockhash", [height]).pipe(Effect.flatMap(requireResult("getblockhash", Schema.String))),
        coinbaseValue: (hash) =>
          call("getblock", [hash, true, true]).pipe(
            Effect.flatMap(requireResult("getblock", VerboseBlockResult)),
            Effect.flatMap((block) => {
              // Block 1 pays the network's block-one ledger (the premine) instead of a subsidy
              // to the miner: nothing in it is the pool's.
              if (block.height === 1) return Effect.succeed(0n)
              const last = block.rawtx[0]?.vout.at(-1)
              if (last === undefined) return Effect.fail(new ChainRpcError({ method: "getblock", code: -1, reason: `block ${hash} has no coinbase outputs` }))
              const atoms = dcrToAtoms(last.value, "coinbase output value")
              return Result.isSuccess(atoms) ? Effect.succeed(atoms.success) : Effect.fail(new ChainRpcError({ method: "getblock", code: -1, reason: atoms.failure.message }))
            }),
          ),
        events: Stream.fromQueue(events),
      })
      return Context.make(ChainRpc, chain).pipe(Context.add(DcrdCalls, { call }))
    }),
  )

/**
 * Dials with undici's WebSocket, trusting only `certificate` when given (dcrd's self-signed
 * rpc.cert), and sending the handshake headers (basic auth) dcrd checks before upgrading.
 */
/** getblock verbose with transactions: only the height and the coinbase's output values are read. */
const VerboseBlockResult = Schema.Struct({
  height: Schema.Number,
  rawtx: Schema.Array(Schema.Struct({ vout: Schema.Array(Schema.Struct({ value: Schema.Union([Schema.String, Schema.Finite]) })) })),
})

export const dcrdWebSocketLayer = (certificate: string | undefined): Layer.Layer<Socket.WebSocketConstructor> => {
  const dispatcher = certificate === undefined ? undefined : new Agent({ connect: { ca: certificate } })
  return Layer.succeed(Socket.WebSocketConstructor)((url, options) => {
    const init = typeof options === "object" && !Array.isArray(options) ? options : undefined
    return new UndiciWebSocket(url, {
      ...(init?.headers === undefined ? {} : { headers: { ...init.headers } }),
      ...(dispatcher === undefined ? {} : { dispatcher }),
    })
  })
}
