import { Context, Data, type Effect } from "effect"
import type * as Socket from "effect/socket/Socket"

/** One accepted miner connection, whatever carries it (TCP, or the simulator's network). */
export interface MinerConnection {
  /** `host:port`, for logs and the admin view. */
  readonly remote: string
  /** The peer's address without the port: limits per host count by it. */
  readonly host: string
  readonly socket: Socket.Socket
}

export class ListenerError extends Data.TaggedError("ListenerError")<{ readonly reason: string; readonly cause?: unknown }> {
  override get message(): string {
    return `stratum listener failed: ${this.reason}`
  }
}

/**
 * Where miners connect. `run` calls the handler once per connection, each in its own fiber, and
 * runs until interrupted; closing the handler's scope closes the connection.
 */
export class StratumListener extends Context.Service<
  StratumListener,
  {
    /** `host:port` it listens on (the real port when 0 was asked for). */
    readonly address: string
    readonly port: number
    readonly run: (handler: (connection: MinerConnection) => Effect.Effect<void>) => Effect.Effect<never, ListenerError>
  }
>()("dcrforge/StratumListener") {}
