import { Effect } from "effect"
import { TestClock } from "effect/testing"
import { describe, expect, it } from "@effect/vitest"
import { SIMNET } from "../../core/chain/params.ts"
import type { PoolLiveState } from "../pool.ts"
import { makeHashrateHistory, networkHashrate } from "./history.ts"
import { makePoolMetrics } from "../ops/metrics.ts"
import { makeTaskSupervisor } from "../ops/supervisor.ts"

const liveWith = (windows: Array<number>, hasWork = true): PoolLiveState => ({
  network: SIMNET,
  mode: "pool",
  scheme: { kind: "pplns", windowMultiple: { numerator: 2n, denominator: 1n } },
  feeBasisPoints: 100,
  counters: { connected: 0, connectionsTotal: 0, sharesAccepted: 0, sharesRejected: 0, blockCandidates: 0 },
  workHeight: () => undefined,
  work: () => (hasWork ? { height: 10, networkTarget: SIMNET.powLimit / 8n, pow: "blake3" } : undefined),
  hashesPerUnitDifficulty: 4n,
  hashrates: (windowMs) =>
    Effect.sync(() => {
      windows.push(windowMs)
      return {
        clients: [],
        accounts: new Map([
          ["SsA", 100],
          ["SsB", 50],
        ]),
      }
    }),
  nextRewardWeights: () => Effect.succeed(undefined),
  ppsReserve: Effect.succeed({ applies: false, blocks: 0, blocksIn: 0n, creditedToShares: 0n, balance: 0n, lowThreshold: 0n, low: false }),
  tasks: makeTaskSupervisor(makePoolMetrics()),
  health: Effect.succeed({ ok: true, checkedMs: 0, components: { dcrd: { ok: true, detail: "" }, wallet: { ok: true, detail: "" }, store: { ok: true, detail: "" } }, tasks: [] }),
})

describe("hashrate history", () => {
  it("network hashrate is difficulty x hashes per unit over the target block time", () => {
    // Difficulty 8, 4 hashes per unit, simnet's 1 s blocks.
    expect(networkHashrate(liveWith([]))).toBe(32)
    expect(networkHashrate(liveWith([], false))).toBeUndefined()
  })

  it.effect("samples on the Effect clock: none under the minimum window, then over the pool's lifetime up to the full window, oldest dropped past capacity", () =>
    Effect.gen(function* () {
      const windows: Array<number> = []
      const history = yield* makeHashrateHistory(liveWith(windows), { intervalMillis: 10_000, capacity: 5, windowMillis: 60_000, minWindowMillis: 20_000 })
      yield* TestClock.adjust(10_000)
      expect(history.samples()).toEqual([])
      yield* TestClock.adjust(10_000)
      expect(history.samples().map((s) => [s.pool, s.network])).toEqual([[150, 32]])
      for (let i = 0; i < 8; i++) yield* TestClock.adjust(10_000)
      const samples = history.samples()
      expect(samples.length).toBe(5)
      expect(samples.map((s) => s.timeMs - samples[0]!.timeMs)).toEqual([0, 10_000, 20_000, 30_000, 40_000])
      expect(samples.at(-1)!.accounts.get("SsB")).toBe(50)
      // Lifetime 20 s, 30 s, ... until the full minute.
      expect(windows).toEqual([20_000, 30_000, 40_000, 50_000, 60_000, 60_000, 60_000, 60_000, 60_000])
      expect(yield* history.windowMillis).toBe(60_000)
    }).pipe(Effect.scoped),
  )
})
