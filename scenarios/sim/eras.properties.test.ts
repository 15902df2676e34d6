import { Effect } from "effect"
import { SqlClient } from "effect/sql/SqlClient"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { powAlgorithmAt } from "../../core/chain/difficulty.ts"
import { profileOf, type MinerModel } from "../../core/stratum/profiles.ts"
import { DEFAULT_DEMO_CHOICES, demoWorldOptions } from "./demo.ts"
import { advance, withWorld } from "./world.ts"

/**
 * The switch of proof of work (DCP-0011 voted in during the run, `./dcrforge run --era transition`)
 * through the production pool, over seeds: scripts/fast-check-setup.ts picks them (the fixed
 * seeds and the corpus in `./dcrforge test`), and a failure names the seed, which replays the
 * world exactly.
 */

const RUNS = Number(process.env.DCRFORGE_SCENARIO_RUNS ?? 2)
/** Blocks past activation the run goes on for, so that the BLAKE3 side has blocks and payouts too. */
const BLOCKS_AFTER = 24

interface StoredShare {
  readonly id: string
  readonly model: MinerModel
  readonly height: number
}

const runTransition = (seed: number, miners: number | undefined) =>
  Effect.runPromise(
    withWorld(demoWorldOptions(seed, undefined, { ...DEFAULT_DEMO_CHOICES, era: "transition", miners }), (w) =>
      Effect.gen(function* () {
        yield* advance({
          world: w,
          untilMillis: 400_000,
          stepMillis: 100,
          done: () => {
            const at = w.dcrd.activations.blake3pow
            return at !== undefined && w.dcrd.height() >= at + BLOCKS_AFTER && w.dcrd.poolBlocks().some((b) => b.onMainChain && b.height >= at)
          },
        })
        // The blocks found so far get a block on top (the pool credits a block then), and the
        // last replies and commits land.
        const lastHeight = w.dcrd.height()
        yield* advance({ world: w, untilMillis: 60_000, stepMillis: 100, done: () => w.dcrd.height() >= lastHeight + 2 })
        yield* advance({ world: w, untilMillis: 3_000, stepMillis: 100 })
        const stored = yield* w.query(
          Effect.gen(function* () {
            const sql = yield* SqlClient
            const shares = yield* sql<StoredShare>`SELECT id, model, height FROM shares`
            const blocks = yield* sql<{ readonly hash: string; readonly status: string }>`SELECT hash, status FROM blocks`
            const credits = yield* sql<{ readonly source: string; readonly amount: string }>`SELECT source, amount FROM credits`
            return { shares, blocks, credits }
          }),
        )
        return {
          activation: w.dcrd.activations.blake3pow,
          poolBlocks: w.dcrd.poolBlocks().filter((b) => b.onMainChain && b.height <= lastHeight),
          stored,
          miners: w.miners.map((m) => ({ name: m.name, model: m.model, accepted: m.stats.accepted, rejectedBy: [...m.stats.rejectedBy.keys()] })),
        }
      }),
    ),
  )

describe("property scenarios: the switch from BLAKE-256 to BLAKE3", () => {
  it("property: across the switch no share is accepted for the wrong proof of work, no share the pool accepted is lost, none is refused but as stale, and every block found on either side is credited", async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 2 ** 31 - 1 }), fc.constantFrom(undefined, 16), async (seed, miners) => {
        const run = await runTransition(seed, miners)
        const at = run.activation
        expect(at, `seed ${seed}: BLAKE3 never activated`).toBeDefined()
        const activations = { blake3pow: at! }
        // Every stored share was proved with the proof of work its height is mined with.
        for (const share of run.stored.shares) {
          expect(profileOf(share.model).pow, `seed ${seed}: ${share.model} share at height ${share.height}`).toBe(powAlgorithmAt(activations, share.height))
        }
        expect(run.stored.shares.some((s) => s.height < at!)).toBe(true)
        expect(run.stored.shares.some((s) => s.height >= at!)).toBe(true)
        // Every share a miner was told was accepted is in the store, once; a miner that hashes
        // right loses a share only to a newer block (stale or expired job).
        const accepted = run.miners.reduce((sum, m) => sum + m.accepted, 0)
        expect(new Set(run.stored.shares.map((s) => s.id)).size).toBe(run.stored.shares.length)
        expect(run.stored.shares.length, `seed ${seed}`).toBe(accepted)
        for (const m of run.miners) for (const reason of m.rejectedBy) expect(reason, `seed ${seed}: ${m.name}`).toMatch(/stale|unknown job/)
        // Every block the pool found on the main chain, on either side of the switch, is the
        // pool's, not orphaned, and credited to accounts.
        const stored = new Map(run.stored.blocks.map((b) => [b.hash, b.status]))
        const creditedSources = new Set(run.stored.credits.filter((c) => BigInt(c.amount) > 0n).map((c) => c.source))
        expect(run.poolBlocks.some((b) => b.height < at!)).toBe(true)
        expect(run.poolBlocks.some((b) => b.height >= at!)).toBe(true)
        for (const block of run.poolBlocks) {
          expect(stored.get(block.hash) ?? "not stored", `seed ${seed}: block ${block.hash} at ${block.height}`).toMatch(/accepted|confirmed|matured/)
          expect(
            [...creditedSources].some((s) => s.includes(block.hash)),
            `seed ${seed}: no credit for block ${block.hash} at ${block.height}`,
          ).toBe(true)
        }
      }),
      { numRuns: RUNS, endOnFailure: true },
    )
  }, 600_000)
})
