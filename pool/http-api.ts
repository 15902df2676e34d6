import { Effect } from "effect"
import type { NetworkParams } from "../core/chain/params.ts"
import type { PayoutScheme } from "../core/payout/schemes.ts"
import type { ServerCounters } from "./stratum-server.ts"
import { PoolStore } from "./store/store.ts"

/** What the API reports that is not in the database: the running pool's live state. */
export interface PoolLiveState {
  readonly network: NetworkParams
  readonly mode: "pool" | "solo"
  readonly scheme: PayoutScheme
  readonly feeBasisPoints: number
  readonly counters: ServerCounters
  /** Height of the job miners are working on. */
  readonly workHeight: () => number | undefined
  readonly hashrates: (windowMs: number) => Effect.Effect<{
    readonly clients: ReadonlyArray<{ readonly account: string; readonly worker: string; readonly model: string; readonly hashesPerSecond: number; readonly lastMs: number }>
    readonly accounts: ReadonlyMap<string, number>
  }, unknown>
}

export interface ApiResponse {
  readonly status: number
  readonly body: unknown
}

const HASHRATE_WINDOW_MS = 10 * 60_000
const MAX_PAGE = 500

/** JSON has no bigint: atoms and difficulties go out as decimal strings, exactly. */
export const toJson = (value: unknown): string => JSON.stringify(value, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v))

const limitOf = (query: URLSearchParams): number | string => {
  const text = query.get("limit")
  if (text === null) return 50
  const n = Number(text)
  return Number.isSafeInteger(n) && n >= 1 && n <= MAX_PAGE ? n : `limit must be a whole number from 1 to ${MAX_PAGE}, got "${text}"`
}

const schemeName = (scheme: PayoutScheme): string => scheme.kind

/**
 * The pool's read-only JSON API (the web UI of issue 9 builds on it):
 * - `GET /api/pool`: network, mode, scheme and fee, connected miners, share counters, work
 *   height, pool hashrate over the last ten minutes;
 * - `GET /api/blocks?limit=N`: the pool's latest blocks with their status and reward;
 * - `GET /api/accounts`: every account's immature, payable, pending and paid atoms and hashrate;
 * - `GET /api/payouts?limit=N`: the latest payout batches with their transactions and outputs.
 * Undefined for paths it does not serve.
 */
export const poolApi = (live: PoolLiveState) => (path: string, query: URLSearchParams) =>
  Effect.gen(function* () {
    const store = yield* PoolStore
    const bad = (message: string): ApiResponse => ({ status: 400, body: { error: message } })
    switch (path) {
      case "/api/pool": {
        const rates = yield* live.hashrates(HASHRATE_WINDOW_MS)
        let hashrate = 0
        for (const r of rates.accounts.values()) hashrate += r
        return {
          status: 200,
          body: {
            network: live.network.name,
            mode: live.mode,
            scheme: schemeName(live.scheme),
            feeBasisPoints: live.feeBasisPoints,
            workHeight: live.workHeight() ?? null,
            connectedMiners: live.counters.connected,
            sharesAccepted: live.counters.sharesAccepted,
            sharesRejected: live.counters.sharesRejected,
            blockCandidates: live.counters.blockCandidates,
            hashesPerSecond: Math.round(hashrate),
            clients: rates.clients.length,
          },
        } satisfies ApiResponse
      }
      case "/api/blocks": {
        const limit = limitOf(query)
        if (typeof limit === "string") return bad(limit)
        return { status: 200, body: { blocks: yield* store.recentBlocks(limit) } } satisfies ApiResponse
      }
      case "/api/accounts": {
        const rates = yield* live.hashrates(HASHRATE_WINDOW_MS)
        const totals = yield* store.accountTotals
        return {
          status: 200,
          body: { accounts: totals.map((t) => ({ ...t, hashesPerSecond: Math.round(rates.accounts.get(t.account) ?? 0) })) },
        } satisfies ApiResponse
      }
      case "/api/payouts": {
        const limit = limitOf(query)
        if (typeof limit === "string") return bad(limit)
        const batches = yield* store.batches(limit)
        const withPayments = yield* Effect.forEach(batches, (b) =>
          Effect.map(store.paymentsOf(b.id), (payments) => ({ id: b.id, status: b.status, height: b.height, createdMs: b.createdMs, txid: b.txid ?? null, txFee: b.txFee ?? null, payments })),
        )
        return { status: 200, body: { payouts: withPayments } } satisfies ApiResponse
      }
      default:
        return undefined
    }
  })
