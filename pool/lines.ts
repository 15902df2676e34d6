/**
 * Splits a byte stream into lines (LF or CRLF) without letting one grow past a limit: a peer
 * that never sends a newline cannot make the pool buffer without bound.
 */
export class LineSplitter {
  private readonly maxBytes: number
  private readonly decoder = new TextDecoder("utf-8", { fatal: false })
  private partial = ""
  private partialBytes = 0

  constructor(maxBytes: number) {
    this.maxBytes = maxBytes
  }

  /** The complete lines in `chunk`, or `overflow` once a line exceeds the limit (the rest is dropped). */
  push(chunk: Uint8Array): { readonly lines: Array<string>; readonly overflow: boolean } {
    const lines: Array<string> = []
    let start = 0
    for (let i = chunk.indexOf(10); i >= 0; i = chunk.indexOf(10, start)) {
      const bytes = this.partialBytes + (i - start)
      if (bytes > this.maxBytes) return { lines, overflow: true }
      let line = this.partial + this.decoder.decode(chunk.subarray(start, i))
      if (line.endsWith("\r")) line = line.slice(0, -1)
      this.partial = ""
      this.partialBytes = 0
      if (line.trim() !== "") lines.push(line)
      start = i + 1
    }
    const rest = chunk.length - start
    if (this.partialBytes + rest > this.maxBytes) return { lines, overflow: true }
    if (rest > 0) {
      this.partial += this.decoder.decode(chunk.subarray(start), { stream: true })
      this.partialBytes += rest
    }
    return { lines, overflow: false }
  }
}
