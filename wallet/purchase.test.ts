import { Result } from "effect"
import { describe, expect, it } from "vitest"
import { MAINNET, SIMNET } from "../core/chain/params.ts"
import { voteReturns } from "../core/stake/returns.ts"
import { parsePurchaseTicket, percentToBasisPoints, planTicketPurchase, planToPurchases, type PurchaseContext } from "./purchase.ts"

const SIMNET_ADDR = "Sspzuh5xuvqxccYLWJDJjCtqp166NRxcaPB"
const SIMNET_P2SH = "ScrkZMau4jj7JUHUvU4YMMRRi4w1o3Wp1vY"
const parse = (params: ReadonlyArray<unknown>, form: "2016" | "current") => parsePurchaseTicket(params, form, SIMNET)
const messageOf = (r: Result.Result<unknown, { readonly message: string }>) => (Result.isFailure(r) ? r.failure.message : "accepted")

describe("purchaseticket arguments", () => {
  it("2016 form, as dcrd's simnet tmux helper calls it: fromaccount spendlimit minconf ticketaddress numtickets", () => {
    const r = Result.getOrThrow(parse(["default", 999999, 1, SIMNET_ADDR, 5], "2016"))
    expect(r.spendLimit).toBe(99_999_900_000_000n)
    expect(r.ticketAddress?.address).toBe(SIMNET_ADDR)
    expect(r.numTickets).toBe(5)
    expect(r.pool).toBeUndefined()
  })

  it("2016 form with a stake pool, its fee and an expiry", () => {
    const r = Result.getOrThrow(parse(["default", 100, 1, "", 2, SIMNET_P2SH, 7.5, 5000, "pool ticket"], "2016"))
    expect(r.pool?.address.kind).toBe("p2sh")
    expect(r.pool?.feeBasisPoints).toBe(750)
    expect(r.expiry).toBe(5000)
    expect(r.comment).toBe("pool ticket")
  })

  it("current form: fromaccount [minconf] [numtickets] [expiry] [comment]", () => {
    const r = Result.getOrThrow(parse(["voting", 2, 10, 300], "current"))
    expect(r).toMatchObject({ account: "voting", minConf: 2, numTickets: 10, expiry: 300, spendLimit: undefined })
    expect(Result.getOrThrow(parse(["default"], "current")).numTickets).toBe(1)
  })

  it("refuses bad arguments with a message naming the argument", () => {
    expect(messageOf(parse(["default"], "2016"))).toBe("spendlimit is required in the 2016 form")
    expect(messageOf(parse(["default", 1, 1, "DsUZxxoHJSty8DCfwfartwTYbuhmVct7tJu"], "2016"))).toContain(
      'ticketaddress: "DsUZxxoHJSty8DCfwfartwTYbuhmVct7tJu" is a mainnet address, but this is simnet',
    )
    expect(messageOf(parse(["default", 1, 1, "", 1, "", 5], "2016"))).toBe("poolfees given without a pooladdress")
    expect(messageOf(parse(["default", 1, 1, "", 1, SIMNET_P2SH], "2016"))).toContain("poolfees is required")
    expect(messageOf(parse(["default", 1, 0], "current"))).toContain("numtickets must be a whole number of at least 1")
    expect(messageOf(parse(["default", 999999, 1, SIMNET_ADDR, 5, "", 0, 0, "", false], "current"))).toContain("is this the 2016 form?")
    expect(messageOf(parse([42], "current"))).toBe("fromaccount must be a string, got 42")
  })
})

describe("pricing a purchase", () => {
  const ctx: PurchaseContext = { height: 500, price: 2_000_000n, feePerTicket: 3_000n, spendable: 10_000_000n, voteSubsidy: 800_000n }

  it("refuses a price above the spend limit", () => {
    const req = Result.getOrThrow(parse(["default", 0.019, 1, "", 1], "2016"))
    expect(messageOf(planTicketPurchase(req, ctx, "me"))).toBe("the ticket price 0.02 DCR is above the spend limit 0.019 DCR; raise spendlimit or wait for a lower price")
    const ok = Result.getOrThrow(parse(["default", 0.02, 1, "", 1], "2016"))
    expect(Result.isSuccess(planTicketPurchase(ok, ctx, "me"))).toBe(true)
  })

  it("buys what the balance pays for, fees included, up to numtickets", () => {
    const req = Result.getOrThrow(parse(["default", 1, 10], "current"))
    const plan = Result.getOrThrow(planTicketPurchase(req, ctx, "me"))
    expect(plan.count).toBe(4) // 10,000,000 / 2,003,000
    expect(plan.totalCost).toBe(4n * 2_003_000n)
    expect(plan.commitments).toEqual([{ address: "me", amount: 2_003_000n }])
    expect(messageOf(planTicketPurchase(req, { ...ctx, spendable: 2_002_999n }, "me"))).toContain("one ticket costs 0.02003 DCR")
  })

  it("refuses an expiry height that leaves no block to mine it", () => {
    const req = Result.getOrThrow(parse(["default", 1, 1, 501], "current"))
    expect(messageOf(planTicketPurchase(req, ctx, "me"))).toContain("expiry height 501 leaves no block")
    const later = Result.getOrThrow(parse(["default", 1, 1, 502], "current"))
    expect(Result.getOrThrow(planTicketPurchase(later, ctx, "me")).expiry).toBe(502)
  })

  it("a stake pool's fee commitment earns it its percentage of the vote subsidy", () => {
    const req = Result.getOrThrow(parse(["default", 1, 1, "", 1, SIMNET_P2SH, 7.5], "2016"))
    const plan = Result.getOrThrow(planTicketPurchase(req, ctx, "me"))
    expect(plan.votingAddress).toBe(SIMNET_P2SH)
    const [user, pool] = voteReturns(
      plan.commitments.map((c) => c.amount),
      ctx.price,
      ctx.voteSubsidy,
    )
    expect(pool! - (ctx.voteSubsidy * 750n) / 10_000n).toBeLessThanOrEqual(0n)
    expect((ctx.voteSubsidy * 750n) / 10_000n - pool!).toBeLessThan(2n)
    expect(user! + pool!).toBeLessThanOrEqual(ctx.price + ctx.voteSubsidy)
    // Solo: the whole return goes back to the buyer.
    const solo = Result.getOrThrow(planTicketPurchase(Result.getOrThrow(parse(["default", 1, 1], "2016")), ctx, "me"))
    expect(
      voteReturns(
        solo.commitments.map((c) => c.amount),
        ctx.price,
        ctx.voteSubsidy,
      ),
    ).toEqual([ctx.price + ctx.voteSubsidy])
  })

  it("turns a plan into purchases the stake model takes", () => {
    const req = Result.getOrThrow(parse(["default", 1, 3, 900], "current"))
    const plan = Result.getOrThrow(planTicketPurchase(req, ctx, "me"))
    let n = 0
    const purchases = planToPurchases(plan, "me", () => Uint8Array.from({ length: 32 }, () => n++))
    expect(purchases).toHaveLength(3)
    expect(purchases.every((p) => p.expiry === 900 && p.price === ctx.price)).toBe(true)
    expect(MAINNET.name).toBe("mainnet")
  })
})

describe("stake pool fees", () => {
  it("percentages to basis points, exactly", () => {
    expect(Result.getOrThrow(percentToBasisPoints(7.5, "poolfees"))).toBe(750)
    expect(Result.getOrThrow(percentToBasisPoints("0.01", "poolfees"))).toBe(1)
    expect(Result.isFailure(percentToBasisPoints(100.5, "poolfees"))).toBe(true)
    expect(Result.isFailure(percentToBasisPoints(1.234, "poolfees"))).toBe(true)
  })
})
