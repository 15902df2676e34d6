import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterEach, describe, expect, it } from "vitest"
import { CliError, configFrom, vspOptions } from "./vsp-config.ts"

const dirs: Array<string> = []
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), "vsp-config-"))
  dirs.push(d)
  return d
}

/** A vspd.conf as an operator of vspd 1.x keeps it, with its certificates beside it. */
const vspdConf = (dir: string) => {
  for (const cert of ["dcrd.cert", "w1.cert", "w2.cert", "w3.cert"]) writeFileSync(join(dir, cert), "-----BEGIN CERTIFICATE-----\n")
  return [
    "[Application Options]",
    "; vspd's own sample, as deployed",
    "network = testnet",
    "listen = 127.0.0.1:8800",
    "vspfee = 2.5",
    "dcrdhost = 127.0.0.1:19109",
    "dcrduser = rpcuser",
    "dcrdpass = rpcpass",
    `dcrdcert = ${join(dir, "dcrd.cert")}`,
    "wallethost = 10.0.0.1:19110,10.0.0.2:19110,10.0.0.3:19110",
    "walletuser = u1,u2,u3",
    "walletpass = p1,p2,p3",
    `walletcert = ${join(dir, "w1.cert")},${join(dir, "w2.cert")},${join(dir, "w3.cert")}`,
    "adminpass = secret",
    "vspclosed = true",
    "vspclosedmsg = Closed for maintenance until Monday",
  ].join("\n")
}

describe("the voting service's options", () => {
  it("take an operator's vspd.conf as it is: dcrdhost, vspfee, network=testnet, per-wallet users and passwords, vspclosed with its message", () => {
    const dir = tempDir()
    const conf = join(dir, "vspd.conf")
    writeFileSync(conf, vspdConf(dir))
    const options = vspOptions([`--configfile=${conf}`, "--feexpub=tpubVpQL"], {}, dir)
    expect(options).not.toBeInstanceOf(CliError)
    const config = configFrom(options as Map<string, string>, "run")
    if (config instanceof CliError) throw new Error(config.message)
    expect(config.network).toBe("testnet3")
    expect(config.feePercent).toBe(2.5)
    expect(config.dcrd.url).toBe("https://127.0.0.1:19109")
    expect(config.votingWallets.map((w) => [w.name, w.user, w.password])).toEqual([
      ["10.0.0.1:19110", "u1", "p1"],
      ["10.0.0.2:19110", "u2", "p2"],
      ["10.0.0.3:19110", "u3", "p3"],
    ])
    expect(config.adminPassword).toBe("secret")
    expect(config.closedMessage).toBe("Closed for maintenance until Monday")
  })

  it("name every vspd option that means nothing here at once, each with its line and what to do", () => {
    const dir = tempDir()
    const conf = join(dir, "vspd.conf")
    writeFileSync(conf, `${vspdConf(dir)}\nsupportemail = ops@example.org\nbackupinterval = 3m\nmaxlogsize = 10\nfeexpubb = typo\n[Other]\nx = 1`)
    const refused = vspOptions([`--configfile=${conf}`], {}, dir)
    expect(refused).toBeInstanceOf(CliError)
    const lines = (refused as CliError).message.split("\n").slice(1)
    expect(lines).toHaveLength(5)
    expect(lines[0]).toContain(`${conf}:17: vspd's supportemail`)
    expect(lines[1]).toContain(`${conf}:18: vspd's backupinterval — backups are taken by \`./dcrforge vsp backup\` from a timer`)
    expect(lines[2]).toContain(`${conf}:19: vspd's maxlogsize`)
    expect(lines[3]).toContain(`${conf}:20: unknown option feexpubb`)
    expect(lines[4]).toContain(`${conf}:21: section [Other] is not read`)
  })

  it("flags win over the environment, which wins over the file; the default file is read only when it exists", () => {
    const home = tempDir()
    expect(vspOptions(["--fee=1"], {}, home)).toEqual(new Map([["fee", "1"]]))
    mkdirSync(join(home, ".dcrforge-vsp"))
    writeFileSync(join(home, ".dcrforge-vsp", "dcrforge-vsp.conf"), "fee=4\nlisten=0.0.0.0:8800\nminwallets=3\n")
    const options = vspOptions(["--fee=1"], { DCRFORGE_VSP_LISTEN: "127.0.0.1:9000" }, home) as Map<string, string>
    expect([options.get("fee"), options.get("listen"), options.get("minwallets")]).toEqual(["1", "127.0.0.1:9000", "3"])
    const missing = vspOptions(["--configfile=/nonexistent/vsp.conf"], {}, home)
    expect((missing as CliError).message).toBe("--configfile=/nonexistent/vsp.conf: no such file")
  })

  it("refuse a wallet user or password list that matches neither one for all nor one per wallet", () => {
    const dir = tempDir()
    const conf = join(dir, "vspd.conf")
    writeFileSync(conf, vspdConf(dir).replace("walletuser = u1,u2,u3", "walletuser = u1,u2"))
    const config = configFrom(vspOptions([`--configfile=${conf}`, "--feexpub=tpubVpQL"], {}, dir) as Map<string, string>, "run")
    expect((config as CliError).message).toBe("--walletuser: give one user for all voting wallets or one per --wallethost")
  })
})
