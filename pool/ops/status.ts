import { Effect, Schema, SchemaTransformation } from "effect"
import { atomsToDcr } from "../../core/chain/amounts.ts"
import { PoolStore } from "../store/store.ts"

/**
 * What `pool status` prints, as one value: read from the store by the command itself, or by the
 * running pool and sent as JSON (`GET /admin/status`) when the pool holds the embedded store.
 * One Schema for the wire and one formatter, so both ways print the same lines.
 */
const Atoms = Schema.String.pipe(Schema.decodeTo(Schema.BigInt, SchemaTransformation.bigintFromString))

export const StatusReport = Schema.Struct({
  shares: Schema.Int,
  blocks: Schema.Array(
    Schema.Struct({
      height: Schema.Int,
      hash: Schema.String,
      status: Schema.String,
      reward: Schema.NullOr(Atoms),
      account: Schema.String,
      worker: Schema.String,
    }),
  ),
  batches: Schema.Array(Schema.Struct({ id: Atoms, status: Schema.String, txid: Schema.NullOr(Schema.String) })),
  accounts: Schema.Array(Schema.Struct({ account: Schema.String, immature: Atoms, payable: Atoms, pending: Atoms, paid: Atoms })),
  /** Null when the pool never paid PPS. */
  ppsReserve: Schema.NullOr(Schema.Struct({ blocks: Schema.Int, blocksIn: Atoms, creditedToShares: Atoms })),
})
export type StatusReport = typeof StatusReport.Type

/** The latest 10 blocks, the latest 5 payout batches, every account's totals and the PPS reserve. */
export const gatherStatus = Effect.gen(function* () {
  const store = yield* PoolStore
  const shares = yield* store.shareCount
  const blocks = yield* store.blocksPage(10, 0)
  const batches = yield* store.batches(5)
  const accounts = yield* store.accountTotals
  const reserve = yield* store.ppsReserve
  return {
    shares: shares.shares,
    blocks: blocks.map((b) => ({ height: b.height, hash: b.hash, status: b.status, reward: b.reward ?? null, account: b.account, worker: b.worker })),
    batches: batches.map((b) => ({ id: b.id, status: b.status, txid: b.txid ?? null })),
    accounts: accounts.map((t) => ({ account: t.account, immature: t.immature, payable: t.payable, pending: t.pending, paid: t.paid })),
    ppsReserve: reserve.blocks === 0 && reserve.creditedToShares === 0n ? null : reserve,
  } satisfies StatusReport
})

export const formatStatus = (report: StatusReport): ReadonlyArray<string> => [
  `shares: ${report.shares}`,
  ...report.blocks.map((b) => `block ${b.height} ${b.hash} ${b.status}${b.reward === null ? "" : ` ${atomsToDcr(b.reward)} DCR`} found by ${b.account}.${b.worker}`),
  ...report.batches.map((b) => `payout batch ${b.id} ${b.status}${b.txid === null ? "" : ` ${b.txid}`}`),
  ...report.accounts.map((t) => `account ${t.account}: immature ${atomsToDcr(t.immature)}, payable ${atomsToDcr(t.payable)}, pending ${atomsToDcr(t.pending)}, paid ${atomsToDcr(t.paid)} DCR`),
  ...(report.ppsReserve === null
    ? []
    : [
        `PPS reserve: ${atomsToDcr(report.ppsReserve.blocksIn - report.ppsReserve.creditedToShares)} DCR (blocks paid in ${atomsToDcr(report.ppsReserve.blocksIn)} DCR over ${report.ppsReserve.blocks} blocks, PPS credited ${atomsToDcr(report.ppsReserve.creditedToShares)} DCR)`,
      ]),
]
