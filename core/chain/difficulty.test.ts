import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { chainActivations } from "./agendas.ts"
import { blake3AnchorHeight, calcAsertBits, nextBlake256Bits, nextWorkBits, powAlgorithmAt, type BlockTime } from "./difficulty.ts"
import { MAINNET, REGNET, SIMNET, TESTNET3, type NetworkParams } from "./params.ts"
import { bigToCompact, compactToBig } from "./targets.ts"

/** A chain of `length` blocks whose n-th gap (before block n) is `gap(n)` seconds, all at `bits`. */
const chain = (length: number, bits: number, gap: (height: number) => number): Array<BlockTime> => {
  const blocks: Array<BlockTime> = [{ height: 0, timestamp: 1_000_000, bits }]
  for (let h = 1; h < length; h++) blocks.push({ height: h, timestamp: blocks[h - 1]!.timestamp + gap(h), bits })
  return blocks
}
const at = (blocks: ReadonlyArray<BlockTime>) => (h: number) => blocks[h]!

describe("which proof-of-work hash applies", () => {
  it("mainnet: BLAKE-256 through 794367, BLAKE3 from 794368", () => {
    const a = chainActivations(MAINNET.agendas)
    expect(powAlgorithmAt(a, 794367)).toBe("blake256")
    expect(powAlgorithmAt(a, 794368)).toBe("blake3")
    expect(blake3AnchorHeight(MAINNET, a)).toBe(794367)
  })
  it("simnet: BLAKE3 from block 1, anchored on block 1", () => {
    const a = chainActivations(SIMNET.agendas)
    expect(powAlgorithmAt(a, 1)).toBe("blake3")
    expect(blake3AnchorHeight(SIMNET, a)).toBe(1)
  })
  it("regnet: BLAKE-256 until its chain votes blake3pow in", () => {
    expect(powAlgorithmAt(chainActivations(REGNET.agendas), 5000)).toBe("blake256")
    expect(blake3AnchorHeight(REGNET, chainActivations(REGNET.agendas))).toBeUndefined()
    const voted = chainActivations(REGNET.agendas, { blake3pow: 1600 })
    expect(powAlgorithmAt(voted, 1599)).toBe("blake256")
    expect(powAlgorithmAt(voted, 1600)).toBe("blake3")
    expect(blake3AnchorHeight(REGNET, voted)).toBe(1599)
  })
  it("testnet3: BLAKE3 from 1170048 (DCP-0011's anchor is 1170047)", () => {
    const a = chainActivations(TESTNET3.agendas)
    expect(powAlgorithmAt(a, 1170048)).toBe("blake3")
    expect(blake3AnchorHeight(TESTNET3, a)).toBe(1170047)
  })
})

describe("ASERT through the chain view", () => {
  it("simnet block 1 gets the start bits; later blocks follow the schedule from block 1", () => {
    const a = chainActivations(SIMNET.agendas)
    const blocks = chain(20, SIMNET.powLimitBits, () => 1)
    expect(nextWorkBits(SIMNET, a, blocks[0]!, at(blocks), 0)).toBe(SIMNET.workDiffV2Blake3StartBits)
    // On schedule: unchanged.
    expect(nextWorkBits(SIMNET, a, blocks[19]!, at(blocks), 0)).toBe(SIMNET.workDiffV2Blake3StartBits)
    // Six seconds (one half-life) ahead of schedule: the target halves.
    const fast = chain(20, SIMNET.powLimitBits, (h) => (h === 1 ? 1 : h <= 7 ? 0 : 1))
    expect(compactToBig(nextWorkBits(SIMNET, a, fast[19]!, at(fast), 0))).toBe(compactToBig(bigToCompact(compactToBig(SIMNET.workDiffV2Blake3StartBits) >> 1n)))
  })

  it("property: ASERT is monotone: a later parent timestamp never gives a harder target", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 100000 }), fc.integer({ min: -500000, max: 500000 }), fc.integer({ min: 0, max: 1000 }), (heightDelta, timeDelta, later) => {
        const base = {
          startDiffBits: MAINNET.workDiffV2Blake3StartBits,
          powLimit: MAINNET.powLimit,
          targetSecsPerBlock: MAINNET.targetTimePerBlock,
          heightDelta: BigInt(heightDelta),
          halfLifeSecs: MAINNET.workDiffV2HalfLifeSecs,
        }
        const a = compactToBig(calcAsertBits({ ...base, timeDelta: BigInt(timeDelta) }))
        const b = compactToBig(calcAsertBits({ ...base, timeDelta: BigInt(timeDelta + later) }))
        expect(b).toBeGreaterThanOrEqual(a)
      }),
      { numRuns: 500 },
    )
  })
})

describe("legacy BLAKE-256 difficulty (dcrd calcNextBlake256Diff)", () => {
  const activations = chainActivations(REGNET.agendas)
  const start = 0x1e00ffff // well below regnet's limit so that both directions have room
  const windowBlocks = REGNET.workDiffWindowSize * REGNET.workDiffWindows // 32

  it("keeps the parent's bits between retargets", () => {
    const blocks = chain(41, start, () => 1)
    expect(nextBlake256Bits(REGNET, blocks[38]!, at(blocks), 0)).toBe(start)
    expect(nextWorkBits(REGNET, activations, blocks[38]!, at(blocks), 0)).toBe(start)
  })

  it("keeps the target when every window was exactly on schedule", () => {
    const blocks = chain(windowBlocks + 9, start, () => REGNET.targetTimePerBlock)
    expect(nextBlake256Bits(REGNET, blocks[39]!, at(blocks), 0)).toBe(start)
  })

  it("halves the target when every block came twice as fast", () => {
    const blocks = chain(81, start, (h) => (h % 2 === 0 ? 1 : 0)) // 8 blocks in 4 s
    const next = nextBlake256Bits(REGNET, blocks[79]!, at(blocks), 0)
    expect(compactToBig(next)).toBe(compactToBig(start) / 2n)
  })

  it("weights newer windows more: only the newest window fast", () => {
    // Windows (newest first) weigh 2^4, 2^3, 2^2, 2^1; the newest took 4 s instead of 8 s.
    const blocks = chain(81, start, (h) => (h > 71 ? (h % 2 === 0 ? 1 : 0) : 1))
    const expected = ((((1n << 31n) * 16n + (1n << 32n) * (8n + 4n + 2n)) / 30n) * compactToBig(start)) >> 32n
    expect(compactToBig(nextBlake256Bits(REGNET, blocks[79]!, at(blocks), 0))).toBe(compactToBig(bigToCompact(expected)))
  })

  it("moves at most a factor of 4 per retarget, and never above the pow limit", () => {
    const fast = chain(81, start, (h) => (h % 8 === 0 ? 1 : 0)) // 8 blocks a second: 8x too fast
    expect(compactToBig(nextBlake256Bits(REGNET, fast[79]!, at(fast), 0))).toBe(compactToBig(start) / 4n)
    const slow = chain(81, start, () => 100)
    expect(compactToBig(nextBlake256Bits(REGNET, slow[79]!, at(slow), 0))).toBe(compactToBig(start) * 4n)
    const atLimit = chain(81, REGNET.powLimitBits, () => 100)
    expect(nextBlake256Bits(REGNET, atLimit[79]!, at(atLimit), 0)).toBe(REGNET.powLimitBits)
  })

  it("counts windows that reach back to genesis as on schedule", () => {
    // The first retarget (height 8): every window's walk ends at genesis, so however fast the
    // first blocks came, the target stays.
    const blocks = chain(9, start, () => 0)
    expect(nextBlake256Bits(REGNET, blocks[7]!, at(blocks), 0)).toBe(start)
  })

  it("falls back to the pow limit when the windows took no time at all, as dcrd does", () => {
    const blocks = chain(81, start, () => 0)
    expect(nextBlake256Bits(REGNET, blocks[79]!, at(blocks), 0)).toBe(REGNET.powLimitBits)
  })

  it("testnet3 allows a minimum-difficulty block after 10 minutes without one (before its max-difficulty fork)", () => {
    const params: NetworkParams = TESTNET3
    const blocks = chain(12, 0x1c00ffff, () => 120)
    expect(nextBlake256Bits(params, blocks[10]!, at(blocks), blocks[10]!.timestamp + 601)).toBe(params.powLimitBits)
    expect(nextBlake256Bits(params, blocks[10]!, at(blocks), blocks[10]!.timestamp + 600)).toBe(0x1c00ffff)
  })
})
