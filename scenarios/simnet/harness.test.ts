import { describe, expect, it } from "@effect/vitest"
import { Clock, Data, Effect, Layer, Schedule, Schema } from "effect"
import { existsSync } from "node:fs"
import { connect } from "node:net"
import { ChainRpc } from "../../core/services/chain.ts"
import { PayoutWallet } from "../../core/services/wallet.ts"
import { dcrdChainLayer, dcrdWebSocketLayer } from "../../pool/dcrd-client.ts"
import { dcrwalletLayer } from "../../wallet/dcrwallet-rpc.ts"
import { binariesReady } from "./binaries.ts"
import { makeSimnetHarness, STAKE_VALIDATION_HEIGHT } from "./harness.ts"
import { dockerAnswers, layerDocker, layerNative, type SimnetNode, type SimnetNodeError } from "./node.ts"

/**
 * The real-simnet harness, the same suite over each way of running the daemons: dcrd, the pool's
 * payout wallet and a voting wallet come up, the chain passes stake validation height with votes
 * in every block, the payout wallet earns, the production adapters connect, and the voting
 * wallet can be stopped and started again.
 */
const CI = process.env.CI === "true"
const TARGET = STAKE_VALIDATION_HEIGHT + 16

const BlockchainInfo = Schema.Struct({ chain: Schema.String, blocks: Schema.Number })
const Header = Schema.Struct({ height: Schema.Number, voters: Schema.Number })
const LiveTickets = Schema.Struct({ tickets: Schema.Array(Schema.String) })
const StakeInfo = Schema.Struct({ live: Schema.Number, voted: Schema.Number })

const seconds = (from: number, to: number) => ((to - from) / 1000).toFixed(1)

class DeliberateFailure extends Data.TaggedError("DeliberateFailure")<{ readonly dir: string; readonly ports: ReadonlyArray<number> }> {}

const portOf = (url: string) => Number(new URL(url).port)
const refusesConnections = (port: number) =>
  Effect.promise(
    () =>
      new Promise<boolean>((resolve) => {
        const socket = connect({ host: "127.0.0.1", port })
        socket.once("connect", () => (socket.destroy(), resolve(false)))
        socket.once("error", () => resolve(true))
      }),
  )

const harnessSuite = (kind: string, layer: Layer.Layer<SimnetNode, SimnetNodeError>) => {
  it.live(
    `${kind}: a failing suite still stops every daemon and removes the run's directory`,
    () =>
      Effect.gen(function* () {
        const failure = yield* Effect.flip(
          Effect.gen(function* () {
            const h = yield* makeSimnetHarness()
            const ports = [portOf(h.dcrd.rpcUrl), portOf(h.payoutWallet.url), portOf(h.votingWallet.url)]
            return yield* Effect.fail(new DeliberateFailure({ dir: h.dir, ports }))
          }).pipe(Effect.scoped, Effect.provide(layer)),
        )
        if (failure._tag !== "DeliberateFailure") return yield* Effect.fail(failure)
        expect(existsSync(failure.dir)).toBe(false)
        for (const port of failure.ports) expect(yield* refusesConnections(port), `port ${port}`).toBe(true)
      }),
    600_000,
  )
  it.live(
    `${kind}: dcrd and two wallets pass stake validation height with votes in every block`,
    () =>
      Effect.gen(function* () {
        const t0 = yield* Clock.currentTimeMillis
        const h = yield* makeSimnetHarness()
        const t1 = yield* Clock.currentTimeMillis
        const funded = yield* h.balanceAtoms(h.payoutWallet)
        yield* h.advanceTo(STAKE_VALIDATION_HEIGHT)
        const t2 = yield* Clock.currentTimeMillis
        yield* h.advanceTo(TARGET)
        const t3 = yield* Clock.currentTimeMillis
        console.log(
          `simnet ${kind}: started and funded (height ${funded > 0n ? "19" : "?"}) in ${seconds(t0, t1)} s, SVH ${STAKE_VALIDATION_HEIGHT} reached ${seconds(t0, t2)} s after start, height ${TARGET} after ${seconds(t0, t3)} s`,
        )

        const info = yield* h.dcrd.callAs(BlockchainInfo, "getblockchaininfo")
        expect(info.chain).toBe("simnet")
        expect(info.blocks).toBeGreaterThanOrEqual(TARGET)

        // Every block from SVH on carries at least three votes on its parent.
        for (let height = STAKE_VALIDATION_HEIGHT; height <= TARGET; height++) {
          const hash = yield* h.dcrd.callAs(Schema.String, "getblockhash", [height])
          const header = yield* h.dcrd.callAs(Header, "getblockheader", [hash, true])
          expect(header.voters, `voters in block ${height}`).toBeGreaterThanOrEqual(3)
        }
        const live = yield* h.dcrd.callAs(LiveTickets, "livetickets")
        expect(live.tickets.length).toBeGreaterThan(20)
        const stake = yield* h.votingWallet.callAs(StakeInfo, "getstakeinfo")
        expect(stake.voted).toBeGreaterThanOrEqual(3 * (TARGET - STAKE_VALIDATION_HEIGHT + 1))
        expect(stake.live).toBeGreaterThan(20)

        // The payout wallet is the mining address's owner: it keeps earning coinbases.
        const earned = yield* h.balanceAtoms(h.payoutWallet)
        expect(earned).toBeGreaterThan(funded)

        // The production adapters connect with what the harness exposes.
        const best = yield* Effect.gen(function* () {
          const chain = yield* ChainRpc
          // The client dials in the background; calls before it is subscribed fail, so ask again.
          return yield* chain.getBestBlock.pipe(Effect.retry({ times: 40, schedule: Schedule.spaced(250) }))
        }).pipe(Effect.provide(dcrdChainLayer(h.dcrdOptions).pipe(Layer.provide(dcrdWebSocketLayer(h.dcrd.certificate)))))
        expect(best.height).toBeGreaterThanOrEqual(TARGET)
        const status = yield* Effect.gen(function* () {
          const wallet = yield* PayoutWallet
          return yield* wallet.status("00".repeat(32))
        }).pipe(Effect.provide(dcrwalletLayer(h.payoutWalletOptions)))
        expect(status._tag).toBe("Unknown")

        // The voting wallet stops and comes back on the same port and files, and votes again.
        yield* h.votingWallet.stop
        expect(yield* h.votingWallet.running).toBe(false)
        yield* h.votingWallet.start
        expect(yield* h.votingWallet.running).toBe(true)
        yield* h.advance(2)
        expect(yield* h.height).toBeGreaterThanOrEqual(TARGET + 2)
      }).pipe(Effect.scoped, Effect.provide(layer)),
    600_000,
  )
}

const native = binariesReady()
const docker = native === true ? await Effect.runPromise(dockerAnswers) : false

describe("real simnet harness", () => {
  // In CI nothing skips: a missing Go or Docker engine fails the suite with its reason.
  if (native !== true && !CI) it.skip(`native processes (skipped: ${native})`, () => undefined)
  else harnessSuite("native", layerNative)
  if (!docker && !CI) it.skip(`docker containers (skipped: ${native === true ? "no Docker engine answered" : native})`, () => undefined)
  else harnessSuite("docker", layerDocker)
})
