import { assert, describe, it } from "@effect/vitest"
import { Clock, Effect, Exit, Fiber, type Scope } from "effect"
import * as Socket from "effect/socket/Socket"
import { TestClock } from "effect/testing"
import * as Net from "node:net"
import { StratumListener, type MinerConnection } from "../core/services/listener.ts"
import { makeMemoryNetwork, tcpDial, type Dial, type MemoryNetwork, type NetworkEvent, type NetworkFaults } from "./network.ts"
import { SimRandom } from "./random.ts"

const decoder = new TextDecoder()
const text = (chunk: Uint8Array | string) => (typeof chunk === "string" ? chunk : decoder.decode(chunk))

interface Received {
  readonly at: number
  readonly text: string
}

/** What one end of a connection saw: chunks with their virtual arrival times, then how it ended. */
interface Seen {
  readonly chunks: Array<Received>
  end: { readonly at: number; readonly error: Socket.SocketError } | undefined
}

const newSeen = (): Seen => ({ chunks: [], end: undefined })
const all = (seen: Seen) => seen.chunks.map((c) => c.text).join("")

/** Pulls until the reader fails, recording every chunk and the failure. */
const readAll = (reader: Socket.Reader, seen: Seen): Effect.Effect<void> =>
  Effect.gen(function* () {
    for (;;) {
      const chunks = yield* reader.pull
      const at = yield* Clock.currentTimeMillis
      for (const chunk of chunks) seen.chunks.push({ at, text: text(chunk) })
    }
  }).pipe(Effect.catch((error) => Effect.map(Clock.currentTimeMillis, (at) => void (seen.end = { at, error }))))

/** The pool side for tests: records each connection and what it read, or with `echo` writes back what it reads. */
const startPool = (net: MemoryNetwork, options: { readonly echo?: boolean } = {}) =>
  Effect.gen(function* () {
    const listener = yield* Effect.provide(
      Effect.gen(function* () {
        return yield* StratumListener
      }),
      net.listener,
    )
    const connections: Array<{ readonly connection: MinerConnection; readonly seen: Seen; writer: Socket.Writer | undefined }> = []
    const handler = (connection: MinerConnection) =>
      Effect.gen(function* () {
        const entry = { connection, seen: newSeen(), writer: undefined as Socket.Writer | undefined }
        connections.push(entry)
        const reader = yield* connection.socket.reader
        const writer = yield* connection.socket.writer
        entry.writer = writer
        if (options.echo !== true) return yield* readAll(reader, entry.seen)
        for (;;) {
          const chunks = yield* reader.pull
          for (const chunk of chunks) yield* writer.write(chunk)
        }
      }).pipe(Effect.scoped, Effect.ignore)
    const fiber = yield* Effect.forkScoped(listener.run(handler), { startImmediately: true })
    return { listener, connections, fiber }
  })

const latencyOf = (events: ReadonlyArray<NetworkEvent>, connection: number) => {
  const connected = events.find((e) => e._tag === "Connected" && e.connection === connection)
  if (connected?._tag !== "Connected") throw new Error(`no Connected event for connection ${connection}`)
  return connected.latencyMillis
}

/** Advances virtual time 1 ms at a time until `done`, so the first moment it holds is exact. */
const stepUntil = (done: () => boolean, limitMillis: number) =>
  Effect.gen(function* () {
    for (let i = 0; i < limitMillis && !done(); i++) yield* TestClock.adjust(1)
    return yield* Clock.currentTimeMillis
  })

const network = (seed: number, faults: NetworkFaults = {}, events: Array<NetworkEvent> = []) => makeMemoryNetwork({ random: new SimRandom(seed), faults, log: (e) => events.push(e) })

const lines = (count: number) => Array.from({ length: count }, (_, i) => `{"id":${i},"method":"mining.submit","params":["w.${i}","${"ab".repeat(i % 7)}"]}\n`)

describe("memory network", () => {
  it.effect("a line written by a miner reaches the pool exactly one drawn latency later, never before", () =>
    Effect.gen(function* () {
      const events: Array<NetworkEvent> = []
      const net = yield* network(11, { latencyMillis: { min: 20, max: 120, jitter: 0 } }, events)
      const pool = yield* startPool(net)
      const line = `{"id":1,"method":"mining.subscribe","params":["cgminer/4.10"]}\n`
      const sent = { dialedAt: -1, wroteAt: -1 }
      yield* Effect.forkScoped(
        Effect.gen(function* () {
          const socket = yield* net.dial("10.0.0.7")
          sent.dialedAt = yield* Clock.currentTimeMillis
          const writer = yield* socket.writer
          sent.wroteAt = yield* Clock.currentTimeMillis
          yield* writer.write(line)
          yield* Effect.never
        }),
      )
      const arrivedAt = yield* stepUntil(() => (pool.connections[0]?.seen.chunks.length ?? 0) > 0, 1_000)
      const latency = latencyOf(events, 1)
      assert.isAtLeast(latency, 20)
      assert.isAtMost(latency, 120)
      // The handshake takes a round trip, the line one way.
      assert.strictEqual(sent.dialedAt, 2 * latency)
      assert.strictEqual(arrivedAt, sent.wroteAt + latency)
      assert.strictEqual(all(pool.connections[0]!.seen), line)
      const accepted = pool.connections[0]!.connection
      assert.strictEqual(accepted.host, "10.0.0.7")
      assert.match(accepted.remote, /^10\.0\.0\.7:\d+$/)
      assert.strictEqual(pool.listener.address, "sim:3252")
    }),
  )

  it.effect("order is kept under jitter and fragmentation: many lines each way arrive split and coalesced but byte-identical", () =>
    Effect.gen(function* () {
      const net = yield* network(5, { latencyMillis: { min: 30, max: 60, jitter: 40 }, fragment: true })
      const pool = yield* startPool(net, { echo: true })
      const upstream = lines(300)
      const echoed = newSeen()
      yield* Effect.forkScoped(
        Effect.gen(function* () {
          const socket = yield* net.dial("10.0.0.8")
          const reader = yield* socket.reader
          const writer = yield* socket.writer
          yield* Effect.forkScoped(readAll(reader, echoed))
          // Bursts of several lines per write, some writes in the same instant, some 1 ms apart.
          for (let i = 0; i < upstream.length; i += 3) {
            yield* writer.write(upstream.slice(i, i + 3).join(""))
            if (i % 2 === 0) yield* Effect.sleep(1)
          }
          yield* Effect.never
        }).pipe(Effect.scoped),
      )
      yield* TestClock.adjust(5_000)
      assert.strictEqual(all(echoed), upstream.join(""))
      const chunks = echoed.chunks.map((c) => c.text)
      assert.isTrue(
        chunks.some((c) => !c.endsWith("\n")),
        "some chunk ends inside a line",
      )
      assert.isTrue(
        chunks.some((c) => c.split("\n").length > 2),
        "some chunk holds several lines",
      )
      // Virtual arrival times never go backwards within a direction.
      const times = echoed.chunks.map((c) => c.at)
      assert.deepStrictEqual(
        times,
        [...times].sort((a, b) => a - b),
      )
      assert.strictEqual(pool.connections.length, 1)
    }),
  )

  it.effect("a graceful close delivers everything written before it, then the reader ends as TCP's does (SocketCloseError 1000)", () =>
    Effect.gen(function* () {
      const events: Array<NetworkEvent> = []
      const net = yield* network(3, { latencyMillis: { min: 50, max: 50, jitter: 10 }, fragment: true }, events)
      const pool = yield* startPool(net)
      yield* Effect.forkScoped(
        Effect.gen(function* () {
          const socket = yield* net.dial("10.0.0.9")
          const writer = yield* socket.writer
          yield* writer.write("first\n")
          yield* writer.write(new TextEncoder().encode("second\n"))
          yield* writer.write(new Socket.CloseEvent())
          // The miner's own socket is gone: further writes fail.
          const after = yield* Effect.exit(writer.write("too late\n"))
          assert.isTrue(Exit.isFailure(after))
        }).pipe(Effect.scoped),
      )
      yield* TestClock.adjust(1_000)
      const seen = pool.connections[0]!.seen
      assert.strictEqual(all(seen), "first\nsecond\n")
      const end = seen.end?.error.reason
      assert.strictEqual(end?._tag, "SocketCloseError")
      assert.strictEqual(end?._tag === "SocketCloseError" ? end.code : undefined, 1000)
      assert.isAtLeast(seen.end!.at, seen.chunks.at(-1)!.at)
      assert.deepStrictEqual(
        events.filter((e) => e._tag === "Closed"),
        [{ _tag: "Closed", connection: 1, host: "10.0.0.9", by: "miner" }],
      )
      assert.strictEqual(net.stats().open, 0)
    }),
  )

  it.effect("closing a scope closes the connection: the pool handler returning ends the miner's reader, a closed dial scope ends the pool's", () =>
    Effect.gen(function* () {
      const net = yield* network(4, { latencyMillis: { min: 10, max: 10, jitter: 0 } })
      const listener = yield* Effect.provide(
        Effect.gen(function* () {
          return yield* StratumListener
        }),
        net.listener,
      )
      // This pool greets and hangs up.
      yield* Effect.forkScoped(
        listener.run((c) =>
          Effect.gen(function* () {
            yield* c.socket.reader
            const writer = yield* c.socket.writer
            yield* writer.write("bye\n")
          }).pipe(Effect.scoped, Effect.ignore),
        ),
        { startImmediately: true },
      )
      const minerSeen = newSeen()
      yield* Effect.forkScoped(
        Effect.gen(function* () {
          const socket = yield* net.dial("10.0.0.10")
          yield* readAll(yield* socket.reader, minerSeen)
        }).pipe(Effect.scoped),
      )
      yield* TestClock.adjust(100)
      assert.strictEqual(all(minerSeen), "bye\n")
      assert.strictEqual(minerSeen.end?.error.reason._tag, "SocketCloseError")
      assert.strictEqual(net.stats().open, 0)

      // And the other way round: the miner's dial scope closes.
      const pool = yield* startPoolOnFreshNetwork()
      yield* TestClock.adjust(100)
      assert.strictEqual(all(pool.seen), "hello\n")
      assert.strictEqual(pool.seen.end?.error.reason._tag, "SocketCloseError")
    }),
  )

  it.effect("a reset fails both readers at once with a read error, drops bytes in flight and fails later writes", () =>
    Effect.gen(function* () {
      const events: Array<NetworkEvent> = []
      const net = yield* network(7, { latencyMillis: { min: 100, max: 100, jitter: 0 } }, events)
      const pool = yield* startPool(net)
      const minerSeen = newSeen()
      const minerWriter: { writer: Socket.Writer | undefined } = { writer: undefined }
      yield* Effect.forkScoped(
        Effect.gen(function* () {
          const socket = yield* net.dial("10.0.0.11")
          minerWriter.writer = yield* socket.writer
          yield* Effect.forkScoped(readAll(yield* socket.reader, minerSeen))
          yield* Effect.never
        }).pipe(Effect.scoped),
      )
      yield* TestClock.adjust(200)
      yield* minerWriter.writer!.write("in flight\n")
      yield* TestClock.adjust(50)
      yield* net.reset("10.0.0.11")
      const resetAt = yield* Clock.currentTimeMillis
      yield* TestClock.adjust(500)
      const poolSeen = pool.connections[0]!.seen
      assert.strictEqual(all(poolSeen), "", "the line in flight was lost")
      for (const seen of [minerSeen, poolSeen]) {
        assert.strictEqual(seen.end?.error.reason._tag, "SocketReadError")
        assert.strictEqual(seen.end?.at, resetAt)
      }
      const after = yield* Effect.exit(minerWriter.writer!.write("after\n"))
      assert.isTrue(Exit.isFailure(after))
      assert.deepStrictEqual(net.stats(), { open: 0, dials: 1, refused: 0, resets: 1, bytes: "in flight\n".length })
      assert.deepStrictEqual(events.at(-1), { _tag: "Reset", connection: 1, host: "10.0.0.11" })
    }),
  )

  it.effect("a partition holds bytes in flight until it heals, then delivers them in order; dials into it time out", () =>
    Effect.gen(function* () {
      const events: Array<NetworkEvent> = []
      const net = yield* network(9, { latencyMillis: { min: 40, max: 40, jitter: 0 } }, events)
      const pool = yield* startPool(net)
      const miner: { writer: Socket.Writer | undefined } = { writer: undefined }
      yield* Effect.forkScoped(
        Effect.gen(function* () {
          const socket = yield* net.dial("10.0.0.12")
          miner.writer = yield* socket.writer
          yield* Effect.never
        }).pipe(Effect.scoped),
      )
      yield* TestClock.adjust(100)
      yield* miner.writer!.write("before\n")
      yield* TestClock.adjust(10)
      yield* net.partition("10.0.0.12", 30_000)
      yield* miner.writer!.write("during\n")

      // A dial from the cut-off host times out after the connect timeout (10 s), not before.
      const dialed = yield* Effect.forkScoped(Effect.exit(net.dial("10.0.0.12")))
      yield* TestClock.adjust(9_999)
      assert.isUndefined(dialed.pollUnsafe())
      yield* TestClock.adjust(1)
      const exit = yield* Fiber.join(dialed)
      assert.isTrue(Exit.isFailure(exit))
      if (Exit.isFailure(exit)) {
        const error = exit.cause.reasons[0]
        assert.strictEqual(error?._tag, "Fail")
        if (error?._tag === "Fail") {
          assert.strictEqual(error.error.reason._tag, "SocketOpenError")
          assert.strictEqual(error.error.reason._tag === "SocketOpenError" ? error.error.reason.kind : undefined, "Timeout")
        }
      }

      // Other hosts are not affected.
      const other = yield* Effect.forkScoped(Effect.exit(net.dial("10.0.0.13")))
      yield* TestClock.adjust(100)
      assert.isTrue(Exit.isSuccess(yield* Fiber.join(other)))

      const seen = pool.connections[0]!.seen
      assert.strictEqual(all(seen), "", "nothing crosses the partition")
      // Retransmitted after the heal, one one-way latency later.
      const arrivesAt = 110 + 30_000 + 40
      yield* TestClock.adjust(arrivesAt - 1 - (yield* Clock.currentTimeMillis))
      assert.strictEqual(all(seen), "")
      yield* TestClock.adjust(1)
      assert.strictEqual(all(seen), "before\nduring\n")
      assert.isUndefined(seen.end)
      assert.deepStrictEqual(
        events.filter((e) => e._tag === "Partitioned" || e._tag === "Healed" || e._tag === "Refused"),
        [
          { _tag: "Partitioned", host: "10.0.0.12", millis: 30_000 },
          { _tag: "Refused", connection: 2, host: "10.0.0.12", reason: "timeout" },
          { _tag: "Healed", host: "10.0.0.12" },
        ],
      )
    }),
  )

  it.effect("a dial before the listener runs or after it stopped is refused with SocketOpenError; connections die with it", () =>
    Effect.gen(function* () {
      const events: Array<NetworkEvent> = []
      const net = yield* network(2, {}, events)
      const before = yield* Effect.exit(Effect.scoped(net.dial("10.0.0.20")))
      assert.isTrue(Exit.isFailure(before))
      const pool = yield* startPool(net)
      const minerSeen = newSeen()
      yield* Effect.forkScoped(
        Effect.gen(function* () {
          const socket = yield* net.dial("10.0.0.20")
          yield* readAll(yield* socket.reader, minerSeen)
        }).pipe(Effect.scoped),
      )
      yield* TestClock.adjust(10)
      assert.strictEqual(net.stats().open, 1)
      yield* Fiber.interrupt(pool.fiber)
      yield* TestClock.adjust(10)
      assert.strictEqual(minerSeen.end?.error.reason._tag, "SocketCloseError", "the pool's shutdown closed the connection")
      const after = yield* Effect.exit(Effect.scoped(net.dial("10.0.0.20")))
      assert.isTrue(Exit.isFailure(after))
      assert.deepStrictEqual(
        events.filter((e) => e._tag === "Refused").map((e) => e._tag === "Refused" && e.reason),
        ["not listening", "not listening"],
      )
      assert.deepStrictEqual(net.stats(), { open: 0, dials: 3, refused: 2, resets: 0, bytes: 0 })
    }),
  )

  it.effect("a writer whose peer does not read is held once the window is full, and released when it reads", () =>
    Effect.gen(function* () {
      const net = yield* makeMemoryNetwork({ random: new SimRandom(1), windowBytes: 1_000 })
      const listener = yield* Effect.provide(
        Effect.gen(function* () {
          return yield* StratumListener
        }),
        net.listener,
      )
      const poolReader: { reader: Socket.Reader | undefined } = { reader: undefined }
      yield* Effect.forkScoped(
        listener.run((c) =>
          Effect.gen(function* () {
            poolReader.reader = yield* c.socket.reader
            yield* Effect.never
          }).pipe(Effect.scoped, Effect.ignore),
        ),
        { startImmediately: true },
      )
      const progress = { written: 0 }
      yield* Effect.forkScoped(
        Effect.gen(function* () {
          const writer = yield* (yield* net.dial("10.0.0.30")).writer
          for (let i = 0; i < 5; i++) {
            yield* writer.write("x".repeat(400))
            progress.written++
          }
        }).pipe(Effect.scoped),
      )
      yield* TestClock.adjust(10)
      assert.strictEqual(progress.written, 2, "the third 400-byte write overfills a 1,000-byte window and waits")
      yield* poolReader.reader!.pull
      yield* TestClock.adjust(10)
      assert.strictEqual(progress.written, 5)
    }),
  )

  it.effect("the same seed gives the same event sequence; another seed gives other latencies and another sequence", () =>
    Effect.gen(function* () {
      const first = yield* busyNetwork(42)
      const again = yield* busyNetwork(42)
      const other = yield* busyNetwork(43)
      assert.deepStrictEqual(again, first)
      assert.notDeepEqual(other, first)
      const latencies = (log: ReadonlyArray<string>) => log.filter((l) => l.includes('"Connected"')).map((l) => JSON.parse(l.slice(l.indexOf(" ") + 1)).latencyMillis)
      assert.notDeepEqual(latencies(other), latencies(first))
      // The run exercised every kind of event.
      for (const tag of ["Connected", "Closed", "Reset", "Refused", "Partitioned", "Healed"]) {
        assert.isTrue(
          first.some((l) => l.includes(`"_tag":"${tag}"`)),
          `no ${tag} event`,
        )
      }
    }),
  )

  it.live("tcpDial gives the same Dial over real TCP: a line round-trips through a local echo server, a closed port is refused", () =>
    Effect.gen(function* () {
      const sockets = new Set<Net.Socket>()
      const server = yield* Effect.acquireRelease(
        Effect.callback<Net.Server>((resume) => {
          const s = Net.createServer((socket) => {
            sockets.add(socket)
            socket.on("close", () => sockets.delete(socket))
            socket.pipe(socket)
          })
          s.listen(0, "127.0.0.1", () => resume(Effect.succeed(s)))
        }),
        (s) =>
          Effect.callback<void>((resume) => {
            for (const socket of sockets) socket.destroy()
            s.close(() => resume(Effect.void))
          }),
      )
      const address = server.address()
      if (address === null || typeof address === "string") throw new Error("server has no TCP address")
      const echoed = yield* roundTrip(tcpDial("127.0.0.1", address.port), "10.0.0.7", `{"id":1,"method":"mining.subscribe","params":[]}\n`)
      assert.strictEqual(echoed, `{"id":1,"method":"mining.subscribe","params":[]}\n`)

      // A port nobody listens on (just freed) refuses the dial.
      const closed = yield* Effect.callback<number>((resume) => {
        const s = Net.createServer()
        s.listen(0, "127.0.0.1", () => {
          const bound = s.address()
          s.close(() => resume(Effect.succeed(bound !== null && typeof bound !== "string" ? bound.port : 0)))
        })
      })
      const refused = yield* Effect.exit(Effect.scoped(tcpDial("127.0.0.1", closed)("10.0.0.7")))
      assert.isTrue(Exit.isFailure(refused))
    }),
  )

  it.effect("the memory Dial runs the same round trip as tcpDial", () =>
    Effect.gen(function* () {
      const net = yield* network(8, { latencyMillis: { min: 5, max: 25, jitter: 5 }, fragment: true })
      yield* startPool(net, { echo: true })
      const fiber = yield* Effect.forkScoped(roundTrip(net.dial, "10.0.0.7", "ping\n"))
      yield* TestClock.adjust(1_000)
      assert.strictEqual(yield* Fiber.join(fiber), "ping\n")
    }),
  )
})

/** Dials, writes `line`, reads until a newline comes back: the same code over either Dial. */
const roundTrip = (dial: Dial, host: string, line: string): Effect.Effect<string, Socket.SocketError> =>
  Effect.gen(function* () {
    const socket = yield* dial(host)
    const reader = yield* socket.reader
    const writer = yield* socket.writer
    yield* writer.write(line)
    let got = ""
    while (!got.includes("\n")) {
      for (const chunk of yield* reader.pull) got += text(chunk)
    }
    return got
  }).pipe(Effect.scoped)

/** A fresh network where a miner says hello and closes its dial scope; `seen` is what the pool reads (so far). */
const startPoolOnFreshNetwork = (): Effect.Effect<{ readonly seen: Seen }, never, Scope.Scope> =>
  Effect.gen(function* () {
    const net = yield* network(6, { latencyMillis: { min: 10, max: 10, jitter: 0 } })
    const pool = yield* startPool(net)
    yield* Effect.forkScoped(
      Effect.gen(function* () {
        const writer = yield* (yield* net.dial("10.0.0.14")).writer
        yield* writer.write("hello\n")
        yield* Effect.sleep(30)
      }).pipe(Effect.scoped),
    )
    yield* TestClock.adjust(30)
    return {
      get seen() {
        return pool.connections[0]!.seen
      },
    }
  })

/**
 * Five miners that connect, talk and hang up over a faulty network for a virtual minute, in a
 * clock of their own; returns the network's event log stamped with virtual times.
 */
const busyNetwork = (seed: number) =>
  Effect.gen(function* () {
    const log: Array<string> = []
    const clock = yield* Clock.clockWith(Effect.succeed)
    const net = yield* makeMemoryNetwork({
      random: new SimRandom(seed),
      faults: { latencyMillis: { min: 5, max: 150, jitter: 20 }, meanSecondsBetweenResets: 4, dialFailureRate: 0.2, fragment: true },
      log: (e) => log.push(`${clock.currentTimeMillisUnsafe()} ${JSON.stringify(e)}`),
    })
    yield* startPool(net, { echo: true })
    for (let m = 0; m < 5; m++) {
      const host = `10.0.0.${m + 1}`
      const session = Effect.gen(function* () {
        const socket = yield* net.dial(host)
        const reader = yield* socket.reader
        const writer = yield* socket.writer
        for (let i = 0; i < 5; i++) {
          yield* writer.write(`{"id":${i},"miner":${m}}\n`)
          yield* reader.pull
          yield* Effect.sleep(400 + 100 * m)
        }
      }).pipe(Effect.scoped, Effect.ignore)
      yield* Effect.forkScoped(Effect.forever(Effect.andThen(session, Effect.sleep(300))))
    }
    yield* Effect.forkScoped(Effect.andThen(Effect.sleep(7_000), net.partition("10.0.0.2", 4_000)))
    yield* TestClock.adjust(60_000)
    return log
  }).pipe(Effect.scoped, Effect.provide(TestClock.layer()))
