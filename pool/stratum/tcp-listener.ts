import * as NodeSocket from "@effect/platform-node/NodeSocket"
import * as NodeSocketServer from "@effect/platform-node/NodeSocketServer"
import { Effect, Layer, Option } from "effect"
import { ListenerError, StratumListener } from "../../core/services/listener.ts"

interface TcpListenerOptions {
  readonly host: string
  readonly port: number
  /** Kernel accept queue: a reconnect storm after a restart arrives all at once. */
  readonly backlog?: number
}

/** The live stratum listener: a TCP server; each connection gets its own fiber. */
export const tcpListenerLayer = (options: TcpListenerOptions): Layer.Layer<StratumListener, ListenerError> =>
  Layer.effect(
    StratumListener,
    Effect.gen(function* () {
      const server = yield* NodeSocketServer.make({ host: options.host, port: options.port, backlog: options.backlog ?? 4096 }).pipe(
        Effect.mapError((e) => new ListenerError({ reason: `cannot listen on ${options.host}:${options.port}: ${String(e.reason.cause)}`, cause: e })),
      )
      // The server's close waits for every connection to end; on shutdown, end them first
      // (finalizers run last-added first) rather than hang on a miner that stays connected.
      const open = new Set<{ destroy: () => void }>()
      yield* Effect.addFinalizer(() => Effect.sync(() => open.forEach((socket) => socket.destroy())))
      const bound = server.address
      const port = bound._tag === "UnixPathAddress" ? 0 : bound.port
      return StratumListener.of({
        address: `${options.host}:${port}`,
        port,
        run: (handler) =>
          server
            .run((socket) =>
              Effect.gen(function* () {
                const net = Option.getOrUndefined(yield* Effect.serviceOption(NodeSocket.NetSocket))
                // Stratum lines are small and latency-bound: do not wait to coalesce them.
                net?.setNoDelay(true)
                if (net !== undefined) open.add(net)
                const host = net?.remoteAddress ?? "unknown"
                yield* handler({ remote: `${host}:${net?.remotePort ?? 0}`, host, socket }).pipe(Effect.ensuring(Effect.sync(() => net !== undefined && open.delete(net))))
              }),
            )
            .pipe(Effect.mapError((e) => new ListenerError({ reason: String(e.reason.cause), cause: e }))),
      })
    }),
  )
