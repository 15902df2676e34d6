import { Effect } from "effect"
import * as Migrator from "effect/sql/Migrator"
import * as SqlClient from "effect/sql/SqlClient"

/**
 * The pool's schema, in Postgres' dialect for the server (and PGlite), with SQLite's own DDL
 * only where Postgres' has no SQLite equivalent (a serial column, exact numeric). Migrations
 * are append-only: a released one is never edited (its Postgres DDL stays as released), a
 * change is a new numbered entry.
 *
 * Amounts are atoms in int8; share weights are difficulty units (2^32 per unit of difficulty),
 * which outgrow int8 at high share difficulties, so they are numeric. Times are milliseconds of
 * the pool's clock. Status columns are checked so a bug cannot invent a state.
 */
const initial = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`CREATE TABLE meta (key text PRIMARY KEY, value text NOT NULL)`
  // One row per accepted share. `id` is unique per solution (instance, job, extranonces,
  // nonce), so a batch written twice (a retry after a lost reply) counts once.
  // `seq` orders shares recorded in the same millisecond as they were written.
  yield* sql.onDialectOrElse({
    // SQLite has no bigserial (an INTEGER PRIMARY KEY is its counter: AUTOINCREMENT never
    // reuses a number, as a sequence does, so `id` is the unique key ON CONFLICT names) and
    // no exact numeric: weights and difficulties are decimal text there, checked to be
    // positive integers, and summed exactly by the adapter's `sum` (sqlite.ts).
    sqlite: () => sql`CREATE TABLE shares (
      id text NOT NULL UNIQUE,
      seq INTEGER PRIMARY KEY AUTOINCREMENT,
      account text NOT NULL,
      worker text NOT NULL,
      model text NOT NULL,
      weight text NOT NULL CHECK (weight GLOB '[1-9]*' AND weight NOT GLOB '*[^0-9]*'),
      created_ms int8 NOT NULL,
      height int4 NOT NULL,
      network_difficulty text NOT NULL CHECK (network_difficulty GLOB '[1-9]*' AND network_difficulty NOT GLOB '*[^0-9]*'),
      instance text NOT NULL,
      pps_settled boolean NOT NULL DEFAULT false
    )`,
    orElse: () => sql`CREATE TABLE shares (
    id text PRIMARY KEY,
    seq bigserial UNIQUE,
    account text NOT NULL,
    worker text NOT NULL,
    model text NOT NULL,
    weight numeric NOT NULL CHECK (weight > 0),
    created_ms int8 NOT NULL,
    height int4 NOT NULL,
    network_difficulty numeric NOT NULL CHECK (network_difficulty > 0),
    instance text NOT NULL,
    pps_settled boolean NOT NULL DEFAULT false
  )`,
  })
  yield* sql`CREATE INDEX shares_by_time ON shares (created_ms DESC, seq DESC)`
  yield* sql`CREATE INDEX shares_by_account ON shares (account, created_ms)`
  yield* sql`CREATE INDEX shares_pps_unsettled ON shares (created_ms, id) WHERE NOT pps_settled`
  // Blocks the pool found. accepted -> confirmed (in the main chain, credits written) ->
  // matured (coinbase spendable, credits payable); or orphaned, from accepted or confirmed.
  yield* sql`CREATE TABLE blocks (
    hash text PRIMARY KEY,
    height int4 NOT NULL,
    account text NOT NULL,
    worker text NOT NULL,
    model text NOT NULL,
    found_ms int8 NOT NULL,
    network_difficulty ${sql.onDialectOrElse({ sqlite: () => sql.literal("text"), orElse: () => sql.literal("numeric") })} NOT NULL,
    status text NOT NULL CHECK (status IN ('accepted', 'confirmed', 'matured', 'orphaned')),
    reward int8,
    fee int8,
    updated_ms int8 NOT NULL
  )`
  yield* sql`CREATE INDEX blocks_by_status ON blocks (status, height)`
  // Payout batches: building (credits reserved) -> signed (txid and bytes stored, not yet
  // known to be sent) -> published. Only a batch that never reached `signed` may be rebuilt.
  yield* sql`CREATE TABLE payout_batches (
    id int8 PRIMARY KEY,
    status text NOT NULL CHECK (status IN ('building', 'signed', 'published')),
    created_ms int8 NOT NULL,
    height int4 NOT NULL,
    txid text UNIQUE,
    raw_tx text,
    tx_fee int8,
    published_ms int8
  )`
  // What each account is owed per source: a block's share, a PPS settlement, or a reversal.
  // (source, account) is unique: a block is credited once whatever the number of instances.
  yield* sql`CREATE TABLE credits (
    source text NOT NULL,
    account text NOT NULL,
    amount int8 NOT NULL,
    created_ms int8 NOT NULL,
    payable boolean NOT NULL DEFAULT false,
    -- PPS credits become payable at this height (block credits when their block matures).
    mature_height int4,
    batch_id int8 REFERENCES payout_batches (id),
    PRIMARY KEY (source, account)
  )`
  yield* sql`CREATE INDEX credits_unpaid ON credits (payable, batch_id)`
  yield* sql`CREATE TABLE payments (
    batch_id int8 NOT NULL REFERENCES payout_batches (id),
    account text NOT NULL,
    address text NOT NULL,
    amount int8 NOT NULL CHECK (amount > 0),
    PRIMARY KEY (batch_id, account)
  )`
  yield* sql`INSERT INTO meta (key, value) VALUES ('next_batch', '1'), ('next_pps', '1')`
})

/**
 * Accounts set aside from payouts: the wallet refused the address (it does not decode by dcrd's
 * rules, say a public key that is no point, or it is of a kind the wallet does not pay), so every
 * batch holding it would be refused too and, since an open batch is retried before any new one,
 * would stall everyone's payouts. A held account's credits stay payable, in no batch;
 * batches skip it until an operator deletes its row (after fixing whatever refused it). One row
 * per account: holding it again changes nothing.
 */
const heldAccounts = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`CREATE TABLE held_accounts (
    account text PRIMARY KEY,
    address text NOT NULL,
    reason text NOT NULL,
    held_ms int8 NOT NULL
  )`
})

/**
 * For several pool processes on one database. Leases: one row per task only one of them may run
 * at a time (the settler: settlement and payouts). `holder` is the instance that holds it until
 * `until_ms` (its clock); another may take it only once that time has passed, so a holder that
 * dies hands over after at most one lease. Share watermarks: one row per running instance,
 * `committed_ms` a time (its clock) at or before which every share it accepted is stored, and
 * `seen_ms` when it last said so; the settler splits a block only once every live instance's
 * watermark has passed the block's time, as one process waits for its own share committer.
 * Neither is backed up: a restored pool writes both anew.
 */
const multiProcess = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`CREATE TABLE leases (
    name text PRIMARY KEY,
    holder text NOT NULL,
    until_ms int8 NOT NULL
  )`
  yield* sql`CREATE TABLE share_watermarks (
    instance text PRIMARY KEY,
    committed_ms int8 NOT NULL,
    seen_ms int8 NOT NULL
  )`
})

const migrations = Migrator.fromRecord({
  "0001_initial": initial,
  "0002_held_accounts": heldAccounts,
  "0003_multi_process": multiProcess,
})

/** Brings the database to the newest schema; safe to run from several instances at once. */
export const migrate = Migrator.make({})({ loader: migrations, table: "dcrforge_migrations" })
