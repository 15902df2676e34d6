import { Effect } from "effect"
import { encodeAddress } from "../../core/chain/address.ts"
import { ATOMS_PER_DCR } from "../../core/chain/amounts.ts"
import { SIMNET } from "../../core/chain/params.ts"
import type { SimStaker } from "../../emulators/dcrd.ts"
import type { RpcHandler } from "../../emulators/json-rpc-server.ts"
import { SimRandom } from "../../emulators/random.ts"
import { makeSimStakingWallet, type SimStakingWallet } from "../../emulators/staking-wallet.ts"
import { decideAutoBuy, type AutoBuyerConfig } from "../../wallet/autobuyer.ts"
import { makeWalletRpcHandler } from "./wallet-rpc.ts"
import type { World, WorldOptions } from "./world.ts"

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

const stakerAddress = (random: SimRandom) => encodeAddress("p2pkh-ecdsa-secp256k1", random.bytes(20), SIMNET)

/**
 * The main job's stakers, from the seed. The demo staker buys nothing through the network's
 * round-robin (its auto-buyer does, `startDemoStaker`) and always votes; three solo stakers buy
 * two tickets a block while the pool is below target and always vote; the last one buys the same
 * and, in about half of every 48 blocks' span, is offline for 6 to 16 blocks: its tickets drawn
 * then are missed.
 */
export const demoStakers = (seed: number): DemoStakers => {
  const random = new SimRandom(seed, "stakers")
  const demo = stakerAddress(random.fork("demo"))
  const solo = [0, 1, 2].map((i) => stakerAddress(random.fork(`solo/${i}`)))
  const sometimesOffline = stakerAddress(random.fork("sometimes-offline"))
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

/** The main job's world: BLAKE3 simnet, miners of every model, PPLNS with a 1 % fee, the demo stakers. */
export const demoWorldOptions = (seed: number, dataDir?: string): WorldOptions => ({
  seed,
  base: SIMNET,
  blake3: "forced",
  bootstrapHeight: SIMNET.stakeValidationHeight + 8,
  // A gominer (5 GH/s) does a couple of real hashes a second here: shares cost next to nothing.
  hashScale: 2e9,
  networkHashrate: 2e10,
  fleet: [
    { model: "gominer", count: 4 },
    { model: "nicehash", count: 1, hashrate: 1e10 },
    { model: "cpuminer", count: 1, hashrate: 2e9 },
    { model: "innosilicon-d9", count: 1 },
    { model: "antminer-dr3", count: 1 },
    { model: "antminer-dr5", count: 1 },
    { model: "whatsminer-d1", count: 1 },
    { model: "obelisk-dcr1", count: 1 },
  ],
  accounts: 3,
  scheme: { kind: "pplns", windowMultiple: { numerator: 2n, denominator: 1n } },
  feeBasisPoints: 100,
  vardiffTargetSeconds: 5,
  dataDir,
  shareCommitLingerMillis: 0,
  stakers: demoStakers(seed).stakers,
})

interface DemoStaker {
  readonly wallet: SimStakingWallet
  /** dcrwallet's JSON-RPC for its wallet, for `serveJsonRpc`. */
  readonly handler: RpcHandler
}

/**
 * The demo staker's wallet in `world` (built from `demoWorldOptions`), with its auto-buyer
 * running in the scope: at every new tip it asks `decideAutoBuy` and buys what it says.
 */
export const startDemoStaker = (world: World) =>
  Effect.gen(function* () {
    const dcrd = world.dcrd
    const wallet = makeSimStakingWallet({ dcrd, owner: demoStakers(world.options.seed).demo, startingBalance: DEMO_STARTING_BALANCE })
    let seenTip = ""
    const onTip = Effect.suspend(() => {
      if (dcrd.tipHash() === seenTip) return Effect.void
      seenTip = dcrd.tipHash()
      const decision = decideAutoBuy(DEMO_AUTO_BUYER, {
        params: dcrd.network,
        height: dcrd.height(),
        price: dcrd.model.nextStakeDifficulty(),
        feePerTicket: wallet.feePerTicket,
        spendable: wallet.balance().spendable,
      })
      // A refusal (the mempool's, or a balance that moved) waits for the next block, as dcrwallet's buyer does.
      return "expiry" in decision && decision.buy > 0 ? Effect.ignore(wallet.purchase(decision.buy, { expiry: decision.expiry })) : Effect.void
    })
    yield* Effect.forkIn(Effect.forever(Effect.andThen(Effect.sleep(AUTO_BUYER_POLL_MILLIS), onTip)), yield* Effect.scope)
    const staker: DemoStaker = { wallet, handler: makeWalletRpcHandler({ dcrd, wallet }) }
    return staker
  })
