import type { AgendaId, AgendaVoteProgress, AgendaVoteState } from "../core/chain/agendas.ts"
import type { NetworkParams } from "../core/chain/params.ts"

// dcrd's rule change vote (internal/blockchain/thresholdstate.go), for one agenda on a chain
// that does not force it: the chain is cut into rule change intervals aligned on the stake
// validation height; an agenda is `defined` until the first interval after stake validation,
// `started` (voting) from then on, `lockedin` for one interval once an interval's non-abstaining
// votes reach the quorum and yes has at least multiplier/divisor of them (no at that share
// fails it), and `active` from the interval after that. dcrd also waits for the stake version
// and the miners' block version to be upgraded before `started`; every simulated wallet and
// miner runs the current version, so that wait is not modelled. Nor are start and expire times:
// the vote opens at once and never expires.

/** A ticket's vote on the agenda, as its wallet's vote bits say. */
export type AgendaVoteChoice = "yes" | "no" | "abstain"

interface VotedBlock {
  readonly hash: string
  readonly votes: ReadonlyArray<string>
}

/**
 * The last height of the interval before the one holding `height` (dcrd's calcWantHeight):
 * intervals start at multiples of `interval` offset by the stake validation height's remainder.
 */
const lastHeightBefore = (svh: number, interval: number, height: number): number => {
  const offset = svh % interval
  const adjusted = height - offset - 1
  return adjusted - ((((adjusted + 1) % interval) + interval) % interval) + offset
}

/**
 * One agenda's vote on one chain. States are cached by the hash of each interval's last block,
 * as dcrd caches them, so a reorganisation that replaces an interval's end recounts it.
 */
export class AgendaVoteTracker {
  private readonly cache = new Map<string, AgendaVoteState>()
  private readonly svh: number
  private readonly interval: number
  readonly agenda: AgendaId
  private readonly params: NetworkParams
  /** What the wallet behind `ticket` voted in the block at `height`. */
  private readonly choice: (ticket: string, height: number) => AgendaVoteChoice

  constructor(agenda: AgendaId, params: NetworkParams, choice: (ticket: string, height: number) => AgendaVoteChoice) {
    this.agenda = agenda
    this.params = params
    this.choice = choice
    this.svh = params.stakeValidationHeight
    this.interval = params.ruleChangeActivationInterval
    if (!(this.interval > 0)) throw new RangeError(`${params.name}: ruleChangeActivationInterval must be positive to vote on ${agenda}`)
  }

  private count(last: number, blockAt: (height: number) => VotedBlock | undefined, from = last - this.interval + 1) {
    const tally = { yes: 0, no: 0, abstain: 0 }
    for (let h = Math.max(from, 0); h <= last; h++) {
      const block = blockAt(h)
      if (block === undefined) continue
      for (const ticket of block.votes) tally[this.choice(ticket, h)]++
    }
    return tally
  }

  /** The state after the interval ending at `last` (for the blocks of the next interval). */
  private stateAfter(last: number, blockAt: (height: number) => VotedBlock | undefined): AgendaVoteState {
    if (last + 1 < this.svh + this.interval) return "defined"
    const end = blockAt(last)
    if (end === undefined) return "defined"
    const cached = this.cache.get(end.hash)
    if (cached !== undefined) return cached
    const before = this.stateAfter(last - this.interval, blockAt)
    let state: AgendaVoteState = before
    if (before === "defined") state = last >= this.svh ? "started" : "defined"
    else if (before === "lockedin") state = "active"
    else if (before === "started") {
      const { yes, no } = this.count(last, blockAt)
      const total = yes + no
      if (total >= this.params.ruleChangeActivationQuorum) {
        const needed = Math.floor((total * this.params.ruleChangeActivationMultiplier) / this.params.ruleChangeActivationDivisor)
        if (yes >= needed) state = "lockedin"
        else if (no >= needed) state = "failed"
      }
    }
    this.cache.set(end.hash, state)
    return state
  }

  /** The state governing the block at `height`, on the chain `blockAt` reads (its blocks below `height`). */
  stateFor(height: number, blockAt: (height: number) => VotedBlock | undefined): AgendaVoteState {
    return this.stateAfter(lastHeightBefore(this.svh, this.interval, height), blockAt)
  }

  /** The first height the agenda governs, if it is locked in or active for the block at `height`. */
  activationFor(height: number, blockAt: (height: number) => VotedBlock | undefined): number | undefined {
    const state = this.stateFor(height, blockAt)
    if (state !== "lockedin" && state !== "active") return undefined
    // Walk back to the first interval that was active, or forward one from a locked-in one.
    let first = lastHeightBefore(this.svh, this.interval, height) + 1
    if (state === "lockedin") return first + this.interval
    while (this.stateFor(first - this.interval, blockAt) === "active") first -= this.interval
    return first
  }

  /** Where the vote stands for the block after `tipHeight`. */
  progress(tipHeight: number, blockAt: (height: number) => VotedBlock | undefined): AgendaVoteProgress {
    const next = tipHeight + 1
    const first = lastHeightBefore(this.svh, this.interval, next) + 1
    const tally = this.count(tipHeight, blockAt, first)
    return {
      agenda: this.agenda,
      state: this.stateFor(next, blockAt),
      interval: { first, last: first + this.interval - 1 },
      ...tally,
      quorum: this.params.ruleChangeActivationQuorum,
      threshold: { numerator: this.params.ruleChangeActivationMultiplier, denominator: this.params.ruleChangeActivationDivisor },
      activationHeight: this.activationFor(next, blockAt),
    }
  }
}
