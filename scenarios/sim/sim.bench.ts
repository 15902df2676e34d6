import { Effect } from "effect"
import { performance } from "node:perf_hooks"
import { sig3, type Bench } from "../../testkit/bench.ts"
import { runScenario, scenarioByName } from "./catalogue.ts"
import { withWorld } from "./world.ts"

/**
 * Simulated-to-wall time for one simulated day of the pool with 100 miners on mainnet rules
 * (the `mainnet-day` scenario: every BLAKE-256 ASIC model, PPLNS, the embedded store), and how
 * many property-scenario seeds a minute the simulator runs (the `simnet-blake3` scenario for
 * 100 blocks, set-up included, as a property test runs it).
 */
export const benches: ReadonlyArray<Bench> = [
  {
    name: "simulator",
    run: async () => {
      const day = scenarioByName("mainnet-day")!
      let setup = 0
      const started = performance.now()
      const summary = await Effect.runPromise(
        withWorld(day.world({ seed: 1 }), (w) =>
          Effect.suspend(() => {
            setup = performance.now() - started
            return runScenario(w, { hours: 24, blocks: 0 })
          }),
        ),
      )
      const wall = performance.now() - started
      console.error(
        `mainnet-day: ${summary.blocksConnected} blocks (${summary.poolBlocks} by the pool), ${summary.sharesAccepted} shares, ${summary.payouts} payouts, ${(wall / 1000).toFixed(1)} s wall of which ${(setup / 1000).toFixed(1)} s set-up`,
      )

      const simnet = scenarioByName("simnet-blake3")!
      const seeds = 4
      const seedsStarted = performance.now()
      for (let seed = 1; seed <= seeds; seed++) {
        await Effect.runPromise(withWorld(simnet.world({ seed }), (w) => runScenario(w, { hours: 0, blocks: 100 })))
      }
      const perSeed = (performance.now() - seedsStarted) / seeds
      return [
        { name: "simulator.mainnet-day-100-miners.speedup", value: sig3(summary.simulatedMillis / wall), unit: "x" },
        { name: "simulator.mainnet-day-100-miners.speedup-after-setup", value: sig3(summary.simulatedMillis / (wall - setup)), unit: "x" },
        { name: "simulator.mainnet-day-100-miners.wall", value: sig3(wall / 1000), unit: "s" },
        { name: "simulator.mainnet-day-100-miners.shares", value: summary.sharesAccepted, unit: "shares" },
        { name: "simulator.property-seeds", value: sig3(60_000 / perSeed), unit: "seeds/min" },
      ]
    },
  },
]
