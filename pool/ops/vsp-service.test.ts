import { Effect, Layer } from "effect"
import { mkdtempSync, rmSync, statSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterEach, describe, expect, it } from "vitest"
import { SIMNET } from "../../core/chain/params.ts"
import { serverPublicKey } from "../../core/vsp/server-key.ts"
import { feeTx, makeStaker, memoryStore, startTestService } from "../../testkit/vsp.ts"
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
