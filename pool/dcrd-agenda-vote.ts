import { Effect, Result, Schema } from "effect"
import type { AgendaVoteProgress, AgendaVoteState } from "../core/chain/agendas.ts"
import type { NetworkParams } from "../core/chain/params.ts"
import type { ChainFailure } from "../core/services/chain.ts"

/** One dcrd JSON-RPC call over the pool's connection (see `DcrdCalls` in dcrd-client.ts). */
type DcrdCall = (method: string, params: ReadonlyArray<unknown>) => Effect.Effect<unknown, ChainFailure>

/**
 * The stake version whose deployments carry blake3pow on the networks where the chain votes on
 * it: dcrd's chaincfg lists it under 11 for regnet (and testnet3 and simnet, where it is a fact
 * of the parameters; mainnet voted it at 10). `getvoteinfo` answers per version.
 */
const BLAKE3POW_VOTE_VERSION = 11

const AGENDA = "blake3pow"

const STATES: ReadonlyArray<AgendaVoteState> = ["defined", "started", "lockedin", "active", "failed"]

/** dcrd's types.GetVoteInfoResult, the parts read here. */
const VoteInfo = Schema.Struct({
  currentheight: Schema.Int,
  startheight: Schema.Int,
  endheight: Schema.Int,
  quorum: Schema.Int,
  agendas: Schema.optional(
    Schema.NullOr(
      Schema.Array(
        Schema.Struct({
          id: Schema.String,
          status: Schema.Literals(STATES),
          choices: Schema.Array(Schema.Struct({ id: Schema.String, isabstain: Schema.Boolean, isno: Schema.Boolean, count: Schema.Int })),
        }),
      ),
    ),
  ),
})

/** dcrd's types.GetBlockChainInfoResult deployments: the state as of the tip and the height it last changed. */
const ChainInfo = Schema.Struct({
  deployments: Schema.optional(Schema.NullOr(Schema.Record(Schema.String, Schema.Struct({ status: Schema.String, since: Schema.optional(Schema.Int) })))),
})

/** The first height of the rule change interval `height` is in (dcrd's CalcWantHeight + 1). */
const intervalStart = (network: NetworkParams, height: number): number => {
  const interval = network.ruleChangeActivationInterval
  const offset = network.stakeValidationHeight % interval
  const adjusted = height - offset - 1
  return adjusted - ((((adjusted + 1) % interval) + interval) % interval) + offset + 1
}

/**
 * Where the chain's vote on DCP-0011 (blake3pow) stands, read from the operator's dcrd for the
 * overview page, in the shape the simulated dcrd gives the main job. Only a network on which
 * the chain itself votes blake3pow (regnet) has one to show; on mainnet, testnet3 and simnet its
 * activation is a fact of the parameters, and this answers undefined without asking dcrd.
 *
 * `getvoteinfo` gives the state for the next block and the tallies of the interval the tip is
 * in; once active, `getblockchaininfo`'s deployment gives the height it took effect. Read when
 * the page is (one or two calls), and a dcrd that cannot answer hides the panel with a warning
 * in the log rather than failing the page.
 */
export const makeDcrdAgendaVote = (call: DcrdCall, network: NetworkParams): Effect.Effect<AgendaVoteProgress | undefined> => {
  if (network.agendas[AGENDA].kind !== "vote-required") return Effect.succeed(undefined)
  const ask = <A>(method: string, params: ReadonlyArray<unknown>, schema: Schema.Codec<A, unknown>) =>
    call(method, params).pipe(
      Effect.mapError((e) => `dcrd's ${method} failed: ${e._tag === "ChainUnavailable" ? e.reason : e.message}`),
      Effect.flatMap((value) => {
        const decoded = Schema.decodeUnknownResult(schema)(value)
        return Result.isSuccess(decoded) ? Effect.succeed(decoded.success) : Effect.fail(`dcrd's ${method} answered an unexpected shape: ${JSON.stringify(value).slice(0, 160)}`)
      }),
    )
  const read = Effect.gen(function* () {
    const info = yield* ask("getvoteinfo", [BLAKE3POW_VOTE_VERSION], VoteInfo)
    const agenda = info.agendas?.find((a) => a.id === AGENDA)
    if (agenda === undefined) return undefined
    const choices = agenda.choices
    const count = (pick: (c: (typeof choices)[number]) => boolean) => choices.filter(pick).reduce((sum, c) => sum + c.count, 0)
    const next = info.currentheight + 1
    const nextIntervalStart = intervalStart(network, next)
    let activationHeight: number | undefined
    if (agenda.status === "lockedin") activationHeight = nextIntervalStart + network.ruleChangeActivationInterval
    else if (agenda.status === "active") {
      // Active for the next block: since the deployment's last change as of the tip, or from the
      // next block itself when the tip was the locked-in interval's last.
      const deployment = (yield* ask("getblockchaininfo", [], ChainInfo)).deployments?.[AGENDA]
      activationHeight = deployment?.status === "active" && deployment.since !== undefined ? deployment.since : nextIntervalStart
    }
    return {
      agenda: AGENDA,
      state: agenda.status,
      interval: { first: info.startheight, last: info.endheight },
      yes: count((c) => !c.isabstain && !c.isno),
      no: count((c) => c.isno),
      abstain: count((c) => c.isabstain),
      quorum: info.quorum,
      threshold: { numerator: network.ruleChangeActivationMultiplier, denominator: network.ruleChangeActivationDivisor },
      activationHeight,
    } satisfies AgendaVoteProgress
  })
  return read.pipe(Effect.catch((reason) => Effect.as(Effect.logWarning(`the overview's agenda vote is hidden: ${reason}`), undefined)))
}
