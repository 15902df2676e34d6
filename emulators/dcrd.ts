import { Clock, Data, Effect, Layer, Queue, Result, type Scope, Stream } from "effect"
import { AGENDA_IDS, chainActivations, type AgendaActivations, type AgendaId, type AgendaState, type AgendaTable, type AgendaVoteProgress, type AgendaVoteState } from "../core/chain/agendas.ts"
import { bytesEqual, toHex } from "../core/chain/bytes.ts"
import { nextWorkBits, powAlgorithmAt, type BlockTime } from "../core/chain/difficulty.ts"
import { decodeGetworkData, encodeGetworkData, GETWORK_DATA_BYTES } from "../core/chain/getwork.ts"
import { blake256Hash, hashToDisplay } from "../core/chain/hash.ts"
import { blockHash, decodeHeader, encodeHeader, HEADER_BYTES, HeaderOffset, powHash } from "../core/chain/header.ts"
import { SIMNET, type NetworkParams } from "../core/chain/params.ts"
import { minimumVotesRequired, subsidySplitAt, workSubsidy } from "../core/chain/subsidy.ts"
import { bigToCompact, calcWork, compactToBig, hashMeetsTarget } from "../core/chain/targets.ts"
import { ChainRpc, ChainRpcError, ChainUnavailable, type ChainEvent, type ChainFailure, type WorkReason, type WorkTemplate } from "../core/services/chain.ts"
import type { TicketRejected } from "../core/stake/errors.ts"
import { StakeModel, type HeaderStakeFields, type StakeBlock, type Ticket, type TicketPurchase } from "../core/stake/model.ts"
import { AgendaVoteTracker, type AgendaVoteChoice } from "./agenda-vote.ts"
import type { SimRandom } from "./random.ts"

// ---- the difficulty scale ------------------------------------------------------------------

interface SimulatedNetworkOptions {
  /** The easiest target, compact (default simnet's 0x207fffff: difficulty 1 costs about 2 real hashes). */
  readonly powLimitBits?: number
  /**
   * "forced" (default): BLAKE3 proof of work from block 1, so ASERT anchors at block 1 as on simnet.
   * "as-base": the base network's blake3pow state (regnet and pre-DCP-0011 mainnet hash BLAKE-256).
   * "voted": BLAKE-256 until the chain's stakers vote DCP-0011 in (give the node an `agendaVote`).
   */
  readonly blake3?: "forced" | "as-base" | "voted"
  /**
   * Shorter rule change intervals than the base network's (320 blocks and a quorum of 160 on
   * simnet and regnet), so that a vote passes in minutes: regnet's own shortening, taken further.
   */
  readonly ruleChange?: { readonly interval: number; readonly quorum: number } | undefined
  /** ASERT's start bits (`workDiffV2Blake3StartBits`); default the new powLimitBits. */
  readonly startBits?: number
  /**
   * "current" (default): every agenda the base network has activated at some height holds from
   * block 1, so a short run has today's rules (subsidy split, automatic revocations, treasury)
   * instead of those of the network's first blocks. "as-base": the base network's table.
   * Either way DCP-0001 (sdiffalgorithm) holds from block 1: the stake model implements only it.
   */
  readonly agendas?: "current" | "as-base"
}

const FORCED: AgendaState = { kind: "forced" }
const VOTE: AgendaState = { kind: "vote-required" }

/**
 * The base network's parameters (maturities, stake validation height, subsidy, windows, ports,
 * prefixes...) at a difficulty a simulation can really hash: the proof-of-work limit is raised
 * to `powLimitBits`, so that one real hash stands for `hashScale` nominal ones (see
 * `bitsForHashrate`) while every consensus rule stays the base network's.
 */
export const simulatedNetwork = (base: NetworkParams, options: SimulatedNetworkOptions = {}): NetworkParams => {
  const powLimitBits = options.powLimitBits ?? SIMNET.powLimitBits
  // Simnet's limit is 2^255 - 1, whose compact form truncates; keep the exact value for its bits.
  const powLimit = powLimitBits === SIMNET.powLimitBits ? SIMNET.powLimit : compactToBig(powLimitBits)
  if (powLimit <= 0n) throw new RangeError(`powLimitBits 0x${powLimitBits.toString(16)} encodes no positive target`)
  const startBits = options.startBits ?? powLimitBits
  const start = compactToBig(startBits)
  if (start <= 0n || start > powLimit) {
    throw new RangeError(`startBits 0x${startBits.toString(16)} is outside [1, powLimit]; use bitsForHashrate or a target at most powLimit`)
  }
  const blake3 = options.blake3 ?? "forced"
  const agendaMode = options.agendas ?? "current"
  const agendas: Partial<Record<AgendaId, AgendaState>> = {}
  for (const id of AGENDA_IDS) {
    const state = base.agendas[id]
    if (id === "blake3pow") agendas[id] = blake3 === "forced" ? FORCED : blake3 === "voted" ? VOTE : state
    else if (id === "sdiffalgorithm") agendas[id] = FORCED
    else agendas[id] = agendaMode === "current" && state.kind === "active" ? FORCED : state
  }
  return {
    ...base,
    powLimit,
    powLimitBits,
    workDiffV2Blake3StartBits: startBits,
    blake3AnchorHeight: blake3 === "as-base" ? base.blake3AnchorHeight : undefined,
    agendas: agendas as AgendaTable,
    ...(options.ruleChange === undefined ? {} : { ruleChangeActivationInterval: options.ruleChange.interval, ruleChangeActivationQuorum: options.ruleChange.quorum }),
  }
}

/** Real hashes expected per block at `bits`: 2^256 / (target + 1). A float: it only drives draws. */
const expectedHashesAt = (bits: number): number => Number(calcWork(bits))

/**
 * The compact bits at which `nominalHashrate` (H/s, in the units miners are rated in) finds a
 * block every `targetTimePerBlock` seconds on average, when each real hash stands for
 * `hashScale` nominal ones. Clamped to the network's proof-of-work limit.
 */
export const bitsForHashrate = (network: NetworkParams, nominalHashrate: number, hashScale: number): number => {
  if (!(hashScale > 0) || !Number.isFinite(hashScale)) throw new RangeError(`hashScale must be a positive number, got ${hashScale}`)
  if (!(nominalHashrate >= 0) || !Number.isFinite(nominalHashrate)) {
    throw new RangeError(`nominal hashrate must be a non-negative number, got ${nominalHashrate}`)
  }
  const hashesPerBlock = (nominalHashrate / hashScale) * network.targetTimePerBlock
  if (!(hashesPerBlock > 1)) return network.powLimitBits
  // 2^256 / hashes - 1, with ten bits of the float's fraction kept.
  const scaled = BigInt(Math.round(hashesPerBlock * 1024))
  let target = ((1n << 256n) * 1024n) / scaled - 1n
  if (target > network.powLimit) target = network.powLimit
  if (target < 1n) target = 1n
  return bigToCompact(target)
}

// ---- what the simulated dcrd is made of ----------------------------------------------------

/** Who found a block: the pool (through `submitWork`) or the rest of the network. */
type BlockFinder = "pool" | "network"

/** A block the simulated node has seen (main chain or not). */
interface SimBlock {
  /** Display (byte-reversed) hex, as dcrd prints it. */
  readonly hash: string
  readonly height: number
  /** The serialized 180-byte header. */
  readonly header: Uint8Array
  readonly timestamp: number
  readonly bits: number
  readonly finder: BlockFinder
  readonly tickets: ReadonlyArray<string>
  readonly votes: ReadonlyArray<string>
  readonly revocations: ReadonlyArray<string>
  /** What its coinbase pays the miner (the proof-of-work subsidy with its voters and split). */
  readonly workSubsidy: bigint
  /** False once a reorganisation or a re-mine took it off the main chain (it never comes back). */
  readonly onMainChain: boolean
}

type ChainBlock = { -readonly [K in keyof SimBlock]: SimBlock[K] } & {
  readonly hashBytes: Uint8Array
  readonly time: BlockTime
}

/** A simulated ticket holder: buys at the current price, and votes when its wallet is up. */
export interface SimStaker {
  readonly owner: string
  /**
   * Whether its wallet votes `ticket` (a ticket id) in the block at `height`: a solo wallet
   * whenever it is up; a voting service's client when a voting server holding the ticket is.
   */
  readonly canVote: (height: number, ticket: string) => boolean
  /**
   * Tickets it buys per block while the network's tickets (mempool, immature and live) are
   * below the pool's target size (default: an equal share of MaxFreshStakePerBlock).
   */
  readonly ticketsPerBlock?: number
}

/** What the node did, for the run log: one semantic event each, in the order it happened. */
export type SimDcrdEvent =
  | { readonly _tag: "Bootstrapped"; readonly atMillis: number; readonly height: number; readonly hash: string; readonly remines: number }
  | {
      readonly _tag: "BlockConnected"
      readonly atMillis: number
      readonly height: number
      readonly hash: string
      readonly finder: BlockFinder
      readonly votes: number
      readonly tickets: number
      readonly revocations: number
    }
  | { readonly _tag: "BlockDisconnected"; readonly atMillis: number; readonly height: number; readonly hash: string; readonly finder: BlockFinder }
  | { readonly _tag: "Remined"; readonly atMillis: number; readonly height: number; readonly onlineWinners: number }
  | {
      readonly _tag: "Reorganized"
      readonly atMillis: number
      readonly cause: "orphan-race" | "reorg"
      readonly forkHeight: number
      readonly replaced: number
      readonly added: number
    }
  | { readonly _tag: "Stalled"; readonly atMillis: number; readonly height: number; readonly reason: string }
  | { readonly _tag: "WorkIssued"; readonly atMillis: number; readonly height: number; readonly reason: WorkReason; readonly voters: number; readonly template: string }
  | { readonly _tag: "WorkRefused"; readonly atMillis: number; readonly height: number; readonly reason: string }
  | {
      readonly _tag: "Submission"
      readonly atMillis: number
      readonly height: number
      readonly hash: string
      readonly accepted: boolean
      readonly reason: string
    }
  | { readonly _tag: "TicketsSubmitted"; readonly atMillis: number; readonly owner: string; readonly count: number; readonly price: bigint }
  | { readonly _tag: "Offline"; readonly atMillis: number; readonly offline: boolean }
  | { readonly _tag: "ConnectionDropped"; readonly atMillis: number; readonly forMillis: number }
  | { readonly _tag: "Reconnected"; readonly atMillis: number }
  | { readonly _tag: "AgendaVote"; readonly atMillis: number; readonly agenda: AgendaId; readonly height: number; readonly state: AgendaVoteState; readonly activationHeight: number | undefined }

/** One line for a run log (the log adds the time). */
export const describeSimDcrdEvent = (e: SimDcrdEvent): string => {
  switch (e._tag) {
    case "Bootstrapped":
      return `dcrd bootstrapped height=${e.height} tip=${e.hash} remines=${e.remines}`
    case "BlockConnected":
      return `dcrd connected height=${e.height} hash=${e.hash} finder=${e.finder} votes=${e.votes} tickets=${e.tickets} revocations=${e.revocations}`
    case "BlockDisconnected":
      return `dcrd disconnected height=${e.height} hash=${e.hash} finder=${e.finder}`
    case "Remined":
      return `dcrd remined height=${e.height} online-winners=${e.onlineWinners}`
    case "Reorganized":
      return `dcrd reorganized cause=${e.cause} fork=${e.forkHeight} replaced=${e.replaced} added=${e.added}`
    case "Stalled":
      return `dcrd stalled height=${e.height}: ${e.reason}`
    case "WorkIssued":
      return `dcrd work height=${e.height} reason=${e.reason} voters=${e.voters} template=${e.template}`
    case "WorkRefused":
      return `dcrd no-work height=${e.height}: ${e.reason}`
    case "Submission":
      return `dcrd submission height=${e.height} hash=${e.hash} accepted=${e.accepted} ${e.reason}`
    case "TicketsSubmitted":
      return `dcrd tickets owner=${e.owner} count=${e.count} price=${e.price}`
    case "Offline":
      return `dcrd offline=${e.offline}`
    case "ConnectionDropped":
      return `dcrd connection-dropped for=${e.forMillis}ms`
    case "Reconnected":
      return "dcrd reconnected"
    case "AgendaVote":
      return `dcrd agenda ${e.agenda} ${e.state} from height ${e.height}${e.activationHeight === undefined ? "" : ` activation=${e.activationHeight}`}`
  }
}

interface SimDcrdCounts {
  /** Blocks the pool found that the node announced (orphans included). */
  readonly poolBlocks: number
  /** Blocks the rest of the network found that the node announced (orphans included). */
  readonly networkBlocks: number
  /** Pool blocks that left the main chain (orphan races, re-mines, reorgs). */
  readonly orphanedPoolBlocks: number
  /** Tips replaced by another version because too few of their winners could vote. */
  readonly remines: number
  /** Heights at which the chain could not grow for long (see `stallAfterRemines`). */
  readonly stalls: number
  readonly reorgs: number
  /** Notifications lost while the node was offline or the connection down. */
  readonly lostNotifications: number
}

/** The network could not build a block on the tip. */
class SimChainStalled extends Data.TaggedError("SimChainStalled")<{ readonly height: number; readonly reason: string }> {
  override get message(): string {
    return `simulated network cannot extend the chain at height ${this.height}: ${this.reason}; give the stakers more tickets or more online voters`
  }
}

/** A reorganisation deeper than the stake model keeps undo data for. */
class ReorgTooDeep extends Data.TaggedError("ReorgTooDeep")<{ readonly depth: number; readonly possible: number }> {
  override get message(): string {
    return `cannot reorganise ${this.depth} blocks: only the last ${this.possible} can be disconnected; raise maxReorgDepth or reorganise fewer blocks`
  }
}

export interface SimDcrdOptions {
  /** Parameters from `simulatedNetwork`. */
  readonly network: NetworkParams
  readonly random: SimRandom
  /** Nominal hashes per real hash. */
  readonly hashScale: number
  /** Nominal H/s of everyone but the pool; 0 for a network that never finds blocks. */
  readonly networkHashrate: number
  /**
   * Where the chain's difficulty starts (default `bitsForHashrate(networkHashrate)`): ASERT's
   * start bits (replacing the network's) and, in the BLAKE-256 era, the genesis bits that the
   * window algorithm starts from.
   */
  readonly bits?: number
  /**
   * Blocks built instantly at start, before anyone connects, `targetTimePerBlock` apart and
   * ending at the clock's current time (so the clock must be past the network's genesis time
   * plus that span: set it first, e.g. `TestClock.setTime`).
   */
  readonly bootstrapHeight?: number
  readonly stakers?: ReadonlyArray<SimStaker>
  /**
   * When each vote reaches the node after its block, drawn per vote. Default: from 1/1500 to
   * 1/150 of the target block time (200..2000 ms on mainnet's 5 minutes, 1..7 ms on simnet's
   * one second, where the voting wallets are local): a wait that is a large part of the block
   * time would leave ASERT cutting the difficulty until blocks come the moment votes are in.
   */
  readonly voteDelayMillis?: { readonly min: number; readonly max: number }
  /** Probability that a pool block loses a race to a sibling a few seconds later (default 0). */
  readonly orphanRate?: number
  /** How long after a pool block the losing race resolves (default 2..8 s). */
  readonly orphanRaceMillis?: { readonly min: number; readonly max: number }
  readonly log?: (event: SimDcrdEvent) => void
  /** Deepest reorganisation possible (the stake model's undo depth; default 16). */
  readonly maxReorgDepth?: number
  /** Consecutive re-mines of one height after which the chain counts as stalled (default 20). */
  readonly stallAfterRemines?: number
  /**
   * A stake vote on an agenda the network leaves to a vote (`simulatedNetwork`'s blake3 "voted"):
   * each vote in a block says yes, no or abstain as `choice` answers, and the node counts them
   * per rule change interval as dcrd does (agenda-vote.ts). Without one such agendas never activate.
   */
  readonly agendaVote?: { readonly agenda: AgendaId; readonly choice: (ticket: string, height: number) => AgendaVoteChoice } | undefined
}

export interface SimDcrd {
  /** The parameters the chain runs on (`network` with the starting bits applied). */
  readonly network: NetworkParams
  /** The chain's activations: an agenda voted in appears here once it is locked in. */
  readonly activations: AgendaActivations
  /** Where the `agendaVote` stands for the next block; undefined without one. */
  agendaVote(): AgendaVoteProgress | undefined
  /** The stake state of the main chain: read it, do not drive it. */
  readonly model: StakeModel
  readonly service: ChainRpc["Service"]
  readonly layer: Layer.Layer<ChainRpc>
  height(): number
  /** Display hex of the tip. */
  tipHash(): string
  counts(): SimDcrdCounts
  /** Any block seen by hash (display hex), orphans included. */
  block(hash: string): SimBlock | undefined
  /** The main chain's block at a height. */
  blockAt(height: number): SimBlock | undefined
  /** Blocks the pool found, in order (orphans included). */
  poolBlocks(): ReadonlyArray<SimBlock>
  /** Adds or replaces a staker (owners not known vote whenever called). */
  setStaker(staker: SimStaker): void
  /** Ticket purchases into the mempool at the current price; dcrd's refusal otherwise. */
  buyTickets(owner: string, count: number, options?: { readonly expiry?: number; readonly fee?: bigint }): Effect.Effect<ReadonlyArray<Ticket>, TicketRejected>
  /** dcrd down: every call fails with ChainUnavailable and notifications are lost until it is back. */
  setOffline(offline: boolean): Effect.Effect<void>
  /** The websocket drops: calls fail and notifications are lost until `Reconnected`, `forMillis` later. */
  dropConnection(forMillis?: number): Effect.Effect<void>
  /** The network replaces the last `depth` blocks with a sibling branch one block longer. */
  reorg(depth: number): Effect.Effect<void, ReorgTooDeep>
  /** Someone else finds a block now, carrying every online winner's vote (or re-mines the tip when too few are online). */
  readonly mineNetworkBlock: Effect.Effect<SimBlock, SimChainStalled>
}

// ---- the node ------------------------------------------------------------------------------

/** Something to do after a virtual delay. */
interface Timer {
  readonly delayMillis: number
  readonly fire: () => void
}

interface Template {
  /** Merkle root hex: the template's identity at submission. */
  readonly id: string
  readonly height: number
  readonly prevHash: string
  readonly content: Omit<StakeBlock, "header">
  readonly merkleRoot: Uint8Array
}

type StakeContent = Omit<StakeBlock, "header">

// What dcrd writes since DCP-0011; nothing in the pool reads them.
const BLOCK_VERSION = 10
const STAKE_VERSION = 10
/** dcrd's medianTimeBlocks: a block's time must be after the median of the last 11. */
const MEDIAN_TIME_BLOCKS = 11
/** dcrd's maxTimeOffset: at most two hours ahead of the node's clock. */
const MAX_FUTURE_SECONDS = 2 * 60 * 60
/** Tries at drawing a version of a block with enough online winners before giving up. */
const MAX_REDRAWS = 1_000
const TICKET_FEE = 10_000n
const TICKET_SIZE = 300
/** dcrd prunes getwork templates this many blocks below the tip. */
const TEMPLATE_EXPIRY_BLOCKS = 3

/** dcrd's `getblock` answer for a hash it does not know (ErrRPCBlockNotFound). */
const blockNotFound = (method: string, hash: string) => new ChainRpcError({ method, code: -5, reason: `No information available about block ${hash}` })

/**
 * The synchronous heart of the simulated node: the chain, the stake model, templates, votes in
 * flight and every state transition. Transitions queue timers; the Effect shell forks them.
 */
class SimNode {
  readonly params: NetworkParams
  /** Written only by `refreshVote` (an agenda voted in); the stake model reads the same object. */
  readonly activations: { [K in AgendaId]?: number }
  private readonly vote: AgendaVoteTracker | undefined
  private lastVoteState: AgendaVoteState | undefined
  readonly model: StakeModel
  private readonly options: SimDcrdOptions
  private readonly nowMillis: () => number
  private readonly deliver: (event: ChainEvent) => void
  private readonly minVotes: number
  private readonly svh: number

  private readonly networkRandom: SimRandom
  private readonly voteRandom: SimRandom
  private readonly orphanRandom: SimRandom
  private readonly ticketRandom: SimRandom
  private readonly headerRandom: SimRandom
  private readonly templateRandom: SimRandom
  private readonly remineRandom: SimRandom

  private readonly byHash = new Map<string, ChainBlock>()
  private readonly mainChain: Array<ChainBlock> = []
  private readonly foundByPool: Array<ChainBlock> = []
  private readonly stakers = new Map<string, SimStaker>()
  private readonly templates = new Map<string, Template>()
  private currentTemplate: Template | undefined
  private timers: Array<Timer> = []

  /** Changes with every tip: timers of an older tip find it different and do nothing. */
  private epoch = 0
  /** Votes on the tip that reached the node, in arrival order. */
  private votes: Array<string> = []
  /** Whether a block can be built on the tip (below SVH, or the minimum votes are in). */
  private workAvailable = false
  private remineStreak = { height: -1, count: 0 }
  private quiet = true
  private offline = false
  private linkUp = true
  private linkGeneration = 0

  private readonly tally = {
    pool: 0,
    network: 0,
    orphanedPoolBlocks: 0,
    remines: 0,
    stalls: 0,
    reorgs: 0,
    lostNotifications: 0,
  }

  constructor(options: SimDcrdOptions, nowMillis: () => number, deliver: (event: ChainEvent) => void) {
    this.options = options
    this.nowMillis = nowMillis
    this.deliver = deliver
    const startBits = options.bits ?? bitsForHashrate(options.network, options.networkHashrate, options.hashScale)
    const startTarget = compactToBig(startBits)
    if (startTarget <= 0n || startTarget > options.network.powLimit) {
      throw new RangeError(`starting bits 0x${startBits.toString(16)} are outside [1, powLimit] of ${options.network.name}; make the network with simulatedNetwork`)
    }
    this.params = { ...options.network, workDiffV2Blake3StartBits: startBits }
    this.activations = { ...chainActivations(this.params.agendas) }
    this.vote = options.agendaVote === undefined ? undefined : new AgendaVoteTracker(options.agendaVote.agenda, this.params, options.agendaVote.choice)
    this.model = new StakeModel(this.params, this.activations, { maxReorgDepth: options.maxReorgDepth ?? 16 })
    this.minVotes = minimumVotesRequired(this.params)
    this.svh = this.params.stakeValidationHeight
    const random = options.random
    this.networkRandom = random.fork("dcrd/network-blocks")
    this.voteRandom = random.fork("dcrd/votes")
    this.orphanRandom = random.fork("dcrd/orphan-races")
    this.ticketRandom = random.fork("dcrd/tickets")
    this.headerRandom = random.fork("dcrd/headers")
    this.templateRandom = random.fork("dcrd/templates")
    this.remineRandom = random.fork("dcrd/remines")
    for (const s of options.stakers ?? []) this.stakers.set(s.owner, s)

    // Genesis is the network's own block; its bits, for the BLAKE-256 window algorithm, are the
    // simulation's start (the real genesis bits are a real-network difficulty).
    const genesisHeader = this.model.tipHeaderBytes
    const genesis = Result.getOrThrow(decodeHeader(genesisHeader))
    const hashBytes = blockHash(genesisHeader)
    const genesisBlock: ChainBlock = {
      hash: hashToDisplay(hashBytes),
      hashBytes,
      height: 0,
      header: genesisHeader,
      timestamp: genesis.timestamp,
      bits: startBits,
      time: { height: 0, timestamp: genesis.timestamp, bits: startBits },
      finder: "network",
      tickets: [],
      votes: [],
      revocations: [],
      workSubsidy: 0n,
      onMainChain: true,
    }
    this.byHash.set(genesisBlock.hash, genesisBlock)
    this.mainChain.push(genesisBlock)
    this.bootstrap(options.bootstrapHeight ?? 0, genesis.timestamp)
  }

  // ---- reading ---------------------------------------------------------------------------

  get tip(): ChainBlock {
    return this.mainChain[this.mainChain.length - 1]!
  }

  block(hash: string): SimBlock | undefined {
    return this.byHash.get(hash)
  }

  blockAt(height: number): SimBlock | undefined {
    return this.mainChain[height]
  }

  poolBlocks(): ReadonlyArray<SimBlock> {
    return this.foundByPool
  }

  counts(): SimDcrdCounts {
    const t = this.tally
    return {
      poolBlocks: t.pool,
      networkBlocks: t.network,
      orphanedPoolBlocks: t.orphanedPoolBlocks,
      remines: t.remines,
      stalls: t.stalls,
      reorgs: t.reorgs,
      lostNotifications: t.lostNotifications,
    }
  }

  setStaker(staker: SimStaker): void {
    this.stakers.set(staker.owner, staker)
  }

  /** Timers queued by the last transitions, for the shell to fork. */
  takeTimers(): Array<Timer> {
    const out = this.timers
    this.timers = []
    return out
  }

  /** Whether calls reach the node now; undefined when they do, else why not. */
  unreachable(): string | undefined {
    if (this.offline) return "the simulated dcrd is offline"
    if (!this.linkUp) return "the websocket connection dropped; reconnecting"
    return undefined
  }

  // ---- time and difficulty ---------------------------------------------------------------

  private nowSeconds(): number {
    return Math.floor(this.nowMillis() / 1000)
  }

  private readonly ancestorAt = (height: number): BlockTime => this.mainChain[height]!.time

  /** Bits the next block needs if stamped `timestamp` (only testnet's minimum-difficulty rule reads the time). */
  private requiredBits(timestamp: number): number {
    return nextWorkBits(this.params, this.activations, this.tip.time, this.ancestorAt, timestamp)
  }

  private medianTimePast(): number {
    const from = Math.max(0, this.mainChain.length - MEDIAN_TIME_BLOCKS)
    const times = this.mainChain.slice(from).map((b) => b.timestamp)
    times.sort((a, b) => a - b)
    return times[Math.floor(times.length / 2)]!
  }

  /** Now, or just after the median time past when blocks came faster than the clock ticks (dcrd's medianAdjustedTime). */
  private nextTimestamp(): number {
    return Math.max(this.nowSeconds(), this.medianTimePast() + 1)
  }

  /**
   * Mean virtual milliseconds until the rest of the network finds the next block (without a
   * network hashrate, targetTimePerBlock: re-mines of a tip with too few voters still happen).
   */
  private networkBlockMeanMillis(): number {
    const realHashesPerSecond = this.options.networkHashrate / this.options.hashScale
    if (!(realHashesPerSecond > 0)) return this.params.targetTimePerBlock * 1000
    return (expectedHashesAt(this.requiredBits(this.nextTimestamp())) / realHashesPerSecond) * 1000
  }

  // ---- stake helpers ---------------------------------------------------------------------

  private ownerOf(ticket: string): string {
    return this.model.ticket(ticket)?.purchase.owner ?? ""
  }

  private canVote(ticket: string, height: number): boolean {
    const staker = this.stakers.get(this.ownerOf(ticket))
    return staker === undefined ? true : staker.canVote(height, ticket)
  }

  /** The tip's winners whose wallets vote in the block at `height`, in draw order. */
  private onlineWinners(height: number): Array<string> {
    return this.model.nextWinners.filter((id) => this.canVote(id, height))
  }

  /** Owner-made revocations for the next block (only before DCP-0009; the block does its own after). */
  private revocationsFor(height: number): Array<string> {
    if (this.model.autoRevocations) return []
    return this.model
      .unrevokedTickets()
      .filter((id) => this.canVote(id, height))
      .slice(0, 255)
  }

  private nextContent(votes: ReadonlyArray<string>): StakeContent {
    const height = this.model.height + 1
    return {
      tickets: this.model.selectTickets(),
      votes: height >= this.svh ? [...votes] : [],
      revocations: this.revocationsFor(height),
    }
  }

  private purchase(owner: string, fee: bigint, expiry: number): TicketPurchase {
    const price = this.model.nextStakeDifficulty()
    return {
      hash: this.ticketRandom.bytes(32),
      owner,
      price,
      fee,
      size: TICKET_SIZE,
      commitments: [{ address: owner, amount: price + fee }],
      expiry,
    }
  }

  /**
   * The stakers' buying for the next block: each up to its tickets per block, round robin,
   * while the mempool has room for a block's worth and the network holds fewer tickets than
   * the pool's target size (TicketsPerBlock x (TicketPoolSize + TicketMaturity)).
   */
  private stakersBuy(): void {
    if (this.stakers.size === 0 || this.model.height + 1 < this.params.stakeEnabledHeight) return
    const p = this.params
    const counts = this.model.totals.counts
    const target = p.ticketsPerBlock * (p.ticketPoolSize + p.ticketMaturity)
    let room = Math.min(p.maxFreshStakePerBlock - counts.mempool, target - (counts.live + counts.immature + counts.mempool))
    if (room <= 0) return
    const equalShare = Math.ceil(p.maxFreshStakePerBlock / this.stakers.size)
    const quotas = [...this.stakers.values()].map((s) => ({ owner: s.owner, quota: s.ticketsPerBlock ?? equalShare }))
    const rounds = Math.max(0, ...quotas.map((q) => q.quota))
    for (let round = 0; round < rounds && room > 0; round++) {
      for (const q of quotas) {
        if (room <= 0) break
        if (q.quota <= round) continue
        if (Result.isSuccess(this.model.submitTicket(this.purchase(q.owner, TICKET_FEE, 0)))) room--
      }
    }
  }

  // ---- building and connecting blocks ----------------------------------------------------

  private buildHeader(content: StakeContent, timestamp: number, bits: number, merkleRoot: Uint8Array, nonce: number): { header: Uint8Array; fields: HeaderStakeFields } {
    const fields = this.model.headerStakeFields(content)
    const header = encodeHeader({
      version: BLOCK_VERSION,
      prevBlock: this.tip.hashBytes,
      merkleRoot,
      stakeRoot: stakeRootOf(content),
      voteBits: 1,
      finalState: fields.finalState,
      voters: fields.voters,
      freshStake: fields.freshStake,
      revocations: fields.revocations,
      poolSize: fields.poolSize,
      bits,
      sbits: fields.sbits,
      height: fields.height,
      size: blockSizeOf(content),
      timestamp,
      nonce,
      extraData: new Uint8Array(32),
      stakeVersion: STAKE_VERSION,
    })
    return { header, fields }
  }

  /** Applies a block on the tip (stake rules checked by the model); nothing is announced yet. */
  private attach(header: Uint8Array, content: StakeContent, finder: BlockFinder): ChainBlock | string {
    const connected = this.model.connectBlock({ header, ...content })
    if (Result.isFailure(connected)) return connected.failure.message
    const h = Result.getOrThrow(decodeHeader(header))
    const hashBytes = blockHash(header)
    const block: ChainBlock = {
      hash: hashToDisplay(hashBytes),
      hashBytes,
      height: h.height,
      header,
      timestamp: h.timestamp,
      bits: h.bits,
      time: { height: h.height, timestamp: h.timestamp, bits: h.bits },
      finder,
      tickets: content.tickets,
      votes: content.votes,
      revocations: content.revocations,
      workSubsidy: workSubsidy(this.params, h.height, h.voters, subsidySplitAt(this.activations, h.height)),
      onMainChain: true,
    }
    this.byHash.set(block.hash, block)
    this.mainChain.push(block)
    if (finder === "pool") this.foundByPool.push(block)
    this.refreshVote()
    return block
  }

  private readonly votedBlockAt = (height: number) => this.mainChain[height]

  /**
   * The voted agenda's activation as the main chain now says (known from lock-in, an interval
   * ahead), so that the next block's proof of work and difficulty follow it; logged on change.
   */
  private refreshVote(): void {
    if (this.vote === undefined) return
    const next = this.tip.height + 1
    const activation = this.vote.activationFor(next, this.votedBlockAt)
    if (activation === undefined) delete this.activations[this.vote.agenda]
    else this.activations[this.vote.agenda] = activation
    const state = this.vote.stateFor(next, this.votedBlockAt)
    if (state !== this.lastVoteState) {
      this.lastVoteState = state
      this.log({ _tag: "AgendaVote", atMillis: this.nowMillis(), agenda: this.vote.agenda, height: next, state, activationHeight: activation })
    }
  }

  agendaVote(): AgendaVoteProgress | undefined {
    return this.vote?.progress(this.tip.height, this.votedBlockAt)
  }

  /** The network's version of the next block: its own header (random roots and nonce), no real hashing. */
  private attachNetworkBlock(content: StakeContent, timestamp: number): ChainBlock | string {
    const { header } = this.buildHeader(content, timestamp, this.requiredBits(timestamp), this.headerRandom.bytes(32), this.headerRandom.next32())
    return this.attach(header, content, "network")
  }

  /** Takes the tip off the main chain (not yet announced). */
  private detach(): ChainBlock {
    const block = this.tip
    this.model.disconnectBlock()
    this.mainChain.pop()
    this.refreshVote()
    block.onMainChain = false
    if (block.finder === "pool") this.tally.orphanedPoolBlocks++
    return block
  }

  /** Drops a block nobody was told about (a version replaced while a branch was built). */
  private forget(block: ChainBlock): void {
    this.byHash.delete(block.hash)
    if (block.finder === "pool") this.tally.orphanedPoolBlocks--
  }

  private announceConnected(block: ChainBlock): void {
    this.tally[block.finder]++
    this.emit({ _tag: "BlockConnected", header: block.header })
    this.log({
      _tag: "BlockConnected",
      atMillis: this.nowMillis(),
      height: block.height,
      hash: block.hash,
      finder: block.finder,
      votes: block.votes.length,
      tickets: block.tickets.length,
      revocations: block.revocations.length,
    })
  }

  private announceDisconnected(block: ChainBlock): void {
    this.emit({ _tag: "BlockDisconnected", header: block.header })
    this.log({ _tag: "BlockDisconnected", atMillis: this.nowMillis(), height: block.height, hash: block.hash, finder: block.finder })
  }

  /** The tip's replacement by another version of itself: same transactions, new header, new lottery draw. */
  private redrawTip(timestamp: number): ChainBlock | string {
    const old = this.detach()
    return this.attachNetworkBlock({ tickets: old.tickets, votes: old.votes, revocations: old.revocations }, timestamp)
  }

  // ---- bootstrap -------------------------------------------------------------------------

  private bootstrap(height: number, genesisTime: number): void {
    const spacing = this.params.targetTimePerBlock
    const end = this.nowSeconds()
    if (end - height * spacing <= genesisTime) {
      throw new RangeError(
        `the simulated dcrd builds ${height} blocks ${spacing} s apart ending now, after the ${this.params.name} genesis block (Unix time ${genesisTime}): the clock must read at least ${genesisTime + height * spacing + 1} s, it reads ${end}; set it first (TestClock.setTime)`,
      )
    }
    let remines = 0
    this.stakersBuy()
    for (let h = 1; h <= height; h++) {
      const timestamp = end - (height - h) * spacing
      for (let redraws = 0; ; redraws++) {
        const votes = h >= this.svh ? this.onlineWinners(h) : []
        if (h < this.svh || votes.length >= this.minVotes) {
          const block = this.attachNetworkBlock(this.nextContent(votes), timestamp)
          if (typeof block === "string") throw new RangeError(`bootstrap cannot build block ${h}: ${block}; give the stakers more tickets (ticketsPerBlock)`)
          break
        }
        if (redraws >= MAX_REDRAWS) {
          throw new RangeError(
            `bootstrap stalled at height ${h}: no version of block ${h - 1} of ${MAX_REDRAWS} drawn had ${this.minVotes} winners whose owners can vote; make more stakers' canVote true`,
          )
        }
        const parent = this.detach()
        this.forget(parent)
        const again = this.attachNetworkBlock({ tickets: parent.tickets, votes: parent.votes, revocations: parent.revocations }, parent.timestamp)
        if (typeof again === "string") throw new RangeError(`bootstrap cannot rebuild block ${h - 1}: ${again}`)
        remines++
      }
      this.stakersBuy()
    }
    this.tally.remines += remines
    this.quiet = false
    this.log({ _tag: "Bootstrapped", atMillis: this.nowMillis(), height: this.tip.height, hash: this.tip.hash, remines })
    this.startTipRound()
  }

  // ---- the life of a tip -----------------------------------------------------------------

  /** A new tip: stakers buy, then votes travel (or, with too few voters, the network re-mines it). */
  private afterTipChange(): void {
    this.stakersBuy()
    this.startTipRound()
  }

  private startTipRound(): void {
    this.epoch++
    const epoch = this.epoch
    this.votes = []
    this.workAvailable = false
    this.currentTemplate = undefined
    this.pruneTemplates()
    const tip = this.tip
    if (tip.height > this.remineStreak.height) this.remineStreak = { height: tip.height, count: 0 }
    const next = tip.height + 1
    if (next < this.svh) {
      this.workAvailable = true
      this.announceWork("newparent")
      this.scheduleNetworkBlock()
      return
    }
    const online = this.onlineWinners(next)
    if (online.length < this.minVotes) {
      this.scheduleRemine(online.length)
      return
    }
    const delays = this.options.voteDelayMillis ?? this.defaultVoteDelays()
    for (const id of online) {
      const delayMillis = this.voteRandom.between(delays.min, delays.max)
      this.timers.push({ delayMillis, fire: () => this.voteArrived(epoch, id) })
    }
  }

  private voteArrived(epoch: number, ticket: string): void {
    if (epoch !== this.epoch) return
    this.votes.push(ticket)
    this.currentTemplate = undefined
    if (this.votes.length === this.minVotes) {
      this.workAvailable = true
      this.announceWork("newparent")
      this.scheduleNetworkBlock()
    } else if (this.votes.length > this.minVotes) {
      this.announceWork("newvotes")
    }
  }

  private defaultVoteDelays(): { readonly min: number; readonly max: number } {
    const blockMillis = this.params.targetTimePerBlock * 1000
    return { min: Math.max(1, Math.round(blockMillis / 1500)), max: Math.max(2, Math.round(blockMillis / 150)) }
  }

  /** The rest of the network's next block: a Poisson process at its hashrate over the expected hashes at the tip's bits. */
  private scheduleNetworkBlock(): void {
    if (!(this.options.networkHashrate > 0)) return
    const epoch = this.epoch
    const delayMillis = Math.max(1, Math.round(this.networkRandom.exponential(this.networkBlockMeanMillis())))
    this.timers.push({ delayMillis, fire: () => this.networkBlockDue(epoch) })
  }

  private networkBlockDue(epoch: number): void {
    if (epoch !== this.epoch) return
    const block = this.attachNetworkBlock(this.nextContent(this.votes), this.nextTimestamp())
    if (typeof block === "string") return this.stall(block)
    this.announceConnected(block)
    this.afterTipChange()
  }

  /** Too few of the tip's winners can vote: the network's miners build another version of the tip, after the wait for a block. */
  private scheduleRemine(onlineWinners: number): void {
    const epoch = this.epoch
    const delayMillis = Math.max(1, Math.round(this.remineRandom.exponential(this.networkBlockMeanMillis())))
    this.timers.push({ delayMillis, fire: () => (epoch === this.epoch ? this.remineTip(onlineWinners) : undefined) })
  }

  private remineTip(onlineWinners: number): ChainBlock | string {
    const old = this.tip
    if (this.model.disconnectableBlocks === 0 || old.height === 0) {
      const reason = `block ${old.height} cannot be replaced (no undo data)`
      this.stall(reason)
      return reason
    }
    const replaced = this.redrawTip(this.nextTimestamp())
    if (typeof replaced === "string") {
      // Cannot happen with the same transactions on the same parent; if it does, say so.
      this.announceDisconnected(old)
      this.stall(replaced)
      this.afterTipChange()
      return replaced
    }
    this.tally.remines++
    this.announceDisconnected(old)
    this.announceConnected(replaced)
    this.log({ _tag: "Remined", atMillis: this.nowMillis(), height: replaced.height, onlineWinners })
    if (this.remineStreak.height !== replaced.height) this.remineStreak = { height: replaced.height, count: 0 }
    this.remineStreak.count++
    if (this.remineStreak.count === (this.options.stallAfterRemines ?? 20)) {
      this.stall(`${this.remineStreak.count} versions of block ${replaced.height} in a row had fewer than ${this.minVotes} winners able to vote`)
    }
    this.afterTipChange()
    return replaced
  }

  private stall(reason: string): void {
    this.tally.stalls++
    this.log({ _tag: "Stalled", atMillis: this.nowMillis(), height: this.tip.height + 1, reason })
  }

  /**
   * The network switches to a branch from `depth` blocks below the tip that is `added` blocks
   * long. The branch's first block carries the same votes as the block it replaces (same
   * parent, same winners); each later one the online winners' votes, its parent re-drawn
   * until enough of them are online. Subscribers hear every disconnect, then every connect.
   */
  private reorganize(depth: number, added: number, cause: "orphan-race" | "reorg"): void {
    const forkHeight = this.tip.height - depth
    const firstVotes = this.mainChain[forkHeight + 1]!.votes
    const replaced: Array<ChainBlock> = []
    for (let i = 0; i < depth; i++) replaced.push(this.detach())
    const branch: Array<ChainBlock> = []
    let redraws = 0
    while (branch.length < added) {
      const height = this.tip.height + 1
      const votes = branch.length === 0 ? firstVotes : height >= this.svh ? this.onlineWinners(height) : []
      if (height >= this.svh && votes.length < this.minVotes && branch.length > 0 && redraws < MAX_REDRAWS) {
        const redrawn = this.redrawTip(this.nextTimestamp())
        this.forget(branch.pop()!)
        redraws++
        if (typeof redrawn === "string") {
          this.stall(redrawn)
          break
        }
        branch.push(redrawn)
        continue
      }
      const block = this.attachNetworkBlock(this.nextContent(votes), this.nextTimestamp())
      if (typeof block === "string") {
        this.stall(block)
        break
      }
      branch.push(block)
    }
    this.tally.reorgs++
    this.tally.remines += redraws
    for (const b of replaced) this.announceDisconnected(b)
    for (const b of branch) this.announceConnected(b)
    this.log({ _tag: "Reorganized", atMillis: this.nowMillis(), cause, forkHeight, replaced: replaced.length, added: branch.length })
    this.afterTipChange()
  }

  reorg(depth: number): ReorgTooDeep | undefined {
    const possible = Math.min(this.model.disconnectableBlocks, this.tip.height)
    if (!Number.isInteger(depth) || depth < 1 || depth > possible) return new ReorgTooDeep({ depth, possible })
    this.reorganize(depth, depth + 1, "reorg")
    return undefined
  }

  mineNetworkBlock(): Result.Result<SimBlock, SimChainStalled> {
    const next = this.tip.height + 1
    const online = next >= this.svh ? this.onlineWinners(next) : []
    if (next >= this.svh && online.length < this.minVotes) {
      const remined = this.remineTip(online.length)
      return typeof remined === "string" ? Result.fail(new SimChainStalled({ height: next, reason: remined })) : Result.succeed(remined)
    }
    const block = this.attachNetworkBlock(this.nextContent(online), this.nextTimestamp())
    if (typeof block === "string") {
      this.stall(block)
      return Result.fail(new SimChainStalled({ height: next, reason: block }))
    }
    this.announceConnected(block)
    this.afterTipChange()
    return Result.succeed(block)
  }

  // ---- tickets ---------------------------------------------------------------------------

  buyTickets(owner: string, count: number, expiry: number, fee: bigint): Result.Result<ReadonlyArray<Ticket>, TicketRejected> {
    const bought: Array<Ticket> = []
    let failure: TicketRejected | undefined
    for (let i = 0; i < count; i++) {
      const r = this.model.submitTicket(this.purchase(owner, fee, expiry))
      if (Result.isFailure(r)) {
        failure = r.failure
        break
      }
      bought.push(r.success)
    }
    if (bought.length > 0) {
      this.log({ _tag: "TicketsSubmitted", atMillis: this.nowMillis(), owner, count: bought.length, price: bought[0]!.purchase.price })
      this.currentTemplate = undefined
      if (this.workAvailable) this.announceWork("newtxns")
    }
    return failure === undefined ? Result.succeed(bought) : Result.fail(failure)
  }

  // ---- work ------------------------------------------------------------------------------

  private pruneTemplates(): void {
    const oldest = this.tip.height + 1 - TEMPLATE_EXPIRY_BLOCKS
    for (const [id, t] of this.templates) if (t.height < oldest) this.templates.delete(id)
  }

  private newTemplate(): Template {
    const content = this.nextContent(this.votes)
    const merkleRoot = this.templateRandom.bytes(32)
    const template: Template = {
      id: toHex(merkleRoot),
      height: this.tip.height + 1,
      prevHash: this.tip.hash,
      content,
      merkleRoot,
    }
    this.templates.set(template.id, template)
    this.currentTemplate = template
    return template
  }

  /** The template's getwork data stamped now (miners may change the time; the bits follow it). */
  private workOf(template: Template, reason: WorkReason): WorkTemplate {
    const timestamp = this.nextTimestamp()
    const bits = this.requiredBits(timestamp)
    const { header } = this.buildHeader(template.content, timestamp, bits, template.merkleRoot, 0)
    this.log({ _tag: "WorkIssued", atMillis: this.nowMillis(), height: template.height, reason, voters: template.content.votes.length, template: template.id.slice(0, 16) })
    return { data: encodeGetworkData(header, powAlgorithmAt(this.activations, template.height)), target: compactToBig(bits), reason }
  }

  private announceWork(reason: WorkReason): void {
    if (this.quiet) return
    this.emit({ _tag: "Work", work: this.workOf(this.newTemplate(), reason) })
  }

  private notEnoughVotes(): string {
    const tip = this.tip
    return `no work is available: not enough voters on top block ${tip.hash} (height ${tip.height}) to generate a new block template: ${this.votes.length} of the ${this.minVotes} required votes received`
  }

  getWork(): Result.Result<WorkTemplate, ChainRpcError> {
    if (!this.workAvailable) {
      const reason = this.notEnoughVotes()
      this.log({ _tag: "WorkRefused", atMillis: this.nowMillis(), height: this.tip.height + 1, reason })
      return Result.fail(new ChainRpcError({ method: "getwork", code: -1, reason }))
    }
    return Result.succeed(this.workOf(this.currentTemplate ?? this.newTemplate(), "initial"))
  }

  /** dcrd's getwork submission: true when the block joined the chain, false with a logged reason otherwise. */
  submit(data: Uint8Array): Result.Result<boolean, ChainRpcError> {
    if (data.length !== GETWORK_DATA_BYTES) {
      return Result.fail(new ChainRpcError({ method: "getwork", code: -8, reason: `Argument must be a hexadecimal string with length ${GETWORK_DATA_BYTES * 2} (not ${data.length * 2})` }))
    }
    const headerBytes = data.slice(0, HEADER_BYTES)
    const decoded = decodeHeader(headerBytes)
    const hash = hashToDisplay(blockHash(headerBytes))
    const refuse = (height: number, reason: string) => {
      this.log({ _tag: "Submission", atMillis: this.nowMillis(), height, hash, accepted: false, reason })
      return Result.succeed(false)
    }
    if (Result.isFailure(decoded)) return refuse(0, `undecodable header: ${decoded.failure.message}`)
    const header = decoded.success
    const parent = hashToDisplay(header.prevBlock)
    if (!this.byHash.has(parent)) return refuse(header.height, `orphan: unknown parent ${parent}`)
    if (parent !== this.tip.hash) return refuse(header.height, `stale: builds on ${parent}, the tip is ${this.tip.hash} at height ${this.tip.height}`)
    const template = this.templates.get(toHex(header.merkleRoot))
    if (template === undefined || template.prevHash !== parent) {
      return refuse(header.height, `no matching template for merkle root ${hashToDisplay(header.merkleRoot)}`)
    }
    const { header: expected } = this.buildHeader(template.content, header.timestamp, header.bits, template.merkleRoot, 0)
    const changed = [
      [0, HeaderOffset.bits],
      [HeaderOffset.sbits, HeaderOffset.timestamp],
      [HeaderOffset.stakeVersion, HEADER_BYTES],
    ].some(([from, to]) => !bytesEqual(headerBytes.subarray(from, to), expected.subarray(from, to)))
    if (changed) return refuse(header.height, "header differs from its template outside timestamp, nonce and extra data")
    const algorithm = powAlgorithmAt(this.activations, header.height)
    const padding = decodeGetworkData(data)
    if (Result.isFailure(padding)) return refuse(header.height, padding.failure.message)
    if (padding.success.padding !== algorithm) {
      return refuse(header.height, `padding is for ${padding.success.padding}, block ${header.height} is proved with ${algorithm}`)
    }
    const bits = this.requiredBits(header.timestamp)
    if (header.bits !== bits) return refuse(header.height, `bits 0x${header.bits.toString(16)}, the block needs 0x${bits.toString(16)}`)
    const median = this.medianTimePast()
    if (header.timestamp <= median) return refuse(header.height, `timestamp ${header.timestamp} is not after the median time past ${median}`)
    if (header.timestamp > this.nowSeconds() + MAX_FUTURE_SECONDS) return refuse(header.height, `timestamp ${header.timestamp} is more than two hours ahead`)
    if (!hashMeetsTarget(powHash(headerBytes, algorithm), compactToBig(bits))) {
      return refuse(header.height, `${algorithm} proof of work does not meet the target of bits 0x${bits.toString(16)}`)
    }
    const block = this.attach(headerBytes, template.content, "pool")
    if (typeof block === "string") return refuse(header.height, block)
    this.log({ _tag: "Submission", atMillis: this.nowMillis(), height: block.height, hash, accepted: true, reason: "connected" })
    this.announceConnected(block)
    this.afterTipChange()
    const orphanRate = this.options.orphanRate ?? 0
    if (orphanRate > 0 && this.orphanRandom.chance(orphanRate)) {
      const race = this.options.orphanRaceMillis ?? { min: 2_000, max: 8_000 }
      this.timers.push({
        delayMillis: this.orphanRandom.between(race.min, race.max),
        fire: () => {
          if (!block.onMainChain) return
          const depth = this.tip.height - block.height + 1
          if (depth > this.model.disconnectableBlocks) return
          this.reorganize(depth, depth + 1, "orphan-race")
        },
      })
    }
    return Result.succeed(true)
  }

  coinbaseValue(hash: string): Result.Result<bigint, ChainRpcError> {
    const block = this.byHash.get(hash)
    return block === undefined ? Result.fail(blockNotFound("getblock", hash)) : Result.succeed(block.workSubsidy)
  }

  getBlockHash(height: number): Result.Result<string, ChainRpcError> {
    const block = Number.isInteger(height) ? this.mainChain[height] : undefined
    // dcrd answers ErrRPCOutOfRange (-1) for a height it has no main-chain block at.
    if (block === undefined) return Result.fail(new ChainRpcError({ method: "getblockhash", code: -1, reason: `Block number out of range: ${height}` }))
    return Result.succeed(block.hash)
  }

  // ---- the connection --------------------------------------------------------------------

  private emit(event: ChainEvent): void {
    if (this.quiet) return
    if (this.unreachable() !== undefined) {
      this.tally.lostNotifications++
      return
    }
    this.deliver(event)
  }

  setOffline(offline: boolean): void {
    if (offline === this.offline) return
    this.offline = offline
    this.log({ _tag: "Offline", atMillis: this.nowMillis(), offline })
    // Back up: the client reconnects and says so, as the live adapter does.
    if (!offline && this.linkUp) this.reconnected()
  }

  dropConnection(forMillis: number): void {
    const generation = ++this.linkGeneration
    this.linkUp = false
    this.log({ _tag: "ConnectionDropped", atMillis: this.nowMillis(), forMillis })
    this.timers.push({
      delayMillis: forMillis,
      fire: () => {
        if (generation !== this.linkGeneration) return
        this.linkUp = true
        if (!this.offline) this.reconnected()
      },
    })
  }

  private reconnected(): void {
    this.log({ _tag: "Reconnected", atMillis: this.nowMillis() })
    this.deliver({ _tag: "Reconnected" })
  }

  private log(event: SimDcrdEvent): void {
    this.options.log?.(event)
  }
}

/** A commitment to the block's stake transactions (dcrd's stake root commits to them too). */
const stakeRootOf = (content: StakeContent): Uint8Array => blake256Hash(new TextEncoder().encode(`${content.tickets.join(",")}|${content.votes.join(",")}|${content.revocations.join(",")}`))

/** A plausible serialized size: a coinbase and the stake transactions. */
const blockSizeOf = (content: StakeContent): number => 1_000 + TICKET_SIZE * content.tickets.length + 350 * content.votes.length + 250 * content.revocations.length

// ---- the Effect shell ----------------------------------------------------------------------

/**
 * A simulated dcrd: a real chain of real headers on `network`'s rules, the full stake model, the
 * rest of the network mining and voting in virtual time, and the `ChainRpc` the pool talks to.
 * Everything random comes from forks of `options.random`; everything timed is an `Effect.sleep`,
 * so under TestClock a run is a function of its seed and the calls made.
 */
export const makeSimDcrd = (options: SimDcrdOptions): Effect.Effect<SimDcrd, never, Scope.Scope> =>
  Effect.gen(function* () {
    const scope = yield* Effect.scope
    const clock = yield* Clock.clockWith(Effect.succeed)
    const events = yield* Queue.unbounded<ChainEvent>()
    const node = yield* Effect.sync(
      () =>
        new SimNode(
          options,
          () => clock.currentTimeMillisUnsafe(),
          (e) => void Queue.offerUnsafe(events, e),
        ),
    )

    // Timers run in their own fibers in the node's scope; startImmediately registers each sleep
    // in the order the node queued it, which is the order TestClock wakes equal deadlines.
    const startTimers: Effect.Effect<void> = Effect.suspend(() => Effect.forEach(node.takeTimers(), (t) => Effect.forkIn(runTimer(t), scope, { startImmediately: true }), { discard: true }))
    function runTimer(timer: Timer): Effect.Effect<void> {
      return Effect.sleep(timer.delayMillis).pipe(Effect.andThen(Effect.sync(timer.fire)), Effect.andThen(startTimers))
    }
    /** Runs a transition, then starts the timers it queued. */
    const act = <A>(f: () => A): Effect.Effect<A> => Effect.sync(f).pipe(Effect.tap(() => startTimers))
    const rpc = <A>(method: string, f: () => Result.Result<A, ChainRpcError>): Effect.Effect<A, ChainFailure> =>
      Effect.suspend((): Effect.Effect<A, ChainFailure> => {
        const down = node.unreachable()
        if (down !== undefined) return Effect.fail(new ChainUnavailable({ method, reason: down }))
        return Effect.flatMap(act(f), Effect.fromResult)
      })
    yield* startTimers

    const service = ChainRpc.of({
      getWork: rpc("getwork", () => node.getWork()),
      submitWork: (data) => rpc("getwork", () => node.submit(data)),
      getBestBlock: rpc("getbestblock", () => Result.succeed({ hash: node.tip.hash, height: node.tip.height })),
      getBlockHash: (height) => rpc("getblockhash", () => node.getBlockHash(height)),
      coinbaseValue: (hash) => rpc("getblock", () => node.coinbaseValue(hash)),
      events: Stream.fromQueue(events),
    })

    const sim: SimDcrd = {
      network: node.params,
      activations: node.activations,
      agendaVote: () => node.agendaVote(),
      model: node.model,
      service,
      layer: Layer.succeed(ChainRpc)(service),
      height: () => node.tip.height,
      tipHash: () => node.tip.hash,
      counts: () => node.counts(),
      block: (hash) => node.block(hash),
      blockAt: (height) => node.blockAt(height),
      poolBlocks: () => node.poolBlocks(),
      setStaker: (staker) => node.setStaker(staker),
      buyTickets: (owner, count, opts = {}) =>
        Effect.flatMap(
          act(() => node.buyTickets(owner, count, opts.expiry ?? 0, opts.fee ?? TICKET_FEE)),
          Effect.fromResult,
        ),
      setOffline: (offline) => act(() => node.setOffline(offline)),
      dropConnection: (forMillis = 3_000) => act(() => node.dropConnection(forMillis)),
      reorg: (depth) =>
        Effect.flatMap(
          act(() => node.reorg(depth)),
          (refused) => (refused === undefined ? Effect.void : Effect.fail(refused)),
        ),
      mineNetworkBlock: Effect.flatMap(
        act(() => node.mineNetworkBlock()),
        Effect.fromResult,
      ),
    }
    return sim
  })
