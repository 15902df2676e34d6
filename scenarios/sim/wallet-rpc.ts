import { Effect } from "effect"
import { hexToBytes } from "../../core/chain/bytes.ts"
import { blake256Hash, hashToDisplay } from "../../core/chain/hash.ts"
import { estimateStakeDiff } from "../../core/stake/estimate.ts"
import type { Ticket } from "../../core/stake/model.ts"
import type { SimDcrd } from "../../emulators/dcrd.ts"
import type { RpcHandler, RpcOutcome, RpcValue } from "../../emulators/json-rpc-server.ts"
import { STAKING_ACCOUNT, type SimStakingWallet } from "../../emulators/staking-wallet.ts"
import { stakeInfoFor } from "../../wallet/stakeinfo.ts"

// dcrwallet 2.1's JSON-RPC server for one simulated staker's wallet (internal/rpc/jsonrpc in
// decred/dcrwallet release-v2.1): the wallet's own methods with its result shapes, parameter
// parsing and error codes, and the dcrd methods it passes through to dcrd with dcrd's. Pure:
// method + params + the world's state -> reply; the HTTP front is emulators/json-rpc-server.ts.

// ---- the next window's price (placeholder) -------------------------------------------------

// ---- parameters, as dcrjson parses them ----------------------------------------------------

type ParamKind = "string" | "bool" | "int" | "int32" | "uint32"

interface ParamSpec {
  readonly name: string
  readonly kind: ParamKind
  readonly required?: boolean
}

type Parsed = ReadonlyArray<string | boolean | number | undefined>

const fail = (code: number, message: string): RpcOutcome => ({ error: { code, message } })

/** JSON-RPC 2.0's code dcrwallet answers for a request its parser refuses. */
const invalidRequest = fail(-32600, "Invalid request")

const goTypes: Record<ParamKind, string> = { string: "string", bool: "bool", int: "int", int32: "int32", uint32: "uint32" }

/**
 * dcrjson's `ParseParams`: the count within [required, all], each given param unmarshalled into
 * its Go type (an integer within the type's range; null leaves it unset), the missing optional
 * ones unset. Undefined for an unset param; a string saying why otherwise.
 */
const parseParams = (specs: ReadonlyArray<ParamSpec>, params: ReadonlyArray<unknown>): Parsed | string => {
  const required = specs.filter((s) => s.required === true).length
  if (params.length < required || params.length > specs.length) {
    return required === specs.length
      ? `wrong number of params (expected ${required}, received ${params.length})`
      : `wrong number of params (expected between ${required} and ${specs.length}, received ${params.length})`
  }
  const out: Array<string | boolean | number | undefined> = []
  for (let i = 0; i < specs.length; i++) {
    const spec = specs[i]!
    const value = params[i]
    if (value === undefined || value === null) {
      out.push(undefined)
      continue
    }
    const wrong = `parameter #${i + 1} '${spec.name}' must be type ${goTypes[spec.kind]} (got ${typeof value === "number" ? "number" : typeof value})`
    if (spec.kind === "string") {
      if (typeof value !== "string") return wrong
      out.push(value)
    } else if (spec.kind === "bool") {
      if (typeof value !== "boolean") return wrong
      out.push(value)
    } else {
      const [lo, hi] = spec.kind === "int32" ? [-(2 ** 31), 2 ** 31 - 1] : spec.kind === "uint32" ? [0, 2 ** 32 - 1] : [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER]
      if (typeof value !== "number" || !Number.isInteger(value) || value < lo || value > hi) return wrong
      out.push(value)
    }
  }
  return out
}

// ---- the replies ---------------------------------------------------------------------------

/** A ticket's hash as dcrwallet prints a txid: the model's raw bytes, reversed. */
const ticketHash = (t: Ticket): string => hashToDisplay(hexToBytes(t.id))

/** The txid of the vote or revocation that spent a ticket (the simulation makes no such transactions: a stable stand-in). */
const spenderHash = (t: Ticket, kind: "vote" | "revocation"): string => hashToDisplay(blake256Hash(new TextEncoder().encode(`${kind}/${t.id}`)))

const ratioFloat = (r: { readonly numerator: bigint; readonly denominator: bigint }): number => Number(r.numerator) / Number(r.denominator)

/** Go's `omitempty`: a zero count or amount is left out. */
const nonZero = <A extends number | bigint>(value: A): A | undefined => (value === 0 || value === 0n ? undefined : value)

interface WalletRpcOptions {
  readonly dcrd: SimDcrd
  readonly wallet: SimStakingWallet
}

/** dcrwallet's relay fee, 0.0001 DCR/kB (walletinfo's `txfee`). */
const RELAY_FEE_ATOMS_PER_KB = 10_000n
/** The vote version the simulated chain's blocks carry (walletinfo's `voteversion`). */
const VOTE_VERSION = 10
/** BIP-0044 coin type of the test networks. */
const TEST_NETWORKS_COIN_TYPE = 1

/** dcrwallet's JSON-RPC methods for `wallet` on `dcrd`'s chain, and the dcrd ones it passes through. */
export const makeWalletRpcHandler = (options: WalletRpcOptions): RpcHandler => {
  const { dcrd, wallet } = options
  const model = dcrd.model
  const params = dcrd.network
  const tip = () => dcrd.height()

  /** dcrwallet's `ticketMatured`: one block later than consensus (dcrd's off-by-one it copies). */
  const walletMatured = (t: Ticket) => t.minedAt !== undefined && tip() - t.minedAt > params.ticketMaturity
  const spent = (t: Ticket) => t.status === "voted" || t.status === "revoked"

  /** dcrwallet's ticketinfo status (its non-precise one: a matured unspent ticket is `unspent`). */
  const ticketInfoStatus = (t: Ticket): string => {
    if (t.status === "voted") return "voted"
    if (t.status === "revoked") {
      const expired = t.revokedAt !== undefined && t.minedAt !== undefined && t.revokedAt - t.minedAt >= params.ticketExpiry + params.ticketMaturity
      return expired ? "expired" : "missed"
    }
    // Unmined tickets are reported as immature with height -1 and no block hash.
    return walletMatured(t) ? "unspent" : "immature"
  }

  const accountBalance = () => {
    const b = wallet.balance()
    return {
      accountname: STAKING_ACCOUNT,
      immaturecoinbaserewards: 0n,
      immaturestakegeneration: b.immatureStakeGeneration,
      lockedbytickets: b.lockedByTickets,
      spendable: b.spendable,
      total: b.total,
      unconfirmed: 0n,
      votingauthority: b.votingAuthority,
    }
  }

  type Method = { readonly params: ReadonlyArray<ParamSpec>; readonly passthrough?: boolean; readonly run: (p: Parsed) => RpcOutcome | Effect.Effect<RpcOutcome> }

  const methods: Record<string, Method> = {
    getbestblock: { params: [], run: () => ({ result: { hash: dcrd.tipHash(), height: tip() } }) },
    getblockcount: { params: [], run: () => ({ result: tip() }) },
    getbalance: {
      params: [
        { name: "account", kind: "string" },
        { name: "minconf", kind: "int" },
      ],
      run: ([account, minconf]) => {
        if (typeof minconf === "number" && minconf < 0) return fail(-8, "minconf must be non-negative")
        const name = (account as string | undefined) ?? "*"
        if (name !== "*" && name !== STAKING_ACCOUNT) return fail(-11, "account not found")
        const one = accountBalance()
        if (name !== "*") return { result: { balances: [one], blockhash: dcrd.tipHash() } }
        return {
          result: {
            balances: [one],
            blockhash: dcrd.tipHash(),
            totalimmaturecoinbaserewards: nonZero(one.immaturecoinbaserewards),
            totalimmaturestakegeneration: nonZero(one.immaturestakegeneration),
            totallockedbytickets: nonZero(one.lockedbytickets),
            totalspendable: nonZero(one.spendable),
            cumulativetotal: nonZero(one.total),
            totalunconfirmed: nonZero(one.unconfirmed),
            totalvotingauthority: nonZero(one.votingauthority),
          },
        }
      },
    },
    walletinfo: {
      params: [],
      run: () => ({
        result: {
          daemonconnected: true,
          spv: false,
          unlocked: true,
          cointype: TEST_NETWORKS_COIN_TYPE,
          txfee: RELAY_FEE_ATOMS_PER_KB,
          votebits: 1,
          votebitsextended: "0a000000",
          voteversion: VOTE_VERSION,
          voting: true,
          vsp: "",
          manualtickets: false,
          birthhash: dcrd.blockAt(0)?.hash ?? "",
          birthheight: 0,
        },
      }),
    },
    getstakeinfo: {
      params: [],
      run: () => {
        const s = stakeInfoFor(model, wallet.owner)
        return {
          result: {
            blockheight: s.blockheight,
            difficulty: s.difficulty,
            totalsubsidy: s.totalsubsidy,
            ownmempooltix: s.ownmempooltix,
            immature: s.immature,
            unspent: s.unspent,
            voted: s.voted,
            revoked: s.revoked,
            unspentexpired: s.unspentexpired,
            poolsize: nonZero(s.poolsize),
            allmempooltix: nonZero(s.allmempooltix),
            live: nonZero(s.live),
            proportionlive: nonZero(ratioFloat(s.proportionlive)),
            missed: nonZero(s.missed),
            proportionmissed: nonZero(ratioFloat(s.proportionmissed)),
            expired: nonZero(s.expired),
          },
        }
      },
    },
    gettickets: {
      params: [{ name: "includeimmature", kind: "bool", required: true }],
      run: ([includeImmature]) => {
        const hashes: Array<string> = []
        for (const t of wallet.tickets()) {
          if (spent(t)) continue
          if (!walletMatured(t)) {
            if (includeImmature === true) hashes.push(ticketHash(t))
          } else if (t.status === "live") hashes.push(ticketHash(t))
        }
        return { result: { hashes } }
      },
    },
    ticketinfo: {
      params: [{ name: "startheight", kind: "int32" }],
      run: ([startHeight]) => {
        const from = (startHeight as number | undefined) ?? 0
        const mined = wallet
          .tickets()
          .filter((t) => t.minedAt !== undefined && t.minedAt >= from)
          .sort((a, b) => a.minedAt! - b.minedAt!)
        const unmined = wallet.tickets().filter((t) => t.minedAt === undefined)
        const result: Array<RpcValue> = [...mined, ...unmined].map((t) => ({
          hash: ticketHash(t),
          cost: t.purchase.price,
          votingaddress: wallet.owner,
          status: ticketInfoStatus(t),
          blockhash: t.minedAt === undefined ? undefined : dcrd.blockAt(t.minedAt)?.hash,
          blockheight: t.minedAt ?? -1,
          vote: t.status === "voted" ? spenderHash(t, "vote") : undefined,
          revocation: t.status === "revoked" ? spenderHash(t, "revocation") : undefined,
        }))
        return { result }
      },
    },
    purchaseticket: {
      params: [
        { name: "fromaccount", kind: "string", required: true },
        { name: "minconf", kind: "int" },
        { name: "numtickets", kind: "int" },
        { name: "expiry", kind: "int" },
        { name: "comment", kind: "string" },
        { name: "dontsigntx", kind: "bool" },
      ],
      run: ([account, minconf, numtickets, expiry, , dontSignTx]) => {
        if (account !== STAKING_ACCOUNT) return fail(-11, "account not found")
        if (typeof minconf === "number" && minconf < 0) return fail(-8, "negative minconf")
        // dcrwallet buys one for any count below 2.
        const count = typeof numtickets === "number" && numtickets > 1 ? numtickets : 1
        const expiryHeight = (expiry as number | undefined) ?? 0
        if (expiryHeight < 0) return fail(-4, "wallet.PurchaseTickets: invalid operation: negative expiry")
        if (expiryHeight > 0 && expiryHeight <= tip() + 1) return fail(-4, "wallet.PurchaseTickets: invalid operation: expiry height must be above next block height")
        if (dontSignTx === true) return fail(-4, "wallet.PurchaseTickets: invalid operation: the simulated wallet signs every ticket it buys (dontsigntx is not supported)")
        return wallet.purchase(count, expiryHeight === 0 ? {} : { expiry: expiryHeight }).pipe(
          Effect.map((tickets): RpcOutcome => ({ result: tickets.map(ticketHash) })),
          Effect.catch((refused) =>
            Effect.succeed(
              refused.reason === "insufficient-balance"
                ? // dcrwallet's nested error for a split transaction the account cannot fund (ErrRPCWalletInsufficientFunds).
                  fail(-6, "wallet.PurchaseTickets: insufficient balance:\n\tindividualSplit:\n\ttxauthor.NewUnsignedTransaction")
                : fail(-1, `wallet.PurchaseTickets: ${refused.message}`),
            ),
          ),
        )
      },
    },

    // dcrd's, passed through by dcrwallet.
    getstakedifficulty: {
      params: [],
      passthrough: true,
      run: () => ({ result: { current: model.headerFactsAt(model.height).sbits, next: model.nextStakeDifficulty() } }),
    },
    estimatestakediff: {
      params: [{ name: "tickets", kind: "uint32" }],
      passthrough: true,
      run: ([tickets]) => {
        // A count above what the window can still take is refused, as dcrd refuses it.
        const most = model.params.maxFreshStakePerBlock * estimateStakeDiff(model).blocksLeftInWindow
        if (typeof tickets === "number" && tickets > most) return fail(-8, `Invalid parameter: ticket count ${tickets} is above the ${most} the window can still take`)
        const e = estimateStakeDiff(model, tickets as number | undefined)
        return { result: { min: e.min, max: e.max, expected: e.expected, user: e.user } }
      },
    },
    getticketpoolvalue: {
      params: [],
      passthrough: true,
      run: () => {
        let value = 0n
        for (const id of model.liveTickets()) value += model.ticket(id)?.purchase.price ?? 0n
        return { result: value }
      },
    },
    getblockchaininfo: {
      params: [],
      passthrough: true,
      run: () => ({
        result: {
          chain: params.name,
          blocks: tip(),
          headers: tip(),
          syncheight: tip(),
          bestblockhash: dcrd.tipHash(),
          difficulty: dcrd.blockAt(tip())?.bits ?? 0,
          initialblockdownload: false,
          verificationprogress: 1,
          deployments: {},
        },
      }),
    },
  }

  return (method, given) =>
    Effect.suspend(() => {
      const m = Object.hasOwn(methods, method) ? methods[method] : undefined
      // dcrwallet passes what it does not know to dcrd, which knows no such method either.
      if (m === undefined) return Effect.succeed(fail(-32601, "Method not found"))
      const parsed = parseParams(m.params, given)
      if (typeof parsed === "string") return Effect.succeed(m.passthrough === true ? fail(-8, `Failed to parse request: ${parsed}`) : invalidRequest)
      const outcome = m.run(parsed)
      return Effect.isEffect(outcome) ? outcome : Effect.succeed(outcome)
    })
}
