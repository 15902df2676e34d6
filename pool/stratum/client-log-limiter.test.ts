import { describe, expect, it } from "vitest"
import { ClientLogLimiter } from "./client-log-limiter.ts"

describe("ClientLogLimiter", () => {
  it("logs the first event per kind and address in an interval, and the count of the rest once when it ends", () => {
    const limiter = new ClientLogLimiter<"refused" | "unsupported">(60_000)
    expect(limiter.admit("refused", "10.0.0.1", 0)).toEqual({ suppressedBefore: 0 })
    // Another kind, another address: their own intervals.
    expect(limiter.admit("unsupported", "10.0.0.1", 1)).toEqual({ suppressedBefore: 0 })
    expect(limiter.admit("refused", "10.0.0.2", 2)).toEqual({ suppressedBefore: 0 })
    for (let t = 10; t < 2_500; t++) expect(limiter.admit("refused", "10.0.0.1", t)).toBeUndefined()
    expect(limiter.sweep(59_999)).toEqual([])
    // The interval is over: one line for the 2,490 left out, which opens the next interval.
    expect(limiter.sweep(60_000)).toEqual([{ kind: "refused", address: "10.0.0.1", suppressed: 2_490 }])
    expect(limiter.admit("refused", "10.0.0.1", 60_001)).toBeUndefined()
    expect(limiter.sweep(120_000)).toEqual([{ kind: "refused", address: "10.0.0.1", suppressed: 1 }])
    // A quiet interval is forgotten; the next event is logged at once.
    expect(limiter.sweep(180_000)).toEqual([])
    expect(limiter.admit("refused", "10.0.0.1", 180_001)).toEqual({ suppressedBefore: 0 })
  })

  it("an event after the interval ended but before a sweep carries the count itself", () => {
    const limiter = new ClientLogLimiter<"refused">(1_000)
    limiter.admit("refused", "a", 0)
    limiter.admit("refused", "a", 10)
    limiter.admit("refused", "a", 20)
    expect(limiter.admit("refused", "a", 1_000)).toEqual({ suppressedBefore: 2 })
    expect(limiter.sweep(1_500)).toEqual([])
  })

  it("past its address limit, new addresses share one interval per kind", () => {
    const limiter = new ClientLogLimiter<"refused">(60_000, 3)
    for (const address of ["a", "b", "c"]) expect(limiter.admit("refused", address, 0)).toEqual({ suppressedBefore: 0 })
    expect(limiter.admit("refused", "d", 1)).toEqual({ suppressedBefore: 0 })
    for (let i = 0; i < 1_000; i++) expect(limiter.admit("refused", `e${i}`, 2)).toBeUndefined()
    expect(limiter.sweep(60_001)).toEqual([{ kind: "refused", address: "*", suppressed: 1_000 }])
  })
})
