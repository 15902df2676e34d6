import { Clock, Data, Effect, Ref, Result } from "effect"
import { makeVspApi, type ServiceState, type VspSettings } from "./api.ts"
import { deriveFeeAddress } from "./checks.ts"
import { makeLifecycle } from "./lifecycle.ts"
import { serveVspHttp, type VspHttpOptions } from "./http.ts"
import { migrateVsp, VspStore, vspStoreLayer } from "./store.ts"

/**
 * The voting service assembled: its tables migrated, the fee xpub recorded, the API served,
 * the lifecycle polling dcrd, all in the caller's scope (closing it stops everything). Needs a
 * `SqlClient` (embedded store or Postgres), a `VspChain` (dcrd) and a `VotingFleet`.
 */

interface VotingServiceOptions {
  readonly settings: VspSettings
  /** The extended public key fee addresses are derived from (vspd's feexpub). */
  readonly feeXpub: string
  readonly http: VspHttpOptions
  /** How often dcrd's tip is asked for. */
  readonly pollMillis: number
}

export interface RunningVotingService {
  /** e.g. http://127.0.0.1:8800: what stakers give dcrwallet as --vsp.url. */
  readonly url: string
  /** Base64 Ed25519 public key: what stakers give dcrwallet as --vsp.pubkey. */
  readonly publicKey: string
  readonly port: number
  /** One lifecycle poll now (a pass if dcrd has a new tip), besides the timed ones: for tests and tools. */
  readonly poll: Effect.Effect<void>
}

class VspConfigInvalid extends Data.TaggedError("VspConfigInvalid")<{ readonly reason: string }> {
  override get message(): string {
    return `voting service configuration: ${this.reason}`
  }
}

export const runVotingService = (options: VotingServiceOptions) =>
  Effect.gen(function* () {
    const network = options.settings.network
    const probe = deriveFeeAddress(options.feeXpub, 0, network)
    if (Result.isFailure(probe)) return yield* new VspConfigInvalid({ reason: `the fee xpub is unusable on ${network.name}: ${probe.failure}` })
    yield* migrateVsp
    const store = yield* VspStore
    yield* store.useFeeXpub(options.feeXpub, yield* Clock.currentTimeMillis)
    const state = yield* Ref.make<ServiceState>({ tipHeight: 0, closedReason: "starting: dcrd and the voting wallets not asked yet", walletsOnline: 0, walletsTotal: 0, voteVersion: 0, poolSize: 0 })
    const api = yield* makeVspApi(options.settings, state)
    const lifecycle = yield* makeLifecycle(options.settings, state, api)
    // The state is known before the first request is served.
    yield* lifecycle.refreshState(undefined)
    const { port } = yield* serveVspHttp(options.http, api, state)
    yield* Effect.forkScoped(lifecycle.run(options.pollMillis))
    const url = `http://${options.http.host.includes(":") ? `[${options.http.host}]` : options.http.host}:${port}`
    yield* Effect.logInfo(`vsp: serving vspd API v3 at ${url} on ${network.name}; --vsp.pubkey=${api.publicKey}`)
    return { url, publicKey: api.publicKey, port, poll: lifecycle.poll } satisfies RunningVotingService
  }).pipe(Effect.provide(vspStoreLayer))
