import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { MAINNET, REGNET } from "../core/chain/params.ts"
import { ChainUnavailable } from "../core/services/chain.ts"
import { makeDcrdAgendaVote } from "./dcrd-agenda-vote.ts"

/** dcrd's getvoteinfo reply for vote version 11 on regnet (types.GetVoteInfoResult), tip `tip`. */
const voteInfo = (tip: number, status: string, counts: { yes: number; no: number; abstain: number }) => ({
  currentheight: tip,
  startheight: 464,
  endheight: 783,
  hash: "00".repeat(32),
  voteversion: 11,
  quorum: 160,
  totalvotes: 812,
  agendas: [
    {
      id: "maxtreasuryspend",
      description: "",
      mask: 6,
      starttime: 0,
      expiretime: 0,
      status: "started",
      quorumprogress: 1,
      choices: [{ id: "abstain", description: "", bits: 0, isabstain: true, isno: false, count: 900, progress: 1 }],
    },
    {
      id: "blake3pow",
      description: "Change proof of work hashing algorithm to BLAKE3 as defined in DCP0011",
      mask: 96,
      starttime: 0,
      expiretime: 0,
      status,
      quorumprogress: 1,
      choices: [
        { id: "abstain", description: "", bits: 0, isabstain: true, isno: false, count: counts.abstain, progress: 0 },
        { id: "no", description: "", bits: 32, isabstain: false, isno: true, count: counts.no, progress: 0 },
        { id: "yes", description: "", bits: 64, isabstain: false, isno: false, count: counts.yes, progress: 0 },
      ],
    },
  ],
})

const node = (replies: Record<string, unknown>) => {
  const asked: Array<string> = []
  const call = (method: string, params: ReadonlyArray<unknown>) =>
    Effect.suspend(() => {
      asked.push(`${method} ${JSON.stringify(params)}`)
      return method in replies ? Effect.succeed(replies[method]) : Effect.fail(new ChainUnavailable({ method, reason: "connection refused" }))
    })
  return { call, asked }
}

describe("the overview's agenda vote, read from the operator's dcrd", () => {
  it("on mainnet, where blake3pow is a fact of the parameters, there is none and dcrd is not asked", async () => {
    const dcrd = node({})
    expect(await Effect.runPromise(makeDcrdAgendaVote(dcrd.call, MAINNET))).toBeUndefined()
    expect(dcrd.asked).toEqual([])
  })

  it("on regnet while the vote runs: the interval's yes, no and abstain from getvoteinfo's choices, the quorum and 3/4", async () => {
    const dcrd = node({ getvoteinfo: voteInfo(500, "started", { yes: 150, no: 20, abstain: 30 }) })
    const progress = await Effect.runPromise(makeDcrdAgendaVote(dcrd.call, REGNET))
    expect(progress).toEqual({
      agenda: "blake3pow",
      state: "started",
      interval: { first: 464, last: 783 },
      yes: 150,
      no: 20,
      abstain: 30,
      quorum: 160,
      threshold: { numerator: 3, denominator: 4 },
      activationHeight: undefined,
    })
    expect(dcrd.asked).toEqual(["getvoteinfo [11]"])
  })

  it("locked in: it activates at the start of the interval after the next block's (regnet: SVH 144, every 320 blocks)", async () => {
    const at = async (tip: number) => (await Effect.runPromise(makeDcrdAgendaVote(node({ getvoteinfo: voteInfo(tip, "lockedin", { yes: 0, no: 0, abstain: 0 }) }).call, REGNET)))?.activationHeight
    // The next block 501 is in the locked-in interval 464-783: active from 784.
    expect(await at(500)).toBe(784)
    expect(await at(782)).toBe(784)
    // Tip 783: the next block opens 784-1103, the locked-in one, so active from 1104.
    expect(await at(783)).toBe(1104)
  })

  it("active: since the height getblockchaininfo's deployment last changed, or the next block when the tip ended the locked-in interval", async () => {
    const active = node({ getvoteinfo: voteInfo(900, "active", { yes: 0, no: 0, abstain: 0 }), getblockchaininfo: { deployments: { blake3pow: { status: "active", since: 784 } } } })
    expect((await Effect.runPromise(makeDcrdAgendaVote(active.call, REGNET)))?.activationHeight).toBe(784)
    const first = node({ getvoteinfo: voteInfo(783, "active", { yes: 0, no: 0, abstain: 0 }), getblockchaininfo: { deployments: { blake3pow: { status: "lockedin", since: 464 } } } })
    expect((await Effect.runPromise(makeDcrdAgendaVote(first.call, REGNET)))?.activationHeight).toBe(784)
  })

  it("a dcrd that does not answer, or answers another shape, hides the panel instead of failing the page", async () => {
    expect(await Effect.runPromise(makeDcrdAgendaVote(node({}).call, REGNET))).toBeUndefined()
    expect(await Effect.runPromise(makeDcrdAgendaVote(node({ getvoteinfo: { currentheight: "tall" } }).call, REGNET))).toBeUndefined()
    expect(await Effect.runPromise(makeDcrdAgendaVote(node({ getvoteinfo: { ...voteInfo(500, "started", { yes: 1, no: 0, abstain: 0 }), agendas: [] } }).call, REGNET))).toBeUndefined()
  })
})
