import { Effect, Layer, References } from "effect"
import { DIFFICULTY_SCALE } from "../core/stratum/difficulty.ts"
import type { NetworkParams } from "../core/chain/params.ts"
import { compactToBig } from "../core/chain/targets.ts"
import { StratumListener } from "../core/services/listener.ts"
import { LineClient } from "./line-client.ts"
import { makeMiniNode } from "./mini-node.ts"
import { MinerSide } from "./stratum-miner.ts"
import { userAgentOf, type MinerProfile } from "../core/stratum/profiles.ts"
import { SIMNET } from "../core/chain/params.ts"
import { memoryAccounting } from "./memory-accounting.ts"
import type { PoolOptions } from "../pool/pool.ts"
import { CrashPoints, type CrashPointName } from "../pool/ops/crash-points.ts"
import { runMining } from "../pool/mining.ts"
import { defaultSessionConfig, type SessionConfig } from "../pool/stratum/session.ts"
import { defaultServerLimits, type ServerLimits } from "../pool/stratum/server.ts"
import { tcpListenerLayer } from "../pool/stratum/tcp-listener.ts"
import { defaultVardiffConfig } from "../pool/stratum/vardiff.ts"

interface TestPoolOptions {
  readonly network: NetworkParams
  readonly mode: "pool" | "solo"
  /** Network difficulty bits of the mini node's blocks. */
  readonly bits?: number
  readonly session?: Partial<SessionConfig>
  readonly limits?: Partial<ServerLimits>
  readonly rollTimestampSeconds?: number
  /** False for load runs: count shares without keeping them. */
  readonly keepShares?: boolean
  /** Runs before each share batch is recorded (a slow or stuck store). */
  readonly beforeRecord?: Effect.Effect<void>
}

/**
 * A pool on a loopback TCP port, fed by the mini node, with share difficulty fixed at 1 so a
 * test miner finds a share in a couple of hashes. The body talks to it over real sockets.
 */
export const withTcpPool = <A>(options: TestPoolOptions, body: (pool: TestPool) => Promise<A>): Promise<A> =>
  Effect.runPromise(
    Effect.gen(function* () {
      const node = yield* makeMiniNode(options.network, options.bits ?? 0x1f00ffff)
      const accounting = memoryAccounting({ keepShares: options.keepShares ?? true, beforeRecord: options.beforeRecord })
      const vardiff = { ...defaultVardiffConfig(DIFFICULTY_SCALE, DIFFICULTY_SCALE), retargetShares: 1_000_000 }
      const session = { ...defaultSessionConfig(options.network, options.mode, vardiff), ...options.session }
      const layer = Layer.mergeAll(tcpListenerLayer({ host: "127.0.0.1", port: 0 }), node.layer, accounting.layer)
      return yield* Effect.gen(function* () {
        const listener = yield* StratumListener
        const mining = yield* runMining({ session, limits: { ...defaultServerLimits, ...options.limits }, rollTimestampSeconds: options.rollTimestampSeconds ?? 3600 })
        const pool: TestPool = {
          port: listener.port,
          node,
          accounting,
          mining,
          run: (effect) => Effect.runPromise(effect),
          networkTarget: compactToBig(options.bits ?? 0x1f00ffff),
        }
        return yield* Effect.promise(() => body(pool))
      }).pipe(Effect.scoped, Effect.provide(layer))
    }).pipe(Effect.provideService(References.MinimumLogLevel, "Error")),
  )

export interface TestPool {
  readonly port: number
  readonly node: Effect.Success<ReturnType<typeof makeMiniNode>>
  readonly accounting: ReturnType<typeof memoryAccounting>
  readonly mining: Effect.Success<ReturnType<typeof runMining>>
  readonly run: <A>(effect: Effect.Effect<A>) => Promise<A>
  readonly networkTarget: bigint
}

/** A miner of `profile` connected, subscribed and authorized, holding its first job. */
export const connectMiner = async (pool: Pick<TestPool, "port">, profile: MinerProfile, username: string, worker = "rig1") => {
  const client = await LineClient.connect(pool.port)
  const miner = new MinerSide(profile, worker)
  client.send(1, "mining.subscribe", [userAgentOf(profile)])
  const sub = miner.read(await client.until((l) => l.includes('"id":1')))
  if (sub?.error !== null) throw new Error(`subscribe refused: ${JSON.stringify(sub?.error)}`)
  client.send(2, "mining.authorize", [username, "x"])
  const auth = miner.read(await client.until((l) => l.includes('"id":2')))
  if (auth?.result !== true) throw new Error(`authorize refused: ${JSON.stringify(auth?.error)}`)
  miner.read(await client.until((l) => l.includes("mining.set_difficulty")))
  miner.read(await client.until((l) => l.includes("mining.notify")))
  return { client, miner }
}

/** Sends a request and returns the reply to it, reading notifications on the way. */
export const ask = async (client: LineClient, miner: MinerSide, id: number, method: string, params: ReadonlyArray<unknown>) => {
  client.send(id, method, params)
  for (;;) {
    const line = await client.next()
    if (line === undefined) return undefined
    const reply = miner.read(line)
    if (reply !== undefined && reply.id === id) return reply
  }
}

/**
 * Fault injection for the supervision tests: while a step is armed, reaching it dies with a
 * defect (the kind of failure a typed error handler does not catch), `times` times or until
 * disarmed. Counts every arrival at a step, armed or not.
 */
export const makeFaultPoints = () => {
  const armed = new Map<CrashPointName, number>()
  const reached = new Map<CrashPointName, number>()
  const layer = Layer.succeed(CrashPoints)({
    at: (step) =>
      Effect.suspend(() => {
        reached.set(step, (reached.get(step) ?? 0) + 1)
        const left = armed.get(step) ?? 0
        if (left <= 0) return Effect.void
        armed.set(step, left - 1)
        return Effect.die(new Error(`fault injected at ${step}`))
      }),
  })
  return {
    layer,
    arm: (step: CrashPointName, times = 1) => void armed.set(step, times),
    disarm: (step: CrashPointName) => void armed.delete(step),
    reached: (step: CrashPointName) => reached.get(step) ?? 0,
  }
}

/**
 * `runPool`'s options for a pool under test on simnet rules: PPLNS (window 2), a 1 % fee paid to
 * `feeAddress`, coinbase maturity 2 (payouts within a few blocks) and share difficulty fixed at 1.
 */
export const simnetTestPoolOptions = (instance: string, feeAddress: string, over: Partial<PoolOptions> = {}): PoolOptions => ({
  network: SIMNET,
  accounting: {
    network: SIMNET,
    instance,
    scheme: { kind: "pplns", windowMultiple: { numerator: 2n, denominator: 1n } },
    feeBasisPoints: 100,
    minimumPayout: 1n,
    feeAddress,
    coinbaseMaturity: 2,
    maxShareBatch: 100,
  },
  vardiffTargetSeconds: 10,
  maxConnectionsPerHost: 10,
  session: { vardiff: { ...defaultVardiffConfig(DIFFICULTY_SCALE, DIFFICULTY_SCALE), retargetShares: 1_000_000 } },
  ...over,
})
