import { Effect, Layer, Result } from "effect"
import { toHex } from "../core/chain/bytes.ts"
import { blake256Hash } from "../core/chain/hash.ts"
import type { NetworkParams } from "../core/chain/params.ts"
import {
  dcrwalletPayableAddress,
  PayoutAddressRefused,
  PayoutUnfunded,
  PayoutWallet,
  WalletRpcError,
  WalletUnavailable,
  type PayoutFeePayer,
  type PayoutOutput,
  type SignedPayout,
} from "../core/services/wallet.ts"

/**
 * A payout wallet in memory for pool tests: builds deterministic transactions (the txid hashes
 * the outputs and a build counter, as a real wallet's differ by inputs), records what was
 * published, and can fail the way a real one does: offline, or sending a transaction and then
 * losing the reply (the case that tempts a pool to pay twice). It records the outputs as asked
 * (the pool's books) and who was to pay the network fee, and reports a fixed fee.
 *
 * Given a `network`, it refuses an address as dcrwallet does (`dcrwalletPayableAddress`: one that
 * does not decode for the network, a public key that is no point included, or of a kind dcrwallet
 * does not pay), with `PayoutAddressRefused` naming it; without one, any text is an address, for
 * tests whose accounts are placeholders.
 */
export const makeMemoryWallet = (options: { readonly fee?: bigint; readonly network?: NetworkParams } = {}) => {
  const built = new Map<string, { readonly outputs: ReadonlyArray<PayoutOutput>; readonly feePaidBy: PayoutFeePayer }>()
  const published: Array<{ readonly txid: string; readonly outputs: ReadonlyArray<PayoutOutput>; readonly feePaidBy: PayoutFeePayer }> = []
  let builds = 0
  /** Each address a build was refused for, once per refusal. */
  const refused: Array<string> = []
  /**
   * `unfundedBy`: every build fails as a wallet short of that many atoms does (until cleared).
   * `refuseAddresses`: every build paying one of them is refused as dcrwallet refuses an address
   * it will not pay (an address the pool's own rules accept, to play a wallet stricter than them).
   */
  const faults: { offline: boolean; loseNextPublishReply: boolean; failNextBuild: boolean; unfundedBy: bigint | undefined; readonly refuseAddresses: Set<string> } = {
    offline: false,
    loseNextPublishReply: false,
    failNextBuild: false,
    unfundedBy: undefined,
    refuseAddresses: new Set(),
  }
  const unavailable = (method: string) => Effect.fail(new WalletUnavailable({ method, reason: "memory wallet is offline" }))

  const service = PayoutWallet.of({
    build: ({ outputs, feePaidBy }) =>
      Effect.gen(function* () {
        if (faults.offline) return yield* unavailable("build")
        if (faults.failNextBuild) {
          faults.failNextBuild = false
          return yield* Effect.fail(new WalletRpcError({ method: "fundrawtransaction", code: -4, reason: "insufficient funds" }))
        }
        const network = options.network
        for (const o of outputs) {
          const payable = network === undefined ? Result.succeed(undefined) : dcrwalletPayableAddress(o.address, network)
          const reason = Result.isFailure(payable) ? payable.failure : faults.refuseAddresses.has(o.address) ? "the memory wallet was told to refuse it" : undefined
          if (reason !== undefined) {
            refused.push(o.address)
            return yield* Effect.fail(new PayoutAddressRefused({ address: o.address, reason }))
          }
        }
        if (faults.unfundedBy !== undefined) {
          const needed = outputs.reduce((sum, o) => sum + o.amount, 0n)
          return yield* Effect.fail(new PayoutUnfunded({ account: "default", needed, spendable: needed - faults.unfundedBy, missing: faults.unfundedBy, immature: 0n }))
        }
        builds++
        const body = JSON.stringify({ builds, outputs: outputs.map((o) => [o.address, o.amount.toString()]) })
        const txid = toHex(blake256Hash(new TextEncoder().encode(body)))
        built.set(txid, { outputs, feePaidBy })
        return { txid, rawTx: toHex(new TextEncoder().encode(body)), fee: options.fee ?? 2_000n } satisfies SignedPayout
      }),
    publish: (payout) =>
      Effect.gen(function* () {
        if (faults.offline) return yield* unavailable("sendrawtransaction")
        const tx = built.get(payout.txid)
        if (tx === undefined) return yield* Effect.fail(new WalletRpcError({ method: "sendrawtransaction", code: -22, reason: "unknown transaction" }))
        if (!published.some((p) => p.txid === payout.txid)) published.push({ txid: payout.txid, outputs: tx.outputs, feePaidBy: tx.feePaidBy })
        if (faults.loseNextPublishReply) {
          faults.loseNextPublishReply = false
          return yield* unavailable("sendrawtransaction")
        }
      }),
    status: (txid) =>
      faults.offline ? unavailable("gettransaction") : Effect.succeed(published.some((p) => p.txid === txid) ? { _tag: "Known" as const, confirmations: 0 } : { _tag: "Unknown" as const }),
  })

  /** What every published transaction paid each address, summed. */
  const paidTo = () => {
    const totals = new Map<string, bigint>()
    for (const p of published) for (const o of p.outputs) totals.set(o.address, (totals.get(o.address) ?? 0n) + o.amount)
    return totals
  }

  return { layer: Layer.succeed(PayoutWallet)(service), published, faults, paidTo, builds: () => builds, refused }
}
