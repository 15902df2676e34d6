import { Clock, Deferred, Effect, Random } from "effect"
import * as Socket from "effect/socket/Socket"
import type { PowHashAlgorithm } from "../core/chain/hash.ts"
import type { ListenerError, MinerConnection } from "../core/services/listener.ts"
import { StratumListener } from "../core/services/listener.ts"
import { encodeError, StratumErrorCode, stratumError } from "../core/stratum/protocol.ts"
import type { Job, JobBook } from "./jobs.ts"
import { LineSplitter } from "./lines.ts"
import { CrashPoints } from "./crash-points.ts"
import { currentPoolMetrics } from "./metrics.ts"
import { currentTaskSupervisor } from "./supervisor.ts"
import { StratumSession, type AcceptedShare, type BlockCandidate, type SessionConfig, type SessionLog, type SessionOutput } from "./session.ts"

export interface ServerLimits {
  /** Connections one address may hold; a farm behind one NAT needs this raised. */
  readonly maxConnectionsPerHost: number
  /** How often quiet miners get a vardiff look and silent ones are closed. */
  readonly tickMillis: number
  /** A write the peer does not drain in this long means a dead or stuck miner: it is closed. */
  readonly writeTimeoutMillis: number
}

export const defaultServerLimits: ServerLimits = { maxConnectionsPerHost: 256, tickMillis: 1_000, writeTimeoutMillis: 10_000 }

export interface StratumServerOptions {
  readonly session: SessionConfig
  readonly limits: ServerLimits
  readonly jobs: JobBook
  readonly activePow: () => PowHashAlgorithm
  /** Accepted shares, in the order they were checked (accounting). */
  readonly onShares: (shares: ReadonlyArray<AcceptedShare>) => Effect.Effect<void>
  /** A share that meets the network target. Runs beside the miner's connection, not in its way. */
  readonly onBlock: (block: BlockCandidate) => Effect.Effect<void>
}

export interface ServerCounters {
  connected: number
  connectionsTotal: number
  refusedPerHost: number
  sharesAccepted: number
  sharesRejected: number
  blockCandidates: number
  badMessages: number
}

interface Connection {
  readonly remote: string
  readonly session: StratumSession
  readonly writer: Socket.Writer
  /** Completed with the reason when someone other than the reader decides to close. */
  readonly closed: Deferred.Deferred<string>
  /** Writes waiting for the peer to drain its socket; non-zero only for a slow or dead peer. */
  pendingWrites: number
  /** When the ticker first saw writes pending. */
  blockedSince: number | undefined
}

const encoder = new TextEncoder()

/**
 * The stratum server: one fiber per miner connection feeding its `StratumSession`, a broadcast
 * of each new job to every ready session, and a ticker for idle checks. Transport-free: it runs on
 * whatever `StratumListener` it is given (TCP in production, the simulated network in scenarios).
 */
export const makeStratumServer = (options: StratumServerOptions) =>
  Effect.gen(function* () {
    const scope = yield* Effect.scope
    const metrics = yield* currentPoolMetrics
    const clock = yield* Clock.Clock
    const supervisor = yield* currentTaskSupervisor
    const connections = new Set<Connection>()
    const perHost = new Map<string, number>()
    const extraNonceInUse = new Set<number>()
    // Start the extranonce counter at a seeded random point so two instances rarely hand
    // the same extranonce1 to their miners (they would do each other's work).
    let lastExtraNonce = yield* Random.nextIntBetween(0, 0xffffffff)
    const counters: ServerCounters = {
      connected: 0,
      connectionsTotal: 0,
      refusedPerHost: 0,
      sharesAccepted: 0,
      sharesRejected: 0,
      blockCandidates: 0,
      badMessages: 0,
    }

    const allocateExtraNonce = (): number => {
      for (;;) {
        lastExtraNonce = (lastExtraNonce + 1) >>> 0
        if (!extraNonceInUse.has(lastExtraNonce)) {
          extraNonceInUse.add(lastExtraNonce)
          return lastExtraNonce
        }
      }
    }

    const logSession = (conn: Connection, log: SessionLog) => {
      switch (log.kind) {
        case "share-rejected":
          counters.sharesRejected++
          metrics.sharesRejected[log.reason].inc()
          return Effect.logDebug(`share rejected: ${log.reason}`).pipe(Effect.annotateLogs("miner", conn.remote))
        case "bad-message":
          counters.badMessages++
          metrics.badMessages.inc()
          return Effect.logInfo(`bad message: ${log.message}`).pipe(Effect.annotateLogs("miner", conn.remote))
        case "unknown-miner":
          return Effect.logWarning(`unsupported miner ${JSON.stringify(log.userAgent)} refused at subscribe`).pipe(Effect.annotateLogs("miner", conn.remote))
        case "cannot-mine":
          return Effect.logWarning(`${log.model} cannot mine the chain's active proof of work; refused at subscribe`).pipe(Effect.annotateLogs("miner", conn.remote))
        case "upgraded":
          return Effect.logInfo(`miner identified as ${log.to} (was ${log.from}) from its share rate`).pipe(Effect.annotateLogs("miner", conn.remote))
      }
    }

    /** Records a session's shares, writes its lines (one socket write, so they stay together) and passes its results on. */
    const emit = (conn: Connection, out: SessionOutput) =>
      Effect.gen(function* () {
        // A block goes to dcrd first, before anything waits on the store: every millisecond
        // it waits is a millisecond in which another block can make it stale.
        for (const block of out.blocks) {
          counters.blockCandidates++
          metrics.blocks.candidate.inc()
          yield* Effect.forkIn(options.onBlock(block), scope)
        }
        // Shares are recorded before the miner hears "accepted": a share it was told about
        // is durable, whatever happens to the pool next.
        if (out.shares.length > 0) {
          counters.sharesAccepted += out.shares.length
          metrics.sharesAccepted.inc(out.shares.length)
          const start = clock.monotonicTimeNanosUnsafe()
          yield* options.onShares(out.shares)
          metrics.shareRecordSeconds.observeSince(clock, start)
        }
        if (out.lines.length > 0) yield* write(conn, out.lines.length === 1 ? `${out.lines[0]}\n` : `${out.lines.join("\n")}\n`)
        for (const log of out.logs) yield* logSession(conn, log)
        if (out.close !== undefined) yield* Deferred.succeed(conn.closed, out.close)
      })

    // A write completes at once unless the peer's socket buffer is full; no timer per write
    // (that cost dominated a 5,000-way broadcast): the ticker closes peers that stay blocked.
    const write = (conn: Connection, text: string) =>
      Effect.suspend(() => {
        conn.pendingWrites++
        return conn.writer.write(text)
      }).pipe(
        Effect.matchEffect({
          onSuccess: () => Effect.sync(() => void conn.pendingWrites--),
          onFailure: () => {
            conn.pendingWrites--
            return Deferred.succeed(conn.closed, "write failed").pipe(Effect.asVoid)
          },
        }),
      )

    const refuse = (c: MinerConnection, message: string) =>
      Effect.gen(function* () {
        const writer = yield* c.socket.writer
        // The writer waits for the reader to open the socket.
        yield* c.socket.reader
        yield* writer.write(`${encodeError(null, stratumError(StratumErrorCode.other, message))}\n`).pipe(Effect.ignore)
      }).pipe(Effect.scoped, Effect.ignore)

    const handle = (c: MinerConnection): Effect.Effect<void> =>
      Effect.gen(function* () {
        const already = perHost.get(c.host) ?? 0
        if (already >= options.limits.maxConnectionsPerHost) {
          counters.refusedPerHost++
          metrics.connectionsRefused.inc()
          yield* Effect.logWarning(`refused: ${already} connections from ${c.host} already (limit ${options.limits.maxConnectionsPerHost})`)
          return yield* refuse(c, `too many connections from ${c.host} (limit ${options.limits.maxConnectionsPerHost})`)
        }
        perHost.set(c.host, already + 1)
        const extraNonce = allocateExtraNonce()
        const reader = yield* c.socket.reader
        const writer = yield* c.socket.writer
        const extraNonce1 = new Uint8Array(4)
        new DataView(extraNonce1.buffer).setUint32(0, extraNonce)
        const now = yield* Clock.currentTimeMillis
        const conn: Connection = {
          remote: c.remote,
          session: new StratumSession(options.session, options.jobs, options.activePow, extraNonce1, c.remote, now),
          writer,
          closed: yield* Deferred.make<string>(),
          pendingWrites: 0,
          blockedSince: undefined,
        }
        connections.add(conn)
        counters.connected++
        counters.connectionsTotal++
        metrics.connectionsOpened.inc()
        yield* Effect.addFinalizer(() =>
          Effect.sync(() => {
            connections.delete(conn)
            counters.connected--
            extraNonceInUse.delete(extraNonce)
            const left = (perHost.get(c.host) ?? 1) - 1
            if (left === 0) perHost.delete(c.host)
            else perHost.set(c.host, left)
          }),
        )

        const splitter = new LineSplitter(options.session.maxLineBytes)
        const readLoop: Effect.Effect<string> = Effect.gen(function* () {
          for (;;) {
            const chunks = yield* reader.pull
            const at = yield* Clock.currentTimeMillis
            for (const chunk of chunks) {
              const { lines, overflow } = splitter.push(typeof chunk === "string" ? encoder.encode(chunk) : chunk)
              for (const line of lines) {
                const out = conn.session.onLine(line, at)
                yield* emit(conn, out)
                if (out.close !== undefined) return out.close
              }
              if (overflow) {
                counters.badMessages++
                metrics.badMessages.inc()
                const limit = options.session.maxLineBytes
                yield* write(conn, `${encodeError(null, stratumError(StratumErrorCode.other, `line longer than ${limit} bytes`))}\n`)
                return `line longer than ${limit} bytes`
              }
            }
          }
        }).pipe(Effect.catch(() => Effect.succeed("disconnected")))

        const reason = yield* Effect.raceFirst(readLoop, Deferred.await(conn.closed))
        yield* Effect.logDebug(`connection closed: ${reason}`).pipe(Effect.annotateLogs("miner", c.remote))
        // A peer that does not read would keep a graceful close waiting for ever: cut it.
        if (conn.pendingWrites > 0) yield* writer.write(new Socket.CloseEvent(1001, reason)).pipe(Effect.ignore)
      }).pipe(
        Effect.scoped,
        // The peer went away before its socket opened: nothing to clean up beyond the scope.
        Effect.catch((e) => Effect.logDebug(`connection lost at open: ${e.message}`).pipe(Effect.annotateLogs("miner", c.remote))),
      )

    /**
     * Sends a job to every ready session, each write in its own fiber so a peer that does not
     * read delays nobody else. (Slicing the fan-out with event-loop turns in between was tried:
     * submits during a block change got faster, the fan-out itself three times slower.)
     */
    const broadcast = (job: Job) =>
      Effect.gen(function* () {
        const now = yield* Clock.currentTimeMillis
        const sends: Array<Effect.Effect<void>> = []
        for (const conn of connections) {
          const out = conn.session.onJob(job, now)
          if (out.lines.length > 0) sends.push(emit(conn, out))
        }
        yield* Effect.forkIn(Effect.all(sends, { concurrency: "unbounded", discard: true }), scope)
      })

    /** Idle checks and vardiff for miners that stopped sending shares. */
    const faults = yield* Effect.serviceOption(CrashPoints)
    const tick = Effect.gen(function* () {
      if (faults._tag === "Some") yield* faults.value.at("stratum:tick")
      const now = yield* Clock.currentTimeMillis
      for (const conn of connections) {
        if (conn.pendingWrites === 0) conn.blockedSince = undefined
        else if (conn.blockedSince === undefined) conn.blockedSince = now
        else if (now - conn.blockedSince >= options.limits.writeTimeoutMillis) {
          yield* Deferred.succeed(conn.closed, "not reading its socket")
          continue
        }
        const out = conn.session.onTick(now)
        if (out !== undefined) yield* emit(conn, out)
      }
    })

    const serve: Effect.Effect<never, ListenerError, StratumListener> = Effect.gen(function* () {
      const listener = yield* StratumListener
      yield* Effect.logInfo(`stratum listening on ${listener.address} (${options.session.network.name}, ${options.session.mode} mode)`)
      return yield* listener.run(handle)
    })

    // Counted when scraped, not kept up to date: a miner's model is known only after subscribe.
    metrics.connections.from(
      Effect.sync(() => {
        const byModel = new Map<string, number>()
        for (const conn of connections) {
          const model = conn.session.model ?? "unidentified"
          byModel.set(model, (byModel.get(model) ?? 0) + 1)
        }
        return [...byModel].map(([model, n]) => ({ labels: [model], value: n }))
      }),
    )

    /** Runs the ticker until the server's scope closes. */
    yield* supervisor.supervise("stratum-ticker", Effect.forever(Effect.andThen(Effect.sleep(options.limits.tickMillis), tick)))

    return { serve, broadcast, counters }
  })

export type StratumServer = Effect.Success<ReturnType<typeof makeStratumServer>>
