import { describe, expect, it } from "vitest"
import { SIMNET } from "../core/chain/params.ts"
import { AgendaVoteTracker, type AgendaVoteChoice } from "./agenda-vote.ts"

// Simnet's stake validation height is 144; with 16-block intervals they start at 144, 160, 176...
const PARAMS = { ...SIMNET, ruleChangeActivationInterval: 16, ruleChangeActivationQuorum: 40 }

/** A chain of `height + 1` blocks, five votes each from stake validation on, voting as `vote` says for the block's height. */
const chain = (height: number, vote: (height: number, index: number) => AgendaVoteChoice) => {
  const blocks = Array.from({ length: height + 1 }, (_, h) => ({ hash: `block-${h}`, votes: h < PARAMS.stakeValidationHeight ? [] : [0, 1, 2, 3, 4].map((i) => `${h}:${i}:${vote(h, i)}`) }))
  return (h: number) => blocks[h]
}
const fromTicket = (ticket: string) => ticket.split(":")[2] as AgendaVoteChoice

describe("an agenda vote counted as dcrd counts it", () => {
  it("opens at the first interval after stake validation, locks in after an interval with the quorum and 3/4 yes, and activates one interval later", () => {
    const tracker = new AgendaVoteTracker("blake3pow", PARAMS, fromTicket)
    const blocks = chain(260, (_h, i) => (i < 4 ? "yes" : "no"))
    expect(tracker.stateFor(150, blocks)).toBe("defined")
    expect(tracker.stateFor(159, blocks)).toBe("defined")
    expect(tracker.stateFor(160, blocks)).toBe("started")
    expect(tracker.stateFor(175, blocks)).toBe("started")
    expect(tracker.stateFor(176, blocks)).toBe("lockedin")
    expect(tracker.activationFor(176, blocks)).toBe(192)
    expect(tracker.activationFor(175, blocks)).toBeUndefined()
    expect(tracker.stateFor(192, blocks)).toBe("active")
    expect(tracker.activationFor(250, blocks)).toBe(192)
    expect(tracker.progress(170, blocks)).toMatchObject({ state: "started", interval: { first: 160, last: 175 }, yes: 44, no: 11, abstain: 0, quorum: 40, activationHeight: undefined })
  })

  it("needs the quorum of non-abstaining votes, and 3/4 of them yes; 3/4 no fails it for good", () => {
    // Yes in 7 blocks of each interval (35 votes), abstain in the rest: under the quorum of 40, it stays started; 8 blocks (40) lock it in.
    const quiet = new AgendaVoteTracker("blake3pow", PARAMS, fromTicket)
    expect(
      quiet.stateFor(
        260,
        chain(260, (h) => (h % 16 < 7 ? "yes" : "abstain")),
      ),
    ).toBe("started")
    const enough = new AgendaVoteTracker("blake3pow", PARAMS, fromTicket)
    expect(
      enough.stateFor(
        176,
        chain(260, (h) => (h % 16 < 8 ? "yes" : "abstain")),
      ),
    ).toBe("lockedin")
    // 70 % yes is short of 3/4.
    const split = new AgendaVoteTracker("blake3pow", PARAMS, fromTicket)
    expect(
      split.stateFor(
        260,
        chain(260, (h, i) => ((h * 5 + i) % 10 < 7 ? "yes" : "no")),
      ),
    ).toBe("started")
    const against = new AgendaVoteTracker("blake3pow", PARAMS, fromTicket)
    expect(
      against.stateFor(
        260,
        chain(260, () => "no"),
      ),
    ).toBe("failed")
    expect(
      against.activationFor(
        260,
        chain(260, () => "no"),
      ),
    ).toBeUndefined()
  })

  it("counts the chain it is shown: a replaced interval end is counted again", () => {
    const tracker = new AgendaVoteTracker("blake3pow", PARAMS, fromTicket)
    expect(
      tracker.stateFor(
        176,
        chain(200, () => "no"),
      ),
    ).toBe("failed")
    const yes = chain(200, () => "yes")
    const replaced = (h: number) => (h === 175 ? { ...yes(h)!, hash: "other-175" } : yes(h))
    expect(tracker.stateFor(176, replaced)).toBe("lockedin")
  })
})
