import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { TestClock } from "effect/testing"
import { encodeHeader } from "../core/chain/header.ts"
import { SIMNET } from "../core/chain/params.ts"
import { StratumListener, type MinerConnection } from "../core/services/listener.ts"
import { profileOf } from "../core/stratum/profiles.ts"
import { encodeNotifyParams } from "../core/stratum/work.ts"
import { newMinerStats, runMiner, type MinerEvent } from "./miner.ts"
import { makeMemoryNetwork } from "./network.ts"
import { SimRandom } from "./random.ts"

/** A request as the scripted pool reads it. */
interface Request {
  readonly id: number | null
  readonly method: string
  readonly params: ReadonlyArray<unknown>
}

const JOB_HEADER = encodeHeader({
  version: 10,
  prevBlock: new Uint8Array(32).fill(1),
  merkleRoot: new Uint8Array(32).fill(7),
  stakeRoot: new Uint8Array(32).fill(8),
  voteBits: 1,
  finalState: new Uint8Array(6),
  voters: 5,
  freshStake: 0,
  revocations: 0,
  poolSize: 100,
  bits: 0x1d00ffff,
  sbits: 20000n,
  height: 300,
  size: 1000,
  timestamp: 1_767_225_600,
  nonce: 0,
  extraData: new Uint8Array(32),
  stakeVersion: 10,
})

/**
 * A pool that answers from a script, byte for byte as the reference pool (dcrpool) writes its
 * lines: subscribe, authorize, the difficulty the test names, one clean job, and each submit's
 * reply line from `submitReplies` (by order of arrival, `%ID%` replaced by the request's id).
 */
const scriptedPool = (difficulty: string, submitReplies: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const net = yield* makeMemoryNetwork({ random: new SimRandom(3) })
    const listener = yield* Effect.provide(
      Effect.gen(function* () {
        return yield* StratumListener
      }),
      net.listener,
    )
    const submits: Array<Request> = []
    const handler = (connection: MinerConnection) =>
      Effect.gen(function* () {
        const reader = yield* connection.socket.reader
        const writer = yield* connection.socket.writer
        const send = (lines: ReadonlyArray<string>) => writer.write(lines.map((l) => `${l}\n`).join(""))
        const decoder = new TextDecoder()
        let partial = ""
        for (;;) {
          for (const chunk of yield* reader.pull) {
            partial += typeof chunk === "string" ? chunk : decoder.decode(chunk, { stream: true })
            for (let nl = partial.indexOf("\n"); nl >= 0; nl = partial.indexOf("\n")) {
              const request = JSON.parse(partial.slice(0, nl)) as Request
              partial = partial.slice(nl + 1)
              if (request.method === "mining.subscribe") {
                yield* send([`{"id":${request.id},"error":null,"result":[[["mining.set_difficulty","mndeadbeef"],["mining.notify","mndeadbeef"]],"deadbeef",4]}`])
              } else if (request.method === "mining.authorize") {
                const notify = JSON.stringify({ id: null, method: "mining.notify", params: encodeNotifyParams(profileOf("cpuminer"), "job1", JOB_HEADER, true) })
                yield* send([`{"id":${request.id},"error":null,"result":true}`, `{"id":null,"method":"mining.set_difficulty","params":[${difficulty}]}`, notify])
              } else if (request.method === "mining.submit") {
                const reply = submitReplies[submits.length]
                submits.push(request)
                if (reply !== undefined) yield* send([reply.replace("%ID%", String(request.id))])
              }
            }
          }
        }
      }).pipe(Effect.scoped, Effect.ignore)
    yield* Effect.forkScoped(listener.run(handler), { startImmediately: true })
    return { net, submits }
  })

/** dcrpool's CPU miner, emulated: 10 nominal H/s at a hash scale of 1, so a difficulty-1 share every 0.2 s or so. */
const startMiner = (net: Effect.Success<ReturnType<typeof scriptedPool>>["net"], events: Array<MinerEvent>) =>
  Effect.gen(function* () {
    const stats = newMinerStats()
    yield* Effect.forkScoped(
      runMiner(
        {
          name: "cpu-0",
          profile: profileOf("cpuminer"),
          username: "SsAddress.cpu",
          host: "10.0.0.1",
          dial: net.dial,
          random: new SimRandom(5).fork("miner"),
          powLimit: SIMNET.powLimit,
          hashScale: 1,
          hashrate: 10,
          // No redial within the test: one connection's fate is the subject.
          reconnectSeconds: { min: 3600, max: 3600 },
          onEvent: (e) => events.push(e),
        },
        stats,
      ),
    )
    return stats
  })

const advanceUntil = (done: () => boolean, limitMillis: number) =>
  Effect.gen(function* () {
    for (let t = 0; t < limitMillis && !done(); t += 50) yield* TestClock.adjust(50)
  })

describe("miner emulator: the pool's replies as Decred miners read them", () => {
  it.effect("a duplicate refused with result false (dcrpool's exact line) costs one share and mining goes on; a null result is a broken pool and the miner hangs up", () =>
    Effect.gen(function* () {
      const pool = yield* scriptedPool("1", [
        `{"id":%ID%,"error":null,"result":true}`,
        `{"id":%ID%,"error":[22,"Duplicate share: work already submitted",null],"result":false}`,
        `{"id":%ID%,"error":null,"result":true}`,
        `{"id":%ID%,"error":[22,"Duplicate share: work already submitted",null],"result":null}`,
      ])
      const events: Array<MinerEvent> = []
      const stats = yield* startMiner(pool.net, events)
      yield* advanceUntil(() => events.some((e) => e._tag === "Disconnected"), 60_000)
      const answers = events.filter((e) => e._tag === "Answered")
      assert.deepStrictEqual(
        answers.map((e) => e.accepted),
        [true, false, true],
      )
      assert.strictEqual(stats.accepted, 2)
      assert.strictEqual(stats.rejected, 1)
      assert.match([...stats.rejectedBy.keys()][0]!, /^\[22,"Duplicate share/)
      // One connection throughout: the refusal cost a share, the null result the connection.
      assert.strictEqual(stats.connects, 1)
      assert.strictEqual(pool.submits.length, 4)
      const gone = events.find((e) => e._tag === "Disconnected")
      assert.match(gone?._tag === "Disconnected" ? gone.reason : "", /protocol error: mining.submit reply must have a boolean result, got null/)
    }),
  )

  it.effect("takes mining.set_difficulty as a whole number: 1625.54 is hashed to 1625", () =>
    Effect.gen(function* () {
      const pool = yield* scriptedPool("1625.54", [])
      const events: Array<MinerEvent> = []
      yield* startMiner(pool.net, events)
      yield* advanceUntil(() => events.some((e) => e._tag === "Difficulty"), 10_000)
      const difficulty = events.find((e) => e._tag === "Difficulty")
      assert.strictEqual(difficulty?._tag === "Difficulty" ? difficulty.difficulty : undefined, 1625)
      assert.isFalse(events.some((e) => e._tag === "Disconnected"))
    }),
  )

  it.effect("a difficulty below 1 is fatal, as it is to dcrpool's CPU miner (it divides by the truncated 0)", () =>
    Effect.gen(function* () {
      const pool = yield* scriptedPool("0.0000062498", [])
      const events: Array<MinerEvent> = []
      yield* startMiner(pool.net, events)
      yield* advanceUntil(() => events.some((e) => e._tag === "Disconnected"), 10_000)
      const gone = events.find((e) => e._tag === "Disconnected")
      assert.match(gone?._tag === "Disconnected" ? gone.reason : "", /protocol error: mining.set_difficulty must carry a whole difficulty of at least 1, got 0.0000062498/)
      assert.isFalse(events.some((e) => e._tag === "Submitted"))
    }),
  )
})
