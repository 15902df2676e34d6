/**
 * The production install (`./dcrforge install PREFIX`) and the systemd unit that runs it
 * (deploy/dcrforge-pool.service): runtime code and dependencies only, launchers that work from
 * wherever the install is moved, and a unit hardened the way dcrd's own is.
 */
import { execFileSync, spawnSync } from "node:child_process"
import { existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "vitest"

const ROOT = join(import.meta.dirname, "..", "..")
const UNIT = join(ROOT, "deploy", "dcrforge-pool.service")

/** Every file under `dir`, relative to it. */
const walk = (dir: string, prefix = ""): Array<string> =>
  readdirSync(join(dir, prefix), { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(dir, join(prefix, e.name)) : [join(prefix, e.name)]))

/** The unit's `Key=value` lines by section, repeated keys kept in order. */
const readUnit = (text: string): Map<string, Array<string>> => {
  const values = new Map<string, Array<string>>()
  let section = ""
  for (const raw of text.split("\n")) {
    const line = raw.trim()
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue
    const header = /^\[(.+)\]$/.exec(line)
    if (header !== null) {
      section = header[1]!
      continue
    }
    const eq = line.indexOf("=")
    const key = `${section}.${line.slice(0, eq)}`
    values.set(key, [...(values.get(key) ?? []), line.slice(eq + 1)])
  }
  return values
}

describe("production install and its systemd unit", () => {
  it("installs the production code and runtime dependencies only, with launchers that still work after the install is moved", () => {
    const base = mkdtempSync(join(tmpdir(), "dcrforge-install-"))
    try {
      const installed = spawnSync(join(ROOT, "dcrforge"), ["install", join(base, "first")], { cwd: ROOT, encoding: "utf8" })
      expect(installed.status, installed.stderr).toBe(0)
      renameSync(join(base, "first"), join(base, "moved"))
      const prefix = join(base, "moved")

      const app = walk(join(prefix, "app")).filter((f) => !f.startsWith("node_modules"))
      expect(app.filter((f) => /\.(test|bench)\.ts$/.test(f))).toEqual([])
      expect(app.filter((f) => /^(testkit|emulators|scenarios)\//.test(f))).toEqual([])
      expect(app).toContain(join("pool", "ops", "cli.ts"))
      // Where the systemd unit's Documentation= line points.
      expect(app).toContain(join("docs", "OPERATORS.md"))
      // npm ci --omit=dev: the runtime dependencies are there, the development ones are not.
      const modules = readdirSync(join(prefix, "app", "node_modules"))
      expect(modules).toEqual(expect.arrayContaining(["effect", "@electric-sql", "@noble"]))
      for (const dev of ["vitest", "typescript", "@biomejs", "playwright-core", "testcontainers", "fast-check"]) expect(modules).not.toContain(dev)

      const help = spawnSync(join(prefix, "bin", "dcrforge-pool"), ["--help"], { encoding: "utf8" })
      expect(help.status, help.stderr).toBe(0)
      expect(help.stdout).toContain("--activenet")
      expect(spawnSync(join(prefix, "bin", "dcrforge-stake"), ["--help"], { encoding: "utf8" }).status).toBe(0)
      // The operators' test miner is installed too: it needs nothing from the test kits.
      expect(spawnSync(join(prefix, "bin", "dcrforge-miner"), ["--help"], { encoding: "utf8" }).stdout).toContain("--pool=HOST:PORT")
    } finally {
      rmSync(base, { recursive: true, force: true })
    }
  })

  it("the unit runs the installed launcher as its own user, restarts on failure, and is hardened (systemd-analyze exposure at most 2.0)", () => {
    const unit = readUnit(readFileSync(UNIT, "utf8"))
    const one = (key: string) => unit.get(key)?.at(-1)
    expect(one("Service.ExecStart")).toBe("/opt/dcrforge/bin/dcrforge-pool run --appdata=/var/lib/dcrforge")
    expect(one("Service.User")).toBe("dcrforge")
    expect(one("Service.Restart")).toBe("on-failure")
    expect(one("Service.StateDirectory")).toBe("dcrforge")
    for (const [key, value] of [
      ["NoNewPrivileges", "true"],
      ["ProtectSystem", "strict"],
      ["ProtectHome", "true"],
      ["PrivateTmp", "true"],
      ["CapabilityBoundingSet", ""],
    ] as const)
      expect(one(`Service.${key}`), key).toBe(value)
    // V8 compiles code at run time: a unit that forbade writable-then-executable memory would never start.
    expect(unit.has("Service.MemoryDenyWriteExecute")).toBe(false)
    expect(unit.get("Unit.After")?.join(" ")).toMatch(/dcrd\.service/)

    expect(existsSync("/usr/bin/systemd-analyze") || spawnSync("systemd-analyze", ["--version"]).status === 0, "systemd-analyze (Debian: systemd) is needed to score the unit").toBe(true)
    const report = execFileSync("systemd-analyze", ["security", "--offline=true", "--no-pager", UNIT], { encoding: "utf8" })
    const exposure = Number(/Overall exposure level for .*: ([\d.]+)/.exec(report)?.[1])
    expect(exposure, report.split("\n").slice(-5).join("\n")).toBeLessThanOrEqual(2)
  })
})
