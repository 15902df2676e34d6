import { type Context, Effect, Exit, Layer, Result, Schema, Scope } from "effect"
import { mkdirSync } from "node:fs"
import { dirname, join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { dcrToAtoms } from "../../core/chain/amounts.ts"
import { SIMNET } from "../../core/chain/params.ts"
import { rpcAutobuyWallet, runAutobuy } from "../../wallet/autobuy.ts"
import { runStakeCommand } from "../../wallet/cli/commands.ts"
import { parseStakeCli } from "../../wallet/cli/options.ts"
import { jsonRpcClient, type JsonRpcCall } from "../../wallet/json-rpc.ts"
import { binariesReady } from "./binaries.ts"
import { decodeResult, simnetEndpoint } from "./differential.ts"
import { freePorts, makeSimnetHarness, SIMULATION_PASSPHRASE, type SimnetHarness } from "./harness.ts"
import { layerNative, SimnetNode } from "./node.ts"

/**
 * `./dcrforge stake` against a real dcrwallet 2.1 on simnet: a staker wallet of its own beside
 * the harness's, driven through the CLI's code path (`runStakeCommand`, the same as the
 * command line after option parsing) and the auto-buyer service (`runAutobuy` over
 * `rpcAutobuyWallet`). Each answer is checked against the wallet's own.
 */
const CI = process.env.CI === "true"

interface Run {
  readonly harness: SimnetHarness
  /** The staker wallet's JSON-RPC. */
  readonly rpc: JsonRpcCall
}

let scope: Scope.Closeable | undefined
let services: Context.Context<SimnetNode> | undefined
let run: Run

const inRun = <A, E>(effect: Effect.Effect<A, E, Scope.Scope | SimnetNode>): Promise<A> => Effect.runPromise(effect.pipe(Effect.provide(services!), Scope.provide(scope!)))

/** `./dcrforge stake --simnet ARGS` against the staker wallet: the JSON it printed. */
const stake = (...argv: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const cli = Result.getOrThrow(parseStakeCli(["--simnet", ...argv], "/nonexistent-home", () => undefined))
    const printed: Array<string> = []
    yield* runStakeCommand(
      cli,
      run.rpc,
      (text) => Effect.sync(() => void printed.push(text)),
      () => Effect.void,
    )
    return JSON.parse(printed.join("\n")) as unknown
  })

/** The same command's failure message (it must fail). */
const stakeFails = (...argv: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const cli = Result.getOrThrow(parseStakeCli(["--simnet", ...argv], "/nonexistent-home", () => undefined))
    const exit = yield* Effect.exit(runStakeCommand(cli, run.rpc, () => Effect.void))
    expect(Exit.isFailure(exit)).toBe(true)
    return String(exit)
  })

/** Mines blocks and waits until the staker wallet has seen the tip. */
const mine = (blocks: number) =>
  Effect.gen(function* () {
    yield* run.harness.advance(blocks)
    const height = yield* run.harness.height
    for (let i = 0; ; i++) {
      const best = yield* decodeResult("getbestblock", Schema.Struct({ height: Schema.Number }), yield* run.rpc("getbestblock"))
      if (best.height === height) return height
      if (i > 400) throw new Error(`the staker wallet is at ${best.height}, dcrd at ${height}`)
      yield* Effect.sleep(50)
    }
  })

const toWindowStart = Effect.gen(function* () {
  const height = yield* run.harness.height
  const left = (SIMNET.stakeDiffWindowSize - (height % SIMNET.stakeDiffWindowSize)) % SIMNET.stakeDiffWindowSize
  if (left > 0) yield* mine(left)
})

/** Every ticket the wallet ever had (gettickets leaves out those that voted or were revoked). */
const allTickets = Effect.gen(function* () {
  return (yield* decodeResult("ticketinfo", Schema.Array(Schema.Struct({ hash: Schema.String })), yield* run.rpc("ticketinfo", [0]))).map((t) => t.hash)
})
const spendable = Effect.gen(function* () {
  const b = yield* decodeResult(
    "getbalance",
    Schema.Struct({ balances: Schema.Array(Schema.Struct({ accountname: Schema.String, spendable: Schema.Union([Schema.String, Schema.Number]) })) }),
    yield* run.rpc("getbalance", ["default", 1], new Set(["spendable"])),
  )
  return Result.getOrThrow(dcrToAtoms(b.balances.find((x) => x.accountname === "default")?.spendable ?? 0))
})
const nextPrice = Effect.gen(function* () {
  const d = yield* decodeResult("getstakedifficulty", Schema.Struct({ next: Schema.Union([Schema.String, Schema.Number]) }), yield* run.rpc("getstakedifficulty", [], new Set(["next"])))
  return Result.getOrThrow(dcrToAtoms(d.next))
})

/** Starts a staker dcrwallet (voting for itself) on the harness's dcrd, plain HTTP on a free port. */
const startStaker = (h: SimnetHarness) =>
  Effect.gen(function* () {
    const node = yield* SimnetNode
    const [port] = yield* freePorts(1)
    const appData = join(h.dir, "cli-staker-wallet")
    mkdirSync(appData, { recursive: true })
    yield* node.start({
      name: "cli-staker-wallet",
      program: "dcrwallet" as const,
      args: [
        "--simnet",
        "--createtemp",
        `--appdata=${appData}`,
        `--rpclisten=127.0.0.1:${port}`,
        "--nogrpc",
        "--noservertls",
        `--username=${h.dcrd.user}`,
        `--password=${h.dcrd.password}`,
        "--nofilelogging",
        `--rpcconnect=127.0.0.1:${new URL(h.dcrd.rpcUrl).port}`,
        `--cafile=${h.dcrd.certFile}`,
        `--dcrdusername=${h.dcrd.user}`,
        `--dcrdpassword=${h.dcrd.password}`,
        `--pass=${SIMULATION_PASSPHRASE}`,
        "--enablevoting",
      ],
      dirs: [appData, dirname(h.dcrd.certFile)],
      logFile: join(h.dir, "cli-staker-wallet.log"),
      ready: /wallet ready for general usage/,
      readyTimeoutMillis: 60_000,
    })
    return yield* jsonRpcClient(simnetEndpoint(`http://127.0.0.1:${port}`, h.dcrd.user, h.dcrd.password), { server: "staker" })
  })

const native = binariesReady()

beforeAll(async () => {
  if (native !== true && !CI) return
  scope = await Effect.runPromise(Scope.make())
  services = await Effect.runPromise(Layer.buildWithScope(layerNative, scope))
  run = await inRun(
    Effect.gen(function* () {
      const harness = yield* makeSimnetHarness({ height: SIMNET.stakeValidationHeight + 2 })
      const rpc = yield* startStaker(harness)
      run = { harness, rpc }
      const address = yield* decodeResult("getnewaddress", Schema.String, yield* rpc("getnewaddress"))
      yield* harness.payoutWallet.call("walletpassphrase", [SIMULATION_PASSPHRASE, 600])
      // Several coins, so that purchases in a row need no unconfirmed change (minconf 1).
      for (let i = 0; i < 10; i++) yield* harness.payoutWallet.call("sendtoaddress", [address, 8])
      yield* mine(2)
      return run
    }),
  )
}, 240_000)

afterAll(async () => {
  if (scope !== undefined) await Effect.runPromise(Scope.close(scope, Exit.void))
})

const suite = native === true || CI ? describe : describe.skip
suite(`./dcrforge stake against dcrwallet on simnet${native === true || CI ? "" : ` (skipped: ${native})`}`, () => {
  it(
    "purchaseticket: today's form in full and the guide's 2016 form; a spend limit below the price buys nothing",
    () =>
      inRun(
        Effect.gen(function* () {
          // Bought right after a price change, so that every purchase is mined at its price.
          yield* toWindowStart
          const before = (yield* allTickets).length
          const height = yield* run.harness.height
          const expiry = String(height + SIMNET.stakeDiffWindowSize - 1)
          const forms: ReadonlyArray<ReadonlyArray<string>> = [
            ["default"],
            ["default", "1"],
            ["default", "1", "2"],
            ["default", "1", "1", expiry],
            ["default", "1", "1", expiry, "today's form in full"],
          ]
          let bought = 0
          for (const args of forms) {
            const hashes = (yield* stake("purchaseticket", ...args)) as ReadonlyArray<string>
            expect(hashes.length, args.join(" ")).toBe(Number(args[2] ?? "1"))
            bought += hashes.length
          }
          const price = yield* nextPrice
          const limit = (Number(price) / 1e8 + 1).toFixed(8)
          // The guide's example verbatim but for the spend limit (simnet prices are not mainnet's):
          // its expiry 1 is long past, and dropped.
          const guide = (yield* stake("purchaseticket", "default", limit, "1", "", "1", "", "", "1", "the guide's example")) as ReadonlyArray<string>
          expect(guide).toHaveLength(1)
          bought += 1
          const tooLow = (Number(price - 1n) / 1e8).toFixed(8)
          expect(yield* stakeFails("purchaseticket", "default", tooLow, "1", "", "1", "", "", expiry)).toMatch(/is above your spend limit/)
          expect((yield* allTickets).length).toBe(before + bought)
          yield* mine(2)
        }),
      ),
    120_000,
  )

  it(
    "getstakeinfo equals the wallet's own; tickets' statuses equal its ticketinfo",
    () =>
      inRun(
        Effect.gen(function* () {
          for (const blocks of [0, SIMNET.ticketMaturity + 1]) {
            if (blocks > 0) yield* mine(blocks)
            const ours = (yield* stake("getstakeinfo")) as Record<string, unknown>
            // The wallet's reply as JSON.parse reads it, like the CLI's printed JSON.
            const theirs = Object.fromEntries(Object.entries((yield* run.rpc("getstakeinfo")) as Record<string, unknown>).map(([k, v]) => [k, typeof v === "string" ? Number(v) : v]))
            for (const [key, value] of Object.entries(theirs)) expect(ours[key], key).toEqual(value)
            for (const [key, value] of Object.entries(ours)) if (!(key in theirs)) expect(value, key).toBe(0)
            const listed = (yield* stake("tickets")) as ReadonlyArray<{ hash: string; status: string }>
            const info = (yield* run.rpc("ticketinfo", [0])) as ReadonlyArray<{ hash: string; status: string }>
            expect(new Map(listed.map((t) => [t.hash, t.status]))).toEqual(new Map(info.map((t) => [t.hash, t.status])))
            expect(listed.length).toBeGreaterThanOrEqual(7)
          }
        }),
      ),
    120_000,
  )

  it(
    "the auto-buyer buys down to the balance it must keep, and buys nothing above ticketmaxprice",
    () =>
      inRun(
        Effect.gen(function* () {
          yield* toWindowStart
          const price = yield* nextPrice
          const before = yield* spendable
          // Room for two tickets (price and fee) above the balance to keep, not three.
          const keep = before - 2n * price - price / 2n
          const lines: Array<string> = []
          const log = (line: string) => Effect.sync(() => void lines.push(line))
          const config = {
            network: SIMNET,
            account: "default",
            buyer: { balanceToMaintain: keep, maxPrice: undefined, limitPerBlock: 1, expiryBlocks: undefined },
            dryrun: false,
            pollMillis: 100,
            stopAfterBlocks: 1,
          }
          const capped = { ...config, buyer: { ...config.buyer, maxPrice: price - 1n } }
          const ticketsBefore = (yield* allTickets).length
          yield* runAutobuy(capped, rpcAutobuyWallet(run.rpc), log)
          expect(lines.at(-1)).toMatch(/buy nothing, the price is above ticketmaxprice/)
          for (let i = 0; i < 4; i++) {
            yield* runAutobuy(config, rpcAutobuyWallet(run.rpc), log)
            yield* mine(1)
          }
          expect(lines.filter((l) => /bought 1 ticket/.test(l))).toHaveLength(2)
          expect(lines.at(-1)).toMatch(/buy nothing/)
          expect((yield* allTickets).length).toBe(ticketsBefore + 2)
          expect(yield* spendable).toBeGreaterThan(keep)
        }),
      ),
    120_000,
  )
})
