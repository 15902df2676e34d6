import { createServer } from "node:net"
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { StratumListener } from "../../core/services/listener.ts"
import { tcpListenerLayer } from "./tcp-listener.ts"

const listenerAddress = (port: number) =>
  Effect.gen(function* () {
    const listener = yield* StratumListener
    return listener.address
  }).pipe(Effect.provide(tcpListenerLayer({ host: "127.0.0.1", port })))

describe("the TCP stratum listener", () => {
  it("a port in use is a ListenerError naming the address, with the socket's error kept as its cause", async () => {
    const taken = createServer()
    await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve))
    const port = (taken.address() as { port: number }).port
    try {
      const error = await Effect.runPromise(Effect.flip(Effect.scoped(listenerAddress(port))))
      expect(error).toMatchObject({ _tag: "ListenerError" })
      expect(error.message).toContain(`cannot listen on 127.0.0.1:${port}`)
      // The text is for the operator; the error itself travels whole.
      expect(error.cause).toMatchObject({ _tag: "SocketServerError" })
    } finally {
      await new Promise<void>((resolve) => taken.close(() => resolve()))
    }
  })

  it("listens on a free port and reports the one it got", async () => {
    const address = await Effect.runPromise(Effect.scoped(listenerAddress(0)))
    expect(address).toMatch(/^127\.0\.0\.1:[1-9]\d*$/)
  })
})
