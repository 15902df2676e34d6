import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { TestClock } from "effect/testing"
import { ATOMS_PER_DCR } from "../../core/chain/amounts.ts"
import { SIMNET } from "../../core/chain/params.ts"
import { makeSimDcrd, simulatedNetwork, type SimDcrd } from "../../emulators/dcrd.ts"
import { encodeRpcValue, type RpcOutcome, type RpcValue } from "../../emulators/json-rpc-server.ts"
import { SimRandom } from "../../emulators/random.ts"
import { makeSimStakingWallet } from "../../emulators/staking-wallet.ts"
import { stakeInfoFor } from "../../wallet/stakeinfo.ts"
import { demoStakers } from "./demo.ts"
import { makeWalletRpcHandler } from "./wallet-rpc.ts"

/** 2026-01-01: well past simnet's genesis plus the bootstrap. */
const START_MILLIS = 1_767_225_600_000

const stakers = demoStakers(5)

/** A simulated simnet past stake validation whose chain grows only by the test's hand, and the demo staker's wallet and RPC on it. */
const setup = (startingBalance = 10n * ATOMS_PER_DCR) =>
  Effect.gen(function* () {
    yield* TestClock.setTime(START_MILLIS)
    const dcrd = yield* makeSimDcrd({
      network: simulatedNetwork(SIMNET),
      random: new SimRandom(5),
      hashScale: 1,
      networkHashrate: 0,
      bootstrapHeight: SIMNET.stakeValidationHeight + 8,
      // Everyone votes here: the misses of the demo world are demo.test.ts's business.
      stakers: stakers.stakers.map((s) => ({ ...s, canVote: () => true })),
    })
    const wallet = makeSimStakingWallet({ dcrd, owner: stakers.demo, startingBalance })
    const handle = makeWalletRpcHandler({ dcrd, wallet })
    const call = (method: string, ...params: ReadonlyArray<unknown>) => handle(method, params)
    /** The result, after checking there is no error. */
    const result = (method: string, ...params: ReadonlyArray<unknown>) =>
      Effect.map(call(method, ...params), (outcome) => {
        if ("error" in outcome) throw new Error(`${method} failed: ${outcome.error.code} ${outcome.error.message}`)
        return outcome.result
      })
    return { dcrd, wallet, call, result }
  })

const mine = (dcrd: SimDcrd, blocks: number) => Effect.repeat(dcrd.mineNetworkBlock, { times: blocks - 1 })

const errorOf = (outcome: RpcOutcome) => ("error" in outcome ? outcome.error : undefined)

/** A reply's object, its fields by name. */
const fields = (value: RpcValue) => value as { readonly [key: string]: RpcValue | undefined }

describe("the simulated dcrwallet's JSON-RPC handler", () => {
  it.effect("answers each method in dcrwallet's shape", () =>
    Effect.gen(function* () {
      const { dcrd, result, call } = yield* setup()
      expect(yield* result("getbestblock")).toEqual({ hash: dcrd.tipHash(), height: dcrd.height() })
      expect(yield* result("getblockcount")).toBe(dcrd.height())

      const all = fields(yield* result("getbalance"))
      expect(Object.keys(all)).toEqual([
        "balances",
        "blockhash",
        "totalimmaturecoinbaserewards",
        "totalimmaturestakegeneration",
        "totallockedbytickets",
        "totalspendable",
        "cumulativetotal",
        "totalunconfirmed",
        "totalvotingauthority",
      ])
      // Go's omitempty: the zero totals go out as nothing at all.
      expect(encodeRpcValue(all)).toBe(
        `{"balances":[{"accountname":"default","immaturecoinbaserewards":0,"immaturestakegeneration":0,"lockedbytickets":0,"spendable":10,"total":10,"unconfirmed":0,"votingauthority":0}],"blockhash":"${dcrd.tipHash()}","totalspendable":10,"cumulativetotal":10}`,
      )
      expect(fields(yield* result("getbalance", "default")).balances).toEqual(all.balances)
      expect(errorOf(yield* call("getbalance", "savings"))).toEqual({ code: -11, message: "account not found" })

      const info = fields(yield* result("walletinfo"))
      expect(info).toMatchObject({ daemonconnected: true, spv: false, unlocked: true, voting: true, vsp: "", manualtickets: false })

      const stake = fields(yield* result("getstakeinfo"))
      const expected = stakeInfoFor(dcrd.model, stakers.demo)
      expect(stake).toMatchObject({ blockheight: dcrd.height(), difficulty: expected.difficulty, poolsize: expected.poolsize, allmempooltix: expected.allmempooltix, ownmempooltix: 0 })
      // A wallet with no tickets: live, missed, expired and the proportions are zero, so absent.
      for (const absent of ["live", "proportionlive", "missed", "proportionmissed", "expired"]) expect(stake[absent]).toBeUndefined()

      expect(yield* result("gettickets", true)).toEqual({ hashes: [] })
      expect(yield* result("ticketinfo")).toEqual([])
      expect(yield* result("getstakedifficulty")).toEqual({ current: dcrd.model.headerFactsAt(dcrd.height()).sbits, next: dcrd.model.nextStakeDifficulty() })
      const estimate = fields(yield* result("estimatestakediff"))
      expect(Object.keys(estimate)).toEqual(["min", "max", "expected", "user"])
      expect(estimate.user).toBeUndefined()
      expect(typeof fields(yield* result("estimatestakediff", 3)).user).toBe("bigint")
      let poolValue = 0n
      for (const id of dcrd.model.liveTickets()) poolValue += dcrd.model.ticket(id)!.purchase.price
      expect(yield* result("getticketpoolvalue")).toBe(poolValue)
      expect(yield* result("getblockchaininfo")).toMatchObject({ chain: "simnet", blocks: dcrd.height(), bestblockhash: dcrd.tipHash(), initialblockdownload: false })
    }),
  )

  it.effect("purchaseticket: the ticket is unmined, then mined and immature, then live; the balance follows", () =>
    Effect.gen(function* () {
      const { dcrd, wallet, result } = yield* setup()
      const price = dcrd.model.nextStakeDifficulty()
      const bought = (yield* result("purchaseticket", "default", 1, 2)) as ReadonlyArray<string>
      expect(bought).toHaveLength(2)
      const cost = 2n * (price + wallet.feePerTicket)

      // dcrwallet's ticketinfo calls an unmined ticket immature, at height -1 with no block hash.
      const unmined = (yield* result("ticketinfo")) as ReadonlyArray<RpcValue>
      expect(unmined.map((t) => fields(t).hash)).toEqual(bought)
      expect(fields(unmined[0]!)).toEqual({ hash: bought[0], cost: price, votingaddress: stakers.demo, status: "immature", blockheight: -1 })
      expect(fields(yield* result("getstakeinfo")).ownmempooltix).toBe(2)
      expect(yield* result("gettickets", false)).toEqual({ hashes: [] })
      expect(yield* result("gettickets", true)).toEqual({ hashes: bought })
      const balance = fields((fields(yield* result("getbalance", "default")).balances as ReadonlyArray<RpcValue>)[0]!)
      expect(balance).toMatchObject({ spendable: 10n * ATOMS_PER_DCR - cost, lockedbytickets: cost, votingauthority: 2n * price, total: 10n * ATOMS_PER_DCR })

      yield* mine(dcrd, 1)
      const minedAt = dcrd.height()
      const mined = (yield* result("ticketinfo")) as ReadonlyArray<RpcValue>
      expect(mined.map((t) => fields(t))).toEqual(
        bought.map((hash) => ({ hash, cost: price, votingaddress: stakers.demo, status: "immature", blockhash: dcrd.blockAt(minedAt)!.hash, blockheight: minedAt })),
      )
      expect(fields(yield* result("getstakeinfo"))).toMatchObject({ ownmempooltix: 0, immature: 2 })
      // From the height after it, ticketinfo's `startheight` leaves them out.
      expect(yield* result("ticketinfo", minedAt + 1)).toEqual([])

      // Live by consensus after TicketMaturity blocks; dcrwallet says so one block later.
      yield* mine(dcrd, SIMNET.ticketMaturity)
      expect(((yield* result("ticketinfo")) as ReadonlyArray<RpcValue>).map((t) => fields(t).status)).toEqual(["immature", "immature"])
      yield* mine(dcrd, 1)
      const statuses = ((yield* result("ticketinfo")) as ReadonlyArray<RpcValue>).map((t) => fields(t).status)
      // Unless the lottery already took one: then it voted (everyone votes in this network).
      for (const s of statuses) expect(["unspent", "voted"]).toContain(s)
      expect(fields(yield* result("getstakeinfo")).immature).toBe(0)
    }),
  )

  it.effect("a vote's return is immature stake generation, then spendable CoinbaseMaturity blocks later", () =>
    Effect.gen(function* () {
      const { dcrd, wallet, result } = yield* setup()
      yield* result("purchaseticket", "default", 1, 20)
      let voted = undefined as ReturnType<typeof wallet.tickets>[number] | undefined
      for (let i = 0; i < 400 && voted === undefined; i++) {
        yield* mine(dcrd, 1)
        voted = wallet.tickets().find((t) => t.status === "voted")
      }
      expect(voted).toBeDefined()
      const returned = voted!.returns!.reduce((a, b) => a + b, 0n)
      const balanceAt = () => Effect.map(result("getbalance", "default"), (b) => fields((fields(b).balances as ReadonlyArray<RpcValue>)[0]!))
      const before = yield* balanceAt()
      expect(before.immaturestakegeneration).toBe(returned)
      const ticketinfo = (yield* result("ticketinfo")) as ReadonlyArray<RpcValue>
      expect(ticketinfo.map(fields).find((t) => t.status === "voted")?.vote).toMatch(/^[0-9a-f]{64}$/)
      // Mine until it matures, and no further: another vote would change the sums.
      yield* mine(dcrd, dcrd.network.coinbaseMaturity - (dcrd.height() - voted!.spentAt!))
      const after = yield* balanceAt()
      expect((after.spendable as bigint) - (before.spendable as bigint)).toBeGreaterThanOrEqual(returned)
      expect(fields(yield* result("getstakeinfo")).voted).toBeGreaterThanOrEqual(1)
    }),
  )

  it.effect("a balance short of one ticket is refused with dcrwallet's insufficient-funds error and buys nothing", () =>
    Effect.gen(function* () {
      const { dcrd, wallet, call, result } = yield* setup(1_000n)
      const outcome = yield* call("purchaseticket", "default", 1, 3)
      expect(errorOf(outcome)?.code).toBe(-6)
      expect(errorOf(outcome)?.message).toContain("insufficient balance")
      expect(wallet.tickets()).toEqual([])
      expect(dcrd.model.mempoolTickets().filter((t) => t.purchase.owner === stakers.demo)).toEqual([])
      expect(fields(yield* result("getstakeinfo")).ownmempooltix).toBe(0)
      expect(yield* result("ticketinfo")).toEqual([])
    }),
  )

  it.effect("a balance for fewer tickets than asked buys as many as it pays for", () =>
    Effect.gen(function* () {
      const { dcrd, wallet, result } = yield* setup()
      const each = dcrd.model.nextStakeDifficulty() + wallet.feePerTicket
      const short = makeSimStakingWallet({ dcrd, owner: "Ssshort", startingBalance: 2n * each + 1n })
      const handle = makeWalletRpcHandler({ dcrd, wallet: short })
      const outcome = yield* handle("purchaseticket", ["default", 1, 5])
      expect("result" in outcome && (outcome.result as ReadonlyArray<string>).length).toBe(2)
      expect(short.balance().spendable).toBe(1n)
      expect(yield* result("ticketinfo")).toEqual([])
    }),
  )

  it.effect("bad params get dcrwallet's and dcrd's error codes and buy nothing", () =>
    Effect.gen(function* () {
      const { dcrd, wallet, call } = yield* setup()
      const tip = dcrd.height()
      const cases: ReadonlyArray<readonly [string, ReadonlyArray<unknown>, { readonly code: number; readonly message?: string }]> = [
        // dcrjson refuses the params: dcrwallet answers Invalid request.
        ["purchaseticket", [], { code: -32600, message: "Invalid request" }],
        ["purchaseticket", ["default", "1"], { code: -32600 }],
        ["purchaseticket", ["default", 1, 1.5], { code: -32600 }],
        ["purchaseticket", ["default", 1, 1, 0, "", false, "extra"], { code: -32600 }],
        ["purchaseticket", [7], { code: -32600 }],
        ["gettickets", [], { code: -32600 }],
        ["getbalance", ["default", -1], { code: -8, message: "minconf must be non-negative" }],
        // The handler's own checks.
        ["purchaseticket", ["savings"], { code: -11, message: "account not found" }],
        ["purchaseticket", ["default", -1], { code: -8, message: "negative minconf" }],
        ["purchaseticket", ["default", 1, 1, -5], { code: -4, message: "wallet.PurchaseTickets: invalid operation: negative expiry" }],
        ["purchaseticket", ["default", 1, 1, tip + 1], { code: -4, message: "wallet.PurchaseTickets: invalid operation: expiry height must be above next block height" }],
        // dcrd's, passed through: its parse errors are -8 with the reason.
        ["estimatestakediff", ["two"], { code: -8, message: "Failed to parse request: parameter #1 'tickets' must be type uint32 (got string)" }],
        ["estimatestakediff", [-1], { code: -8 }],
        ["getstakedifficulty", [1], { code: -8, message: "Failed to parse request: wrong number of params (expected 0, received 1)" }],
        ["getnothing", [], { code: -32601, message: "Method not found" }],
        ["toString", [], { code: -32601, message: "Method not found" }],
      ]
      for (const [method, params, expected] of cases) {
        const outcome = yield* call(method, ...params)
        expect({ method, params, error: errorOf(outcome) }).toMatchObject({ method, params, error: expected })
      }
      expect(wallet.tickets()).toEqual([])
      expect(dcrd.model.mempoolTickets().filter((t) => t.purchase.owner === stakers.demo)).toEqual([])
    }),
  )
})
