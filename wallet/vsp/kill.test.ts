import { type ChildProcess, spawn } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { SIMNET } from "../../core/chain/params.ts"
import { feeTx, makeStaker } from "../../testkit/vsp.ts"
import { VspErrorCode } from "./api-types.ts"

/**
 * Crash safety with a real process: the voting service (testkit/vsp-child.ts, the production
 * assembly on the embedded store) is killed with SIGKILL while stakers' requests are in flight,
 * then started again on the same files. Checked: every fee it answered as received is still
 * received and is never taken a second time; every ticket it quoted is still known with its
 * address; no fee address is handed out twice, before or after the kill.
 */
const CHILD = join(import.meta.dirname, "..", "..", "testkit", "vsp-child.ts")
const network = SIMNET
const dirs: Array<string> = []
const children: Array<ChildProcess> = []
afterAll(() => {
  for (const c of children) c.kill("SIGKILL")
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

const startChild = (dir: string) =>
  new Promise<{ readonly url: string; readonly child: ChildProcess }>((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, dir], { stdio: ["ignore", "pipe", "pipe"] })
    children.push(child)
    let out = ""
    let err = ""
    child.stdout.on("data", (b: Buffer) => {
      out += b.toString()
      const ready = /^ready (\S+)$/m.exec(out)
      if (ready !== null) resolve({ url: ready[1]!, child })
    })
    child.stderr.on("data", (b: Buffer) => (err += b.toString()))
    child.on("exit", (code, signal) => reject(new Error(`the service exited (${code ?? signal}) before it was ready: ${err.slice(-2000)}`)))
  })

const kill = (child: ChildProcess) =>
  new Promise<void>((resolve) => {
    child.once("exit", () => resolve())
    child.kill("SIGKILL")
  })

interface Answer {
  readonly status: number
  readonly json: Record<string, unknown>
}

const post = async (url: string, path: string, body: string, signature: string): Promise<Answer | undefined> => {
  try {
    const res = await fetch(`${url}/api/v3/${path}`, { method: "POST", body, headers: { "VSP-Client-Signature": signature } })
    return { status: res.status, json: (await res.json()) as Record<string, unknown> }
  } catch {
    // The service was killed before it answered: the request's fate is what the store says.
    return undefined
  }
}

describe("the voting service killed with SIGKILL mid-request", () => {
  it.each([150, 400])(
    "keeps every fee it took and every ticket it quoted, takes no fee twice and reuses no fee address (killed %i ms into the requests)",
    async (killAfterMs) => {
      const dir = mkdtempSync(join(tmpdir(), "dcrforge-vsp-kill-"))
      dirs.push(dir)
      const stakers = Array.from({ length: 12 }, (_, i) => makeStaker(`kill ${i}`, network))
      const tickets = stakers.map((s) => s.ticket(10_000_000_000n))
      const quotes = new Map<string, { address: string; amount: bigint }>()
      const feesTaken = new Set<string>()
      const handedOut = new Set<string>()

      const first = await startChild(dir)
      // Every staker asks for a fee address and pays it at once; the service dies in the middle.
      const inFlight = stakers.map(async (staker, i) => {
        const t = tickets[i]!
        const quoteBody = JSON.stringify({ timestamp: 1, tickethash: t.ticketHash, tickethex: t.ticketHex, parenthex: t.parentHex })
        const quote = await post(first.url, "feeaddress", quoteBody, staker.sign(quoteBody))
        if (quote?.status !== 200) return
        const address = String(quote.json.feeaddress)
        const amount = BigInt(Number(quote.json.feeamount))
        quotes.set(t.ticketHash, { address, amount })
        handedOut.add(address)
        const payBody = JSON.stringify({
          timestamp: 2,
          tickethash: t.ticketHash,
          feetx: feeTx(address, amount, network),
          votingkey: staker.votingWif,
          votechoices: {},
          tspendpolicy: {},
          treasurypolicy: {},
        })
        const paid = await post(first.url, "payfee", payBody, staker.sign(payBody))
        if (paid?.status === 200) feesTaken.add(t.ticketHash)
      })
      // Let some requests finish, then kill while others are in flight.
      await Promise.race([Promise.all(inFlight), new Promise((resolve) => setTimeout(resolve, killAfterMs))])
      await kill(first.child)
      await Promise.all(inFlight)

      const second = await startChild(dir)
      for (const [i, staker] of stakers.entries()) {
        const t = tickets[i]!
        const statusBody = JSON.stringify({ tickethash: t.ticketHash })
        const status = await post(second.url, "ticketstatus", statusBody, staker.sign(statusBody))
        const quote = quotes.get(t.ticketHash)
        if (quote !== undefined) expect(status?.status, `ticket ${i} was quoted before the kill`).toBe(200)
        if (feesTaken.has(t.ticketHash)) {
          expect(status?.json.feetxstatus, `ticket ${i}'s fee was taken before the kill`).toBe("received")
          const again = JSON.stringify({
            timestamp: 3,
            tickethash: t.ticketHash,
            feetx: feeTx(quote!.address, quote!.amount, network, "again"),
            votingkey: staker.votingWif,
            votechoices: {},
            tspendpolicy: {},
            treasurypolicy: {},
          })
          expect((await post(second.url, "payfee", again, staker.sign(again)))?.json.code).toBe(VspErrorCode.FeeAlreadyReceived)
        }
        // Every staker finishes after the restart: quotes keep their address, new ones get new addresses.
        const quoteBody = JSON.stringify({ timestamp: 4, tickethash: t.ticketHash, tickethex: t.ticketHex, parenthex: t.parentHex })
        const requote = await post(second.url, "feeaddress", quoteBody, staker.sign(quoteBody))
        if (status?.json.feetxstatus === "received") {
          expect(requote?.json.code).toBe(VspErrorCode.FeeAlreadyReceived)
          continue
        }
        expect(requote?.status).toBe(200)
        const address = String(requote?.json.feeaddress)
        if (quote !== undefined) expect(address, `ticket ${i} keeps its quoted address`).toBe(quote.address)
        else {
          expect(handedOut.has(address), `ticket ${i}'s new address was never handed out before`).toBe(false)
          handedOut.add(address)
        }
      }
      expect(handedOut.size).toBe(stakers.length)
      await kill(second.child)
    },
    60_000,
  )
})
