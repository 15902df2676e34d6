import { Result } from "effect"
import { hashToDisplay } from "../core/chain/hash.ts"
import { blockHashDisplay, decodeHeader, HEADER_BYTES } from "../core/chain/header.ts"
import type { MinerModel } from "../core/stratum/profiles.ts"
import type { AcceptedShare } from "./stratum/session.ts"

/** A block the pool mined and dcrd accepted. */
export interface AcceptedWork {
  /** Display hex of the block hash (BLAKE-256 in every era: the PoW hash is not the block's id). */
  readonly hash: string
  readonly parent: string
  readonly height: number
  readonly account: string
  readonly worker: string
  readonly model: MinerModel
  /** Milliseconds, pool clock. */
  readonly foundAt: number
  /** The network difficulty it was mined at, in DIFFICULTY_SCALE units (what PPLNS windows scale by). */
  readonly networkDifficulty: bigint
  /**
   * The share that found it, stored with the block in one transaction (a block goes to dcrd
   * before its share is committed, so its window must not depend on the share committer).
   * Undefined only for blocks reported by hand (tests).
   */
  readonly findingShare: AcceptedShare | undefined
  /** True once a block built on it connected: it is in the chain, one confirmation deep. */
  readonly confirmed: boolean
}

/** How many blocks below the tip unconfirmed work is kept before it counts as orphaned. */
export const ORPHAN_DEPTH = 6

/**
 * The pool's mined blocks and their standing in the chain. A block is confirmed when the next
 * block connects on top of it; a disconnect takes that back for the block and its parent, and
 * a later connect confirms again. Work left unconfirmed `ORPHAN_DEPTH` below the tip is an orphan.
 */
export class AcceptedWorkBook {
  private readonly works = new Map<string, AcceptedWork>()

  record(work: Omit<AcceptedWork, "confirmed">): AcceptedWork {
    const existing = this.works.get(work.hash)
    if (existing !== undefined) return existing
    const entry = { ...work, confirmed: false }
    this.works.set(work.hash, entry)
    return entry
  }

  get(hash: string): AcceptedWork | undefined {
    return this.works.get(hash)
  }

  all(): ReadonlyArray<AcceptedWork> {
    return [...this.works.values()].sort((a, b) => b.height - a.height)
  }

  /** A block connected: confirms the pool's work it builds on; returns orphans pruned at this depth. */
  blockConnected(header: Uint8Array): { readonly confirmed: AcceptedWork | undefined; readonly orphaned: ReadonlyArray<AcceptedWork> } {
    const decoded = Result.getOrThrow(decodeHeader(header.subarray(0, HEADER_BYTES)))
    const parent = hashToDisplay(decoded.prevBlock)
    let confirmed: AcceptedWork | undefined
    const work = this.works.get(parent)
    if (work !== undefined && !work.confirmed) {
      confirmed = { ...work, confirmed: true }
      this.works.set(parent, confirmed)
    }
    const orphaned: Array<AcceptedWork> = []
    for (const [hash, w] of this.works) {
      if (!w.confirmed && w.height <= decoded.height - ORPHAN_DEPTH) {
        this.works.delete(hash)
        orphaned.push(w)
      }
    }
    return { confirmed, orphaned }
  }

  /** A block left the main chain: it and its parent lose their confirmation. */
  blockDisconnected(header: Uint8Array): ReadonlyArray<AcceptedWork> {
    const decoded = Result.getOrThrow(decodeHeader(header.subarray(0, HEADER_BYTES)))
    const unconfirmed: Array<AcceptedWork> = []
    for (const hash of [blockHashDisplay(header.subarray(0, HEADER_BYTES)), hashToDisplay(decoded.prevBlock)]) {
      const w = this.works.get(hash)
      if (w !== undefined && w.confirmed) {
        const back = { ...w, confirmed: false }
        this.works.set(hash, back)
        unconfirmed.push(back)
      }
    }
    return unconfirmed
  }
}
