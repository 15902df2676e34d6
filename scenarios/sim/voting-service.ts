import { Effect, Redacted } from "effect"
import type { SimDcrd, SimStaker } from "../../emulators/dcrd.ts"
import { memoryPost } from "../../emulators/json-rpc-server.ts"
import type { SimRandom } from "../../emulators/random.ts"
import { drawUpSchedule, standInTicket, ticketHashOf, VotingWalletEmulator } from "../../emulators/voting-wallet.ts"
import { makeJsonRpcCall } from "../../wallet/json-rpc.ts"
import { makeVotingFleet } from "../../wallet/vsp/fleet.ts"
import type { FleetRepair, VotableTicket } from "../../wallet/vsp/fleet-port.ts"

/** A voting service in the simulated world: one staker's tickets are registered with it. */
export interface VotingServiceOptions {
  /** The staker whose tickets the service votes. */
  readonly owner: string
  readonly ticketsPerBlock?: number | undefined
  /**
   * Each voting server's schedule (running when the tickets of a block height are called), or
   * how many servers to draw schedules for from the seed.
   */
  readonly servers: number | ReadonlyArray<(height: number) => boolean>
}

/** A voting server that came back empty, and what it lacked once the pass that followed was done. */
interface VotingServerRestart {
  readonly server: string
  /** The height of the first call it is back for. */
  readonly height: number
  /** Tickets registered with the service at that pass. */
  readonly registered: number
  /** Of those, the ones it still could not vote after the pass. */
  readonly missing: number
}

export interface SimVotingService {
  readonly owner: string
  readonly servers: ReadonlyArray<VotingWalletEmulator>
  /** For the simulated dcrd: the service votes a ticket when a running server holds it. */
  readonly staker: SimStaker
  /**
   * What the service does on a new tip, run by `advance` after each step: the servers take
   * their state for the next call (one coming back restarts empty), then the fleet's
   * consistency check gives every running server every registered ticket.
   */
  readonly afterStep: Effect.Effect<void>
  /** Whether each server was running when the tickets of `height` were last called; undefined before the service's first pass. */
  runningAtCall(height: number): ReadonlyArray<boolean> | undefined
  readonly restarts: ReadonlyArray<VotingServerRestart>
}

/** A simulated ticket's voting key: the world has no keys, only a WIF-shaped name per ticket. */
const votingKeyOf = (ticketId: string) => `PsSimVotingKey${ticketId.slice(0, 24)}`

/**
 * The world's voting service: emulated voting wallets, and the production `VotingFleet`
 * (wallet/vsp/fleet.ts) reaching them through the real JSON-RPC client over `memoryPost`: the
 * same calls, replies and repair logic as against real dcrwallets, in virtual time. The node
 * is attached once it exists (the staker must be given to it first).
 *
 * Before the service's first pass (the bootstrapped history and the first tip's call) its
 * tickets vote: that history is not the run's to model.
 */
export const makeSimVotingService = (options: VotingServiceOptions, random: SimRandom, from: number, log: (line: string) => void) => {
  let node: SimDcrd | undefined
  const dcrd = () => {
    if (node === undefined) throw new Error("the voting service's node is attached after the simulated dcrd is built")
    return node
  }
  const schedules =
    typeof options.servers === "number" ? Array.from({ length: options.servers }, (_, i) => drawUpSchedule(random.fork(`server/${i}`), { from, meanBlocksUp: 40, meanBlocksDown: 6 })) : options.servers
  const chain = {
    bestBlock: () => ({ hash: dcrd().tipHash(), height: dcrd().height() }),
    heightOf: (hash: string) => {
      const block = dcrd().block(hash)
      return block?.onMainChain === true ? block.height : undefined
    },
  }
  const servers = schedules.map((_, i) => new VotingWalletEmulator({ name: `voting-server-${i}`, chain, agendas: ["sim-agenda"] }))
  const byUrl = new Map(servers.map((s) => [`http://${s.name}`, s]))
  const post = memoryPost((url) => {
    const server = byUrl.get(url)
    return server?.running === true ? server.handle : undefined
  })
  const fleet = makeVotingFleet(
    [...byUrl].map(([url, server]) => ({
      name: server.name,
      call: makeJsonRpcCall({ url, user: "vsp", password: Redacted.make("vsp"), requestTimeoutMillis: 5_000 }, post, { server: server.name }),
    })),
    { walletTimeoutMillis: 5_000 },
  )

  /** What the service registered for each ticket (its stand-in, hash, key and choice), made once. */
  const registered = new Map<string, Omit<VotableTicket, "blockHash" | "blockHeight">>()
  const choices = random.fork("choices")
  const registration = (id: string) => {
    let r = registered.get(id)
    if (r === undefined) {
      const wif = votingKeyOf(id)
      const ticketHex = standInTicket(id, wif)
      r = { hash: ticketHashOf(ticketHex), ticketHex, votingKeyWif: wif, voteChoices: { "sim-agenda": choices.chance(0.5) ? "yes" : "no" }, treasuryPolicy: {}, tspendPolicy: {} }
      registered.set(id, r)
    }
    return r
  }
  /** The service's tickets a voting wallet must hold: mined and not yet spent (immature or live). */
  const votable = (): Array<VotableTicket> => {
    const out: Array<VotableTicket> = []
    for (const t of dcrd().model.allTickets()) {
      if (t.purchase.owner !== options.owner || (t.status !== "immature" && t.status !== "live") || t.minedAt === undefined) continue
      const block = dcrd().blockAt(t.minedAt)
      if (block !== undefined) out.push({ ...registration(t.id), blockHash: block.hash })
    }
    return out
  }

  const runningAt = new Map<number, ReadonlyArray<boolean>>()
  const restarts: Array<VotingServerRestart> = []
  let started = false
  let seenTip = ""

  const describe = (r: FleetRepair) => `${r.wallet} ${r.error === undefined ? `+${r.added} fixed ${r.choicesFixed}` : "unreachable"}`

  const service: SimVotingService = {
    owner: options.owner,
    servers,
    staker: {
      owner: options.owner,
      ...(options.ticketsPerBlock === undefined ? {} : { ticketsPerBlock: options.ticketsPerBlock }),
      canVote: (height, ticket) => {
        if (!started) return true
        runningAt.set(
          height,
          servers.map((s) => s.running),
        )
        const hash = registered.get(ticket)?.hash
        return hash !== undefined && servers.some((s) => s.canVote(hash))
      },
    },
    afterStep: Effect.suspend(() => {
      if (dcrd().tipHash() === seenTip) return Effect.void
      seenTip = dcrd().tipHash()
      // The call this tip made is done; the next one is for the block after the next.
      const next = dcrd().height() + 2
      const booted = servers.filter((s, i) => {
        const wasRunning = s.running
        s.setRunning(schedules[i]!(next))
        return s.running && (!wasRunning || !started)
      })
      const tickets = votable()
      return Effect.map(fleet.reconcile(tickets), (repairs) => {
        started = true
        for (const s of booted) restarts.push({ server: s.name, height: next, registered: tickets.length, missing: tickets.filter((t) => !s.canVote(t.hash)).length })
        if (repairs.some((r) => r.added > 0 || r.choicesFixed > 0 || r.error !== undefined)) log(`vsp pass at ${dcrd().height()}: ${repairs.map(describe).join("; ")}`)
      })
    }),
    runningAtCall: (height) => runningAt.get(height),
    restarts,
  }
  return { service, attach: (d: SimDcrd) => void (node = d) }
}
