import { DIFFICULTY_SCALE } from "../stratum/difficulty.ts"
import { sig3, type Bench } from "../../testkit/bench.ts"
import { seededRandom } from "../../testkit/pool-sim.ts"
import { pplnsWindowByWalking, shareBlock } from "./schemes.ts"
import { ShareLog } from "./sharelog.ts"

/**
 * Issue 4's goals: a payout over a 1,000,000-share PPLNS window in 200 ms or less, and the
 * amortised cost per share of keeping the window up to date. 1,000 accounts, share
 * difficulties from 1 to 64, X x D set so that the window holds the last million shares of
 * a 1.2-million-share log (the straddling share pro-rated).
 */
const SHARES = 1_200_000
const WINDOW_SHARES = 1_000_000
const ACCOUNTS = 1_000

export const benches: ReadonlyArray<Bench> = [
  {
    name: "payout",
    run: () => {
      const random = seededRandom(42)
      const accounts = Array.from({ length: ACCOUNTS }, (_, i) => `account-${i}`)
      const weights = Array.from({ length: SHARES }, () => BigInt(1 + Math.floor(random() * 64)) * DIFFICULTY_SCALE)
      const log = new ShareLog()
      const t0 = performance.now()
      for (let i = 0; i < SHARES; i++) {
        log.append({ id: `share-${i}`, account: accounts[Math.floor(random() * ACCOUNTS)]!, weight: weights[i]!, time: i })
      }
      const appendMs = performance.now() - t0
      const windowUnits = log.weightBefore(log.end) - log.weightBefore(SHARES - WINDOW_SHARES) - DIFFICULTY_SCALE / 2n
      const block = { hash: "b", height: 1, reward: 312_000_000n, networkDifficulty: windowUnits / 2n, time: SHARES, logEnd: log.end, finder: "account-0" }
      const scheme = { kind: "pplns" as const, windowMultiple: { numerator: 2n, denominator: 1n } }
      shareBlock(scheme, log, block, 100, 0) // warm-up
      const runs = 10
      const t1 = performance.now()
      let credited = 0
      for (let i = 0; i < runs; i++) credited = shareBlock(scheme, log, block, 100, 0).credits.length
      const indexedMs = (performance.now() - t1) / runs
      const shares = Array.from({ length: SHARES }, (_, i) => log.at(i))
      const t2 = performance.now()
      pplnsWindowByWalking(shares, SHARES, block.networkDifficulty * 2n)
      const walkMs = performance.now() - t2
      return [
        { name: "payout_pplns_1m_share_window_indexed", value: sig3(indexedMs), unit: "ms" },
        { name: "payout_pplns_1m_share_window_walked", value: sig3(walkMs), unit: "ms" },
        { name: "payout_share_append_amortised", value: sig3((appendMs * 1000) / SHARES), unit: "µs/share" },
        { name: "payout_accounts_credited", value: credited, unit: "accounts" },
      ]
    },
  },
]
