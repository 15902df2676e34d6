import { Effect, Redacted } from "effect"
import { describe, expect, it } from "vitest"
import { atomsToDcr } from "../core/chain/amounts.ts"
import { SIMNET } from "../core/chain/params.ts"
import { type AutobuyConfig, type AutobuyWallet, rpcAutobuyWallet, runAutobuy } from "./autobuy.ts"
import { type HttpPost, makeJsonRpcCall } from "./json-rpc.ts"

const DCR = 100_000_000n

/**
 * A dcrwallet in memory behind the JSON-RPC client: every getbestblock shows a new block;
 * `dropPurchaseReplies` purchases are made and then their reply is lost (the connection
 * resets), `failTicketReads` gettickets calls fail after that.
 */
const fakeWallet = (options: { readonly dropPurchaseReplies: number; readonly failTicketReads?: number }): { readonly state: FakeState; readonly wallet: AutobuyWallet } => {
  const state: FakeState = { height: 95, spendable: 100n * DCR, tickets: [] as Array<string>, purchases: 0, dropsLeft: options.dropPurchaseReplies, failReadsLeft: 0 }
  const post: HttpPost = async (_url, init) => {
    const request = JSON.parse(init.body) as { id: number; method: string; params: Array<unknown> }
    const reply = (result: string) => ({ status: 200, text: async () => `{"jsonrpc":"1.0","result":${result},"error":null,"id":${request.id}}` })
    switch (request.method) {
      case "getbestblock":
        state.height++
        return reply(`{"hash":"h${state.height}","height":${state.height}}`)
      case "getstakedifficulty":
        return reply(`{"current":10,"next":10}`)
      case "walletinfo":
        return reply(`{"unlocked":true,"txfee":0.0001}`)
      case "getbalance":
        return reply(`{"balances":[{"accountname":"default","spendable":${atomsToDcr(state.spendable)}}]}`)
      case "gettickets":
        if (state.failReadsLeft > 0) {
          state.failReadsLeft--
          throw Object.assign(new Error("fetch failed"), { cause: Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" }) })
        }
        return reply(JSON.stringify({ hashes: state.tickets }))
      case "purchaseticket": {
        const count = request.params[2] as number
        const bought = Array.from({ length: count }, () => `t${++state.purchases}`)
        state.tickets.push(...bought)
        state.spendable -= BigInt(count) * (10n * DCR + 2980n)
        if (state.dropsLeft > 0) {
          state.dropsLeft--
          state.failReadsLeft = options.failTicketReads ?? 0
          throw Object.assign(new Error("fetch failed"), { cause: Object.assign(new Error("socket hang up"), { code: "ECONNRESET" }) })
        }
        return reply(JSON.stringify(bought))
      }
      default:
        return reply("null")
    }
  }
  const call = makeJsonRpcCall({ url: "http://127.0.0.1:1", user: "u", password: Redacted.make("p"), requestTimeoutMillis: 1_000 }, post, { server: "dcrwallet" })
  return { state, wallet: rpcAutobuyWallet(call) }
}

interface FakeState {
  height: number
  spendable: bigint
  tickets: Array<string>
  purchases: number
  dropsLeft: number
  failReadsLeft: number
}

const config = (overrides: Partial<AutobuyConfig> = {}): AutobuyConfig => ({
  network: SIMNET,
  account: "default",
  // Keeps 75 DCR: 100 DCR pays for two 10 DCR tickets and leaves just over 79.
  buyer: { balanceToMaintain: 75n * DCR, maxPrice: undefined, limitPerBlock: 1, expiryBlocks: undefined },
  dryrun: false,
  pollMillis: 1_000,
  stopAfterBlocks: 4,
  ...overrides,
})

const run = (cfg: AutobuyConfig, fake: ReturnType<typeof fakeWallet>) => {
  const lines: Array<string> = []
  return Effect.runPromise(runAutobuy(cfg, fake.wallet, (line) => Effect.sync(() => void lines.push(line)))).then(() => lines)
}

describe("runAutobuy", () => {
  it("buys one ticket a block down to the balance it must keep, one line per block", async () => {
    const fake = fakeWallet({ dropPurchaseReplies: 0 })
    const lines = await run(config(), fake)
    expect(fake.state.tickets).toEqual(["t1", "t2"])
    expect(lines.filter((l) => l.startsWith("block "))).toHaveLength(4)
    expect(lines[2]).toMatch(/^block 98: .*buy nothing, the balance above balancetomaintain pays for no ticket/)
  })

  it("a purchase whose reply is lost is counted from the wallet's tickets, never bought twice", async () => {
    const fake = fakeWallet({ dropPurchaseReplies: 1 })
    const lines = await run(config(), fake)
    expect(lines.join("\n")).toContain("the wallet shows 1 new ticket(s), counted as bought: t1")
    // Two tickets in all, as with every reply: the lost one was not bought again.
    expect(fake.state.purchases).toBe(2)
  })

  it("buys nothing until the wallet's tickets can be read after a lost reply", async () => {
    const fake = fakeWallet({ dropPurchaseReplies: 1, failTicketReads: 3 })
    const lines = await run(config({ stopAfterBlocks: 3 }), fake)
    expect(fake.state.purchases).toBe(1)
    expect(lines.join("\n")).toContain("buying nothing until they can")
  })

  it("--dryrun decides without buying; ticketmaxprice stops it", async () => {
    const dry = fakeWallet({ dropPurchaseReplies: 0 })
    expect((await run(config({ dryrun: true, stopAfterBlocks: 1 }), dry))[0]).toMatch(/would buy 1 ticket\(s\) expiring at 104 \(--dryrun\)/)
    expect(dry.state.purchases).toBe(0)
    const capped = fakeWallet({ dropPurchaseReplies: 0 })
    const lines = await run(config({ buyer: { ...config().buyer, maxPrice: 9n * DCR }, stopAfterBlocks: 1 }), capped)
    expect(lines[0]).toMatch(/buy nothing, the price is above ticketmaxprice/)
    expect(capped.state.purchases).toBe(0)
  })
})
