import { Result } from "effect"
import { toHex } from "../../core/chain/bytes.ts"
import type { PowHashAlgorithm } from "../../core/chain/hash.ts"
import { decodeHeader, HEADER_BYTES, HeaderOffset } from "../../core/chain/header.ts"
import { makeHeaderHasher, type HeaderHasher } from "../../core/chain/powhasher.ts"
import { compactToBig } from "../../core/chain/targets.ts"
import type { WorkReason } from "../../core/services/chain.ts"

export interface Job {
  /** Deterministic: block height and a sequence number, in hex. */
  readonly id: string
  readonly sequence: number
  readonly header: Uint8Array
  readonly height: number
  /** Hex of the parent's raw hash: jobs for another parent are stale. */
  readonly parent: string
  readonly networkTarget: bigint
  readonly pow: PowHashAlgorithm
  /** Absorbs the job's fixed first 128 bytes once; every share of the job hashes only its tail. */
  readonly hasher: HeaderHasher
  /** Miners must drop older work: a new parent, the only change that makes older jobs stale. */
  readonly clean: boolean
  /** Header timestamp the job was issued with (seconds). */
  readonly timestamp: number
}

interface JobLookup {
  readonly job: Job
  /** Built on a parent that is no longer the tip. */
  readonly stale: boolean
}

/**
 * Current work and the jobs handed out for it. A new parent makes every earlier job stale
 * (refused with "stale job") and is the only clean job; new votes or transactions on the same
 * parent give new jobs while the older ones stay valid and are not cleaned (dcrd still holds
 * their templates). Jobs are forgotten after
 * `keepParents` parents.
 *
 * The book also remembers the work already credited on each parent, keyed by the work itself
 * (see `firstSubmission`), not by job: a time roll is a new job id over the same template, and a
 * share whose nTime is at or after the roll's timestamp is the same header, hence the same work,
 * under the original job and under every roll of it.
 */
export class JobBook {
  private readonly jobs = new Map<string, Job>()
  /** Work keys seen per parent; dropped with the parent's jobs. */
  private readonly seenByParent = new Map<string, Set<string>>()
  private readonly parents: Array<string> = []
  private sequence = 0
  private latest: Job | undefined
  private readonly powAt: (height: number) => PowHashAlgorithm
  private readonly keepParents: number

  constructor(powAt: (height: number) => PowHashAlgorithm, keepParents = 3) {
    this.powAt = powAt
    this.keepParents = keepParents
  }

  get current(): Job | undefined {
    return this.latest
  }

  /** Takes dcrd's work (180 header bytes); returns the new job and whether to push it to miners now. */
  addWork(header: Uint8Array, reason: WorkReason): { readonly job: Job; readonly broadcast: boolean } {
    const decoded = Result.getOrThrow(decodeHeader(header.subarray(0, HEADER_BYTES)))
    const parent = toHex(decoded.prevBlock)
    const newParent = this.latest === undefined || this.latest.parent !== parent
    // Only a new parent makes older work worthless: a job of the same parent (new votes or
    // transactions) is a better template, but a share for an older one is still a valid block
    // if it meets the network target (dcrd keeps every template it handed out for the parent,
    // keyed by merkle and stake root), so miners need not drop what they are hashing.
    const job = this.makeJob(header.slice(0, HEADER_BYTES), decoded.height, parent, decoded.bits, decoded.timestamp, newParent)
    if (newParent) {
      this.parents.push(parent)
      while (this.parents.length > this.keepParents) {
        const gone = this.parents.shift()!
        for (const [id, job] of this.jobs) if (job.parent === gone) this.jobs.delete(id)
        this.seenByParent.delete(gone)
      }
    }
    this.latest = job
    // New transactions only update the work: miners get it with the next roll or reconnect.
    return { job, broadcast: reason !== "newtxns" }
  }

  /** The current work with a later timestamp, as a new job that does not make miners drop the old. */
  rollTimestamp(timestamp: number): Job | undefined {
    const cur = this.latest
    if (cur === undefined || timestamp <= cur.timestamp) return undefined
    const header = cur.header.slice()
    new DataView(header.buffer).setUint32(HeaderOffset.timestamp, timestamp, true)
    const job = this.makeJob(header, cur.height, cur.parent, new DataView(header.buffer).getUint32(HeaderOffset.bits, true), timestamp, false)
    this.latest = job
    return job
  }

  lookup(id: string): JobLookup | undefined {
    const job = this.jobs.get(id)
    if (job === undefined) return undefined
    return { job, stale: this.latest !== undefined && job.parent !== this.latest.parent }
  }

  /**
   * Records a piece of work found on `job`'s parent; false if the same work was recorded before,
   * under this job or any other. `workKey` must identify the header the miner hashed (the
   * rebuilt header or its hash): two templates of one parent differ in their header, so their
   * work never collides, while a job and its time rolls agree on every byte a share fills in.
   */
  firstSubmission(job: Job, workKey: string): boolean {
    let seen = this.seenByParent.get(job.parent)
    if (seen === undefined) {
      // Only parents the book still holds jobs for: a share of a forgotten parent never gets here.
      if (!this.parents.includes(job.parent)) return false
      seen = new Set()
      this.seenByParent.set(job.parent, seen)
    }
    if (seen.has(workKey)) return false
    seen.add(workKey)
    return true
  }

  get size(): number {
    return this.jobs.size
  }

  private makeJob(header: Uint8Array, height: number, parent: string, bits: number, timestamp: number, clean: boolean): Job {
    const sequence = ++this.sequence
    const pow = this.powAt(height)
    const job: Job = {
      id: `${height.toString(16).padStart(8, "0")}${sequence.toString(16).padStart(8, "0")}`,
      sequence,
      header,
      height,
      parent,
      networkTarget: compactToBig(bits),
      pow,
      hasher: makeHeaderHasher(pow, header),
      clean,
      timestamp,
    }
    this.jobs.set(job.id, job)
    return job
  }
}
