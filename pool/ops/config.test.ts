import fc from "fast-check"
import { Redacted, Result } from "effect"
import { describe, expect, it } from "vitest"
import { encodeAddress } from "../../core/chain/address.ts"
import { NETWORK_NAMES, NETWORKS, type NetworkName } from "../../core/chain/params.ts"
import { ATOMS_PER_DCR, MAX_ATOMS, atomsToDcr } from "../../core/chain/amounts.ts"
import { hashPassword } from "../http/auth.ts"
import { type ConfigError, describeOptions, envName, formatDuration, loadConfig, NETWORK_DEFAULTS, OPTION_NAMES, type PoolConfig, parseDuration, wantsHelp, writeConfigRequest } from "./config.ts"

const HOME = "/home/op"
const DEFAULT_FILE = "/home/op/.dcrforge/dcrforge.conf"

const addressFor = (net: NetworkName, seed = 1): string => encodeAddress("p2pkh-ecdsa-secp256k1", new Uint8Array(20).fill(seed), NETWORKS[net])

const SIMNET_ADDRESS = "Sspzuh5xuvqxccYLWJDJjCtqp166NRxcaPB"
const MAINNET_ADDRESS = "DsUZxxoHJSty8DCfwfartwTYbuhmVct7tJu"
const REQUIRED = ["--rpcuser=user", "--rpcpass=hunter2", `--poolfeeaddrs=${SIMNET_ADDRESS}`]

interface Sources {
  readonly env?: Readonly<Record<string, string | undefined>>
  readonly files?: Readonly<Record<string, string>>
}

const load = (argv: ReadonlyArray<string>, sources: Sources = {}) => loadConfig({ argv, env: sources.env ?? {}, readFile: (p) => sources.files?.[p], home: HOME })

const ok = (argv: ReadonlyArray<string>, sources: Sources = {}): PoolConfig => {
  const r = load(argv, sources)
  if (Result.isFailure(r)) throw new Error(`expected a config, got: ${r.failure.message}`)
  return r.success
}

const fails = (argv: ReadonlyArray<string>, sources: Sources = {}): ConfigError => {
  const r = load(argv, sources)
  if (Result.isSuccess(r)) throw new Error("expected a ConfigError")
  return r.failure
}

describe("defaults", () => {
  it("with only the required options, simnet and every documented default", () => {
    const c = ok(REQUIRED)
    expect(c.activeNet).toBe("simnet")
    expect(c.params).toBe(NETWORKS.simnet)
    expect(c.appData).toBe("/home/op/.dcrforge")
    expect(c.dataDir).toBe("/home/op/.dcrforge/data/simnet")
    expect(c.configFile).toBe(DEFAULT_FILE)
    expect(c.configFileRead).toBe(false)
    expect(c.debugLevel).toBe("info")
    expect(c.minerListen).toEqual({ host: "0.0.0.0", port: 5550 })
    expect(c.maxConnPerHost).toBe(100)
    expect(c.dcrdRpcHost).toEqual({ host: "127.0.0.1", port: 19556 })
    expect(c.dcrdRpcCert).toBe("/home/op/.dcrd/rpc.cert")
    expect(c.rpcUser).toBe("user")
    expect(Redacted.value(c.rpcPass)).toBe("hunter2")
    expect(c.walletRpcHost).toEqual({ host: "127.0.0.1", port: 19557 })
    expect(c.walletRpcCert).toBe("/home/op/.dcrwallet/rpc.cert")
    expect(c.walletRpcUser).toBe("user")
    expect(Redacted.value(c.walletRpcPass)).toBe("hunter2")
    expect(c.walletPass).toBeUndefined()
    expect(c.walletAccount).toBe("default")
    expect(c.soloPool).toBe(false)
    expect(c.poolFeeAddrs).toEqual([SIMNET_ADDRESS])
    expect(c.poolFeeBasisPoints).toBe(100)
    expect(c.paymentMethod).toBe("pplns")
    expect(c.pplnsWindow).toEqual({ numerator: 2n, denominator: 1n })
    expect(c.lastNPeriodMs).toBe(24 * 3_600_000)
    expect(c.payoutScheme).toEqual({ kind: "pplns", windowMultiple: { numerator: 2n, denominator: 1n } })
    expect(c.minPaymentAtoms).toBe(10_000_000n)
    expect(c.payoutFeeFrom).toBe("poolfee")
    expect(c.maxGenTimeMs).toBe(15_000)
    expect(c.guiListen).toEqual({ host: "0.0.0.0", port: 8080 })
    expect(c.adminPass).toBeUndefined()
    expect(c.designation).toBe("YourPoolNameHere")
    expect(c.postgres).toBe(false)
    expect(c.postgresHost).toBe("127.0.0.1")
    expect(c.postgresPort).toBe(5432)
    expect(c.postgresUser).toBe("dcrforge")
    expect(c.postgresPass).toBeUndefined()
    expect(c.postgresDbName).toBe("dcrforge")
    expect(c.instance).toBeUndefined()
    expect(c.sources.poolfee).toBe("default")
    expect(c.sources.rpcuser).toBe("--rpcuser")
    expect(c.sources.walletrpcuser).toBe("rpcuser (--rpcuser)")
    expect(c.sources.adminpass).toBe("unset")
  })

  it("secrets stay redacted when printed", () => {
    const c = ok([...REQUIRED, "--walletpass=unlockme", "--adminpass=admin!", "--postgrespass=pg!"])
    const printed = `${String(c.rpcPass)} ${String(c.walletPass)} ${String(c.adminPass)} ${String(c.postgresPass)}`
    for (const secret of ["hunter2", "unlockme", "admin!", "pg!"]) expect(printed).not.toContain(secret)
    expect(c.walletPass === undefined ? undefined : Redacted.value(c.walletPass)).toBe("unlockme")
  })

  it("web UI: adminpass takes a password or a well-formed scrypt hash; HTTPS needs both guicert and guikey; trustproxy is off by default", () => {
    expect(ok(REQUIRED).trustProxy).toBe(false)
    expect(ok(REQUIRED).guiCert).toBeUndefined()
    const hash = hashPassword("pw")
    const c = ok([...REQUIRED, `--adminpass=${hash}`, "--guicert=/etc/pool/gui.cert", "--guikey=/etc/pool/gui.key", "--trustproxy"])
    expect(c.adminPass === undefined ? undefined : Redacted.value(c.adminPass)).toBe(hash)
    expect([c.guiCert, c.guiKey, c.trustProxy]).toEqual(["/etc/pool/gui.cert", "/etc/pool/gui.key", true])
    const mangled = fails([...REQUIRED, "--adminpass=scrypt$1$8$1$salt$hash"])
    expect(mangled.option).toBe("adminpass")
    expect(mangled.message).not.toContain("salt$hash")
    expect(fails([...REQUIRED, "--guicert=/etc/pool/gui.cert"]).option).toBe("guikey")
  })

  it("Prometheus metrics are served unless --metrics=false", () => {
    expect(ok(REQUIRED).metrics).toBe(true)
    expect(ok([...REQUIRED, "--metrics=false"]).metrics).toBe(false)
    expect(fails([...REQUIRED, "--metrics=sometimes"]).option).toBe("metrics")
  })

  it("walletrpcuser and walletrpcpass override rpcuser and rpcpass for the wallet only", () => {
    const c = ok([...REQUIRED, "--walletrpcuser=w", "--walletrpcpass=wpass"])
    expect(c.rpcUser).toBe("user")
    expect(c.walletRpcUser).toBe("w")
    expect(Redacted.value(c.walletRpcPass)).toBe("wpass")
  })

  it("~ expands to the home directory in paths, and appdata moves the config file and datadir", () => {
    const files = { "/home/op/pool/dcrforge.conf": "designation=FromMovedFile\n" }
    const c = ok([...REQUIRED, "--appdata=~/pool", "--dcrdrpccert=~/certs/dcrd.cert"], { files })
    expect(c.appData).toBe("/home/op/pool")
    expect(c.configFile).toBe("/home/op/pool/dcrforge.conf")
    expect(c.dataDir).toBe("/home/op/pool/data/simnet")
    expect(c.dcrdRpcCert).toBe("/home/op/certs/dcrd.cert")
    expect(c.designation).toBe("FromMovedFile")
  })
})

describe("per-network defaults", () => {
  const expected: ReadonlyArray<readonly [NetworkName, number, number | undefined]> = [
    ["mainnet", 9109, 9110],
    ["testnet3", 19109, 19110],
    ["simnet", 19556, 19557],
    ["regnet", 18656, undefined],
  ]
  for (const [net, dcrdPort, walletPort] of expected) {
    it(`${net}: dcrd ${dcrdPort}, dcrwallet ${walletPort ?? "none"}, miners 5550, datadir per network`, () => {
      const argv = ["--activenet=" + net, "--rpcuser=u", "--rpcpass=p", `--poolfeeaddrs=${addressFor(net)}`]
      const c = ok(walletPort === undefined ? [...argv, "--walletrpchost=127.0.0.1:18657"] : argv)
      expect(c.params.name).toBe(net)
      expect(c.dcrdRpcHost).toEqual({ host: "127.0.0.1", port: dcrdPort })
      expect(c.walletRpcHost).toEqual({ host: "127.0.0.1", port: walletPort ?? 18657 })
      expect(c.minerListen).toEqual({ host: "0.0.0.0", port: 5550 })
      expect(c.dataDir).toBe(`/home/op/.dcrforge/data/${net}`)
    })
  }

  it("the table agrees with the chain parameters' ports (dcrd params.go, dcrwallet netparams)", () => {
    for (const net of NETWORK_NAMES) {
      expect(NETWORK_DEFAULTS[net].dcrdRpcPort).toBe(NETWORKS[net].ports.dcrdRpc)
      expect(NETWORK_DEFAULTS[net].walletRpcPort).toBe(NETWORKS[net].ports.walletRpc)
    }
  })

  it("regnet has no dcrwallet: pool mode needs walletrpchost, a solo pool does not", () => {
    const argv = ["--activenet=regnet", "--rpcuser=u", "--rpcpass=p"]
    const e = fails([...argv, `--poolfeeaddrs=${addressFor("regnet")}`])
    expect(e.option).toBe("walletrpchost")
    expect(e.message).toContain("no regnet network")
    expect(e.message).toContain("--walletrpchost=")
    expect(ok([...argv, "--solopool"]).walletRpcHost).toBeUndefined()
  })

  it("a host without a port gets the network's port", () => {
    const c = ok([...REQUIRED, "--activenet=simnet", "--dcrdrpchost=node.lan", "--walletrpchost=[::1]"])
    expect(c.dcrdRpcHost).toEqual({ host: "node.lan", port: 19556 })
    expect(c.walletRpcHost).toEqual({ host: "::1", port: 19557 })
  })
})

describe("precedence: flag > env > file > default", () => {
  it("poolfee from each source in turn", () => {
    const files = { [DEFAULT_FILE]: "poolfee=0.03\n" }
    const env = { DCRFORGE_POOLFEE: "0.02" }
    expect(ok([...REQUIRED, "--poolfee=0.04"], { env, files }).poolFeeBasisPoints).toBe(400)
    expect(ok(REQUIRED, { env, files }).poolFeeBasisPoints).toBe(200)
    expect(ok(REQUIRED, { files }).poolFeeBasisPoints).toBe(300)
    expect(ok(REQUIRED).poolFeeBasisPoints).toBe(100)
    expect(ok(REQUIRED, { env, files }).sources.poolfee).toBe("env DCRFORGE_POOLFEE")
    expect(ok(REQUIRED, { files }).sources.poolfee).toBe(`${DEFAULT_FILE}:1`)
  })

  it("property: the value comes from the highest source that sets it, and sources names that source", () => {
    const word = fc.stringMatching(/^[A-Za-z][A-Za-z0-9]{0,11}$/)
    fc.assert(
      fc.property(fc.option(word, { nil: undefined }), fc.option(word, { nil: undefined }), fc.option(word, { nil: undefined }), (flag, env, file) => {
        const argv = flag === undefined ? REQUIRED : [...REQUIRED, "--designation", flag]
        const c = ok(argv, {
          env: env === undefined ? {} : { DCRFORGE_DESIGNATION: env },
          files: file === undefined ? {} : { [DEFAULT_FILE]: `designation = ${file}\n` },
        })
        expect(c.designation).toBe(flag ?? env ?? file ?? "YourPoolNameHere")
        const source = flag !== undefined ? "--designation" : env !== undefined ? "env DCRFORGE_DESIGNATION" : file !== undefined ? `${DEFAULT_FILE}:1` : "default"
        expect(c.sources.designation).toBe(source)
      }),
    )
  })

  it("the network from the file sets the per-network defaults", () => {
    const files = { [DEFAULT_FILE]: "activenet=mainnet\n" }
    const c = ok(["--rpcuser=u", "--rpcpass=p", `--poolfeeaddrs=${MAINNET_ADDRESS}`], { files })
    expect(c.activeNet).toBe("mainnet")
    expect(c.dcrdRpcHost.port).toBe(9109)
  })

  it("an empty environment variable counts as unset", () => {
    expect(ok(REQUIRED, { env: { DCRFORGE_POOLFEE: "" } }).poolFeeBasisPoints).toBe(100)
  })

  it("a later flag replaces an earlier one; repeated poolfeeaddrs add up", () => {
    const second = addressFor("simnet", 2)
    const c = ok([...REQUIRED, "--poolfee=0.02", "--poolfee=0.03", `--poolfeeaddrs=${second}`])
    expect(c.poolFeeBasisPoints).toBe(300)
    expect(c.poolFeeAddrs).toEqual([SIMNET_ADDRESS, second])
  })
})

describe("flags and the environment", () => {
  it("--name value, --name=value, and booleans as --flag or --flag=false", () => {
    const c = ok([...REQUIRED, "--designation", "Spaced Name", "--solopool", "--postgres=false", "--maxconnperhost", "7"])
    expect(c.designation).toBe("Spaced Name")
    expect(c.soloPool).toBe(true)
    expect(c.payoutScheme).toEqual({ kind: "solo", atMiningAddress: true })
    expect(c.postgres).toBe(false)
    expect(c.maxConnPerHost).toBe(7)
    expect(ok([...REQUIRED, "--solopool=false"]).soloPool).toBe(false)
    expect(ok(REQUIRED, { env: { DCRFORGE_SOLOPOOL: "1", DCRFORGE_POSTGRES: "true" } }).postgres).toBe(true)
  })

  it("a bad argument says how to write it", () => {
    expect(fails([...REQUIRED, "--solopool", "false"]).message).toContain("--solopool=false")
    expect(fails([...REQUIRED, "-h"]).message).toContain("flags are long")
    expect(fails([...REQUIRED, "mainnet"]).message).toContain("--name=value")
    const noValue = fails([...REQUIRED, "--poolfee"])
    expect(noValue.option).toBe("poolfee")
    expect(noValue.message).toBe("--poolfee needs a value: set e.g. --poolfee=0.01")
    expect(fails(["--rpcuser", "--rpcpass=p"]).message).toContain("--rpcuser needs a value")
  })

  it("DCRFORGE_ variables that are test knobs, and other variables, are ignored", () => {
    const env = { DCRFORGE_VECTORS: "../shared/vectors", DCRFORGE_LOAD_MINERS: "5000", PATH: "/usr/bin", HOME: "/x" }
    expect(ok(REQUIRED, { env }).activeNet).toBe("simnet")
  })

  it("environment variable names are the option names upper-cased", () => {
    expect(envName("poolfee")).toBe("DCRFORGE_POOLFEE")
    const env = Object.fromEntries(OPTION_NAMES.map((n) => [envName(n), undefined]))
    expect(ok(REQUIRED, { env }).activeNet).toBe("simnet")
  })
})

describe("the config file", () => {
  it("reads go-flags INI: sections, # and ; comments, spaces around =, quotes, CRLF, a bare boolean", () => {
    const text = [
      "\uFEFF[Application Options]",
      "# a comment",
      "; another",
      "",
      "  activenet = testnet3  ",
      'designation = "Quoted Pool"',
      "solopool",
      "rpcuser=fileuser",
      "rpcpass=filepass",
      "[application options]",
      "paymentmethod=pplns-time",
      "lastnperiod=5m",
    ].join("\r\n")
    const c = ok([], { files: { [DEFAULT_FILE]: text } })
    expect(c.configFileRead).toBe(true)
    expect(c.activeNet).toBe("testnet3")
    expect(c.designation).toBe("Quoted Pool")
    expect(c.soloPool).toBe(true)
    expect(c.rpcUser).toBe("fileuser")
    expect(c.lastNPeriodMs).toBe(300_000)
    expect(c.sources.lastnperiod).toBe(`${DEFAULT_FILE}:12`)
  })

  it("an explicit --configfile or DCRFORGE_CONFIGFILE is read instead of the default", () => {
    const files = { "/etc/dcrforge.conf": "poolfee=0.02\n", [DEFAULT_FILE]: "poolfee=0.03\n" }
    expect(ok([...REQUIRED, "--configfile=/etc/dcrforge.conf"], { files }).poolFeeBasisPoints).toBe(200)
    expect(ok(REQUIRED, { files, env: { DCRFORGE_CONFIGFILE: "/etc/dcrforge.conf" } }).poolFeeBasisPoints).toBe(200)
  })

  it("a missing explicit config file is an error naming the path and the fix; a missing default file is fine", () => {
    const e = fails([...REQUIRED, "--configfile=/etc/nope.conf"])
    expect(e.option).toBe("configfile")
    expect(e.problem).toBe("missing-file")
    expect(e.source).toBe("--configfile")
    expect(e.message).toBe(`configfile=/etc/nope.conf (from --configfile): the file does not exist or cannot be read; create it, correct the path, or drop --configfile to use ${DEFAULT_FILE}`)
    const fromEnv = fails(REQUIRED, { env: { DCRFORGE_CONFIGFILE: "~/x.conf" } })
    expect(fromEnv.message).toContain("configfile=/home/op/x.conf (from env DCRFORGE_CONFIGFILE)")
    expect(fromEnv.message).toContain("drop DCRFORGE_CONFIGFILE")
    expect(ok(REQUIRED).configFileRead).toBe(false)
  })

  it("appdata and configfile cannot be set in the file that they locate", () => {
    const e = fails(REQUIRED, { files: { [DEFAULT_FILE]: "# c\nappdata=/srv/pool\n" } })
    expect(e.option).toBe("appdata")
    expect(e.source).toBe(`${DEFAULT_FILE}:2`)
    expect(e.message).toContain("--appdata=")
    expect(e.message).toContain("DCRFORGE_APPDATA")
  })

  it("malformed lines name the file and line", () => {
    const header = fails(REQUIRED, { files: { [DEFAULT_FILE]: "[Application Options\n" } })
    expect(header.message).toContain(`${DEFAULT_FILE}:1`)
    const noValue = fails(REQUIRED, { files: { [DEFAULT_FILE]: "\n\npoolfee\n" } })
    expect(noValue.option).toBe("poolfee")
    expect(noValue.message).toContain(`${DEFAULT_FILE}:3`)
    expect(noValue.message).toContain("set e.g. poolfee=0.01")
  })
})

describe("exact decimals: poolfee, minpayment, pplnswindow", () => {
  const fee = (text: string) => ok([...REQUIRED, `--poolfee=${text}`]).poolFeeBasisPoints

  it("poolfee parses to basis points without floating point", () => {
    expect(fee("0.01")).toBe(100)
    expect(fee("0.002")).toBe(20)
    expect(fee("0.05")).toBe(500)
    expect(fee("0.0125")).toBe(125)
    expect(fee(".03")).toBe(300)
    expect(fee("0.0300000")).toBe(300)
    expect(fee("0.029")).toBe(290) // 0.029 * 10000 is 289.99999999999994 in floating point
  })

  it("property: every basis-point fee from 0.002 to 0.05, written as a decimal, parses back exactly", () => {
    fc.assert(
      fc.property(fc.integer({ min: 20, max: 500 }), fc.integer({ min: 0, max: 4 }), (bp, zeros) => {
        const text = `0.${String(bp).padStart(4, "0")}${"0".repeat(zeros)}`
        expect(fee(text)).toBe(bp)
      }),
    )
  })

  it("poolfee out of range, finer than a basis point, or not a decimal: named with the fix", () => {
    expect(fails([...REQUIRED, "--poolfee=0.5"]).message).toBe("poolfee=0.5 (from --poolfee): must be between 0.002 and 0.05 (0.2%-5%); set e.g. --poolfee=0.01")
    expect(fails([...REQUIRED, "--poolfee=0.001"]).message).toContain("must be between 0.002 and 0.05")
    expect(fails([...REQUIRED, "--poolfee=0.00125"]).message).toContain("finer than a basis point")
    expect(fails([...REQUIRED, "--poolfee=1%"]).message).toContain('"1%" is not a fraction')
    expect(fails([...REQUIRED, "--poolfee=-0.01"]).message).toContain("is not a fraction")
  })

  it("property: any atoms amount formatted as a DCR decimal parses back to exactly those atoms", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: MAX_ATOMS }), (atoms) => {
        expect(ok([...REQUIRED, `--minpayment=${atomsToDcr(atoms)}`]).minPaymentAtoms).toBe(atoms)
      }),
    )
  })

  it("minpayment: 8 decimal places at most, at most 21 million DCR", () => {
    expect(ok([...REQUIRED, "--minpayment=0.00000001"]).minPaymentAtoms).toBe(1n)
    expect(ok([...REQUIRED, "--minpayment=21000000"]).minPaymentAtoms).toBe(21_000_000n * ATOMS_PER_DCR)
    const places = fails([...REQUIRED, "--minpayment=0.000000001"])
    expect(places.option).toBe("minpayment")
    expect(places.message).toContain("more than 8 decimal places")
    expect(places.message).toContain("set e.g. --minpayment=0.1")
    expect(fails([...REQUIRED, "--minpayment=21000000.00000001"]).message).toContain("21000000 DCR that can exist")
    expect(fails([...REQUIRED, "--minpayment=1e-3"]).message).toContain("not an amount in DCR")
  })

  it("property: a decimal pplnswindow is the exact ratio digits / 10^places", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 10_000_000 }), fc.integer({ min: 0, max: 6 }), (digits, places) => {
        const s = String(digits).padStart(places + 1, "0")
        const text = places === 0 ? s : `${s.slice(0, s.length - places)}.${s.slice(s.length - places)}`
        const w = ok([...REQUIRED, `--pplnswindow=${text}`]).pplnsWindow
        expect(w.numerator * 10n ** BigInt(places)).toBe(BigInt(digits) * w.denominator)
      }),
    )
  })

  it("pplnswindow: 1.25 is 5/4, and 0 is refused", () => {
    expect(ok([...REQUIRED, "--pplnswindow=1.25"]).pplnsWindow).toEqual({ numerator: 5n, denominator: 4n })
    expect(fails([...REQUIRED, "--pplnswindow=0"]).message).toContain("pplnswindow=0 (from --pplnswindow): must be more than 0")
  })
})

describe("durations", () => {
  it("Go-style durations to whole milliseconds", () => {
    const cases: ReadonlyArray<readonly [string, number]> = [
      ["24h", 86_400_000],
      ["5m", 300_000],
      ["90s", 90_000],
      ["1h30m", 5_400_000],
      ["1.5s", 1_500],
      ["250ms", 250],
      ["2m30s500ms", 150_500],
    ]
    for (const [text, ms] of cases) expect(Result.getOrThrow(parseDuration(text))).toBe(ms)
    for (const bad of ["90", "1d", "", "h", "5 m", "-5s", "0.5ms"]) expect(Result.isFailure(parseDuration(bad))).toBe(true)
  })

  it("property: formatDuration gives a duration that parses back to the same milliseconds", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 10 * 86_400_000 }), (ms) => {
        expect(Result.getOrThrow(parseDuration(formatDuration(ms)))).toBe(ms)
      }),
    )
  })

  it("lastnperiod at least 60s, maxgentime at least 2s, with the fix", () => {
    expect(ok([...REQUIRED, "--paymentmethod=pplns-time", "--lastnperiod=60s"]).lastNPeriodMs).toBe(60_000)
    expect(ok([...REQUIRED, "--maxgentime=2s"]).maxGenTimeMs).toBe(2_000)
    expect(fails([...REQUIRED, "--lastnperiod=59s"]).message).toBe("lastnperiod=59s (from --lastnperiod): must be at least 60s; set e.g. --lastnperiod=24h")
    expect(fails([...REQUIRED, "--maxgentime=1500ms"]).message).toBe("maxgentime=1500ms (from --maxgentime): must be at least 2s; set e.g. --maxgentime=15s")
    expect(fails([...REQUIRED, "--maxgentime=15"]).message).toContain("use a number and a unit")
  })

  it("a window the payment method does not read is refused with the fix, not ignored", () => {
    expect(fails([...REQUIRED, "--lastnperiod=5m"]).message).toBe(
      "lastnperiod=5m (from --lastnperiod) sets the window of paymentmethod=pplns-time only, and the method is pplns: set paymentmethod=pplns-time (dcrpool's pplns), or remove lastnperiod",
    )
    expect(fails([...REQUIRED, "--paymentmethod=pps", "--pplnswindow=3"]).option).toBe("pplnswindow")
    expect(ok([...REQUIRED, "--solopool", "--lastnperiod=5m"]).soloPool).toBe(true)
  })

  it("payment methods select the payout scheme; pplns-time uses lastnperiod", () => {
    expect(ok([...REQUIRED, "--paymentmethod=pplns-time", "--lastnperiod=5m"]).payoutScheme).toEqual({ kind: "pplns-time", periodMs: 300_000 })
    expect(ok([...REQUIRED, "--paymentmethod=pps"]).payoutScheme).toEqual({ kind: "pps" })
    expect(ok([...REQUIRED, "--paymentmethod=proportional"]).payoutScheme).toEqual({ kind: "proportional" })
  })

  it("payoutfeefrom picks whose outputs pay a payout's network fee: the pool fee's by default, or the miners'", () => {
    expect(ok([...REQUIRED, "--payoutfeefrom=miners"]).payoutFeeFrom).toBe("miners")
    expect(ok(REQUIRED, { env: { DCRFORGE_PAYOUTFEEFROM: "poolfee" } }).payoutFeeFrom).toBe("poolfee")
  })
})

describe("every error names the option, the source and the fix", () => {
  const cases: ReadonlyArray<readonly [string, ReadonlyArray<string>, Sources, string, string]> = [
    ["activenet", ["--activenet=mainnett"], {}, "--activenet", "must be one of mainnet, testnet3, simnet, regnet"],
    ["debuglevel", [], { env: { DCRFORGE_DEBUGLEVEL: "verbose" } }, "env DCRFORGE_DEBUGLEVEL", "set e.g. DCRFORGE_DEBUGLEVEL=debug"],
    ["minerlisten", ["--minerlisten=0.0.0.0:70000"], {}, "--minerlisten", "is not a port"],
    ["maxconnperhost", ["--maxconnperhost=0"], {}, "--maxconnperhost", "from 1 to 1000000"],
    ["dcrdrpchost", ["--dcrdrpchost=::1"], {}, "--dcrdrpchost", "[::1]:19556"],
    ["dcrdrpchost", ["--dcrdrpchost=:19556"], {}, "--dcrdrpchost", "has no host"],
    ["paymentmethod", ["--paymentmethod=pplnz"], {}, "--paymentmethod", "pplns, pps, proportional, pplns-time"],
    ["payoutfeefrom", ["--payoutfeefrom=wallet"], {}, "--payoutfeefrom", "must be one of poolfee, miners; set e.g. --payoutfeefrom=miners"],
    ["solopool", [], { files: { [DEFAULT_FILE]: "solopool=maybe" } }, `${DEFAULT_FILE}:1`, `set e.g. solopool=true at ${DEFAULT_FILE}:1`],
    ["postgresport", ["--postgresport=0"], {}, "--postgresport", "set e.g. --postgresport=5432"],
    ["postgreshost", ["--postgreshost=db:5432"], {}, "--postgreshost", "port in postgresport"],
    ["designation", ["--designation="], {}, "--designation", "must not be empty"],
    ["instance", ["--instance=pool 1"], {}, "--instance", "set e.g. --instance=pool-1"],
    ["rpcpass", ["--rpcpass="], {}, "--rpcpass", "rpcpass=<redacted>"],
  ]
  for (const [option, argv, sources, source, text] of cases) {
    it(`${option} (${source}): "${text}"`, () => {
      const e = fails([...REQUIRED, ...argv], sources)
      expect(e._tag).toBe("ConfigError")
      expect(e.option).toBe(option)
      expect(e.source).toBe(source)
      expect(e.message.startsWith(`${option}=`)).toBe(true)
      expect(e.message).toContain(source)
      expect(e.message).toContain("set e.g.")
      expect(e.message).toContain(text)
    })
  }

  it("rpcuser and rpcpass are required in every mode, with every way to set them", () => {
    for (const mode of [[], ["--solopool"]]) {
      const user = fails(["--rpcpass=p", ...mode])
      expect(user.option).toBe("rpcuser")
      expect(user.problem).toBe("missing-value")
      expect(user.message).toBe(
        `rpcuser is not set: dcrd's RPC user name is required (dcrd's --rpcuser); set e.g. --rpcuser=<dcrd's rpcuser> (or DCRFORGE_RPCUSER=<dcrd's rpcuser>, or rpcuser=<dcrd's rpcuser> in ${DEFAULT_FILE})`,
      )
      const pass = fails(["--rpcuser=u", ...mode])
      expect(pass.option).toBe("rpcpass")
      expect(pass.message).toContain("--rpcpass=")
    }
  })

  it("poolfeeaddrs is required in pool mode and not in solo mode", () => {
    const e = fails(["--rpcuser=u", "--rpcpass=p"])
    expect(e.option).toBe("poolfeeaddrs")
    expect(e.message).toContain("poolfeeaddrs is not set")
    expect(e.message).toContain("--poolfeeaddrs=<simnet address>")
    expect(e.message).toContain("--solopool")
    expect(fails(["--rpcuser=u", "--rpcpass=p", "--poolfeeaddrs= , "]).option).toBe("poolfeeaddrs")
    expect(ok(["--rpcuser=u", "--rpcpass=p", "--solopool"]).poolFeeAddrs).toEqual([])
  })
})

describe("Decred's config form", () => {
  it("-C <file> and -C<file> (dcrd's short flag) read that file; -A <dir> moves appdata", () => {
    const files = { "/etc/pool.conf": "poolfee=0.02\n", "/srv/pool/dcrforge.conf": "poolfee=0.03\n" }
    expect(ok([...REQUIRED, "-C", "/etc/pool.conf"], { files }).poolFeeBasisPoints).toBe(200)
    expect(ok([...REQUIRED, "-C/etc/pool.conf"], { files }).sources.configfile).toBe("-C")
    expect(ok(["-A", "/srv/pool", ...REQUIRED], { files }).poolFeeBasisPoints).toBe(300)
    expect(fails([...REQUIRED, "-C"]).message).toContain("-C needs a value")
  })

  it("options under another section are refused with the line, not read or ignored", () => {
    const e = fails(REQUIRED, { files: { [DEFAULT_FILE]: "[Application Options]\npoolfee=0.02\n[Ticket Buyer]\npoolfee=0.03\n" } })
    expect(e.message).toBe(`${DEFAULT_FILE}:3: section [Ticket Buyer] is not one dcrforge reads (its options are under [Application Options], as dcrd's): move its lines there`)
  })

  it("every bad line of a file is named at once, each with its fix", () => {
    const e = fails(REQUIRED, { files: { [DEFAULT_FILE]: "poolfees=0.01\nappdata=/x\nminpayment\n" } })
    expect(e.problem).toBe("several")
    expect(e.message.split("\n")).toEqual([
      `${DEFAULT_FILE} has 3 lines to change:`,
      `  unknown option poolfees (from ${DEFAULT_FILE}:1): did you mean poolfee? set e.g. poolfee=0.01 at ${DEFAULT_FILE}:1`,
      `  appdata cannot be set in the config file (from ${DEFAULT_FILE}:2), as it locates that file: set it with --appdata=<value> or DCRFORGE_APPDATA, and remove line 2`,
      `  minpayment has no value (from ${DEFAULT_FILE}:3): write name=value, set e.g. minpayment=0.1 at ${DEFAULT_FILE}:3`,
    ])
  })
})

describe("an operator's dcrpool.conf", () => {
  const DCRPOOL_FILE = "/home/op/.dcrpool/dcrpool.conf"
  /** A dcrpool pool-mode config as its harness writes one (options in dcrpool's names). */
  const dcrpoolConf = [
    "[Application Options]",
    "rpcuser=user",
    "rpcpass=pass",
    "dcrdrpchost=127.0.0.1:19556",
    "dcrdrpccert=/home/op/.dcrd/rpc.cert",
    "walletgrpchost=127.0.0.1:19558",
    "walletrpccert=/home/op/.dcrwallet/rpc.cert",
    "debuglevel=trace",
    "maxgentime=20s",
    "solopool=0",
    "activenet=simnet",
    "walletpass=walletpass",
    `poolfeeaddrs=${SIMNET_ADDRESS}`,
    "paymentmethod=pplns",
    "lastnperiod=5m",
    "adminpass=adminpass",
    "guidir=../gui",
    "designation=harness",
    "profile=6060",
    "tlscert=/home/op/.dcrpool/dcrpool.cert",
    "tlskey=/home/op/.dcrpool/dcrpool.key",
    "walletaccount=0",
  ]

  it("gets one line per option that differs, naming what to write instead; the rest is read as dcrpool meant it", () => {
    const e = fails(["-C", DCRPOOL_FILE], { files: { [DCRPOOL_FILE]: dcrpoolConf.join("\n") } })
    expect(e.message.split("\n")).toEqual([
      `${DCRPOOL_FILE} has 4 lines to change:`,
      `  ${DCRPOOL_FILE}:6: walletgrpchost=127.0.0.1:19558 is dcrpool's and differs in dcrforge: write walletrpchost=127.0.0.1:19557 (dcrforge pays through dcrwallet's JSON-RPC listener, not its gRPC one)`,
      `  ${DCRPOOL_FILE}:17: guidir=../gui is dcrpool's and differs in dcrforge: remove the line (the web UI is built in)`,
      `  ${DCRPOOL_FILE}:19: profile=6060 is dcrpool's and differs in dcrforge: remove the line (dcrforge has no profiling server; its metrics are at /metrics)`,
      `  ${DCRPOOL_FILE}:14: paymentmethod=pplns is dcrpool's and differs in dcrforge: write paymentmethod=pplns-time (dcrpool's pplns pays the shares of the last lastnperiod, which is dcrforge's pplns-time; dcrforge's pplns counts a window of work (pplnswindow))`,
    ])
    // With those four lines changed as told, the same file runs the pool dcrpool ran.
    const fixed = dcrpoolConf
      .filter((l) => !l.startsWith("guidir") && !l.startsWith("profile"))
      .map((l) => (l.startsWith("walletgrpchost") ? "walletrpchost=127.0.0.1:19557" : l === "paymentmethod=pplns" ? "paymentmethod=pplns-time" : l))
    const c = ok(["-C", DCRPOOL_FILE], { files: { [DCRPOOL_FILE]: fixed.join("\n") } })
    expect(c.payoutScheme).toEqual({ kind: "pplns-time", periodMs: 300_000 })
    expect(c.walletRpcHost).toEqual({ host: "127.0.0.1", port: 19557 })
    expect(c.soloPool).toBe(false)
    expect(c.maxGenTimeMs).toBe(20_000)
    expect(c.debugLevel).toBe("trace")
    expect(c.guiCert).toBe("/home/op/.dcrpool/dcrpool.cert")
    expect(c.guiKey).toBe("/home/op/.dcrpool/dcrpool.key")
    expect(c.walletAccount).toBe("default")
    expect(Redacted.value(c.walletPass!)).toBe("walletpass")
  })

  it("dcrpool's pps is dcrforge's proportional, and its default pplns is pplns-time: said, never run as another scheme", () => {
    const ppsFile = fails(["-C", DCRPOOL_FILE], { files: { [DCRPOOL_FILE]: `rpcuser=u\nrpcpass=p\npoolfeeaddrs=${SIMNET_ADDRESS}\npaymentmethod=pps\n` } })
    expect(ppsFile.message).toContain("paymentmethod=pps is dcrpool's and differs in dcrforge: write paymentmethod=proportional")
    const unset = fails(["-C", DCRPOOL_FILE], { files: { [DCRPOOL_FILE]: `rpcuser=u\nrpcpass=p\npoolfeeaddrs=${SIMNET_ADDRESS}\n` } })
    expect(unset.message).toContain("paymentmethod is not set, and this is a dcrpool config: write paymentmethod=pplns-time")
    // The same lines in dcrforge's own file mean dcrforge's schemes.
    expect(ok([], { files: { [DEFAULT_FILE]: `rpcuser=u\nrpcpass=p\npoolfeeaddrs=${SIMNET_ADDRESS}\npaymentmethod=pps\n` } }).payoutScheme).toEqual({ kind: "pps" })
  })

  it("property: every dcrpool option dcrforge reads differently is refused with a fix, from a file, a flag or the environment", () => {
    const differs = [
      "walletgrpchost",
      "wallettlscert",
      "wallettlskey",
      "logdir",
      "dbfile",
      "guidir",
      "domain",
      "uselehttps",
      "profile",
      "conftimeout",
      "gencertsonly",
      "purgedb",
      "monitorcycle",
      "maxupgradetries",
    ]
    fc.assert(
      fc.property(fc.constantFrom(...differs), fc.constantFrom("file", "flag", "env"), fc.stringMatching(/^[a-z0-9./:]{1,12}$/), (name, where, value) => {
        const e =
          where === "file"
            ? // paymentmethod set, to a method that means the same in dcrpool and dcrforge: only the option differs.
              fails(REQUIRED, { files: { [DEFAULT_FILE]: `paymentmethod=proportional\n${name}=${value}\n` } })
            : where === "flag"
              ? fails([...REQUIRED, `--${name}=${value}`])
              : fails(REQUIRED, { env: { [`DCRFORGE_${name.toUpperCase()}`]: value } })
        expect(e.problem).toBe("dcrpool-option")
        expect(e.message).toMatch(/is dcrpool's and differs in dcrforge: (write |remove the line|drop )/)
      }),
      { numRuns: 60 },
    )
  })

  it("dcrpool's same-meaning names in dcrforge's own file leave its schemes dcrforge's; noguitls=true is plain HTTP, refused beside a certificate", () => {
    const own = `rpcuser=u\nrpcpass=p\npoolfeeaddrs=${SIMNET_ADDRESS}\npaymentmethod=pplns\ntlscert=/c.pem\ntlskey=/k.pem\n`
    expect(ok([], { files: { [DEFAULT_FILE]: own } })).toMatchObject({ paymentMethod: "pplns", guiCert: "/c.pem", guiKey: "/k.pem" })
    const plain = `rpcuser=u\nrpcpass=p\npoolfeeaddrs=${SIMNET_ADDRESS}\npaymentmethod=proportional\nnoguitls=true\n`
    expect(ok([], { files: { [DEFAULT_FILE]: plain } }).guiCert).toBeUndefined()
    expect(fails([], { files: { [DEFAULT_FILE]: `${plain}tlscert=/c.pem\ntlskey=/k.pem\n` } }).message).toContain(
      "noguitls=true is dcrpool's and differs in dcrforge: remove the line (this file also sets a TLS certificate",
    )
  })

  it("walletaccount: dcrpool's account 0 is dcrwallet's \"default\"; another number asks for the account's name", () => {
    expect(ok([...REQUIRED, "--walletaccount=0"]).walletAccount).toBe("default")
    expect(fails([...REQUIRED, "--walletaccount=2"]).message).toContain("give the name of account 2")
  })
})

describe("writeconfig: the sample config", () => {
  const sample = (argv: ReadonlyArray<string> = []) => {
    const r = writeConfigRequest({ argv, env: {}, readFile: () => undefined, home: HOME })
    if (Result.isFailure(r)) throw new Error(r.failure.message)
    return r.success
  }
  /** The sample with every `; name=value` line that has a value uncommented. */
  const uncommented = (text: string) => text.replace(/^; ([a-z]+)=(.+)$/gm, "$1=$2")
  const withoutSources = (c: PoolConfig) => {
    const { sources: _sources, configFileRead: _read, ...rest } = c
    return rest
  }

  it("loads as it is, and with every option line uncommented gives back every default, for each network", () => {
    for (const net of NETWORK_NAMES) {
      const { path, text } = sample(net === "simnet" ? [] : [`--activenet=${net}`])
      expect(path).toBe(DEFAULT_FILE)
      const required = ["--rpcuser=u", "--rpcpass=p", `--poolfeeaddrs=${addressFor(net)}`, ...(net === "regnet" ? ["--walletrpchost=127.0.0.1:1"] : [])]
      const defaults = ok([...required, `--activenet=${net}`])
      expect(withoutSources(ok(required, { files: { [DEFAULT_FILE]: text } })), net).toEqual(withoutSources(defaults))
      const set = ok(required, { files: { [DEFAULT_FILE]: uncommented(text) } })
      expect(withoutSources(set), net).toEqual(withoutSources(defaults))
      // Every option the file may hold is in the sample, and every one with a default came from it.
      const fromFile = OPTION_NAMES.filter((n) => set.sources[n].startsWith(`${DEFAULT_FILE}:`))
      expect(new Set(fromFile), net).toEqual(new Set(OPTION_NAMES.filter((n) => new RegExp(`^(; )?${n}=.+$`, "m").test(text))))
      expect(fromFile.length, net).toBeGreaterThan(25)
    }
  })

  it("lists every option but appdata and configfile, each with its help and default", () => {
    const { text } = sample()
    for (const name of OPTION_NAMES) {
      if (name === "appdata" || name === "configfile") expect(text, name).not.toMatch(new RegExp(`^; ${name}=`, "m"))
      else expect(text, name).toMatch(new RegExp(`^; ${name}=`, "m"))
    }
    expect(text).toContain("[Application Options]")
  })

  it("goes where -C, --appdata or the default say, and refuses options it does not read", () => {
    expect(sample(["-C", "/etc/dcrforge.conf"]).path).toBe("/etc/dcrforge.conf")
    expect(sample(["--appdata=~/pool"]).path).toBe("/home/op/pool/dcrforge.conf")
    expect(sample(["--appdata=~/pool"]).text).toContain("; datadir=~/pool/data/simnet")
    const r = writeConfigRequest({ argv: ["--poolfee=0.02"], env: {}, readFile: () => undefined, home: HOME })
    expect(Result.isFailure(r) && r.failure.message).toContain("writeconfig writes every option at its default")
  })
})

describe("unknown options name the closest known one", () => {
  it("a flag", () => {
    const e = fails([...REQUIRED, "--poolfees=0.01"])
    expect(e.problem).toBe("unknown-option")
    expect(e.option).toBe("--poolfees")
    expect(e.message).toBe("unknown option --poolfees (from --poolfees): did you mean --poolfee? set e.g. --poolfee=0.01")
  })

  it("an environment variable", () => {
    const e = fails(REQUIRED, { env: { DCRFORGE_MINPAYMNT: "1" } })
    expect(e.option).toBe("DCRFORGE_MINPAYMNT")
    expect(e.message).toContain("did you mean DCRFORGE_MINPAYMENT?")
  })

  it("a config file key, with its line", () => {
    const e = fails(REQUIRED, { files: { [DEFAULT_FILE]: "poolfee=0.01\nwalletrpchst=127.0.0.1:19557\n" } })
    expect(e.source).toBe(`${DEFAULT_FILE}:2`)
    expect(e.message).toContain("did you mean walletrpchost?")
    expect(e.message).toContain(`at ${DEFAULT_FILE}:2`)
  })

  it("dcrpool names dcrforge spells differently say what to write instead", () => {
    expect(fails([...REQUIRED, "--walletgrpchost=127.0.0.1:19558"]).message).toBe(
      "--walletgrpchost=127.0.0.1:19558 is dcrpool's and differs in dcrforge: write --walletrpchost=127.0.0.1:<dcrwallet's JSON-RPC port> (dcrforge pays through dcrwallet's JSON-RPC listener, not its gRPC one)",
    )
    expect(fails([...REQUIRED, "--homedir=/x"]).message).toContain("write --appdata=/x")
    expect(fails(REQUIRED, { env: { DCRFORGE_LOGDIR: "/var/log/pool" } }).message).toBe(
      "DCRFORGE_LOGDIR=/var/log/pool is dcrpool's and differs in dcrforge: drop DCRFORGE_LOGDIR (dcrforge logs to standard error, for journald or docker to keep; debuglevel sets how much)",
    )
  })
})

describe("pool fee addresses are checked against the active network", () => {
  it("another network's address is named with its position and the network", () => {
    const e = fails(["--rpcuser=u", "--rpcpass=p", `--poolfeeaddrs=${SIMNET_ADDRESS},${MAINNET_ADDRESS}`])
    expect(e.option).toBe("poolfeeaddrs")
    expect(e.message).toContain("address 2 of 2 is bad")
    expect(e.message).toContain(`"${MAINNET_ADDRESS}" is a mainnet address, but this is simnet`)
    expect(e.message).toContain("set e.g. --poolfeeaddrs=<simnet address>")
  })

  it("a mistyped address (bad checksum, not base58) says so", () => {
    const typo = SIMNET_ADDRESS.slice(0, -1) + (SIMNET_ADDRESS.endsWith("B") ? "C" : "B")
    expect(fails(["--rpcuser=u", "--rpcpass=p", `--poolfeeaddrs=${typo}`]).message).toContain("bad checksum")
    expect(fails(["--rpcuser=u", "--rpcpass=p", "--poolfeeaddrs=Ss0OIl"]).message).toContain("is not base58")
  })

  it("several addresses, comma-separated with spaces, are all kept", () => {
    const c = ok(["--rpcuser=u", "--rpcpass=p", `--poolfeeaddrs=${addressFor("simnet", 3)}, ${addressFor("simnet", 4)}`])
    expect(c.poolFeeAddrs).toEqual([addressFor("simnet", 3), addressFor("simnet", 4)])
  })
})

describe("feeaddrpolicy", () => {
  it("rotate (the default) pays the fee to every poolfeeaddrs address in turn; first pays only the first", () => {
    const [a, b] = [addressFor("simnet", 3), addressFor("simnet", 4)]
    const base = ["--rpcuser=u", "--rpcpass=p", `--poolfeeaddrs=${a}`, `--poolfeeaddrs=${b}`]
    expect(ok(base)).toMatchObject({ feeAddrPolicy: "rotate", feeAddressesInTurn: [a, b] })
    expect(ok([...base, "--feeaddrpolicy=first"])).toMatchObject({ feeAddrPolicy: "first", feeAddressesInTurn: [a] })
    expect(fails([...base, "--feeaddrpolicy=random"]).message).toBe("feeaddrpolicy=random (from --feeaddrpolicy): must be one of rotate, first; set e.g. --feeaddrpolicy=rotate")
  })
})

describe("ppsreservelow", () => {
  it("0 DCR by default; a DCR amount, negative allowed, in exact atoms", () => {
    expect(ok(REQUIRED).ppsReserveLowAtoms).toBe(0n)
    expect(ok([...REQUIRED, "--ppsreservelow=-50.5"]).ppsReserveLowAtoms).toBe(-5_050_000_000n)
    expect(ok([...REQUIRED, "--ppsreservelow=2"]).ppsReserveLowAtoms).toBe(200_000_000n)
    expect(fails([...REQUIRED, "--ppsreservelow=lots"]).message).toContain("ppsreservelow=lots (from --ppsreservelow): ")
  })
})

describe("describeOptions", () => {
  it("one line per option, each with its default", () => {
    const text = describeOptions()
    for (const name of OPTION_NAMES) {
      const lines = text.split("\n").filter((l) => /^\s+(-[A-Z], )?--/.test(l) && (l.includes(`--${name}=`) || l.includes(`--${name} `)))
      expect(lines, name).toHaveLength(1)
      expect(lines[0], name).toContain("(default: ")
    }
    expect(text).toContain("(default: 0.01)")
    expect(text).toContain("(default: 127.0.0.1:<port> (mainnet 9109, testnet3 19109, simnet 19556, regnet 18656))")
    expect(text).toContain("(default: 0.0.0.0:5550)")
    expect(text).toContain("DCRFORGE_")
  })
})

describe("help", () => {
  it("wantsHelp spots --help and -h", () => {
    expect(wantsHelp(["--activenet=mainnet", "--help"])).toBe(true)
    expect(wantsHelp(["-h"])).toBe(true)
    expect(wantsHelp(["--activenet=mainnet"])).toBe(false)
  })
})
