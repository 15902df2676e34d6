import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { SimRandom } from "./random.ts"
import { drawUpSchedule, standInTicket, ticketHashOf, VotingWalletEmulator } from "./voting-wallet.ts"

const BLOCK = "ab".repeat(32)
const chain = { bestBlock: () => ({ hash: BLOCK, height: 10 }), heightOf: (hash: string) => (hash === BLOCK ? 5 : undefined) }

describe("an emulated voting wallet", () => {
  it("votes a ticket only with its transaction and its key, and forgets both when restarted", () => {
    const wallet = new VotingWalletEmulator({ name: "v", chain, agendas: ["maxblocksize", "blake3pow"] })
    const tx = standInTicket("t1", "PsKey1")
    const hash = ticketHashOf(tx)
    const call = (method: string, params: ReadonlyArray<unknown>) => Effect.runSync(wallet.handle(method, params))
    expect(call("addtransaction", [BLOCK, tx])).toEqual({ result: null })
    expect(wallet.canVote(hash)).toBe(false)
    expect(call("importprivkey", ["PsKey1", "imported", false, 0])).toEqual({ result: null })
    expect(wallet.canVote(hash)).toBe(true)
    expect(call("addtransaction", ["cd".repeat(32), tx])).toMatchObject({ error: { code: -5 } })
    wallet.setRunning(false)
    expect(wallet.canVote(hash)).toBe(false)
    wallet.setRunning(true)
    expect(wallet.canVote(hash)).toBe(false)
    expect(wallet.heldTickets()).toEqual([])
  })
})

describe("an emulated voting wallet's reads, shaped as dcrwallet 2.1.5's", () => {
  it("lists held tickets with gettickets true and a held ticket's choice on every agenda with getvotechoices, abstain where unset; no ticketinfo", () => {
    const wallet = new VotingWalletEmulator({ name: "v", chain, agendas: ["maxblocksize", "blake3pow"] })
    const call = (method: string, params: ReadonlyArray<unknown>) => Effect.runSync(wallet.handle(method, params))
    const tx = standInTicket("t1", "PsKey1")
    const hash = ticketHashOf(tx)
    expect(call("gettickets", [true])).toEqual({ result: { hashes: [] } })
    call("importprivkey", ["PsKey1", "imported", false, 0])
    call("addtransaction", [BLOCK, tx])
    expect(call("gettickets", [true])).toEqual({ result: { hashes: [hash] } })
    expect(call("getvotechoices", ["ef".repeat(32)])).toMatchObject({ error: { code: -4 } })
    expect(call("setvotechoice", ["blake3pow", "yes", hash])).toEqual({ result: null })
    expect(call("setvotechoice", ["unknown", "yes", hash])).toMatchObject({ error: { code: -4 } })
    expect(call("getvotechoices", [hash])).toEqual({
      result: {
        version: 11,
        choices: [
          { agendaid: "maxblocksize", choiceid: "abstain" },
          { agendaid: "blake3pow", choiceid: "yes" },
        ],
      },
    })
    expect(call("ticketinfo", [0])).toMatchObject({ error: { code: -32601 } })
  })
})

describe("a voting server's up/down schedule", () => {
  const draw = (seed: number) => drawUpSchedule(new SimRandom(seed, "server"), { from: 100, meanBlocksUp: 40, meanBlocksDown: 6 })

  it("is the seed's: the same heights answer the same whatever order they are asked in", () => {
    const forward = draw(7)
    const backward = draw(7)
    const heights = Array.from({ length: 2000 }, (_, i) => 101 + i)
    const ascending = heights.map((h) => forward(h))
    const descending = [...heights]
      .reverse()
      .map((h) => backward(h))
      .reverse()
    expect(descending).toEqual(ascending)
    expect(heights.map((h) => draw(8)(h))).not.toEqual(ascending)
  })

  it("is up until its start, then down about meanBlocksDown / (meanBlocksUp + meanBlocksDown) of the time", () => {
    const up = draw(3)
    for (let h = 0; h <= 100; h++) expect(up(h)).toBe(true)
    const heights = Array.from({ length: 20_000 }, (_, i) => 101 + i)
    const downShare = heights.filter((h) => !up(h)).length / heights.length
    expect(downShare).toBeGreaterThan(0.08)
    expect(downShare).toBeLessThan(0.18)
  })
})
