import * as net from "node:net"

/**
 * A raw TCP line client for tests: what a miner (or an attacker) sends, byte for byte, and the
 * lines that come back in order.
 */
export class LineClient {
  private readonly socket: net.Socket
  private readonly received: Array<string> = []
  private waiters: Array<() => void> = []
  private buffer = ""
  ended = false
  readonly closed: Promise<void>

  private constructor(socket: net.Socket) {
    this.socket = socket
    socket.setEncoding("utf8")
    socket.on("data", (chunk: string) => {
      this.buffer += chunk
      let i: number
      while ((i = this.buffer.indexOf("\n")) >= 0) {
        this.received.push(this.buffer.slice(0, i))
        this.buffer = this.buffer.slice(i + 1)
      }
      this.wake()
    })
    this.closed = new Promise((resolve) =>
      socket.on("close", () => {
        this.ended = true
        this.wake()
        resolve()
      }),
    )
    socket.on("error", () => {})
  }

  static connect(port: number, host = "127.0.0.1"): Promise<LineClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ port, host, noDelay: true }, () => resolve(new LineClient(socket)))
      socket.once("error", reject)
    })
  }

  private wake() {
    const w = this.waiters
    this.waiters = []
    for (const f of w) f()
  }

  write(data: string | Uint8Array): void {
    this.socket.write(data)
  }

  send(id: number, method: string, params: ReadonlyArray<unknown>): void {
    this.socket.write(`${JSON.stringify({ id, method, params })}\n`)
  }

  /** The next line received (in order), or undefined when the connection closes first. */
  async next(timeoutMs = 5_000): Promise<string | undefined> {
    const deadline = Date.now() + timeoutMs
    while (this.received.length === 0) {
      if (this.ended) return undefined
      if (Date.now() > deadline) throw new Error(`no line within ${timeoutMs} ms`)
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.max(1, deadline - Date.now()))
        this.waiters.push(() => {
          clearTimeout(t)
          resolve()
        })
      })
    }
    return this.received.shift()
  }

  /** Lines until one satisfies `match` (returned), skipping the rest. */
  async until(match: (line: string) => boolean, timeoutMs = 5_000): Promise<string> {
    for (;;) {
      const line = await this.next(timeoutMs)
      if (line === undefined) throw new Error("connection closed while waiting")
      if (match(line)) return line
    }
  }

  close(): void {
    this.socket.destroy()
  }
}
