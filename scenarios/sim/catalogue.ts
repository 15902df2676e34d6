import { Effect } from "effect"
import { MAINNET, SIMNET, type NetworkParams } from "../../core/chain/params.ts"
import type { SimStaker } from "../../emulators/dcrd.ts"
import { DEFAULT_DEMO_CHOICES, demoWorldOptions } from "./demo.ts"
import { advance, scaleFleet, type FleetEntry, type World, type WorldOptions } from "./world.ts"

/** What a scenario's command line can change. */
export interface ScenarioParams {
  readonly seed: number
  /** Stop after this many blocks on the chain since the start (0 = no block limit). */
  readonly blocks?: number | undefined
  /** Stop after this much virtual time (hours). */
  readonly hours?: number | undefined
  /** Scale the fleet to about this many miners. */
  readonly miners?: number | undefined
  readonly network?: "mainnet" | "simnet" | undefined
}

interface Scenario {
  readonly name: string
  readonly description: string
  readonly world: (params: ScenarioParams) => WorldOptions
  /** Default stopping rule. */
  readonly hours: number
  readonly blocks: number
}

const PPLNS = { kind: "pplns", windowMultiple: { numerator: 2n, denominator: 1n } } as const

/** Every model, in the proportions a real Decred pool of the ASIC era saw. */
const MIXED_FLEET: ReadonlyArray<FleetEntry> = [
  { model: "innosilicon-d9", count: 20 },
  { model: "antminer-dr3", count: 20 },
  { model: "antminer-dr5", count: 25 },
  { model: "whatsminer-d1", count: 15 },
  { model: "obelisk-dcr1", count: 20 },
]

const BLAKE3_FLEET: ReadonlyArray<FleetEntry> = [
  { model: "gominer", count: 6 },
  { model: "nicehash", count: 2 },
  // Scaled like the main job's: at its real 5 kH/s it would wait at difficulty 1 for the whole run.
  { model: "cpuminer", count: 1, hashrate: 2e9 },
]

const baseNetwork = (params: ScenarioParams, fallback: NetworkParams) => (params.network === undefined ? fallback : params.network === "mainnet" ? MAINNET : SIMNET)

/** Stakers buying tickets and voting: most always online, some solo wallets that go away. */
const stakerPopulation = (count: number, offline: (index: number, height: number) => boolean, ticketsPerBlock = 1): ReadonlyArray<SimStaker> =>
  Array.from({ length: count }, (_, i) => ({ owner: `staker-${i}`, canVote: (height: number) => !offline(i, height), ticketsPerBlock }))

export const SCENARIOS: ReadonlyArray<Scenario> = [
  {
    name: "mainnet-day",
    description: "100 ASICs of every BLAKE-256 model on mainnet rules (BLAKE-256 era, past stake validation), PPLNS, one simulated day",
    hours: 24,
    blocks: 0,
    world: (p) => ({
      seed: p.seed,
      base: baseNetwork(p, MAINNET),
      blake3: "as-base",
      bootstrapHeight: MAINNET.stakeValidationHeight + 64,
      // A DR5 (35 TH/s) then does 0.35 real hashes a second: ~5 per 15-second share.
      hashScale: 1e14,
      networkHashrate: 20 * 100 * 20e12,
      fleet: scaleFleet(MIXED_FLEET, p.miners),
      accounts: 25,
      scheme: PPLNS,
      feeBasisPoints: 100,
      vardiffTargetSeconds: 15,
      stakers: stakerPopulation(40, () => false, 1),
    }),
  },
  {
    name: "simnet-blake3",
    description: "BLAKE3 miners (gominer, NiceHash, cpuminer) and one legacy D9 (refused at subscribe) on simnet rules",
    hours: 1,
    blocks: 300,
    world: (p) => ({
      seed: p.seed,
      base: baseNetwork(p, SIMNET),
      blake3: "forced",
      bootstrapHeight: SIMNET.stakeValidationHeight + 8,
      hashScale: 2e9,
      networkHashrate: 2e11,
      fleet: [...scaleFleet(BLAKE3_FLEET, p.miners), { model: "innosilicon-d9", count: 1 }],
      accounts: 4,
      scheme: PPLNS,
      feeBasisPoints: 100,
      vardiffTargetSeconds: 5,
      stakers: stakerPopulation(10, () => false, 2),
    }),
  },
  {
    name: "faults",
    description: "Miners that stall, storm, turn zombie, apply difficulty late or send short extranonces, on a lossy network with reorgs",
    hours: 6,
    blocks: 0,
    world: (p) => ({
      seed: p.seed,
      base: baseNetwork(p, MAINNET),
      blake3: "as-base",
      bootstrapHeight: MAINNET.stakeValidationHeight + 16,
      hashScale: 1e14,
      networkHashrate: 3 * 20 * 20e12,
      fleet: [
        { model: "antminer-dr5", count: 4 },
        { model: "innosilicon-d9", count: 3, quirks: { stalls: { meanSecondsBetween: 1800, seconds: 300 } } },
        { model: "whatsminer-d1", count: 3, quirks: { reconnectStorm: { meanSecondsBetween: 900 } } },
        { model: "obelisk-dcr1", count: 2, quirks: { zombieAfterSeconds: 3600 } },
        { model: "antminer-dr3", count: 2, quirks: { lateDifficultyShares: 3 } },
        { model: "innosilicon-d9", count: 1, quirks: { shortExtraNonce2: true } },
      ],
      accounts: 6,
      scheme: PPLNS,
      feeBasisPoints: 100,
      vardiffTargetSeconds: 15,
      faults: { latencyMillis: { min: 5, max: 120, jitter: 40 }, meanSecondsBetweenResets: 1200, dialFailureRate: 0.05, fragment: true },
      orphanRate: 0.1,
      stakers: stakerPopulation(20, (i, h) => i < 3 && h % 500 < 100, 1),
    }),
  },
  {
    name: "stake-pressure",
    description: "Stakers trying to buy far more tickets than the 20 a block admits, some solo wallets offline, on simnet rules",
    hours: 1,
    blocks: 400,
    world: (p) => ({
      seed: p.seed,
      base: baseNetwork(p, SIMNET),
      blake3: "forced",
      bootstrapHeight: 0,
      hashScale: 2e9,
      networkHashrate: 2e11,
      fleet: scaleFleet([{ model: "gominer", count: 3 }], p.miners),
      accounts: 2,
      scheme: PPLNS,
      feeBasisPoints: 100,
      vardiffTargetSeconds: 5,
      stakers: stakerPopulation(12, (i, h) => i % 4 === 0 && h % 60 < 30, 5),
    }),
  },
  {
    name: "blake3-transition",
    description:
      "The main job's --era transition: the BLAKE-256 ASICs mine while the stakers vote DCP-0011 in (16-block intervals), the pool switches at activation and closes the ASICs' sessions, the BLAKE3 miners take over",
    hours: 1,
    blocks: 100,
    world: (p) => demoWorldOptions(p.seed, undefined, { ...DEFAULT_DEMO_CHOICES, era: "transition", miners: p.miners, network: p.network ?? "simnet" }),
  },
  {
    name: "voting-service",
    description: "Stakers on simnet rules, one of them registered with a voting service of three voting servers that go down and come back empty (seeded); the fleet keeps them",
    hours: 1,
    blocks: 300,
    world: (p) => ({
      seed: p.seed,
      base: baseNetwork(p, SIMNET),
      blake3: "forced",
      bootstrapHeight: SIMNET.stakeValidationHeight + 8,
      hashScale: 2e9,
      networkHashrate: 2e11,
      fleet: scaleFleet([{ model: "gominer", count: 3 }], p.miners),
      accounts: 2,
      scheme: PPLNS,
      feeBasisPoints: 100,
      vardiffTargetSeconds: 5,
      stakers: stakerPopulation(6, (i, h) => i === 0 && h % 80 < 20, 2),
      votingService: { owner: "vsp-client", ticketsPerBlock: 4, servers: 3 },
    }),
  },
]

export const scenarioByName = (name: string): Scenario | undefined => SCENARIOS.find((s) => s.name === name)

export interface ScenarioSummary {
  readonly seed: number
  readonly simulatedMillis: number
  readonly height: number
  readonly blocksConnected: number
  readonly poolBlocks: number
  readonly sharesAccepted: number
  readonly sharesRejected: number
  readonly sharesStored: number
  /** Database transactions that wrote them (group commits). */
  readonly shareCommits: number
  readonly payouts: number
  readonly paidAtoms: bigint
  readonly ticketsVoted: number
  readonly ticketsMissed: number
  /** Where a vote the chain held ended (a world with `blake3: "voted"`). */
  readonly agenda?: string | undefined
  readonly logLines: number
  readonly logHash: string
}

const agendaSummary = (world: World): string | undefined => {
  const vote = world.dcrd.agendaVote()
  if (vote === undefined) return undefined
  const closed = world.pool.metrics.connectionsClosed["pow-switched"].value
  return `${vote.agenda} ${vote.state}${vote.activationHeight === undefined ? "" : ` (BLAKE3 from height ${vote.activationHeight}; ${closed} BLAKE-256 sessions closed at the switch)`}`
}

const summarize = (world: World, simulatedMillis: number, startHeight: number): ScenarioSummary => {
  const totals = world.miners.reduce((t, m) => ({ accepted: t.accepted + m.stats.accepted, rejected: t.rejected + m.stats.rejected }), { accepted: 0, rejected: 0 })
  const network = world.dcrd.model.totals
  let paid = 0n
  for (const amount of world.wallet.paidTo().values()) paid += amount
  return {
    seed: world.options.seed,
    simulatedMillis,
    height: world.dcrd.height(),
    blocksConnected: world.dcrd.height() - startHeight,
    poolBlocks: world.dcrd.counts().poolBlocks,
    sharesAccepted: totals.accepted,
    sharesRejected: totals.rejected,
    sharesStored: world.pool.accounting.counters.sharesWritten,
    shareCommits: world.pool.accounting.counters.shareBatches,
    payouts: world.wallet.published.length,
    paidAtoms: paid,
    ticketsVoted: network.counts.voted,
    ticketsMissed: network.missedEver,
    agenda: agendaSummary(world),
    logLines: world.log.count,
    logHash: world.log.hash(),
  }
}

/** Runs a world to its stopping rule; returns the summary. */
export const runScenario = (world: World, limits: { readonly hours: number; readonly blocks: number }, onStep?: (elapsed: number) => void) =>
  Effect.gen(function* () {
    const startHeight = world.dcrd.height()
    const untilMillis = limits.hours * 3_600_000
    const stepMillis = Math.max(100, Math.min(1000, (world.network.targetTimePerBlock * 1000) / 20))
    const elapsed = yield* advance({
      world,
      untilMillis: untilMillis === 0 ? Number.POSITIVE_INFINITY : untilMillis,
      stepMillis,
      done: limits.blocks > 0 ? () => world.dcrd.height() - startHeight >= limits.blocks : undefined,
      onStep,
    })
    return summarize(world, elapsed, startHeight)
  })

export const replayCommand = (scenario: string, params: ScenarioParams): string =>
  [
    "./dcrforge scenario run",
    scenario,
    `--seed ${params.seed}`,
    params.blocks !== undefined ? `--blocks ${params.blocks}` : "",
    params.hours !== undefined ? `--hours ${params.hours}` : "",
    params.miners !== undefined ? `--miners ${params.miners}` : "",
    params.network !== undefined ? `--network ${params.network}` : "",
  ]
    .filter((s) => s !== "")
    .join(" ")
