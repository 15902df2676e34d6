import { Effect, Layer, Queue, Result, Stream } from "effect"
import { chainActivations } from "../core/chain/agendas.ts"
import { toHex, writeUintLE } from "../core/chain/bytes.ts"
import { powAlgorithmAt } from "../core/chain/difficulty.ts"
import { decodeGetworkData, encodeGetworkData } from "../core/chain/getwork.ts"
import { blockHash, decodeHeader, encodeHeader, HEADER_BYTES, powHash } from "../core/chain/header.ts"
import { hashToDisplay } from "../core/chain/hash.ts"
import type { NetworkParams } from "../core/chain/params.ts"
import { compactToBig, hashMeetsTarget } from "../core/chain/targets.ts"
import { ChainRpc, ChainRpcError, ChainUnavailable, type ChainEvent, type WorkReason } from "../core/services/chain.ts"

/**
 * The smallest node a pool test needs: one chain of headers at fixed `bits`, a template on the
 * tip, `getwork` submission that checks the PoW of the active era, and work and block
 * notifications. No transactions and no stake rules: the emulated dcrd does that.
 */
export const makeMiniNode = (network: NetworkParams, bits: number, startHeight = 100, coinbaseValue = 1_000_000_000n) =>
  Effect.gen(function* () {
    const events = yield* Queue.unbounded<ChainEvent>()
    const activations = chainActivations(network.agendas)
    const chain: Array<Uint8Array> = []
    let templateSerial = 0
    let template: Uint8Array
    let offline = false
    /** Block submissions whose answers are lost: the block is processed, the caller hears a dropped connection. */
    let answersLost = 0
    const submitted: Array<{ readonly header: Uint8Array; readonly accepted: boolean }> = []

    const tipHash = () => (chain.length === 0 ? new Uint8Array(32).fill(1) : blockHash(chain[chain.length - 1]!))
    const nextHeight = () => startHeight + chain.length + 1
    const makeTemplate = () => {
      templateSerial++
      template = encodeHeader({
        version: 10,
        prevBlock: tipHash(),
        // Each template differs in its merkle root, as dcrd's do when transactions change.
        merkleRoot: writeUintLE(BigInt(templateSerial), 32),
        stakeRoot: new Uint8Array(32).fill(8),
        voteBits: 1,
        finalState: new Uint8Array(6),
        voters: 5,
        freshStake: 0,
        revocations: 0,
        poolSize: 100,
        bits,
        sbits: 20_000n,
        height: nextHeight(),
        size: 1_000,
        timestamp: 1_700_000_000 + chain.length * 300,
        nonce: 0,
        extraData: new Uint8Array(32),
        stakeVersion: 10,
      })
      return template
    }
    makeTemplate()
    const powAt = (height: number) => powAlgorithmAt(activations, height)
    const work = (reason: WorkReason) => ({ data: encodeGetworkData(template, powAt(nextHeight())), target: compactToBig(bits), reason })

    const connect = (header: Uint8Array) =>
      Effect.gen(function* () {
        chain.push(header)
        yield* Queue.offer(events, { _tag: "BlockConnected", header })
        makeTemplate()
        yield* Queue.offer(events, { _tag: "Work", work: work("newparent") })
      })

    const unavailable = (method: string) => Effect.fail(new ChainUnavailable({ method, reason: "mini node is offline" }))

    const service = ChainRpc.of({
      getWork: Effect.suspend(() => (offline ? unavailable("getwork") : Effect.succeed(work("initial")))),
      submitWork: (data) =>
        Effect.gen(function* () {
          if (offline) return yield* unavailable("getwork")
          const decoded = decodeGetworkData(data)
          if (Result.isFailure(decoded)) return false
          const header = data.slice(0, HEADER_BYTES)
          const h = Result.getOrThrow(decodeHeader(header))
          const t = Result.getOrThrow(decodeHeader(template))
          const accepted =
            toHex(h.prevBlock) === toHex(tipHash()) &&
            toHex(h.merkleRoot) === toHex(t.merkleRoot) &&
            decoded.success.padding === powAt(h.height) &&
            hashMeetsTarget(powHash(header, powAt(h.height)), compactToBig(bits))
          submitted.push({ header, accepted })
          if (accepted) yield* connect(header)
          if (answersLost > 0) {
            answersLost--
            return yield* Effect.fail(new ChainUnavailable({ method: "getwork", reason: "connection dropped before the answer (mini node losing answers)" }))
          }
          return accepted
        }),
      getBestBlock: Effect.sync(() => ({ hash: hashToDisplay(tipHash()), height: nextHeight() - 1 })),
      getBlockHash: (height) =>
        Effect.gen(function* () {
          if (offline) return yield* unavailable("getblockhash")
          const header = chain[height - startHeight - 1]
          if (header === undefined) return yield* Effect.fail(new ChainRpcError({ method: "getblockhash", code: -5, reason: `no block at height ${height}` }))
          return hashToDisplay(blockHash(header))
        }),
      coinbaseValue: (hash) =>
        Effect.gen(function* () {
          if (offline) return yield* unavailable("getblock")
          const known = chain.some((h) => hashToDisplay(blockHash(h)) === hash)
          if (!known) return yield* Effect.fail(new ChainRpcError({ method: "getblock", code: -5, reason: `block ${hash} not found` }))
          return coinbaseValue
        }),
      events: Stream.fromQueue(events),
    })

    return {
      layer: Layer.succeed(ChainRpc)(service),
      submitted,
      chain,
      /** Someone else's block: the pool's jobs go stale. */
      externalBlock: Effect.suspend(() => connect(template)),
      /** The tip leaves the chain (a reorg of depth one). */
      disconnectTip: Effect.gen(function* () {
        const header = chain.pop()
        if (header === undefined) return
        yield* Queue.offer(events, { _tag: "BlockDisconnected", header })
        makeTemplate()
        yield* Queue.offer(events, { _tag: "Work", work: work("newparent") })
      }),
      newWork: (reason: WorkReason) => Effect.suspend(() => Queue.offer(events, { _tag: "Work", work: work(reason) })),
      setOffline: (value: boolean) => Effect.sync(() => void (offline = value)),
      /** The next `count` block submissions are processed but their answers lost (a retry is a duplicate). */
      loseAnswers: (count: number) => Effect.sync(() => void (answersLost = count)),
      powAt,
      /** Connects this many blocks of other miners (to mature the pool's coinbases). */
      externalBlocks: (count: number) =>
        Effect.suspend(() =>
          Effect.repeat(
            Effect.suspend(() => connect(template)),
            { times: count - 1 },
          ),
        ),
    }
  })
