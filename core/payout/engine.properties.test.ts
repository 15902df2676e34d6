import fc from "fast-check"
import { Result } from "effect"
import { describe, expect, it } from "vitest"
import { DIFFICULTY_SCALE } from "../stratum/difficulty.ts"
import { PayoutEngine, type PayoutConfig } from "./engine.ts"
import { POOL_FEE_ACCOUNT, PPS_RESERVE_ACCOUNT } from "./ledger.ts"
import { pplnsWindowUnits, type PayoutScheme } from "./schemes.ts"
import { ShareLog } from "./sharelog.ts"

const D = 200n * DIFFICULTY_SCALE
const REWARD = 123_456_789n

const schemeArb: fc.Arbitrary<PayoutScheme> = fc.oneof(
  fc.record({ kind: fc.constant("pplns" as const), windowMultiple: fc.constantFrom({ numerator: 1n, denominator: 2n }, { numerator: 2n, denominator: 1n }) }),
  fc.constant({ kind: "pplns-time" as const, periodMs: 60_000 }),
  fc.constant({ kind: "proportional" as const }),
  fc.constant({ kind: "pps" as const }),
  fc.constant({ kind: "solo" as const, atMiningAddress: false }),
)

/** Pool events: shares, blocks found by the last share, orphans and maturity of earlier blocks, payouts. */
type Event =
  | { readonly kind: "share"; readonly account: number; readonly difficulty: number; readonly gap: number }
  | { readonly kind: "block" }
  | { readonly kind: "orphan"; readonly pick: number }
  | { readonly kind: "mature"; readonly pick: number }
  | { readonly kind: "payout"; readonly txFee: number }

const eventArb: fc.Arbitrary<Event> = fc.oneof(
  {
    weight: 12,
    arbitrary: fc.record({ kind: fc.constant("share" as const), account: fc.integer({ min: 0, max: 4 }), difficulty: fc.integer({ min: 1, max: 60 }), gap: fc.integer({ min: 0, max: 20_000 }) }),
  },
  { weight: 2, arbitrary: fc.constant({ kind: "block" as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("orphan" as const), pick: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("mature" as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("payout" as const), txFee: fc.integer({ min: 0, max: 5000 }) }) },
)

/** Plays events on an engine; returns it with what it was fed. */
const play = (config: PayoutConfig, events: ReadonlyArray<Event>, duplicateEvery = 0) => {
  const engine = new PayoutEngine(config)
  let time = 0
  let n = 0
  let lastBlockEnd = 0
  const blocks: Array<string> = []
  for (const e of events) {
    switch (e.kind) {
      case "share": {
        time += e.gap
        const share = { id: `s${n++}`, account: `miner-${e.account}`, weight: BigInt(e.difficulty) * DIFFICULTY_SCALE, time }
        engine.recordShare(share, { blockReward: REWARD, networkDifficulty: D })
        if (duplicateEvery > 0 && n % duplicateEvery === 0) {
          expect(engine.recordShare(share, { blockReward: REWARD, networkDifficulty: D })).toBe(false)
        }
        break
      }
      case "block": {
        // A block is found by a share of its own: skip if none came since the last block.
        if (engine.log.end === lastBlockEnd) break
        lastBlockEnd = engine.log.end
        const last = engine.log.at(engine.log.end - 1)
        const hash = `block-${blocks.length}`
        Result.getOrThrow(engine.blockFound({ hash, height: blocks.length + 1, reward: REWARD, networkDifficulty: D, time: last.time, finder: last.account }))
        blocks.push(hash)
        break
      }
      case "orphan":
      case "mature": {
        const waiting = blocks.filter((b) => engine.ledger.blockStatus(b) === "credited")
        if (waiting.length === 0) break
        const b = waiting[e.pick % waiting.length]!
        Result.getOrThrow(e.kind === "orphan" ? engine.blockOrphaned(b) : engine.blockMatured(b))
        break
      }
      case "payout":
        Result.getOrThrow(engine.payout(BigInt(e.txFee)))
        break
    }
  }
  return { engine, blocks }
}

const config = (scheme: PayoutScheme): PayoutConfig => ({ scheme, feeBasisPoints: 150, minimumPayout: 1_000_000n })

describe("payout engine properties", () => {
  it("conservation: per block credits + fee = reward, and all balances plus transaction fees = rewards of blocks not orphaned", () => {
    fc.assert(
      fc.property(schemeArb, fc.array(eventArb, { maxLength: 300, size: "large" }), (scheme, events) => {
        const { engine } = play(config(scheme), events)
        let rewards = 0n
        let txFees = 0n
        const orphaned = new Set(engine.ledger.entries.filter((e) => e.kind === "block-orphaned").map((e) => (e as { block: string }).block))
        for (const e of engine.ledger.entries) {
          if (e.kind === "block-credited") {
            expect(e.fee + e.credits.reduce((s, c) => s + c.amount, 0n)).toBe(e.reward)
            if (!orphaned.has(e.block)) rewards += e.reward
          }
          if (e.kind === "block-to-reserve" && !orphaned.has(e.block)) rewards += e.reward
          if (e.kind === "payout") txFees += e.txFee
        }
        let held = 0n
        for (const a of engine.ledger.accounts()) {
          const b = engine.ledger.balance(a)
          held += b.immature + b.available + b.paid
          if (a !== PPS_RESERVE_ACCOUNT) expect(b.available >= 0n && b.immature >= 0n).toBe(true)
        }
        expect(held + txFees).toBe(rewards)
      }),
      { numRuns: 300 },
    )
  })

  it("no double payment: orphaned credits are never paid, and nobody is ever paid more than their matured credits", () => {
    fc.assert(
      fc.property(
        schemeArb.filter((s) => s.kind !== "pps"),
        fc.array(eventArb, { maxLength: 300, size: "large" }),
        (scheme, events) => {
          const { engine } = play(config(scheme), events)
          const matured = new Set(engine.ledger.entries.filter((e) => e.kind === "block-matured").map((e) => (e as { block: string }).block))
          const earned = new Map<string, bigint>()
          for (const e of engine.ledger.entries) {
            if (e.kind !== "block-credited" || !matured.has(e.block)) continue
            for (const c of e.credits) earned.set(c.account, (earned.get(c.account) ?? 0n) + c.amount)
            earned.set(POOL_FEE_ACCOUNT, (earned.get(POOL_FEE_ACCOUNT) ?? 0n) + e.fee)
          }
          const paidOut = new Map<string, bigint>()
          for (const e of engine.ledger.entries) {
            if (e.kind !== "payout") continue
            for (const p of e.payments) paidOut.set(p.account, (paidOut.get(p.account) ?? 0n) + p.amount)
            for (const f of e.txFeeShares) paidOut.set(f.account, (paidOut.get(f.account) ?? 0n) + f.amount)
          }
          for (const [account, paid] of paidOut) expect(paid).toBeLessThanOrEqual(earned.get(account) ?? 0n)
          // Paying out twice in a row: the second batch has nothing left to pay.
          Result.getOrThrow(engine.payout(0n))
          expect(Result.getOrThrow(engine.payout(0n))).toBeUndefined()
        },
      ),
      { numRuns: 300 },
    )
  })

  it("minimum payout: balances below it wait for a later batch, never forfeited", () => {
    fc.assert(
      fc.property(
        schemeArb.filter((s) => s.kind !== "pps"),
        fc.array(eventArb, { maxLength: 300, size: "large" }),
        (scheme, events) => {
          const { engine } = play(config(scheme), events)
          for (const e of engine.ledger.entries) {
            if (e.kind !== "payout") continue
            for (const p of e.payments) {
              if (p.account === POOL_FEE_ACCOUNT) continue
              const fee = e.txFeeShares.find((f) => f.account === p.account)?.amount ?? 0n
              expect(p.amount + fee).toBeGreaterThanOrEqual(config(scheme).minimumPayout)
            }
          }
          for (const a of engine.ledger.accounts()) {
            const b = engine.ledger.balance(a)
            if (a !== PPS_RESERVE_ACCOUNT) expect(b.available).toBeGreaterThanOrEqual(0n)
          }
        },
      ),
      { numRuns: 200 },
    )
  })

  it("determinism and idempotence: the same events give a byte-identical ledger, duplicate shares counting once", () => {
    fc.assert(
      fc.property(schemeArb, fc.array(eventArb, { maxLength: 200, size: "large" }), fc.integer({ min: 1, max: 5 }), (scheme, events, every) => {
        const a = play(config(scheme), events).engine.ledger
        const b = play(config(scheme), events, every).engine.ledger
        expect(b.serialize()).toBe(a.serialize())
        expect(b.digest()).toBe(a.digest())
      }),
      { numRuns: 200 },
    )
  })

  it("split invariance: a miner's shares split over k accounts earn together what they earn under one, to the atom per account", () => {
    fc.assert(
      fc.property(
        fc.constantFrom<PayoutScheme>({ kind: "pplns", windowMultiple: { numerator: 2n, denominator: 1n } }, { kind: "proportional" }, { kind: "pplns-time", periodMs: 60_000 }),
        fc.array(
          eventArb.filter((e) => e.kind === "share" || e.kind === "block"),
          { maxLength: 250, size: "large" },
        ),
        fc.integer({ min: 2, max: 5 }),
        (scheme, events, k) => {
          const one = play(config(scheme), events).engine
          let n = 0
          // Miner 0's shares round-robin over k workers' accounts.
          const split = events.map((e) => (e.kind === "share" && e.account === 0 ? { ...e, account: 100 + (n++ % k) } : e))
          const many = play(config(scheme), split).engine
          const credits = (engine: PayoutEngine, accounts: ReadonlyArray<string>) =>
            engine.ledger.entries.flatMap((e) => (e.kind === "block-credited" ? [e.credits.filter((c) => accounts.includes(c.account)).reduce((s, c) => s + c.amount, 0n)] : []))
          const workers = Array.from({ length: k }, (_, i) => `miner-${100 + i}`)
          const a = credits(one, ["miner-0"])
          const b = credits(many, workers)
          expect(b.length).toBe(a.length)
          a.forEach((x, i) => expect(Math.abs(Number(x - b[i]!))).toBeLessThanOrEqual(k))
        },
      ),
      { numRuns: 200 },
    )
  })

  it("monotonicity: one more valid share never lowers its owner's entitlement nor raises another's (exactly; within an atom once rounded)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ account: fc.constantFrom("a", "b", "c"), weight: fc.integer({ min: 1, max: 80 }) }), { minLength: 1, maxLength: 80 }),
        fc.constantFrom("a", "b", "c"),
        fc.integer({ min: 1, max: 80 }),
        fc.constantFrom(1n, 2n),
        (spec, who, weight, x) => {
          const units = pplnsWindowUnits({ numerator: x, denominator: 1n }, D)
          const build = (extra: boolean) => {
            const log = new ShareLog()
            spec.forEach((s, i) => log.append({ id: `s${i}`, account: s.account, weight: BigInt(s.weight) * DIFFICULTY_SCALE, time: i }))
            if (extra) log.append({ id: "extra", account: who, weight: BigInt(weight) * DIFFICULTY_SCALE, time: spec.length })
            return log.lastUnits(log.end, units)
          }
          const before = build(false)
          const after = build(true)
          // Entitlement of account c: weight_c / total, compared as exact fractions.
          const share = (w: typeof before, c: string) => ({ n: w.weights.get(c) ?? 0n, d: w.total })
          const le = (p: { n: bigint; d: bigint }, q: { n: bigint; d: bigint }) => p.n * q.d <= q.n * p.d
          for (const c of ["a", "b", "c"]) {
            if (c === who) expect(le(share(before, c), share(after, c))).toBe(true)
            else expect(le(share(after, c), share(before, c))).toBe(true)
          }
        },
      ),
      { numRuns: 500 },
    )
  })
})

describe("payouts", () => {
  it("shares the transaction fee pro rata among the miners paid; the pool fee output bears none", () => {
    const engine = new PayoutEngine({ scheme: { kind: "proportional" }, feeBasisPoints: 100, minimumPayout: 1n })
    engine.recordShare({ id: "1", account: "x", weight: 3n, time: 1 })
    engine.recordShare({ id: "2", account: "y", weight: 1n, time: 2 })
    Result.getOrThrow(engine.blockFound({ hash: "b", height: 1, reward: 1_000_000n, networkDifficulty: 10n, time: 2, finder: "y" }))
    Result.getOrThrow(engine.blockMatured("b"))
    const p = Result.getOrThrow(engine.payout(1000n))
    if (p?.kind !== "payout") throw new Error("expected a payout")
    // Fee 10,000; miners share 990,000 as 742,500 / 247,500; the tx fee 1,000 as 750 / 250.
    expect(p.payments).toEqual([
      { account: "pool:fee", amount: 10_000n },
      { account: "x", amount: 741_750n },
      { account: "y", amount: 247_250n },
    ])
    expect(Result.getOrThrow(engine.payout(1000n))).toBeUndefined()
  })

  it("reverses an orphaned block's credits and refuses to orphan a matured one", () => {
    const engine = new PayoutEngine({ scheme: { kind: "proportional" }, feeBasisPoints: 0, minimumPayout: 1n })
    engine.recordShare({ id: "1", account: "x", weight: 1n, time: 1 })
    Result.getOrThrow(engine.blockFound({ hash: "b1", height: 1, reward: 500n, networkDifficulty: 10n, time: 1, finder: "x" }))
    Result.getOrThrow(engine.blockOrphaned("b1"))
    expect(engine.ledger.balance("x")).toEqual({ immature: 0n, available: 0n, paid: 0n })
    expect(Result.isFailure(engine.blockMatured("b1"))).toBe(true)
    // The orphaned round's share counts toward the next block, found by a share of its own.
    engine.recordShare({ id: "2", account: "y", weight: 1n, time: 2 })
    Result.getOrThrow(engine.blockFound({ hash: "b2", height: 1, reward: 700n, networkDifficulty: 10n, time: 2, finder: "y" }))
    Result.getOrThrow(engine.blockMatured("b2"))
    expect(engine.ledger.balance("x").available).toBe(350n)
    expect(engine.ledger.balance("y").available).toBe(350n)
    const r = engine.blockOrphaned("b2")
    expect(Result.isFailure(r) && r.failure.message).toBe("block b2 is matured; only an immature block can be orphaned")
  })

  it("in solo-pool mode keeps the reward at the node's mining address and pays nobody", () => {
    const engine = new PayoutEngine({ scheme: { kind: "solo", atMiningAddress: true }, feeBasisPoints: 100, minimumPayout: 1n })
    engine.recordShare({ id: "1", account: "x", weight: 1n, time: 1 })
    Result.getOrThrow(engine.blockFound({ hash: "b", height: 1, reward: 500n, networkDifficulty: 10n, time: 1, finder: "x" }))
    Result.getOrThrow(engine.blockMatured("b"))
    expect(Result.getOrThrow(engine.payout(10n))).toBeUndefined()
    expect(engine.ledger.balance("node:mining-address").available).toBe(500n)
  })
})
