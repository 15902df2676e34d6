import { Clock, Deferred, Effect, Random, Result } from "effect"
import * as Socket from "effect/socket/Socket"
import type { PowHashAlgorithm } from "../../core/chain/hash.ts"
import type { ListenerError, MinerConnection } from "../../core/services/listener.ts"
import { StratumListener } from "../../core/services/listener.ts"
import { decodeRequestLine, encodeError, encodeRefusalFor, StratumErrorCode, stratumError } from "../../core/stratum/protocol.ts"
import type { Job, JobBook } from "./jobs.ts"
import { LineBudget, LineSplitter } from "./lines.ts"
import { CrashPoints } from "../ops/crash-points.ts"
import { currentPoolMetrics } from "../ops/metrics.ts"
import { currentTaskSupervisor } from "../ops/supervisor.ts"
import { StratumSession, type AcceptedShare, type BlockCandidate, type SessionConfig, type SessionLog, type SessionOutput } from "./session.ts"
import { ClientLogLimiter } from "./client-log-limiter.ts"

export interface ServerLimits {
  /** Connections one address may hold; a farm behind one NAT needs this raised. */
  readonly maxConnectionsPerHost: number
  /** How often quiet miners get a vardiff look and silent ones are closed. */
  readonly tickMillis: number
  /** A write the peer does not drain in this long means a dead or stuck miner: it is closed. */
  readonly writeTimeoutMillis: number
  /**
   * A line costs one message of the connection's budget (the session's `messagesPerSecond` and
   * `messageBurst`) per this many bytes or part of them, so bytes count as well as lines. Every
   * request a supported miner sends is under 256 bytes (a submit with a 35-character address and
   * a 32-character worker is about 200), so it costs one.
   */
  readonly bytesPerMessage: number
  /** Lines a client can make the pool log (refused connections, unsupported miners, bad messages) are written at most once per address and kind per this interval. */
  readonly clientLogIntervalMillis: number
}

export const defaultServerLimits: ServerLimits = {
  maxConnectionsPerHost: 256,
  tickMillis: 1_000,
  writeTimeoutMillis: 10_000,
  bytesPerMessage: 512,
  clientLogIntervalMillis: 60_000,
}

interface StratumServerOptions {
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
  sharesAccepted: number
  sharesRejected: number
  blockCandidates: number
}

interface Connection {
  readonly remote: string
  /** The address without the port: the log lines a client causes are limited per address. */
  readonly host: string
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

/** The log lines a client can cause at will, each written at most once per address per interval. */
type ClientLogKind = "refused" | "unsupported" | "cannot-mine" | "bad-message"
const CLIENT_LOG_SUBJECTS: Readonly<Record<ClientLogKind, string>> = {
  refused: "connections refused over the per-host limit",
  unsupported: "unsupported miners refused at subscribe",
  "cannot-mine": "miners that cannot mine the active proof of work refused at subscribe",
  "bad-message": "lines that were not stratum requests",
}

const TOO_MANY_MESSAGES = stratumError(StratumErrorCode.other, "too many messages: slow down")

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
      sharesAccepted: 0,
      sharesRejected: 0,
      blockCandidates: 0,
    }

    const clientLogs = new ClientLogLimiter<ClientLogKind>(options.limits.clientLogIntervalMillis)
    const intervalText = `${options.limits.clientLogIntervalMillis / 1000} s`
    /**
     * Logs a line a client can cause, unless one of its kind from the same address was logged
     * this interval (bad messages at info level, the rest as warnings).
     */
    const logLimited = (kind: ClientLogKind, host: string, message: string) =>
      Effect.gen(function* () {
        const admitted = clientLogs.admit(kind, host, yield* Clock.currentTimeMillis)
        if (admitted === undefined) return
        const left = admitted.suppressedBefore
        const line = left === 0 ? message : `${message} (${left} more ${CLIENT_LOG_SUBJECTS[kind]} from ${host} were not logged)`
        yield* kind === "bad-message" ? Effect.logInfo(line) : Effect.logWarning(line)
      })

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
          metrics.badMessages.inc()
          return logLimited("bad-message", conn.host, `bad message: ${log.message}`).pipe(Effect.annotateLogs("miner", conn.remote))
        case "unknown-miner":
          metrics.minersRefused.unsupported.inc()
          return logLimited("unsupported", conn.host, `unsupported miner ${JSON.stringify(log.userAgent)} refused at subscribe`).pipe(Effect.annotateLogs("miner", conn.remote))
        case "cannot-mine":
          metrics.minersRefused["cannot-mine"].inc()
          return logLimited("cannot-mine", conn.host, `${log.model} cannot mine the chain's active proof of work; refused at subscribe`).pipe(Effect.annotateLogs("miner", conn.remote))
        case "pow-switched":
          // Once per device at a switch, and the device cannot cause it: not rate-limited.
          metrics.connectionsClosed["pow-switched"].inc()
          return Effect.logWarning(`${log.model} closed: ${log.message}`).pipe(Effect.annotateLogs("miner", conn.remote))
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

    /**
     * The refusal of a line over budget, under the request's own id so the miner knows which
     * share it was; a line that is no request gets id null, as the session answers it.
     */
    const throttledReply = (text: string) => {
      const request = decodeRequestLine(text, options.session.maxLineBytes)
      // A throttled submit or authorize is refused as dcrpool refuses one (result false), so a
      // miner that treats a null result as fatal keeps its session.
      return Result.isSuccess(request) ? encodeRefusalFor(request.success.method, request.success.id, TOO_MANY_MESSAGES) : encodeError(null, TOO_MANY_MESSAGES)
    }

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
          metrics.connectionsRefused.inc()
          metrics.connectionsClosed["per-host-limit"].inc()
          yield* logLimited("refused", c.host, `refused: ${already} connections from ${c.host} already (limit ${options.limits.maxConnectionsPerHost})`)
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
          host: c.host,
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
        // Every line is charged here, blank ones and ones that are not requests too, before the
        // session sees it. The session's own bucket (the same rate and burst, one message a line,
        // charged only for the lines let through) is never below this one, so it never refuses.
        const budget = new LineBudget({ messagesPerSecond: options.session.messagesPerSecond, messageBurst: options.session.messageBurst, bytesPerMessage: options.limits.bytesPerMessage }, now)
        const readLoop: Effect.Effect<string> = Effect.gen(function* () {
          for (;;) {
            const chunks = yield* reader.pull
            const at = yield* Clock.currentTimeMillis
            for (const chunk of chunks) {
              splitter.push(typeof chunk === "string" ? encoder.encode(chunk) : chunk)
              for (let line = splitter.next(); line !== undefined; line = splitter.next()) {
                const verdict = budget.charge(line.bytes, at)
                if (verdict === "flood") {
                  metrics.connectionsClosed["message-flood"].inc()
                  return "message flood"
                }
                // A blank line is no request: never answered, but paid for like any other.
                const blank = line.text.trim() === ""
                if (verdict === "over") {
                  metrics.linesThrottled.inc()
                  if (!blank) yield* write(conn, `${throttledReply(line.text)}\n`)
                  continue
                }
                if (blank) continue
                const out = conn.session.onLine(line.text, at)
                yield* emit(conn, out)
                if (out.close !== undefined) return out.close
              }
              if (splitter.overflow) {
                metrics.badMessages.inc()
                metrics.connectionsClosed["line-too-long"].inc()
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
          // Counted once: the connection stays in the set until its fiber has wound down.
          if (yield* Deferred.succeed(conn.closed, "not reading its socket")) metrics.connectionsClosed["not-reading"].inc()
          continue
        }
        const out = conn.session.onTick(now)
        if (out === undefined) continue
        // A tick closes only an idle connection.
        if (out.close !== undefined) metrics.connectionsClosed.idle.inc()
        yield* emit(conn, out)
      }
      for (const left of clientLogs.sweep(now)) {
        const line = `${left.suppressed} more ${CLIENT_LOG_SUBJECTS[left.kind]} from ${left.address === "*" ? "other addresses" : left.address} in the last ${intervalText} were not logged`
        yield* left.kind === "bad-message" ? Effect.logInfo(line) : Effect.logWarning(line)
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
