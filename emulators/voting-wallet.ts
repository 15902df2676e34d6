import { Effect } from "effect"
import { blake256Hash } from "../core/chain/hash.ts"
import type { RpcHandler, RpcOutcome, RpcValue } from "./json-rpc-server.ts"
import type { SimRandom } from "./random.ts"

/** What the wallet's own dcrd tells it. */
interface VotingWalletChain {
  bestBlock(): { readonly hash: string; readonly height: number }
  /** A main-chain block's height, undefined when its dcrd does not know the block. */
  heightOf(blockHash: string): number | undefined
}

/**
 * One of a voting service's voting wallets, as its JSON-RPC shows it: a dcrwallet started with
 * `--enablevoting --manualtickets`, which votes exactly the tickets it was given (a key with
 * `importprivkey`, the ticket with `addtransaction`) with the choices it was told
 * (`setvotechoice`, `settreasurypolicy`, `settspendpolicy`). It runs or not; a restart loses
 * everything it was given (the fault the service's consistency check repairs), and a stopped
 * one is not there to call (`route` gives no handler).
 *
 * Stand-in: the simulated chain has no serialized transactions, so a ticket travels as
 * stand-in bytes (`standInTicket`) that name the voting key where a real ticket's first output
 * names the voting address; its hash is read from them as dcrwallet reads a prefix-only
 * serialization's: BLAKE-256 of the bytes, shown byte-reversed. As with dcrwallet, a ticket
 * votes only when its key was imported too.
 *
 * Reads as dcrwallet 2.1.5 answers them: `gettickets true` (every ticket held: the emulator
 * never sees one spent, so none drops out), `getvotechoices <ticket>` (every agenda of its vote
 * version, "abstain" where unset), `treasurypolicy`, `tspendpolicy`. No `ticketinfo`: the
 * voting service must not call it (see wallet/vsp/fleet.ts), so calling it fails loudly here.
 */
export class VotingWalletEmulator {
  readonly name: string
  private readonly chain: VotingWalletChain
  /** The agenda ids of its vote version, as dcrwallet's CurrentAgendas gives them. */
  private readonly agendas: ReadonlyArray<string>
  private up = true
  /** Restarts so far (each one emptied it). */
  restarts = 0
  private readonly keys = new Set<string>()
  /** Ticket hash -> the key it votes with. */
  private readonly tickets = new Map<string, { readonly votingKey: string }>()
  /** `${ticket}/${agenda}` -> choice. */
  private readonly choices = new Map<string, string>()
  /** `${ticket}/${treasury key}` -> yes / no / abstain. */
  private readonly treasury = new Map<string, string>()
  /** `${ticket}/${tspend hash}` -> yes / no / abstain. */
  private readonly tspend = new Map<string, string>()
  /** Every call answered, in order: what a test checks the client sent. */
  readonly calls: Array<{ readonly method: string; readonly params: ReadonlyArray<unknown> }> = []

  constructor(options: { readonly name: string; readonly chain: VotingWalletChain; readonly agendas: ReadonlyArray<string> }) {
    this.name = options.name
    this.chain = options.chain
    this.agendas = options.agendas
  }

  get running(): boolean {
    return this.up
  }

  /** Stops it (calls find nothing listening) or starts it again, empty, as a wallet restarted on a fresh disk is. */
  setRunning(running: boolean): void {
    if (running && !this.up) {
      this.keys.clear()
      this.tickets.clear()
      this.choices.clear()
      this.treasury.clear()
      this.tspend.clear()
      this.restarts++
    }
    this.up = running
  }

  /** Whether it would vote the ticket if called now: running, holding the ticket and its key. */
  canVote(ticketHash: string): boolean {
    const ticket = this.tickets.get(ticketHash)
    return this.up && ticket !== undefined && this.keys.has(ticket.votingKey)
  }

  /** The tickets it holds (display hex). */
  heldTickets(): ReadonlyArray<string> {
    return [...this.tickets.keys()]
  }

  /** A ticket's agenda choice as it holds it. */
  choiceOf(ticketHash: string, agenda: string): string | undefined {
    return this.choices.get(`${ticketHash}/${agenda}`)
  }

  /** Changes a choice behind the service's back (an operator's `setvotechoice`): the drift the check repairs. */
  driftChoice(ticketHash: string, agenda: string, choice: string): void {
    this.choices.set(`${ticketHash}/${agenda}`, choice)
  }

  readonly handle: RpcHandler = (method, params) =>
    Effect.sync(() => {
      this.calls.push({ method, params })
      return this.answer(method, params)
    })

  private answer(method: string, params: ReadonlyArray<unknown>): RpcOutcome {
    const str = (i: number) => (typeof params[i] === "string" ? (params[i] as string) : undefined)
    switch (method) {
      case "walletinfo":
        return ok({ daemonconnected: true, spv: false, unlocked: true, voting: true, voteversion: VOTE_VERSION, manualtickets: true, vsp: "" })
      case "getbestblock": {
        const best = this.chain.bestBlock()
        return ok({ hash: best.hash, height: best.height })
      }
      case "importprivkey": {
        const wif = str(0)
        if (wif === undefined || wif === "") return refuse(-5, "WIF decode failed")
        // dcrwallet: the label names the account, and keys go only to the imported one.
        if (params[1] !== undefined && params[1] !== null && params[1] !== "imported") return refuse(-4, "only the imported account accepts private keys")
        // A rescan is not an error to dcrwallet, but a voting service never needs one: refused
        // here so that a client asking for it is caught (the default is true).
        if (params[2] !== false) return refuse(-8, "this emulator refuses rescans: pass rescan false")
        this.keys.add(wif)
        return ok(null)
      }
      case "addtransaction": {
        const blockHash = str(0)
        const tx = str(1)
        if (blockHash === undefined || !/^[0-9a-f]{64}$/.test(blockHash)) return refuse(-22, "block hash is not 32 bytes of hex")
        const votingKey = tx === undefined ? undefined : votingKeyOf(tx)
        if (tx === undefined || votingKey === undefined) return refuse(-22, "the transaction does not decode as a (stand-in) ticket")
        if (this.chain.heightOf(blockHash) === undefined) return refuse(-5, `block ${blockHash} not found`)
        this.tickets.set(ticketHashOf(tx), { votingKey })
        return ok(null)
      }
      case "gettickets":
        // dcrwallet leaves out immature tickets without the flag; the voting service always
        // passes it (a ticket is handed over when mined, long before it matures).
        if (params[0] !== true) return refuse(-8, "this emulator answers only gettickets true (immature tickets included)")
        return ok({ hashes: [...this.tickets.keys()] })
      case "setvotechoice":
      case "settreasurypolicy":
      case "settspendpolicy": {
        const [id, value, ticket] = [str(0), str(1), str(2)]
        if (id === undefined || value === undefined || ticket === undefined) return refuse(-8, `${method} needs three strings here (the voting service always names the ticket)`)
        // As dcrwallet's setvotechoice refuses (errors.NotExist, errors.Invalid: code -4); the policies likewise here.
        if (!this.tickets.has(ticket)) return refuse(-4, `ticket not found`)
        if (method === "setvotechoice" && !this.agendas.includes(id)) return refuse(-4, `no agenda with ID "${id}"`)
        if (method !== "setvotechoice" && !["yes", "no", "abstain"].includes(value)) return refuse(-8, `unknown policy ${value}`)
        const table = method === "setvotechoice" ? this.choices : method === "settreasurypolicy" ? this.treasury : this.tspend
        table.set(`${ticket}/${id}`, value)
        return ok(null)
      }
      case "getvotechoices": {
        // Without a ticket dcrwallet gives its defaults; the voting service always names one.
        const ticket = str(0)
        if (ticket === undefined || ticket === "") return refuse(-8, "this emulator answers getvotechoices for a ticket only")
        if (!this.tickets.has(ticket)) return refuse(-4, "ticket not found")
        return ok({ version: VOTE_VERSION, choices: this.agendas.map((agendaid) => ({ agendaid, choiceid: this.choices.get(`${ticket}/${agendaid}`) ?? "abstain" })) })
      }
      case "treasurypolicy": {
        const [key, ticket] = [str(0), str(1)]
        if (key !== undefined && key !== "") return ok({ key, policy: this.treasury.get(`${ticket}/${key}`) ?? "abstain", ticket })
        // dcrwallet lists an abstain as "" (only yes and no are spelled out).
        return ok([...this.treasury].map(([k, policy]) => ({ key: k.slice(65), policy: policy === "abstain" ? "" : policy, ticket: k.slice(0, 64) })))
      }
      case "tspendpolicy": {
        const [hash, ticket] = [str(0), str(1)]
        if (hash === undefined || hash === "") return ok([])
        return ok({ hash, policy: this.tspend.get(`${ticket}/${hash}`) ?? "abstain", ticket })
      }
      default:
        return refuse(-32601, "Method not found")
    }
  }
}

/** The stake version it votes with (walletinfo's voteversion, getvotechoices' version). */
const VOTE_VERSION = 11

const ok = (result: RpcValue): RpcOutcome => ({ result })
const refuse = (code: number, message: string): RpcOutcome => ({ error: { code, message } })

const STAND_IN = "sim-ticket "

/** A simulated ticket's stand-in transaction (hex): its id and the WIF of its voting key. */
export const standInTicket = (id: string, votingKeyWif: string): string => Buffer.from(`${STAND_IN}${id} ${votingKeyWif}`, "utf8").toString("hex")

const votingKeyOf = (txHex: string): string | undefined => {
  if (!/^([0-9a-f]{2})+$/.test(txHex)) return undefined
  const text = Buffer.from(txHex, "hex").toString("utf8")
  const parts = text.startsWith(STAND_IN) ? text.slice(STAND_IN.length).split(" ") : []
  return parts.length === 2 && parts[1] !== "" ? parts[1] : undefined
}

/** A ticket's hash from its bytes as given: BLAKE-256, byte-reversed display hex (see the stand-in above). */
export const ticketHashOf = (txHex: string): string =>
  Buffer.from(blake256Hash(Buffer.from(txHex, "hex")))
    .reverse()
    .toString("hex")

/**
 * A voting server's up/down schedule by block height, drawn from `random`: up for an
 * exponential number of blocks (mean `meanBlocksUp`), then down for one (mean
 * `meanBlocksDown`, at least one block), and so on; up until `from`. Lazily extended and
 * memoised, so it answers the same whatever order heights are asked in.
 */
export const drawUpSchedule = (random: SimRandom, options: { readonly from: number; readonly meanBlocksUp: number; readonly meanBlocksDown: number }): ((height: number) => boolean) => {
  /** Outages as [first, last] heights, in order. */
  const outages: Array<readonly [number, number]> = []
  let drawnTo = options.from
  const extendTo = (height: number) => {
    while (drawnTo < height) {
      const first = drawnTo + 1 + Math.round(random.exponential(options.meanBlocksUp))
      const last = first + Math.max(0, Math.round(random.exponential(options.meanBlocksDown)) - 1)
      outages.push([first, last])
      drawnTo = last
    }
  }
  return (height) => {
    extendTo(height)
    return !outages.some(([first, last]) => height >= first && height <= last)
  }
}
