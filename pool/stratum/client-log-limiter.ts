/**
 * At most one log line per kind of event and client address per interval. A client can make the
 * pool log at will (a refused connection, an unsupported miner, a bad message): issue 16 counted
 * 2,500 such warnings in a few minutes from one client, a lever to fill the pool's disk. Every
 * event is still counted in the metrics. The log gets the first event; when its interval ends
 * with events left out, `sweep` gives their count for one line, which opens the next interval
 * (so a client that keeps going costs one line per interval); an interval that ends quiet is
 * forgotten, and the next event is logged at once. Pure: time comes in as an argument.
 */
export class ClientLogLimiter<Kind extends string> {
  private readonly intervalMillis: number
  private readonly maxKeys: number
  /** Per kind and address: when its interval ends and how many events it left out so far. */
  private readonly windows = new Map<string, { readonly kind: Kind; readonly address: string; readonly until: number; suppressed: number }>()

  /**
   * `maxKeys` bounds the memory a client spraying addresses (an IPv6 /64 holds 2^64) can take:
   * past it, every new address of a kind shares one window, so they cost one line per interval.
   */
  constructor(intervalMillis: number, maxKeys = 10_000) {
    this.intervalMillis = intervalMillis
    this.maxKeys = maxKeys
  }

  /**
   * Whether to write this event's line now: undefined to leave it out, else how many events of
   * the same kind and address were left out before it and not yet reported by `sweep` (to say so
   * in the line; non-zero only when `sweep` was not called since the interval ended).
   */
  admit(kind: Kind, address: string, now: number): { readonly suppressedBefore: number } | undefined {
    let key = `${kind}\u0000${address}`
    let window = this.windows.get(key)
    if (window === undefined && this.windows.size >= this.maxKeys) {
      address = "*"
      key = `${kind}\u0000*`
      window = this.windows.get(key)
    }
    if (window !== undefined && now < window.until) {
      window.suppressed++
      return undefined
    }
    this.windows.set(key, { kind, address, until: now + this.intervalMillis, suppressed: 0 })
    return { suppressedBefore: window?.suppressed ?? 0 }
  }

  /**
   * Ends the intervals that are over: a quiet one is forgotten; one that left events out is
   * returned (kind, address and count) for the caller to write one line each, and that line
   * opens the address's next interval. (Waiting for the next event to carry the count could
   * wait for ever.) Call it about once a second: it visits every address in an interval.
   */
  sweep(now: number): Array<{ readonly kind: Kind; readonly address: string; readonly suppressed: number }> {
    const unreported: Array<{ readonly kind: Kind; readonly address: string; readonly suppressed: number }> = []
    for (const [key, window] of this.windows) {
      if (now < window.until) continue
      if (window.suppressed === 0) {
        this.windows.delete(key)
        continue
      }
      unreported.push({ kind: window.kind, address: window.address, suppressed: window.suppressed })
      this.windows.set(key, { kind: window.kind, address: window.address, until: now + this.intervalMillis, suppressed: 0 })
    }
    return unreported
  }
}
