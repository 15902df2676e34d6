import { describe, expect, it } from "vitest"
import type { AgendaVoteProgress } from "../../core/chain/agendas.ts"
import { overviewPage } from "./pages.ts"

const frame = { designation: "test pool", network: "simnet" }
const figures = {
  network: "simnet",
  mode: "pool",
  scheme: "pplns",
  feeBasisPoints: 100,
  workHeight: 170,
  connectedMiners: 5,
  blocksFound: 3,
  hashesPerSecond: 1e9,
  networkHashesPerSecond: 2e9,
  healthProblems: [],
}
const vote = (over: Partial<AgendaVoteProgress>): AgendaVoteProgress => ({
  agenda: "blake3pow",
  state: "started",
  interval: { first: 160, last: 175 },
  yes: 45,
  no: 5,
  abstain: 0,
  quorum: 40,
  threshold: { numerator: 3, denominator: 4 },
  activationHeight: undefined,
  ...over,
})
const panel = (page: string) => /<section class="panel" id="agenda-progress"[\s\S]*?<\/section>/.exec(page)?.[0]

describe("the overview's agenda vote", () => {
  it("is absent when the chain holds no vote", () => {
    expect(panel(overviewPage(frame, figures))).toBeUndefined()
  })

  it("shows the state, the interval's votes against the quorum and threshold, and the activation height once locked in", () => {
    const voting = panel(overviewPage(frame, { ...figures, agenda: vote({}) }))!
    expect(voting).toContain("Agenda vote: blake3pow")
    expect(voting).toContain('<strong id="agenda-state">voting</strong>')
    expect(voting).toContain('Interval 160–175: <strong id="agenda-yes">45</strong> yes, 5 no, 0 abstain (90 % yes; quorum 40, met: 37 yes needed)')
    expect(voting).toContain("at least 3/4 of them say yes")

    const locked = panel(overviewPage(frame, { ...figures, agenda: vote({ state: "lockedin", interval: { first: 176, last: 191 }, yes: 3, no: 0, activationHeight: 192 }) }))!
    expect(locked).toContain('<strong id="agenda-state">locked in</strong>')
    expect(locked).toContain("activates at height 192")

    const active = panel(overviewPage(frame, { ...figures, agenda: vote({ state: "active", interval: { first: 192, last: 207 }, activationHeight: 192 }) }))!
    expect(active).toContain("active since height 192")

    const defined = panel(overviewPage(frame, { ...figures, agenda: vote({ state: "defined", interval: { first: 144, last: 159 } }) }))!
    expect(defined).toContain("Voting opens at height 160.")
  })
})
