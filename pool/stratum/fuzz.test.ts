import fc from "fast-check"
import { describe, expect, it } from "vitest"
import {
  arbitraryConversation,
  arbitraryLineText,
  budgetRuleOf,
  converse,
  crashesOf,
  HonestMiner,
  violationsOf,
  withObservedPool,
  type FuzzConversation,
  type FuzzPiece,
  type ObservedPool,
} from "../../testkit/stratum-fuzz.ts"

/**
 * The production stratum server over real TCP, fed malformed and hostile lines from fast-check
 * (fixed seeds in `./dcrforge test`, fresh ones in `./dcrforge explore`), held to the rule in
 * stratum-fuzz-kit.ts: one well-formed answer per line that is not blank, under the request's
 * id, in order; closed only for an over-long line or a flood; no task failure, no error logged;
 * and an honest miner on the same pool keeps getting its shares accepted.
 */

/** The honest miner submits at most every 100 ms, half its budget of 20 a second, as a real one would. */
const HONEST_INTERVAL_MS = 100

const honestBeside = async (pool: ObservedPool, check: (honest: HonestMiner) => Promise<void>) => {
  const honest = await HonestMiner.connect(pool)
  try {
    await check(honest)
    expect(await honest.submit(), `the honest miner's last share: ${honest.refusals.join("; ")}`).toBe(true)
    expect(honest.refusals).toEqual([])
    expect(crashesOf(pool)).toEqual([])
  } finally {
    honest.close()
  }
}

/** Runs a conversation and asserts the rule; the honest miner submits between conversations when its interval has passed. */
const conversationKeepsTheRule = (pool: ObservedPool, honest: HonestMiner) => {
  let lastHonest = 0
  return async (conversation: FuzzConversation) => {
    const outcome = await converse(pool, conversation)
    expect(violationsOf(outcome, budgetRuleOf(pool))).toEqual([])
    if (performance.now() - lastHonest >= HONEST_INTERVAL_MS) {
      lastHonest = performance.now()
      expect(await honest.submit(), honest.refusals.at(-1)).toBe(true)
    }
  }
}

const newlines = (count: number): FuzzPiece => ({ kind: "bytes", bytes: new Uint8Array(count).fill(10) })
const lines = (text: string, count: number): FuzzPiece => ({ kind: "bytes", bytes: new TextEncoder().encode(`${text}\n`.repeat(count)) })

describe("stratum fuzz over TCP", () => {
  it("property: every line a hostile client sends gets one well-formed answer (its request's id, else null; none for a blank line), and an honest miner keeps mining", async () => {
    await withObservedPool({}, (pool) =>
      honestBeside(pool, async (honest) => {
        await fc.assert(fc.asyncProperty(arbitraryConversation(pool.session.maxLineBytes), conversationKeepsTheRule(pool, honest)), { numRuns: 150 })
      }),
    )
  })

  it("property: lines over the budget (blank ones too) are refused under their own ids, a flood is closed, and an honest miner keeps mining", async () => {
    await withObservedPool({}, (pool) =>
      honestBeside(pool, async (honest) => {
        const request = fc.oneof(
          fc.constantFrom('{"id":5,"method":"mining.extranonce.subscribe","params":[]}', '{"id":"a-b","method":"mining.submit","params":[]}', '{"id":null,"method":"x","params":[]}'),
          arbitraryLineText(pool.session.maxLineBytes),
        )
        const burst = fc.oneof(
          fc.integer({ min: 1, max: 30_000 }).map(newlines),
          fc.tuple(request, fc.integer({ min: 1, max: 150 })).map(([text, count]) => lines(text, count)),
          fc.integer({ min: 1, max: 150 }).map((count): FuzzPiece => lines("", count)),
        )
        const conversation = fc.record({
          preamble: fc.constantFrom<FuzzConversation["preamble"]>("none", "ready"),
          pieces: fc.tuple(fc.array(burst, { minLength: 1, maxLength: 3 }), request).map(([bursts, last]) => [...bursts, lines(last, 1)]),
          cuts: fc.array(fc.integer({ min: 0, max: 1_000_000 }), { maxLength: 3 }),
        })
        await fc.assert(fc.asyncProperty(conversation, conversationKeepsTheRule(pool, honest)), { numRuns: 40 })
      }),
    )
  })
})
