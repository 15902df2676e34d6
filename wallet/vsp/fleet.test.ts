import { Effect, Redacted } from "effect"
import { describe, expect, it } from "vitest"
import { memoryPost, serveJsonRpc, type RpcHandler } from "../../emulators/json-rpc-server.ts"
import { standInTicket, ticketHashOf, VotingWalletEmulator } from "../../emulators/voting-wallet.ts"
import { makeJsonRpcCall } from "../json-rpc.ts"
import { makeVotingFleet, votingFleetLayer, type VotingWalletConnection } from "./fleet.ts"
import { VotingFleet, type VotableTicket } from "./fleet-port.ts"

const BLOCK = "ab".repeat(32)
const chain = { bestBlock: () => ({ hash: BLOCK, height: 120 }), heightOf: (hash: string) => (hash === BLOCK ? 100 : undefined) }

const TREASURY_KEY = "03f6e7041f1cf51ee10e0a01cd2b0385ce3cd9debaabb2296f7e9dee9329da946c"
const TSPEND = "cd".repeat(32)

/** A ticket as the service hands it over: stand-in transaction, its hash, a key, choices and policies. */
const ticket = (i: number): VotableTicket => {
  const wif = `PsTestVotingKey${i}`
  const ticketHex = standInTicket(`ticket-${i}`, wif)
  return {
    hash: ticketHashOf(ticketHex),
    ticketHex,
    blockHash: BLOCK,
    votingKeyWif: wif,
    voteChoices: { maxblocksize: i % 2 === 0 ? "yes" : "no", blake3pow: "yes" },
    treasuryPolicy: { [TREASURY_KEY]: "no" },
    tspendPolicy: { [TSPEND]: "yes" },
  }
}

/** The agendas of the emulated wallets' vote version. */
const AGENDAS = ["maxblocksize", "blake3pow"]
const emulators = (n: number) => Array.from({ length: n }, (_, i) => new VotingWalletEmulator({ name: `voter-${i}`, chain, agendas: AGENDAS }))

/** The fleet over emulated wallets through the real JSON-RPC client, without sockets: a stopped wallet refuses the connection. */
const fleetOver = (wallets: ReadonlyArray<VotingWalletEmulator>, handlers: Record<string, RpcHandler> = {}, choiceChecksPerPass?: number) => {
  const byUrl = new Map(wallets.map((w) => [`http://${w.name}`, w]))
  const post = memoryPost((url) => {
    const w = byUrl.get(url)
    return w === undefined ? handlers[url] : w.running ? w.handle : undefined
  })
  const connections: Array<VotingWalletConnection> = [...byUrl.keys(), ...Object.keys(handlers)].map((url) => ({
    name: url.slice("http://".length),
    call: makeJsonRpcCall({ url, user: "u", password: Redacted.make("p"), requestTimeoutMillis: 10_000 }, post, { server: url }),
  }))
  return makeVotingFleet(connections, choiceChecksPerPass === undefined ? { walletTimeoutMillis: 200 } : { walletTimeoutMillis: 200, choiceChecksPerPass })
}

const run = <A, E>(effect: Effect.Effect<A, E>) => Effect.runPromise(effect)
const callsOf = (w: VotingWalletEmulator, method: string) => w.calls.filter((c) => c.method === method)

describe("the voting fleet over voting wallets' JSON-RPC", () => {
  it("gives every wallet a new ticket's key (imported without a rescan), its transaction under its block, and every choice and policy", async () => {
    const wallets = emulators(3)
    const t = ticket(1)
    await run(fleetOver(wallets).addTicket(t))
    for (const w of wallets) {
      expect(w.canVote(t.hash), w.name).toBe(true)
      expect(callsOf(w, "importprivkey").map((c) => c.params)).toEqual([[t.votingKeyWif, "imported", false, 0]])
      expect(callsOf(w, "addtransaction").map((c) => c.params)).toEqual([[BLOCK, t.ticketHex]])
      expect(w.choiceOf(t.hash, "maxblocksize")).toBe("no")
      expect(callsOf(w, "settreasurypolicy").map((c) => c.params)).toEqual([[TREASURY_KEY, "no", t.hash]])
      expect(callsOf(w, "settspendpolicy").map((c) => c.params)).toEqual([[TSPEND, "yes", t.hash]])
    }
  })

  it("gives a wallet restarted empty every ticket back in one reconcile, and leaves the others alone", async () => {
    const wallets = emulators(3)
    const fleet = fleetOver(wallets)
    const tickets = Array.from({ length: 6 }, (_, i) => ticket(i))
    await run(fleet.reconcile(tickets))
    const [, restarted] = wallets as [VotingWalletEmulator, VotingWalletEmulator, VotingWalletEmulator]
    restarted.setRunning(false)
    restarted.setRunning(true)
    expect(restarted.heldTickets()).toEqual([])
    const repairs = await run(fleet.reconcile(tickets))
    expect(repairs).toEqual([
      { wallet: "voter-0", added: 0, choicesFixed: 0 },
      { wallet: "voter-1", added: 6, choicesFixed: 0 },
      { wallet: "voter-2", added: 0, choicesFixed: 0 },
    ])
    for (const t of tickets) expect(restarted.canVote(t.hash)).toBe(true)
    expect(restarted.choiceOf(tickets[3]!.hash, "maxblocksize")).toBe("no")
  })

  it("reports a wallet that is down, still gives the others the ticket, and gives it to the first once it is back", async () => {
    const wallets = emulators(3)
    const fleet = fleetOver(wallets)
    const [, down] = wallets as [VotingWalletEmulator, VotingWalletEmulator, VotingWalletEmulator]
    down.setRunning(false)
    const t = ticket(7)
    await run(fleet.addTicket(t))
    const repairs = await run(fleet.reconcile([t]))
    expect(repairs[1]).toMatchObject({ wallet: "voter-1", added: 0, choicesFixed: 0 })
    expect(repairs[1]!.error).toContain("connection refused")
    expect(wallets.filter((w) => w.canVote(t.hash)).map((w) => w.name)).toEqual(["voter-0", "voter-2"])
    const statuses = await run(fleet.status)
    expect(statuses.map((s) => s.connected)).toEqual([true, false, true])
    expect(statuses[0]).toEqual({ name: "voter-0", connected: true, unlocked: true, voting: true, voteVersion: 11, bestBlockHeight: 120 })
    expect(statuses[1]!.error).toContain("connection refused")
    down.setRunning(true)
    expect((await run(fleet.reconcile([t])))[1]).toEqual({ wallet: "voter-1", added: 1, choicesFixed: 0 })
    expect(down.canVote(t.hash)).toBe(true)
  })

  it("fails to add a ticket only when no wallet took it", async () => {
    const wallets = emulators(2)
    for (const w of wallets) w.setRunning(false)
    const failure = await run(Effect.flip(fleetOver(wallets).addTicket(ticket(2))))
    expect(failure._tag).toBe("VotingWalletUnavailable")
    expect(failure.message).toContain("voter-0")
    expect(failure.message).toContain("voter-1")
  })

  it("sets drifted agenda choices, treasury and tspend policies again, and only those", async () => {
    const wallets = emulators(2)
    const fleet = fleetOver(wallets)
    const tickets = [ticket(1), ticket(2)]
    await run(fleet.reconcile(tickets))
    const [w0, w1] = wallets as [VotingWalletEmulator, VotingWalletEmulator]
    const t = tickets[1]!
    w0.driftChoice(t.hash, "maxblocksize", "no")
    await run(w1.handle("settreasurypolicy", [TREASURY_KEY, "yes", t.hash]))
    await run(w1.handle("settspendpolicy", [TSPEND, "abstain", tickets[0]!.hash]))
    const before = [w0.calls.length, w1.calls.length]
    const repairs = await run(fleet.reconcile(tickets))
    expect(repairs).toEqual([
      { wallet: "voter-0", added: 0, choicesFixed: 1 },
      { wallet: "voter-1", added: 0, choicesFixed: 2 },
    ])
    expect(w0.choiceOf(t.hash, "maxblocksize")).toBe("yes")
    const writes = (w: VotingWalletEmulator, from: number) => w.calls.slice(from).filter((c) => c.method.startsWith("set"))
    expect(writes(w0, before[0]!).map((c) => c.params)).toEqual([["maxblocksize", "yes", t.hash]])
    expect(writes(w1, before[1]!).map((c) => c.params)).toEqual([
      [TSPEND, "yes", tickets[0]!.hash],
      [TREASURY_KEY, "no", t.hash],
    ])
  })

  it("never calls ticketinfo (nested database reads that can hang dcrwallet): adding, updating, repairing and status read only with one-view calls", async () => {
    const wallets = emulators(2)
    const fleet = fleetOver(wallets, {}, 2)
    const tickets = Array.from({ length: 5 }, (_, i) => ticket(i))
    await run(fleet.addTicket(tickets[0]!))
    await run(fleet.reconcile(tickets))
    await run(fleet.updateChoices(tickets[1]!))
    const [w0, w1] = wallets as [VotingWalletEmulator, VotingWalletEmulator]
    w0.setRunning(false)
    w0.setRunning(true)
    w1.driftChoice(tickets[2]!.hash, "blake3pow", "no")
    for (let pass = 0; pass < 3; pass++) await run(fleet.reconcile(tickets))
    await run(fleet.status)
    const reads = ["walletinfo", "getbestblock", "gettickets", "getvotechoices", "treasurypolicy", "tspendpolicy"]
    const writes = ["importprivkey", "addtransaction", "setvotechoice", "settreasurypolicy", "settspendpolicy"]
    for (const w of wallets) {
      expect(callsOf(w, "ticketinfo"), w.name).toEqual([])
      expect(new Set(w.calls.map((c) => c.method)), w.name).toEqual(new Set([...reads, ...writes]))
      expect(callsOf(w, "gettickets").every((c) => c.params[0] === true)).toBe(true)
    }
    // The wallet restarted empty and the drifted one were repaired with those calls alone.
    for (const t of tickets) for (const w of wallets) expect(w.canVote(t.hash)).toBe(true)
    expect(w1.choiceOf(tickets[2]!.hash, "blake3pow")).toBe("yes")
  })

  it("repairs drifted choices on every one of a wallet's N tickets within ceil(N / batch) passes, reading back at most a batch per pass", async () => {
    const [wallet] = emulators(1) as [VotingWalletEmulator]
    const batch = 3
    const fleet = fleetOver([wallet], {}, batch)
    const tickets = Array.from({ length: 10 }, (_, i) => ticket(i))
    await run(fleet.reconcile(tickets))
    // An operator changes every ticket's choice behind the service's back.
    for (const t of tickets) wallet.driftChoice(t.hash, "blake3pow", "no")
    const drifted = () => tickets.filter((t) => wallet.choiceOf(t.hash, "blake3pow") !== "yes").length
    const passes = Math.ceil(tickets.length / batch)
    const fixedPerPass: Array<number> = []
    for (let pass = 0; pass < passes; pass++) {
      const before = callsOf(wallet, "getvotechoices").length
      const [repair] = await run(fleet.reconcile(tickets))
      expect(callsOf(wallet, "getvotechoices").length - before).toBeLessThanOrEqual(batch)
      fixedPerPass.push(repair!.choicesFixed)
    }
    expect(drifted()).toBe(0)
    // Each pass fixed tickets no earlier pass had: 3, 3, 3, then the last one.
    expect(fixedPerPass).toEqual([3, 3, 3, 1])
  })

  it("imports a key once: a wallet that holds the ticket is never sent its key or transaction again", async () => {
    const wallets = emulators(2)
    const fleet = fleetOver(wallets)
    const tickets = [ticket(1), ticket(2), ticket(3)]
    await run(fleet.reconcile(tickets))
    await run(fleet.updateChoices(tickets[0]!))
    await run(fleet.reconcile(tickets))
    await run(fleet.addTicket(tickets[1]!))
    for (const w of wallets) {
      expect(callsOf(w, "importprivkey")).toHaveLength(3)
      expect(callsOf(w, "addtransaction")).toHaveLength(3)
    }
  })

  it("checks wallets at once, each within its time: ones that never answer are reported and hold up no other", async () => {
    const wallets = emulators(2)
    // Three wallets that take the request and never answer; when each was first asked.
    const askedAt: Array<number> = []
    const stuck: RpcHandler = () => Effect.sync(() => askedAt.push(performance.now())).pipe(Effect.andThen(Effect.never))
    const fleet = fleetOver(wallets, { "http://stuck-0": stuck, "http://stuck-1": stuck, "http://stuck-2": stuck })
    const repairs = await run(fleet.reconcile([ticket(1)]))
    expect(repairs.map((r) => [r.wallet, r.added])).toEqual([
      ["voter-0", 1],
      ["voter-1", 1],
      ["stuck-0", 0],
      ["stuck-1", 0],
      ["stuck-2", 0],
    ])
    for (const r of repairs.slice(2)) expect(r.error).toContain("no answer in 200 ms")
    // Asked together, not each after the one before timed out (that would put 200 ms between them).
    expect(askedAt).toHaveLength(3)
    expect(Math.max(...askedAt) - Math.min(...askedAt)).toBeLessThan(150)
  })

  it("the live layer speaks to a wallet over HTTP with its RPC user and password", async () => {
    const wallet = new VotingWalletEmulator({ name: "voter-http", chain, agendas: AGENDAS })
    const t = ticket(4)
    const statuses = await run(
      Effect.scoped(
        Effect.gen(function* () {
          const { port } = yield* serveJsonRpc({ host: "127.0.0.1", port: 0, user: "vsp", password: "secret", handle: wallet.handle })
          const endpoint = { name: "voter-http", url: `http://127.0.0.1:${port}`, user: "vsp", password: Redacted.make("secret"), requestTimeoutMillis: 5_000 }
          return yield* Effect.gen(function* () {
            const fleet = yield* VotingFleet
            yield* fleet.addTicket(t)
            return yield* fleet.status
          }).pipe(Effect.provide(votingFleetLayer([endpoint], { walletTimeoutMillis: 5_000 })))
        }),
      ),
    )
    expect(wallet.canVote(t.hash)).toBe(true)
    expect(statuses).toEqual([{ name: "voter-http", connected: true, unlocked: true, voting: true, voteVersion: 11, bestBlockHeight: 120 }])
  })
})
