import { createServer } from "node:https"
import { selfSignedCertificate } from "../testkit/tls.ts"
import { WebSocketServer } from "@effect/platform-node/NodeWS"
import { Effect, Fiber, Layer, Redacted, References, Schedule, Stream } from "effect"
import { ws } from "msw"
import { setupServer } from "msw/node"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import { toHex } from "../core/chain/bytes.ts"
import { encodeGetworkData } from "../core/chain/getwork.ts"
import { SIMNET } from "../core/chain/params.ts"
import { ChainRpc, type ChainEvent } from "../core/services/chain.ts"
import { dcrdChainLayer, dcrdWebSocketLayer, type DcrdOptions } from "./dcrd-client.ts"
import { globalWebSocketLayer } from "../testkit/websocket.ts"

const URL = "wss://dcrd.test:19556/ws"
const header = Uint8Array.from(Buffer.from(SIMNET.genesis.headerHex, "hex"))
const workData = toHex(encodeGetworkData(header, "blake3"))
const targetLE = `${"ff".repeat(31)}7f`

const options = (overrides: Partial<DcrdOptions> = {}): DcrdOptions => ({
  url: URL,
  user: "rpcuser",
  password: Redacted.make("rpcpass"),
  requestTimeoutMillis: 2_000,
  reconnectMillis: [20, 200],
  ...overrides,
})

type Request = { readonly id: number; readonly method: string; readonly params: Array<unknown> }

/** A scripted dcrd: answers by method, records requests, and can notify or hang up. */
const fakeDcrd = (answer: (request: Request) => unknown | "no-answer" | { readonly error: { code: number; message: string } }) => {
  const requests: Array<Request> = []
  const link = ws.link(URL)
  let connections = 0
  const handler = link.addEventListener("connection", ({ client }) => {
    connections++
    client.addEventListener("message", (event) => {
      const request = JSON.parse(String(event.data)) as Request
      requests.push(request)
      const result = answer(request)
      if (result === "no-answer") return
      if (typeof result === "object" && result !== null && "error" in result) client.send(JSON.stringify({ id: request.id, result: null, error: result.error }))
      else client.send(JSON.stringify({ id: request.id, result, error: null }))
    })
  })
  return {
    handler,
    requests,
    connections: () => connections,
    notify: (method: string, params: ReadonlyArray<unknown>) => link.broadcast(JSON.stringify({ jsonrpc: "1.0", method, params, id: null })),
    hangUp: () => link.clients.forEach((c) => c.close()),
  }
}

const server = setupServer()
beforeAll(() => server.listen())
afterEach(() => server.resetHandlers())
afterAll(() => server.close())

const standardAnswers = (request: Request): unknown => {
  switch (request.method) {
    case "getwork":
      return request.params.length === 0 ? { data: workData, target: targetLE } : request.params[0] === workData
    case "getbestblock":
      return { hash: SIMNET.genesis.hash, height: 0 }
    default:
      return null
  }
}

const withClient = <A>(opts: DcrdOptions, body: (chain: ChainRpc["Service"]) => Effect.Effect<A, unknown>) =>
  Effect.runPromise(
    Effect.gen(function* () {
      const chain = yield* ChainRpc
      return yield* body(chain)
    }).pipe(Effect.provide(dcrdChainLayer(opts).pipe(Layer.provide(globalWebSocketLayer))), Effect.provideService(References.MinimumLogLevel, "Error")),
  )

/** Retries `effect` until it succeeds (the client connects in the background). */
const eventually = <A, E>(effect: Effect.Effect<A, E>) => effect.pipe(Effect.retry({ schedule: Schedule.spaced("10 millis"), times: 300 }))

describe("dcrd websocket client (msw)", () => {
  it("subscribes to work and block notifications on connect; getwork, submission and getbestblock decode", async () => {
    const dcrd = fakeDcrd(standardAnswers)
    server.use(dcrd.handler)
    await withClient(options(), (chain) =>
      Effect.gen(function* () {
        const work = yield* eventually(chain.getWork)
        expect(toHex(work.data)).toBe(workData)
        expect(work.target).toBe((1n << 255n) - 1n)
        expect(yield* chain.submitWork(work.data)).toBe(true)
        expect(yield* chain.submitWork(new Uint8Array(192))).toBe(false)
        expect(yield* chain.getBestBlock).toEqual({ hash: SIMNET.genesis.hash, height: 0 })
        expect(dcrd.requests.slice(0, 2).map((r) => r.method)).toEqual(["notifywork", "notifyblocks"])
        expect(dcrd.requests.find((r) => r.params.length === 1)?.params).toEqual([workData])
      }),
    )
  })

  it("delivers work and block notifications in order and drops malformed ones", async () => {
    const dcrd = fakeDcrd(standardAnswers)
    server.use(dcrd.handler)
    await withClient(options(), (chain) =>
      Effect.gen(function* () {
        const collected = yield* Effect.forkChild(Stream.runCollect(Stream.take(chain.events, 3)))
        yield* eventually(chain.getWork)
        dcrd.notify("work", [workData.slice(2), targetLE, "newparent"]) // odd length: dropped
        dcrd.notify("work", [workData, targetLE, "newvotes"])
        dcrd.notify("blockconnected", [SIMNET.genesis.headerHex, []])
        dcrd.notify("winningtickets", ["00", 1, {}]) // not the pool's business
        dcrd.notify("blockdisconnected", [SIMNET.genesis.headerHex])
        const events: ReadonlyArray<ChainEvent> = yield* Fiber.join(collected)
        expect(events.map((e) => e._tag)).toEqual(["Work", "BlockConnected", "BlockDisconnected"])
        expect(events[0]!._tag === "Work" && events[0]!.work.reason).toBe("newvotes")
      }),
    )
  })

  it("reads what a block pays the pool from its coinbase's last output, and nothing from block 1 (the premine ledger)", async () => {
    // The shapes dcrd 2.1 returns for getblock <hash> true true (trimmed): a block at height 40
    // pays the dev subsidy, the height/extra-nonce OP_RETURN, then the mining address; block 1
    // pays the block-one ledger's addresses and no miner.
    const coinbase = (values: ReadonlyArray<number>) => ({ vout: values.map((value, n) => ({ value, n, scriptPubKey: { type: n === 1 ? "nulldata" : "pubkeyhash" } })) })
    const blocks: Record<string, unknown> = {
      ["40".repeat(32)]: { hash: "40".repeat(32), height: 40, rawtx: [coinbase([6.4, 0, 57.6]), coinbase([1])] },
      ["01".repeat(32)]: { hash: "01".repeat(32), height: 1, rawtx: [coinbase([100000, 0, 200000])] },
    }
    const dcrd = fakeDcrd((r) => (r.method === "getblock" ? (blocks[String(r.params[0])] ?? { error: { code: -5, message: "Block not found" } }) : standardAnswers(r)))
    server.use(dcrd.handler)
    await withClient(options(), (chain) =>
      Effect.gen(function* () {
        expect(yield* eventually(chain.coinbaseValue("40".repeat(32)))).toBe(5_760_000_000n)
        expect(yield* chain.coinbaseValue("01".repeat(32))).toBe(0n)
        expect((yield* Effect.flip(chain.coinbaseValue("ff".repeat(32))))._tag).toBe("ChainRpcError")
        expect(dcrd.requests.find((r) => r.method === "getblock")?.params).toEqual(["40".repeat(32), true, true])
      }),
    )
  })

  it("turns a node error into ChainRpcError naming the method and dcrd's message", async () => {
    const dcrd = fakeDcrd((r) => (r.method === "getwork" ? { error: { code: -1, message: "Block template is not yet available" } } : standardAnswers(r)))
    server.use(dcrd.handler)
    await withClient(options(), (chain) =>
      Effect.gen(function* () {
        yield* eventually(chain.getBestBlock)
        const error = yield* Effect.flip(chain.getWork)
        expect(error._tag).toBe("ChainRpcError")
        expect(error.message).toBe("dcrd refused getwork (code -1): Block template is not yet available")
      }),
    )
  })

  it("fails a call in flight when dcrd hangs up, reconnects with re-subscription, and says so", async () => {
    let hang = true
    const dcrd = fakeDcrd((r) => (r.method === "getwork" && hang ? "no-answer" : standardAnswers(r)))
    server.use(dcrd.handler)
    await withClient(options(), (chain) =>
      Effect.gen(function* () {
        const events = yield* Effect.forkChild(Stream.runCollect(Stream.take(chain.events, 1)))
        yield* eventually(chain.getBestBlock)
        const pending = yield* Effect.forkChild(Effect.flip(chain.getWork))
        yield* Effect.sleep(30)
        hang = false
        dcrd.hangUp()
        const error = yield* Fiber.join(pending)
        expect(error._tag).toBe("ChainUnavailable")
        expect(error.message).toMatch(/^dcrd unavailable for getwork: connection to dcrd lost/)
        expect((yield* Fiber.join(events)).map((e) => e._tag)).toEqual(["Reconnected"])
        expect(toHex((yield* eventually(chain.getWork)).data)).toBe(workData)
        expect(dcrd.connections()).toBe(2)
        expect(dcrd.requests.filter((r) => r.method === "notifywork")).toHaveLength(2)
      }),
    )
  })

  it("gives up on an unanswered call after the request timeout", async () => {
    const dcrd = fakeDcrd((r) => (r.method === "getwork" ? "no-answer" : standardAnswers(r)))
    server.use(dcrd.handler)
    await withClient(options({ requestTimeoutMillis: 100 }), (chain) =>
      Effect.gen(function* () {
        yield* eventually(chain.getBestBlock)
        const error = yield* Effect.flip(chain.getWork)
        expect(error.message).toMatch(/no answer in 100 ms/)
      }),
    )
  })
})

describe("dcrd websocket client (real TLS socket)", () => {
  it("trusts exactly dcrd's certificate and sends basic auth in the handshake", async () => {
    const rpc = selfSignedCertificate()
    const other = selfSignedCertificate()
    const https = createServer({ key: rpc.key, cert: rpc.cert })
    const authorizations: Array<string | undefined> = []
    const wss = new WebSocketServer({ server: https, path: "/ws" })
    wss.on("connection", (socket, request) => {
      authorizations.push(request.headers.authorization)
      socket.on("message", (data) => {
        const r = JSON.parse(String(data)) as Request
        socket.send(JSON.stringify({ id: r.id, result: standardAnswers(r), error: null }))
      })
    })
    await new Promise<void>((resolve) => https.listen(0, "127.0.0.1", resolve))
    const port = (https.address() as { port: number }).port
    const url = `wss://127.0.0.1:${port}/ws`
    const run = <A>(certificate: string, body: (chain: ChainRpc["Service"]) => Effect.Effect<A, unknown>) =>
      Effect.runPromise(
        Effect.gen(function* () {
          return yield* body(yield* ChainRpc)
        }).pipe(Effect.provide(dcrdChainLayer(options({ url })).pipe(Layer.provide(dcrdWebSocketLayer(certificate)))), Effect.provideService(References.MinimumLogLevel, "Error")),
      )
    try {
      await run(rpc.cert, (chain) => Effect.map(eventually(chain.getWork), (w) => expect(toHex(w.data)).toBe(workData)))
      expect(authorizations[0]).toBe(`Basic ${Buffer.from("rpcuser:rpcpass").toString("base64")}`)
      // Another certificate: never connects, and says why a call cannot be made.
      await run(other.cert, (chain) =>
        Effect.gen(function* () {
          yield* Effect.sleep(200)
          const error = yield* Effect.flip(chain.getWork)
          expect(error.message).toBe("dcrd unavailable for getwork: not connected; check that dcrd runs and the RPC address, credentials and certificate are right")
        }),
      )
      expect(authorizations).toHaveLength(1)
    } finally {
      wss.close()
      https.close()
    }
  })
})
