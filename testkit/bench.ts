/** One figure a benchmark reports, printed as `bench: <name> = <value> <unit>`. */
export interface BenchFigure {
  readonly name: string
  readonly value: number
  readonly unit: string
}

/** A benchmark: a named group of figures, run only by `npm run bench` (never by the tests). */
export interface Bench {
  readonly name: string
  readonly run: () => ReadonlyArray<BenchFigure> | Promise<ReadonlyArray<BenchFigure>>
}

/**
 * Operations per second of `op`, run in batches until `seconds` of wall time have
 * passed after a warm-up of a tenth of that. `op` returns something so that the
 * work cannot be optimised away.
 */
export const opsPerSecond = (op: () => unknown, seconds = 1): number => {
  let sink: unknown
  const runFor = (ms: number): number => {
    let count = 0
    let batch = 64
    const start = performance.now()
    let elapsed = 0
    while (elapsed < ms) {
      for (let i = 0; i < batch; i++) sink = op()
      count += batch
      elapsed = performance.now() - start
      if (elapsed < ms / 10) batch *= 2
    }
    return (count * 1000) / elapsed
  }
  runFor(seconds * 100)
  const rate = runFor(seconds * 1000)
  if (sink === Symbol.for("never")) console.log(sink)
  return rate
}

/** Rounds to three significant figures, for readable output. */
export const sig3 = (n: number): number => Number(n.toPrecision(3))
