import { Layer } from "effect"
import * as Socket from "effect/socket/Socket"

/** The global WebSocket, which msw intercepts in tests (handshake headers do not reach a mock). */
export const globalWebSocketLayer: Layer.Layer<Socket.WebSocketConstructor> = Layer.succeed(Socket.WebSocketConstructor)((url) => new globalThis.WebSocket(url))
