import { Result } from "effect"
import { blockHash, encodeHeader } from "../chain/header.ts"
import { blake256Hash } from "../chain/hash.ts"
import type { StakeBlock, StakeEvent, StakeModel, TicketPurchase } from "./model.ts"

interface StakeDriverOptions {
  /** Seeds every random choice (header nonces and roots, ticket hashes). */
  readonly seed: string
  /** Whether an owner's wallet is online to vote (and, before DCP-0009, to revoke) at a height. */
  readonly isOnline?: (owner: string, height: number) => boolean
  /** How many times to re-mine the tip before calling the chain stalled. */
  readonly maxRemines?: number
}

interface MinedBlock {
  readonly height: number
  readonly events: ReadonlyArray<StakeEvent>
  /** Times the parent was re-mined because too few of its winners could vote. */
  readonly remines: number
  /** When the parent was re-mined: the events of its final version, which replace the first. */
  readonly parentEvents: ReadonlyArray<StakeEvent> | undefined
}

/** The chain cannot grow: no draw of the tip gave enough online winners. */
class ChainStalled extends Error {
  readonly _tag = "ChainStalled"
}

/**
 * Drives a `StakeModel` as a network of miners and voting wallets would, deterministically
 * from a seed: each block takes the mempool's best tickets, the parent's online winners vote,
 * and headers carry exactly the stake fields the rules require. When fewer than a majority
 * of winners are online, miners build another version of the parent instead (a new draw),
 * which is how Decred gets past absent voters. Proof of work is not this driver's concern.
 */
export class StakeChainDriver {
  readonly model: StakeModel
  private readonly rng: SplitMix32
  private readonly isOnline: (owner: string, height: number) => boolean
  private readonly maxRemines: number
  private lastBlock: Omit<StakeBlock, "header"> | undefined

  constructor(model: StakeModel, options: StakeDriverOptions) {
    this.model = model
    this.rng = new SplitMix32(blake256Hash(new TextEncoder().encode(options.seed)))
    this.isOnline = options.isOnline ?? (() => true)
    this.maxRemines = options.maxRemines ?? 1000
  }

  /** A fresh, seeded ticket hash. */
  nextTicketHash(): Uint8Array {
    const out = new Uint8Array(32)
    const view = new DataView(out.buffer)
    for (let i = 0; i < 8; i++) view.setUint32(4 * i, this.rng.next32(), false)
    return out
  }

  /**
   * A ticket at the current price. With `shares`, the contribution price + fee is split over
   * several commitments in those proportions (a split ticket or a stake pool's fee output);
   * otherwise the owner commits all of it.
   */
  purchase(owner: string, fee = 10_000n, size = 300, expiry = 0, shares: ReadonlyArray<number> = [1]): TicketPurchase {
    const price = this.model.nextStakeDifficulty()
    const total = price + fee
    const weight = BigInt(shares.reduce((a, b) => a + b, 0))
    const amounts = shares.map((w) => (total * BigInt(w)) / weight)
    amounts[0]! += total - amounts.reduce((a, b) => a + b, 0n)
    return {
      hash: this.nextTicketHash(),
      owner,
      price,
      fee,
      size,
      commitments: amounts.map((amount, i) => ({ address: i === 0 ? owner : `${owner}-partner-${i}`, amount })),
      expiry,
    }
  }

  /** Builds the next block's header for these stake transactions. */
  buildBlock(content: Omit<StakeBlock, "header">): StakeBlock {
    const model = this.model
    const fields = model.headerStakeFields(content)
    const random = (n: number) => {
      const out = new Uint8Array(n)
      const view = new DataView(out.buffer)
      for (let i = 0; i + 4 <= n; i += 4) view.setUint32(i, this.rng.next32(), false)
      return out
    }
    const params = model.params
    const header = encodeHeader({
      version: 10,
      prevBlock: blockHash(model.tipHeaderBytes),
      merkleRoot: random(32),
      stakeRoot: random(32),
      voteBits: 1,
      finalState: fields.finalState,
      voters: fields.voters,
      freshStake: fields.freshStake,
      revocations: fields.revocations,
      poolSize: fields.poolSize,
      bits: params.powLimitBits,
      sbits: fields.sbits,
      height: fields.height,
      size: 1000,
      timestamp: 1_700_000_000 + fields.height * params.targetTimePerBlock,
      nonce: this.rng.next32(),
      extraData: new Uint8Array(32),
      stakeVersion: 10,
    })
    return { header, ...content }
  }

  /** Mines the next block (re-mining the parent while too few of its winners are online). */
  mineBlock(): MinedBlock {
    const model = this.model
    const params = model.params
    const height = model.height + 1
    let remines = 0
    let parentEvents: ReadonlyArray<StakeEvent> | undefined
    const minimum = Math.floor(params.ticketsPerBlock / 2) + 1
    for (;;) {
      const votes = height >= params.stakeValidationHeight ? model.nextWinners.filter((id) => this.isOnline(model.ticket(id)!.purchase.owner, height)) : []
      if (height < params.stakeValidationHeight || votes.length >= minimum) {
        const content = {
          tickets: model.selectTickets(),
          votes,
          revocations: model.autoRevocations ? [] : model.unrevokedTickets().filter((id) => this.isOnline(model.ticket(id)!.purchase.owner, height)),
        }
        const events = Result.getOrThrow(model.connectBlock(this.buildBlock(content)))
        this.lastBlock = content
        return { height, events, remines, parentEvents }
      }
      // Too few voters for any child of this parent: replace the parent with another draw.
      if (remines >= this.maxRemines || this.lastBlock === undefined || model.disconnectableBlocks === 0) {
        throw new ChainStalled(`chain stalled at height ${height}: ${votes.length} of ${model.nextWinners.length} winners online after ${remines} re-mined parents`)
      }
      model.disconnectBlock()
      parentEvents = Result.getOrThrow(model.connectBlock(this.buildBlock(this.lastBlock)))
      remines++
    }
  }
}

/**
 * A small, fast, seeded generator for the driver's own choices (ticket hashes, header roots,
 * nonces), which no consensus rule depends on: the lottery keeps dcrd's BLAKE-256 PRNG.
 * Four 32-bit lanes of splitmix-style mixing over a 32-byte seed.
 */
class SplitMix32 {
  private state: Uint32Array
  private lane = 0

  constructor(seed: Uint8Array) {
    const view = new DataView(seed.buffer, seed.byteOffset, seed.byteLength)
    this.state = Uint32Array.of(view.getUint32(0), view.getUint32(4), view.getUint32(8), view.getUint32(12))
  }

  next32(): number {
    const i = this.lane
    this.lane = (this.lane + 1) & 3
    let z = (this.state[i]! = (this.state[i]! + 0x9e3779b9) >>> 0)
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0
    return (z ^ (z >>> 16)) >>> 0
  }
}
