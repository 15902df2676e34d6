import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { SIMNET } from "../core/chain/params.ts"
import { profileOf } from "../core/stratum/profiles.ts"
import { parseRunArgs, RUN_USAGE } from "./run-options.ts"
import { DEFAULT_DEMO_CHOICES, demoWorldOptions } from "./sim/demo.ts"
import { advance, withWorld } from "./sim/world.ts"

describe("./dcrforge run's options", () => {
  it("--help asks for the usage, which names every option with its default", () => {
    expect(parseRunArgs(["--help"])).toBe("help")
    expect(parseRunArgs(["--era", "blake256", "-h"])).toBe("help")
    for (const option of [
      "--era blake3|blake256|transition",
      "--scheme pplns|pps|prop|solo",
      "--miners N",
      "--network simnet|mainnet",
      "--stratum PORT",
      "--http PORT",
      "--walletrpc PORT",
      "--seed N",
      "--datadir DIR",
      "--adminpass PASS",
    ]) {
      expect(RUN_USAGE).toContain(option)
    }
    expect(RUN_USAGE).toMatch(/default blake3/)
    expect(RUN_USAGE).toMatch(/default pplns/)
    expect(RUN_USAGE).toMatch(/default 5550/)
  })

  it("without options it is today's main job: BLAKE3 on simnet's rules, PPLNS, the whole fleet", () => {
    const parsed = parseRunArgs([])
    expect(parsed).toMatchObject({ stratum: 5550, http: 8080, walletrpc: 19557, seed: 1, adminpass: undefined, choices: DEFAULT_DEMO_CHOICES })
    const { stakers: _stakers, ...world } = demoWorldOptions(1, undefined, DEFAULT_DEMO_CHOICES)
    // The world the main job ran before it had eras.
    expect(world).toEqual({
      seed: 1,
      base: SIMNET,
      blake3: "forced",
      bootstrapHeight: SIMNET.stakeValidationHeight + 8,
      hashScale: 2e9,
      networkHashrate: 2e10,
      fleet: [
        { model: "gominer", count: 4 },
        { model: "nicehash", count: 1, hashrate: 1e10 },
        { model: "cpuminer", count: 1, hashrate: 2e9 },
        { model: "innosilicon-d9", count: 1 },
        { model: "antminer-dr3", count: 1 },
        { model: "antminer-dr5", count: 1 },
        { model: "whatsminer-d1", count: 1 },
        { model: "obelisk-dcr1", count: 1 },
      ],
      accounts: 3,
      scheme: { kind: "pplns", windowMultiple: { numerator: 2n, denominator: 1n } },
      feeBasisPoints: 100,
      vardiffTargetSeconds: 5,
      dataDir: undefined,
      shareCommitLingerMillis: 0,
    })
  })

  it("reads the era, scheme, fleet size and network, as --name value or --name=value", () => {
    const parsed = parseRunArgs(["--era", "transition", "--scheme=pps", "--miners", "20", "--network", "mainnet", "--seed=9"])
    if (parsed === "help" || "error" in parsed) throw new Error(`not parsed: ${JSON.stringify(parsed)}`)
    expect(parsed.seed).toBe(9)
    expect(parsed.choices).toEqual({ era: "transition", scheme: { kind: "pps" }, miners: 20, network: "mainnet" })
    expect(parseRunArgs(["--scheme", "prop"])).toMatchObject({ choices: { scheme: { kind: "proportional" } } })
    expect(parseRunArgs(["--scheme", "solo"])).toMatchObject({ choices: { scheme: { kind: "solo" } } })
  })

  it("refuses an unknown option or value with one line that names it and points at --help", () => {
    const cases: ReadonlyArray<[ReadonlyArray<string>, RegExp]> = [
      [["--eras", "blake3"], /^unknown option --eras\n/],
      [["--era", "sha256"], /^--era must be one of blake3, blake256, transition, got sha256\n/],
      [["--scheme", "fpps"], /^--scheme must be one of pplns, pps, prop, solo, got fpps\n/],
      [["--miners", "0"], /^--miners must be a whole number/],
      [["--network", "testnet3"], /^--network must be simnet or mainnet, got testnet3\n/],
      [["--stratum", "70000"], /^--stratum must be a port number/],
      [["--seed"], /^--seed needs a value\n/],
      [["transition"], /^unexpected argument transition/],
    ]
    for (const [args, message] of cases) {
      const parsed = parseRunArgs(args)
      expect(parsed, args.join(" ")).toHaveProperty("error")
      const error = (parsed as { readonly error: string }).error
      expect(error, args.join(" ")).toMatch(message)
      expect(error).toContain("./dcrforge run --help")
    }
  })
})

describe("./dcrforge run --era", () => {
  it("blake256, in virtual time: the ASICs mine and find blocks the chain accepts, the BLAKE3 miners are refused at subscribe", async () => {
    const parsed = parseRunArgs(["--era", "blake256"])
    if (parsed === "help" || "error" in parsed) throw new Error("not parsed")
    const options = { ...demoWorldOptions(parsed.seed, undefined, parsed.choices), keepLog: true }
    const outcome = await Effect.runPromise(
      withWorld(options, (w) =>
        Effect.gen(function* () {
          const asics = w.miners.filter((m) => profileOf(m.model).pow === "blake256")
          yield* advance({ world: w, untilMillis: 600_000, stepMillis: 100, done: () => w.dcrd.poolBlocks().filter((b) => b.onMainChain).length >= 3 && asics.every((m) => m.stats.accepted > 0) })
          return { blocks: w.dcrd.poolBlocks().filter((b) => b.onMainChain), miners: w.miners, vote: w.dcrd.agendaVote(), blake3: w.dcrd.activations.blake3pow }
        }),
      ),
    )
    expect(outcome.blake3).toBeUndefined()
    // No vote is held: the chain before DCP-0011 stays there.
    expect(outcome.vote).toBeUndefined()
    expect(outcome.blocks.length).toBeGreaterThanOrEqual(3)
    for (const m of outcome.miners) {
      if (profileOf(m.model).pow === "blake256") expect(m.stats.refusals, m.name).toBe(0)
      else {
        expect(m.stats.refusals, m.name).toBeGreaterThan(0)
        expect(m.stats.accepted, m.name).toBe(0)
      }
    }
    expect(outcome.miners.filter((m) => profileOf(m.model).pow === "blake256").every((m) => m.stats.accepted > 0)).toBe(true)
  }, 120_000)

  it("transition, in virtual time: the ASICs mine, the stakers vote BLAKE3 in, each ASIC's session is closed at activation with the reason, and the BLAKE3 miners find blocks after", async () => {
    const parsed = parseRunArgs(["--era", "transition", "--seed", "3"])
    if (parsed === "help" || "error" in parsed) throw new Error("not parsed")
    const options = { ...demoWorldOptions(parsed.seed, undefined, parsed.choices), keepLog: true }
    const outcome = await Effect.runPromise(
      withWorld(options, (w) =>
        Effect.gen(function* () {
          const states = new Set<string>()
          const activation = () => w.dcrd.activations.blake3pow
          yield* advance({
            world: w,
            untilMillis: 300_000,
            stepMillis: 100,
            onStep: () => void states.add(w.dcrd.agendaVote()?.state ?? "none"),
            done: () => {
              const at = activation()
              return at !== undefined && w.dcrd.poolBlocks().some((b) => b.onMainChain && b.height >= at)
            },
          })
          return {
            states,
            activation: activation(),
            vote: w.dcrd.agendaVote(),
            blocks: w.dcrd.poolBlocks().filter((b) => b.onMainChain),
            closedAtSwitch: w.pool.metrics.connectionsClosed["pow-switched"].value,
            log: w.log.lines ?? [],
            miners: w.miners,
          }
        }),
      ),
    )
    expect([...outcome.states]).toEqual(["defined", "started", "lockedin", "active"])
    const activation = outcome.activation!
    expect(activation).toBeGreaterThan(options.bootstrapHeight)
    expect(outcome.vote).toMatchObject({ state: "active", activationHeight: activation })
    const blake256Blocks = outcome.blocks.filter((b) => b.height < activation)
    const blake3Blocks = outcome.blocks.filter((b) => b.height >= activation)
    expect(blake256Blocks.length).toBeGreaterThan(0)
    expect(blake3Blocks.length).toBeGreaterThan(0)
    // Every ASIC was connected at the switch and was told why it was closed.
    const asics = outcome.miners.filter((m) => profileOf(m.model).pow === "blake256")
    expect(outcome.closedAtSwitch).toBe(asics.length)
    for (const asic of asics) {
      expect(outcome.log.some((l) => l.includes(`miner ${asic.name} disconnected: pool closed the connection:`) && l.includes(`proof of work is BLAKE3 from height ${activation}`))).toBe(true)
    }
  }, 120_000)
})
