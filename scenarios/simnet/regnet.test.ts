/**
 * The BLAKE-256 era on a real dcrd (issue 8, part 7). Regnet forces no agenda: its chain mines
 * BLAKE-256 until a stake vote for blake3pow passes, which is what lets the legacy ASICs mine
 * it. Every BLAKE-256 model: an Innosilicon D9, an Antminer DR3 and a DR5, a Whatsminer D1 and an
 * Obelisk DCR1 (the emulators, really hashing BLAKE-256 with their firmware's stratum dialects)
 * mine through the production pool over TCP, each on the one connection it opened;
 * the pool submits their blocks to a real `dcrd --regnet`, and the chain is then read back:
 * every block the pool's miners found is in the main chain with exactly the header the pool
 * submitted (nonce, extra nonces, timestamp), its coinbase pays dcrd's mining address, and the
 * pool's store credited each confirmed block to the miners' accounts.
 *
 * Needs dcrd, built from the pinned version by `binaries.ts` (Go); without Go the suite skips
 * outside CI and fails in CI.
 */
import { Effect, Fiber, Layer, References, Result } from "effect"
import { describe, expect, it } from "vitest"
import { DIFFICULTY_SCALE } from "../../core/stratum/difficulty.ts"
import { toHex } from "../../core/chain/bytes.ts"
import { encodeAddress } from "../../core/chain/address.ts"
import { detectPadding } from "../../core/chain/getwork.ts"
import { blake256Hash } from "../../core/chain/hash.ts"
import { blockHashDisplay, HEADER_BYTES } from "../../core/chain/header.ts"
import { REGNET } from "../../core/chain/params.ts"
import { ChainUnavailable } from "../../core/services/chain.ts"
import { PayoutWallet, WalletUnavailable } from "../../core/services/wallet.ts"
import { profileOf, type MinerModel } from "../../core/stratum/profiles.ts"
import { newMinerStats, runMiner, type MinerStats } from "../../emulators/miner.ts"
import { tcpDial } from "../../emulators/network.ts"
import { SimRandom } from "../../emulators/random.ts"
import { makeDcrdAgendaVote } from "../../pool/dcrd-agenda-vote.ts"
import { PoolStore } from "../../pool/store/store.ts"
import { dcrToAtoms } from "../../core/chain/amounts.ts"
import { binariesReady } from "./binaries.ts"
import { layerNative } from "./node.ts"
import { dcrdOptionsFor, describeMiners, poolOnNode, regnetDcrd, tempDir, waitUntil } from "./pool-on-node.ts"

const ASICS: ReadonlyArray<MinerModel> = ["innosilicon-d9", "antminer-dr3", "antminer-dr5", "whatsminer-d1", "obelisk-dcr1"]

/** A regnet pay-to-pubkey-hash address for a label (the key is never needed: nothing is spent). */
const regnetAddress = (label: string) => encodeAddress("p2pkh-ecdsa-secp256k1", blake256Hash(new TextEncoder().encode(label)).subarray(0, 20), REGNET)

/**
 * Regnet starts at difficulty 1 (two BLAKE-256 hashes a block), and the pool never asks for
 * shares harder than the network's, so at first every share is a block. The miners hash 24
 * times a second each: twelve shares a second at difficulty 1 (within the pool's flood limit),
 * and as regnet's window retargets raise the difficulty past the pool's share difficulty of 4,
 * most shares are only shares.
 */
const SHARE_DIFFICULTY = 4n
const HASHES_PER_SECOND = 24
/**
 * Stop well below 126, where a regnet chain without ticket purchases ends: dcrd will not extend it
 * further, since the ticket pool could no longer fill before stake validation (144) needs votes.
 */
const HEIGHT_LIMIT = 100
const MIN_POOL_BLOCKS = 12

const CI = process.env.CI === "true"
const ready = binariesReady()

describe("regnet (BLAKE-256 era) on a real dcrd", () => {
  if (ready !== true && !CI) it.skip(`D9, DR3, DR5, D1 and DCR1 on a real dcrd (skipped: ${ready})`, () => undefined)
  else
    it("Innosilicon D9, Antminer DR3 and DR5, Whatsminer D1 and Obelisk DCR1 find real regnet blocks through the production pool, each on one connection", async () => {
      const miningAddress = regnetAddress("dcrforge regnet mining address")
      let walletCalls = 0
      const refusingWallet = Layer.succeed(PayoutWallet)({
        build: () => Effect.sync(() => walletCalls++).pipe(Effect.andThen(Effect.fail(new WalletUnavailable({ method: "build", reason: "no wallet on the regnet test" })))),
        publish: () => Effect.sync(() => walletCalls++).pipe(Effect.andThen(Effect.fail(new WalletUnavailable({ method: "publish", reason: "no wallet on the regnet test" })))),
        status: () => Effect.sync(() => walletCalls++).pipe(Effect.andThen(Effect.fail(new WalletUnavailable({ method: "status", reason: "no wallet on the regnet test" })))),
      })

      const program = Effect.gen(function* () {
        const started = Date.now()
        const dir = yield* tempDir("dcrforge-regnet-")
        const node = yield* regnetDcrd(dir, miningAddress)
        const rpc = node.rpc

        // The chain's own agenda state: blake3pow has not been voted in.
        const info = (yield* rpc("getblockchaininfo")) as { chain: string; blocks: number; deployments: Record<string, { status: string }> }
        expect(info.chain).toBe("regnet")
        expect(info.deployments.blake3pow?.status).not.toBe("active")
        // dcrd's own work says BLAKE-256 too: the getwork data carries BLAKE-256's padding.
        const work = (yield* rpc("getwork")) as { data: string }
        const padding = Buffer.from(work.data, "hex").subarray(HEADER_BYTES)
        expect(detectPadding(padding)).toBe("blake256")

        const { pool, port, submissions, services } = yield* poolOnNode({
          network: REGNET,
          dcrd: dcrdOptionsFor(node.endpoint),
          wallet: refusingWallet,
          dataDir: dir,
          scheme: { kind: "pplns", windowMultiple: { numerator: 2n, denominator: 1n } },
          feeBasisPoints: 0,
          // Nobody reaches it: no payout is due on this chain.
          minimumPayout: 1n << 62n,
          feeAddress: regnetAddress("dcrforge regnet fee"),
          shareDifficulty: SHARE_DIFFICULTY * DIFFICULTY_SCALE,
        })
        const job = yield* waitUntil(
          "the pool's first job",
          30,
          Effect.sync(() => pool.mining.jobs.current),
        )
        expect(job.pow).toBe("blake256")

        const accounts = new Map(ASICS.map((model) => [model, regnetAddress(`dcrforge regnet miner ${model}`)]))
        const stats = new Map<MinerModel, MinerStats>(ASICS.map((m) => [m, newMinerStats()]))
        const random = new SimRandom(8_7, "regnet")
        const miners = yield* Effect.forEach(ASICS, (model) =>
          Effect.forkScoped(
            runMiner(
              {
                name: model,
                profile: profileOf(model),
                username: `${accounts.get(model)}.${model}`,
                host: "127.0.0.1",
                dial: tcpDial("127.0.0.1", port),
                random: random.fork(model),
                powLimit: REGNET.powLimit,
                hashScale: 1,
                hashrate: HASHES_PER_SECOND,
                reconnectSeconds: { min: 1, max: 2 },
              },
              stats.get(model)!,
            ),
          ),
        )

        const poolStore = yield* PoolStore.pipe(Effect.provideContext(services))
        /** Blocks each miner (by its account) has found, as the pool stored them. */
        const storedBlocks = Effect.gen(function* () {
          const rows = yield* poolStore.blocksPage(1000, 0)
          const byMiner = new Map<MinerModel, number>()
          for (const model of ASICS) byMiner.set(model, rows.filter((r) => r.account === accounts.get(model)).length)
          return { rows, byMiner }
        })
        yield* waitUntil(
          `every ASIC finding a block, ${MIN_POOL_BLOCKS} pool blocks and 10 shares that are not blocks, below height ${HEIGHT_LIMIT}`,
          240,
          Effect.gen(function* () {
            const best = (yield* rpc("getbestblock")) as { height: number }
            const { rows, byMiner } = yield* storedBlocks
            if (best.height >= HEIGHT_LIMIT) {
              return yield* Effect.die(new Error(`regnet reached height ${best.height} before every ASIC found a block: blocks ${JSON.stringify([...byMiner])}, miners ${describeMiners(stats)}`))
            }
            const sharesOnly = [...stats.values()].reduce((n, s) => n + s.submitted - s.blocks, 0)
            return rows.length >= MIN_POOL_BLOCKS && [...byMiner.values()].every((n) => n > 0) && sharesOnly >= 10 ? true : undefined
          }),
        )
        yield* Effect.forEach(miners, Fiber.interrupt)
        const minedSeconds = (Date.now() - started) / 1000
        // Shares already on the wire may still become blocks: wait until the pool is quiet.
        for (let seen = -1; seen !== submissions.length; ) {
          seen = submissions.length
          yield* Effect.sleep(2_000)
        }

        const accepted = submissions.filter((s) => s.accepted)
        const acceptedHashes = new Set(accepted.map((s) => blockHashDisplay(s.data.subarray(0, HEADER_BYTES))))
        const best = (yield* rpc("getbestblock")) as { hash: string; height: number }
        // dcrd mines nothing itself and has no peers: every main-chain block after genesis is
        // one the pool submitted. (Two miners solving the same job give two blocks at one
        // height; dcrd takes both, one of them on a side chain, and the pool orphans that one.)
        for (let height = 1; height <= best.height; height++) expect(acceptedHashes.has((yield* rpc("getblockhash", [height])) as string), `block at ${height}`).toBe(true)
        for (const s of accepted) {
          const header = s.data.subarray(0, HEADER_BYTES)
          const hash = blockHashDisplay(header)
          // The block dcrd stored has exactly the header the pool submitted: the miner's nonce,
          // extra nonces and timestamp, and its BLAKE-256 hash met the block's target.
          expect(yield* rpc("getblockheader", [hash, false])).toBe(toHex(header))
          const block = (yield* rpc("getblock", [hash, true, true])) as {
            height: number
            rawtx: ReadonlyArray<{ vout: ReadonlyArray<{ scriptPubKey: { addresses?: ReadonlyArray<string> } }> }>
          }
          const paidTo = block.rawtx[0]!.vout.flatMap((o) => o.scriptPubKey.addresses ?? [])
          // Block 1 pays the block-one ledger (the premine) and not the miner; every later
          // coinbase pays dcrd's mining address last.
          if (block.height === 1) expect(paidTo).not.toContain(miningAddress)
          else expect(block.rawtx[0]!.vout.at(-1)!.scriptPubKey.addresses).toEqual([miningAddress])
        }
        // The last block dcrd took may still be on its way into the store.
        const { rows, byMiner } = yield* waitUntil("the pool storing every block dcrd accepted", 30, storedBlocks.pipe(Effect.map((b) => (b.rows.length >= acceptedHashes.size ? b : undefined))))
        expect(new Set(rows.map((r) => r.hash))).toEqual(acceptedHashes)
        // The pool told the models apart by their user agents (DR3 and DR5 share one).
        for (const r of rows) {
          const model = ASICS.find((m) => accounts.get(m) === r.account)
          expect(model === "antminer-dr5" ? ["antminer-dr3", "antminer-dr5"] : [model]).toContain(r.model)
        }

        // Confirmed blocks (one block on top) are credited to the miners' accounts, exactly.
        // (Side-chain blocks stay "accepted" until 6 blocks bury them, and the tip has nothing on top.)
        yield* waitUntil(
          "the pool confirming every main-chain block with one on top",
          30,
          Effect.gen(function* () {
            for (const open of yield* poolStore.blocksWithStatus(["accepted"])) {
              if (open.height < best.height && (yield* rpc("getblockhash", [open.height])) === open.hash) return undefined
            }
            return true
          }),
        )
        const credits = (yield* poolStore.sql`SELECT source, account, amount::text AS amount FROM credits`) as ReadonlyArray<{ source: string; account: string; amount: string }>
        const confirmed = yield* poolStore.blocksWithStatus(["confirmed", "matured"])
        expect(confirmed.length).toBe(best.height - 1)
        for (const b of confirmed) {
          const paid = credits.filter((c) => c.source === b.hash).reduce((sum, c) => sum + BigInt(c.amount), 0n)
          expect(paid).toBe(b.reward)
          // What the pool credited is what the block's coinbase paid the mining address.
          const block = (yield* rpc("getblock", [b.hash, true, true])) as { rawtx: ReadonlyArray<{ vout: ReadonlyArray<{ value: number | string }> }> }
          expect(b.reward).toBe(b.height === 1 ? 0n : Result.getOrThrow(dcrToAtoms(block.rawtx[0]!.vout.at(-1)!.value, "coinbase value")))
        }
        const credited = new Set(credits.map((c) => c.account))
        for (const account of accounts.values()) expect(credited.has(account)).toBe(true)
        expect(walletCalls).toBe(0)

        const after = (yield* rpc("getblockchaininfo")) as { blocks: number; difficultyratio: number | string; deployments: Record<string, { status: string }> }
        expect(after.deployments.blake3pow?.status).not.toBe("active")
        // The overview's agenda panel reads this dcrd as the production pool does (pool/dcrd-agenda-vote.ts):
        // dcrd's own getvoteinfo shape decodes and its state is the one the panel shows.
        const voteInfo = (yield* rpc("getvoteinfo", [11])) as { startheight: number; agendas: ReadonlyArray<{ id: string; status: string }> }
        const panel = yield* makeDcrdAgendaVote((method, params) => rpc(method, params).pipe(Effect.mapError((e) => new ChainUnavailable({ method, reason: e.message }))), REGNET)
        expect(panel?.state).toBe(voteInfo.agendas.find((a) => a.id === "blake3pow")?.status)
        expect(panel?.interval.first).toBe(voteInfo.startheight)
        const shares = [...stats.values()].reduce((n, s) => n + s.accepted, 0)
        const rejected = [...stats.values()].reduce((n, s) => n + s.rejected, 0)
        console.log(
          [
            `regnet: ${accepted.length} blocks found through the pool (height ${best.height}) in ${minedSeconds.toFixed(1)} s, ${submissions.length - accepted.length} submissions refused by dcrd`,
            `  blocks by miner: ${[...byMiner].map(([m, n]) => `${m} ${n}`).join(", ")}; in the main chain ${best.height}, orphaned ${rows.filter((r) => r.status === "orphaned").length}`,
            `  shares accepted ${shares}, rejected ${rejected}: ${describeMiners(stats)}`,
            `  network difficulty now ${after.difficultyratio} (share difficulty ${SHARE_DIFFICULTY}); blake3pow on the chain: ${after.deployments.blake3pow?.status}; confirmed and credited: ${confirmed.length}`,
          ].join("\n"),
        )
        // Every share the pool accepted was a real BLAKE-256 share for its job; none were refused
        // except as stale: for an old block, when another miner's block had just moved the tip.
        // And every miner mined the whole run on the one connection it opened.
        for (const [model, s] of stats) {
          expect(s.accepted, model).toBeGreaterThan(0)
          expect(s.connects, `${model}: ${describeMiners(stats)}`).toBe(1)
          for (const reason of s.rejectedBy.keys()) expect(reason, model).toMatch(/old block/)
        }
      })

      await Effect.runPromise(program.pipe(Effect.scoped, Effect.provide(layerNative), Effect.provideService(References.MinimumLogLevel, "Error")))
    }, 300_000)
})
