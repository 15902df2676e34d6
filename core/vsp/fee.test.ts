import { readFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { MAINNET, NETWORKS, REGNET, SIMNET, TESTNET3, type NetworkName } from "../chain/params.ts"
import { stakePoolTicketFee, validPoolFeeRate, vspdCurrentFee, type StakePoolFeeInput } from "./fee.ts"

/**
 * Vectors printed by dcrwallet's own txrules.StakePoolTicketFee and ValidPoolFeeRate (module
 * decred.org/dcrwallet/v5 v5.1.0, as scenarios/simnet/tools pins it): mainnet, testnet3 and
 * simnet; heights at genesis, block 1, around stake validation and across subsidy reductions up
 * to where the subsidy is gone; prices from the minimum to 2^52 atoms; relay fees; every split
 * (original, DCP-0010, DCP-0012, both flags); percentages from 0 to 150 including ones whose
 * float64 product with 100 floors below the written value. Regenerate with
 * scenarios/simnet/tools/vsp-vectors/generate.sh.
 */
interface FeeVector {
  readonly network: NetworkName
  readonly height: number
  readonly stakeDiff: string
  readonly relayFeePerKb: string
  readonly feePercent: number
  readonly dcp0010Active: boolean
  readonly dcp0012Active: boolean
  readonly fee: string
  readonly validFeeRate: boolean
}

const vectors: ReadonlyArray<FeeVector> = JSON.parse(readFileSync(join(import.meta.dirname, "stake-pool-fee.vectors.json"), "utf8"))

const inputOf = (v: FeeVector): StakePoolFeeInput => ({
  stakeDiff: BigInt(v.stakeDiff),
  relayFeePerKb: BigInt(v.relayFeePerKb),
  height: v.height,
  feePercent: v.feePercent,
  network: NETWORKS[v.network],
  dcp0010Active: v.dcp0010Active,
  dcp0012Active: v.dcp0012Active,
})
const feeOf = (v: FeeVector): bigint => stakePoolTicketFee(inputOf(v))

describe("stakePoolTicketFee: dcrwallet's txrules.StakePoolTicketFee, checked against Go's own answers", () => {
  it("covers the three networks, every subsidy split and fees that are not zero", () => {
    expect(new Set(vectors.map((v) => v.network))).toEqual(new Set(["mainnet", "testnet3", "simnet"]))
    expect(vectors.filter((v) => v.fee !== "0").length).toBeGreaterThan(1000)
    expect(new Set(vectors.map((v) => `${v.dcp0010Active}/${v.dcp0012Active}`)).size).toBe(4)
  })

  it("gives Go's fee, to the atom, for every vector", () => {
    const wrong = vectors.filter((v) => feeOf(v) !== BigInt(v.fee)).map((v) => ({ ...v, got: feeOf(v).toString() }))
    expect(wrong.slice(0, 5)).toEqual([])
  })

  it("agrees with Go's ValidPoolFeeRate for every percentage", () => {
    for (const v of vectors) expect(validPoolFeeRate(v.feePercent), `${v.feePercent}`).toBe(v.validFeeRate)
  })

  it("floors the percentage in float64 as Go does: 2.3% is 229 hundredths, not 230", () => {
    const at = (feePercent: number) => feeOf({ ...vectors.find((v) => v.network === "mainnet" && v.fee !== "0")!, feePercent })
    expect(Math.floor(2.3 * 100)).toBe(229)
    expect(at(2.3)).toBeLessThan(at(2.3000000000000003))
    expect(at(2.3)).toBe(at(2.29))
  })
})

describe("vspdCurrentFee: the quote vspd's getCurrentFee makes", () => {
  const price = 23_456_789_012n
  const direct = (network: typeof MAINNET, height: number, dcp0010Active: boolean, dcp0012Active: boolean) =>
    stakePoolTicketFee({ stakeDiff: price, relayFeePerKb: 10_000n, height, feePercent: 2, network, dcp0010Active, dcp0012Active })
  const quote = (network: typeof MAINNET, height: number) => vspdCurrentFee({ bestBlockSBits: price, bestBlockHeight: height, feePercent: 2, network })

  it("switches subsidy split at vspd's own heights: mainnet 657280 and 794368, testnet3 877728 and 1170048", () => {
    for (const [network, dcp0010, dcp0012] of [
      [MAINNET, 657280, 794368],
      [TESTNET3, 877728, 1170048],
    ] as const) {
      expect(quote(network, dcp0010 - 1)).toBe(direct(network, dcp0010 - 1, false, false))
      expect(quote(network, dcp0010)).toBe(direct(network, dcp0010, true, false))
      expect(quote(network, dcp0012 - 1)).toBe(direct(network, dcp0012 - 1, true, false))
      expect(quote(network, dcp0012)).toBe(direct(network, dcp0012, true, true))
      expect(direct(network, dcp0010, true, false)).not.toBe(direct(network, dcp0010, false, false))
    }
  })

  it("takes DCP-0012 from block 1 on simnet, and the chain's own activations on regnet", () => {
    expect(quote(SIMNET, 200)).toBe(direct(SIMNET, 200, true, true))
    expect(quote(REGNET, 200)).toBe(direct(REGNET, 200, false, false))
    expect(vspdCurrentFee({ bestBlockSBits: price, bestBlockHeight: 200, feePercent: 2, network: REGNET, activations: { changesubsidysplit: 150 } })).toBe(direct(REGNET, 200, true, false))
  })
})
