import { sha256 } from "@noble/hashes/sha2.js"
import { bytesToHex } from "@noble/hashes/utils.js"

/**
 * A run's log: every external event with its virtual time, in order. The run's identity is the
 * hash of the log, so two runs of one seed on one commit are the same run exactly when their
 * hashes match. Lines are hashed as they come (a simulated day has hundreds of thousands) and
 * kept only when asked, or the last few for a failure report.
 */
export class RunLog {
  private readonly digest = sha256.create()
  private readonly encoder = new TextEncoder()
  private readonly recent: Array<string> = []
  readonly lines: Array<string> | undefined
  count = 0

  constructor(options: { readonly keep?: boolean | undefined; readonly sink?: ((line: string) => void) | undefined } = {}) {
    this.lines = options.keep === true ? [] : undefined
    this.sink = options.sink
  }

  private readonly sink: ((line: string) => void) | undefined

  append(timeMillis: number, text: string): void {
    const line = `${timeMillis} ${text}`
    this.digest.update(this.encoder.encode(`${line}\n`))
    this.count++
    this.lines?.push(line)
    this.sink?.(line)
    this.recent.push(line)
    if (this.recent.length > 40) this.recent.shift()
  }

  /** The hash so far (the log can go on after). */
  hash(): string {
    return bytesToHex(this.digest.clone().digest())
  }

  tail(): ReadonlyArray<string> {
    return this.recent
  }
}
