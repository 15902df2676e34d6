import fc from "fast-check"
import { Result } from "effect"
import { chainActivations, type AgendaActivations } from "../core/chain/agendas.ts"
import type { NetworkParams } from "../core/chain/params.ts"
import { StakeChainDriver } from "../core/stake/driver.ts"
import { StakeModel, type StakeEvent, type Ticket } from "../core/stake/model.ts"

/** A generated history: who buys what at which block, and when each owner's wallet is offline. */
interface HistoryPlan {
  readonly seed: string
  /** Blocks to mine after stake validation height. */
  readonly blocksAfterSvh: number
  /** Purchases offered before each block, cycling: [owner index, fee, size, expiry offset or 0]. */
  readonly purchases: ReadonlyArray<ReadonlyArray<readonly [number, number, number, number]>>
  /** Per owner, the fraction of blocks (in percent) at which its wallet is offline. */
  readonly offlinePercent: ReadonlyArray<number>
}

export const OWNERS = ["alice", "bob", "carol", "dave", "erin"] as const

/** Histories with bursts of demand, fee spread, some expiring purchases and flaky wallets. */
export const arbitraryPlan = (maxBlocksAfterSvh: number): fc.Arbitrary<HistoryPlan> =>
  fc.record({
    seed: fc.string({ minLength: 1, maxLength: 8 }),
    blocksAfterSvh: fc.integer({ min: 20, max: maxBlocksAfterSvh }),
    purchases: fc.array(
      fc.array(
        fc.tuple(fc.integer({ min: 0, max: OWNERS.length - 1 }), fc.integer({ min: 0, max: 50_000 }), fc.integer({ min: 200, max: 600 }), fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 12 }))),
        { maxLength: 30 },
      ),
      { minLength: 1, maxLength: 24 },
    ),
    // Each owner offline at most 30% of the time, so that a majority of five usually votes.
    offlinePercent: fc.array(fc.integer({ min: 0, max: 30 }), { minLength: OWNERS.length, maxLength: OWNERS.length }),
  })

interface BlockRecord {
  readonly height: number
  /** The ticket price the block required. */
  readonly sdiff: bigint
  /** The mempool as the miner saw it, before the block. */
  readonly mempoolBefore: ReadonlyArray<Ticket>
  readonly events: ReadonlyArray<StakeEvent>
}

export interface History {
  readonly model: StakeModel
  readonly blocks: ReadonlyArray<BlockRecord>
  /** Every purchase the mempool accepted, by id, with the height it was offered at. */
  readonly offered: ReadonlyMap<string, { readonly owner: string; readonly height: number }>
  readonly remines: number
}

const mix = (a: number, b: number): number => {
  let x = (Math.imul(a + 0x9e3779b9, 0x85ebca6b) ^ Math.imul(b + 0x7f4a7c15, 0xc2b2ae35)) >>> 0
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b) >>> 0
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35) >>> 0
  return (x ^ (x >>> 16)) >>> 0
}

/**
 * Whether `owner` is offline at `height` in this plan: a deterministic draw per (owner,
 * height) against the owner's offline percentage. At most two of the five owners are offline
 * at once, so a majority of the network's wallets is always up (with everyone away the real
 * chain simply waits, which a height-indexed plan cannot express).
 */
export const offline = (plan: HistoryPlan, owner: string, height: number): boolean => {
  const i = OWNERS.indexOf(owner as (typeof OWNERS)[number])
  if (i < 0) return false
  const away = OWNERS.map((_, j) => mix(height, j) % 100 < plan.offlinePercent[j]!)
  const awayBefore = away.slice(0, i).filter(Boolean).length
  return away[i]! && awayBefore < 2
}

/** Current mainnet rules from block 1, or the network's own agenda states. */
export const currentRules = (params: NetworkParams, extra: AgendaActivations = {}): AgendaActivations =>
  params.name === "mainnet"
    ? chainActivations(params.agendas, {
        sdiffalgorithm: 1,
        treasury: 1,
        autorevocations: 1,
        changesubsidysplit: 1,
        changesubsidysplitr2: 1,
        ...extra,
      })
    : chainActivations(params.agendas, extra)

/**
 * Plays a plan on a fresh model: purchases start once coinbases mature; before stake
 * validation the chain just grows (buying steadily so that the lottery has tickets), after
 * it every block is recorded with the mempool the miner saw.
 */
export const playHistory = (params: NetworkParams, plan: HistoryPlan, activations = currentRules(params)): History => {
  const model = new StakeModel(params, activations, { keepEndedTickets: true })
  const driver = new StakeChainDriver(model, {
    seed: plan.seed,
    isOnline: (owner, height) => !offline(plan, owner, height),
    maxRemines: 500,
  })
  const offered = new Map<string, { owner: string; height: number }>()
  const blocks: Array<BlockRecord> = []
  let remines = 0
  const end = params.stakeValidationHeight + plan.blocksAfterSvh
  // Enough early tickets for a lottery at SVH - 1: a steady trickle from coinbase maturity on.
  const earlyPerBlock = Math.max(1, Math.ceil((params.ticketsPerBlock * 40) / (params.stakeValidationHeight - params.coinbaseMaturity - params.ticketMaturity)))
  for (let block = 0; model.height < end; block++) {
    const height = model.height + 1
    if (height > params.coinbaseMaturity + 1) {
      const scheduled = height >= params.stakeValidationHeight - params.ticketMaturity ? plan.purchases[block % plan.purchases.length]! : []
      // A baseline that keeps the pool alive once votes start taking five tickets a block.
      const baseline = height >= params.stakeValidationHeight - params.ticketMaturity ? params.ticketsPerBlock + 1 : earlyPerBlock
      const early = Array.from({ length: baseline }, (_, i) => [(block + i) % OWNERS.length, 1000, 300, 0] as const)
      for (const [o, fee, size, expiry] of [...early, ...scheduled]) {
        const owner = OWNERS[o]!
        // Odd fees buy split tickets (three commitments), so that returns have remainders to place.
        const shares = fee % 2 === 1 ? [(fee % 7) + 1, 3, 11] : [1]
        const purchase = driver.purchase(owner, BigInt(fee), size, expiry === 0 ? 0 : height + expiry, shares)
        const accepted = model.submitTicket(purchase)
        if (Result.isSuccess(accepted)) offered.set(accepted.success.id, { owner, height })
      }
    }
    const sdiff = model.nextStakeDifficulty()
    const mempoolBefore = model.mempoolTickets().map((t) => ({ ...t }))
    const mined = driver.mineBlock()
    remines += mined.remines
    if (mined.parentEvents !== undefined) blocks[blocks.length - 1] = { ...blocks[blocks.length - 1]!, events: mined.parentEvents }
    blocks.push({ height: mined.height, sdiff, mempoolBefore, events: mined.events })
  }
  return { model, blocks, offered, remines }
}
