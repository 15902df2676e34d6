import { Clock, Data, Effect, Ref, Result, Schema, Semaphore } from "effect"
import { chainActivations } from "../../core/chain/agendas.ts"
import type { NetworkParams } from "../../core/chain/params.ts"
import { encodeStdBase64 } from "../../core/vsp/base64.ts"
import { vspdCurrentFee } from "../../core/vsp/fee.ts"
import { serverPublicKey, signResponse } from "../../core/vsp/server-key.ts"
import {
  AckResponse,
  type ApiRefusal,
  ErrorResponse,
  FeeAddressRequest,
  FeeAddressResponse,
  httpStatusOf,
  PayFeeRequest,
  refusal,
  SetAltSignAddrRequest,
  SetVoteChoicesRequest,
  TicketCarrier,
  TicketHashOnly,
  TicketStatusRequest,
  TicketStatusResponse,
  VspErrorCode,
  VspInfoResponse,
} from "./api-types.ts"
import { type ChainTransaction, VspChain } from "./chain.ts"
import { altSignAddressProblem, isTxHash, nextFeeAddress, paidTo, parseTicket, parseTransaction, signedBy, votingKeyMatches, votingKeyProblem } from "./checks.ts"
import { VotingFleet } from "./fleet-port.ts"
import { VspStore, type VspTicket } from "./store.ts"
import { votableOf } from "./votable.ts"

/**
 * The vspd API v3 handlers, each as vspd runs it: the same middleware order (open check, ticket
 * broadcast, request signature, then the handler), the same refusals with the same codes, the
 * same stored effects. A refusal changes nothing stored: every write comes after the last check.
 * Every answer, refusals included, is signed with the service's Ed25519 key over its exact
 * body bytes (`VSP-Server-Signature`).
 */

/** The service's fixed settings. */
export interface VspSettings {
  readonly network: NetworkParams
  /** The fee as a percentage of the vote reward (vspd's default is 3). */
  readonly feePercent: number
  /** The Ed25519 seed of the service key (32 bytes). */
  readonly serverSeed: Uint8Array
  /** Confirmations the ticket, then the fee transaction, need (vspd: 6). */
  readonly requiredConfirmations: number
  /** How long a fee quote holds (vspd: 1 hour). */
  readonly quoteLifetimeMillis: number
  /** New tickets are refused while fewer voting wallets are online (2). */
  readonly minVotingWallets: number
  /** New tickets are refused while dcrd is more than this many blocks behind its peers. */
  readonly maxSyncLagBlocks: number
  /** Set by the operator: the service takes no new tickets, with this message. */
  readonly closedMessage: string | undefined
}

/** What the last block's pass saw, for the API's open check and vspinfo. */
export interface ServiceState {
  readonly tipHeight: number
  /** Why new tickets are refused now; undefined while the service is open. */
  readonly closedReason: string | undefined
  readonly walletsOnline: number
  readonly walletsTotal: number
  /** Live tickets at dcrd's tip, for vspinfo's share of the network. */
  readonly poolSize: number
  /** The newest vote version the online voting wallets vote with (0 when none is online): vote choices are checked against its agendas. */
  readonly voteVersion: number
}

/** An answer ready to send: the body bytes are the ones signed. */
export interface SignedReply {
  readonly status: number
  readonly body: string
  readonly signature: string
}

/** A POST as the handlers see it: the exact body (its bytes are what is signed and echoed) and the client's signature header. */
interface ApiRequest {
  readonly bytes: Uint8Array
  /** The body decoded as UTF-8, for the JSON parser. */
  readonly body: string
  readonly clientSignature: string | undefined
}

/** The fee xpub gives no next address (three invalid children in a row: a broken key). */
class FeeAddressUnavailable extends Data.TaggedError("FeeAddressUnavailable")<{ readonly reason: string }> {
  override get message(): string {
    return `cannot derive a fee address: ${this.reason}; check the configured fee xpub`
  }
}

/** vspd: a parent whose inputs dcrd does not know is tried again 7 times, a second apart, by at most 16 requests at once. */
const PARENT_ATTEMPTS = 7
const MAX_PARENT_WAITS = 16

const seconds = (ms: number) => Math.floor(ms / 1000)

const parseBody = <T, E>(schema: Schema.Codec<T, E>, body: string): Effect.Effect<T, ApiRefusal> => {
  let json: unknown
  try {
    json = JSON.parse(body)
  } catch (e) {
    return Effect.fail(refusal(VspErrorCode.BadRequest, `invalid JSON: ${e instanceof Error ? e.message : String(e)}`))
  }
  const decoded = Schema.decodeUnknownResult(schema)(json)
  return Result.isSuccess(decoded) ? Effect.succeed(decoded.success) : Effect.fail(refusal(VspErrorCode.BadRequest, decoded.failure.message))
}

const internal = (what: string) => (e: { readonly message: string }) => Effect.logError(`vsp: ${what}: ${e.message}`).pipe(Effect.andThen(Effect.fail(refusal(VspErrorCode.InternalError))))

export const makeVspApi = (settings: VspSettings, state: Ref.Ref<ServiceState>) =>
  Effect.gen(function* () {
    const chain = yield* VspChain
    const store = yield* VspStore
    const fleet = yield* VotingFleet
    const network = settings.network
    const pubKey = serverPublicKey(settings.serverSeed)
    const encoder = new TextEncoder()

    const sign = (status: number, body: string): SignedReply => ({ status, body, signature: signResponse(settings.serverSeed, encoder.encode(body)) })
    const ok = <T, E>(schema: Schema.Codec<T, E>, value: T): SignedReply => sign(200, JSON.stringify(Schema.encodeSync(schema)(value)))
    const refused = (r: ApiRefusal): SignedReply => sign(httpStatusOf(r.code), JSON.stringify(Schema.encodeSync(ErrorResponse)({ code: r.code, message: r.message })))
    const now = Clock.currentTimeMillis

    const parentWaits = yield* Semaphore.make(MAX_PARENT_WAITS)
    const chainTx = (hash: string) => chain.transaction(hash).pipe(Effect.catch(internal(`getrawtransaction ${hash}`)))
    const db = <A, E extends { readonly message: string }>(what: string, e: Effect.Effect<A, E>) => e.pipe(Effect.catch(internal(what)))

    // ---- middleware --------------------------------------------------------------------------

    /** vspMustBeOpen: closed by the operator, dcrd behind, or too few voting wallets. */
    const mustBeOpen = Effect.gen(function* () {
      if (settings.closedMessage !== undefined) return yield* Effect.fail(refusal(VspErrorCode.VspClosed))
      const s = yield* Ref.get(state)
      if (s.closedReason !== undefined) return yield* Effect.fail(refusal(VspErrorCode.VspClosed, `vsp is closed: ${s.closedReason}`))
    })

    /**
     * broadcastTicket: the ticket (and its parent, when dcrd lacks it) sent to dcrd, so a ticket
     * bought a moment ago is known before it is checked.
     */
    const broadcastTicket = (body: string) =>
      Effect.gen(function* () {
        const request = yield* parseBody(TicketCarrier, body)
        const ticket = parseTicket(request.tickethex, network)
        if (Result.isFailure(ticket)) return yield* Effect.fail(refusal(VspErrorCode.InvalidTicket))
        const ticketTx = parseTransaction(request.tickethex)
        if (Result.isFailure(ticketTx)) return yield* Effect.fail(refusal(VspErrorCode.InvalidTicket))
        if (ticket.success.hash !== request.tickethash) return yield* Effect.fail(refusal(VspErrorCode.BadRequest, "ticket hex does not match hash"))
        const parent = parseTransaction(request.parenthex)
        if (Result.isFailure(parent)) return yield* Effect.fail(refusal(VspErrorCode.BadRequest, "cannot decode parent hex"))
        if ((yield* chainTx(parent.success.hash)) === undefined) {
          if (!ticketTx.success.tx.inputs.some((i) => i.previousHash === parent.success.hash)) return yield* Effect.fail(refusal(VspErrorCode.BadRequest, "invalid ticket parent"))
          let sent = yield* chain.broadcast(request.parenthex).pipe(Effect.catch(internal("sendrawtransaction (parent)")))
          if (sent.kind === "orphan") {
            // The parent spends outputs this dcrd has not seen yet (still propagating): wait
            // for them as vspd does, a second at a time, 7 times, with at most 16 requests
            // waiting at once so a client cannot park the service on made-up parents.
            const waited = yield* parentWaits.withPermitsIfAvailable(1)(
              Effect.gen(function* () {
                for (let attempt = 0; attempt < PARENT_ATTEMPTS && sent.kind === "orphan"; attempt++) {
                  yield* Effect.sleep(1000)
                  sent = yield* chain.broadcast(request.parenthex).pipe(Effect.catch(internal("sendrawtransaction (parent)")))
                }
                return true
              }),
            )
            if (waited._tag === "None") yield* Effect.logWarning(`vsp: too many parents waiting; ticket ${request.tickethash} refused for now`)
          }
          if (sent.kind === "orphan" || sent.kind === "rejected") {
            yield* Effect.logWarning(`vsp: dcrd refused the parent of ticket ${request.tickethash}: ${sent.reason}`)
            return yield* Effect.fail(refusal(VspErrorCode.CannotBroadcastTicket))
          }
        }
        if ((yield* chainTx(request.tickethash)) === undefined) {
          const sent = yield* chain.broadcast(request.tickethex).pipe(Effect.catch(internal("sendrawtransaction (ticket)")))
          if (sent.kind === "orphan" || sent.kind === "rejected") {
            yield* Effect.logWarning(`vsp: dcrd refused ticket ${request.tickethash}: ${sent.reason}`)
            return yield* Effect.fail(refusal(VspErrorCode.CannotBroadcastTicket))
          }
        }
      })

    interface Authorized {
      readonly hash: string
      readonly known: VspTicket | undefined
      readonly commitmentAddress: string
    }

    /**
     * vspAuth: the ticket named, its commitment address (stored, or read from the chain), and the
     * body signed by that address or by the ticket's alternate signing address.
     */
    const authorize = (request: ApiRequest): Effect.Effect<Authorized, ApiRefusal> =>
      Effect.gen(function* () {
        const { tickethash: hash } = yield* parseBody(TicketHashOnly, request.body)
        if (!isTxHash(hash)) return yield* Effect.fail(refusal(VspErrorCode.BadRequest, "invalid ticket hash"))
        const known = yield* db("ticket lookup", store.ticket(hash))
        let commitmentAddress = known?.commitment_address
        if (commitmentAddress === undefined) {
          const tx = yield* chainTx(hash)
          // vspd answers an internal error here (its dcrd call failed); "unknown ticket" says what happened.
          if (tx === undefined) return yield* Effect.fail(refusal(VspErrorCode.UnknownTicket, "unknown ticket: dcrd has no such transaction"))
          const ticket = parseTicket(tx.hex, network)
          if (Result.isFailure(ticket)) return yield* Effect.fail(refusal(VspErrorCode.InvalidTicket))
          commitmentAddress = ticket.success.commitmentAddress
        }
        const signature = request.clientSignature
        if (signature === undefined || signature === "") return yield* Effect.fail(refusal(VspErrorCode.BadRequest, "no VSP-Client-Signature header"))
        if (!signedBy(commitmentAddress, signature, request.bytes, network)) {
          const alt = yield* db("alternate signing address lookup", store.altSignAddr(hash))
          if (alt === undefined || !signedBy(alt.address, signature, request.bytes, network)) return yield* Effect.fail(refusal(VspErrorCode.BadSignature))
        }
        return { hash, known, commitmentAddress }
      })

    /** vspd's canTicketVote: immature or live tickets can still vote; too old or spent ones cannot. */
    const canVote = (hash: string, tx: ChainTransaction) =>
      Effect.gen(function* () {
        if (tx.confirmations > network.ticketMaturity + network.ticketExpiry + 1) return false
        if (tx.confirmations <= network.ticketMaturity) return true
        return yield* chain.isLiveTicket(hash).pipe(Effect.catch(internal("existsliveticket")))
      })

    const onChainTicket = (hash: string) =>
      Effect.gen(function* () {
        const tx = yield* chainTx(hash)
        if (tx === undefined) return yield* Effect.fail(refusal(VspErrorCode.UnknownTicket, "unknown ticket: dcrd has no such transaction"))
        if (!(yield* canVote(hash, tx))) return yield* Effect.fail(refusal(VspErrorCode.TicketCannotVote))
        const facts = parseTicket(tx.hex, network)
        if (Result.isFailure(facts)) return yield* Effect.fail(refusal(VspErrorCode.InvalidTicket))
        return { tx, facts: facts.success }
      })

    /** The fee for a ticket bought now: vspd's quote (StakePoolTicketFee at dcrd's tip, vspd's subsidy-split heights). */
    const currentFee = Effect.gen(function* () {
      const tip = yield* chain.tip.pipe(Effect.catch(internal("tip")))
      const sync = yield* chain.sync.pipe(Effect.catch(internal("getblockchaininfo")))
      return vspdCurrentFee({
        bestBlockSBits: tip.stakeDifficulty,
        bestBlockHeight: tip.height,
        feePercent: settings.feePercent,
        network,
        activations: chainActivations(network.agendas, sync.activeSince),
      })
    })

    /**
     * vspd's validConsensusVoteChoices: every agenda is one of the vote version's and every
     * choice one of its agenda's, by dcrd's getvoteinfo for the voting wallets' vote version.
     * Undefined when they are, or when they cannot be checked (no wallet online, dcrd does not
     * answer or know the version): the voting wallets then refuse what they do not know.
     */
    const choicesProblem = (choices: Readonly<Record<string, string>>) =>
      Effect.gen(function* () {
        if (Object.keys(choices).length === 0) return undefined
        const { voteVersion } = yield* Ref.get(state)
        if (voteVersion === 0) return undefined
        const agendas = yield* chain.agendas(voteVersion).pipe(Effect.catch((e) => Effect.logWarning(`vsp: vote choices not checked: ${e.message}`).pipe(Effect.as(undefined))))
        if (agendas === undefined) return undefined
        for (const [agenda, choice] of Object.entries(choices)) {
          const known = agendas.find((a) => a.id === agenda)
          if (known === undefined) return `agenda ${JSON.stringify(agenda)} not found for vote version ${voteVersion}`
          if (!known.choices.includes(choice)) return `choice ${JSON.stringify(choice)} not found for agenda ${JSON.stringify(agenda)}`
        }
        return undefined
      })

    const feeReceived = (t: VspTicket | undefined) => t !== undefined && (t.fee_tx_status === "received" || t.fee_tx_status === "broadcast" || t.fee_tx_status === "confirmed")

    // ---- handlers ----------------------------------------------------------------------------

    const feeAddress = (request: ApiRequest) =>
      Effect.gen(function* () {
        yield* mustBeOpen
        yield* broadcastTicket(request.body)
        const auth = yield* authorize(request)
        yield* parseBody(FeeAddressRequest, request.body)
        if (feeReceived(auth.known)) return yield* Effect.fail(refusal(VspErrorCode.FeeAlreadyReceived))
        const { tx } = yield* onChainTicket(auth.hash)
        const nowMs = yield* now
        let ticket = auth.known
        if (ticket !== undefined && nowMs > ticket.fee_expiry_ms) {
          const fee = yield* currentFee
          const renewed = yield* db("renew quote", store.renewQuote(ticket.hash, fee, nowMs + settings.quoteLifetimeMillis, nowMs))
          if (renewed === undefined) return yield* Effect.fail(refusal(VspErrorCode.FeeAlreadyReceived))
          ticket = renewed
        }
        if (ticket === undefined) {
          const fee = yield* currentFee
          const confirmed = tx.confirmations >= settings.requiredConfirmations
          const quoted = yield* db(
            "quote",
            store.quoteNewTicket(
              {
                hash: auth.hash,
                ticketHex: tx.hex,
                commitmentAddress: auth.commitmentAddress,
                confirmed,
                purchaseHeight: confirmed ? tx.blockHeight : undefined,
                purchaseBlockHash: confirmed ? tx.blockHash : undefined,
                feeAmount: fee,
                feeExpiryMs: nowMs + settings.quoteLifetimeMillis,
              },
              deriveAddress,
              nowMs,
            ),
          )
          ticket = quoted.ticket
          if (quoted.created) yield* Effect.logInfo(`vsp: ticket ${auth.hash} quoted ${fee} atoms to ${ticket.fee_address} (index ${ticket.fee_address_index})`)
        }
        return ok(FeeAddressResponse, {
          timestamp: seconds(nowMs),
          feeaddress: ticket.fee_address,
          feeamount: Number(ticket.fee_amount),
          expiration: seconds(ticket.fee_expiry_ms),
          request: encodeStdBase64(request.bytes),
        })
      })

    const payFee = (request: ApiRequest) =>
      Effect.gen(function* () {
        yield* mustBeOpen
        const auth = yield* authorize(request)
        const ticket = auth.known
        if (ticket === undefined) return yield* Effect.fail(refusal(VspErrorCode.UnknownTicket))
        const body = yield* parseBody(PayFeeRequest, request.body)
        if (feeReceived(ticket)) return yield* Effect.fail(refusal(VspErrorCode.FeeAlreadyReceived))
        const { facts } = yield* onChainTicket(ticket.hash)
        const nowMs = yield* now
        if (nowMs > ticket.fee_expiry_ms) return yield* Effect.fail(refusal(VspErrorCode.FeeExpired))
        if (votingKeyProblem(body.votingkey, network) !== undefined) return yield* Effect.fail(refusal(VspErrorCode.InvalidPrivKey))
        // Choices that do not validate are dropped, not refused (vspd registers the ticket anyway).
        const choicesWrong = yield* choicesProblem(body.votechoices)
        if (choicesWrong !== undefined) yield* Effect.logWarning(`vsp: ticket ${ticket.hash}: vote choices dropped: ${choicesWrong}`)
        const voteChoices = choicesWrong === undefined ? body.votechoices : {}
        const tspendPolicy = validPolicies(body.tspendpolicy ?? {}, 64) ? (body.tspendpolicy ?? {}) : {}
        const treasuryPolicy = validPolicies(body.treasurypolicy ?? {}, 66) ? (body.treasurypolicy ?? {}) : {}
        const fee = paidTo(body.feetx, ticket.fee_address, network)
        if (Result.isFailure(fee)) return yield* Effect.fail(refusal(VspErrorCode.InvalidFeeTx))
        const paid = fee.success.paid
        if (paid === 0n) return yield* Effect.fail(refusal(VspErrorCode.InvalidFeeTx, `feetx did not include any payments for fee address ${ticket.fee_address}`))
        if (paid < ticket.fee_amount) return yield* Effect.fail(refusal(VspErrorCode.FeeTooSmall))
        if (!votingKeyMatches(body.votingkey, facts, network)) return yield* Effect.fail(refusal(VspErrorCode.InvalidPrivKey, "voting address does not match provided private key"))
        const stored = yield* db(
          "receive fee",
          store.receiveFee(
            ticket.hash,
            {
              feeTxHex: body.feetx,
              feeTxHash: fee.success.txHash,
              feePaid: paid,
              votingWif: body.votingkey,
              voteChoices,
              tspendPolicy,
              treasuryPolicy,
            },
            nowMs,
          ),
        )
        // Another payfee for this ticket won the race: this one changed nothing.
        if (stored === undefined) return yield* Effect.fail(refusal(VspErrorCode.FeeAlreadyReceived))
        yield* Effect.logInfo(`vsp: fee ${fee.success.txHash} received for ticket ${ticket.hash} (${paid} atoms)`)
        if (stored.confirmed) {
          const sent = yield* broadcastFee(stored)
          if (sent !== undefined) return yield* Effect.fail(sent)
        }
        const reply = ok(AckResponse, { timestamp: seconds(nowMs), request: encodeStdBase64(request.bytes) })
        yield* db("vote change record", store.saveVoteChange(ticket.hash, body.timestamp, exchange(request, reply), nowMs))
        return reply
      })

    const ticketStatus = (request: ApiRequest) =>
      Effect.gen(function* () {
        const auth = yield* authorize(request)
        const ticket = auth.known
        if (ticket === undefined) return yield* Effect.fail(refusal(VspErrorCode.UnknownTicket))
        yield* parseBody(TicketStatusRequest, request.body)
        const alt = yield* db("alternate signing address lookup", store.altSignAddr(ticket.hash))
        return ok(TicketStatusResponse, {
          timestamp: seconds(yield* now),
          ticketconfirmed: ticket.confirmed,
          feetxstatus: ticket.fee_tx_status,
          feetxhash: ticket.fee_tx_hash ?? "",
          altsignaddress: alt?.address ?? "",
          votechoices: ticket.vote_choices,
          tspendpolicy: ticket.tspend_policy,
          treasurypolicy: ticket.treasury_policy,
          request: encodeStdBase64(request.bytes),
        })
      })

    const setVoteChoices = (request: ApiRequest) =>
      Effect.gen(function* () {
        if ((yield* Ref.get(state)).walletsOnline === 0) {
          yield* Effect.logError("vsp: setvotechoices refused: no voting wallet is online")
          return yield* Effect.fail(refusal(VspErrorCode.InternalError))
        }
        const auth = yield* authorize(request)
        const ticket = auth.known
        if (ticket === undefined) return yield* Effect.fail(refusal(VspErrorCode.UnknownTicket))
        if (ticket.fee_tx_status === "none") return yield* Effect.fail(refusal(VspErrorCode.FeeNotReceived))
        if (ticket.outcome !== undefined) return yield* Effect.fail(refusal(VspErrorCode.TicketCannotVote, `ticket not eligible to vote (status=${ticket.outcome})`))
        const body = yield* parseBody(SetVoteChoicesRequest, request.body)
        // The replay check: a request must be newer than every change already accepted.
        const earlier = yield* db("vote change lookup", store.voteChangeTimestamps(ticket.hash))
        if (earlier.some((t) => body.timestamp <= t)) return yield* Effect.fail(refusal(VspErrorCode.InvalidTimestamp))
        const choicesWrong = yield* choicesProblem(body.votechoices)
        if (choicesWrong !== undefined) return yield* Effect.fail(refusal(VspErrorCode.InvalidVoteChoices, choicesWrong))
        if (!validPolicies(body.treasurypolicy ?? {}, 66)) return yield* Effect.fail(refusal(VspErrorCode.InvalidVoteChoices, "invalid treasury policy"))
        if (!validPolicies(body.tspendpolicy ?? {}, 64)) return yield* Effect.fail(refusal(VspErrorCode.InvalidVoteChoices, "invalid tspend policy"))
        const nowMs = yield* now
        const updated = yield* db(
          "set choices",
          store.setChoices(
            ticket.hash,
            {
              voteChoices: { ...ticket.vote_choices, ...body.votechoices },
              tspendPolicy: { ...ticket.tspend_policy, ...body.tspendpolicy },
              treasuryPolicy: { ...ticket.treasury_policy, ...body.treasurypolicy },
            },
            nowMs,
          ),
        )
        if (updated === undefined) return yield* Effect.fail(refusal(VspErrorCode.TicketCannotVote))
        if (updated.fee_tx_status === "confirmed") {
          const votable = votableOf(updated)
          if (votable !== undefined) yield* fleet.updateChoices(votable).pipe(Effect.catch((e) => Effect.logWarning(`vsp: ${e.message}; the next block's consistency check sets them`)))
        }
        const reply = ok(AckResponse, { timestamp: seconds(nowMs), request: encodeStdBase64(request.bytes) })
        yield* db("vote change record", store.saveVoteChange(ticket.hash, body.timestamp, exchange(request, reply), nowMs))
        return reply
      })

    const setAltSignAddr = (request: ApiRequest) =>
      Effect.gen(function* () {
        yield* mustBeOpen
        yield* broadcastTicket(request.body)
        const auth = yield* authorize(request)
        const body = yield* parseBody(SetAltSignAddrRequest, request.body)
        if ((yield* db("alternate signing address lookup", store.altSignAddr(auth.hash))) !== undefined)
          return yield* Effect.fail(refusal(VspErrorCode.BadRequest, "alternate sign address data already exists"))
        const problem = altSignAddressProblem(body.altsignaddress, network)
        if (problem !== undefined) return yield* Effect.fail(refusal(VspErrorCode.BadRequest, problem))
        yield* onChainTicket(auth.hash)
        const nowMs = yield* now
        const reply = ok(AckResponse, { timestamp: seconds(nowMs), request: encodeStdBase64(request.bytes) })
        const inserted = yield* db("store alternate signing address", store.insertAltSignAddr(auth.hash, body.altsignaddress, exchange(request, reply), nowMs))
        if (!inserted) return yield* Effect.fail(refusal(VspErrorCode.BadRequest, "alternate sign address data already exists"))
        return reply
      })

    const vspInfo = Effect.gen(function* () {
      const counts = yield* db("counts", store.counts)
      const s = yield* Ref.get(state)
      const closedMessage = settings.closedMessage ?? (s.closedReason === undefined ? undefined : `not accepting new tickets: ${s.closedReason}`)
      return ok(VspInfoResponse, {
        apiversions: [3],
        timestamp: seconds(yield* now),
        pubkey: pubKey,
        feepercentage: settings.feePercent,
        vspclosed: closedMessage !== undefined,
        vspclosedmsg: closedMessage ?? "",
        network: vspdNetworkName(network),
        vspdversion: "dcrforge",
        voting: counts.voting,
        voted: counts.voted,
        totalvotingwallets: s.walletsTotal,
        votingwalletsonline: s.walletsOnline,
        expired: counts.expired,
        missed: counts.missed,
        blockheight: s.tipHeight,
        // vspd: the tickets it votes over the live pool at the tip.
        estimatednetworkproportion: s.poolSize === 0 ? 0 : counts.voting / s.poolSize,
      })
    })

    /** The fee tx to dcrd: received -> broadcast, or -> error with the refusal to answer. */
    const broadcastFee = (ticket: VspTicket) =>
      Effect.gen(function* () {
        const hex = ticket.fee_tx_hex ?? ""
        const sent = yield* chain.broadcast(hex).pipe(Effect.catch(internal("sendrawtransaction (fee)")))
        const nowMs = yield* now
        let accepted = sent.kind === "accepted" || sent.kind === "already-known"
        // An orphan complaint may mean dcrd already has it mined (its outputs spent): ask.
        if (sent.kind === "orphan" && ticket.fee_tx_hash !== undefined) accepted = (yield* chainTx(ticket.fee_tx_hash)) !== undefined
        if (accepted) {
          yield* db("fee broadcast", store.moveFee(ticket.hash, ["received"], "broadcast", nowMs))
          yield* Effect.logInfo(`vsp: fee ${ticket.fee_tx_hash} broadcast for ticket ${ticket.hash}`)
          return undefined
        }
        yield* db("fee error", store.moveFee(ticket.hash, ["received"], "error", nowMs))
        const reason = sent.kind === "orphan" || sent.kind === "rejected" ? sent.reason : ""
        yield* Effect.logWarning(`vsp: dcrd refused fee ${ticket.fee_tx_hash} of ticket ${ticket.hash}: ${reason}`)
        return sent.kind === "orphan" ? refusal(VspErrorCode.CannotBroadcastFeeUnknownOutputs) : refusal(VspErrorCode.CannotBroadcastFee)
      })

    const deriveAddress = (xpub: string, lastUsedIndex: number) => {
      const next = nextFeeAddress(xpub, lastUsedIndex, network)
      return Result.isSuccess(next) ? Effect.succeed(next.success) : Effect.fail(new FeeAddressUnavailable({ reason: next.failure }))
    }

    /** Runs a handler: a refusal becomes vspd's error body; anything else is an internal error. */
    const answer = (handler: Effect.Effect<SignedReply, ApiRefusal>): Effect.Effect<SignedReply> =>
      handler.pipe(
        Effect.catch((r) => Effect.succeed(refused(r))),
        Effect.catchDefect((d) => Effect.logError(`vsp: handler died: ${String(d)}`).pipe(Effect.as(refused(refusal(VspErrorCode.InternalError))))),
      )

    return {
      publicKey: pubKey,
      vspInfo: answer(vspInfo),
      feeAddress: (r: ApiRequest) => answer(feeAddress(r)),
      payFee: (r: ApiRequest) => answer(payFee(r)),
      ticketStatus: (r: ApiRequest) => answer(ticketStatus(r)),
      setVoteChoices: (r: ApiRequest) => answer(setVoteChoices(r)),
      setAltSignAddr: (r: ApiRequest) => answer(setAltSignAddr(r)),
      /** A refusal outside the handlers (a body too large, a flood), signed like every answer. */
      refused,
      /** The lifecycle's fee broadcast, shared with payfee so both do the same. */
      broadcastFee,
    }
  })

export type VspApi = Effect.Success<ReturnType<typeof makeVspApi>>

const exchange = (request: ApiRequest, reply: SignedReply) => ({
  request: request.body,
  requestSignature: request.clientSignature ?? "",
  response: reply.body,
  responseSignature: reply.signature,
})

/** vspd's treasury / tspend policy checks: keys of the given hex length, yes/no/abstain/invalid/empty. */
const validPolicies = (policies: Readonly<Record<string, string>>, keyHexLength: number): boolean =>
  Object.entries(policies).every(([key, choice]) => key.length === keyHexLength && /^[0-9a-fA-F]+$/.test(key) && ["yes", "no", "abstain", "invalid", ""].includes(choice))

/** vspd reports dcrd's network names ("mainnet", "testnet3", "simnet"). */
const vspdNetworkName = (network: NetworkParams): string => network.name
