import { join } from "node:path"
import { Clock, Context, Effect, Layer, Random, References, Scope } from "effect"
import { TestClock } from "effect/testing"
import { encodeAddress } from "../../core/chain/address.ts"
import type { NetworkParams } from "../../core/chain/params.ts"
import type { PayoutScheme } from "../../core/payout/schemes.ts"
import type { StratumListener } from "../../core/services/listener.ts"
import { chainActivations } from "../../core/chain/agendas.ts"
import { powAlgorithmAt } from "../../core/chain/difficulty.ts"
import { hashesPerUnitDifficulty } from "../../core/stratum/difficulty.ts"
import { cannotMineReason, profileOf, type MinerModel } from "../../core/stratum/profiles.ts"
import { bitsForHashrate, makeSimDcrd, simulatedNetwork, type SimDcrd, type SimStaker } from "../../emulators/dcrd.ts"
import { makeSimWallet, type SimWallet } from "../../emulators/dcrwallet.ts"
import { newMinerStats, runMiner, type MinerEvent, type MinerQuirks, type MinerStats } from "../../emulators/miner.ts"
import { makeMemoryNetwork, type Dial, type MemoryNetwork, type NetworkEvent, type NetworkFaults } from "../../emulators/network.ts"
import { SimRandom } from "../../emulators/random.ts"
import { noCrashPoints } from "../../pool/ops/crash-points.ts"
import { runPool } from "../../pool/pool.ts"
import { sqliteLayer } from "../../pool/store/sqlite.ts"
import { PoolStore, poolStoreLayer } from "../../pool/store/store.ts"
import type * as SqlClient from "effect/sql/SqlClient"
import { RunLog } from "./run-log.ts"
import { makeSimVotingService, type SimVotingService, type VotingServiceOptions } from "./voting-service.ts"

/** A group of identical devices in the fleet. */
export interface FleetEntry {
  readonly model: MinerModel
  readonly count: number
  /** Nominal hashes per second each (default: the model's rating). */
  readonly hashrate?: number | undefined
  readonly quirks?: MinerQuirks | undefined
}

export interface WorldOptions {
  readonly seed: number
  /** The real network whose rules the simulated chain keeps (maturities, subsidy, stake). */
  readonly base: NetworkParams
  /**
   * `forced`: BLAKE3 from block 1; `as-base`: the base network's agendas decide (BLAKE-256 early
   * on mainnet); `voted`: BLAKE-256 until the stakers vote DCP-0011 in during the run (`blake3Vote`;
   * without one nobody holds the vote and the chain stays on BLAKE-256, as regnet before a vote).
   */
  readonly blake3: "forced" | "as-base" | "voted"
  /**
   * With blake3 `voted`: the rule change interval and quorum (shorter than any real network's,
   * so the vote passes in minutes), and the percentage of votes that say yes (the rest say no).
   */
  readonly blake3Vote?: { readonly interval: number; readonly quorum: number; readonly yesPercent: number } | undefined
  /** Blocks built before the pool starts, to begin past stake validation with a full ticket pool. */
  readonly bootstrapHeight: number
  /** Nominal hashes one real hash stands for: chosen so a share costs a few real hashes. */
  readonly hashScale: number
  /** Everyone else's hashrate, nominal H/s. */
  readonly networkHashrate: number
  readonly fleet: ReadonlyArray<FleetEntry>
  /** Miners are spread over this many payout addresses (several rigs per account). */
  readonly accounts: number
  readonly scheme: PayoutScheme
  readonly feeBasisPoints: number
  readonly vardiffTargetSeconds: number
  readonly faults?: NetworkFaults | undefined
  readonly orphanRate?: number | undefined
  readonly stakers?: ReadonlyArray<SimStaker> | undefined
  /** A voting service one more staker's tickets are registered with (voting-service.ts); none by default. */
  readonly votingService?: VotingServiceOptions | undefined
  /** When votes reach dcrd after their block (default: the emulator's). */
  readonly voteDelayMillis?: { readonly min: number; readonly max: number } | undefined
  /** Keep the pool's database in this directory (default: in memory). */
  readonly dataDir?: string | undefined
  /** Virtual milliseconds a share commit waits for more shares (default 2000). */
  readonly shareCommitLingerMillis?: number | undefined
  /** Keep every log line in memory (tests that compare logs). */
  readonly keepLog?: boolean | undefined
  /** Also hand every log line here (a file, for `--log`). */
  readonly logSink?: ((line: string) => void) | undefined
}

export interface World {
  readonly options: WorldOptions
  readonly network: NetworkParams
  readonly random: SimRandom
  readonly log: RunLog
  readonly dcrd: SimDcrd
  readonly wallet: SimWallet
  /** The voting service, when the options have one. */
  readonly votingService: SimVotingService | undefined
  readonly net: MemoryNetwork
  readonly miners: ReadonlyArray<{ readonly name: string; readonly model: MinerModel; readonly account: string; readonly stats: MinerStats }>
  readonly accounts: ReadonlyArray<string>
  readonly feeAddress: string
  readonly pool: Effect.Success<ReturnType<typeof runPool>>
  /** Virtual milliseconds since the run started. */
  readonly elapsed: Effect.Effect<number>
  /** Runs a query against the pool's own database. */
  readonly query: <A, E>(effect: Effect.Effect<A, E, PoolStore | SqlClient.SqlClient>) => Effect.Effect<A, E>
  /** The pool's services (database, node, wallet), for whatever else needs them. */
  readonly services: Context.Context<PoolStore | SqlClient.SqlClient>
}

/** Scales a fleet to about `miners` devices, keeping its proportions (at least one of each). */
export const scaleFleet = (fleet: ReadonlyArray<FleetEntry>, miners: number | undefined): ReadonlyArray<FleetEntry> => {
  if (miners === undefined) return fleet
  const total = fleet.reduce((s, f) => s + f.count, 0)
  return fleet.map((f) => ({ ...f, count: Math.max(1, Math.round((f.count * miners) / total)) }))
}

/** Virtual time every run starts at (2026-01-01 UTC): header timestamps look like today's. */
const SIM_EPOCH_MILLIS = 1_767_225_600_000

/**
 * Each ticket's wallet votes the same way every time: yes for `yesPercent` of tickets, chosen
 * by a hash of the ticket's id (no draw from the seed's streams, so adding a vote changes none).
 */
const votesYes =
  (yesPercent: number) =>
  (ticket: string): "yes" | "no" => {
    let h = 0x811c9dc5
    for (let i = 0; i < ticket.length; i++) h = Math.imul(h ^ ticket.charCodeAt(i), 0x01000193) >>> 0
    return h % 100 < yesPercent ? "yes" : "no"
  }

/** A payout address of the simulated network, derived from the seed. */
const simAddress = (network: NetworkParams, random: SimRandom): string => encodeAddress("p2pkh-ecdsa-secp256k1", random.bytes(20), network)

const describeMiner = (e: MinerEvent): string => {
  switch (e._tag) {
    case "Connected":
    case "Zombie":
      return `miner ${e.miner} ${e._tag.toLowerCase()}`
    case "Refused":
    case "Disconnected":
      return `miner ${e.miner} ${e._tag.toLowerCase()}: ${e.reason}`
    case "Difficulty":
      return `miner ${e.miner} difficulty ${e.difficulty}`
    case "Job":
      return `miner ${e.miner} job ${e.jobId}${e.clean ? " clean" : ""}`
    case "Submitted":
      return `miner ${e.miner} submit ${e.jobId} ${e.hash}${e.block ? " block" : ""}`
    case "Answered":
      return `miner ${e.miner} ${e.accepted ? "accepted" : `rejected ${e.error}`} ${e.hash}`
  }
}

const describeNetwork = (e: NetworkEvent): string => `net ${JSON.stringify(e)}`

/**
 * The whole simulated world in one scope: the simulated dcrd and wallet, the in-memory network,
 * the production pool (`runPool`, store-backed accounting on the embedded SQLite store, in memory) listening on
 * that network, and the miner fleet dialling it. Runs under whatever Clock the caller provides
 * (TestClock for scenarios); every external event goes to the run log.
 */
export const buildWorld = (options: WorldOptions, listener?: Layer.Layer<StratumListener>, dial?: Dial) =>
  Effect.gen(function* () {
    const random = new SimRandom(options.seed)
    const start = yield* Clock.currentTimeMillis
    const log = new RunLog({ keep: options.keepLog, sink: options.logSink })
    const clock = yield* Clock.clockWith(Effect.succeed)
    // Emulators report events synchronously, from fibers the clock woke: stamp them with its time.
    const stamp = (text: string) => log.append(clock.currentTimeMillisUnsafe() - start, text)

    const ruleChange = options.blake3 === "voted" ? options.blake3Vote : undefined
    const rules = simulatedNetwork(options.base, { blake3: options.blake3, ruleChange })
    // Difficulty starts where the whole network finds a block every target interval: the rest of
    // the network plus the devices that can mine this chain's proof of work (refused ones cannot).
    const pow = powAlgorithmAt(chainActivations(rules.agendas), options.bootstrapHeight + 1)
    const fleetHashrate = options.fleet.filter((f) => cannotMineReason(profileOf(f.model), pow) === undefined).reduce((sum, f) => sum + f.count * (f.hashrate ?? profileOf(f.model).nominalHashrate), 0)
    const network = simulatedNetwork(options.base, {
      blake3: options.blake3,
      ruleChange,
      startBits: bitsForHashrate(rules, options.networkHashrate + fleetHashrate, options.hashScale),
    })
    const accounts = Array.from({ length: options.accounts }, (_, i) => simAddress(network, random.fork(`account/${i}`)))
    const feeAddress = simAddress(network, random.fork("fee"))

    const voting = options.votingService === undefined ? undefined : makeSimVotingService(options.votingService, random.fork("voting-service"), options.bootstrapHeight, stamp)
    // Past stake validation the chain needs voters: by default a few always-online stakers.
    const stakers = options.stakers ?? Array.from({ length: 4 }, (_, i) => ({ owner: `staker-${i}`, canVote: () => true, ticketsPerBlock: 2 }))
    const dcrd = yield* makeSimDcrd({
      network,
      random: random.fork("dcrd"),
      hashScale: options.hashScale,
      networkHashrate: options.networkHashrate,
      bits: bitsForHashrate(network, options.networkHashrate + fleetHashrate, options.hashScale),
      bootstrapHeight: options.bootstrapHeight,
      stakers: voting === undefined ? stakers : [...stakers, voting.service.staker],
      orphanRate: options.orphanRate ?? 0,
      ...(options.voteDelayMillis === undefined ? {} : { voteDelayMillis: options.voteDelayMillis }),
      agendaVote: ruleChange === undefined ? undefined : { agenda: "blake3pow", choice: votesYes(ruleChange.yesPercent) },
      log: (event) => stamp(`dcrd ${JSON.stringify(event, bigintJson)}`),
    })
    voting?.attach(dcrd)
    const wallet = yield* makeSimWallet({ dcrd, log: (event) => stamp(`wallet ${JSON.stringify(event, bigintJson)}`) })
    const net = yield* makeMemoryNetwork({ random: random.fork("network"), faults: options.faults, log: (e) => stamp(describeNetwork(e)) })

    // The production pool's embedded store, in memory unless the run keeps a data directory (the
    // main job's demo: `<datadir>/pool.sqlite`, where `./dcrforge backup` and `status` look). Its
    // queries complete at the virtual instant they are made, so nothing waits for a settle.
    const store = poolStoreLayer.pipe(Layer.provideMerge(sqliteLayer({ file: options.dataDir === undefined ? undefined : join(options.dataDir, "pool.sqlite") })))
    const services = Layer.mergeAll(listener ?? net.listener, dcrd.layer, wallet.layer, noCrashPoints, store)
    const scope = yield* Effect.scope
    const servicesContext = yield* Layer.buildWithScope(services, scope)

    const pool = yield* runPool({
      network,
      accounting: {
        network,
        instance: "sim",
        scheme: options.scheme,
        feeBasisPoints: options.feeBasisPoints,
        minimumPayout: 1n,
        feeAddress,
        coinbaseMaturity: network.coinbaseMaturity,
        maxShareBatch: 2000,
        // A commit costs real time and a late reply costs a miner nothing: gather a few virtual
        // seconds of shares per commit (the pool's replies wait for it, as they must).
        shareCommitLingerMillis: options.shareCommitLingerMillis ?? 2000,
      },
      vardiffTargetSeconds: options.vardiffTargetSeconds,
      maxConnectionsPerHost: 100,
      // Difficulty 1 costs 2^256/powLimit real hashes, each standing for hashScale nominal ones:
      // the pool then sizes shares and reports hashrates in the devices' real units.
      session: { hashesPerUnitDifficulty: hashesPerUnitDifficulty(network.powLimit) * BigInt(Math.round(options.hashScale)) },
    }).pipe(Effect.provideContext(servicesContext))

    const miners: Array<World["miners"][number]> = []
    let index = 0
    for (const entry of options.fleet) {
      for (let i = 0; i < entry.count; i++, index++) {
        const name = `${entry.model}-${index}`
        const account = accounts[index % accounts.length]!
        const stats = newMinerStats()
        miners.push({ name, model: entry.model, account, stats })
        yield* Effect.forkIn(
          runMiner(
            {
              name,
              profile: profileOf(entry.model),
              username: `${account}.rig${index}`,
              host: `10.${(index >> 16) & 255}.${(index >> 8) & 255}.${index & 255}`,
              dial: dial ?? net.dial,
              random: random.fork(`miner/${index}`),
              powLimit: network.powLimit,
              hashScale: options.hashScale,
              hashrate: entry.hashrate,
              quirks: entry.quirks,
              onEvent: (e) => stamp(describeMiner(e)),
            },
            stats,
          ).pipe(Effect.scoped),
          scope,
        )
      }
    }

    const world: World = {
      options,
      network,
      random,
      log,
      dcrd,
      wallet,
      votingService: voting?.service,
      net,
      miners,
      accounts,
      feeAddress,
      pool,
      elapsed: Effect.map(Clock.currentTimeMillis, (t) => t - start),
      query: (effect) => Effect.provideContext(effect, servicesContext),
      services: servicesContext,
    }
    stamp(`start seed=${options.seed} network=${network.name} height=${dcrd.height()} miners=${miners.length}`)
    return world
  })

const bigintJson = (_key: string, value: unknown) => (typeof value === "bigint" ? value.toString() : value)

/** Lets promise-based work started by the step (timers and I/O callbacks) finish before virtual time moves on. */
const settle = Effect.promise(() => new Promise<void>((resolve) => setImmediate(resolve)))

/**
 * Moves virtual time forward in `stepMillis` steps until `done` says so or `untilMillis` passes.
 * Between steps every fiber woken by the step runs until it waits again, and the database's
 * promise work completes, so the run is the same whatever the machine's speed.
 */
export const advance = (options: {
  readonly untilMillis: number
  readonly stepMillis: number
  readonly done?: (() => boolean) | undefined
  /** Runs after every step; an effect it returns runs before the next one (a scripted action). */
  readonly onStep?: ((elapsedMillis: number) => void | Effect.Effect<void>) | undefined
  /** The world being run: its voting service, if any, does its per-tip work after every step (before `onStep`). */
  readonly world?: World | undefined
}) =>
  Effect.gen(function* () {
    const start = yield* Clock.currentTimeMillis
    for (;;) {
      const now = yield* Clock.currentTimeMillis
      const elapsed = now - start
      if (elapsed >= options.untilMillis || options.done?.() === true) return elapsed
      yield* TestClock.adjust(options.stepMillis)
      yield* settle
      yield* settle
      if (options.world?.votingService !== undefined) yield* options.world.votingService.afterStep
      const action = options.onStep?.(elapsed + options.stepMillis)
      if (action !== undefined) yield* action
    }
  })

/**
 * Runs `body` against a fresh world under TestClock, with every random draw from the seed
 * (the pool's own `Random` too) and logs quiet: the run log is the record.
 */
export const withWorld = <A, E>(options: WorldOptions, body: (world: World) => Effect.Effect<A, E, Scope.Scope>) =>
  Effect.gen(function* () {
    yield* TestClock.setTime(SIM_EPOCH_MILLIS)
    const world = yield* buildWorld(options)
    return yield* body(world)
  }).pipe(Effect.scoped, Random.withSeed(options.seed), Effect.provide(TestClock.layer()), Effect.provideService(References.MinimumLogLevel, "Error"))
