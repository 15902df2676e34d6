/**
 * The operators' test miner against the production stratum server on a loopback port (the mini
 * node behind it, share difficulty 1): what it prints must be what the pool answered.
 */
import { Effect, Exit } from "effect"
import { execFile } from "node:child_process"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { SIMNET } from "../../core/chain/params.ts"
import { profileOf } from "../../core/stratum/profiles.ts"
import { withTcpPool } from "../../testkit/pool.ts"
import { runTestMiner, type ShareAnswer, type TestMinerOptions } from "./test-miner.ts"

const SIMNET_ADDRESS = "Sspzuh5xuvqxccYLWJDJjCtqp166NRxcaPB"
const MAINNET_ADDRESS = "DsUZxxoHJSty8DCfwfartwTYbuhmVct7tJu"

const mine = (options: Partial<TestMinerOptions> & Pick<TestMinerOptions, "port">) => {
  const lines: Array<string> = []
  const answers: Array<ShareAnswer> = []
  const run = runTestMiner(
    { host: "127.0.0.1", user: `${SIMNET_ADDRESS}.check`, password: "x", profile: profileOf("cpuminer"), network: SIMNET, shares: 5, ...options },
    (line) => Effect.sync(() => void lines.push(line)),
    (answer) => Effect.sync(() => void answers.push(answer)),
  )
  return Effect.runPromiseExit(run).then((exit) => ({ exit, lines, answers }))
}

describe("the operators' test miner", () => {
  for (const model of ["cpuminer", "gominer"] as const) {
    it(`as ${model}: mines shares at the pool's difficulty, each accepted and credited to the worker it authorized as`, async () => {
      await withTcpPool({ network: SIMNET, mode: "pool" }, async (pool) => {
        const { exit, lines, answers } = await mine({ port: pool.port, profile: profileOf(model), shares: 5 })
        expect(Exit.isSuccess(exit), lines.join("\n")).toBe(true)
        if (Exit.isSuccess(exit)) expect(exit.value).toMatchObject({ accepted: 5, stale: 0, rejected: 0 })
        expect(answers.map((a) => a.accepted)).toEqual([true, true, true, true, true])
        expect(lines.filter((l) => /^share \d+ accepted/.test(l))).toHaveLength(5)
        expect(lines).toContain(`authorized as ${SIMNET_ADDRESS}.check`)
        // What it says was accepted is what the pool recorded, for whom it was authorized.
        const recorded = pool.accounting.shares.filter((s) => s.worker === "check")
        expect(recorded).toHaveLength(5)
        expect(new Set(recorded.map((s) => s.account))).toEqual(new Set([SIMNET_ADDRESS]))
        expect(recorded.every((s) => s.model === model)).toBe(true)
      })
    })
  }

  it("prints each share the pool refuses with the pool's code and reason (a miner that takes difficulty 1 as twice as easy as the pool, as with the wrong --network)", async () => {
    await withTcpPool({ network: SIMNET, mode: "pool" }, async (pool) => {
      // Its shares meet half the pool's target on average: about half are refused as too easy.
      const { exit, lines, answers } = await mine({ port: pool.port, network: { ...SIMNET, powLimit: SIMNET.powLimit * 2n + 1n }, shares: 24 })
      expect(Exit.isSuccess(exit), lines.join("\n")).toBe(true)
      const refused = answers.filter((a) => !a.accepted)
      expect(refused.length).toBeGreaterThan(0)
      expect(answers.length - refused.length).toBeGreaterThan(0)
      if (Exit.isSuccess(exit)) expect(exit.value).toMatchObject({ accepted: answers.length - refused.length, stale: 0, rejected: refused.length })
      for (const a of refused) {
        expect(a.refusal?.code).toBe(23)
        expect(lines.filter((l) => l.startsWith(`share ${a.index} REJECTED: 23 ${a.refusal!.message} (job ${a.jobId}, height ${a.height}, difficulty 1, ${a.hashes} hash`))).toHaveLength(1)
      }
      expect(pool.accounting.shares.filter((s) => s.worker === "check")).toHaveLength(answers.length - refused.length)
    })
  })

  it("fails with the pool's reason when the pool refuses its username, and says what to check when nothing listens", async () => {
    await withTcpPool({ network: SIMNET, mode: "pool" }, async (pool) => {
      const { exit } = await mine({ port: pool.port, user: `${MAINNET_ADDRESS}.rig` })
      expect(Exit.isFailure(exit)).toBe(true)
      expect(String(exit)).toMatch(/the pool refused "DsUZxxoHJSty8DCfwfartwTYbuhmVct7tJu.rig": .*\S/)
    })
    const { exit } = await mine({ port: 1 })
    expect(String(exit)).toMatch(/cannot connect to the pool at 127\.0\.0\.1:1: .*check --pool/)
  })

  it("as a command: prints each answer, exits 0 when every share was accepted and 2 when it cannot tell which network a username is on", async () => {
    const cli = join(import.meta.dirname, "miner-cli.ts")
    const run = (args: ReadonlyArray<string>) =>
      new Promise<{ readonly status: number; readonly stdout: string; readonly stderr: string }>((resolve) =>
        execFile(process.execPath, [cli, ...args], { timeout: 60_000 }, (error, stdout, stderr) => resolve({ status: error === null ? 0 : Number(error.code), stdout, stderr })),
      )
    await withTcpPool({ network: SIMNET, mode: "pool" }, async (pool) => {
      const ok = await run(["--pool", `127.0.0.1:${pool.port}`, "--user", `${SIMNET_ADDRESS}.cli`, "--shares", "3"])
      expect(ok.status, ok.stderr).toBe(0)
      expect(ok.stdout.split("\n").filter((l) => /^miner: share \d accepted/.test(l))).toHaveLength(3)
      expect(ok.stdout).toContain("miner: 3 accepted, 0 stale, 0 rejected")
      expect(pool.accounting.shares.filter((s) => s.worker === "cli")).toHaveLength(3)
    })
    const unknown = await run(["--pool", "127.0.0.1:1", "--user", "rig1"])
    expect(unknown.status).toBe(2)
    expect(unknown.stderr).toMatch(/say which network the pool is on: --network=/)
  })
})
