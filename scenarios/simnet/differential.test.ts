import { describe, expect, it } from "@effect/vitest"
import { Clock, Effect } from "effect"
import { chainActivations } from "../../core/chain/agendas.ts"
import { SIMNET } from "../../core/chain/params.ts"
import { jsonRpcClient } from "../../wallet/json-rpc.ts"
import { binariesReady } from "./binaries.ts"
import { type ChainBlock, ChainDifferential, describeMismatch, followChain, listenToDcrd, type Mismatch, simnetEndpoint } from "./differential.ts"
import { makeSimnetHarness } from "./harness.ts"
import { layerNative } from "./node.ts"
import { scheduledMiner } from "./scheduled-miner.ts"

/**
 * The simulator against dcrd on a real simnet chain: every block from 1 to END_HEIGHT (the
 * harness's first blocks, stake validation at 144, then 330 more with the voting wallet's
 * ticket buyer and votes, far enough that the first unlucky tickets expire) goes through
 * `ChainDifferential`, which compares what `core/` computes with what dcrd did, and after each
 * block what dcrd says at its tip. Any difference fails the test and names the block.
 * Blocks after the harness's first ones are mined one at a time, so every one of them is a tip
 * once: `estimatestakediff` (its window is 8 blocks on simnet) is compared at each, over some
 * 57 price windows.
 */
const CI = process.env.CI === "true"
const END_HEIGHT = 480

const native = binariesReady()

describe("simulator vs dcrd, block by block", () => {
  if (native !== true && !CI) it.skip(`simnet differential (skipped: ${native})`, () => undefined)
  else
    it.live(
      `every block to height ${END_HEIGHT} agrees: lottery winners, stake difficulty and its estimate, pool size, subsidies, ASERT bits`,
      () =>
        Effect.gen(function* () {
          const started = yield* Clock.currentTimeMillis
          const h = yield* makeSimnetHarness()
          const endpoint = simnetEndpoint(h.dcrd.rpcUrl, h.dcrd.user, h.dcrd.password, h.dcrd.certificate)
          const dcrd = yield* jsonRpcClient(endpoint, { server: "dcrd" })
          const winners = yield* listenToDcrd(endpoint)
          const mine = scheduledMiner(dcrd, winners, SIMNET)
          const diff = new ChainDifferential(SIMNET, chainActivations(SIMNET.agendas))
          const blocks: Array<ChainBlock> = []
          const mismatches: Array<Mismatch> = []

          mismatches.push(...(yield* followChain(dcrd, diff, winners, blocks)))
          const firstTip = diff.height
          while (diff.height < END_HEIGHT && mismatches.length === 0) {
            yield* mine
            mismatches.push(...(yield* followChain(dcrd, diff, winners, blocks)))
          }
          const finished = yield* Clock.currentTimeMillis
          console.log(`${diff.summary()}; ${((finished - started) / 1000).toFixed(1)} s`)
          expect(mismatches.map(describeMismatch)).toEqual([])
          expect(diff.blocks).toBe(END_HEIGHT)

          // Every quantity was compared in every block it exists in.
          const checks = diff.checksByQuantity()
          for (const q of ["work-bits", "stake-difficulty", "pool-size", "work-subsidy", "treasury-subsidy", "revocations", "stake-rules"] as const) {
            expect(checks.get(q) ?? 0, q).toBeGreaterThanOrEqual(END_HEIGHT)
          }
          // estimatestakediff at every tip from the first: without a count, with one, and beyond the window.
          expect(END_HEIGHT - firstTip + 1).toBeGreaterThanOrEqual(2 * SIMNET.stakeDiffWindowSize)
          expect(checks.get("stake-difficulty-estimate") ?? 0).toBe(3 * (END_HEIGHT - firstTip + 1))
          const withVotes = END_HEIGHT - SIMNET.stakeValidationHeight + 1
          // Per block from SVH: the votes against our draw; per tip from SVH - 1: our draw against
          // dcrd's announcement, which must have come for every one of them.
          expect(checks.get("lottery") ?? 0).toBe(2 * withVotes + 1)
          expect(checks.get("vote-subsidy") ?? 0).toBeGreaterThanOrEqual(3 * withVotes)
          expect(checks.get("live-tickets") ?? 0).toBeGreaterThanOrEqual(END_HEIGHT - 30)
          // The run reached the parts of the rules that matter: votes, and expiry with its revocation.
          const tickets = diff.ticketEvents()
          expect(tickets.voted).toBeGreaterThanOrEqual(3 * withVotes)
          expect(tickets.revoked).toBe(tickets.missed + tickets.expired)

          // The comparison is not blind: the same blocks with one field changed are caught.
          const replay = new ChainDifferential(SIMNET, chainActivations(SIMNET.agendas))
          const at = SIMNET.stakeValidationHeight + 10
          for (const b of blocks.slice(0, at - 1)) replay.connect(b)
          const original = blocks[at - 1]!
          const vote = original.votes[0]!
          const tampered: ChainBlock = { ...original, votes: [{ ...vote, subsidy: vote.subsidy + 1n }, ...original.votes.slice(1)] }
          expect(replay.connect(tampered).map(describeMismatch)).toEqual([`block ${at}: vote-subsidy: ours ${vote.subsidy}, dcrd ${vote.subsidy + 1n}`])
        }).pipe(Effect.scoped, Effect.provide(layerNative)),
      600_000,
    )
})
