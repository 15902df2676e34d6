import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { MAINNET, SIMNET } from "../core/chain/params.ts"
import { decideAutoBuy, type AutoBuyerConfig } from "./autobuyer.ts"

const config: AutoBuyerConfig = { balanceToMaintain: 1_000_000n, maxPrice: undefined, limitPerBlock: 20, expiryBlocks: undefined }

describe("automatic ticket buyer", () => {
  const base = { params: SIMNET, price: 100_000n, feePerTicket: 1_000n, spendable: 10_000_000n }

  it("skips two blocks before the price window ends, and buys at the new price as it opens", () => {
    // simnet windows are 8 blocks: 16 opens one; at tip 14 the next block (15) is the window's last.
    expect(decideAutoBuy(config, { ...base, height: 14 })).toEqual({ buy: 0, skipped: "window-ends-soon" })
    expect(decideAutoBuy(config, { ...base, height: 13 })).toMatchObject({ expiry: 16 })
    // At tip 15 the next block opens the window at 16: purchases there live until 24.
    expect(decideAutoBuy(config, { ...base, height: 15 })).toMatchObject({ expiry: 24 })
  })

  it("keeps the balance to maintain and respects the limit and MaxFreshStakePerBlock", () => {
    // (10,000,000 - 1,000,000) / 101,000 = 89 affordable, capped at 20.
    expect(decideAutoBuy(config, { ...base, height: 100 })).toMatchObject({ buy: 20 })
    expect(decideAutoBuy({ ...config, limitPerBlock: 5 }, { ...base, height: 100 })).toMatchObject({ buy: 5 })
    expect(decideAutoBuy(config, { ...base, height: 100, spendable: 1_202_000n })).toMatchObject({ buy: 2 })
    expect(decideAutoBuy(config, { ...base, height: 100, spendable: 1_000_000n })).toEqual({ buy: 0, skipped: "balance-at-or-below-maintain" })
  })

  it("never pays above the maximum price", () => {
    expect(decideAutoBuy({ ...config, maxPrice: 99_999n }, { ...base, height: 100 })).toEqual({ buy: 0, skipped: "price-above-max" })
    expect(decideAutoBuy({ ...config, maxPrice: 100_000n }, { ...base, height: 100 })).toMatchObject({ buy: 20 })
  })

  it("expires purchases sooner when told to", () => {
    expect(decideAutoBuy({ ...config, expiryBlocks: 3 }, { ...base, height: 100 })).toMatchObject({ expiry: 104 })
  })

  it("property: never spends below the balance to maintain, never buys more than 20, and purchases can be mined", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(SIMNET, MAINNET),
        fc.integer({ min: 1, max: 100_000 }),
        fc.bigInt({ min: 20_000n, max: 10n ** 12n }),
        fc.bigInt({ min: 0n, max: 10n ** 14n }),
        fc.bigInt({ min: 0n, max: 10n ** 13n }),
        fc.integer({ min: 1, max: 40 }),
        (params, height, price, spendable, maintain, limit) => {
          const d = decideAutoBuy({ ...config, balanceToMaintain: maintain, limitPerBlock: limit }, { params, height, price, feePerTicket: 2_000n, spendable })
          expect(d.buy).toBeLessThanOrEqual(Math.min(20, limit))
          if (d.buy > 0) {
            expect(BigInt(d.buy) * (price + 2_000n)).toBeLessThanOrEqual(spendable - maintain)
            if ("expiry" in d) expect(d.expiry).toBeGreaterThan(height + 1)
          }
        },
      ),
    )
  })
})
