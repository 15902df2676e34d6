import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import { toHex } from "../core/chain/bytes.ts"
import { encodeHeader } from "../core/chain/header.ts"
import { SIMNET } from "../core/chain/params.ts"
import { ChainRpcError, ChainUnavailable } from "../core/services/chain.ts"
import { parseJsonExact } from "../wallet/json-rpc.ts"
import { makeDcrdStakeView } from "./dcrd-stake-view.ts"

/** A simnet chain of 160 blocks (past stake validation), as dcrd would describe it: stake fields vary by height. */
const TIP = 160
const hashAt = (height: number) => height.toString(16).padStart(64, "0")
const headerHex = (height: number) =>
  toHex(
    encodeHeader({
      version: 10,
      prevBlock: new Uint8Array(32),
      merkleRoot: new Uint8Array(32),
      stakeRoot: new Uint8Array(32),
      voteBits: 1,
      finalState: new Uint8Array(6),
      voters: height >= SIMNET.stakeValidationHeight ? (height % 4 === 0 ? 3 : 5) : 0,
      freshStake: height % 3,
      revocations: height % 4 === 0 ? 2 : 0,
      poolSize: 300 + height,
      bits: 0x207fffff,
      // The window's price, a number of atoms a float would not keep (past 2^53).
      sbits: 9_007_199_254_740_993n + BigInt(Math.floor(height / SIMNET.stakeDiffWindowSize)),
      height,
      size: 1000,
      timestamp: 1_767_225_600 + height,
      nonce: 0,
      extraData: new Uint8Array(32),
      stakeVersion: 10,
    }),
  )

/** dcrd's answers as the client hands them on (fractional amounts as their source text). */
const fakeDcrd = (calls: Array<string>) => (method: string, params: ReadonlyArray<unknown>) =>
  Effect.suspend(() => {
    calls.push(`${method} ${JSON.stringify(params)}`)
    switch (method) {
      case "getbestblock":
        return Effect.succeed({ hash: hashAt(TIP), height: TIP })
      case "getstakedifficulty":
        return Effect.succeed(parseJsonExact('{"current": 0.0002, "next": 0.00021732}'))
      case "estimatestakediff":
        return Effect.succeed(parseJsonExact('{"min": 0.0002, "max": 0.00028475, "expected": 0.00022146}'))
      case "getrawmempool":
        return Effect.succeed(["aa".repeat(32), "bb".repeat(32)])
      case "getblockhash":
        return Effect.succeed(hashAt(params[0] as number))
      case "getblockheader":
        return Effect.succeed(headerHex(Number.parseInt(params[0] as string, 16)))
      default:
        return Effect.fail(new ChainRpcError({ method, code: -32601, reason: "Method not found" }))
    }
  })

describe("the staking view over dcrd's JSON-RPC", () => {
  it.effect("reads the price, the estimate band, the pool and the blocks exactly, and refuses the address lookup saying where to look", () =>
    Effect.gen(function* () {
      const calls: Array<string> = []
      const view = makeDcrdStakeView(fakeDcrd(calls), SIMNET)
      const o = yield* view.overview
      expect(o).toEqual({
        height: TIP,
        price: 21_732n,
        estimate: { min: 20_000n, max: 28_475n, expected: 22_146n, blocksLeftInWindow: 7, nextWindowStartsAt: 168 },
        windowSize: SIMNET.stakeDiffWindowSize,
        poolSize: 300 + TIP,
        poolTarget: SIMNET.ticketPoolSize * SIMNET.ticketsPerBlock,
        mempoolTickets: 2,
      })
      expect(calls).toContain('getrawmempool [false,"tickets"]')

      const history = yield* view.priceHistory(3)
      expect(history).toEqual([144, 152, 160].map((startHeight) => ({ startHeight, price: 9_007_199_254_740_993n + BigInt(startHeight / 8) })))
      // Settled windows are asked for once; the newest ones again each time (a reorganisation may change them).
      calls.length = 0
      yield* view.priceHistory(3)
      expect(calls.filter((c) => c.startsWith("getblockhash"))).toEqual(["getblockhash [152]", "getblockhash [160]"])

      const { blocks, total } = yield* view.recentBlocks(3, 0)
      expect(total).toBe(TIP + 1)
      expect(blocks).toEqual([
        { height: 160, hash: hashAt(160), votes: 3, misses: 2, revocations: 2, tickets: 1, poolSize: 460, price: 9_007_199_254_741_013n },
        { height: 159, hash: hashAt(159), votes: 5, misses: 0, revocations: 0, tickets: 0, poolSize: 459, price: 9_007_199_254_741_012n },
        { height: 158, hash: hashAt(158), votes: 5, misses: 0, revocations: 0, tickets: 2, poolSize: 458, price: 9_007_199_254_741_012n },
      ])

      const lookup = yield* Effect.exit(view.ticketsOf("SsAnyAddress"))
      expect(Exit.isFailure(lookup) && lookup.cause.toString()).toContain("dcrd has had no address index since 1.8")
    }),
  )

  it.effect("dcrd down or answering nonsense is StakeViewUnavailable naming the call", () =>
    Effect.gen(function* () {
      const down = makeDcrdStakeView((method) => Effect.fail(new ChainUnavailable({ method, reason: "not connected" })), SIMNET)
      const failure = yield* Effect.flip(down.overview)
      expect(failure._tag).toBe("StakeViewUnavailable")
      expect(failure.message).toBe("the staking figures are not available: dcrd's getbestblock failed: not connected; check that dcrd runs and answers")
      const odd = makeDcrdStakeView((method) => Effect.succeed(method === "getbestblock" ? { hash: "x", height: "tall" } : null), SIMNET)
      expect((yield* Effect.flip(odd.recentBlocks(5, 0))).message).toContain("dcrd's getbestblock answered an unexpected shape")
    }),
  )
})
