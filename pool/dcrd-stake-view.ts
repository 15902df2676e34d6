import { Effect, Result, Schema } from "effect"
import { dcrToAtoms } from "../core/chain/amounts.ts"
import { decodeHeaderHex } from "../core/chain/header.ts"
import type { NetworkParams } from "../core/chain/params.ts"
import type { ChainFailure } from "../core/services/chain.ts"
import { StakeViewUnavailable, TicketLookupUnavailable, type StakeView } from "../core/services/stake-view.ts"

/** One dcrd JSON-RPC call over the pool's connection (see `DcrdCalls` in dcrd-client.ts). */
type DcrdCall = (method: string, params: ReadonlyArray<unknown>) => Effect.Effect<unknown, ChainFailure>

/** Why the live view cannot list an address's tickets: what the 501 tells the staker. */
const NO_ADDRESS_INDEX =
  "dcrd has had no address index since 1.8 (--addrindex and searchrawtransactions were removed), so the pool's node cannot list an address's tickets; the staker's own wallet lists them (./dcrforge stake tickets, or dcrctl --wallet gettickets)"

// Amounts come as dcrd wrote them (a fractional number as its source text): dcrToAtoms reads them exactly.
const Amount = Schema.Union([Schema.String, Schema.Finite])
const BestBlock = Schema.Struct({ hash: Schema.String, height: Schema.Int })
const StakeDifficulty = Schema.Struct({ current: Amount, next: Amount })
const EstimateStakeDiff = Schema.Struct({ min: Amount, max: Amount, expected: Amount })

/** Price windows far enough below the tip that no reorganisation reaches them: their price is kept. */
const SETTLED_WINDOWS = 2

/**
 * The staking view over dcrd's JSON-RPC: getbestblock, getstakedifficulty, estimatestakediff,
 * getrawmempool's tickets, and each block's raw header (getblockhash, getblockheader) for its
 * voters, fresh stake, revocations, pool size and price, read exactly from the header bytes.
 * Looking tickets up by address is refused (`TicketLookupUnavailable`): dcrd keeps no index of them.
 */
export const makeDcrdStakeView = (call: DcrdCall, network: NetworkParams): StakeView["Service"] => {
  const unavailable = (method: string) => (e: ChainFailure) => new StakeViewUnavailable({ reason: `dcrd's ${method} failed: ${e._tag === "ChainUnavailable" ? e.reason : e.message}`, cause: e })
  const ask = <A>(method: string, params: ReadonlyArray<unknown>, schema: Schema.Codec<A, unknown>) =>
    call(method, params).pipe(
      Effect.mapError(unavailable(method)),
      Effect.flatMap((value) => {
        const decoded = Schema.decodeUnknownResult(schema)(value)
        return Result.isSuccess(decoded)
          ? Effect.succeed(decoded.success)
          : Effect.fail(new StakeViewUnavailable({ reason: `dcrd's ${method} answered an unexpected shape: ${JSON.stringify(value).slice(0, 120)}` }))
      }),
    )
  const atoms = (method: string, field: string, value: unknown) => {
    const parsed = dcrToAtoms(value, `${method} ${field}`)
    return Result.isSuccess(parsed) ? Effect.succeed(parsed.success) : Effect.fail(new StakeViewUnavailable({ reason: parsed.failure.message }))
  }
  const headerAt = (height: number) =>
    Effect.gen(function* () {
      const hash = yield* ask("getblockhash", [height], Schema.String)
      const hex = yield* ask("getblockheader", [hash, false], Schema.String)
      const header = decodeHeaderHex(hex)
      if (Result.isFailure(header)) return yield* Effect.fail(new StakeViewUnavailable({ reason: `dcrd's header of block ${height} does not decode: ${header.failure.message}` }))
      return { hash, header: header.success }
    })
  const settledPrices = new Map<number, bigint>()

  return {
    overview: Effect.gen(function* () {
      const best = yield* ask("getbestblock", [], BestBlock)
      const difficulty = yield* ask("getstakedifficulty", [], StakeDifficulty)
      const estimate = yield* ask("estimatestakediff", [], EstimateStakeDiff)
      const mempool = yield* ask("getrawmempool", [false, "tickets"], Schema.Array(Schema.String))
      const tip = yield* headerAt(best.height)
      const window = network.stakeDiffWindowSize
      const nextWindowStartsAt = (Math.floor((best.height + 1) / window) + 1) * window
      return {
        height: best.height,
        price: yield* atoms("getstakedifficulty", "next", difficulty.next),
        estimate: {
          min: yield* atoms("estimatestakediff", "min", estimate.min),
          max: yield* atoms("estimatestakediff", "max", estimate.max),
          expected: yield* atoms("estimatestakediff", "expected", estimate.expected),
          blocksLeftInWindow: nextWindowStartsAt - best.height - 1,
          nextWindowStartsAt,
        },
        windowSize: window,
        poolSize: tip.header.poolSize,
        poolTarget: network.ticketPoolSize * network.ticketsPerBlock,
        mempoolTickets: mempool.length,
      }
    }),
    priceHistory: (windows) =>
      Effect.gen(function* () {
        const best = yield* ask("getbestblock", [], BestBlock)
        const size = network.stakeDiffWindowSize
        const last = Math.floor(best.height / size)
        const first = Math.max(0, last - windows + 1)
        return yield* Effect.forEach(
          Array.from({ length: last - first + 1 }, (_, i) => (first + i) * size),
          (startHeight) => {
            const kept = settledPrices.get(startHeight)
            if (kept !== undefined) return Effect.succeed({ startHeight, price: kept })
            return Effect.map(headerAt(startHeight), ({ header }) => {
              if (startHeight + SETTLED_WINDOWS * size <= best.height) settledPrices.set(startHeight, header.sbits)
              return { startHeight, price: header.sbits }
            })
          },
          { concurrency: 8 },
        )
      }),
    recentBlocks: (limit, offset) =>
      Effect.gen(function* () {
        const best = yield* ask("getbestblock", [], BestBlock)
        const heights: Array<number> = []
        for (let height = best.height - offset; height >= 0 && height > best.height - offset - limit; height--) heights.push(height)
        const blocks = yield* Effect.forEach(
          heights,
          (height) =>
            Effect.map(headerAt(height), ({ hash, header }) => ({
              height,
              hash,
              votes: header.voters,
              misses: height >= network.stakeValidationHeight ? Math.max(0, network.ticketsPerBlock - header.voters) : 0,
              revocations: header.revocations,
              tickets: header.freshStake,
              poolSize: header.poolSize,
              price: header.sbits,
            })),
          { concurrency: 8 },
        )
        return { blocks, total: best.height + 1 }
      }),
    ticketsOf: () => Effect.fail(new TicketLookupUnavailable({ reason: NO_ADDRESS_INDEX })),
  }
}
