/**
 * README command 1 (`./dcrforge run`): the main job.
 *
 * The end state is the production pool on the embedded default (simulated Decred
 * network, emulated miners of every model, embedded store, web UI on localhost),
 * running until stopped. The pool, emulators and simulator arrive with the later
 * issues; until then this shows the consensus layer they stand on: each network's
 * parameters and agenda states, and a real proof of work found on simnet parameters.
 */
import { NodeRuntime } from "@effect/platform-node"
import { Console, Effect, Result } from "effect"
import {
  calcWork,
  chainActivations,
  compactToBig,
  decodeGetworkDataHex,
  difficultyRatio,
  encodeGetworkDataHex,
  hashMeetsTarget,
  hashToDisplay,
  isNetworkName,
  makeHeaderHasher,
  NETWORKS,
  powAlgorithmAt,
  ratioToDecimal,
  type NetworkParams,
} from "../core/chain/index.ts"

const describeNetwork = (params: NetworkParams): string => {
  const activations = chainActivations(params.agendas)
  const agendaStates = Object.entries(params.agendas)
    .map(([id, state]) => `${id}=${state.kind === "active" ? `active@${state.sinceHeight}` : state.kind}`)
    .join(" ")
  return [
    `${params.name}: genesis ${params.genesis.hash}`,
    `  blocks every ${params.targetTimePerBlock}s, coinbase maturity ${params.coinbaseMaturity}, ticket maturity ${params.ticketMaturity}, SVH ${params.stakeValidationHeight}`,
    `  PoW at height 1: ${powAlgorithmAt(activations, 1)}; ports p2p ${params.ports.p2p} dcrd ${params.ports.dcrdRpc} wallet ${params.ports.walletRpc ?? "-"}`,
    `  agendas: ${agendaStates}`,
  ].join("\n")
}

/** Grinds nonces over the simnet genesis header until its BLAKE3 hash meets simnet's easiest target. */
const findSimnetProof = Effect.sync(() => {
  const params = NETWORKS.simnet
  const header = Uint8Array.from(Buffer.from(params.genesis.headerHex, "hex"))
  const target = compactToBig(params.powLimitBits)
  const hasher = makeHeaderHasher("blake3", header)
  const view = new DataView(header.buffer)
  for (let nonce = 0; ; nonce++) {
    view.setUint32(140, nonce, true)
    const hash = hasher.hash(header)
    if (hashMeetsTarget(hash, target)) return { nonce, hash, header, target }
  }
})

const network = process.argv[2] ?? "all"

const program = Effect.gen(function* () {
  if (network !== "all" && !isNetworkName(network)) {
    return yield* Effect.fail(`unknown network "${network}": use mainnet, testnet3, simnet or regnet`)
  }
  const shown = network === "all" ? Object.values(NETWORKS) : [NETWORKS[network as keyof typeof NETWORKS]]
  for (const params of shown) yield* Console.log(describeNetwork(params))

  const proof = yield* findSimnetProof
  const data = encodeGetworkDataHex(proof.header, "blake3")
  const decoded = Result.getOrThrow(decodeGetworkDataHex(data))
  yield* Console.log(
    [
      "",
      `simnet proof of work: nonce ${proof.nonce}, BLAKE3 ${hashToDisplay(proof.hash)}`,
      `  difficulty ${ratioToDecimal(difficultyRatio(proof.target, NETWORKS.simnet.powLimitBits), 1)}, work ${calcWork(NETWORKS.simnet.powLimitBits)} hashes per block`,
      `  getwork data ${data.slice(0, 24)}… (${data.length / 2} bytes, ${decoded.padding} padding)`,
      "",
      "The pool, the emulated miners and the simulated network come with issues 5-7; see README.md.",
    ].join("\n"),
  )
})

NodeRuntime.runMain(program)
