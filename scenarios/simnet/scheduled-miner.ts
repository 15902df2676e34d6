/**
 * Mines simnet blocks on the 1-second schedule instead of the wall clock.
 *
 * Under ASERT (DCP-0011) the target doubles or halves for every half-life (6 s on simnet)
 * the chain is behind or ahead of one block per second counted from its anchor (block 1).
 * dcrd's `generate` stamps blocks with the wall clock, so a suite that mines a few hundred
 * blocks quickly drives the difficulty up until its CPU miner finds ~1 block per second, and
 * 300 blocks cost 5 minutes. This miner takes dcrd's own template (`getwork`, with the votes
 * dcrd gathered), stamps it near its scheduled time (anchor + height - 1 s, give or take a few
 * seconds so the bits keep moving), solves it with BLAKE3 at a target that stays close to the
 * limit (a few hashes) and hands it back with `getwork <data>`. dcrd accepts any timestamp after
 * the parent's median time and less than two hours ahead, and a run of a few hundred blocks
 * stays well inside that.
 */
import { Effect, Result, Schema } from "effect"
import { fromHex, toHex } from "../../core/chain/bytes.ts"
import { decodeGetworkDataHex, encodeGetworkDataHex } from "../../core/chain/getwork.ts"
import { powHashWith } from "../../core/chain/hash.ts"
import { HeaderOffset } from "../../core/chain/header.ts"
import type { NetworkParams } from "../../core/chain/params.ts"
import { compactToBig, hashMeetsTarget } from "../../core/chain/targets.ts"
import type { JsonRpcCall } from "../../wallet/json-rpc.ts"
import { type DcrdListener, decodeResult, SimnetRpcError } from "./differential.ts"

const BestBlock = Schema.Struct({ hash: Schema.String, height: Schema.Number })
const VerboseHeader = Schema.Struct({ time: Schema.Number, mediantime: Schema.Number })
const GetWork = Schema.Struct({ data: Schema.String, target: Schema.String })

interface ScheduledMinerOptions {
  /** Seconds off the schedule for the block at a height (default: a spread over [-8, +2]). */
  readonly offset?: (height: number) => number
  /** How long to let the wallets answer a new tip before asking for a template (ms). */
  readonly settleMillis?: number
  /** How long to wait for every winner's vote before mining with the majority dcrd has (ms). */
  readonly allVotesMillis?: number
  /** Give up waiting for a template with enough votes after this long (ms). */
  readonly templateMillis?: number
}

/** Mines one block on dcrd's tip per run of the returned effect; its result is the new height. */
export const scheduledMiner = (dcrd: JsonRpcCall, listener: DcrdListener, params: NetworkParams, options: ScheduledMinerOptions = {}) => {
  const offset = options.offset ?? ((h: number) => ((h * 7) % 11) - 8)
  const settleMillis = options.settleMillis ?? 40
  const allVotesMillis = options.allVotesMillis ?? 1500
  const templateMillis = options.templateMillis ?? 30_000
  let anchorTime: number | undefined

  const headerAt = (hash: string) => Effect.flatMap(dcrd("getblockheader", [hash, true]), (r) => decodeResult("getblockheader", VerboseHeader, r))

  return Effect.gen(function* () {
    const tip = yield* decodeResult("getbestblock", BestBlock, yield* dcrd("getbestblock"))
    const height = tip.height + 1
    if (anchorTime === undefined && tip.height >= 1) {
      const anchorHash = yield* decodeResult("getblockhash", Schema.String, yield* dcrd("getblockhash", [1]))
      anchorTime = (yield* headerAt(anchorHash)).time
    }
    const parent = yield* headerAt(tip.hash)

    // Give the wallets a moment to answer the tip (votes, the ticket buyer's purchases), then
    // have dcrd build a template from its mempool as it is now: its own regeneration runs on a
    // timer, and a template from the instant the tip connected would leave them all out.
    yield* Effect.sleep(settleMillis)
    const mempool = (kind: string) => Effect.flatMap(dcrd("getrawmempool", [false, kind]), (r) => decodeResult("getrawmempool", Schema.Array(Schema.String), r))
    const started = Date.now()
    if (tip.height >= params.stakeValidationHeight - 1) {
      while ((yield* mempool("votes")).length < params.ticketsPerBlock && Date.now() - started < allVotesMillis) yield* Effect.sleep(25)
    }
    const votes = Math.min((yield* mempool("votes")).length, params.ticketsPerBlock)
    const tickets = Math.min((yield* mempool("tickets")).length, params.maxFreshStakePerBlock)
    // A forced template is built in the background and announced as `work`; use the first
    // announcement after the request (getwork would still hand out the old one for a while).
    const announced = listener.workCount()
    yield* dcrd("regentemplate")

    let work: { headerBytes: Uint8Array; voters: number; bits: number } | undefined
    let lastError = ""
    for (;;) {
      const late = Date.now() - started > allVotesMillis + 1500
      let hex: string | undefined
      if (listener.workCount() > announced) hex = listener.latestWork()
      else if (late) {
        // No announcement (dcrd ignores a forced regeneration while it waits for the last
        // votes): take whatever getwork has.
        const reply = yield* Effect.result(Effect.flatMap(dcrd("getwork"), (r) => decodeResult("getwork", GetWork, r)))
        if (reply._tag === "Success") hex = reply.success.data
        else lastError = reply.failure.message
      }
      if (hex !== undefined) {
        const decoded = decodeGetworkDataHex(hex)
        if (Result.isFailure(decoded)) return yield* Effect.fail(new SimnetRpcError({ method: "getwork", code: undefined, message: decoded.failure.message }))
        const h = decoded.success.header
        if (h.height === height && toHex(h.prevBlock) === reverseHex(tip.hash)) {
          work = { headerBytes: decoded.success.headerBytes, voters: h.voters, bits: h.bits }
          // The regenerated template carries what the mempool held a moment ago.
          if ((h.voters >= votes && h.freshStake >= tickets) || late) break
        }
      }
      if (Date.now() - started > templateMillis) {
        return yield* Effect.fail(
          new SimnetRpcError({ method: "getwork", code: undefined, message: `no template for block ${height} in ${templateMillis} ms (last: ${lastError || "stale template"})` }),
        )
      }
      yield* Effect.sleep(10)
    }

    // Stamp it near the schedule (after the parent's median time), then solve it.
    const header = work.headerBytes
    const view = new DataView(header.buffer, header.byteOffset, header.byteLength)
    const scheduled = (anchorTime ?? parent.time) + (height - 1) * params.targetTimePerBlock + offset(height)
    view.setUint32(HeaderOffset.timestamp, Math.max(parent.mediantime + 1, scheduled), true)
    const target = compactToBig(work.bits)
    let nonce = 0
    for (;;) {
      view.setUint32(HeaderOffset.nonce, nonce, true)
      if (hashMeetsTarget(powHashWith("blake3", header), target)) break
      nonce++
      if (nonce > 0xffffffff) return yield* Effect.fail(new SimnetRpcError({ method: "getwork", code: undefined, message: `no nonce solves block ${height}` }))
    }
    const accepted = yield* dcrd("getwork", [encodeGetworkDataHex(header, "blake3")])
    if (accepted !== true) {
      return yield* Effect.fail(new SimnetRpcError({ method: "getwork", code: undefined, message: `dcrd refused our solution of block ${height} (see dcrd's log)` }))
    }
    return height
  })
}

const reverseHex = (displayHex: string): string => toHex(Result.getOrThrow(fromHex(displayHex, "hash", 32)).reverse())
