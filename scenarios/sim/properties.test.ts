import { Effect, Result } from "effect"
import { SqlClient } from "effect/sql/SqlClient"
import fc from "fast-check"
import { describe, expect, it, TestRunner } from "vitest"
import { decodeHeader } from "../../core/chain/header.ts"
import { MAINNET, SIMNET, TESTNET3 } from "../../core/chain/params.ts"
import type { PayoutScheme } from "../../core/payout/schemes.ts"
import type { MinerModel } from "../../core/stratum/profiles.ts"
import { PoolStore } from "../../pool/store/store.ts"
import { replayCommand } from "../../scripts/property-seeds.ts"
import { runScenario, scenarioByName } from "./catalogue.ts"
import { advance, withWorld, type World, type WorldOptions } from "./world.ts"

/**
 * End-to-end properties of the production pool in the simulated network, over seeds and
 * parameters drawn by fast-check. A failure names the run's seed and the world it ran, which
 * `withWorld` replays exactly (the log hash test below shows it).
 *
 * Which seeds: scripts/fast-check-setup.ts decides, as for every property. In `./dcrforge test`
 * each property runs on the fixed seeds and then on every entry for it in scenarios/corpus/seeds.json
 * (each a seed and path that once failed, replayed case for case); `./dcrforge explore` draws fresh
 * ones; `DCRFORGE_PROPERTY_SEED`/`DCRFORGE_PROPERTY_PATH` replay one. The setup file prints each seed.
 */

const PPLNS = { kind: "pplns", windowMultiple: { numerator: 2n, denominator: 1n } } as const
const PROPERTY_RUNS = Number(process.env.DCRFORGE_SCENARIO_RUNS ?? 2)
const FILE = "scenarios/sim/properties.test.ts"

/**
 * fast-check over worlds, stopping at the first failing world (shrinking a world would mean
 * running dozens more, a minute each), with one line in the error that replays exactly that case.
 */
const checkScenario = async <Ts extends [unknown, ...Array<unknown>]>(name: string, property: fc.IAsyncPropertyWithHooks<Ts>, options: { readonly numRuns?: number } = {}) => {
  const details = await fc.check(property, { numRuns: options.numRuns ?? PROPERTY_RUNS, endOnFailure: true })
  if (details.failed) {
    const replayLine = replayCommand({ file: FILE, fullName: TestRunner.getCurrentTest()?.fullTestName ?? name }, details.seed, details.counterexamplePath ?? undefined)
    const cause = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance)
    throw new Error(`${name} failed for ${JSON.stringify(details.counterexample, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v))}: ${cause}\nreplay: ${replayLine}`)
  }
}

/** A world's options with the defaults these properties share. */
const world = (seed: number, over: Partial<WorldOptions> & Pick<WorldOptions, "base" | "fleet">): WorldOptions => ({
  seed,
  blake3: "forced",
  bootstrapHeight: over.base.stakeValidationHeight + 8,
  hashScale: 2e9,
  networkHashrate: 1e9,
  accounts: 3,
  scheme: PPLNS,
  feeBasisPoints: 100,
  vardiffTargetSeconds: 15,
  ...over,
})

const run = <A>(options: WorldOptions, body: (w: World) => Effect.Effect<A, unknown>) => Effect.runPromise(withWorld(options, body))

/** Names the world in an assertion; the replay line comes from checkScenario. */
const replay = (options: WorldOptions) => `world seed ${options.seed}`

/** Stored work per account, from the pool's own database. */
const storedWork = (w: World) =>
  w.query(
    Effect.gen(function* () {
      const store = yield* PoolStore
      const rows = yield* store.workSince(0)
      const byAccount = new Map<string, bigint>()
      const byWorker = new Map<string, number>()
      for (const r of rows) {
        byAccount.set(r.account, (byAccount.get(r.account) ?? 0n) + r.weight)
        byWorker.set(`${r.account}.${r.worker}`, (byWorker.get(`${r.account}.${r.worker}`) ?? 0) + r.shares)
      }
      return { byAccount, byWorker }
    }),
  )

/** Everything the pool credited each account (immature, payable, pending or paid). */
const credited = (w: World) =>
  w.query(
    Effect.gen(function* () {
      const store = yield* PoolStore
      const totals = yield* store.accountTotals
      return new Map(totals.map((t) => [t.account, t.immature + t.payable + t.pending + t.paid]))
    }),
  )

describe("property scenarios: PPLNS through the production pool", () => {
  it("property: payout shares converge to hashrate shares, a hopper earns no more per unit of work, and every block's credits sum to its reward", async () => {
    await checkScenario(
      "property: payout shares converge to hashrate shares, a hopper earns no more per unit of work, and every block's credits sum to its reward",
      fc.asyncProperty(fc.integer({ min: 1, max: 2 ** 31 - 1 }), fc.tuple(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 })), async (seed, [a, b]) => {
        // Three steady accounts at a:b:4 (times 1 GH/s) and a hopper that mines only in the
        // first fifth of each expected round; the pool finds most blocks (testnet3 rules: 2-minute blocks).
        let roundStart = 0
        let now = 0
        const options = world(seed, {
          base: TESTNET3,
          networkHashrate: 2e9,
          accounts: 4,
          fleet: [
            { model: "gominer", count: 1, hashrate: a * 1e9 },
            { model: "gominer", count: 1, hashrate: b * 1e9 },
            { model: "gominer", count: 1, hashrate: 4e9 },
            { model: "gominer", count: 1, hashrate: 4e9, quirks: { mineWhen: () => now - roundStart < 0.2 * 120_000 } },
          ],
        })
        const outcome = await run(options, (w) =>
          Effect.gen(function* () {
            let poolBlocks = 0
            yield* advance({
              untilMillis: 24 * 3_600_000,
              stepMillis: 1000,
              done: () => w.dcrd.counts().poolBlocks >= 250,
              onStep: (elapsed) => {
                now = elapsed
                const found = w.dcrd.counts().poolBlocks
                if (found !== poolBlocks) {
                  poolBlocks = found
                  roundStart = elapsed
                }
              },
            })
            // Let the last blocks confirm and credit.
            yield* advance({ untilMillis: 20 * 120_000, stepMillis: 1000 })
            const work = yield* storedWork(w)
            const credits = yield* credited(w)
            const sql = yield* w.query(SqlClient)
            const conservation = yield* w.query(
              sql<{ hash: string; reward: string; credited: string }>`SELECT b.hash, CAST(b.reward AS TEXT) AS reward, CAST(sum(c.amount) AS TEXT) AS credited
                FROM blocks b JOIN credits c ON c.source = b.hash WHERE b.reward IS NOT NULL GROUP BY b.hash, b.reward`,
            )
            return { work, credits, conservation, accounts: w.accounts, blocks: w.dcrd.counts().poolBlocks }
          }),
        )
        const [steady1, steady2, steady3, hopper] = outcome.accounts as [string, string, string, string]
        const steadyHashrate = a + b + 4
        const creditOf = (acct: string) => Number(outcome.credits.get(acct) ?? 0n)
        const steadyCredit = creditOf(steady1) + creditOf(steady2) + creditOf(steady3)
        expect(outcome.blocks, replay(options)).toBeGreaterThanOrEqual(250)
        for (const [acct, rate] of [
          [steady1, a],
          [steady2, b],
          [steady3, 4],
        ] as const) {
          const share = creditOf(acct) / steadyCredit
          expect(
            Math.abs(share - rate / steadyHashrate),
            `${acct} got ${share.toFixed(3)} of the steady miners' credits for ${(rate / steadyHashrate).toFixed(3)} of their hashrate; ${replay(options)}`,
          ).toBeLessThan(0.06)
        }
        // Per unit of stored work, the hopper earns no more than the steady miners (PPLNS's point).
        const perWork = (acct: string) => creditOf(acct) / Number(outcome.work.byAccount.get(acct) ?? 1n)
        const steadyPerWork = steadyCredit / Number([steady1, steady2, steady3].reduce((s, acct) => s + (outcome.work.byAccount.get(acct) ?? 0n), 0n))
        expect(perWork(hopper) / steadyPerWork, `hopper earns ${(perWork(hopper) / steadyPerWork).toFixed(3)}x per unit of work; ${replay(options)}`).toBeLessThan(1.1)
        expect(outcome.conservation.length, replay(options)).toBeGreaterThan(0)
        for (const row of outcome.conservation) expect(row.credited, `block ${row.hash}; ${replay(options)}`).toBe(row.reward)
      }),
      { numRuns: 1 },
    )
  }, 600_000)
})

/** One of the pool's blocks as its database had it at a tip: its status and what its credits add up to. */
interface BlockSighting {
  readonly tip: number
  readonly hash: string
  readonly status: string
  readonly credited: bigint
  readonly payable: bigint
  /** Credits reserved in a payout batch (being built, signed or published). */
  readonly inPayout: bigint
}

/** Every block in the pool's database, with its credits, as of the current tip. */
const sightBlocks = (w: World) =>
  Effect.gen(function* () {
    const sql = yield* w.query(SqlClient)
    const rows = yield* w.query(
      sql<{ hash: string; status: string; credited: string; payable: string; in_payout: string }>`SELECT b.hash, b.status,
          CAST(coalesce(sum(c.amount), 0) AS TEXT) AS credited,
          CAST(coalesce(sum(c.amount) FILTER (WHERE c.payable), 0) AS TEXT) AS payable,
          CAST(coalesce(sum(c.amount) FILTER (WHERE c.batch_id IS NOT NULL), 0) AS TEXT) AS in_payout
        FROM blocks b LEFT JOIN credits c ON c.source = b.hash GROUP BY b.hash, b.status`,
    )
    const tip = w.dcrd.height()
    return rows.map((r): BlockSighting => ({ tip, hash: r.hash, status: r.status, credited: BigInt(r.credited), payable: BigInt(r.payable), inPayout: BigInt(r.in_payout) }))
  })

/** Blocks the voting property runs past its start. */
const VOTING_RUN_BLOCKS = 150
/** The run is cut into slots of this many blocks, some of them set aside for one kind of call. */
const VOTING_SLOT_BLOCKS = 15
const VOTING_SLOTS = Math.floor(VOTING_RUN_BLOCKS / VOTING_SLOT_BLOCKS)

/** A down period: its first and last block, counted from the run's start (1 is the run's first block). */
type Outage = readonly [first: number, last: number]

const outageArbitrary = fc.tuple(fc.integer({ min: 1, max: VOTING_RUN_BLOCKS }), fc.integer({ min: 1, max: 30 })).map(([first, length]): Outage => [first, first + length - 1])

/**
 * Down periods of a voting service's two or three servers and of a solo wallet. Each server and
 * the wallet have outages of their own, drawn at random, that overlap or not; on top of those,
 * whole slots are set aside so that every run calls tickets in each case the property tells
 * apart: every server down (`serviceSlots[0]`), server i alone up (`serviceSlots[i + 1]`), the
 * wallet down (`walletSlots[0]`) and up (`walletSlots[1]`).
 */
const votingOutagesArbitrary = fc.integer({ min: 2, max: 3 }).chain((servers) =>
  fc.record({
    serverOutages: fc.array(fc.array(outageArbitrary, { maxLength: 4 }), { minLength: servers, maxLength: servers }),
    walletOutages: fc.array(outageArbitrary, { maxLength: 4 }),
    serviceSlots: fc.uniqueArray(fc.integer({ min: 0, max: VOTING_SLOTS - 1 }), { minLength: servers + 1, maxLength: servers + 1 }),
    walletSlots: fc.uniqueArray(fc.integer({ min: 0, max: VOTING_SLOTS - 1 }), { minLength: 2, maxLength: 2 }),
  }),
)
type VotingOutages = typeof votingOutagesArbitrary extends fc.Arbitrary<infer Drawn> ? Drawn : never

/** The slot a block falls in (-1 before the run starts). */
const slotOf = (offset: number) => (offset < 1 ? -1 : Math.floor((offset - 1) / VOTING_SLOT_BLOCKS))
const inOutage = (outages: ReadonlyArray<Outage>, offset: number) => outages.some(([first, last]) => offset >= first && offset <= last)

/** Whether each voting server is up at a height; `start` is the last height before the run (all up until then). */
const serverSchedules = (outages: VotingOutages, start: number): ReadonlyArray<(height: number) => boolean> =>
  outages.serverOutages.map((own, server) => (height) => {
    const offset = height - start
    const slot = slotOf(offset)
    if (slot === -1) return true
    const [allDown, ...aloneUp] = outages.serviceSlots
    if (slot === allDown) return false
    const alone = aloneUp.indexOf(slot)
    return alone === -1 ? !inOutage(own, offset) : alone === server
  })

/** Whether the solo wallet is up at a height. */
const walletSchedule = (outages: VotingOutages, start: number) => (height: number) => {
  const offset = height - start
  const slot = slotOf(offset)
  if (slot === -1) return true
  const [down, up] = outages.walletSlots
  return slot === down ? false : slot === up ? true : !inOutage(outages.walletOutages, offset)
}

/** A ticket called to vote: whose it was, the height of the block that called it, whether it voted. */
interface TicketCall {
  readonly ticket: string
  readonly owner: string
  readonly height: number
  readonly voted: boolean
}

/**
 * Records every ticket called after `start` from the chain's stake state. Called on every new
 * tip: the model forgets ended tickets some blocks later, and a spend undone by a reorganisation
 * is taken back.
 */
const recordCalls = (w: World, start: number, calls: Map<string, TicketCall>) => {
  for (const t of w.dcrd.model.allTickets()) {
    const expiredAt = t.liveAt === undefined ? undefined : t.liveAt + w.network.ticketExpiry
    const called = t.spentAt !== undefined && t.spentAt !== expiredAt && (t.status === "voted" || t.status === "missed" || t.status === "revoked")
    if (!called) {
      calls.delete(t.id)
      continue
    }
    if (t.spentAt! > start) calls.set(t.id, { ticket: t.id, owner: t.purchase.owner, height: t.spentAt!, voted: t.status === "voted" })
  }
}

describe("property scenarios: stake rules with the pool mining", () => {
  it("property: on mainnet rules the pool's credits for a block become payable when the tip is 257 blocks above it (coinbase maturity 256 and one block of margin), never before, and then go into a payout", async () => {
    await checkScenario(
      "property: on mainnet rules the pool's credits for a block become payable when the tip is 257 blocks above it (coinbase maturity 256 and one block of margin), never before, and then go into a payout",
      fc.asyncProperty(
        fc.integer({ min: 1, max: 2 ** 31 - 1 }),
        fc.constantFrom<PayoutScheme>(PPLNS, { kind: "proportional" }, { kind: "solo", atMiningAddress: false }),
        fc.integer({ min: 1, max: 4 }),
        async (seed, scheme, accounts) => {
          // The rule as mainnet states it, not as the pool is handed it.
          const payableAbove = MAINNET.coinbaseMaturity + 1
          // The fleet mines until the pool has a block; the rest of the network then buries it
          // block by block, so every tip on the way is seen by the pool and by this test.
          let poolHasBlock = false
          const options = world(seed, {
            base: MAINNET,
            blake3: "as-base",
            bootstrapHeight: MAINNET.stakeValidationHeight + 16,
            hashScale: 1e14,
            networkHashrate: 20e12,
            accounts,
            scheme,
            fleet: [{ model: "antminer-dr5", count: 2, quirks: { mineWhen: () => !poolHasBlock } }],
          })
          const outcome = await run(options, (w) =>
            Effect.gen(function* () {
              yield* advance({
                untilMillis: 6 * 3_600_000,
                stepMillis: 1000,
                done: () => poolHasBlock,
                onStep: () => {
                  poolHasBlock = w.dcrd.counts().poolBlocks > 0
                },
              })
              // A block found as the fleet stopped is on its way in: let it land.
              yield* advance({ untilMillis: 10_000, stepMillis: 100 })
              const found = w.dcrd.poolBlocks().filter((b) => b.onMainChain)
              const lastFound = Math.max(...found.map((b) => b.height))
              const sightings: Array<BlockSighting> = []
              while (w.dcrd.height() < lastFound + payableAbove + 3) {
                yield* w.dcrd.mineNetworkBlock
                // Time for the pool to hear of the tip and settle it (payouts included).
                yield* advance({ untilMillis: 2_000, stepMillis: 100 })
                sightings.push(...(yield* sightBlocks(w)))
              }
              return { found, sightings, published: [...w.wallet.published] }
            }),
          )
          expect(outcome.found.length, replay(options)).toBeGreaterThan(0)
          const first = Math.min(...outcome.found.map((b) => b.height))
          for (const block of outcome.found) {
            const seen = outcome.sightings.filter((s) => s.hash === block.hash)
            const context = (tip: number) => `block ${block.hash} at height ${block.height}, tip ${tip}; ${replay(options)}`
            for (const s of seen.filter((s) => s.tip < block.height + payableAbove)) {
              expect(s.status, context(s.tip)).not.toBe("matured")
              expect({ payable: s.payable, inPayout: s.inPayout }, context(s.tip)).toEqual({ payable: 0n, inPayout: 0n })
            }
            // The tip before: credited, none of it payable yet.
            const dueNext = seen.find((s) => s.tip === block.height + payableAbove - 1)
            expect(dueNext?.status, context(block.height + payableAbove - 1)).toBe("confirmed")
            expect(dueNext?.credited, context(block.height + payableAbove - 1)).toBeGreaterThan(0n)
            // At the tip: all of it payable and, for the first block, all of it in a payout (a
            // later block's credits wait while a payout the wallet cannot fund yet is still open).
            const due = seen.find((s) => s.tip === block.height + payableAbove)
            expect(due?.status, context(block.height + payableAbove)).toBe("matured")
            expect(due?.payable, context(block.height + payableAbove)).toBe(due?.credited)
            if (block.height === first) expect(due?.inPayout, context(block.height + payableAbove)).toBe(due?.credited)
          }
          // Nothing reached the wallet before then either.
          for (const p of outcome.published) expect(p.publishedAtHeight, `payout ${p.txid}; ${replay(options)}`).toBeGreaterThanOrEqual(first + payableAbove)
        },
      ),
    )
  }, 600_000)

  it("property: under ticket-buying pressure no block holds more than 20 new tickets, and blocks take 20 while more wait", async () => {
    await checkScenario(
      "property: under ticket-buying pressure no block holds more than 20 new tickets, and blocks take 20 while more wait",
      fc.asyncProperty(fc.integer({ min: 1, max: 2 ** 31 - 1 }), fc.integer({ min: 25, max: 80 }), async (seed, demandPerBlock) => {
        // The buyer reacts to a new tip at the next 200 ms step; votes (and so work for the next
        // block) come after it, so its purchases are in the mempool when a template is made. The
        // pool, like dcrpool, sends no new job for new transactions: a template made before the
        // purchases would rightly hold fewer than 20.
        const options = world(seed, { base: SIMNET, fleet: [{ model: "gominer", count: 2 }], vardiffTargetSeconds: 5, voteDelayMillis: { min: 250, max: 400 } })
        const outcome = await run(options, (w) =>
          Effect.gen(function* () {
            const start = w.dcrd.height()
            let seen = start
            yield* advance({
              untilMillis: 600_000,
              stepMillis: 200,
              done: () => w.dcrd.height() >= start + 30,
              onStep: () => {
                if (w.dcrd.height() === seen) return
                seen = w.dcrd.height()
                return Effect.ignore(w.wallet.purchaseTickets("buyer", demandPerBlock))
              },
            })
            const fresh: Array<{ height: number; fresh: number; finder: string }> = []
            for (let h = start + 1; h <= w.dcrd.height(); h++) {
              const block = w.dcrd.blockAt(h)!
              fresh.push({ height: h, fresh: Result.getOrThrow(decodeHeader(block.header)).freshStake, finder: block.finder })
            }
            return fresh
          }),
        )
        expect(outcome.length, replay(options)).toBeGreaterThanOrEqual(30)
        for (const b of outcome) expect(b.fresh, `block ${b.height}; ${replay(options)}`).toBeLessThanOrEqual(SIMNET.maxFreshStakePerBlock)
        // Purchases start after the first block of the run; from the third block on the mempool always holds more than 20.
        for (const b of outcome.slice(3)) expect(b.fresh, `block ${b.height} (${b.finder}); ${replay(options)}`).toBe(SIMNET.maxFreshStakePerBlock)
      }),
    )
  }, 600_000)

  it("property: a ticket registered with the voting service misses only when every voting server is down when it is called, a solo staker's ticket exactly when its wallet is down; a voting server restarted empty holds every live ticket again before the next call; a wallet that went away has its tickets missed and revoked", async () => {
    await checkScenario(
      "property: a ticket registered with the voting service misses only when every voting server is down when it is called, a solo staker's ticket exactly when its wallet is down; a voting server restarted empty holds every live ticket again before the next call; a wallet that went away has its tickets missed and revoked",
      fc.asyncProperty(fc.integer({ min: 1, max: 2 ** 31 - 1 }), votingOutagesArbitrary, async (seed, outages) => {
        const startHeight = SIMNET.stakeValidationHeight + 8
        const servers = serverSchedules(outages, startHeight)
        const walletUp = walletSchedule(outages, startHeight)
        // Most tickets always vote, so that a block has its three votes even while the service,
        // the flaky wallet and the gone one are all down (too few would stall the chain).
        const options = world(seed, {
          base: SIMNET,
          bootstrapHeight: startHeight,
          fleet: [{ model: "gominer", count: 2 }],
          vardiffTargetSeconds: 5,
          // Every online winner's vote is in before any block can be built on its parent.
          voteDelayMillis: { min: 0, max: 0 },
          stakers: [
            { owner: "online", canVote: () => true, ticketsPerBlock: 6 },
            { owner: "flaky", canVote: walletUp, ticketsPerBlock: 2 },
            { owner: "gone", canVote: (h) => h <= startHeight, ticketsPerBlock: 2 },
          ],
          // The service's voting servers: emulated voting wallets that the production fleet keeps.
          votingService: { owner: "vsp", ticketsPerBlock: 3, servers },
        })
        const outcome = await run(options, (w) =>
          Effect.gen(function* () {
            const service = w.votingService!
            const goneBefore = { missed: w.dcrd.model.totalsFor("gone").missedEver, revoked: w.dcrd.model.totalsFor("gone").counts.revoked }
            const calls = new Map<string, TicketCall>()
            let seenTip = ""
            yield* advance({
              world: w,
              untilMillis: 900_000,
              stepMillis: 200,
              done: () => w.dcrd.height() >= startHeight + VOTING_RUN_BLOCKS,
              onStep: () => {
                if (w.dcrd.tipHash() === seenTip) return
                seenTip = w.dcrd.tipHash()
                recordCalls(w, startHeight, calls)
              },
            })
            const gone = w.dcrd.model.totalsFor("gone")
            const serviceCalls = [...calls.values()].filter((c) => c.owner === "vsp").map((c) => ({ ...c, running: service.runningAtCall(c.height) }))
            return {
              calls: [...calls.values()],
              serviceCalls,
              restarts: service.restarts,
              gone: { missed: gone.missedEver - goneBefore.missed, revoked: gone.counts.revoked - goneBefore.revoked },
              end: w.dcrd.height(),
            }
          }),
        )
        const context = (call: TicketCall) => `${call.owner}'s ticket ${call.ticket} called at height ${call.height} (run ${startHeight + 1}..${outcome.end}); ${replay(options)}`
        expect(outcome.end, replay(options)).toBeGreaterThanOrEqual(startHeight + VOTING_RUN_BLOCKS)
        // The service's tickets: voted exactly when some voting server was running at the call
        // (a running one that lacked the ticket would make it miss). Only the run's first call
        // comes before the service's first pass, and those vote (the history is not modelled).
        for (const call of outcome.serviceCalls) {
          expect(call.voted, `${context(call)}; servers running ${JSON.stringify(call.running)}`).toBe(call.running === undefined || call.running.some(Boolean))
        }
        expect(outcome.serviceCalls.filter((c) => c.running === undefined).length, replay(options)).toBeLessThanOrEqual(SIMNET.ticketsPerBlock)
        for (const call of outcome.calls.filter((c) => c.owner === "flaky" || c.owner === "online")) {
          expect(call.voted, context(call)).toBe(call.owner === "online" || walletUp(call.height))
        }
        // Every server that came back empty could vote every registered ticket before the next call.
        for (const r of outcome.restarts) expect(r.missing, `${JSON.stringify(r)}; ${replay(options)}`).toBe(0)
        // Each run has calls of every kind the rules above tell apart, or it proved nothing.
        const serviceCallsWhen = (when: (running: ReadonlyArray<boolean>) => boolean) => outcome.serviceCalls.filter((c) => c.running !== undefined && when(c.running)).length
        const callsOf = (owner: string, when: (h: number) => boolean) => outcome.calls.filter((c) => c.owner === owner && when(c.height)).length
        const counts = {
          serviceAllDown: serviceCallsWhen((running) => running.every((r) => !r)),
          serviceCoveredByOneServer: servers.map((_, i) => serviceCallsWhen((running) => running.every((r, j) => r === (i === j)))),
          walletDown: callsOf("flaky", (h) => !walletUp(h)),
          walletUp: callsOf("flaky", walletUp),
          gone: callsOf("gone", () => true),
          restartsAfterOutage: outcome.restarts.filter((r) => r.height > startHeight + 2 && r.registered > 0).length,
        }
        const countsContext = `${JSON.stringify(counts)}; ${replay(options)}`
        expect(counts.serviceAllDown, countsContext).toBeGreaterThan(0)
        for (const covered of counts.serviceCoveredByOneServer) expect(covered, countsContext).toBeGreaterThan(0)
        expect(counts.walletDown, countsContext).toBeGreaterThan(0)
        expect(counts.walletUp, countsContext).toBeGreaterThan(0)
        expect(counts.gone, countsContext).toBeGreaterThan(0)
        expect(counts.restartsAfterOutage, countsContext).toBeGreaterThan(0)
        // Automatic revocations (DCP-0009) come in the block after the miss.
        expect(outcome.gone.revoked, countsContext).toBeGreaterThanOrEqual(outcome.gone.missed - SIMNET.ticketsPerBlock)
      }),
    )
  }, 600_000)
})

describe("property scenarios: proof of work by era", () => {
  const asics: ReadonlyArray<MinerModel> = ["innosilicon-d9", "antminer-dr3", "antminer-dr5", "whatsminer-d1", "obelisk-dcr1"]

  it("property: on a BLAKE-256 chain each ASIC model's block, found through the pool, is accepted by the chain", async () => {
    await checkScenario(
      "property: on a BLAKE-256 chain each ASIC model's block, found through the pool, is accepted by the chain",
      fc.asyncProperty(fc.integer({ min: 1, max: 2 ** 31 - 1 }), fc.constantFrom(...asics), async (seed, model) => {
        const options = world(seed, {
          base: MAINNET,
          blake3: "as-base",
          bootstrapHeight: 600,
          hashScale: 1e14,
          networkHashrate: 1e12,
          fleet: [{ model, count: 3 }],
        })
        const outcome = await run(options, (w) =>
          Effect.gen(function* () {
            yield* advance({ untilMillis: 6 * 3_600_000, stepMillis: 1000, done: () => w.dcrd.poolBlocks().some((b) => b.onMainChain) })
            return { blocks: w.dcrd.poolBlocks(), claimed: w.miners.reduce((s, m) => s + m.stats.blocks, 0), pow: w.network.agendas.blake3pow.kind }
          }),
        )
        expect(outcome.claimed, replay(options)).toBeGreaterThan(0)
        expect(outcome.blocks.filter((b) => b.onMainChain).length, `${model}; ${replay(options)}`).toBeGreaterThan(0)
      }),
    )
  }, 600_000)

  it("property: on a BLAKE3 chain a legacy ASIC is refused at subscribe with a reason that names BLAKE3", async () => {
    await checkScenario(
      "property: on a BLAKE3 chain a legacy ASIC is refused at subscribe with a reason that names BLAKE3",
      fc.asyncProperty(fc.integer({ min: 1, max: 2 ** 31 - 1 }), fc.constantFrom(...asics), async (seed, model) => {
        const options = world(seed, {
          base: SIMNET,
          fleet: [
            { model, count: 1 },
            { model: "gominer", count: 1 },
          ],
          keepLog: true,
        })
        const outcome = await run(options, (w) =>
          Effect.gen(function* () {
            yield* advance({ untilMillis: 120_000, stepMillis: 200 })
            return { miners: w.miners.map((m) => ({ model: m.model, ...m.stats })), lines: w.log.lines ?? [] }
          }),
        )
        const asic = outcome.miners.find((m) => m.model === model)!
        expect(asic.refusals, replay(options)).toBeGreaterThan(0)
        expect(asic.submitted, replay(options)).toBe(0)
        const refusal = outcome.lines.find((l) => l.includes(`miner ${model}-0 refused`))
        expect(refusal, replay(options)).toMatch(/BLAKE3/)
        expect(refusal, replay(options)).toMatch(/DCP-0011/)
        expect(outcome.miners.find((m) => m.model === "gominer")!.accepted, replay(options)).toBeGreaterThan(0)
      }),
    )
  }, 600_000)
})

describe("property scenarios: faults", () => {
  it("property: storms, stalls, zombies, late difficulty, short extranonces, resets and reorgs never lose a share the pool accepted", async () => {
    const faults = scenarioByName("faults")!
    await checkScenario(
      "property: storms, stalls, zombies, late difficulty, short extranonces, resets and reorgs never lose a share the pool accepted",
      fc.asyncProperty(fc.integer({ min: 1, max: 2 ** 31 - 1 }), async (seed) => {
        const options = { ...faults.world({ seed }), bootstrapHeight: MAINNET.stakeValidationHeight + 8 }
        const outcome = await run(options, (w) =>
          Effect.gen(function* () {
            const summary = yield* runScenario(w, { hours: 2, blocks: 0 })
            const stored = yield* storedWork(w)
            return { summary, stored: stored.byWorker, miners: w.miners.map((m) => ({ name: m.name, account: m.account, stats: m.stats })), quirky: faults.world({ seed }).fleet }
          }),
        )
        let accepted = 0
        for (const [i, m] of outcome.miners.entries()) {
          const storedShares = outcome.stored.get(`${m.account}.rig${i}`) ?? 0
          // Every "accepted" a miner heard is a stored share; nothing is stored that was not submitted.
          expect(storedShares, `${m.name}; ${replay(options)}`).toBeGreaterThanOrEqual(m.stats.accepted)
          expect(storedShares, `${m.name}; ${replay(options)}`).toBeLessThanOrEqual(m.stats.submitted)
          accepted += m.stats.accepted
        }
        expect(accepted, replay(options)).toBeGreaterThan(0)
        // Healthy devices lose shares only to the chain moving on (stale work), never to others' faults.
        for (const m of outcome.miners.filter((x) => x.name.startsWith("antminer-dr5"))) {
          for (const reason of m.stats.rejectedBy.keys()) expect(reason, `${m.name}; ${replay(options)}`).toMatch(/old block|unknown job|duplicate/)
        }
        // The short-extranonce device is refused for what it did, clearly.
        const short = outcome.miners.find((m) => m.stats.rejectedBy.size > 0 && [...m.stats.rejectedBy.keys()].some((r) => /extraNonce2/.test(r)))
        expect(short, replay(options)).toBeDefined()
      }),
    )
  }, 600_000)
})

describe("determinism", () => {
  it("the same seed gives the same log hash; another seed another", async () => {
    const simnet = scenarioByName("simnet-blake3")!
    const hashOf = (seed: number) => run(simnet.world({ seed }), (w) => Effect.map(runScenario(w, { hours: 0, blocks: 25 }), (s) => s.logHash))
    const first = await hashOf(7)
    const again = await hashOf(7)
    const other = await hashOf(8)
    expect(again).toBe(first)
    expect(other).not.toBe(first)
  }, 600_000)
})
