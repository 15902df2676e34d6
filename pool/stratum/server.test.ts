import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { DIFFICULTY_SCALE, shareTarget } from "../../core/stratum/difficulty.ts"
import { powHashWith } from "../../core/chain/hash.ts"
import { REGNET, SIMNET, type NetworkParams } from "../../core/chain/params.ts"
import { hashMeetsTarget } from "../../core/chain/targets.ts"
import { LineClient } from "../../testkit/line-client.ts"
import { MinerSide } from "../../testkit/stratum-miner.ts"
import { MINER_PROFILES, profileOf, userAgentOf } from "../../core/stratum/profiles.ts"
import { HonestMiner, withObservedPool } from "../../testkit/stratum-fuzz.ts"
import { ask, connectMiner, withTcpPool, type TestPool } from "../../testkit/pool.ts"

const SIMNET_ADDRESS = "Sspzuh5xuvqxccYLWJDJjCtqp166NRxcaPB"
const REGNET_ADDRESS = "RsWM2w5LPJip56uxcZ1Scq7Tcbg97EfiwPA"
const errorCode = (reply: { readonly error: unknown } | undefined) => (Array.isArray(reply?.error) ? reply.error[0] : reply === undefined ? "closed" : null)

/** A share at difficulty 1 that is not also a block (a block would change the job under the test). */
const mineShare = (network: NetworkParams, pool: TestPool, miner: MinerSide, start = 0) => {
  const pow = network === SIMNET ? "blake3" : "blake256"
  for (let n = start; ; ) {
    const s = miner.solve(pow, shareTarget(network.powLimit, DIFFICULTY_SCALE), { start: n })
    if (!hashMeetsTarget(powHashWith(pow, s.header), pool.networkTarget)) return s
    n = s.nonce + 1
  }
}

describe("stratum server over TCP", () => {
  for (const network of [SIMNET, REGNET]) {
    const profiles = MINER_PROFILES.filter((p) => p.pow === (network === SIMNET ? "blake3" : "blake256"))
    it(`${network.name}: ${profiles.map((p) => p.model).join(", ")} connect at once, each gets its own extraNonce1 and a share accepted and credited`, async () => {
      await withTcpPool({ network, mode: "pool" }, async (pool) => {
        const address = network === SIMNET ? SIMNET_ADDRESS : REGNET_ADDRESS
        const miners = await Promise.all(profiles.map((p) => connectMiner(pool, p, `${address}.${p.model}`, p.model)))
        // Some firmware gets zero padding in front; the last four bytes are the pool's extraNonce1.
        const extraNonces = new Set(miners.map(({ miner }) => miner.extraNonce1.slice(-8)))
        expect(extraNonces.size).toBe(miners.length)
        for (const [i, { client, miner }] of miners.entries()) {
          const s = mineShare(network, pool, miner)
          const reply = await ask(client, miner, 10, "mining.submit", s.params)
          expect(reply?.result, `${profiles[i]!.model}: ${JSON.stringify(reply?.error)}`).toBe(true)
        }
        expect(pool.accounting.shares.map((s) => s.worker).sort()).toEqual(profiles.map((p) => p.model).sort())
        expect(new Set(pool.accounting.shares.map((s) => s.account))).toEqual(new Set([address]))
        for (const { client } of miners) client.close()
      })
    })
  }

  it("bad input gets the right error or a closed connection, and a well-behaved miner keeps being served", async () => {
    await withTcpPool({ network: SIMNET, mode: "pool", session: { messagesPerSecond: 50, messageBurst: 60 } }, async (pool) => {
      const gominer = profileOf("gominer")
      const good = await connectMiner(pool, gominer, `${SIMNET_ADDRESS}.good`, "good")
      let nonce = 0
      const goodShareStillAccepted = async () => {
        const s = mineShare(SIMNET, pool, good.miner, nonce)
        nonce = s.nonce + 1
        const reply = await ask(good.client, good.miner, 100 + nonce, "mining.submit", s.params)
        expect(reply?.result, JSON.stringify(reply?.error)).toBe(true)
      }

      const bad = await connectMiner(pool, gominer, `${SIMNET_ADDRESS}.bad`, "bad")
      // Malformed JSON and unknown methods: error 20, and the connection stays usable.
      bad.client.write("{this is not json\n")
      expect(bad.miner.read((await bad.client.next())!)?.error).toEqual([20, expect.stringMatching(/malformed JSON/), null])
      expect(errorCode(await ask(bad.client, bad.miner, 3, "mining.teleport", []))).toBe(20)
      bad.client.write(Uint8Array.of(0xff, 0xfe, 0x00, 0x7b, 0x0a))
      expect(bad.miner.read((await bad.client.next())!)?.error).toEqual([20, expect.any(String), null])
      // Wrong hex lengths in a submit.
      const s = mineShare(SIMNET, pool, bad.miner)
      const shortNonce = [...s.params]
      shortNonce[4] = "abcd"
      expect(errorCode(await ask(bad.client, bad.miner, 4, "mining.submit", shortNonce))).toBe(20)
      const oddExtra = [...s.params]
      oddExtra[2] = `${s.params[2]}0`
      expect(errorCode(await ask(bad.client, bad.miner, 5, "mining.submit", oddExtra))).toBe(20)
      // Unknown job, then the share, then the same share again.
      const unknown = [...s.params]
      unknown[1] = "00000000deadbeef"
      expect(errorCode(await ask(bad.client, bad.miner, 6, "mining.submit", unknown))).toBe(21)
      expect((await ask(bad.client, bad.miner, 7, "mining.submit", s.params))?.result).toBe(true)
      expect(errorCode(await ask(bad.client, bad.miner, 8, "mining.submit", s.params))).toBe(22)
      // Below the connection's difficulty.
      const low = bad.miner.solve("blake3", shareTarget(SIMNET.powLimit, DIFFICULTY_SCALE), { miss: true })
      expect(errorCode(await ask(bad.client, bad.miner, 9, "mining.submit", low.params))).toBe(23)
      await goodShareStillAccepted()

      // Someone else finds a block: the old job is stale.
      const staleJob = bad.miner.job!.jobId
      await pool.run(pool.node.externalBlock)
      await bad.client.until((l) => l.includes("mining.notify"))
      await good.client.until((l) => l.includes("mining.notify")).then((l) => good.miner.read(l))
      const stale = [...mineShare(SIMNET, pool, bad.miner, 5_000).params]
      stale[1] = staleJob
      expect(errorCode(await ask(bad.client, bad.miner, 11, "mining.submit", stale))).toBe(21)

      // A line that never ends: an error, then the connection is closed.
      bad.client.write("x".repeat(10_000))
      const overflow = bad.miner.read((await bad.client.next())!)
      expect(overflow?.error).toEqual([20, "line longer than 2048 bytes", null])
      expect(await bad.client.next()).toBeUndefined()

      // A flood: errors first, then closed.
      const flooder = await connectMiner(pool, gominer, `${SIMNET_ADDRESS}.flood`, "flood")
      flooder.client.write(`${JSON.stringify({ id: 1, method: "mining.extranonce.subscribe", params: [] })}\n`.repeat(400))
      await flooder.client.closed
      expect(flooder.client.ended).toBe(true)

      await goodShareStillAccepted()
      good.client.close()
      // Lines before subscribe and authorize.
      const fresh = await LineClient.connect(pool.port)
      const m = new MinerSide(gominer)
      expect(errorCode(await ask(fresh, m, 1, "mining.submit", s.params))).toBe(25)
      fresh.close()
    })
  })

  it("limits connections per host and closes idle connections", async () => {
    await withTcpPool({ network: SIMNET, mode: "pool", limits: { maxConnectionsPerHost: 3, tickMillis: 50 }, session: { idleTimeoutSeconds: 1 } }, async (pool) => {
      const clients = await Promise.all([1, 2, 3].map(() => LineClient.connect(pool.port)))
      const fourth = await LineClient.connect(pool.port)
      expect(await fourth.next()).toMatch(/too many connections from 127\.0\.0\.1 \(limit 3\)/)
      await fourth.closed
      // Silent connections are closed after the idle timeout.
      await Promise.all(clients.map((c) => c.closed))
      expect(clients.every((c) => c.ended)).toBe(true)
      // Their slots are free again.
      const again = await connectMiner(pool, profileOf("cpuminer"), SIMNET_ADDRESS)
      expect(again.miner.jobs).toBe(1)
      again.client.close()
    })
  })

  it("sends a clean job only on a new parent, a job that keeps older work valid on new votes, none for new transactions, and rolls the timestamp of old work", async () => {
    await withTcpPool({ network: SIMNET, mode: "pool", rollTimestampSeconds: 1 }, async (pool) => {
      const { client } = await connectMiner(pool, profileOf("gominer"), SIMNET_ADDRESS)
      const notify = async () => JSON.parse(await client.until((l) => l.includes("mining.notify"))) as { params: Array<unknown> }
      // Work dated in the past gets a fresh timestamp, as a job that does not clear the miner's queue.
      const rolled = await notify()
      expect(rolled.params[8]).toBe(false)
      await pool.run(pool.node.newWork("newtxns"))
      await pool.run(pool.node.newWork("newvotes"))
      const votes = await notify()
      expect(votes.params[8]).toBe(false)
      await pool.run(pool.node.externalBlock)
      const parent = await notify()
      expect(parent.params[8]).toBe(true)
      expect(parent.params[1]).not.toBe(votes.params[1])
      client.close()
    })
  })

  it("solo mode end to end: any username, a block found is submitted with the era's padding and accepted, and the next block and a reorg move accounting's tip", async () => {
    await withTcpPool({ network: SIMNET, mode: "solo", bits: 0x2000ffff }, async (pool) => {
      const { client, miner } = await connectMiner(pool, profileOf("cpuminer"), "anything-goes")
      const block = miner.solve("blake3", pool.networkTarget)
      expect((await ask(client, miner, 5, "mining.submit", block.params))?.result).toBe(true)
      await client.until((l) => l.includes("mining.notify"))
      await Effect.runPromise(Effect.sleep(50))
      expect(pool.node.submitted.map((s) => s.accepted)).toEqual([true])
      expect(pool.accounting.blocks).toHaveLength(1)
      expect(pool.accounting.blocks[0]).toMatchObject({ height: 101, account: "solo", worker: "anything-goes", model: "cpuminer" })
      await pool.run(pool.node.externalBlock)
      await Effect.runPromise(Effect.sleep(50))
      expect(pool.accounting.tips.at(-1)).toBe(102)
      await pool.run(pool.node.disconnectTip)
      await Effect.runPromise(Effect.sleep(50))
      expect(pool.accounting.tips.at(-1)).toBe(101)
      client.close()
    })
  })

  it("a block found while dcrd is briefly unreachable is submitted when it comes back", async () => {
    await withTcpPool({ network: SIMNET, mode: "pool", bits: 0x2000ffff }, async (pool) => {
      const { client, miner } = await connectMiner(pool, profileOf("gominer"), SIMNET_ADDRESS)
      await pool.run(pool.node.setOffline(true))
      const block = miner.solve("blake3", pool.networkTarget)
      expect((await ask(client, miner, 5, "mining.submit", block.params))?.result).toBe(true)
      await Effect.runPromise(Effect.sleep(300))
      expect(pool.node.submitted).toHaveLength(0)
      await pool.run(pool.node.setOffline(false))
      await client.until((l) => l.includes("mining.notify"), 10_000)
      expect(pool.node.submitted.map((s) => s.accepted)).toEqual([true])
      client.close()
    })
  })

  it("a block dcrd took whose answer was lost (the retry refused as a duplicate) is still credited", async () => {
    await withTcpPool({ network: SIMNET, mode: "solo", bits: 0x2000ffff }, async (pool) => {
      const { client, miner } = await connectMiner(pool, profileOf("cpuminer"), "anything-goes")
      await pool.run(pool.node.loseAnswers(1))
      const block = miner.solve("blake3", pool.networkTarget)
      expect((await ask(client, miner, 5, "mining.submit", block.params))?.result).toBe(true)
      for (let i = 0; i < 200 && pool.accounting.blocks.length === 0; i++) await Effect.runPromise(Effect.sleep(20))
      // dcrd took it first time; the retry after the lost answer was a duplicate, refused.
      expect(pool.node.submitted.map((s) => s.accepted)).toEqual([true, false])
      expect(pool.accounting.blocks).toHaveLength(1)
      expect(pool.accounting.blocks[0]).toMatchObject({ height: 101, account: "solo", worker: "anything-goes" })
      client.close()
    })
  })

  it("a block goes to dcrd at once, without waiting for its share to be committed", async () => {
    await withTcpPool({ network: SIMNET, mode: "pool", bits: 0x2000ffff, beforeRecord: Effect.never }, async (pool) => {
      const { client, miner } = await connectMiner(pool, profileOf("gominer"), SIMNET_ADDRESS)
      const block = miner.solve("blake3", pool.networkTarget)
      // The store never commits, so the miner never hears back; dcrd must have the block anyway.
      client.send(5, "mining.submit", block.params)
      for (let i = 0; i < 100 && pool.node.submitted.length === 0; i++) await Effect.runPromise(Effect.sleep(20))
      expect(pool.node.submitted.map((s) => s.accepted)).toEqual([true])
      client.close()
    })
  })
})

describe("stratum server budgets that hold (issue 16)", () => {
  const extranonceSubscribe = (id: number | string) => `${JSON.stringify({ id, method: "mining.extranonce.subscribe", params: [] })}\n`
  const replies = async (client: LineClient) => {
    const out: Array<{ readonly id: unknown; readonly error: unknown }> = []
    for (let line = await client.next(); line !== undefined; line = await client.next()) out.push(JSON.parse(line) as { id: unknown; error: unknown })
    return out
  }

  it("every line costs budget, blank ones too: a connection sending only newlines is closed at once, and a miner beside it is served", async () => {
    await withObservedPool({}, async (pool) => {
      const honest = await HonestMiner.connect(pool)
      const flooder = await LineClient.connect(pool.port)
      flooder.write(new Uint8Array(4 * 1024 * 1024).fill(10))
      // No answer to a blank line; the budget (burst 40, closed at 80 in debt) ends it after 121.
      expect(await flooder.next()).toBeUndefined()
      expect(pool.metrics.connectionsClosed["message-flood"].value).toBe(1)
      expect(pool.metrics.linesThrottled.value).toBe(80)
      expect(await honest.submit()).toBe(true)
      honest.close()
    })
  })

  it("bytes count: thirty-one 2 KiB lines are a flood where thirty-one short ones are not even throttled", async () => {
    await withObservedPool({}, async (pool) => {
      const short = await LineClient.connect(pool.port)
      short.write(Array.from({ length: 31 }, (_, i) => extranonceSubscribe(i)).join(""))
      for (let i = 0; i < 31; i++) expect(JSON.parse((await short.next())!)).toEqual({ id: i, result: false, error: null })
      short.close()
      const long = await LineClient.connect(pool.port)
      const padded = (i: number) => `{"id":${i},"method":"mining.extranonce.subscribe","params":[],"pad":"${"x".repeat(1900)}"}\n`
      long.write(Array.from({ length: 31 }, (_, i) => padded(i)).join(""))
      // Four messages a line: ten answered, twenty refused under their ids, then closed.
      const answered = await replies(long)
      expect(answered.map((r) => r.id)).toEqual(Array.from({ length: 30 }, (_, i) => i))
      expect(answered.slice(10).every((r) => Array.isArray(r.error) && r.error[1] === "too many messages: slow down")).toBe(true)
      expect(long.ended).toBe(true)
    })
  })

  it("a request over the budget is refused under its own id, so the miner knows which share it was", async () => {
    await withObservedPool({}, async (pool) => {
      const client = await LineClient.connect(pool.port)
      const ids = Array.from({ length: 45 }, (_, i) => (i % 2 === 0 ? i : `share-${i}`))
      client.write(ids.map(extranonceSubscribe).join(""))
      const got: Array<{ readonly id: unknown; readonly error: unknown }> = []
      for (let i = 0; i < ids.length; i++) got.push(JSON.parse((await client.next())!) as { id: unknown; error: unknown })
      expect(got.map((r) => r.id)).toEqual(ids)
      expect(got.slice(0, 40).every((r) => r.error === null)).toBe(true)
      expect(got.slice(40).map((r) => r.error)).toEqual(Array.from({ length: 5 }, () => [20, "too many messages: slow down", null]))
      // Not a request: refused under id null, as the session answers it.
      client.write("{not json\n")
      expect(JSON.parse((await client.next())!)).toMatchObject({ id: null, error: [20, "too many messages: slow down", null] })
      client.close()
    })
  })

  it("refused connections and unsupported miners are counted by reason and logged once per address per interval, with the count of the rest", async () => {
    await withObservedPool({ limits: { maxConnectionsPerHost: 1, tickMillis: 20, clientLogIntervalMillis: 1_500 } }, async (pool) => {
      const held = await LineClient.connect(pool.port)
      for (let i = 0; i < 12; i++) {
        const refused = await LineClient.connect(pool.port)
        expect(await refused.next()).toMatch(/too many connections from 127\.0\.0\.1 \(limit 1\)/)
        await refused.closed
      }
      for (let i = 0; i < 7; i++) {
        held.send(i, "mining.subscribe", ["ccminer/2.3.1"])
        expect(await held.next()).toMatch(/is not supported/)
      }
      held.send(7, "mining.subscribe", [userAgentOf(profileOf("innosilicon-d9"))])
      expect(await held.next()).toMatch(/BLAKE3/)
      expect(pool.metrics.connectionsClosed["per-host-limit"].value).toBe(12)
      expect(pool.metrics.connectionsRefused.value).toBe(12)
      expect(pool.metrics.minersRefused.unsupported.value).toBe(7)
      expect(pool.metrics.minersRefused["cannot-mine"].value).toBe(1)
      const warnings = () => pool.logs.filter((l) => l.level === "Warn").map((l) => l.message)
      expect(warnings()).toEqual([
        "refused: 1 connections from 127.0.0.1 already (limit 1)",
        'unsupported miner "ccminer/2.3.1" refused at subscribe',
        "innosilicon-d9 cannot mine the chain's active proof of work; refused at subscribe",
      ])
      // When the interval ends, one line each for the ones left out.
      for (let i = 0; i < 100 && warnings().length < 5; i++) await Effect.runPromise(Effect.sleep(50))
      expect(warnings().slice(3).sort()).toEqual([
        "11 more connections refused over the per-host limit from 127.0.0.1 in the last 1.5 s were not logged",
        "6 more unsupported miners refused at subscribe from 127.0.0.1 in the last 1.5 s were not logged",
      ])
      held.close()
    })
  })
})
