import { Array as Arr, Context, Effect, Layer } from "effect"
import * as SqlClient from "effect/sql/SqlClient"
import type { SqlError } from "effect/sql/SqlError"
import type { Allocation } from "../../core/payout/amounts.ts"

/**
 * Every query the pool runs, in one place and one dialect, for the embedded store and for a
 * Postgres server alike. Each state change is a guarded UPDATE (`WHERE status = ...`
 * RETURNING), so two pool instances on one database, or one instance replaying work after a
 * crash, change a row at most once: that guard is what makes "credited once" and "paid once"
 * hold without a coordinator.
 */
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

export type BlockStatus = "accepted" | "confirmed" | "matured" | "orphaned"

export interface BlockRow {
  readonly hash: string
  readonly height: number
  readonly account: string
  readonly worker: string
  readonly model: string
  readonly foundMs: number
  readonly networkDifficulty: bigint
  readonly status: BlockStatus
  readonly reward: bigint | undefined
  readonly fee: bigint | undefined
}

export type BatchStatus = "building" | "signed" | "published"

export interface BatchRow {
  readonly id: bigint
  readonly status: BatchStatus
  readonly createdMs: number
  readonly height: number
  readonly txid: string | undefined
  readonly rawTx: string | undefined
  readonly txFee: bigint | undefined
}

export interface PaymentRow {
  readonly batchId: bigint
  readonly account: string
  readonly address: string
  readonly amount: bigint
}

export interface AccountTotals {
  readonly account: string
  /** Credited from confirmed blocks or PPS, not yet payable (coinbase not mature). */
  readonly immature: bigint
  /** Payable and not yet in a batch. */
  readonly payable: bigint
  /** In a batch not yet published. */
  readonly pending: bigint
  /** In a published batch. */
  readonly paid: bigint
}

/** An account set aside from payouts: its credits stay payable and no batch takes them. */
export interface HeldAccount {
  readonly account: string
  /** The address the payment was refused for. */
  readonly address: string
  /** Why: the wallet's refusal, as it gave it. */
  readonly reason: string
  readonly heldMs: number
}

/** What setting a payment aside did. */
export interface SetAside {
  readonly address: string
  /** The payment's amount: back to payable. */
  readonly amount: bigint
  /** True when the batch paid nobody else and was deleted (it was never signed). */
  readonly batchDropped: boolean
}

/** One credited pay-out candidate: an account's payable sum. */
export interface Owed {
  readonly account: string
  readonly amount: bigint
}

/** Rows per INSERT: 8 parameters a share, under the protocol's 32,767 per statement. */
const INSERT_CHUNK = 2000

const big = (x: unknown): bigint => (typeof x === "bigint" ? x : BigInt(String(x)))
const num = (x: unknown): number => (typeof x === "number" ? x : Number(x))
const optBig = (x: unknown): bigint | undefined => (x === null || x === undefined ? undefined : big(x))
const optStr = (x: unknown): string | undefined => (x === null || x === undefined ? undefined : String(x))

type Row = Readonly<Record<string, unknown>>

const toBlock = (r: Row): BlockRow => ({
  hash: String(r.hash),
  height: num(r.height),
  account: String(r.account),
  worker: String(r.worker),
  model: String(r.model),
  foundMs: num(r.found_ms),
  networkDifficulty: big(r.network_difficulty),
  status: String(r.status) as BlockStatus,
  reward: optBig(r.reward),
  fee: optBig(r.fee),
})

const toBatch = (r: Row): BatchRow => ({
  id: big(r.id),
  status: String(r.status) as BatchStatus,
  createdMs: num(r.created_ms),
  height: num(r.height),
  txid: optStr(r.txid),
  rawTx: optStr(r.raw_tx),
  txFee: optBig(r.tx_fee),
})

// Selected columns cast to text: drivers differ in how they return int8 and numeric, text is exact.
// Columns are read as text (bigints stay exact), under their own names. In ORDER BY a bare name
// means the output column, that text: "10" < "9". Every ORDER BY over such a column names the
// table's column (shares.seq, payout_batches.id), which sorts as the number it is.
const BLOCK_COLUMNS = "hash, height, account, worker, model, found_ms::text AS found_ms, network_difficulty::text AS network_difficulty, status, reward::text AS reward, fee::text AS fee"
const BATCH_COLUMNS = "id::text AS id, status, created_ms::text AS created_ms, height, txid, raw_tx, tx_fee::text AS tx_fee"

export const makePoolStore = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient

  /** Rows for `sql.insert`, which needs at least one. */
  const many = (rows: ReadonlyArray<Record<string, unknown>>) => (Arr.isReadonlyArrayNonEmpty(rows) ? sql.insert(rows) : undefined)

  const insertShares = (shares: ReadonlyArray<ShareRow>) => {
    const rows = many(
      shares.map((s): Record<string, unknown> => ({
            id: s.id,
            account: s.account,
            worker: s.worker,
            model: s.model,
            weight: s.weight.toString(),
            created_ms: s.createdMs,
            height: s.height,
        network_difficulty: s.networkDifficulty.toString(),
        instance: s.instance,
      })),
    )
    return rows === undefined ? Effect.void : sql`INSERT INTO shares ${rows} ON CONFLICT (id) DO NOTHING`.pipe(Effect.asVoid)
  }
  const insertSharesChunked = (shares: ReadonlyArray<ShareRow>) =>
    Effect.forEach(Array.from({ length: Math.ceil(shares.length / INSERT_CHUNK) }, (_, i) => shares.slice(i * INSERT_CHUNK, (i + 1) * INSERT_CHUNK)), insertShares, { discard: true })

  /**
   * Shares at or before `untilMs`, newest first, from a keyset cursor: the PPLNS window is
   * walked page by page and stops once it holds enough work.
   */
  const sharesBefore = (untilMs: number, after: { readonly createdMs: number; readonly seq: bigint } | undefined, limit: number) =>
    (after === undefined
      ? sql`SELECT seq::text AS seq, account, weight::text AS weight, created_ms::text AS created_ms FROM shares
            WHERE created_ms <= ${untilMs} ORDER BY shares.created_ms DESC, shares.seq DESC LIMIT ${limit}`
      : sql`SELECT seq::text AS seq, account, weight::text AS weight, created_ms::text AS created_ms FROM shares
            WHERE created_ms <= ${untilMs} AND (created_ms < ${after.createdMs} OR (created_ms = ${after.createdMs} AND seq < ${after.seq.toString()}))
            ORDER BY shares.created_ms DESC, shares.seq DESC LIMIT ${limit}`
    ).pipe(Effect.map((rows) => rows.map((r) => ({ seq: big(r.seq), account: String(r.account), weight: big(r.weight), createdMs: num(r.created_ms) }))))

  /** Per-account work of shares in (fromMs, toMs]. */
  const workBetween = (fromMs: number, toMs: number) =>
    sql`SELECT account, sum(weight)::text AS weight FROM shares WHERE created_ms > ${fromMs} AND created_ms <= ${toMs} GROUP BY account`.pipe(
      Effect.map((rows) => new Map(rows.map((r) => [String(r.account), big(r.weight)] as const))),
    )

  /** Per-(account, worker) work since `fromMs`: the source of hashrate figures. */
  const workSince = (fromMs: number) =>
    sql`SELECT account, worker, model, sum(weight)::text AS weight, count(*)::text AS shares, max(created_ms)::text AS last_ms
        FROM shares WHERE created_ms > ${fromMs} GROUP BY account, worker, model`.pipe(
      Effect.map((rows) =>
        rows.map((r) => ({ account: String(r.account), worker: String(r.worker), model: String(r.model), weight: big(r.weight), shares: num(r.shares), lastMs: num(r.last_ms) })),
      ),
    )

  const shareCount = sql`SELECT count(*)::text AS n, coalesce(sum(weight), 0)::text AS w FROM shares`.pipe(
    Effect.map((rows) => ({ shares: num(rows[0]?.n ?? 0), weight: big(rows[0]?.w ?? 0) })),
  )

  /** A found block, with the share that found it (if given) in the same transaction. */
  const insertBlock = (b: Omit<BlockRow, "status" | "reward" | "fee">, nowMs: number, findingShare?: ShareRow) =>
    sql.withTransaction(
      Effect.andThen(findingShare === undefined ? Effect.void : insertShares([findingShare]), insertBlockRow(b, nowMs)),
    )
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
    sql.unsafe<Row>(`SELECT ${BLOCK_COLUMNS} FROM blocks WHERE status IN (${statuses.map((_, i) => `$${i + 1}`).join(", ")}) ORDER BY height, hash`, statuses).pipe(
      Effect.map((rows) => rows.map(toBlock)),
    )

  /** The found time of the pool's latest non-orphaned block before `foundMs` (proportional rounds). */
  const previousBlockTime = (foundMs: number) =>
    sql`SELECT max(found_ms)::text AS t FROM blocks WHERE found_ms < ${foundMs} AND status <> 'orphaned'`.pipe(
      Effect.map((rows) => (rows[0]?.t === null || rows[0]?.t === undefined ? undefined : num(rows[0].t))),
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
   * after the other and a credit lands in one batch.
   */
  const createBatch = (minimum: bigint, feeAccount: string, addressOf: (account: string) => string, height: number, nowMs: number) =>
    sql.withTransaction(
      Effect.gen(function* () {
        const counter = yield* sql`SELECT value FROM meta WHERE key = 'next_batch' FOR UPDATE`
        const open = yield* sql`SELECT id FROM payout_batches WHERE status IN ('building', 'signed') LIMIT 1`
        if (open.length > 0) return undefined
        const owed = yield* sql`SELECT account, sum(amount)::text AS amount FROM credits
            WHERE payable AND batch_id IS NULL AND account NOT IN (SELECT account FROM held_accounts)
            GROUP BY account ORDER BY account COLLATE "C"`
        const due = owed.map((r) => ({ account: String(r.account), amount: big(r.amount) })).filter((o) => o.amount > 0n && (o.amount >= minimum || o.account === feeAccount))
        if (due.length === 0) return undefined
        const id = big(counter[0]?.value ?? 1)
        yield* sql`UPDATE meta SET value = ${(id + 1n).toString()} WHERE key = 'next_batch'`
        yield* sql`INSERT INTO payout_batches ${sql.insert({ id: id.toString(), status: "building", created_ms: nowMs, height })}`
        // In chunks: the Postgres protocol counts a statement's parameters in 16 bits.
        for (let i = 0; i < due.length; i += INSERT_CHUNK) {
          const payments = many(due.slice(i, i + INSERT_CHUNK).map((d) => ({ batch_id: id.toString(), account: d.account, address: addressOf(d.account), amount: d.amount.toString() })))
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
        const counter = yield* sql`SELECT value FROM meta WHERE key = 'next_pps' FOR UPDATE`
        const settled = yield* sql`UPDATE shares SET pps_settled = true WHERE NOT pps_settled
            RETURNING account, weight::text AS weight, height, network_difficulty::text AS network_difficulty`
        const owed = new Map<string, bigint>()
        for (const r of settled) {
          const value = valueOf({ weight: big(r.weight), height: num(r.height), networkDifficulty: big(r.network_difficulty) })
          owed.set(String(r.account), (owed.get(String(r.account)) ?? 0n) + value)
        }
        const n = big(counter[0]?.value ?? 1)
        const rows = [...owed].filter(([, amount]) => amount > 0n).map(([account, amount]) => ({ source: `pps:${n}`, account, amount: amount.toString(), created_ms: nowMs, mature_height: matureHeight }))
        for (let i = 0; i < rows.length; i += INSERT_CHUNK) {
          const chunk = many(rows.slice(i, i + INSERT_CHUNK))
          if (chunk !== undefined) yield* sql`INSERT INTO credits ${chunk}`
        }
        if (rows.length > 0) yield* sql`UPDATE meta SET value = ${(n + 1n).toString()} WHERE key = 'next_pps'`
        yield* sql`UPDATE credits SET payable = true WHERE NOT payable AND mature_height IS NOT NULL AND mature_height <= ${tip}`
        return { shares: settled.length, accounts: rows.length }
      }),
    )

  const openBatches = sql.unsafe<Row>(`SELECT ${BATCH_COLUMNS} FROM payout_batches WHERE status IN ('building', 'signed') ORDER BY payout_batches.id`).pipe(
    Effect.map((rows) => rows.map(toBatch)),
  )

  const batches = (limit: number) =>
    sql.unsafe<Row>(`SELECT ${BATCH_COLUMNS} FROM payout_batches ORDER BY payout_batches.id DESC LIMIT $1`, [limit]).pipe(Effect.map((rows) => rows.map(toBatch)))

  const paymentsOf = (batchId: bigint) =>
    sql`SELECT batch_id::text AS batch_id, account, address, amount::text AS amount FROM payments WHERE batch_id = ${batchId.toString()} ORDER BY account COLLATE "C"`.pipe(
      Effect.map((rows) => rows.map((r): PaymentRow => ({ batchId: big(r.batch_id), account: String(r.account), address: String(r.address), amount: big(r.amount) }))),
    )

  // ---- read-only pages for the web UI and API (offset pagination, newest first)

  /** The pool's blocks, newest first; only `account`'s when given. */
  const blocksPage = (limit: number, offset: number, account?: string) =>
    (account === undefined
      ? sql.unsafe<Row>(`SELECT ${BLOCK_COLUMNS} FROM blocks ORDER BY height DESC, hash LIMIT $1 OFFSET $2`, [limit, offset])
      : sql.unsafe<Row>(`SELECT ${BLOCK_COLUMNS} FROM blocks WHERE account = $1 ORDER BY height DESC, hash LIMIT $2 OFFSET $3`, [account, limit, offset])
    ).pipe(Effect.map((rows) => rows.map(toBlock)))

  const blockCount = (account?: string) =>
    (account === undefined ? sql`SELECT count(*)::text AS n FROM blocks` : sql`SELECT count(*)::text AS n FROM blocks WHERE account = ${account}`).pipe(
      Effect.map((rows) => num(rows[0]?.n ?? 0)),
    )

  const batchesPage = (limit: number, offset: number) =>
    sql.unsafe<Row>(`SELECT ${BATCH_COLUMNS} FROM payout_batches ORDER BY payout_batches.id DESC LIMIT $1 OFFSET $2`, [limit, offset]).pipe(Effect.map((rows) => rows.map(toBatch)))

  const batchCount = sql`SELECT count(*)::text AS n FROM payout_batches`.pipe(Effect.map((rows) => num(rows[0]?.n ?? 0)))

  /** One account's payments with their batch's state and transaction, newest first. */
  const accountPayments = (account: string, limit: number, offset: number) =>
    sql`SELECT p.batch_id::text AS batch_id, p.address, p.amount::text AS amount, b.status, b.txid, b.height, b.created_ms::text AS created_ms, b.published_ms::text AS published_ms
        FROM payments p JOIN payout_batches b ON b.id = p.batch_id WHERE p.account = ${account}
        ORDER BY p.batch_id DESC LIMIT ${limit} OFFSET ${offset}`.pipe(
      Effect.map((rows) =>
        rows.map((r) => ({
          batchId: big(r.batch_id),
          address: String(r.address),
          amount: big(r.amount),
          status: String(r.status) as BatchStatus,
          txid: optStr(r.txid),
          height: num(r.height),
          createdMs: num(r.created_ms),
          publishedMs: r.published_ms === null || r.published_ms === undefined ? undefined : num(r.published_ms),
        })),
      ),
    )

  const accountPaymentCount = (account: string) =>
    sql`SELECT count(*)::text AS n FROM payments WHERE account = ${account}`.pipe(Effect.map((rows) => num(rows[0]?.n ?? 0)))

  /** Rows per table: what a restore must reproduce. */
  const rowCounts = Effect.gen(function* () {
    const counts: Record<string, number> = {}
    for (const table of ["shares", "blocks", "payout_batches", "payments", "credits", "held_accounts"]) {
      const rows = yield* sql.unsafe<Row>(`SELECT count(*)::text AS n FROM ${table}`)
      counts[table] = num(rows[0]?.n ?? 0)
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
        const current = yield* sql`SELECT count(*)::text AS n, coalesce(sum(amount), 0)::text AS total FROM payments WHERE batch_id = ${id.toString()}`
        const builtTotal = builtFrom.reduce((sum, p) => sum + p.amount, 0n)
        if (num(current[0]?.n ?? 0) !== builtFrom.length || big(current[0]?.total ?? 0) !== builtTotal) return false
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
        const removed = yield* sql`DELETE FROM payments WHERE batch_id = ${id} AND account = ${account} RETURNING address, amount::text AS amount`
        const payment = removed[0]
        if (payment === undefined) return undefined
        yield* sql`UPDATE credits SET batch_id = NULL WHERE batch_id = ${id} AND account = ${account}`
        yield* sql`INSERT INTO held_accounts ${sql.insert({ account, address: String(payment.address), reason, held_ms: nowMs })} ON CONFLICT (account) DO NOTHING`
        const left = yield* sql`SELECT count(*)::text AS n FROM payments WHERE batch_id = ${id}`
        const batchDropped = num(left[0]?.n ?? 0) === 0
        if (batchDropped) yield* sql`DELETE FROM payout_batches WHERE id = ${id} AND status = 'building'`
        return { address: String(payment.address), amount: big(payment.amount), batchDropped } satisfies SetAside
      }),
    )

  /** Accounts set aside from payouts, by account. */
  const heldAccounts = sql`SELECT account, address, reason, held_ms::text AS held_ms FROM held_accounts ORDER BY account COLLATE "C"`.pipe(
    Effect.map((rows) => rows.map((r): HeldAccount => ({ account: String(r.account), address: String(r.address), reason: String(r.reason), heldMs: num(r.held_ms) }))),
  )

  /** An operator's release of a held account: the next batch pays it again. False when it was not held. */
  const releaseHeldAccount = (account: string) =>
    sql`DELETE FROM held_accounts WHERE account = ${account} RETURNING account`.pipe(Effect.map((rows) => rows.length === 1))

  const markPublished = (id: bigint, nowMs: number) =>
    sql`UPDATE payout_batches SET status = 'published', published_ms = ${nowMs} WHERE id = ${id.toString()} AND status = 'signed' RETURNING id`.pipe(
      Effect.map((rows) => rows.length === 1),
    )

  const accountTotals = sql`SELECT c.account,
        coalesce(sum(c.amount) FILTER (WHERE NOT c.payable), 0)::text AS immature,
        coalesce(sum(c.amount) FILTER (WHERE c.payable AND c.batch_id IS NULL), 0)::text AS payable,
        coalesce(sum(c.amount) FILTER (WHERE b.status IN ('building', 'signed')), 0)::text AS pending,
        coalesce(sum(c.amount) FILTER (WHERE b.status = 'published'), 0)::text AS paid
      FROM credits c LEFT JOIN payout_batches b ON b.id = c.batch_id GROUP BY c.account ORDER BY c.account COLLATE "C"`.pipe(
    Effect.map((rows) =>
      rows.map((r): AccountTotals => ({ account: String(r.account), immature: big(r.immature), payable: big(r.payable), pending: big(r.pending), paid: big(r.paid) })),
    ),
  )

  return {
    sql,
    /**
     * Shares in one transaction per call, however many (a retried batch counts once). A batch
     * that fits one statement is its own transaction: BEGIN and COMMIT would triple the round
     * trips of the small commits a lightly loaded pool makes.
     */
    /** Answers when the database does (health). */
    ping: sql`SELECT 1`.pipe(Effect.asVoid),
    insertShares: (shares: ReadonlyArray<ShareRow>) =>
      shares.length <= INSERT_CHUNK ? insertShares(shares) : sql.withTransaction(insertSharesChunked(shares)),
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
    blocksPage,
    blockCount,
    batchesPage,
    batchCount,
    accountPayments,
    accountPaymentCount,
    rowCounts,
  }
})

export type PoolStoreShape = Effect.Success<typeof makePoolStore>

export class PoolStore extends Context.Service<PoolStore, PoolStoreShape>()("dcrforge/PoolStore") {}

export const poolStoreLayer: Layer.Layer<PoolStore, never, SqlClient.SqlClient> = Layer.effect(PoolStore, makePoolStore)

export type StoreError = SqlError
