import { Result } from "effect"
import { describe, expect, it } from "vitest"
import { MAINNET, SIMNET } from "../core/chain/params.ts"
import { voteReturns } from "../core/stake/returns.ts"
import { parsePurchaseTicket, percentToBasisPoints, planTicketPurchase, planToPurchases, type PurchaseContext, toCurrentForm } from "./purchase.ts"

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
    expect(messageOf(parse(["default", 1, 1, "", 1, "", 5], "2016"))).toBe('poolfees given without a pooladdress: give the pool\'s address too, or leave poolfees empty ("") to vote solo')
    expect(messageOf(parse(["default", 1, 1, "", 1, SIMNET_P2SH], "2016"))).toContain("poolfees is required")
    expect(messageOf(parse(["default", 1, 0], "current"))).toContain("numtickets must be a whole number of at least 1")
    expect(messageOf(parse(["default", 999999, 1, SIMNET_ADDR, 5, "", 0, 0, "", false], "current"))).toContain("is this the 2016 form?")
    expect(messageOf(parse([42], "current"))).toBe("fromaccount must be a string, got 42")
  })
})

describe("the proof-of-stake guide's example", () => {
  // purchaseticket "default" 23 1 "" 1 "" "" 1 "…": fromaccount spendlimit minconf ticketaddress
  // numtickets pooladdress poolfees expiry comment, the places it skips filled with "".
  const GUIDE = ["default", 23, 1, "", 1, "", "", 1, "…"]

  it("parses verbatim: empty strings are not given, as dcrwallet's 2016 parser had them", () => {
    const r = Result.getOrThrow(parse(GUIDE, "2016"))
    expect(r).toEqual({
      form: "2016",
      account: "default",
      spendLimit: 2_300_000_000n,
      minConf: 1,
      ticketAddress: undefined,
      numTickets: 1,
      pool: undefined,
      expiry: 1,
      comment: "…",
    })
  })

  it("parses verbatim as a command line gives it, every value a string", () => {
    expect(Result.getOrThrow(parse(GUIDE.map(String), "2016"))).toEqual(Result.getOrThrow(parse(GUIDE, "2016")))
  })

  it("goes to today's dcrwallet as fromaccount minconf numtickets expiry, the spend limit held here", () => {
    const request = Result.getOrThrow(parse(GUIDE, "2016"))
    expect(Result.getOrThrow(toCurrentForm(request, 2_300_000_000n))).toEqual({ fromAccount: "default", minConf: 1, numTickets: 1, expiry: 1 })
    expect(messageOf(toCurrentForm(request, 2_310_000_000n))).toBe("ticket price 23.1 DCR is above your spend limit 23 DCR")
    const refused = toCurrentForm(request, 2_300_000_001n)
    expect(Result.isFailure(refused) && refused.failure.reason).toBe("price-above-spend-limit")
  })
})

describe("bad purchaseticket input: a message naming the argument and the fix", () => {
  it("an address of another network", () => {
    const mainnet = "DsUZxxoHJSty8DCfwfartwTYbuhmVct7tJu"
    expect(messageOf(parse(["default", 23, 1, mainnet, 1], "2016"))).toBe(`ticketaddress: "${mainnet}" is a mainnet address, but this is simnet: use a simnet address`)
    expect(messageOf(parse(["default", 23, 1, "", 1, mainnet, 7.5], "2016"))).toBe(`pooladdress: "${mainnet}" is a mainnet address, but this is simnet: use a simnet address`)
  })

  it("a negative or non-numeric spend limit", () => {
    const fix = "give the most one ticket may cost, in DCR (e.g. 23)"
    expect(messageOf(parse(["default", -23], "2016"))).toMatch(new RegExp(`^spendlimit: -23 DCR is negative.*; ${fix.replace(/[()]/g, "\\$&")}$`))
    expect(messageOf(parse(["default", "-23"], "2016"))).toContain("spendlimit: -23 DCR is negative")
    expect(messageOf(parse(["default", "twenty"], "2016"))).toBe(`spendlimit: "twenty" is not an amount in DCR (a non-negative decimal, as JSON writes numbers); ${fix}`)
    expect(messageOf(parse(["default", 23.123456789], "2016"))).toContain("spendlimit: ")
  })

  it("negative or non-numeric counts and heights", () => {
    expect(messageOf(parse(["default", 23, -1], "2016"))).toBe("minconf must be a whole number of at least 0, got -1")
    expect(messageOf(parse(["default", 23, 1, "", "-2"], "2016"))).toBe('numtickets must be a whole number of at least 1, got "-2"')
    expect(messageOf(parse(["default", 23, 1, "", "two"], "2016"))).toBe('numtickets must be a whole number of at least 1, got "two"')
    expect(messageOf(parse(["default", 23, 1, "", 1, "", "", "soon"], "2016"))).toBe('expiry must be a whole number of at least 1, got "soon"')
    expect(messageOf(parse(["default", 23, 1, "", 1, SIMNET_P2SH, "-5"], "2016"))).toContain('poolfees: "-5" is not a percentage')
  })
})

describe("toCurrentForm: what dcrwallet 2.1 no longer takes", () => {
  it("refuses a pool address and fee, pointing to a voting service", () => {
    const request = Result.getOrThrow(parse(["default", 23, 1, "", 1, SIMNET_P2SH, 7.5], "2016"))
    const r = toCurrentForm(request, 100n)
    expect(Result.isFailure(r) && r.failure.reason).toBe("not-in-current-wallet")
    expect(messageOf(r)).toBe(
      "pooladdress and poolfees (a 2016 stake pool) are not taken by dcrwallet 2.1: use a voting service instead, started with dcrwallet's --vsp.url and --vsp.pubkey, and leave both empty",
    )
  })

  it("refuses a ticket address: the voting address comes from the wallet's voting account", () => {
    const request = Result.getOrThrow(parse(["default", 23, 1, SIMNET_ADDR, 1], "2016"))
    expect(messageOf(toCurrentForm(request, 100n))).toBe(
      "ticketaddress is not taken by dcrwallet 2.1: the ticket's voting address comes from the wallet's voting account (or a voting service's, with dcrwallet's --vsp.url and --vsp.pubkey); leave ticketaddress empty",
    )
  })

  it("passes the current form through, with no spend limit to hold", () => {
    const request = Result.getOrThrow(parse(["voting", 2, 10, 300], "current"))
    expect(Result.getOrThrow(toCurrentForm(request, 99_999_999_999n))).toEqual({ fromAccount: "voting", minConf: 2, numTickets: 10, expiry: 300 })
    expect(Result.getOrThrow(toCurrentForm(Result.getOrThrow(parse(["default"], "current")), 1n))).toEqual({ fromAccount: "default", minConf: 1, numTickets: 1 })
  })

  it("a price equal to the spend limit is within it", () => {
    const request = Result.getOrThrow(parse(["default", "0.3", 0, "", 4], "2016"))
    expect(Result.getOrThrow(toCurrentForm(request, 30_000_000n))).toEqual({ fromAccount: "default", minConf: 0, numTickets: 4 })
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
