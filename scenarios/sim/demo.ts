import { Effect, Redacted } from "effect"
import { encodeAddress } from "../../core/chain/address.ts"
import { ATOMS_PER_DCR } from "../../core/chain/amounts.ts"
import { MAINNET, SIMNET, type NetworkParams } from "../../core/chain/params.ts"
import type { PayoutScheme } from "../../core/payout/schemes.ts"
import type { SimStaker } from "../../emulators/dcrd.ts"
import { memoryPost, type RpcHandler } from "../../emulators/json-rpc-server.ts"
import { SimRandom } from "../../emulators/random.ts"
import { makeSimStakingWallet, type SimStakingWallet } from "../../emulators/staking-wallet.ts"
import { runAutobuy, rpcAutobuyWallet } from "../../wallet/autobuy.ts"
import type { AutoBuyerConfig } from "../../wallet/autobuyer.ts"
import { makeJsonRpcCall } from "../../wallet/json-rpc.ts"
import { profileOf } from "../../core/stratum/profiles.ts"
import { makeWalletRpcHandler } from "./wallet-rpc.ts"
import { scaleFleet, type FleetEntry, type World, type WorldOptions } from "./world.ts"

// The main job's world (`./dcrforge run`): the pool on a simulated simnet-rules network, and
// stakers that show a ticket's whole life: a demo staker on the auto-buyer behind the wallet
// JSON-RPC server, solo stakers, and one whose wallet goes offline at times so that its tickets
// are missed (and revoked automatically, DCP-0009).

/** What the demo staker's wallet holds at start. */
const DEMO_STARTING_BALANCE = 500n * ATOMS_PER_DCR

/** The demo staker's auto-buyer: keeps 50 DCR, one ticket per block at any price, purchases good until the window ends. */
const DEMO_AUTO_BUYER: AutoBuyerConfig = { balanceToMaintain: 50n * ATOMS_PER_DCR, maxPrice: undefined, limitPerBlock: 1, expiryBlocks: undefined }

/** How often the auto-buyer looks for a new tip (dcrwallet hears of blocks by notification; a poll is enough here). */
const AUTO_BUYER_POLL_MILLIS = 250

/** The offline staker's schedule: in each span of this many blocks, maybe one outage. */
const OUTAGE_SPAN_BLOCKS = 48

interface DemoStakers {
  /** The address of the staker behind the wallet JSON-RPC server. */
  readonly demo: string
  readonly solo: ReadonlyArray<string>
  /** The staker whose wallet is offline at times. */
  readonly sometimesOffline: string
  /** All of them, for `WorldOptions.stakers`. */
  readonly stakers: ReadonlyArray<SimStaker>
}

const stakerAddress = (random: SimRandom, network: NetworkParams) => encodeAddress("p2pkh-ecdsa-secp256k1", random.bytes(20), network)

/**
 * The main job's stakers, from the seed. The demo staker buys nothing through the network's
 * round-robin (its auto-buyer does, `startDemoStaker`) and always votes; three solo stakers buy
 * two tickets a block while the pool is below target and always vote; the last one buys the same
 * and, in about half of every 48 blocks' span, is offline for 6 to 16 blocks: its tickets drawn
 * then are missed.
 */
export const demoStakers = (seed: number, network: NetworkParams = SIMNET): DemoStakers => {
  const random = new SimRandom(seed, "stakers")
  const demo = stakerAddress(random.fork("demo"), network)
  const solo = [0, 1, 2].map((i) => stakerAddress(random.fork(`solo/${i}`), network))
  const sometimesOffline = stakerAddress(random.fork("sometimes-offline"), network)
  const outages = new Map<number, { readonly from: number; readonly to: number } | undefined>()
  const outageIn = (span: number) => {
    if (!outages.has(span)) {
      const draw = random.fork(`outage/${span}`)
      const from = span * OUTAGE_SPAN_BLOCKS + draw.int(OUTAGE_SPAN_BLOCKS / 2)
      outages.set(span, draw.chance(0.5) ? { from, to: from + draw.between(6, 16) } : undefined)
    }
    return outages.get(span)
  }
  const online = (height: number) => {
    const outage = outageIn(Math.floor(height / OUTAGE_SPAN_BLOCKS))
    return outage === undefined || height < outage.from || height >= outage.to
  }
  return {
    demo,
    solo,
    sometimesOffline,
    stakers: [
      { owner: demo, canVote: () => true, ticketsPerBlock: 0 },
      ...solo.map((owner) => ({ owner, canVote: () => true, ticketsPerBlock: 2 })),
      { owner: sometimesOffline, canVote: online, ticketsPerBlock: 2 },
    ],
  }
}

/** The proof-of-work eras the main job can show (`./dcrforge run --era`). */
export const DEMO_ERAS = ["blake3", "blake256", "transition"] as const
type DemoEra = (typeof DEMO_ERAS)[number]

/** The payout schemes the main job offers by their short names (`--scheme`). */
export const DEMO_SCHEMES: { readonly [name: string]: PayoutScheme } = {
  pplns: { kind: "pplns", windowMultiple: { numerator: 2n, denominator: 1n } },
  pps: { kind: "pps" },
  prop: { kind: "proportional" },
  solo: { kind: "solo", atMiningAddress: false },
}

/** What the main job's command line chooses of its world. */
export interface DemoChoices {
  readonly era: DemoEra
  readonly scheme: PayoutScheme
  /** Scale the fleet to about this many miners (undefined: the era's own fleet). */
  readonly miners: number | undefined
  /** Whose rules the simulated chain keeps. */
  readonly network: "simnet" | "mainnet"
}

export const DEFAULT_DEMO_CHOICES: DemoChoices = { era: "blake3", scheme: DEMO_SCHEMES.pplns!, miners: undefined, network: "simnet" }

/** The BLAKE3 miners of every kind: a gominer (5 GH/s) does a couple of real hashes a second at the scale below. */
const BLAKE3_DEMO_FLEET: ReadonlyArray<FleetEntry> = [
  { model: "gominer", count: 4 },
  { model: "nicehash", count: 1, hashrate: 1e10 },
  { model: "cpuminer", count: 1, hashrate: 2e9 },
]

const ASIC_MODELS = ["innosilicon-d9", "antminer-dr3", "antminer-dr5", "whatsminer-d1", "obelisk-dcr1"] as const

/**
 * The transition's rule change vote: 16-block intervals with a quorum of 40 (half the votes an
 * interval holds at five a block), 90 % of tickets voting yes. Simnet and regnet vote over 320
 * blocks with a quorum of 160, which at one block a second would hold the switch back some
 * fifteen minutes; at 16 the vote opens at the first interval after stake validation, locks in
 * at the next and activates at the one after: about 40 blocks into the run.
 */
const TRANSITION_VOTE = { interval: 16, quorum: 40, yesPercent: 90 }

/**
 * Each era's chain and fleet (the rest of the world is the same in every era). The BLAKE3 CPU
 * miner stays out of the eras with BLAKE-256: it sends the user agent of its BLAKE-256
 * predecessor (dcrpool v1.2's cmd/miner), which a pool on a BLAKE-256 chain rightly takes it for.
 */
const eraWorld = (era: DemoEra): Pick<WorldOptions, "blake3" | "blake3Vote" | "hashScale" | "networkHashrate" | "fleet"> => {
  switch (era) {
    case "blake3":
      // Today's chain: the ASICs are in the fleet to be refused at subscribe.
      return { blake3: "forced", hashScale: 2e9, networkHashrate: 2e10, fleet: [...BLAKE3_DEMO_FLEET, ...ASIC_MODELS.map((model) => ({ model, count: 1 }))] }
    case "blake256":
      // The chain before DCP-0011 (no vote is held): the ASICs at their rated speeds, a real hash
      // standing for 10^12 (a DR5 does 35 a second), and the BLAKE3 miners there to be refused.
      return {
        blake3: "voted",
        hashScale: 1e12,
        networkHashrate: 5e13,
        fleet: [...ASIC_MODELS.map((model) => ({ model, count: 1 })), { model: "gominer", count: 2 }, { model: "nicehash", count: 1 }],
      }
    case "transition":
      // Both fleets under one scale: the ASICs at a thousandth of their rated speed (a DR5 at 35
      // GH/s), so that the chain's difficulty is of one size on both sides of the switch and
      // neither side's shares cost the machine more than a few hashes.
      return {
        blake3: "voted",
        blake3Vote: TRANSITION_VOTE,
        hashScale: 2e9,
        networkHashrate: 2e10,
        fleet: [...ASIC_MODELS.map((model) => ({ model, count: 1, hashrate: profileOf(model).nominalHashrate / 1000 })), ...BLAKE3_DEMO_FLEET.filter((f) => f.model !== "cpuminer")],
      }
  }
}

/**
 * The main job's world: miners of every model, a 1 % fee, the demo stakers; by default BLAKE3 on
 * simnet's rules and PPLNS (`choices` picks another era, scheme, fleet size or network's rules).
 */
export const demoWorldOptions = (seed: number, dataDir?: string, choices: DemoChoices = DEFAULT_DEMO_CHOICES): WorldOptions => {
  const base = choices.network === "mainnet" ? MAINNET : SIMNET
  const era = eraWorld(choices.era)
  return {
    seed,
    base,
    ...era,
    fleet: scaleFleet(era.fleet, choices.miners),
    bootstrapHeight: base.stakeValidationHeight + 8,
    accounts: 3,
    scheme: choices.scheme,
    feeBasisPoints: 100,
    vardiffTargetSeconds: 5,
    dataDir,
    shareCommitLingerMillis: 0,
    stakers: demoStakers(seed, base).stakers,
  }
}

interface DemoStaker {
  readonly wallet: SimStakingWallet
  /** dcrwallet's JSON-RPC for its wallet, for `serveJsonRpc`. */
  readonly handler: RpcHandler
}

/**
 * The demo staker's wallet in `world` (built from `demoWorldOptions`), with the production
 * auto-buyer (`runAutobuy`, what `./dcrforge stake autobuy` runs against a dcrwallet) running in
 * the scope over the wallet's own JSON-RPC, in memory: at every new tip it decides and buys
 * through `purchaseticket`, as it would on a real wallet.
 */
export const startDemoStaker = (world: World) =>
  Effect.gen(function* () {
    const dcrd = world.dcrd
    const wallet = makeSimStakingWallet({ dcrd, owner: demoStakers(world.options.seed, world.options.base).demo, startingBalance: DEMO_STARTING_BALANCE })
    const handler = makeWalletRpcHandler({ dcrd, wallet })
    const call = makeJsonRpcCall(
      { url: "http://demo-staker", user: "demo", password: Redacted.make(""), requestTimeoutMillis: 10_000 },
      memoryPost(() => handler),
      {
        server: "the demo staker's wallet",
      },
    )
    const autobuy = runAutobuy({ network: dcrd.network, account: "default", buyer: DEMO_AUTO_BUYER, dryrun: false, pollMillis: AUTO_BUYER_POLL_MILLIS }, rpcAutobuyWallet(call), (line) =>
      Effect.logDebug(`demo staker's auto-buyer: ${line}`),
    )
    yield* Effect.forkIn(autobuy, yield* Effect.scope)
    const staker: DemoStaker = { wallet, handler }
    return staker
  })
