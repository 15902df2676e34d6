/**
 * Consensus agendas (dcrd `chaincfg` vote ids) and how a network treats them.
 *
 * The rules this project computes (PoW hash, work difficulty algorithm, subsidy
 * split, treasury, stake difficulty, revocations) switch on these agendas, so an
 * agenda's state is explicit per network rather than implied by a network name.
 */
export const AGENDA_IDS = [
  "maxblocksize",
  "sdiffalgorithm",
  "lnsupport",
  "lnfeatures",
  "fixlnseqlocks",
  "headercommitments",
  "treasury",
  "reverttreasurypolicy",
  "explicitverupgrades",
  "autorevocations",
  "changesubsidysplit",
  "blake3pow",
  "changesubsidysplitr2",
  "maxtreasuryspend",
] as const

export type AgendaId = (typeof AGENDA_IDS)[number]

/**
 * - `forced`: the network's parameters force the "yes" choice; the rules hold from block 1.
 * - `active`: voted in; the rules hold for blocks at `sinceHeight` and above.
 * - `vote-required`: a deployment that needs a real stake vote on this chain; whether and
 *   where it activated is a fact of that chain (dcrd `getblockchaininfo` deployments), not of
 *   the parameters. Until someone says so, the old rules apply.
 * - `not-deployed`: the network has no such deployment; the old rules apply for ever.
 */
export type AgendaState = { readonly kind: "forced" } | { readonly kind: "active"; readonly sinceHeight: number } | { readonly kind: "vote-required" } | { readonly kind: "not-deployed" }

export type AgendaTable = { readonly [K in AgendaId]: AgendaState }

/** First height from which an agenda's rules apply on one particular chain. */
export type AgendaActivations = { readonly [K in AgendaId]?: number }

const FORCED: AgendaState = { kind: "forced" }
const VOTE: AgendaState = { kind: "vote-required" }
const ABSENT: AgendaState = { kind: "not-deployed" }
const since = (sinceHeight: number): AgendaState => ({ kind: "active", sinceHeight })

const table = (entries: Partial<Record<AgendaId, AgendaState>>, rest: AgendaState): AgendaTable => {
  const out: Partial<Record<AgendaId, AgendaState>> = {}
  for (const id of AGENDA_IDS) out[id] = entries[id] ?? rest
  return out as AgendaTable
}

/**
 * Mainnet. Every activation is on a rule-change boundary (SVH 4096 + k * 8064).
 * sdiffalgorithm and lnfeatures: dcrwallet `deployments/deployments.go`; headercommitments:
 * dcrwallet `validate/validate.go` (431488); blake3pow: DCP-0011 (anchor block 794367).
 * treasury (552448), the v9 set (657280) and changesubsidysplitr2 (voted with blake3pow in v10)
 * are the public chain's activation records; a live pool confirms every state from its node's
 * `getblockchaininfo` before trusting this table.
 */
export const MAINNET_AGENDAS: AgendaTable = table(
  {
    maxblocksize: ABSENT,
    sdiffalgorithm: since(149248),
    lnsupport: ABSENT, // a non-binding poll, no consensus change
    lnfeatures: since(189568),
    fixlnseqlocks: VOTE,
    headercommitments: since(431488),
    treasury: since(552448),
    reverttreasurypolicy: since(657280),
    explicitverupgrades: since(657280),
    autorevocations: since(657280),
    changesubsidysplit: since(657280),
    blake3pow: since(794368),
    changesubsidysplitr2: since(794368),
    maxtreasuryspend: VOTE,
  },
  VOTE,
)

/** testnet3 forces only the first two agendas; blake3pow activated at 1170048 (DCP-0011 anchor 1170047). */
export const TESTNET3_AGENDAS: AgendaTable = table(
  {
    maxblocksize: ABSENT,
    lnsupport: ABSENT,
    sdiffalgorithm: FORCED,
    lnfeatures: FORCED,
    blake3pow: since(1170048),
  },
  VOTE,
)

/** simnet forces every agenda to "yes" from genesis (dcrd >= 1.8.0). */
export const SIMNET_AGENDAS: AgendaTable = table({ lnsupport: ABSENT }, FORCED)

/**
 * regnet forces nothing: until a stake vote passes on that chain it runs the old stake
 * difficulty, BLAKE-256 proof of work and the 60/30/10 split. That is what lets the
 * BLAKE-256 ASIC emulators find real blocks on it.
 */
export const REGNET_AGENDAS: AgendaTable = table({ lnsupport: ABSENT }, VOTE)

/**
 * The activation heights of one chain: the network's fixed facts, overridden by what
 * that chain reports (a vote passing on regnet, a node's `getblockchaininfo`).
 */
export const chainActivations = (agendas: AgendaTable, observed: AgendaActivations = {}): AgendaActivations => {
  const out: { [K in AgendaId]?: number } = {}
  for (const id of AGENDA_IDS) {
    const seen = observed[id]
    if (seen !== undefined) {
      out[id] = seen
      continue
    }
    const state = agendas[id]
    if (state.kind === "forced") out[id] = 1
    else if (state.kind === "active") out[id] = state.sinceHeight
  }
  return out
}

/** Whether `agenda`'s rules govern the block at `height` on a chain with these activations. */
export const isAgendaActive = (activations: AgendaActivations, agenda: AgendaId, height: number): boolean => {
  const first = activations[agenda]
  return first !== undefined && height >= first
}

/** dcrd's ThresholdState names, as `getblockchaininfo` reports them. */
export type AgendaVoteState = "defined" | "started" | "lockedin" | "active" | "failed"

/**
 * Where a stake vote on an agenda stands (dcrd's `getblockchaininfo` deployment and `getvoteinfo`
 * tallies): what the emulated dcrd tells and the overview page shows.
 */
export interface AgendaVoteProgress {
  readonly agenda: AgendaId
  /** The state that governs the next block. */
  readonly state: AgendaVoteState
  /** The rule change interval the next block is in (first and last heights). */
  readonly interval: { readonly first: number; readonly last: number }
  /** Votes in the main chain's blocks of that interval so far. */
  readonly yes: number
  readonly no: number
  readonly abstain: number
  /** Non-abstaining votes an interval needs before its result counts. */
  readonly quorum: number
  /** The share of non-abstaining votes yes needs, as a fraction (3/4 on every network). */
  readonly threshold: { readonly numerator: number; readonly denominator: number }
  /** First height the agenda's rules govern, once it is locked in. */
  readonly activationHeight: number | undefined
}
