import { Effect, Redacted, Result } from "effect"
import { describe, expect, it } from "vitest"
import { SIMNET } from "../core/chain/params.ts"
import type { HttpPost } from "./dcrwallet-rpc.ts"
import { makeDcrwalletStaking, purchaseTicketParams } from "./dcrwallet-stake.ts"
import { parsePurchaseTicket } from "./purchase.ts"

const SIMNET_ADDR = "Sspzuh5xuvqxccYLWJDJjCtqp166NRxcaPB"
const SIMNET_P2SH = "ScrkZMau4jj7JUHUvU4YMMRRi4w1o3Wp1vY"

/** The params as dcrwallet's JSON decoder sees them. */
const onTheWire = (params: ReadonlyArray<string>): Array<unknown> => JSON.parse(`[${params.join(",")}]`) as Array<unknown>

describe("purchaseticket params", () => {
  for (const [form, params] of [
    ["current", ["voting", 2, 10, 300, "a comment"]],
    ["current", ["default"]],
    ["2016", ["default", 999999, 1, SIMNET_ADDR, 5]],
    ["2016", ["default", 100.5, 1, null, 2, SIMNET_P2SH, 7.5, 5000, "pool ticket"]],
  ] as const) {
    it(`${form} form: what we send reads back as the same request (${JSON.stringify(params)})`, () => {
      const request = Result.getOrThrow(parsePurchaseTicket(params, form, SIMNET))
      const sent = onTheWire(purchaseTicketParams(request))
      expect(Result.getOrThrow(parsePurchaseTicket(sent, form, SIMNET))).toEqual(request)
    })
  }

  it("writes the spend limit as an exact decimal literal", () => {
    const request = Result.getOrThrow(parsePurchaseTicket(["default", "0.30000001"], "2016", SIMNET))
    expect(purchaseTicketParams(request)[1]).toBe("0.30000001")
  })
})

describe("getstakeinfo", () => {
  it("reads dcrwallet's reply with amounts in atoms and zero fields it leaves out", async () => {
    // A reply of dcrwallet 2.1.5 on simnet (missed, expired and proportionmissed omitted when 0).
    const text =
      '{"jsonrpc":"1.0","result":{"blockheight":174,"difficulty":0.01878414,"totalsubsidy":13658.4158414,"ownmempooltix":10,"immature":65,"unspent":560,"voted":155,"revoked":0,"unspentexpired":0,"poolsize":565,"allmempooltix":10,"live":560,"proportionlive":0.9911504424778761},"error":null,"id":1}'
    const post: HttpPost = async () => ({ status: 200, text: async () => text })
    const wallet = makeDcrwalletStaking({ url: "http://127.0.0.1:1", user: "u", password: Redacted.make("p"), requestTimeoutMillis: 1000 }, post)
    const info = await Effect.runPromise(wallet.stakeInfo)
    expect(info).toMatchObject({ blockheight: 174, difficulty: 1_878_414n, totalsubsidy: 1_365_841_584_140n, live: 560, missed: 0, expired: 0 })
    expect(Number(info.proportionlive.numerator) / Number(info.proportionlive.denominator)).toBe(0.9911504424778761)
  })
})
