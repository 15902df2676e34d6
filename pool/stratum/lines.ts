/**
 * Splits a byte stream into lines (LF or CRLF) without letting one grow past a limit: a peer
 * that never sends a newline cannot make the pool buffer without bound. Every line comes out,
 * blank ones too, with its size on the wire, so that each can be charged to the connection's
 * budget (`LineBudget`) before any more work is done on it: a peer sending nothing but
 * newlines must pay for them (issue 16: 64 MiB of uncharged newlines cost the pool 8.4 s of CPU).
 */
export class LineSplitter {
  private readonly maxBytes: number
  private readonly decoder = new TextDecoder("utf-8", { fatal: false })
  private partial = ""
  private partialBytes = 0
  private chunk: Uint8Array = new Uint8Array(0)
  private start = 0
  /** Set once a line exceeds the limit; the splitter yields nothing more. */
  overflow = false

  constructor(maxBytes: number) {
    this.maxBytes = maxBytes
  }

  /**
   * Takes the next chunk read from the peer; `next` then yields its lines one at a time, so the
   * reader can stop in the middle of a chunk (a closed connection does no more work on the rest).
   * Lines of the previous chunk that `next` did not give are dropped.
   */
  push(chunk: Uint8Array): void {
    this.chunk = chunk
    this.start = 0
  }

  /**
   * The next complete line of the current chunk, without its terminator (`text`), and the bytes
   * it took on the wire, terminator included (`bytes`); undefined when the chunk has no more
   * (its tail is kept for the next chunk) or the line limit was passed (`overflow`).
   */
  next(): { readonly text: string; readonly bytes: number } | undefined {
    if (this.overflow) return undefined
    const chunk = this.chunk
    const start = this.start
    const end = chunk.indexOf(10, start)
    if (end < 0) {
      const rest = chunk.length - start
      if (this.partialBytes + rest > this.maxBytes) {
        this.overflow = true
        return undefined
      }
      if (rest > 0) {
        this.partial += this.decoder.decode(chunk.subarray(start), { stream: true })
        this.partialBytes += rest
      }
      this.start = chunk.length
      return undefined
    }
    const contentBytes = this.partialBytes + (end - start)
    if (contentBytes > this.maxBytes) {
      this.overflow = true
      return undefined
    }
    this.start = end + 1
    // A bare newline (most of a newline flood) costs no decoder call.
    let text = contentBytes === 0 ? "" : this.partial + this.decoder.decode(chunk.subarray(start, end))
    if (text.endsWith("\r")) text = text.slice(0, -1)
    this.partial = ""
    this.partialBytes = 0
    return { text, bytes: contentBytes + 1 }
  }
}

/** A connection's allowance: lines per second, how many may come at once, and the size one line may have before it counts as more. */
interface LineBudgetConfig {
  readonly messagesPerSecond: number
  readonly messageBurst: number
  readonly bytesPerMessage: number
}

/** What to do with a line just charged. */
type LineVerdict = "within" | "over" | "flood"

/**
 * A token bucket charged for every line a connection sends, blank or not: one message per
 * `bytesPerMessage` bytes or part of them, terminator included (every request a supported miner
 * sends is under 256 bytes, so it costs one; a 2 KiB line costs four). A line charged into debt
 * is `over` (answered with a refusal, not handled); debt beyond twice the burst is a `flood`
 * (the connection is closed). The bucket refills with time whatever was refused, so a miner
 * that slows down is served again.
 */
export class LineBudget {
  private readonly config: LineBudgetConfig
  private tokens: number
  private lastRefill: number

  constructor(config: LineBudgetConfig, now: number) {
    this.config = config
    this.tokens = config.messageBurst
    this.lastRefill = now
  }

  charge(bytes: number, now: number): LineVerdict {
    const elapsedSeconds = Math.max(0, now - this.lastRefill) / 1000
    this.lastRefill = now
    this.tokens = Math.min(this.config.messageBurst, this.tokens + elapsedSeconds * this.config.messagesPerSecond)
    this.tokens -= Math.max(1, Math.ceil(bytes / this.config.bytesPerMessage))
    if (this.tokens >= 0) return "within"
    return this.tokens < -2 * this.config.messageBurst ? "flood" : "over"
  }
}
