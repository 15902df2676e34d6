import { Result } from "effect"
import { chainActivations } from "../chain/agendas.ts"
import { MAINNET } from "../chain/params.ts"
import { sig3, type Bench } from "../../testkit/bench.ts"
import { StakeChainDriver } from "./driver.ts"
import { StakeModel } from "./model.ts"

/**
 * Issue 3's goal: 50,000 blocks (about 174 days of mainnet) with mainnet parameters at a
 * full ticket pool (~41,000 live) in 10 s or less on one core. Buyers keep the pool at its
 * target (TicketsPerBlock * (TicketPoolSize + TicketMaturity) live and immature tickets),
 * every winner votes, and each block goes through the driver: mempool selection, header
 * with the required stake fields, validation, lottery and returns.
 */
const BLOCKS = 50_000

const run = () => {
  const params = MAINNET
  // Today's mainnet rules from block 1 (DCP-0001, DCP-0009, the 1/89/10 split).
  const activations = chainActivations(params.agendas, {
    sdiffalgorithm: 1,
    treasury: 1,
    autorevocations: 1,
    changesubsidysplit: 1,
    changesubsidysplitr2: 1,
  })
  const model = new StakeModel(params, activations)
  const driver = new StakeChainDriver(model, { seed: "stake-bench" })
  const target = params.ticketsPerBlock * (params.ticketPoolSize + params.ticketMaturity)
  const step = () => {
    if (model.height >= params.coinbaseMaturity) {
      const counts = model.totals.counts
      const want = Math.min(params.maxFreshStakePerBlock, target - (counts.live + counts.immature + counts.mempool))
      for (let i = 0; i < want; i++) Result.getOrThrow(model.submitTicket(driver.purchase(`wallet-${i % 8}`)))
    }
    driver.mineBlock()
  }
  while (model.height < params.stakeValidationHeight || model.poolSize < 5 * params.ticketPoolSize - 500) step()
  const poolAtStart = model.poolSize
  const start = performance.now()
  for (let i = 0; i < BLOCKS; i++) step()
  const seconds = (performance.now() - start) / 1000
  return { seconds, poolAtStart, poolAtEnd: model.poolSize, voted: model.totals.counts.voted }
}

export const benches: ReadonlyArray<Bench> = [
  {
    name: "stake-model",
    run: () => {
      const r = run()
      return [
        { name: "stake_model_mainnet_blocks_per_s", value: sig3(BLOCKS / r.seconds), unit: "blocks/s" },
        { name: "stake_model_mainnet_50k_blocks", value: sig3(r.seconds), unit: "s" },
        { name: "stake_model_mainnet_live_pool", value: r.poolAtEnd, unit: "tickets" },
        { name: "stake_model_rss", value: sig3(process.memoryUsage().rss / 2 ** 20), unit: "MiB" },
      ]
    },
  },
]
