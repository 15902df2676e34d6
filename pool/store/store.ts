import { Array as Arr, Context, Effect, Layer, Schema } from "effect"
import * as SqlClient from "effect/sql/SqlClient"
import type { Allocation } from "../../core/payout/amounts.ts"
import { BigIntColumn, decodeRows, MillisColumn, NullableColumn, NumberColumn, StoreRowInvalid, TextColumn } from "./rows.ts"

/**
 * Every query the pool runs, in one place and one dialect, for the embedded store and for a
 * Postgres server alike. Each state change is a guarded UPDATE (`WHERE status = ...`
 * RETURNING), so two pool instances on one database, or one instance replaying work after a
 * crash, change a row at most once: that guard is what makes "credited once" and "paid once"
 * hold without a coordinator.
 *
 * Work only one instance should do (settlement and payouts: computed once, built and signed
 * once) goes to the holder of a lease row (`takeLease`); the guards still hold if two ever
 * overlap (a holder stalled past its lease).
 *
 * Every row read is decoded by a schema (`rows.ts`): the drivers' integers, whatever type each
 * store returns them as, become exact bigints or numbers, a status column one of its states,
 * and a row that does not fit is a `StoreRowInvalid` naming the table, column and value.
 */

/** A share as written (the write side: no query reads a whole share back). */
export interface ShareRow {
  readonly id: string
  readonly account: string
  readonly worker: string
  readonly model: string
  /** Difficulty units (DIFFICULTY_SCALE per unit of difficulty). */
  readonly weight: bigint
  readonly createdMs: number
  readonly height: number
  readonly networkDifficulty: bigint
  readonly instance: string
}

const BlockStatus = Schema.Literals(["accepted", "confirmed", "matured", "orphaned"])
type BlockStatus = typeof BlockStatus.Type

export const BlockRow = Schema.Struct({
  hash: TextColumn,
  height: NumberColumn,
  account: TextColumn,
  worker: TextColumn,
  model: TextColumn,
  foundMs: MillisColumn,
  networkDifficulty: BigIntColumn,
  status: BlockStatus,
  reward: NullableColumn(BigIntColumn),
  fee: NullableColumn(BigIntColumn),
}).pipe(Schema.encodeKeys({ foundMs: "found_ms", networkDifficulty: "network_difficulty" }))
export type BlockRow = typeof BlockRow.Type

const BatchStatus = Schema.Literals(["building", "signed", "published"])
type BatchStatus = typeof BatchStatus.Type

export const BatchRow = Schema.Struct({
  id: BigIntColumn,
  status: BatchStatus,
  createdMs: MillisColumn,
  height: NumberColumn,
  txid: NullableColumn(TextColumn),
  rawTx: NullableColumn(TextColumn),
  txFee: NullableColumn(BigIntColumn),
}).pipe(Schema.encodeKeys({ createdMs: "created_ms", rawTx: "raw_tx", txFee: "tx_fee" }))
export type BatchRow = typeof BatchRow.Type

export const PaymentRow = Schema.Struct({
  batchId: BigIntColumn,
  account: TextColumn,
  address: TextColumn,
  amount: BigIntColumn,
}).pipe(Schema.encodeKeys({ batchId: "batch_id" }))
export type PaymentRow = typeof PaymentRow.Type

const AccountTotals = Schema.Struct({
  account: TextColumn,
  /** Credited from confirmed blocks or PPS, not yet payable (coinbase not mature). */
  immature: BigIntColumn,
  /** Payable and not yet in a batch. */
  payable: BigIntColumn,
  /** In a batch not yet published. */
  pending: BigIntColumn,
  /** In a published batch. */
  paid: BigIntColumn,
})
type AccountTotals = typeof AccountTotals.Type

/** An account set aside from payouts: its credits stay payable and no batch takes them. */
const HeldAccount = Schema.Struct({
  account: TextColumn,
  /** The address the payment was refused for. */
  address: TextColumn,
  /** Why: the wallet's refusal, as it gave it. */
  reason: TextColumn,
  heldMs: MillisColumn,
}).pipe(Schema.encodeKeys({ heldMs: "held_ms" }))
type HeldAccount = typeof HeldAccount.Type

/** One account's payment with its batch's state and transaction (the account page). */
const AccountPayment = Schema.Struct({
  batchId: BigIntColumn,
  address: TextColumn,
  amount: BigIntColumn,
  status: BatchStatus,
  txid: NullableColumn(TextColumn),
  height: NumberColumn,
  createdMs: MillisColumn,
  publishedMs: NullableColumn(MillisColumn),
}).pipe(Schema.encodeKeys({ batchId: "batch_id", createdMs: "created_ms", publishedMs: "published_ms" }))
type AccountPayment = typeof AccountPayment.Type

/** A share's work on the PPLNS walk, with its keyset cursor (`createdMs`, `seq`). */
const ShareWork = Schema.Struct({
  seq: BigIntColumn,
  account: TextColumn,
  weight: BigIntColumn,
  createdMs: MillisColumn,
}).pipe(Schema.encodeKeys({ createdMs: "created_ms" }))
type ShareWork = typeof ShareWork.Type

/** One worker's recent work: the source of hashrate figures. */
const WorkerWork = Schema.Struct({
  account: TextColumn,
  worker: TextColumn,
  model: TextColumn,
  weight: BigIntColumn,
  shares: NumberColumn,
  lastMs: MillisColumn,
}).pipe(Schema.encodeKeys({ lastMs: "last_ms" }))
type WorkerWork = typeof WorkerWork.Type

/** What setting a payment aside did. */
interface SetAside {
  readonly address: string
  /** The payment's amount: back to payable. */
  readonly amount: bigint
  /** True when the batch paid nobody else and was deleted (it was never signed). */
  readonly batchDropped: boolean
}

/** One credited pay-out candidate: an account's payable sum. */
interface Owed {
  readonly account: string
  readonly amount: bigint
}

/** Rows per INSERT: 8 parameters a share, under the protocol's 32,767 per statement. */
const INSERT_CHUNK = 2000

// Columns are selected as they are: the row schemas decode whatever type each driver returns,
// exactly (no cast to text needed, and none that would make ORDER BY sort "10" before "9").
const BLOCK_COLUMNS = "hash, height, account, worker, model, found_ms, network_difficulty, status, reward, fee"
const BATCH_COLUMNS = "id, status, created_ms, height, txid, raw_tx, tx_fee"

/** `count(*) AS n` of one table. */
const Count = Schema.Struct({ n: NumberColumn })
/** A counter in `meta` (its value is text). */
const Counter = Schema.Struct({ value: BigIntColumn })
const AccountWork = Schema.Struct({ account: TextColumn, weight: BigIntColumn })
const AccountAmount = Schema.Struct({ account: TextColumn, amount: BigIntColumn })
const ShareTotals = Schema.Struct({ n: NumberColumn, w: BigIntColumn })
const LatestTime = Schema.Struct({ t: NullableColumn(MillisColumn) })
const PaymentTotals = Schema.Struct({ n: NumberColumn, total: BigIntColumn })
const RemovedPayment = Schema.Struct({ address: TextColumn, amount: BigIntColumn })
const PpsReserveTotals = Schema.Struct({ blocks: NumberColumn, blocksIn: BigIntColumn, creditedToShares: BigIntColumn }).pipe(
  Schema.encodeKeys({ blocksIn: "blocks_in", creditedToShares: "credited_to_shares" }),
)
const Watermark = Schema.Struct({ instance: TextColumn, committedMs: MillisColumn }).pipe(Schema.encodeKeys({ committedMs: "committed_ms" }))
const LeaseHolder = Schema.Struct({ holder: TextColumn, untilMs: MillisColumn }).pipe(Schema.encodeKeys({ untilMs: "until_ms" }))
const SettledShare = Schema.Struct({ account: TextColumn, weight: BigIntColumn, height: NumberColumn, networkDifficulty: BigIntColumn }).pipe(
  Schema.encodeKeys({ networkDifficulty: "network_difficulty" }),
)

const decodeBlocks = decodeRows("blocks", BlockRow)
const decodeShareWork = decodeRows("shares", ShareWork)
const decodeAccountWork = decodeRows("shares", AccountWork)
const decodeWorkerWork = decodeRows("shares", WorkerWork)
const decodeShareTotals = decodeRows("shares", ShareTotals)
const decodeSettledShares = decodeRows("shares", SettledShare)
const decodeLatestTime = decodeRows("blocks", LatestTime)
const decodeCounter = decodeRows("meta", Counter)
const decodeOwed = decodeRows("credits", AccountAmount)
const decodePayments = decodeRows("payments", PaymentRow)
const decodePaymentTotals = decodeRows("payments", PaymentTotals)
const decodeRemovedPayment = decodeRows("payments", RemovedPayment)
const decodeAccountPayments = decodeRows("payments joined with payout_batches", AccountPayment)
const decodeHeldAccounts = decodeRows("held_accounts", HeldAccount)
const decodeAccountTotals = decodeRows("credits joined with payout_batches", AccountTotals)
const decodeBatches = decodeRows("payout_batches", BatchRow)
const decodeLeaseHolder = decodeRows("leases", LeaseHolder)
const decodeWatermarks = decodeRows("share_watermarks", Watermark)
const decodePpsReserve = decodeRows("blocks and credits", PpsReserveTotals)
const firstCount = (table: string) => {
  const decode = decodeRows(table, Count)
  return (rows: ReadonlyArray<unknown>) => decode(rows).pipe(Effect.map((decoded) => decoded[0]?.n ?? 0))
}
const blocksCount = firstCount("blocks")
const batchesCount = firstCount("payout_batches")
const paymentsCount = firstCount("payments")

const makePoolStore = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient

  /** Rows for `sql.insert`, which needs at least one. */
  const many = (rows: ReadonlyArray<Record<string, unknown>>) => (Arr.isReadonlyArrayNonEmpty(rows) ? sql.insert(rows) : undefined)

  const insertShares = (shares: ReadonlyArray<ShareRow>) => {
    const rows = many(
      shares.map(
        (s): Record<string, unknown> => ({
          id: s.id,
          account: s.account,
          worker: s.worker,
          model: s.model,
          weight: s.weight.toString(),
          created_ms: s.createdMs,
          height: s.height,
          network_difficulty: s.networkDifficulty.toString(),
          instance: s.instance,
        }),
      ),
    )
    return rows === undefined ? Effect.void : sql`INSERT INTO shares ${rows} ON CONFLICT (id) DO NOTHING`.pipe(Effect.asVoid)
  }
  const insertSharesChunked = (shares: ReadonlyArray<ShareRow>) =>
    Effect.forEach(
      Array.from({ length: Math.ceil(shares.length / INSERT_CHUNK) }, (_, i) => shares.slice(i * INSERT_CHUNK, (i + 1) * INSERT_CHUNK)),
      insertShares,
      { discard: true },
    )

  /**
   * Shares at or before `untilMs`, newest first, from a keyset cursor: the PPLNS window is
   * walked page by page and stops once it holds enough work.
   */
  const sharesBefore = (untilMs: number, after: { readonly createdMs: number; readonly seq: bigint } | undefined, limit: number) =>
    (after === undefined
      ? sql`SELECT seq, account, weight, created_ms FROM shares
            WHERE created_ms <= ${untilMs} ORDER BY shares.created_ms DESC, shares.seq DESC LIMIT ${limit}`
      : sql`SELECT seq, account, weight, created_ms FROM shares
            WHERE created_ms <= ${untilMs} AND (created_ms < ${after.createdMs} OR (created_ms = ${after.createdMs} AND seq < ${after.seq.toString()}))
            ORDER BY shares.created_ms DESC, shares.seq DESC LIMIT ${limit}`
    ).pipe(Effect.flatMap(decodeShareWork))

  /** Per-account work of shares in (fromMs, toMs]. */
  const workBetween = (fromMs: number, toMs: number) =>
    sql`SELECT account, sum(weight) AS weight FROM shares WHERE created_ms > ${fromMs} AND created_ms <= ${toMs} GROUP BY account`.pipe(
      Effect.flatMap(decodeAccountWork),
      Effect.map((rows) => new Map(rows.map((r) => [r.account, r.weight] as const))),
    )

  /** Per-(account, worker) work since `fromMs`: the source of hashrate figures. */
  const workSince = (fromMs: number) =>
    sql`SELECT account, worker, model, sum(weight) AS weight, count(*) AS shares, max(created_ms) AS last_ms
        FROM shares WHERE created_ms > ${fromMs} GROUP BY account, worker, model`.pipe(Effect.flatMap(decodeWorkerWork))

  const shareCount = sql`SELECT count(*) AS n, coalesce(sum(weight), 0) AS w FROM shares`.pipe(
    Effect.flatMap(decodeShareTotals),
    Effect.map((rows) => ({ shares: rows[0]?.n ?? 0, weight: rows[0]?.w ?? 0n })),
  )

  /** A found block, with the share that found it (if given) in the same transaction. */
  const insertBlock = (b: Omit<BlockRow, "status" | "reward" | "fee">, nowMs: number, findingShare?: ShareRow) =>
    sql.withTransaction(Effect.andThen(findingShare === undefined ? Effect.void : insertShares([findingShare]), insertBlockRow(b, nowMs)))
  const insertBlockRow = (b: Omit<BlockRow, "status" | "reward" | "fee">, nowMs: number) =>
    sql`INSERT INTO blocks ${sql.insert({
      hash: b.hash,
      height: b.height,
      account: b.account,
      worker: b.worker,
      model: b.model,
      found_ms: b.foundMs,
      network_difficulty: b.networkDifficulty.toString(),
      status: "accepted",
      updated_ms: nowMs,
    })} ON CONFLICT (hash) DO NOTHING`.pipe(Effect.asVoid)

  const blocksWithStatus = (statuses: ReadonlyArray<BlockStatus>) =>
    sql.unsafe(`SELECT ${BLOCK_COLUMNS} FROM blocks WHERE status IN (${statuses.map((_, i) => `$${i + 1}`).join(", ")}) ORDER BY height, hash`, statuses).pipe(Effect.flatMap(decodeBlocks))

  /** The found time of the pool's latest non-orphaned block before `foundMs` (proportional rounds). */
  const previousBlockTime = (foundMs: number) =>
    sql`SELECT max(found_ms) AS t FROM blocks WHERE found_ms < ${foundMs} AND status <> 'orphaned'`.pipe(
      Effect.flatMap(decodeLatestTime),
      Effect.map((rows) => rows[0]?.t),
    )

  /**
   * accepted -> confirmed with its credits, in one transaction; false when another instance
   * (or an earlier run) did it first, in which case nothing is written.
   */
  const confirmBlock = (hash: string, reward: bigint, fee: bigint, credits: ReadonlyArray<Allocation>, nowMs: number) =>
    sql.withTransaction(
      Effect.gen(function* () {
        const won = yield* sql`UPDATE blocks SET status = 'confirmed', reward = ${reward.toString()}, fee = ${fee.toString()}, updated_ms = ${nowMs}
                              WHERE hash = ${hash} AND status = 'accepted' RETURNING hash`
        if (won.length === 0) return false
        const rows = many(credits.filter((c) => c.amount > 0n).map((c) => ({ source: hash, account: c.account, amount: c.amount.toString(), created_ms: nowMs })))
        if (rows !== undefined) yield* sql`INSERT INTO credits ${rows}`
        return true
      }),
    )

  /** Drops a block that left the main chain, and its credits (never payable before maturity). */
  const orphanBlock = (hash: string, nowMs: number) =>
    sql.withTransaction(
      Effect.gen(function* () {
        const won = yield* sql`UPDATE blocks SET status = 'orphaned', updated_ms = ${nowMs}
                              WHERE hash = ${hash} AND status IN ('accepted', 'confirmed') RETURNING hash`
        if (won.length === 0) return false
        yield* sql`DELETE FROM credits WHERE source = ${hash} AND NOT payable AND batch_id IS NULL`
        return true
      }),
    )

  const matureBlock = (hash: string, nowMs: number) =>
    sql.withTransaction(
      Effect.gen(function* () {
        const won = yield* sql`UPDATE blocks SET status = 'matured', updated_ms = ${nowMs} WHERE hash = ${hash} AND status = 'confirmed' RETURNING hash`
        if (won.length === 0) return false
        yield* sql`UPDATE credits SET payable = true WHERE source = ${hash}`
        return true
      }),
    )

  /**
   * Reserves every payable, unbatched credit of accounts owed at least `minimum` (the pool's
   * fee account always) for a new batch; held accounts wait (see `setAsidePayment`). One
   * transaction holding the batch counter's row lock, so concurrent instances build batches one
   * after the other and a credit lands in one batch. `addressOf` names each account's address
   * for the batch's number (the pool's fee goes to its addresses in turn).
   */
  const createBatch = (minimum: bigint, feeAccount: string, addressOf: (account: string, batchId: bigint) => string, height: number, nowMs: number) =>
    sql.withTransaction(
      Effect.gen(function* () {
        const counter = yield* sql`SELECT value FROM meta WHERE key = 'next_batch' FOR UPDATE`.pipe(Effect.flatMap(decodeCounter))
        const open = yield* sql`SELECT id FROM payout_batches WHERE status IN ('building', 'signed') LIMIT 1`
        if (open.length > 0) return undefined
        const owed = yield* sql`SELECT account, sum(amount) AS amount FROM credits
            WHERE payable AND batch_id IS NULL AND account NOT IN (SELECT account FROM held_accounts)
            GROUP BY account ORDER BY account COLLATE "C"`.pipe(Effect.flatMap(decodeOwed))
        const due: ReadonlyArray<Owed> = owed.filter((o) => o.amount > 0n && (o.amount >= minimum || o.account === feeAccount))
        if (due.length === 0) return undefined
        const id = counter[0]?.value ?? 1n
        yield* sql`UPDATE meta SET value = ${(id + 1n).toString()} WHERE key = 'next_batch'`
        yield* sql`INSERT INTO payout_batches ${sql.insert({ id: id.toString(), status: "building", created_ms: nowMs, height })}`
        // In chunks: the Postgres protocol counts a statement's parameters in 16 bits.
        for (let i = 0; i < due.length; i += INSERT_CHUNK) {
          const payments = many(due.slice(i, i + INSERT_CHUNK).map((d) => ({ batch_id: id.toString(), account: d.account, address: addressOf(d.account, id), amount: d.amount.toString() })))
          if (payments !== undefined) yield* sql`INSERT INTO payments ${payments}`
        }
        yield* sql`UPDATE credits SET batch_id = ${id.toString()} WHERE payable AND batch_id IS NULL
                   AND account IN (SELECT account FROM payments WHERE batch_id = ${id.toString()})`
        return id
      }),
    )

  /**
   * Settles PPS: marks every unsettled share settled and credits each account what its shares
   * were worth (`valueOf`), payable from `matureHeight`, all in one transaction under the PPS
   * counter's lock; a share is settled once whatever the number of instances. Also releases
   * PPS credits whose height has come.
   */
  const settlePps = (valueOf: (share: { readonly weight: bigint; readonly height: number; readonly networkDifficulty: bigint }) => bigint, tip: number, matureHeight: number, nowMs: number) =>
    sql.withTransaction(
      Effect.gen(function* () {
        const counter = yield* sql`SELECT value FROM meta WHERE key = 'next_pps' FOR UPDATE`.pipe(Effect.flatMap(decodeCounter))
        const settled = yield* sql`UPDATE shares SET pps_settled = true WHERE NOT pps_settled
            RETURNING account, weight, height, network_difficulty`.pipe(Effect.flatMap(decodeSettledShares))
        const owed = new Map<string, bigint>()
        for (const share of settled) owed.set(share.account, (owed.get(share.account) ?? 0n) + valueOf(share))
        const n = counter[0]?.value ?? 1n
        const rows = [...owed]
          .filter(([, amount]) => amount > 0n)
          .map(([account, amount]) => ({ source: `pps:${n}`, account, amount: amount.toString(), created_ms: nowMs, mature_height: matureHeight }))
        for (let i = 0; i < rows.length; i += INSERT_CHUNK) {
          const chunk = many(rows.slice(i, i + INSERT_CHUNK))
          if (chunk !== undefined) yield* sql`INSERT INTO credits ${chunk}`
        }
        if (rows.length > 0) yield* sql`UPDATE meta SET value = ${(n + 1n).toString()} WHERE key = 'next_pps'`
        yield* sql`UPDATE credits SET payable = true WHERE NOT payable AND mature_height IS NOT NULL AND mature_height <= ${tip}`
        return { shares: settled.length, accounts: rows.length }
      }),
    )

  const openBatches = sql.unsafe(`SELECT ${BATCH_COLUMNS} FROM payout_batches WHERE status IN ('building', 'signed') ORDER BY payout_batches.id`).pipe(Effect.flatMap(decodeBatches))

  const batches = (limit: number) => sql.unsafe(`SELECT ${BATCH_COLUMNS} FROM payout_batches ORDER BY payout_batches.id DESC LIMIT $1`, [limit]).pipe(Effect.flatMap(decodeBatches))

  const paymentsOf = (batchId: bigint) =>
    sql`SELECT batch_id, account, address, amount FROM payments WHERE batch_id = ${batchId.toString()} ORDER BY account COLLATE "C"`.pipe(Effect.flatMap(decodePayments))

  // ---- read-only pages for the web UI and API (offset pagination, newest first)

  /** The pool's blocks, newest first; only `account`'s when given. */
  const blocksPage = (limit: number, offset: number, account?: string) =>
    (account === undefined
      ? sql.unsafe(`SELECT ${BLOCK_COLUMNS} FROM blocks ORDER BY height DESC, hash LIMIT $1 OFFSET $2`, [limit, offset])
      : sql.unsafe(`SELECT ${BLOCK_COLUMNS} FROM blocks WHERE account = $1 ORDER BY height DESC, hash LIMIT $2 OFFSET $3`, [account, limit, offset])
    ).pipe(Effect.flatMap(decodeBlocks))

  const blockCount = (account?: string) =>
    (account === undefined ? sql`SELECT count(*) AS n FROM blocks` : sql`SELECT count(*) AS n FROM blocks WHERE account = ${account}`).pipe(Effect.flatMap(blocksCount))

  const batchesPage = (limit: number, offset: number) =>
    sql.unsafe(`SELECT ${BATCH_COLUMNS} FROM payout_batches ORDER BY payout_batches.id DESC LIMIT $1 OFFSET $2`, [limit, offset]).pipe(Effect.flatMap(decodeBatches))

  const batchCount = sql`SELECT count(*) AS n FROM payout_batches`.pipe(Effect.flatMap(batchesCount))

  /** One account's payments with their batch's state and transaction, newest first. */
  const accountPayments = (account: string, limit: number, offset: number) =>
    sql`SELECT p.batch_id, p.address, p.amount, b.status, b.txid, b.height, b.created_ms, b.published_ms
        FROM payments p JOIN payout_batches b ON b.id = p.batch_id WHERE p.account = ${account}
        ORDER BY p.batch_id DESC LIMIT ${limit} OFFSET ${offset}`.pipe(Effect.flatMap(decodeAccountPayments))

  const accountPaymentCount = (account: string) => sql`SELECT count(*) AS n FROM payments WHERE account = ${account}`.pipe(Effect.flatMap(paymentsCount))

  /** Rows per table: what a restore must reproduce. */
  const rowCounts = Effect.gen(function* () {
    const counts: Record<string, number> = {}
    for (const table of ["shares", "blocks", "payout_batches", "payments", "credits", "held_accounts"]) {
      counts[table] = yield* sql.unsafe(`SELECT count(*) AS n FROM ${table}`).pipe(Effect.flatMap(firstCount(table)))
    }
    return counts
  })

  /**
   * building -> signed: the transaction is stored before anything is sent. Only while the batch
   * still pays exactly the payments the transaction was built from (`builtFrom`): a payment set
   * aside meanwhile (by another instance) would otherwise be paid by it and again once its account
   * is released. Payments are only ever taken out of a batch, so their count and sum tell. The
   * row lock comes first, so the count is read after any set-aside that held it has committed.
   */
  const markSigned = (id: bigint, txid: string, rawTx: string, txFee: bigint, builtFrom: ReadonlyArray<PaymentRow>) =>
    sql.withTransaction(
      Effect.gen(function* () {
        const locked = yield* sql`SELECT id FROM payout_batches WHERE id = ${id.toString()} AND status = 'building' FOR UPDATE`
        if (locked.length === 0) return false
        const current = yield* sql`SELECT count(*) AS n, coalesce(sum(amount), 0) AS total FROM payments WHERE batch_id = ${id.toString()}`.pipe(Effect.flatMap(decodePaymentTotals))
        const builtTotal = builtFrom.reduce((sum, p) => sum + p.amount, 0n)
        if ((current[0]?.n ?? 0) !== builtFrom.length || (current[0]?.total ?? 0n) !== builtTotal) return false
        const won = yield* sql`UPDATE payout_batches SET status = 'signed', txid = ${txid}, raw_tx = ${rawTx}, tx_fee = ${txFee.toString()}
            WHERE id = ${id.toString()} AND status = 'building' RETURNING id`
        return won.length === 1
      }),
    )

  /**
   * Takes `account`'s payment out of a batch that was never signed and holds the account, in one
   * transaction under the batch's row lock: the payment goes, its credits go back to payable (in
   * no batch: never lost), the account is held so later batches skip it, and a batch left paying
   * nobody is deleted (nothing of it was signed or sent). Undefined when the batch is no longer
   * building (another instance signed it) or no longer pays the account (another instance set it
   * aside): then nothing changed.
   */
  const setAsidePayment = (batchId: bigint, account: string, reason: string, nowMs: number) =>
    sql.withTransaction(
      Effect.gen(function* () {
        const id = batchId.toString()
        const locked = yield* sql`SELECT id FROM payout_batches WHERE id = ${id} AND status = 'building' FOR UPDATE`
        if (locked.length === 0) return undefined
        const removed = yield* sql`DELETE FROM payments WHERE batch_id = ${id} AND account = ${account} RETURNING address, amount`.pipe(Effect.flatMap(decodeRemovedPayment))
        const payment = removed[0]
        if (payment === undefined) return undefined
        yield* sql`UPDATE credits SET batch_id = NULL WHERE batch_id = ${id} AND account = ${account}`
        yield* sql`INSERT INTO held_accounts ${sql.insert({ account, address: payment.address, reason, held_ms: nowMs })} ON CONFLICT (account) DO NOTHING`
        const left = yield* sql`SELECT count(*) AS n FROM payments WHERE batch_id = ${id}`.pipe(Effect.flatMap(paymentsCount))
        const batchDropped = left === 0
        if (batchDropped) yield* sql`DELETE FROM payout_batches WHERE id = ${id} AND status = 'building'`
        return { address: payment.address, amount: payment.amount, batchDropped } satisfies SetAside
      }),
    )

  /** Accounts set aside from payouts, by account. */
  const heldAccounts = sql`SELECT account, address, reason, held_ms FROM held_accounts ORDER BY account COLLATE "C"`.pipe(Effect.flatMap(decodeHeldAccounts))

  /** An operator's release of a held account: the next batch pays it again. False when it was not held. */
  const releaseHeldAccount = (account: string) => sql`DELETE FROM held_accounts WHERE account = ${account} RETURNING account`.pipe(Effect.map((rows) => rows.length === 1))

  const markPublished = (id: bigint, nowMs: number) =>
    sql`UPDATE payout_batches SET status = 'published', published_ms = ${nowMs} WHERE id = ${id.toString()} AND status = 'signed' RETURNING id`.pipe(Effect.map((rows) => rows.length === 1))

  const accountTotals = sql`SELECT c.account,
        coalesce(sum(c.amount) FILTER (WHERE NOT c.payable), 0) AS immature,
        coalesce(sum(c.amount) FILTER (WHERE c.payable AND c.batch_id IS NULL), 0) AS payable,
        coalesce(sum(c.amount) FILTER (WHERE b.status IN ('building', 'signed')), 0) AS pending,
        coalesce(sum(c.amount) FILTER (WHERE b.status = 'published'), 0) AS paid
      FROM credits c LEFT JOIN payout_batches b ON b.id = c.batch_id GROUP BY c.account ORDER BY c.account COLLATE "C"`.pipe(Effect.flatMap(decodeAccountTotals))

  /**
   * The PPS reserve's two sides: the rewards of the pool's blocks in the main chain that credited
   * nobody (a PPS block's reward stays with the pool; every other scheme's block credits at
   * least its finder), and every PPS credit to shares. One statement, so both sides are of one
   * moment; a pool that changed scheme counts only its PPS blocks and PPS credits.
   */
  const ppsReserve = sql`WITH pps_blocks AS (
        SELECT reward FROM blocks b WHERE b.status IN ('confirmed', 'matured') AND NOT EXISTS (SELECT 1 FROM credits c WHERE c.source = b.hash)
      )
      SELECT (SELECT count(*) FROM pps_blocks) AS blocks,
        (SELECT coalesce(sum(reward), 0) FROM pps_blocks) AS blocks_in,
        (SELECT coalesce(sum(amount), 0) FROM credits WHERE source LIKE 'pps:%') AS credited_to_shares`.pipe(
    Effect.flatMap(decodePpsReserve),
    Effect.map((rows) => rows[0] ?? { blocks: 0, blocksIn: 0n, creditedToShares: 0n }),
  )

  /**
   * Takes or renews lease `name` for `holder` until `nowMs + ttlMs`: held when no one holds it,
   * when `holder` already does, or when the other holder's lease ran out before `nowMs`. One
   * statement (an upsert whose update is guarded), so two instances asking at once cannot both
   * win. Otherwise says who holds it and until when.
   */
  const takeLease = (name: string, holder: string, nowMs: number, ttlMs: number) =>
    Effect.gen(function* () {
      const won = yield* sql`INSERT INTO leases ${sql.insert({ name, holder, until_ms: nowMs + ttlMs })}
          ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until_ms = excluded.until_ms
          WHERE leases.holder = excluded.holder OR leases.until_ms < ${nowMs} RETURNING holder`
      if (won.length === 1) return { held: true as const }
      const other = yield* sql`SELECT holder, until_ms FROM leases WHERE name = ${name}`.pipe(Effect.flatMap(decodeLeaseHolder))
      return { held: false as const, holder: other[0]?.holder ?? "", untilMs: other[0]?.untilMs ?? nowMs }
    })

  /** Gives lease `name` up if `holder` holds it (a clean shutdown hands over at once). */
  const releaseLease = (name: string, holder: string) => sql`UPDATE leases SET until_ms = 0 WHERE name = ${name} AND holder = ${holder}`.pipe(Effect.asVoid)

  /** Every share `instance` accepted at or before `committedMs` is stored (said at `nowMs`). */
  const markSharesCommitted = (instance: string, committedMs: number, nowMs: number) =>
    sql`INSERT INTO share_watermarks ${sql.insert({ instance, committed_ms: committedMs, seen_ms: nowMs })}
        ON CONFLICT (instance) DO UPDATE SET committed_ms = excluded.committed_ms, seen_ms = excluded.seen_ms`.pipe(Effect.asVoid)

  /** An instance that shut down cleanly: nothing of it is left to wait for. */
  const forgetShareWatermark = (instance: string) => sql`DELETE FROM share_watermarks WHERE instance = ${instance}`.pipe(Effect.asVoid)

  /**
   * The other instances still running (heard of since `liveSinceMs`) whose stored shares may
   * not yet reach `foundMs`: the earliest watermark first. Empty when every share any live
   * instance accepted up to `foundMs` is stored.
   */
  const sharesBehind = (exceptInstance: string, foundMs: number, liveSinceMs: number) =>
    sql`SELECT instance, committed_ms FROM share_watermarks
        WHERE instance <> ${exceptInstance} AND seen_ms >= ${liveSinceMs} AND committed_ms < ${foundMs}
        ORDER BY committed_ms, instance COLLATE "C"`.pipe(Effect.flatMap(decodeWatermarks))

  return {
    sql,
    /**
     * Shares in one transaction per call, however many (a retried batch counts once). A batch
     * that fits one statement is its own transaction: BEGIN and COMMIT would triple the round
     * trips of the small commits a lightly loaded pool makes.
     */
    /** Answers when the database does (health). */
    ping: sql`SELECT 1`.pipe(Effect.asVoid),
    insertShares: (shares: ReadonlyArray<ShareRow>) => (shares.length <= INSERT_CHUNK ? insertShares(shares) : sql.withTransaction(insertSharesChunked(shares))),
    sharesBefore,
    workBetween,
    workSince,
    shareCount,
    insertBlock,
    blocksWithStatus,
    previousBlockTime,
    confirmBlock,
    orphanBlock,
    matureBlock,
    settlePps,
    createBatch,
    openBatches,
    batches,
    paymentsOf,
    markSigned,
    setAsidePayment,
    heldAccounts,
    releaseHeldAccount,
    markPublished,
    accountTotals,
    ppsReserve,
    blocksPage,
    blockCount,
    batchesPage,
    batchCount,
    accountPayments,
    accountPaymentCount,
    rowCounts,
    takeLease,
    releaseLease,
    markSharesCommitted,
    forgetShareWatermark,
    sharesBehind,
  }
})

export type PoolStoreShape = Effect.Success<typeof makePoolStore>

export class PoolStore extends Context.Service<PoolStore, PoolStoreShape>()("dcrforge/PoolStore") {}

export const poolStoreLayer: Layer.Layer<PoolStore, never, SqlClient.SqlClient> = Layer.effect(PoolStore, makePoolStore)

export { StoreRowInvalid }
