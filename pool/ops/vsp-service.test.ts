import { PgClient } from "@effect/sql-pg"
import { Effect, Layer, Redacted } from "effect"
import { mkdtempSync, rmSync, statSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, afterEach, describe, expect, it } from "vitest"
import { SIMNET } from "../../core/chain/params.ts"
import { serverPublicKey } from "../../core/vsp/server-key.ts"
import { feeTx, makeStaker, memoryStore, startTestService } from "../../testkit/vsp.ts"
import { postgresForTests } from "../../testkit/postgres.ts"
import { backupVsp, restoreVsp } from "../store/backup.ts"
import { loadOrCreateServerKey } from "./vsp-service.ts"

const dirs: Array<string> = []
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), "vsp-ops-"))
  dirs.push(d)
  return d
}

describe("the voting service's server key", () => {
  it("is created once, readable only by its owner, and the same key (so the same --vsp.pubkey) at every later start", async () => {
    const path = join(tempDir(), "keys", "server.key")
    const first = await Effect.runPromise(loadOrCreateServerKey(path))
    expect(first.created).toBe(true)
    expect(statSync(path).mode & 0o777).toBe(0o600)
    const again = await Effect.runPromise(loadOrCreateServerKey(path))
    expect(again.created).toBe(false)
    expect(serverPublicKey(again.seed)).toBe(serverPublicKey(first.seed))
  })
})

describe("the voting service's backup", () => {
  it("restores every row into an empty store, and refuses a store that holds tickets", async () => {
    const s = await startTestService({ network: SIMNET })
    try {
      await s.poll()
      const staker = makeStaker("a", SIMNET)
      const t = staker.ticket(10_000_000_000n)
      const quoteBody = JSON.stringify({ timestamp: 1, tickethash: t.ticketHash, tickethex: t.ticketHex, parenthex: t.parentHex })
      const quote = await s.post("feeaddress", quoteBody, staker.sign(quoteBody))
      const payBody = JSON.stringify({
        timestamp: 2,
        tickethash: t.ticketHash,
        feetx: feeTx(String(quote.json.feeaddress), BigInt(Number(quote.json.feeamount)), SIMNET),
        votingkey: staker.votingWif,
        votechoices: { autorevocations: "yes" },
        tspendpolicy: {},
        treasurypolicy: {},
      })
      expect((await s.post("payfee", payBody, staker.sign(payBody))).status).toBe(200)
      const lines = await s.snapshot()
      expect(lines.filter((l) => l.includes('"table":"vsp_tickets"'))).toHaveLength(1)
      expect(lines.filter((l) => l.includes('"table":"vsp_vote_changes"'))).toHaveLength(1)

      const copy = await Effect.runPromise(
        Effect.gen(function* () {
          yield* restoreVsp(lines)
          const out: Array<string> = []
          yield* backupVsp((line) => Effect.sync(() => void out.push(line)))
          const twice = yield* Effect.flip(restoreVsp(lines))
          return { out, twice: twice.message }
        }).pipe(Effect.provide(Layer.fresh(memoryStore)), Effect.scoped),
      )
      expect(copy.out).toEqual(lines)
      expect(copy.twice).toContain("already holds voting service data")
    } finally {
      await s.close()
    }
  })
})

const pg = await postgresForTests()
afterAll(() => ("skip" in pg ? undefined : pg.stop()))

describe.skipIf("skip" in pg)("the voting service on a PostgreSQL server", () => {
  it("two payfees for one ticket at once: one is taken, the other refused as fee already received; concurrent quotes get distinct fee addresses", async () => {
    if ("skip" in pg) return
    const s = await startTestService({ network: SIMNET, store: PgClient.layer({ url: Redacted.make(pg.url) }) })
    try {
      await s.poll()
      const stakers = Array.from({ length: 6 }, (_, i) => makeStaker(`pg ${i}`, SIMNET))
      const quotes = await Promise.all(
        stakers.map(async (staker) => {
          const t = staker.ticket(10_000_000_000n)
          const body = JSON.stringify({ timestamp: 1, tickethash: t.ticketHash, tickethex: t.ticketHex, parenthex: t.parentHex })
          const reply = await s.post("feeaddress", body, staker.sign(body))
          expect(reply.status, reply.text).toBe(200)
          return { staker, t, address: String(reply.json.feeaddress), amount: BigInt(Number(reply.json.feeamount)) }
        }),
      )
      expect(new Set(quotes.map((q) => q.address)).size).toBe(quotes.length)
      const q = quotes[0]!
      const pay = (payer: string) => {
        const body = JSON.stringify({
          timestamp: 2,
          tickethash: q.t.ticketHash,
          feetx: feeTx(q.address, q.amount, SIMNET, payer),
          votingkey: q.staker.votingWif,
          votechoices: {},
          tspendpolicy: {},
          treasurypolicy: {},
        })
        return s.post("payfee", body, q.staker.sign(body))
      }
      const replies = await Promise.all([pay("first"), pay("second"), pay("third")])
      expect(replies.map((r) => r.status).sort()).toEqual([200, 400, 400])
      expect(replies.filter((r) => r.status === 400).map((r) => r.json.code)).toEqual([3, 3])
      const rows = (await s.snapshot()).filter((l) => l.includes('"table":"vsp_tickets"') && l.includes(q.t.ticketHash))
      expect(rows).toHaveLength(1)
      expect(rows[0]).toContain('"received"')
    } finally {
      await s.close()
    }
  })
})
