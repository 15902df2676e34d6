import { Result } from "effect"
import { PayoutEngine } from "../core/payout/engine.ts"
import type { PayoutScheme } from "../core/payout/schemes.ts"

/**
 * A statistical pool: miners submit shares as Poisson processes in virtual time, each share of
 * difficulty d finds a block with probability d / D, and the production payout engine shares
 * every block. Used to test fairness properties (proportionality, hopping, invariances) over
 * thousands of blocks in milliseconds. Seeded; floats only drive the random draws, never amounts.
 */
interface SimState {
  readonly time: number
  /** Difficulty units of shares since the last block (the round's age in work). */
  readonly roundWork: bigint
}

export interface SimMiner {
  readonly account: string
  /** Hashrate in difficulty units per second. */
  readonly rate: number
  /** Difficulty of each share, in DIFFICULTY_SCALE units. */
  readonly shareDifficulty: bigint
  /** When the miner mines (default: always). */
  readonly active?: (state: SimState) => boolean
}

interface SimOptions {
  readonly seed: number
  readonly miners: ReadonlyArray<SimMiner>
  readonly blocks: number
  readonly networkDifficulty: bigint
  readonly reward: bigint
  readonly scheme: PayoutScheme
  readonly feeBasisPoints: number
  /** Batches for the batch-means error estimate. */
  readonly batches?: number
}

interface SimResult {
  /** Per batch, per account: [atoms credited, difficulty units of work]. */
  readonly batches: ReadonlyArray<ReadonlyMap<string, { credited: bigint; work: bigint }>>
  readonly totals: ReadonlyMap<string, { credited: bigint; work: bigint }>
  readonly blocks: number
  readonly shares: number
  readonly engine: PayoutEngine
}

/** splitmix32: small, seeded, good enough for simulation draws. */
export const seededRandom = (seed: number): (() => number) => {
  let s = seed >>> 0
  return () => {
    s = (s + 0x9e3779b9) >>> 0
    let z = s
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0
    return ((z ^ (z >>> 16)) >>> 0) / 4294967296
  }
}

export const simulatePool = (o: SimOptions): SimResult => {
  const random = seededRandom(o.seed)
  const engine = new PayoutEngine({ scheme: o.scheme, feeBasisPoints: o.feeBasisPoints, minimumPayout: 1n })
  const batchCount = o.batches ?? 20
  const perBatch = Math.max(1, Math.floor(o.blocks / batchCount))
  const batches: Array<Map<string, { credited: bigint; work: bigint }>> = Array.from({ length: batchCount }, () => new Map())
  const totals = new Map<string, { credited: bigint; work: bigint }>()
  const add = (m: Map<string, { credited: bigint; work: bigint }>, account: string, credited: bigint, work: bigint) => {
    const x = m.get(account) ?? { credited: 0n, work: 0n }
    m.set(account, { credited: x.credited + credited, work: x.work + work })
  }
  const D = o.networkDifficulty
  const Dn = Number(D)
  let time = 0
  let roundWork = 0n
  let blocks = 0
  let shares = 0
  let ledgerSeen = 0
  const batchOf = () => Math.min(batchCount - 1, Math.floor(blocks / perBatch))
  // Once every miner has been idle for this long in a row, the configuration is broken.
  let idleSteps = 0
  while (blocks < o.blocks) {
    const state: SimState = { time, roundWork }
    const active = o.miners.filter((m) => m.active === undefined || m.active(state))
    if (active.length === 0) {
      // Nobody mines right now (a hopper-only phase): let time pass.
      time += 1
      if (++idleSteps > 1_000_000) throw new Error("no miner is ever active")
      continue
    }
    idleSteps = 0
    const shareRates = active.map((m) => m.rate / Number(m.shareDifficulty))
    const total = shareRates.reduce((a, b) => a + b, 0)
    time += -Math.log(1 - random()) / total
    let pick = random() * total
    let miner = active[active.length - 1]!
    for (let i = 0; i < active.length; i++) {
      pick -= shareRates[i]!
      if (pick < 0) {
        miner = active[i]!
        break
      }
    }
    const share = { id: `s${shares}`, account: miner.account, weight: miner.shareDifficulty, time: Math.floor(time * 1000) }
    shares++
    engine.recordShare(share, { blockReward: o.reward, networkDifficulty: D })
    add(batches[batchOf()]!, miner.account, 0n, miner.shareDifficulty)
    add(totals, miner.account, 0n, miner.shareDifficulty)
    roundWork += miner.shareDifficulty
    if (random() < Number(miner.shareDifficulty) / Dn) {
      Result.getOrThrow(engine.blockFound({ hash: `b${blocks}`, height: blocks + 1, reward: o.reward, networkDifficulty: D, time: share.time, finder: miner.account }))
      // Credits of this block (or PPS accruals up to it) count in the block's batch.
      for (const e of engine.ledger.entries.slice(ledgerSeen)) {
        const credits = e.kind === "block-credited" || e.kind === "pps-accrued" ? e.credits : []
        for (const c of credits) {
          add(batches[batchOf()]!, c.account, c.amount, 0n)
          add(totals, c.account, c.amount, 0n)
        }
      }
      ledgerSeen = engine.ledger.entries.length
      blocks++
      roundWork = 0n
    }
  }
  return { batches, totals, blocks, shares, engine }
}

/** Mean and standard error of per-batch values (batch means). */
export const meanAndError = (values: ReadonlyArray<number>): { mean: number; error: number } => {
  const n = values.length
  const mean = values.reduce((a, b) => a + b, 0) / n
  const variance = values.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1)
  return { mean, error: Math.sqrt(variance / n) }
}

/** Atoms earned per difficulty unit of work, for an account, in a batch. */
export const earningRate = (batch: ReadonlyMap<string, { credited: bigint; work: bigint }>, account: string): number => {
  const x = batch.get(account)
  return x === undefined || x.work === 0n ? 0 : Number(x.credited) / Number(x.work)
}
