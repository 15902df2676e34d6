import { isAgendaActive, type AgendaActivations } from "./agendas.ts"
import type { PowHashAlgorithm } from "./hash.ts"
import type { NetworkParams } from "./params.ts"
import { bigToCompact, compactToBig } from "./targets.ts"

/** Which hash proves work for the block at `height`: BLAKE3 once DCP-0011 is active. */
export const powAlgorithmAt = (activations: AgendaActivations, height: number): PowHashAlgorithm => (isAgendaActive(activations, "blake3pow", height) ? "blake3" : "blake256")

interface AsertInput {
  readonly startDiffBits: number
  readonly powLimit: bigint
  readonly targetSecsPerBlock: number
  /** Seconds from the anchor block's timestamp to the parent's (int64 in dcrd). */
  readonly timeDelta: bigint
  /** Blocks from the anchor to the parent (>= 0). */
  readonly heightDelta: bigint
  readonly halfLifeSecs: number
}

const U64 = (1n << 64n) - 1n
// The cubic approximation of 2^x on [0, 1) in 16-bit fixed point (DCP-0011).
const POLY1 = 195766423245049n
const POLY2 = 971821376n
const POLY3 = 5127n

/**
 * DCP-0011's absolutely scheduled exponentially rising targets:
 * target = start * 2^((timeDelta - heightDelta * T) / halfLife), in 64.16 fixed
 * point with the spec's cubic for the fractional power, clamped to [1, powLimit].
 */
export const calcAsertBits = (input: AsertInput): number => {
  const startTarget = compactToBig(input.startDiffBits)
  if (startTarget <= 0n || startTarget > input.powLimit) {
    throw new RangeError(`ASERT start target ${startTarget.toString(16)} is outside [1, powLimit]`)
  }
  if (input.heightDelta < 0n) throw new RangeError(`ASERT height delta ${input.heightDelta} is negative`)

  const idealTimeDelta = input.heightDelta * BigInt(input.targetSecsPerBlock)
  // Division truncates toward zero (Go big.Int Quo), as does bigint `/`.
  const exponent = ((input.timeDelta - idealTimeDelta) << 16n) / BigInt(input.halfLifeSecs)
  // Arithmetic shift (floor) for the integer part; the fraction is what is left, in [0, 65536).
  const shifts = exponent >> 16n
  const frac = exponent & 0xffffn
  // Evaluated as dcrd does in uint64 arithmetic (kept exact by the spec's choice of coefficients).
  const poly = (POLY1 * frac + POLY2 * frac * frac + POLY3 * frac * frac * frac + (1n << 47n)) & U64
  const factor = ((1n << 16n) + (poly >> 48n)) & 0xffffffffn

  let next = startTarget * factor
  const shift = shifts - 16n
  // Far-out deltas would build huge integers only to clamp them; the clamp is known early.
  if (shift > 512n) return bigToCompact(input.powLimit)
  if (shift < -512n) return bigToCompact(1n)
  next = shift >= 0n ? next << shift : next >> -shift
  if (next === 0n) next = 1n
  else if (next > input.powLimit) next = input.powLimit
  return bigToCompact(next)
}

/** Height and timestamp of a block: all the difficulty algorithms look at. */
export interface BlockTime {
  readonly height: number
  /** Unix seconds. */
  readonly timestamp: number
  readonly bits: number
}

/**
 * The ASERT anchor of a chain: block 1 where blake3pow is forced, otherwise the block
 * before the first BLAKE3 block. Undefined while BLAKE3 is not active.
 */
export const blake3AnchorHeight = (params: NetworkParams, activations: AgendaActivations): number | undefined => {
  if (params.agendas.blake3pow.kind === "forced") return 1
  const first = activations.blake3pow
  return first === undefined ? undefined : first - 1
}

/**
 * Bits required of the block after `parent` under ASERT. `anchor` is the anchor
 * block (see `blake3AnchorHeight`); on forced networks block 1 itself gets the start bits.
 */
const nextBlake3Bits = (params: NetworkParams, parent: BlockTime, anchor: BlockTime | undefined): number => {
  if (anchor === undefined) {
    if (parent.height === 0) return params.workDiffV2Blake3StartBits
    throw new RangeError(`ASERT needs the anchor block for a parent at height ${parent.height}`)
  }
  let bits = calcAsertBits({
    startDiffBits: params.workDiffV2Blake3StartBits,
    powLimit: params.powLimit,
    targetSecsPerBlock: params.targetTimePerBlock,
    timeDelta: BigInt(parent.timestamp - anchor.timestamp),
    heightDelta: BigInt(parent.height - anchor.height),
    halfLifeSecs: params.workDiffV2HalfLifeSecs,
  })
  // testnet3 caps difficulty so that a GPU cannot run away with it (dcrd compares the bits as integers).
  const cap = testnetMinTargetBits(params)
  if (cap !== undefined && bits < cap) bits = cap
  return bits
}

/** testnet3's highest allowed difficulty: powLimit >> 6 (difficulty 64). */
const TESTNET_MAX_DIFF_SHIFT = 6n
const TESTNET3_MAX_DIFF_ACTIVATION_HEIGHT = 962928

const testnetMinTarget = (params: NetworkParams): bigint | undefined => (params.name === "testnet3" ? params.powLimit >> TESTNET_MAX_DIFF_SHIFT : undefined)

const testnetMinTargetBits = (params: NetworkParams): number | undefined => {
  const t = testnetMinTarget(params)
  return t === undefined ? undefined : bigToCompact(t)
}

/** Ancestors of the parent on its own branch, by height (the parent included). */
type AncestorAt = (height: number) => BlockTime

/**
 * The BLAKE-256 era's difficulty (dcrd `calcNextBlake256Diff`): retarget every
 * workDiffWindowSize blocks to a weighted average of the last workDiffWindows
 * windows' timespans (newer windows weigh more), limited to a factor of 4 either way.
 */
export const nextBlake256Bits = (params: NetworkParams, parent: BlockTime, ancestorAt: AncestorAt, newBlockTime: number): number => {
  const nextHeight = parent.height + 1
  if (nextHeight % params.workDiffWindowSize !== 0) {
    if (params.reduceMinDifficulty && (params.name !== "testnet3" || nextHeight < TESTNET3_MAX_DIFF_ACTIVATION_HEIGHT)) {
      if (newBlockTime > parent.timestamp + params.minDiffReductionTime) return params.powLimitBits
      return previousNonMinimumBits(params, parent, ancestorAt)
    }
    return parent.bits
  }

  const oldTarget = compactToBig(parent.bits)
  const factor = BigInt(params.retargetAdjustmentFactor)
  const minTarget = oldTarget / factor
  const maxTarget = oldTarget * factor
  const windows = params.workDiffWindows
  const windowSize = params.workDiffWindowSize
  const timespan = BigInt(params.targetTimespan)

  let weightedSum = 0n
  let weights = 0n
  let node = parent
  let recentTime = parent.timestamp
  let windowPeriod = 0
  for (let i = 0; ; i++) {
    if (i % windowSize === 0 && i !== 0) {
      const olderTime = node.timestamp
      // A window reaching back to genesis counts as exactly on schedule.
      const timeDifference = node.height === 0 ? timespan : BigInt(recentTime - olderTime)
      const shift = BigInt((windows - windowPeriod) * params.workDiffAlpha)
      weightedSum += ((timeDifference << 32n) / timespan) << shift
      weights += 1n << shift
      windowPeriod++
      recentTime = olderTime
    }
    if (i === windowSize * windows) break
    if (node.height > 0) node = ancestorAt(node.height - 1)
  }

  let next = ((weightedSum / weights) * oldTarget) >> 32n
  if (oldTarget === 0n) {
    // dcrd leaves the value as computed in this impossible case.
  } else if (next === 0n) next = params.powLimit
  else if (next > maxTarget) next = maxTarget
  else if (next < minTarget) next = minTarget
  if (next > params.powLimit) next = params.powLimit

  const cap = testnetMinTarget(params)
  if (cap !== undefined && next < cap && nextHeight >= TESTNET3_MAX_DIFF_ACTIVATION_HEIGHT) next = cap
  return bigToCompact(next)
}

/** testnet's min-difficulty rule: the last bits that were not the minimum, or at a retarget boundary. */
const previousNonMinimumBits = (params: NetworkParams, start: BlockTime, ancestorAt: AncestorAt): number => {
  const blocksPerRetarget = params.workDiffWindowSize * params.workDiffWindows
  let node = start
  while (node.height > 0 && node.height % blocksPerRetarget !== 0 && node.bits === params.powLimitBits) {
    node = ancestorAt(node.height - 1)
  }
  return node.bits
}

/**
 * Bits required of the block after `parent`, by whichever algorithm the chain's
 * agendas select for that height.
 */
export const nextWorkBits = (params: NetworkParams, activations: AgendaActivations, parent: BlockTime, ancestorAt: AncestorAt, newBlockTime: number): number => {
  const nextHeight = parent.height + 1
  if (powAlgorithmAt(activations, nextHeight) === "blake3") {
    const anchorHeight = blake3AnchorHeight(params, activations)
    if (anchorHeight === undefined || parent.height < anchorHeight) return params.workDiffV2Blake3StartBits
    return nextBlake3Bits(params, parent, ancestorAt(anchorHeight))
  }
  return nextBlake256Bits(params, parent, ancestorAt, newBlockTime)
}
