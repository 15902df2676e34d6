import { describe, expect, it } from "vitest"
import { DIFFICULTY_SCALE } from "../../core/stratum/difficulty.ts"
import { chainActivations } from "../../core/chain/agendas.ts"
import { powAlgorithmAt } from "../../core/chain/difficulty.ts"
import { SIMNET } from "../../core/chain/params.ts"
import { JobBook } from "./jobs.ts"
import { defaultSessionConfig, StratumSession } from "./session.ts"
import { defaultVardiffConfig } from "./vardiff.ts"

/**
 * Issue 16, item 4: mining.authorize goes through the address decoder, so it refuses what dcrd
 * refuses, public keys included. Here end to end through a session, beside the decoder's own
 * tests (core/chain/address.test.ts), because a credited address the wallet cannot pay is what
 * stalled payouts.
 */
const session = () => {
  const activations = chainActivations(SIMNET.agendas)
  const jobs = new JobBook((h) => powAlgorithmAt(activations, h))
  const config = defaultSessionConfig(SIMNET, "pool", defaultVardiffConfig(DIFFICULTY_SCALE, DIFFICULTY_SCALE))
  const s = new StratumSession(config, jobs, () => powAlgorithmAt(activations, 1_000), Uint8Array.of(1, 2, 3, 4), "127.0.0.1:5000", 0)
  s.onLine(JSON.stringify({ id: 1, method: "mining.subscribe", params: ["cpuminer/1.0.0"] }), 0)
  return s
}

/** The reply to an authorize: true, or the stratum error's code and message. */
const authorize = (username: string) => {
  const out = session().onLine(JSON.stringify({ id: 2, method: "mining.authorize", params: [username, "x"] }), 0)
  const reply = JSON.parse(out.lines[0]!) as { readonly result: unknown; readonly error: ReadonlyArray<unknown> | null }
  return reply.error === null ? reply.result : { code: reply.error[0], message: String(reply.error[1]) }
}

describe("mining.authorize checks the payout address as dcrd does", () => {
  it("refuses the simnet P2PK address of issue 16, whose key is no secp256k1 point, saying why", () => {
    expect(authorize("SkLXmxb92d75QTaXFXYWSFqzBKNwjH49hLEQkaTP7QbmD5YsKwod8.rig")).toEqual({
      code: 24,
      message: expect.stringContaining("holds a secp256k1 public key that is not a point of the curve"),
    })
  })

  it("still takes a good simnet address", () => {
    expect(authorize("Sspzuh5xuvqxccYLWJDJjCtqp166NRxcaPB.rig")).toBe(true)
  })
})
