/**
 * A hostile client for the flood benchmark, run as its own process so the pool's CPU time is
 * the pool's: `node flooder.ts <port> <connections> <MiB> <byte>`. Each connection writes MiB
 * mebibytes of one byte (10, a newline, unless told otherwise) as fast as the pool reads them,
 * 64 KiB at a time, until it has written them all or the pool closes it. Reports to the parent
 * over IPC how many bytes each connection handed to the kernel before it stopped, and when.
 */
import * as net from "node:net"

const [port, connections, mebibytes, byte] = process.argv.slice(2).map(Number) as [number, number, number, number]
const CHUNK = 64 * 1024
const chunk = new Uint8Array(CHUNK).fill(byte)
const now = () => performance.timeOrigin + performance.now()

interface FloodResult {
  readonly bytesWritten: number
  /** True when the pool closed (or reset) the connection before the flood was all written. */
  readonly closedByPool: boolean
  readonly seconds: number
}

const flood = (): Promise<FloodResult> =>
  new Promise((resolve) => {
    const total = mebibytes * 2 ** 20
    let written = 0
    let closed = false
    const started = now()
    const finish = (closedByPool: boolean) => resolve({ bytesWritten: socket.bytesWritten, closedByPool, seconds: (now() - started) / 1000 })
    const socket = net.connect({ port, host: "127.0.0.1", noDelay: true }, () => {
      const pump = () => {
        while (!closed && written < total) {
          written += CHUNK
          if (!socket.write(chunk)) return void socket.once("drain", pump)
        }
        if (!closed) {
          // Everything is in the kernel's hands; wait until the pool has read it (the socket drained) or closes.
          socket.end()
        }
      }
      pump()
    })
    socket.on("error", () => {})
    socket.on("close", () => {
      closed = true
      finish(socket.bytesWritten < total)
    })
  })

process.send!({ kind: "started" })
const results = await Promise.all(Array.from({ length: connections }, flood))
process.send!({ kind: "done", results })
process.on("message", (message: { kind: string }) => {
  if (message.kind === "stop") process.exit(0)
})
