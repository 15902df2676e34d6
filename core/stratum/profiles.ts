import type { PowHashAlgorithm } from "../chain/hash.ts"

export type MinerModel = "cpuminer" | "cpuminer-blake256" | "gominer" | "nicehash" | "innosilicon-d9" | "antminer-dr3" | "antminer-dr5" | "whatsminer-d1" | "obelisk-dcr1"

/**
 * How a miner model speaks stratum to a Decred pool. One table drives the pool's session codec
 * and the emulators, so a profile's round trip (pool encodes, miner parses, miner submits, pool
 * rebuilds the same header) is its test. Facts from the reference pool (dcrpool v1.2.0 for the
 * BLAKE-256 ASICs, its current master for the BLAKE3 miners).
 */
export interface MinerProfile {
  readonly model: MinerModel
  readonly displayName: string
  /** How `mining.subscribe`'s user agent identifies it: `name/major.minor.patch` or an exact string. */
  readonly userAgent:
    | { readonly kind: "semver"; readonly name: string; readonly major: number; readonly maxMinor: number; readonly example: string }
    | { readonly kind: "exact"; readonly value: string }
  /** The only proof-of-work hash it computes. */
  readonly pow: PowHashAlgorithm
  /** Hashes per second the model is rated at: the starting point for its difficulty. */
  readonly nominalHashrate: number
  readonly notify: {
    /**
     * `header-tail`: genTx1 = header bytes 36..180, genTx2 empty (BLAKE3 miners).
     * `legacy-split`: genTx1 = bytes 36..144, genTx2 = bytes 176..180, the miner fills 144..176.
     */
    readonly layout: "header-tail" | "legacy-split"
    /** prevBlock sent with each 4-byte word byte-reversed. */
    readonly prevBlockWordSwap: boolean
    /** nBits and nTime sent big-endian instead of as they sit in the header. */
    readonly bitsAndTimeBigEndian: boolean
  }
  readonly submit: {
    /** nTime and nonce come back big-endian. */
    readonly timeAndNonceBigEndian: boolean
    /**
     * `en2`: the submit carries extraNonce2 only; the pool puts its extraNonce1 at header 144 and
     * extraNonce2 after it. `en2-then-en1`: the miner writes its extraNonce2 over the zero bytes
     * the pool padded extraNonce1 with and returns the whole, extraNonce1 last, for header 144.
     */
    readonly extraNonce: "en2" | "en2-then-en1"
  }
  /** Zero bytes prefixed to extraNonce1 in the subscribe reply, and the extraNonce2 size announced. */
  readonly extraNonce: { readonly en1PaddingBytes: 0 | 4 | 8; readonly en2Size: 4 | 8 }
  /** Several models share one user agent; the pool moves up to this one when shares come too fast. */
  readonly upgradesTo?: MinerModel
}

const BLAKE3_MINER = {
  pow: "blake3",
  notify: { layout: "header-tail", prevBlockWordSwap: false, bitsAndTimeBigEndian: false },
  submit: { timeAndNonceBigEndian: false, extraNonce: "en2" },
  extraNonce: { en1PaddingBytes: 0, en2Size: 4 },
} as const

const LEGACY_ASIC = {
  pow: "blake256",
  notify: { layout: "legacy-split", prevBlockWordSwap: true, bitsAndTimeBigEndian: true },
  submit: { timeAndNonceBigEndian: true, extraNonce: "en2" },
  extraNonce: { en1PaddingBytes: 0, en2Size: 4 },
} as const

/** DR3 and DR5 share firmware: one user agent, an 8-byte extraNonce2 written over extraNonce1's padding. */
const ANTMINER_DR = {
  ...LEGACY_ASIC,
  userAgent: { kind: "exact", value: "cgminer/4.9.0" },
  submit: { timeAndNonceBigEndian: true, extraNonce: "en2-then-en1" },
  extraNonce: { en1PaddingBytes: 8, en2Size: 8 },
} as const

export const MINER_PROFILES: ReadonlyArray<MinerProfile> = [
  {
    ...BLAKE3_MINER,
    model: "cpuminer",
    displayName: "CPU miner (dcrpool cmd/miner)",
    userAgent: { kind: "semver", name: "cpuminer", major: 1, maxMinor: 0, example: "cpuminer/1.0.0" },
    nominalHashrate: 5e3,
  },
  {
    // dcrpool v1.2.0's cmd/miner: the same user agent as its BLAKE3 successor, but BLAKE-256 and
    // the legacy job layout with nothing byte-swapped (read from its source, and run against the
    // pool in scenarios/simnet/reference-miner.test.ts). Told apart by the chain's proof of work.
    model: "cpuminer-blake256",
    displayName: "CPU miner (dcrpool v1.2.0 cmd/miner, BLAKE-256)",
    userAgent: { kind: "semver", name: "cpuminer", major: 1, maxMinor: 0, example: "cpuminer/1.0.0" },
    pow: "blake256",
    notify: { layout: "legacy-split", prevBlockWordSwap: false, bitsAndTimeBigEndian: false },
    submit: { timeAndNonceBigEndian: false, extraNonce: "en2" },
    extraNonce: { en1PaddingBytes: 0, en2Size: 4 },
    nominalHashrate: 5e3,
  },
  {
    ...BLAKE3_MINER,
    model: "gominer",
    displayName: "decred-gominer 2.x (GPU)",
    userAgent: { kind: "semver", name: "decred-gominer", major: 2, maxMinor: 1, example: "decred-gominer/2.1.0" },
    nominalHashrate: 5e9,
  },
  {
    ...BLAKE3_MINER,
    model: "nicehash",
    displayName: "NiceHash",
    userAgent: { kind: "semver", name: "NiceHash", major: 1, maxMinor: 0, example: "NiceHash/1.0.0" },
    nominalHashrate: 2e11,
  },
  {
    ...LEGACY_ASIC,
    model: "innosilicon-d9",
    displayName: "Innosilicon D9",
    userAgent: { kind: "exact", value: "sgminer/4.4.2" },
    nominalHashrate: 2.4e12,
  },
  { ...ANTMINER_DR, model: "antminer-dr3", displayName: "Antminer DR3", nominalHashrate: 7.8e12, upgradesTo: "antminer-dr5" },
  { ...ANTMINER_DR, model: "antminer-dr5", displayName: "Antminer DR5", nominalHashrate: 35e12 },
  {
    ...LEGACY_ASIC,
    model: "whatsminer-d1",
    displayName: "Whatsminer D1",
    userAgent: { kind: "exact", value: "whatsminer/d1-v1.0" },
    nominalHashrate: 48e12,
    // The D1 keeps nBits and nTime as they are in the header.
    notify: { layout: "legacy-split", prevBlockWordSwap: true, bitsAndTimeBigEndian: false },
    submit: { timeAndNonceBigEndian: true, extraNonce: "en2-then-en1" },
    extraNonce: { en1PaddingBytes: 4, en2Size: 4 },
  },
  {
    ...LEGACY_ASIC,
    model: "obelisk-dcr1",
    displayName: "Obelisk DCR1",
    userAgent: { kind: "exact", value: "cgminer/4.10.0" },
    nominalHashrate: 1.2e12,
  },
]

export const profileOf = (model: MinerModel): MinerProfile => MINER_PROFILES.find((p) => p.model === model)!

const SEMVER = /^([^/\s]+)\/(\d+)\.(\d+)\.(\d+)(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/

/**
 * The profile a subscribe user agent names, if any. Exact strings are the legacy ASICs'
 * firmware; `name/semver` matches on name, the exact major version and a minor version no
 * higher than the newest known. A user agent two models share (dcrpool's CPU miner before and
 * after DCP-0011) gives the one that computes `active`, the chain's proof of work, if either
 * does; otherwise the first (smallest) model.
 */
export const identifyMiner = (userAgent: string, active?: PowHashAlgorithm): MinerProfile | undefined => {
  const exact = MINER_PROFILES.find((p) => p.userAgent.kind === "exact" && p.userAgent.value === userAgent)
  if (exact !== undefined) return exact
  const m = SEMVER.exec(userAgent)
  if (m === null) return undefined
  const [, name, major, minor] = m
  const named = MINER_PROFILES.filter((p) => p.userAgent.kind === "semver" && p.userAgent.name === name && p.userAgent.major === Number(major) && Number(minor) <= p.userAgent.maxMinor)
  return named.find((p) => p.pow === active) ?? named[0]
}

/** The user agent a model's emulator sends. */
export const userAgentOf = (profile: MinerProfile): string => (profile.userAgent.kind === "exact" ? profile.userAgent.value : profile.userAgent.example)

/** Why a model cannot mine a chain whose active proof of work is `active`, or undefined if it can. */
export const cannotMineReason = (profile: MinerProfile, active: PowHashAlgorithm): string | undefined => {
  if (profile.pow === active) return undefined
  return profile.pow === "blake256"
    ? `${profile.displayName} computes BLAKE-256 only, and this chain's proof of work is BLAKE3 (DCP-0011): connect a BLAKE3 miner such as decred-gominer 2.x`
    : `${profile.displayName} computes BLAKE3 only, and this chain's proof of work is still BLAKE-256`
}
