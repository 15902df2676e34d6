import { concatBytes } from "../core/chain/bytes.ts"
import * as NodeSocket from "@effect/platform-node/NodeSocket"
import { Clock, Effect, Fiber, Latch, Layer, Queue, type Scope } from "effect"
import { isArrayNonEmpty, type NonEmptyReadonlyArray } from "effect/Array"
import * as Socket from "effect/socket/Socket"
import { ListenerError, StratumListener, type MinerConnection } from "../core/services/listener.ts"
import type { SimRandom } from "./random.ts"

/** Opens one connection to the pool as a miner on `host` (a label such as "10.0.0.7"); the scope closes it. */
export type Dial = (host: string) => Effect.Effect<Socket.Socket, Socket.SocketError, Scope.Scope>

export interface NetworkFaults {
  /** One-way delivery latency: base per connection drawn uniformly from [min,max] ms, plus per-chunk jitter up to jitterMillis; order within a direction is always preserved (it is TCP). */
  readonly latencyMillis?: { readonly min: number; readonly max: number; readonly jitter: number } | undefined
  /** Mean virtual seconds between random connection resets over the whole network (0/undefined = none); the victim connection is drawn from the seed. */
  readonly meanSecondsBetweenResets?: number | undefined
  /** Probability that a dial fails (connection refused). */
  readonly dialFailureRate?: number | undefined
  /** Split written data into chunks at random byte boundaries (a line may arrive in pieces, several lines in one chunk), as TCP does. */
  readonly fragment?: boolean | undefined
}

/** Which end of a connection did something: the dialing miner or the pool. */
type NetworkSide = "miner" | "pool"

/** What the network did, in the order it did it; the simulator appends these to its run log. */
export type NetworkEvent =
  | { readonly _tag: "Connected"; readonly connection: number; readonly host: string; readonly remote: string; readonly latencyMillis: number }
  | { readonly _tag: "Closed"; readonly connection: number; readonly host: string; readonly by: NetworkSide }
  | { readonly _tag: "Reset"; readonly connection: number; readonly host: string }
  | { readonly _tag: "Refused"; readonly connection: number; readonly host: string; readonly reason: "refused" | "not listening" | "timeout" }
  | { readonly _tag: "Partitioned"; readonly host: string; readonly millis: number }
  | { readonly _tag: "Healed"; readonly host: string }

interface NetworkStats {
  /** Connections established and not yet closed by either end or reset. */
  readonly open: number
  readonly dials: number
  /** Dials that failed: refused, nobody listening, or timed out in a partition. */
  readonly refused: number
  readonly resets: number
  /** Bytes written into the network by either end. */
  readonly bytes: number
}

export interface MemoryNetwork {
  /** The pool side: provide as the StratumListener. */
  readonly listener: Layer.Layer<StratumListener>
  readonly dial: Dial
  /** Cuts `host` off for `millis`: its dials fail with a timeout after a delay, bytes in flight on its open connections are held and delivered after the partition heals (TCP retransmits), unless the connection is reset meanwhile. */
  readonly partition: (host: string, millis: number) => Effect.Effect<void>
  /** Resets every open connection of `host` (both ends see the connection close with an error), or of all hosts. */
  readonly reset: (host?: string) => Effect.Effect<void>
  readonly stats: () => NetworkStats
}

interface MemoryNetworkOptions {
  readonly random: SimRandom
  readonly faults?: NetworkFaults | undefined
  /** The pool's port; the listener's address is `sim:<port>`. Default 3252. */
  readonly port?: number | undefined
  readonly log?: ((event: NetworkEvent) => void) | undefined
  /** How long a dial into a partition waits for the partition to heal before it fails. Default 10 s. */
  readonly connectTimeoutMillis?: number | undefined
  /** Bytes a direction holds (in flight plus unread) before writes suspend, as a full socket buffer does. Default 256 KiB. */
  readonly windowBytes?: number | undefined
}

type Resume<A> = (effect: Effect.Effect<A, Socket.SocketError>) => void

interface InFlight {
  readonly arriveAt: number
  /** A segment of the byte stream, or the sender's FIN. */
  readonly payload: Uint8Array | "fin"
}

/** One direction of a connection: an ordered byte pipe with latency. */
interface Link {
  /** Its own stream of draws, so traffic in the other direction never shifts its jitter or cuts. */
  readonly random: SimRandom
  queue: Array<InFlight>
  /** Arrival of the last segment queued: a later write never arrives before it. */
  lastArrivalAt: number
  /** Bytes written and neither read by the receiver nor dropped: what fills the window. */
  buffered: number
  readonly drainWaiters: Array<Resume<void>>
  /** Whether a fiber is delivering this queue (one exists only while something is in flight). */
  pumping: boolean
  /** Counts pumps started, so a pump that finished while being started is not mistaken for the current one. */
  pumpGeneration: number
  pumpFiber: Fiber.Fiber<void> | undefined
}

interface End {
  readonly side: NetworkSide
  readonly connection: Connection
  readonly socket: Socket.Socket
  /** Received bytes not yet pulled. */
  inbox: Array<Uint8Array>
  inboxBytes: number
  /** The pull suspended waiting for data, if any. */
  waiter: Resume<NonEmptyReadonlyArray<Uint8Array>> | undefined
  /** Fails every pull at once, dropping unread bytes (reset, local close). */
  readError: Socket.SocketError | undefined
  /** The peer's FIN: fails pulls once the inbox is drained. */
  eof: Socket.SocketError | undefined
  /** Fails writes (reset, destroyed, write side ended). */
  writeError: Socket.SocketError | undefined
  finSent: boolean
  /** This end's reader scope (pool) or dial scope (miner) closed. */
  tornDown: boolean
  /** Writes wait on it: opened when the reader is acquired, closed at teardown (NodeSocket's latch). */
  readonly readerOpen: Latch.Latch
  readonly outbound: Link
  readonly inbound: Link
}

interface Connection {
  readonly id: number
  readonly host: string
  readonly remote: string
  readonly baseLatency: number
  state: "open" | "closing" | "reset"
  miner: End
  pool: End
}

interface Partition {
  until: number
  readonly healed: Latch.Latch
}

const encoder = new TextEncoder()
const DEFAULT_PORT = 3252
/** Linux's default ephemeral port range starts here; it gives each of a host's connections its own source port. */
const EPHEMERAL_PORT_BASE = 32768
const EPHEMERAL_PORT_COUNT = 28232

const socketCloseError = (code: number) => new Socket.SocketError({ reason: new Socket.SocketCloseError({ code }) })
const socketReadError = (message: string) => new Socket.SocketError({ reason: new Socket.SocketReadError({ cause: new Error(message) }) })
const socketWriteError = (message: string) => new Socket.SocketError({ reason: new Socket.SocketWriteError({ cause: new Error(message) }) })
const socketOpenError = (kind: "Unknown" | "Timeout", message: string) => new Socket.SocketError({ reason: new Socket.SocketOpenError({ kind, cause: new Error(message) }) })

/**
 * An in-memory TCP network between simulated miners and the pool, in virtual time: each
 * direction of a connection is an ordered byte pipe whose segments arrive after a seeded
 * latency (`Effect.sleep`, so a `TestClock` drives it), with seeded refusals, resets, partitions
 * and fragmentation. Sockets behave as `NodeSocket`'s do, so the pool's code reads them as it
 * reads TCP: a clean end fails the reader with `SocketCloseError` 1000 after the data, a reset
 * with `SocketReadError` at once, a closed reader scope with 1006; the pool side's writes wait
 * until its reader is acquired, and a write after an end's scope closed suspends (NodeSocket's
 * latch), while one after a reset, a `CloseEvent` or the end of the stream fails.
 */
export const makeMemoryNetwork = (options: MemoryNetworkOptions): Effect.Effect<MemoryNetwork, never, Scope.Scope> =>
  Effect.gen(function* () {
    const networkScope = yield* Effect.scope
    // Delivery fibers are started from inside socket callbacks (a pull that sees the peer's FIN
    // ends its own side), so they are forked with the context the network was made in: its clock.
    const context = yield* Effect.context<never>()
    const clock = yield* Clock.clockWith(Effect.succeed)
    const spawn = (effect: Effect.Effect<void>): Fiber.Fiber<void> => Fiber.runIn(Effect.runForkWith(context)(effect), networkScope)

    const faults = options.faults ?? {}
    const port = options.port ?? DEFAULT_PORT
    const address = `sim:${port}`
    const connectTimeoutMillis = options.connectTimeoutMillis ?? 10_000
    const windowBytes = options.windowBytes ?? 256 * 1024
    const log = options.log ?? (() => {})

    const open = new Map<number, Connection>()
    const dialsByHost = new Map<string, number>()
    const partitions = new Map<string, Partition>()
    const counters = { dials: 0, refused: 0, resets: 0, bytes: 0 }
    let nextConnection = 1
    let backlog: Queue.Queue<Connection> | undefined

    // ---- delivery -------------------------------------------------------------------------

    const releaseWindow = (link: Link, bytes: number) => {
      link.buffered -= bytes
      if (link.buffered <= windowBytes && link.drainWaiters.length > 0) {
        for (const resume of link.drainWaiters.splice(0)) resume(Effect.void)
      }
    }

    const failWriters = (link: Link, error: Socket.SocketError) => {
      for (const resume of link.drainWaiters.splice(0)) resume(Effect.fail(error))
    }

    /** What a pull gets now, or undefined when it must wait. */
    const takeReady = (end: End): Effect.Effect<NonEmptyReadonlyArray<Uint8Array>, Socket.SocketError> | undefined => {
      if (end.readError !== undefined) return Effect.fail(end.readError)
      const batch = end.inbox
      if (isArrayNonEmpty(batch)) {
        end.inbox = []
        const bytes = end.inboxBytes
        end.inboxBytes = 0
        releaseWindow(end.inbound, bytes)
        // A fragmenting network also coalesces: what arrived since the reader last looked is one chunk.
        return Effect.succeed(faults.fragment === true && batch.length > 1 ? [concatBytes(batch)] : batch)
      }
      if (end.eof !== undefined) {
        // Node sockets do not allow half-open connections by default: reading the peer's end
        // ends this side too.
        endWrites(end)
        return Effect.fail(end.eof)
      }
      return undefined
    }

    // Resuming a fiber runs it at once, inside this call: state is settled before any resume, and
    // the waiter is taken first so a delivery made by that fiber cannot resume it a second time.
    const wake = (end: End) => {
      const resume = end.waiter
      if (resume === undefined) return
      end.waiter = undefined
      const ready = takeReady(end)
      if (ready === undefined) end.waiter = resume
      else resume(ready)
    }

    const failReader = (end: End, error: Socket.SocketError) => {
      if (end.readError !== undefined) return
      end.readError = error
      const dropped = end.inboxBytes
      end.inbox = []
      end.inboxBytes = 0
      releaseWindow(end.inbound, dropped)
      wake(end)
    }

    const deliver = (link: Link, to: End, payload: Uint8Array | "fin") => {
      if (to.readError !== undefined) {
        // Nobody reads this end any more: the bytes are gone.
        if (payload !== "fin") releaseWindow(link, payload.length)
        return
      }
      if (payload === "fin") {
        to.eof = socketCloseError(1000)
      } else {
        to.inbox.push(payload)
        to.inboxBytes += payload.length
      }
      wake(to)
    }

    /** Delivers a link's queue in order, each segment at its arrival time or after its host's partition heals. */
    const pump = (connection: Connection, link: Link, to: End): Effect.Effect<void> =>
      Effect.gen(function* () {
        for (;;) {
          const next = link.queue[0]
          if (next === undefined) {
            link.pumping = false
            link.pumpFiber = undefined
            return
          }
          const wait = next.arriveAt - clock.currentTimeMillisUnsafe()
          if (wait > 0) yield* Effect.sleep(wait)
          for (let cut = partitions.get(connection.host); cut !== undefined; cut = partitions.get(connection.host)) {
            yield* cut.healed.await
            // The retransmitted segment still has its one-way trip to make.
            if (connection.baseLatency > 0) yield* Effect.sleep(connection.baseLatency)
          }
          link.queue.shift()
          deliver(link, to, next.payload)
        }
      })

    const send = (end: End, payload: Uint8Array | "fin") => {
      const connection = end.connection
      const link = end.outbound
      const jitter = faults.latencyMillis?.jitter ?? 0
      const now = clock.currentTimeMillisUnsafe()
      const arriveAt = Math.max(link.lastArrivalAt, now + connection.baseLatency + (jitter > 0 ? link.random.int(jitter + 1) : 0))
      link.lastArrivalAt = arriveAt
      if (!link.pumping && arriveAt <= now && !partitions.has(connection.host)) {
        // Nothing in flight and no latency: hand it over now, without a delivery fiber (the
        // common case of a fault-free run, where a fiber per line is most of the cost).
        if (payload !== "fin") link.buffered += payload.length
        return deliver(link, peerOf(end), payload)
      }
      link.queue.push({ arriveAt, payload })
      if (payload !== "fin") link.buffered += payload.length
      if (!link.pumping) {
        link.pumping = true
        const generation = ++link.pumpGeneration
        const fiber = spawn(pump(connection, link, peerOf(end)))
        // With no latency the pump may already have delivered everything and stopped (and the
        // reader it woke may even have started the next one).
        if (link.pumping && link.pumpGeneration === generation) link.pumpFiber = fiber
      }
    }

    /** Cuts `bytes` where TCP might: each piece is its own segment, with its own jitter. */
    const transmit = (end: End, bytes: Uint8Array) => {
      if (faults.fragment !== true) return send(end, bytes)
      const random = end.outbound.random
      let at = 0
      while (at < bytes.length) {
        const rest = bytes.length - at
        const size = rest === 1 || random.chance(0.5) ? rest : random.between(1, rest - 1)
        send(end, bytes.subarray(at, at + size))
        at += size
      }
    }

    const peerOf = (end: End): End => (end.side === "miner" ? end.connection.pool : end.connection.miner)

    const markClosing = (connection: Connection, by: NetworkSide) => {
      if (connection.state !== "open") return
      connection.state = "closing"
      open.delete(connection.id)
      log({ _tag: "Closed", connection: connection.id, host: connection.host, by })
    }

    /** Sends this side's FIN once; the write side is over. */
    const endWrites = (end: End) => {
      if (end.finSent) return
      end.finSent = true
      end.writeError ??= socketWriteError("write after end")
      markClosing(end.connection, end.side)
      send(end, "fin")
    }

    /** The end's scope closed: what NodeSocket's reader finalizer and `destroySoon` do. */
    const tearDown = (end: End) => {
      if (end.tornDown) return
      end.tornDown = true
      end.readerOpen.closeUnsafe()
      endWrites(end)
      failWriters(end.outbound, socketWriteError("socket closed"))
      failReader(end, socketCloseError(1006))
    }

    /** `writer.write(new CloseEvent(code))`: NodeSocket destroys the socket (with an error above 1000). */
    const destroy = (end: End, event: Socket.CloseEvent) => {
      endWrites(end)
      const destroyed = socketWriteError("socket destroyed")
      end.writeError = destroyed
      failWriters(end.outbound, destroyed)
      failReader(end, event.code > 1000 ? socketReadError(`closed with code ${event.code}`) : socketCloseError(1000))
    }

    /** Both ends fail at once; `recorded` is false only when the network itself shuts down. */
    const resetConnection = (connection: Connection, recorded = true) => {
      if (connection.state === "reset") return
      connection.state = "reset"
      open.delete(connection.id)
      if (recorded) {
        counters.resets++
        log({ _tag: "Reset", connection: connection.id, host: connection.host })
      }
      const ends = [connection.miner, connection.pool]
      for (const end of ends) {
        const link = end.outbound
        link.queue = []
        link.buffered = 0
        link.pumping = false
        link.pumpFiber?.interruptUnsafe()
        link.pumpFiber = undefined
        end.finSent = true
        end.writeError = socketWriteError("connection reset by peer (ECONNRESET)")
      }
      // Both ends are settled before either's fibers are resumed.
      for (const end of ends) {
        failWriters(end.outbound, socketWriteError("connection reset by peer (ECONNRESET)"))
        failReader(end, socketReadError("connection reset by peer (ECONNRESET)"))
      }
    }

    // ---- sockets --------------------------------------------------------------------------

    const makeEnd = (connection: Connection, side: NetworkSide, outbound: Link, inbound: Link): End => {
      // The socket's effects refer to `end` only when they run, after it is built.
      const end: End = {
        side,
        connection,
        socket: Socket.make({
          reader:
            side === "miner"
              ? // The dial's scope owns a miner's connection; acquiring the reader hands out the live one.
                Effect.sync(() => reader)
              : Effect.acquireRelease(
                  Effect.suspend(() => {
                    if (connection.state === "reset") return Effect.fail(socketOpenError("Unknown", "connection reset by peer (ECONNRESET)"))
                    if (end.tornDown) return Effect.fail(socketCloseError(1000))
                    end.readerOpen.openUnsafe()
                    return Effect.succeed(reader)
                  }),
                  () => Effect.sync(() => tearDown(end)),
                ),
          // Releasing the writer half-closes, as NodeSocket's `end()` does.
          writer: Effect.acquireRelease(
            Effect.sync(() => writer),
            () =>
              Effect.sync(() => {
                if (!end.tornDown) endWrites(end)
              }),
          ),
        }),
        inbox: [],
        inboxBytes: 0,
        waiter: undefined,
        readError: undefined,
        eof: undefined,
        writeError: undefined,
        finSent: false,
        tornDown: false,
        // The miner's reader is live from the dial on (as `tcpDial`'s); the pool's opens when acquired.
        readerOpen: Latch.makeUnsafe(side === "miner"),
        outbound,
        inbound,
      }
      const reader: Socket.Reader = {
        pull: Effect.callback<NonEmptyReadonlyArray<Uint8Array>, Socket.SocketError>((resume) => {
          const ready = takeReady(end)
          if (ready !== undefined) return resume(ready)
          end.waiter = resume
          return Effect.sync(() => {
            if (end.waiter === resume) end.waiter = undefined
          })
        }),
        upgrade: Socket.SocketUpgradeError.unsupported,
      }
      const writeNow = (bytes: Uint8Array): Effect.Effect<void, Socket.SocketError> => {
        if (end.writeError !== undefined) return Effect.fail(end.writeError)
        if (bytes.length === 0) return Effect.void
        counters.bytes += bytes.length
        transmit(end, bytes)
        if (end.outbound.buffered <= windowBytes) return Effect.void
        // A full window: the write waits for the peer to read, as a full socket buffer makes it.
        return Effect.callback<void, Socket.SocketError>((resume) => {
          if (end.writeError !== undefined) return resume(Effect.fail(end.writeError))
          if (end.outbound.buffered <= windowBytes) return resume(Effect.void)
          end.outbound.drainWaiters.push(resume)
          return Effect.sync(() => {
            const at = end.outbound.drainWaiters.indexOf(resume)
            if (at >= 0) end.outbound.drainWaiters.splice(at, 1)
          })
        })
      }
      const writer: Socket.Writer = {
        write: (chunk) =>
          end.readerOpen.whenOpen(
            Effect.suspend(() => {
              if (Socket.isCloseEvent(chunk)) return Effect.sync(() => destroy(end, chunk))
              // TCP copies what it is given: the caller may reuse its buffer.
              return writeNow(typeof chunk === "string" ? encoder.encode(chunk) : chunk.slice())
            }),
          ),
        writeAll: (chunks) => end.readerOpen.whenOpen(Effect.suspend(() => writeNow(concatBytes(chunks.map((c) => (typeof c === "string" ? encoder.encode(c) : c)))))),
      }
      return end
    }

    const makeLink = (random: SimRandom): Link => ({
      random,
      queue: [],
      lastArrivalAt: 0,
      buffered: 0,
      drainWaiters: [],
      pumping: false,
      pumpGeneration: 0,
      pumpFiber: undefined,
    })

    const makeConnection = (id: number, host: string, sourcePort: number, baseLatency: number, random: SimRandom): Connection => {
      const up = makeLink(random.fork("up"))
      const down = makeLink(random.fork("down"))
      // The ends point back at the connection, so they are attached once it exists.
      const connection = { id, host, remote: `${host}:${sourcePort}`, baseLatency, state: "open" } as Connection
      connection.miner = makeEnd(connection, "miner", up, down)
      connection.pool = makeEnd(connection, "pool", down, up)
      return connection
    }

    // ---- dialing and listening ------------------------------------------------------------

    const refuse = (id: number, host: string, reason: "refused" | "not listening" | "timeout") =>
      Effect.suspend(() => {
        counters.refused++
        log({ _tag: "Refused", connection: id, host, reason })
        return Effect.fail(reason === "timeout" ? socketOpenError("Timeout", `connect ETIMEDOUT ${address} from ${host}`) : socketOpenError("Unknown", `connect ECONNREFUSED ${address} from ${host}`))
      })

    const dial: Dial = (host) =>
      Effect.gen(function* () {
        counters.dials++
        const id = nextConnection++
        const hostIndex = dialsByHost.get(host) ?? 0
        dialsByHost.set(host, hostIndex + 1)
        // Each connection draws from its own stream, named by host and the host's dial count,
        // so other miners' dials never shift its latency or fate.
        const random = options.random.fork(`connection/${host}/${hostIndex}`)
        const latency = faults.latencyMillis
        const baseLatency = latency === undefined ? 0 : random.between(latency.min, latency.max)
        const failureRate = faults.dialFailureRate ?? 0
        const refusedByFault = failureRate > 0 && random.chance(failureRate)

        // A partitioned host's SYNs are lost; a retransmitted one gets through if the partition
        // heals before the connect times out.
        const deadline = clock.currentTimeMillisUnsafe() + connectTimeoutMillis
        for (let cut = partitions.get(host); cut !== undefined; cut = partitions.get(host)) {
          const left = deadline - clock.currentTimeMillisUnsafe()
          if (left <= 0) return yield* refuse(id, host, "timeout")
          yield* Effect.raceFirst(cut.healed.await, Effect.sleep(left))
        }
        // SYN out, SYN-ACK (or RST) back.
        if (baseLatency > 0) yield* Effect.sleep(2 * baseLatency)
        const accepting = backlog
        if (accepting === undefined) return yield* refuse(id, host, "not listening")
        if (refusedByFault) return yield* refuse(id, host, "refused")

        const connection = yield* Effect.acquireRelease(
          Effect.sync(() => {
            const made = makeConnection(id, host, EPHEMERAL_PORT_BASE + (hostIndex % EPHEMERAL_PORT_COUNT), baseLatency, random)
            open.set(id, made)
            log({ _tag: "Connected", connection: id, host, remote: made.remote, latencyMillis: baseLatency })
            return made
          }),
          (made) => Effect.sync(() => tearDown(made.miner)),
        )
        yield* Queue.offer(accepting, connection)
        return connection.miner.socket
      })

    const serve = (connection: Connection, handler: (c: MinerConnection) => Effect.Effect<void>) =>
      handler({ remote: connection.remote, host: connection.host, socket: connection.pool.socket }).pipe(
        // The handler is done with the connection: close it, whether or not it read.
        Effect.ensuring(Effect.sync(() => tearDown(connection.pool))),
      )

    const run = (handler: (c: MinerConnection) => Effect.Effect<void>): Effect.Effect<never, ListenerError> =>
      Effect.gen(function* () {
        if (backlog !== undefined) return yield* Effect.fail(new ListenerError({ reason: `${address} is already served by another run; stop it first` }))
        const accepted = yield* Queue.unbounded<Connection>()
        backlog = accepted
        const stopListening = Effect.gen(function* () {
          if (backlog === accepted) backlog = undefined
          // Connections the kernel completed but nobody accepted are reset when the listener closes.
          for (const connection of yield* Queue.clear(accepted)) resetConnection(connection)
        })
        return yield* Effect.forever(Effect.flatMap(Queue.take(accepted), (connection) => Effect.forkScoped(serve(connection, handler), { startImmediately: true }))).pipe(
          Effect.ensuring(stopListening),
        )
      }).pipe(Effect.scoped)

    const listener = StratumListener.of({ address, port, run })

    // ---- faults ---------------------------------------------------------------------------

    const heal = (host: string, until: number) => {
      const cut = partitions.get(host)
      if (cut === undefined || cut.until !== until) return
      partitions.delete(host)
      log({ _tag: "Healed", host })
      cut.healed.openUnsafe()
    }

    const partition = (host: string, millis: number): Effect.Effect<void> =>
      Effect.sync(() => {
        if (!(millis > 0)) return
        const until = clock.currentTimeMillisUnsafe() + millis
        log({ _tag: "Partitioned", host, millis })
        const cut = partitions.get(host)
        if (cut !== undefined) {
          if (until <= cut.until) return
          cut.until = until
        } else {
          partitions.set(host, { until, healed: Latch.makeUnsafe(false) })
        }
        spawn(Effect.sleep(millis).pipe(Effect.andThen(Effect.sync(() => heal(host, until)))))
      })

    const reset = (host?: string): Effect.Effect<void> =>
      Effect.sync(() => {
        for (const connection of [...open.values()]) {
          if (host === undefined || connection.host === host) resetConnection(connection)
        }
      })

    const meanReset = faults.meanSecondsBetweenResets ?? 0
    if (meanReset > 0) {
      const random = options.random.fork("resets")
      yield* Effect.forkIn(
        Effect.forever(
          Effect.gen(function* () {
            yield* Effect.sleep(Math.max(1, Math.round(random.exponential(meanReset * 1000))))
            if (open.size === 0) return
            // Connections in the order they opened: the same seed picks the same victim.
            resetConnection([...open.values()][random.int(open.size)]!)
          }),
        ),
        networkScope,
      )
    }

    // Closing the network cuts whatever is still connected, so no reader waits for ever; the run
    // is over, so it is not an event of the run.
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        for (const connection of [...open.values()]) resetConnection(connection, false)
      }),
    )

    return {
      listener: Layer.succeed(StratumListener)(listener),
      dial,
      partition,
      reset,
      stats: () => ({ open: open.size, dials: counters.dials, refused: counters.refused, resets: counters.resets, bytes: counters.bytes }),
    } satisfies MemoryNetwork
  })

/** The same Dial over real TCP (NodeSocket.makeNet), so an emulator runs unchanged against a real pool. The dial's `host` is ignored: the OS picks the source address. */
export const tcpDial =
  (host: string, port: number): Dial =>
  () =>
    Effect.gen(function* () {
      const socket = yield* NodeSocket.makeNet({ host, port, openTimeout: 10_000 })
      // Acquiring makeNet's reader connects; doing it here, in the dial's scope, makes the dial
      // fail when the connection does and lets the scope own the connection, as the memory dial does.
      const reader = yield* socket.reader
      return Socket.make({ reader: Effect.succeed(reader), writer: socket.writer })
    })
