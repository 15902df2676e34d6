import { describe, expect, it } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import { TestClock } from "effect/testing"
import { SIMNET } from "../../core/chain/params.ts"
import { makeSimDcrd, simulatedNetwork } from "../../emulators/dcrd.ts"
import { serveJsonRpc } from "../../emulators/json-rpc-server.ts"
import { SimRandom } from "../../emulators/random.ts"
import { makeDcrwalletStaking } from "../../wallet/dcrwallet-stake.ts"
import { makeTrustingPost } from "../../wallet/json-rpc.ts"
import { stakeInfoFor } from "../../wallet/stakeinfo.ts"
import { demoStakers, demoWorldOptions, startDemoStaker } from "./demo.ts"
import { advance, withWorld } from "./world.ts"

describe("the main job's stakers", () => {
  it.effect("the staker that goes offline misses tickets, revoked automatically; the others miss none", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(1_767_225_600_000)
      const stakers = demoStakers(1)
      const dcrd = yield* makeSimDcrd({
        network: simulatedNetwork(SIMNET),
        random: new SimRandom(1),
        hashScale: 1,
        networkHashrate: 0,
        bootstrapHeight: SIMNET.stakeValidationHeight + 8,
        stakers: stakers.stakers,
      })
      yield* Effect.repeat(dcrd.mineNetworkBlock, { times: 199 })
      const offline = dcrd.model.totalsFor(stakers.sometimesOffline)
      expect(offline.missedEver).toBeGreaterThan(0)
      // DCP-0009: every miss is revoked in the block that missed it.
      expect(offline.counts.revoked).toBe(offline.missedEver + offline.expiredEver)
      expect(offline.counts.voted).toBeGreaterThan(offline.missedEver)
      for (const owner of stakers.solo) {
        expect(dcrd.model.totalsFor(owner).missedEver).toBe(0)
        expect(dcrd.model.totalsFor(owner).counts.voted).toBeGreaterThan(0)
      }
      // The demo staker buys only through its auto-buyer (not started here).
      expect(dcrd.model.totalsFor(stakers.demo).pricesPaid).toBe(0n)
    }),
  )

  it.effect(
    "the main job's world in memory: the demo staker's auto-buyer buys, and its wallet answers JSON-RPC over HTTP",
    () =>
      withWorld(demoWorldOptions(11), (world) =>
        Effect.gen(function* () {
          const staker = yield* startDemoStaker(world)
          const { port } = yield* serveJsonRpc({ host: "127.0.0.1", port: 0, user: "demo", password: "secret", handle: staker.handler })
          yield* advance({ untilMillis: 4_000, stepMillis: 100 })
          let id = 0
          const rpc = (method: string, params: ReadonlyArray<unknown> = [], password = "secret") =>
            Effect.promise(async () => {
              const response = await fetch(`http://127.0.0.1:${port}`, {
                method: "POST",
                headers: { authorization: `Basic ${Buffer.from(`demo:${password}`).toString("base64")}` },
                body: JSON.stringify({ jsonrpc: "1.0", id: ++id, method, params }),
              })
              return { status: response.status, body: await response.text() }
            })
          const call = (method: string, params: ReadonlyArray<unknown> = []) =>
            Effect.map(rpc(method, params), (r) => {
              expect(r.status).toBe(200)
              return JSON.parse(r.body) as { readonly result: unknown; readonly error: { readonly code: number; readonly message: string } | null; readonly id: number }
            })

          expect((yield* rpc("getstakeinfo", [], "wrong")).status).toBe(401)

          // The auto-buyer has bought a ticket a block since the start.
          const before = (yield* call("getstakeinfo")).result as Record<string, number | undefined>
          expect(before.blockheight).toBe(world.dcrd.height())
          expect((before.ownmempooltix ?? 0) + (before.immature ?? 0) + (before.live ?? 0)).toBeGreaterThan(0)

          const bought = yield* call("purchaseticket", ["default", 1, 1])
          expect(bought.error).toBeNull()
          const [hash] = bought.result as ReadonlyArray<string>
          const info = (yield* call("ticketinfo")).result as ReadonlyArray<Record<string, unknown>>
          expect(info.find((t) => t.hash === hash)).toMatchObject({ status: "immature", blockheight: -1, votingaddress: staker.wallet.owner })

          // The next blocks mine it.
          yield* advance({ untilMillis: 30_000, stepMillis: 100, done: () => staker.wallet.tickets().some((t) => t.minedAt !== undefined && hashOf(t.id) === hash) })
          const mined = ((yield* call("ticketinfo")).result as ReadonlyArray<Record<string, unknown>>).find((t) => t.hash === hash)
          expect(mined?.status).toBe("immature")
          expect(mined?.blockheight).toBeGreaterThan(0)

          // The staking adapter a real dcrwallet is spoken to with reads the same stake info, exactly.
          const { post, close } = makeTrustingPost(undefined)
          const adapter = makeDcrwalletStaking({ url: `http://127.0.0.1:${port}`, user: "demo", password: Redacted.make("secret"), requestTimeoutMillis: 10_000 }, post)
          expect(yield* adapter.stakeInfo).toEqual(stakeInfoFor(world.dcrd.model, staker.wallet.owner))
          const viaAdapter = yield* adapter.purchaseTickets({
            form: "current",
            account: "default",
            spendLimit: undefined,
            minConf: 1,
            ticketAddress: undefined,
            numTickets: 2,
            pool: undefined,
            expiry: undefined,
            comment: "from the adapter",
          })
          expect(viaAdapter).toHaveLength(2)
          expect(yield* adapter.tickets).toEqual(expect.arrayContaining([...viaAdapter]))
          yield* close

          expect((yield* call("nosuchmethod")).error).toEqual({ code: -32601, message: "Method not found" })
          expect((yield* call("purchaseticket", [])).error).toEqual({ code: -32600, message: "Invalid request" })
        }),
      ),
    120_000,
  )
})

/** The model's raw ticket id as dcrwallet prints it (reversed bytes). */
const hashOf = (id: string): string => Buffer.from(id, "hex").reverse().toString("hex")
