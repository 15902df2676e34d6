import { Effect, Exit, Layer, Redacted, Scope } from "effect"
import type * as SqlClient from "effect/sql/SqlClient"
import { decodeAddress, encodeAddress } from "../core/chain/address.ts"
import { concatBytes, hexToBytes, reversed, toHex, writeUintLE } from "../core/chain/bytes.ts"
import { hashToDisplay, blake256Hash } from "../core/chain/hash.ts"
import type { NetworkParams } from "../core/chain/params.ts"
import { decodeTxHex, txidOf } from "../core/chain/tx.ts"
import { encodeExtendedPublicKey, encodeWif, hash160, publicKeyOf } from "../core/vsp/keys.ts"
import { signMessage } from "../core/vsp/signed-message.ts"
import { backupVsp } from "../pool/store/backup.ts"
import { pgliteLayer } from "../pool/store/pglite.ts"
import type { BroadcastOutcome, ChainSync, TicketSpend } from "../wallet/vsp/chain.ts"
import { VspChain, VspChainUnavailable } from "../wallet/vsp/chain.ts"
import { type FleetRepair, type VotableTicket, VotingFleet, type VotingWalletStatus, VotingWalletUnavailable } from "../wallet/vsp/fleet-port.ts"
import type { VspSettings } from "../wallet/vsp/api.ts"
import { verifyResponse } from "../core/vsp/server-key.ts"
import { runVotingService } from "../wallet/vsp/service.ts"

/**
 * Test kit for the voting service: Decred transactions built from parts (tickets, fee
 * transactions, parents), stakers with their keys, an in-memory dcrd (`FakeDcrd`) that mines on
 * demand, a voting fleet that records what it is given, and the embedded store in memory.
 */

/** The embedded store in memory: the pool's PGlite layer without a directory. */
export const memoryStore: Layer.Layer<SqlClient.SqlClient, unknown> = pgliteLayer({ dataDir: undefined })

// ---- transactions ------------------------------------------------------------------------------

const varInt = (n: number): Uint8Array => (n < 0xfd ? Uint8Array.of(n) : n <= 0xffff ? Uint8Array.of(0xfd, n & 0xff, n >> 8) : Uint8Array.of(0xfe, ...writeUintLE(BigInt(n), 4)))

interface TxPart {
  readonly inputs: ReadonlyArray<{ readonly hash: string; readonly index: number; readonly tree?: number; readonly value?: bigint }>
  readonly outputs: ReadonlyArray<{ readonly value: bigint; readonly script: Uint8Array; readonly version?: number }>
  readonly expiry?: number
}

/** A full serialization (prefix and witness), as dcrd's MsgTx.Serialize writes it. */
const buildTx = (tx: TxPart): string =>
  toHex(
    concatBytes([
      writeUintLE(1n, 4),
      varInt(tx.inputs.length),
      ...tx.inputs.map((i) => concatBytes([reversed(hexToBytes(i.hash)), writeUintLE(BigInt(i.index), 4), Uint8Array.of(i.tree ?? 0), writeUintLE(0xffffffffn, 4)])),
      varInt(tx.outputs.length),
      ...tx.outputs.map((o) => concatBytes([writeUintLE(o.value, 8), writeUintLE(BigInt(o.version ?? 0), 2), varInt(o.script.length), o.script])),
      writeUintLE(0n, 4),
      writeUintLE(BigInt(tx.expiry ?? 0), 4),
      varInt(tx.inputs.length),
      ...tx.inputs.map((i) => concatBytes([writeUintLE(i.value ?? 0n, 8), writeUintLE(0n, 4), writeUintLE(0xffffffffn, 4), varInt(0)])),
    ]),
  )

export const txHash = (hex: string): string => {
  const decoded = decodeTxHex(hex)
  if (decoded._tag === "Failure") throw new Error(decoded.failure.message)
  return txidOf(decoded.success)
}

const p2pkh = (hash: Uint8Array) => Uint8Array.of(0x76, 0xa9, 0x14, ...hash, 0x88, 0xac)

/** A deterministic private key from a label (tests only). */
const testKey = (label: string): Uint8Array => blake256Hash(new TextEncoder().encode(`dcrforge vsp test key ${label}`))

/** A staker: the key that owns the ticket's commitment (signs requests) and the ticket's voting key. */
export const makeStaker = (label: string, network: NetworkParams) => {
  const commitmentKey = testKey(`${label} commitment`)
  const votingKey = testKey(`${label} voting`)
  const commitmentHash = hash160(publicKeyOf(commitmentKey))
  const votingHash = hash160(publicKeyOf(votingKey))
  return {
    commitmentKey,
    commitmentAddress: encodeAddress("p2pkh-ecdsa-secp256k1", commitmentHash, network),
    votingWif: encodeWif(votingKey, network),
    sign: (body: string) => signMessage(commitmentKey, body),
    /** A parent (split) transaction and a ticket spending it, `price` atoms, voting to the staker's voting key. */
    ticket: (price: bigint, nonce = 0) => {
      const parent = buildTx({
        inputs: [{ hash: hashToDisplay(blake256Hash(new TextEncoder().encode(`${label} funding ${nonce}`))), index: 0, value: price + 10_000n }],
        outputs: [{ value: price + 5_000n, script: p2pkh(commitmentHash) }],
      })
      const commitment = concatBytes([Uint8Array.of(0x6a, 0x1e), commitmentHash, writeUintLE(price + 5_000n, 8), Uint8Array.of(0x00, 0x58)])
      const ticket = buildTx({
        inputs: [{ hash: txHash(parent), index: 0, value: price + 5_000n }],
        outputs: [
          { value: price, script: Uint8Array.of(0xba, ...p2pkh(votingHash)) },
          { value: 0n, script: commitment },
          { value: 0n, script: Uint8Array.of(0xbd, ...p2pkh(commitmentHash)) },
        ],
      })
      return { parentHex: parent, ticketHex: ticket, ticketHash: txHash(ticket) }
    },
  }
}

/** A fee transaction paying `amount` to `address` (a P2PKH of `network`). */
export const feeTx = (address: string, amount: bigint, network: NetworkParams, payer = "staker"): string => {
  const decoded = decodeAddress(address, network)
  if (decoded._tag === "Failure") throw new Error(decoded.failure.message)
  return buildTx({
    inputs: [{ hash: hashToDisplay(blake256Hash(new TextEncoder().encode(`fee funding ${payer}`))), index: 1, value: amount + 3_000n }],
    outputs: [{ value: amount, script: p2pkh(decoded.success.payload) }],
  })
}

/** A fee xpub of `network` from a label (tests only): a master public key with a fixed chain code. */
export const testFeeXpub = (label: string, network: NetworkParams): string =>
  encodeExtendedPublicKey(
    { depth: 0, parentFingerprint: new Uint8Array(4), childIndex: 0, chainCode: blake256Hash(new TextEncoder().encode(`${label} chain code`)), publicKey: publicKeyOf(testKey(label)) },
    network,
  )

// ---- dcrd --------------------------------------------------------------------------------------

interface FakeTx {
  readonly hex: string
  minedAt: number | undefined
}

/**
 * dcrd in memory: a mempool and a chain of heights. `mine()` mines every mempool transaction
 * into the next block; `refuse` decides which broadcasts dcrd refuses (default: none).
 */
export const makeFakeDcrd = (network: NetworkParams, options: { readonly startHeight?: number; readonly stakeDifficulty?: bigint } = {}) => {
  const txs = new Map<string, FakeTx>()
  const spends = new Map<number, Array<TicketSpend>>()
  const live = new Set<string>()
  const broadcasts: Array<string> = []
  let height = options.startHeight ?? 1000
  const state = {
    stakeDifficulty: options.stakeDifficulty ?? 10_000_000_000n,
    sync: undefined as Partial<ChainSync> | undefined,
    refuse: (_hash: string): string | undefined => undefined,
    /** Broadcasts of these transactions are orphans this many more times (their inputs still propagating). */
    orphanFor: new Map<string, number>(),
    down: false,
    /** The vote version dcrd knows, and its agendas (getvoteinfo). */
    voteVersion: 11,
    agendas: [
      { id: "autorevocations", choices: ["abstain", "no", "yes"] },
      { id: "changesubsidysplit", choices: ["abstain", "no", "yes"] },
    ] as ReadonlyArray<{ readonly id: string; readonly choices: ReadonlyArray<string> }>,
    /** The next this-many tip reads die (a bug's defect, not a failure). */
    dyingTips: 0,
  }
  const blockHash = (h: number) => hashToDisplay(blake256Hash(new TextEncoder().encode(`block ${h}`)))
  const unavailable = <A>(method: string, a: () => A): Effect.Effect<A, VspChainUnavailable> =>
    Effect.suspend(() => (state.down ? Effect.fail(new VspChainUnavailable({ method, reason: "connection refused" })) : Effect.sync(a)))
  const chain: VspChain["Service"] = {
    tip: Effect.suspend(() =>
      state.dyingTips > 0
        ? (state.dyingTips--, Effect.die(new Error("a bug in the tip")))
        : unavailable("tip", () => ({ height, hash: blockHash(height), stakeDifficulty: state.stakeDifficulty, poolSize: 40_960 })),
    ),
    sync: unavailable("getblockchaininfo", () => ({ blocks: height, syncHeight: height, initialBlockDownload: false, activeSince: {}, ...state.sync })),
    transaction: (hash) =>
      unavailable("getrawtransaction", () => {
        const tx = txs.get(hash)
        if (tx === undefined) return undefined
        const mined = tx.minedAt !== undefined
        return { hex: tx.hex, confirmations: mined ? height - tx.minedAt! + 1 : 0, blockHeight: tx.minedAt, blockHash: mined ? blockHash(tx.minedAt!) : undefined }
      }),
    broadcast: (hex) =>
      unavailable("sendrawtransaction", (): BroadcastOutcome => {
        const hash = txHash(hex)
        broadcasts.push(hash)
        const refused = state.refuse(hash)
        if (refused !== undefined) return { kind: "rejected", reason: refused }
        const orphaned = state.orphanFor.get(hash) ?? 0
        if (orphaned > 0) {
          state.orphanFor.set(hash, orphaned - 1)
          return { kind: "orphan", reason: `orphan transaction ${hash} references output of unknown or fully-spent transaction` }
        }
        if (txs.has(hash)) return { kind: "already-known" }
        txs.set(hash, { hex, minedAt: undefined })
        return { kind: "accepted" }
      }),
    isLiveTicket: (hash) => unavailable("existsliveticket", () => live.has(hash)),
    agendas: (voteVersion) => unavailable("getvoteinfo", () => (voteVersion === state.voteVersion ? state.agendas : undefined)),
    ticketSpends: (h) => unavailable("getblock", () => spends.get(h) ?? []),
  }
  return {
    chain,
    layer: Layer.succeed(VspChain)(chain),
    state,
    broadcasts,
    get height() {
      return height
    },
    /** Puts a transaction in the mempool as if another node relayed it. */
    add: (hex: string) => void txs.set(txHash(hex), { hex, minedAt: undefined }),
    /** Mines `n` blocks; the first takes every mempool transaction. */
    mine: (n = 1) => {
      for (let i = 0; i < n; i++) {
        height++
        for (const tx of txs.values()) if (tx.minedAt === undefined) tx.minedAt = height
      }
    },
    has: (hash: string) => txs.has(hash),
    /** Drops an unmined transaction, as a restarted dcrd's empty mempool does. */
    forget: (hash: string) => void (txs.get(hash)?.minedAt === undefined && txs.delete(hash)),
    confirmations: (hash: string) => {
      const tx = txs.get(hash)
      return tx?.minedAt === undefined ? 0 : height - tx.minedAt + 1
    },
    /** The next block carries these votes and revocations. */
    spendInNextBlock: (s: ReadonlyArray<Omit<TicketSpend, "height">>) =>
      void spends.set(
        height + 1,
        s.map((x) => ({ ...x, height: height + 1 })),
      ),
    setLive: (hash: string, isLive: boolean) => void (isLive ? live.add(hash) : live.delete(hash)),
  }
}

// ---- the voting fleet --------------------------------------------------------------------------

/** A fleet that records what it is given; its wallets' statuses are set by the test. */
export const makeRecordingFleet = (names: ReadonlyArray<string> = ["vw1", "vw2", "vw3"]) => {
  const added: Array<VotableTicket> = []
  const updated: Array<VotableTicket> = []
  const reconciled: Array<ReadonlyArray<VotableTicket>> = []
  const online = new Set(names)
  const status = (name: string): VotingWalletStatus =>
    online.has(name)
      ? { name, connected: true, unlocked: true, voting: true, voteVersion: 11, bestBlockHeight: 0 }
      : { name, connected: false, unlocked: false, voting: false, voteVersion: 0, bestBlockHeight: 0, error: "connection refused" }
  const anyOnline = (operation: string) => (online.size === 0 ? Effect.fail(new VotingWalletUnavailable({ wallet: "all", operation, reason: "every voting wallet is down" })) : Effect.void)
  const fleet: VotingFleet["Service"] = {
    status: Effect.sync(() => names.map(status)),
    addTicket: (t) =>
      Effect.andThen(
        anyOnline("addTicket"),
        Effect.sync(() => void added.push(t)),
      ),
    updateChoices: (t) =>
      Effect.andThen(
        anyOnline("updateChoices"),
        Effect.sync(() => void updated.push(t)),
      ),
    reconcile: (tickets) =>
      Effect.sync((): ReadonlyArray<FleetRepair> => {
        reconciled.push(tickets)
        return names.map((wallet) => (online.has(wallet) ? { wallet, added: 0, choicesFixed: 0 } : { wallet, added: 0, choicesFixed: 0, error: "connection refused" }))
      }),
  }
  return { fleet, layer: Layer.succeed(VotingFleet)(fleet), added, updated, reconciled, online }
}

// ---- a service under test ----------------------------------------------------------------------

interface VspReply {
  readonly status: number
  readonly text: string
  readonly json: Record<string, unknown>
  /** Whether VSP-Server-Signature is the service key's signature of these exact bytes. */
  readonly signed: boolean
}

/**
 * A voting service on a free port of 127.0.0.1 over `FakeDcrd`, a recording fleet and a store
 * (in memory unless `dataDir` is given); its lifecycle polls only when the test calls `poll`.
 * `close` ends it (as a kill would, for the store: nothing is flushed that a commit did not).
 */
export const startTestService = async (options: {
  readonly network: NetworkParams
  readonly dcrd?: ReturnType<typeof makeFakeDcrd>
  readonly fleet?: ReturnType<typeof makeRecordingFleet>
  readonly dataDir?: string
  /** Another store (a Postgres server); the embedded one otherwise. */
  readonly store?: Layer.Layer<SqlClient.SqlClient, unknown>
  readonly settings?: Partial<VspSettings>
  readonly adminPassword?: string
  readonly rateLimit?: { readonly perSecond: number; readonly burst: number }
  readonly trustProxy?: boolean
  /** A fixed port (default: a free one). */
  readonly port?: number
  /** Timed polls (default: none in practice; tests call `poll`). */
  readonly pollMillis?: number
}) => {
  const network = options.network
  const dcrd = options.dcrd ?? makeFakeDcrd(network)
  const fleet = options.fleet ?? makeRecordingFleet()
  const scope = await Effect.runPromise(Scope.make())
  const store = options.store ?? (options.dataDir === undefined ? memoryStore : pgliteLayer({ dataDir: options.dataDir }))
  const services = await Effect.runPromise(Layer.buildWithScope(Layer.mergeAll(store, dcrd.layer, fleet.layer), scope))
  const service = await Effect.runPromise(
    runVotingService({
      settings: {
        network,
        feePercent: 3,
        serverSeed: testKey("server"),
        requiredConfirmations: 6,
        quoteLifetimeMillis: 3_600_000,
        minVotingWallets: 2,
        maxSyncLagBlocks: 2,
        closedMessage: undefined,
        ...options.settings,
      },
      feeXpub: testFeeXpub("fees", network),
      http: {
        host: "127.0.0.1",
        port: options.port ?? 0,
        adminPassword: options.adminPassword === undefined ? undefined : Redacted.make(options.adminPassword),
        dcrdHost: "fake dcrd",
        rateLimit: options.rateLimit ?? { perSecond: 1000, burst: 1000 },
        trustProxy: options.trustProxy,
      },
      pollMillis: options.pollMillis ?? 3_600_000,
    }).pipe(Effect.provide(services), Scope.provide(scope)),
  )
  const send = async (path: string, init: RequestInit): Promise<VspReply> => {
    const res = await fetch(`${service.url}${path}`, init)
    const text = await res.text()
    let json: Record<string, unknown> = {}
    try {
      json = JSON.parse(text) as Record<string, unknown>
    } catch {
      // not JSON (a 404, the admin page): json stays empty
    }
    const signed = verifyResponse(service.publicKey, new TextEncoder().encode(text), res.headers.get("vsp-server-signature") ?? "")
    return { status: res.status, text, json, signed }
  }
  return {
    dcrd,
    fleet,
    service,
    send,
    post: (path: string, body: string, signature: string | undefined) =>
      send(`/api/v3/${path}`, { method: "POST", body, headers: signature === undefined ? {} : { "VSP-Client-Signature": signature } }),
    get: (path: string, headers: Record<string, string> = {}) => send(path, { method: "GET", headers }),
    poll: () => Effect.runPromise(service.poll),
    /** Every row of the service's tables, as a backup writes them: equal snapshots, equal state. */
    snapshot: async () => {
      const lines: Array<string> = []
      await Effect.runPromise(backupVsp((line) => Effect.sync(() => void lines.push(line))).pipe(Effect.provide(services)))
      return lines
    },
    close: () => Effect.runPromise(Scope.close(scope, Exit.void)),
  }
}
