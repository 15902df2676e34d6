import { Data, Effect } from "effect"
import { spawn } from "node:child_process"
import { createHash } from "node:crypto"
import { accessSync, constants, cpSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs"
import { delimiter, join } from "node:path"

/**
 * The Decred daemons the real-simnet harness runs, and the reference pool's CPU miner, built with
 * Go from the pinned module versions in `tools/` (dcrd 2.1.6, dcrwallet 2.1.5, dcrctl 1.6.2, dcrd's
 * gencerts, dcrpool v1.2.0's `cmd/miner` as `dcrpool-miner`, and the reference pool itself,
 * dcrpool v1.2.0, with its GUI templates beside it in `dcrpool-gui/`, since it will not start
 * without them), CGO off, into `.cache/decred/<key>/bin`. The key is a hash of the tools module (go.mod, go.sum, tools.go) and
 * the platform, so a version bump builds afresh and an unchanged one is reused. Go's own caches
 * live in `.cache/go`. A lock directory keeps two test files from building at once.
 */

export const PROGRAMS = ["dcrd", "dcrwallet", "dcrctl", "gencerts", "dcrpool-miner", "dcrpool"] as const
export type Program = (typeof PROGRAMS)[number]

/** Import paths `go build` is given, one per program (the binary takes the last path element). */
const PACKAGES: ReadonlyArray<string> = [
  "github.com/decred/dcrd",
  "decred.org/dcrwallet/v5",
  "decred.org/dcrctl",
  "github.com/decred/dcrd/cmd/gencerts",
  "github.com/decred/dcrpool/cmd/miner",
  "github.com/decred/dcrpool",
]
/** What each import path's binary is called by `go build -o dir/`. */
const BUILT_NAME: { readonly [P in Program]: string } = { dcrd: "dcrd", dcrwallet: "dcrwallet", dcrctl: "dcrctl", gencerts: "gencerts", "dcrpool-miner": "miner", dcrpool: "dcrpool" }
/** Where dcrpool's GUI templates are copied, beside the programs (its `--guidir`). */
const DCRPOOL_GUI = "dcrpool-gui"

export interface DecredBinaries {
  /** The directory holding every program. */
  readonly dir: string
  readonly key: string
  readonly path: (program: Program) => string
  /** dcrpool's `--guidir`: its HTML templates, which it parses at start and refuses to run without. */
  readonly dcrpoolGuiDir: string
}

class GoToolchainMissing extends Data.TaggedError("GoToolchainMissing")<{ readonly looked: ReadonlyArray<string> }> {
  override get message(): string {
    return `no Go toolchain found (looked at ${this.looked.join(", ")}); install Go 1.24 or newer (https://go.dev/dl/) and put it on PATH or set DCRFORGE_GO to the go binary: the real-simnet tests build dcrd and dcrwallet with it`
  }
}

class BinariesBuildFailed extends Data.TaggedError("BinariesBuildFailed")<{ readonly reason: string; readonly output: string }> {
  override get message(): string {
    return `building dcrd/dcrwallet/dcrctl/dcrpool-miner/dcrpool from scenarios/simnet/tools failed: ${this.reason}; the Go module proxy must be reachable (GOPROXY) for the first build. Go said:\n${this.output.slice(-3000)}`
  }
}

export type BinariesError = GoToolchainMissing | BinariesBuildFailed

const ROOT = join(import.meta.dirname, "..", "..")
const TOOLS = join(import.meta.dirname, "tools")
const TOOLS_FILES = ["go.mod", "go.sum", "tools.go"] as const

const isExecutable = (path: string): boolean => {
  try {
    accessSync(path, constants.X_OK)
    return statSync(path).isFile()
  } catch {
    return false
  }
}

/** `$DCRFORGE_GO`, then `go` on PATH, then the usual install places. */
const findGo = Effect.suspend(() => {
  const candidates = [
    ...(process.env.DCRFORGE_GO === undefined || process.env.DCRFORGE_GO === "" ? [] : [process.env.DCRFORGE_GO]),
    ...(process.env.PATH ?? "")
      .split(delimiter)
      .filter((d) => d !== "")
      .map((d) => join(d, "go")),
    "/usr/local/go/bin/go",
    "/usr/lib/go/bin/go",
    join(process.env.HOME ?? "/root", "go", "bin", "go"),
  ]
  const found = candidates.find(isExecutable)
  return found === undefined ? Effect.fail(new GoToolchainMissing({ looked: [...new Set(candidates)] })) : Effect.succeed(found)
})

/** The cache key: the tools module's content and the platform the binaries are for. */
const binariesKey = (): string => {
  const hash = createHash("sha256")
  for (const f of TOOLS_FILES)
    hash
      .update(`${f}\0`)
      .update(readFileSync(join(TOOLS, f)))
      .update("\0")
  hash.update(`${process.platform}/${process.arch}`)
  return hash.digest("hex").slice(0, 16)
}

const binariesAt = (dir: string, key: string): DecredBinaries => ({ dir, key, path: (p) => join(dir, BUILT_NAME[p]), dcrpoolGuiDir: join(dir, DCRPOOL_GUI) })
const complete = (dir: string) => PROGRAMS.every((p) => isExecutable(join(dir, BUILT_NAME[p]))) && existsSync(join(dir, DCRPOOL_GUI, "templates"))

const run = (command: string, args: ReadonlyArray<string>, cwd: string, env: NodeJS.ProcessEnv) =>
  Effect.callback<string, BinariesBuildFailed>((resume) => {
    let output = ""
    const child = spawn(command, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] })
    child.stdout.on("data", (b: Buffer) => (output += b.toString()))
    child.stderr.on("data", (b: Buffer) => (output += b.toString()))
    child.on("error", (e) => resume(Effect.fail(new BinariesBuildFailed({ reason: `could not run ${command}: ${e.message}`, output }))))
    child.on("exit", (code, signal) => resume(code === 0 ? Effect.succeed(output) : Effect.fail(new BinariesBuildFailed({ reason: `go build exited with ${code ?? signal}`, output }))))
    return Effect.sync(() => child.kill("SIGKILL"))
  })

/**
 * A lock shared by processes: a directory created atomically, holding the owner's pid. A lock
 * whose owner is gone (a killed test run) is taken over.
 */
const withLock = <A, E>(lockDir: string, body: Effect.Effect<A, E>): Effect.Effect<A, E> => {
  const ownerAlive = () => {
    try {
      const pid = Number(readFileSync(join(lockDir, "pid"), "utf8"))
      if (!Number.isInteger(pid) || pid <= 0) return false
      process.kill(pid, 0)
      return true
    } catch (e) {
      // EPERM: the process exists but is someone else's.
      return e instanceof Error && "code" in e && e.code === "EPERM"
    }
  }
  const tryTake = Effect.sync(() => {
    try {
      mkdirSync(lockDir)
      writeFileSync(join(lockDir, "pid"), String(process.pid))
      return true
    } catch {
      // Just created by another process and its pid not yet written: give it a moment.
      if (existsSync(lockDir) && Date.now() - statSync(lockDir).mtimeMs > 5_000 && !ownerAlive()) rmSync(lockDir, { recursive: true, force: true })
      return false
    }
  })
  const acquire: Effect.Effect<void> = Effect.flatMap(tryTake, (taken) => (taken ? Effect.void : Effect.andThen(Effect.sleep(500), acquire)))
  return Effect.acquireUseRelease(
    acquire,
    () => body,
    () => Effect.sync(() => rmSync(lockDir, { recursive: true, force: true })),
  )
}

/**
 * The binaries, built on first use and reused after. The build copies the tools module into the
 * cache first, so `go` never rewrites the checked-in go.mod or go.sum.
 */
export const ensureDecredBinaries: Effect.Effect<DecredBinaries, BinariesError> = Effect.gen(function* () {
  const key = binariesKey()
  const base = join(ROOT, ".cache", "decred", key)
  const bin = join(base, "bin")
  if (complete(bin)) return binariesAt(bin, key)
  const go = yield* findGo
  mkdirSync(base, { recursive: true })
  return yield* withLock(
    join(base, "lock"),
    Effect.gen(function* () {
      if (complete(bin)) return binariesAt(bin, key)
      const work = join(base, "module")
      const partial = join(base, "bin.partial")
      rmSync(work, { recursive: true, force: true })
      rmSync(partial, { recursive: true, force: true })
      mkdirSync(work, { recursive: true })
      for (const f of TOOLS_FILES) writeFileSync(join(work, f), readFileSync(join(TOOLS, f)))
      const goDir = join(ROOT, ".cache", "go")
      const env: NodeJS.ProcessEnv = {
        ...process.env,
        GOPATH: join(goDir, "path"),
        GOMODCACHE: join(goDir, "path", "pkg", "mod"),
        GOCACHE: join(goDir, "build"),
        CGO_ENABLED: "0",
        // -mod=mod: the blank imports sit behind a build tag, so go.mod lists them as needed
        // only through the module graph; -modcacherw: the module cache stays removable.
        GOFLAGS: "-mod=mod -modcacherw",
        // The pinned toolchain of the machine, never a downloaded one.
        GOTOOLCHAIN: "local",
      }
      yield* Effect.logInfo(`building dcrd, dcrwallet, dcrctl, gencerts, dcrpool and its miner into ${bin} with ${go} (a few minutes the first time)`)
      yield* run(go, ["build", "-trimpath", "-ldflags=-s -w", "-o", partial + "/", ...PACKAGES], work, env)
      // The module's directory is the last line (go may first say what it downloaded).
      const dcrpoolSource = (yield* run(go, ["list", "-m", "-f", "{{.Dir}}", "github.com/decred/dcrpool"], work, env)).trim().split("\n").at(-1) ?? ""
      cpSync(join(dcrpoolSource, "gui", "assets", "templates"), join(partial, DCRPOOL_GUI, "templates"), { recursive: true })
      if (!complete(partial)) return yield* Effect.fail(new BinariesBuildFailed({ reason: `go build did not produce all of ${PROGRAMS.join(", ")}`, output: "" }))
      renameSync(partial, bin)
      return binariesAt(bin, key)
    }),
  )
})

/**
 * Whether the binaries can be had without asking: already built for this key, or a Go toolchain
 * to build them. Otherwise says why (tests skip outside CI with it, and fail in CI).
 */
export const binariesReady = (): true | string => {
  if (complete(join(ROOT, ".cache", "decred", binariesKey(), "bin"))) return true
  const go = Effect.runSync(Effect.result(findGo))
  return go._tag === "Success" ? true : go.failure.message
}
