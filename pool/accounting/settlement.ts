import { Clock, Effect } from "effect"
import { creditsFor, hasWork } from "../../core/payout/credits.ts"
import { POOL_FEE_ACCOUNT } from "../../core/payout/ledger.ts"
import { pplnsWindowUnits, ppsCredit, type PayoutScheme } from "../../core/payout/schemes.ts"
import { chainActivations } from "../../core/chain/agendas.ts"
import { subsidySplitAt, workSubsidy } from "../../core/chain/subsidy.ts"
import { ChainRpc } from "../../core/services/chain.ts"
import { CrashPoints } from "../ops/crash-points.ts"
import { currentPoolMetrics } from "../ops/metrics.ts"
import { PoolStore, type BlockRow, type PoolStoreShape } from "../store/store.ts"
import { isolated } from "./isolated.ts"
import type { StoreAccountingOptions } from "./options.ts"

/** How many blocks below the tip a block still out of the main chain waits before it counts as orphaned. */
const ORPHAN_DEPTH = 6

/**
 * Blocks are settled from the chain itself (is this hash still the main chain's block at its
 * height?) on every tip change, so a restart, a missed notification or a second instance all
 * converge on the same state. A confirmed block is credited by the configured scheme; PPS
 * credits shares instead, once coinbases could have paid for them.
 */
export const makeSettlement = (
  options: Pick<StoreAccountingOptions, "network" | "scheme" | "feeBasisPoints" | "coinbaseMaturity">,
  /** Returns once every share accepted before it is committed (see the share committer). */
  commitBarrier: Effect.Effect<void>,
  /**
   * With several pool processes on the database: the others still running whose stored shares
   * may not yet reach `foundMs` (their share watermarks), so a block waits for them as it waits
   * for this process's own committer. Undefined for a process alone on its database.
   */
  othersBehind?: (foundMs: number) => Effect.Effect<ReadonlyArray<{ readonly instance: string; readonly committedMs: number }>, Effect.Error<ReturnType<PoolStoreShape["sharesBehind"]>>>,
) =>
  Effect.gen(function* () {
    const store = yield* PoolStore
    const chain = yield* ChainRpc
    const crash = yield* CrashPoints
    const metrics = yield* currentPoolMetrics

    // ---- blocks: credits from the configured scheme
    /** Per-account weights of the last `units` of work up to `untilMs`, the oldest share pro-rated. */
    const pplnsWeights = (untilMs: number, units: bigint) =>
      Effect.gen(function* () {
        const weights = new Map<string, bigint>()
        let remaining = units
        let cursor: { createdMs: number; seq: bigint } | undefined
        while (remaining > 0n) {
          const page = yield* store.sharesBefore(untilMs, cursor, 5000)
          for (const s of page) {
            const counted = s.weight < remaining ? s.weight : remaining
            weights.set(s.account, (weights.get(s.account) ?? 0n) + counted)
            remaining -= counted
            if (remaining === 0n) break
          }
          if (page.length < 5000) break
          cursor = page[page.length - 1]
        }
        return weights
      })

    /**
     * What a confirmed block credits, the pool's fee among them (last): the store supplies the
     * scheme's window, `creditsFor` splits the reward.
     */
    const blockCredits = (block: BlockRow, reward: bigint) =>
      Effect.gen(function* () {
        const scheme = options.scheme
        let weights: ReadonlyMap<string, bigint> = new Map()
        if (scheme.kind !== "pps" && scheme.kind !== "solo") {
          weights = yield* shareWeights(scheme, block.foundMs, block.networkDifficulty)
          // The rule for a window without work: the reward goes to the work that found the
          // block, never to nobody. The finding share is stored with the block, so this is a
          // block from before that rule or a store that lost the share.
          if (!hasWork(weights)) {
            yield* Effect.logWarning(`block ${block.hash} at height ${block.height}: its window holds no shares; its reward goes to its finder ${block.account}`)
          }
        }
        const { fee, credits } = creditsFor(scheme, reward, options.feeBasisPoints, block.account, weights)
        return fee > 0n ? [...credits, { account: POOL_FEE_ACCOUNT, amount: fee }] : credits
      })

    /** The work each account has in a block found at `foundMs` under a share-splitting scheme. */
    const shareWeights = (scheme: PayoutScheme & { readonly kind: "pplns" | "pplns-time" | "proportional" }, foundMs: number, networkDifficulty: bigint) =>
      Effect.gen(function* () {
        switch (scheme.kind) {
          case "pplns":
            return yield* pplnsWeights(foundMs, pplnsWindowUnits(scheme.windowMultiple, networkDifficulty))
          case "pplns-time":
            return yield* store.workBetween(foundMs - scheme.periodMs, foundMs)
          case "proportional": {
            const since = (yield* store.previousBlockTime(foundMs)) ?? -1
            return yield* store.workBetween(since, foundMs)
          }
        }
      })

    /**
     * Each account's work in the next block's split if the pool found it now at
     * `networkDifficulty`: the same window the credits would use. Undefined for schemes that do
     * not split a block by shares (PPS pays per share, solo pays the finder).
     */
    const nextRewardWeights = (networkDifficulty: bigint) =>
      Effect.gen(function* () {
        const scheme = options.scheme
        if (scheme.kind === "pps" || scheme.kind === "solo") return undefined
        return yield* shareWeights(scheme, yield* Clock.currentTimeMillis, networkDifficulty)
      })

    /** Is `hash` the main chain's block at `height`? */
    const inMainChain = (block: BlockRow, tip: number) => (block.height > tip ? Effect.succeed(false) : chain.getBlockHash(block.height).pipe(Effect.map((h) => h === block.hash)))

    const settleBlocks = (tip: number) =>
      Effect.gen(function* () {
        const blocks = yield* store.blocksWithStatus(["accepted", "confirmed"])
        // Before a block is split, every share the pool had accepted before it was found is in.
        if (blocks.some((b) => b.status === "accepted" && tip >= b.height + 1)) yield* commitBarrier
        for (const block of blocks) yield* settleBlock(block, tip).pipe(isolated(metrics, "block", `block ${block.hash} at height ${block.height}`))
      })

    /** Blocks said to wait for another instance's shares (said once each). */
    const waitingFor = new Set<string>()
    const settleBlock = (block: BlockRow, tip: number) =>
      Effect.gen(function* () {
        const now = yield* Clock.currentTimeMillis
        const inChain = yield* inMainChain(block, tip)
        let status = block.status
        if (status === "accepted") {
          if (inChain && tip >= block.height + 1) {
            const behind = othersBehind === undefined ? [] : yield* othersBehind(block.foundMs)
            if (behind.length > 0) {
              // Its window is read once every share accepted before it, on any front end, is in.
              if (!waitingFor.has(block.hash)) {
                waitingFor.add(block.hash)
                yield* Effect.logInfo(
                  `block ${block.hash} at height ${block.height} waits to be split until instance ${behind[0]!.instance} has stored its shares up to the block's time (so far up to ${behind[0]!.committedMs}, the block ${block.foundMs})`,
                )
              }
              return
            }
            waitingFor.delete(block.hash)
            const reward = yield* chain.coinbaseValue(block.hash)
            const credits = yield* blockCredits(block, reward)
            const fee = credits.find((c) => c.account === POOL_FEE_ACCOUNT)?.amount ?? 0n
            if (yield* store.confirmBlock(block.hash, reward, fee, credits, now)) {
              metrics.blocks.confirmed.inc()
              yield* Effect.logInfo(`block ${block.hash} at height ${block.height} confirmed: ${reward} atoms shared among ${credits.length} accounts`)
            }
            yield* crash.at("credit:after-confirm")
            status = "confirmed"
          } else if (!inChain && tip >= block.height + ORPHAN_DEPTH) {
            if (yield* store.orphanBlock(block.hash, now)) {
              metrics.blocks.orphaned.inc()
              yield* Effect.logWarning(`block ${block.hash} at height ${block.height} orphaned; it earned nothing`)
            }
          }
        }
        if (status !== "confirmed") return
        if (!inChain) {
          // A reorg deeper than one block took a confirmed block: its credits go, unpaid.
          if (yield* store.orphanBlock(block.hash, now)) {
            metrics.blocks.orphaned.inc()
            yield* Effect.logWarning(`confirmed block ${block.hash} at height ${block.height} left the main chain; its credits are reversed`)
          }
        } else if (tip >= block.height + options.coinbaseMaturity + 1) {
          // One block of margin past dcrd's rule, so the spend is valid in the next block too.
          if (yield* store.matureBlock(block.hash, now)) {
            metrics.blocks.matured.inc()
            yield* Effect.logInfo(`block ${block.hash} matured; its credits are payable`)
          }
        }
      })

    /** PPS: each share is worth (1 - fee) x B x d / D, B the work subsidy a full block at its height pays. */
    const activations = chainActivations(options.network.agendas)
    const ppsValue = (share: { readonly weight: bigint; readonly height: number; readonly networkDifficulty: bigint }) => {
      const blockReward = workSubsidy(options.network, share.height, options.network.ticketsPerBlock, subsidySplitAt(activations, share.height))
      return ppsCredit({ id: "", account: "", weight: share.weight, time: 0 }, blockReward, share.networkDifficulty, options.feeBasisPoints)
    }

    /** PPS only: credits the shares coinbases mined meanwhile could have paid for. */
    const settlePpsShares = (tip: number) =>
      Effect.gen(function* () {
        if (options.scheme.kind !== "pps") return
        const now = yield* Clock.currentTimeMillis
        // Payable once coinbases mined meanwhile could have paid for them.
        const settled = yield* store.settlePps(ppsValue, tip, tip + options.coinbaseMaturity + 1, now)
        if (settled.shares > 0) yield* Effect.logInfo(`PPS: ${settled.shares} shares credited to ${settled.accounts} accounts`)
      })

    return { settlePpsShares, settleBlocks, nextRewardWeights }
  })
