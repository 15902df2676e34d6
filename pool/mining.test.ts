import { Effect, Layer, References, Stream } from "effect"
import { describe, expect, it } from "vitest"
import { DIFFICULTY_SCALE } from "../core/stratum/difficulty.ts"
import { encodeGetworkData } from "../core/chain/getwork.ts"
import type { PowHashAlgorithm } from "../core/chain/hash.ts"
import { HEADER_BYTES } from "../core/chain/header.ts"
import { REGNET } from "../core/chain/params.ts"
import { ChainRpc, type WorkTemplate } from "../core/services/chain.ts"
import { StratumListener } from "../core/services/listener.ts"
import { makeMiniNode } from "../testkit/mini-node.ts"
import { profileOf } from "../core/stratum/profiles.ts"
import { memoryAccounting } from "../testkit/memory-accounting.ts"
import { runMining } from "./mining.ts"
import { defaultSessionConfig } from "./stratum/session.ts"
import { defaultServerLimits } from "./stratum/server.ts"
import { tcpListenerLayer } from "./stratum/tcp-listener.ts"
import { connectMiner } from "../testkit/pool.ts"
import { defaultVardiffConfig } from "./stratum/vardiff.ts"

const REGNET_ADDRESS = "RsWM2w5LPJip56uxcZ1Scq7Tcbg97EfiwPA"

/**
 * A regnet pool whose node pads its work for `pow` (a regnet chain where blake3pow was voted in
 * pads for BLAKE3; the network's agenda table cannot know that): which era do the pool's jobs
 * take, and which miners may subscribe?
 */
const regnetPoolWithWorkPaddedFor = (pow: PowHashAlgorithm) =>
  Effect.gen(function* () {
    const node = yield* makeMiniNode(REGNET, 0x207fffff)
    const repad = (work: WorkTemplate): WorkTemplate => ({ ...work, data: encodeGetworkData(work.data.subarray(0, HEADER_BYTES), pow) })
    const chain = Layer.effect(
      ChainRpc,
      Effect.gen(function* () {
        const c = yield* ChainRpc
        return ChainRpc.of({ ...c, getWork: Effect.map(c.getWork, repad), events: Stream.map(c.events, (e) => (e._tag === "Work" ? { ...e, work: repad(e.work) } : e)) })
      }),
    ).pipe(Layer.provide(node.layer))
    const vardiff = defaultVardiffConfig(DIFFICULTY_SCALE, DIFFICULTY_SCALE)
    return yield* Effect.gen(function* () {
      const mining = yield* runMining({ session: defaultSessionConfig(REGNET, "pool", vardiff), limits: defaultServerLimits, rollTimestampSeconds: 3600 })
      const port = (yield* StratumListener).port
      const subscribes = (model: "gominer" | "innosilicon-d9") =>
        Effect.promise(() =>
          connectMiner({ port }, profileOf(model), `${REGNET_ADDRESS}.${model}`, model).then(
            ({ client }) => (client.close(), true),
            () => false,
          ),
        )
      return { pow: mining.jobs.current?.pow, gominer: yield* subscribes("gominer"), d9: yield* subscribes("innosilicon-d9") }
    }).pipe(Effect.scoped, Effect.provide(Layer.mergeAll(chain, memoryAccounting().layer, tcpListenerLayer({ host: "127.0.0.1", port: 0 }))))
  }).pipe(Effect.provideService(References.MinimumLogLevel, "Error"), (program) => Effect.runPromise(program))

describe("mining path: the proof of work of the chain", () => {
  it("follows the era dcrd pads its work for: BLAKE-256 on regnet as the table says, BLAKE3 once the chain's work says so", async () => {
    expect(await regnetPoolWithWorkPaddedFor("blake256")).toEqual({ pow: "blake256", gominer: false, d9: true })
    expect(await regnetPoolWithWorkPaddedFor("blake3")).toEqual({ pow: "blake3", gominer: true, d9: false })
  })
})
