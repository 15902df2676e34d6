import { Context, Data, Deferred, Effect, Layer, type Scope } from "effect"
import { spawn, spawnSync, type ChildProcess } from "node:child_process"
import { createWriteStream, linkSync, copyFileSync, mkdirSync, rmSync, writeFileSync, readFileSync, type WriteStream } from "node:fs"
import { join } from "node:path"
import type { Readable } from "node:stream"
import { ensureDecredBinaries, PROGRAMS, type BinariesError, type DecredBinaries, type Program } from "./binaries.ts"

/**
 * `SimnetNode`: where the simnet daemons run. The harness says what to run (program, arguments,
 * the directories it uses, the log line that means "ready"); a layer runs it:
 *
 * - `layerNative`: a child process of this one, from the binaries in `.cache/decred/<key>/bin`.
 * - `layerDocker`: a container of the local `dcrforge/simnet-dcrd:<key>` image (FROM scratch plus
 *   the same binaries; built here if missing, never pulled) with host networking, so every port
 *   is the same loopback port, and the run's directories bind-mounted at the same paths.
 *
 * Both give the same arguments the same meaning, so the harness and its tests are the same.
 */

export interface DaemonSpec {
  /** Who this is in logs and errors: "dcrd", "payout-wallet". */
  readonly name: string
  readonly program: Program
  readonly args: ReadonlyArray<string>
  /** Absolute directories the program reads or writes (mounted at the same path in a container). */
  readonly dirs: ReadonlyArray<string>
  /** Every line the program prints goes here too. */
  readonly logFile: string
  /** `start` returns once a line matches; without it, `start` returns at once. */
  readonly ready?: RegExp | undefined
  readonly readyTimeoutMillis?: number | undefined
}

export interface DaemonExit {
  readonly code: number | null
  readonly signal: string | null
}

export interface Daemon {
  readonly name: string
  /** Asks the program to stop (SIGINT, as Ctrl-C; killed after 20 s) and waits. Repeatable. */
  readonly stop: Effect.Effect<void>
  /**
   * Ends the program at once (SIGKILL, no clean shutdown: a crashed server, a pulled plug) and
   * waits. Repeatable; `stop` after it returns at once.
   */
  readonly kill: Effect.Effect<void>
  /** Waits for the program to end by itself or by `stop`. */
  readonly exited: Effect.Effect<DaemonExit>
  /** Its last lines of output, for error messages. */
  readonly tail: Effect.Effect<string>
}

export class DaemonFailed extends Data.TaggedError("DaemonFailed")<{ readonly name: string; readonly reason: string; readonly logFile: string; readonly tail: string }> {
  override get message(): string {
    return `${this.name} ${this.reason}; its log is ${this.logFile} (set DCRFORGE_SIMNET_KEEP=1 to keep it after the run). Last lines:\n${this.tail}`
  }
}

export class DockerUnavailable extends Data.TaggedError("DockerUnavailable")<{ readonly reason: string }> {
  override get message(): string {
    return `no Docker engine answered (${this.reason}); start dockerd (CI: .ci/run installs docker.io and starts it) or run the native layer only`
  }
}

export type SimnetNodeError = DaemonFailed | BinariesError | DockerUnavailable

export class SimnetNode extends Context.Service<
  SimnetNode,
  {
    readonly kind: "native" | "docker"
    /** Starts a long-running program; it is stopped when the scope closes (if not stopped before). */
    readonly start: (spec: DaemonSpec) => Effect.Effect<Daemon, DaemonFailed, Scope.Scope>
    /** Runs a program to its end; fails unless it exits 0. Returns what it printed. */
    readonly run: (spec: DaemonSpec) => Effect.Effect<string, DaemonFailed>
  }
>()("dcrforge/SimnetNode") {}

const TAIL_LINES = 60
const STOP_GRACE_MILLIS = 20_000
const DEFAULT_READY_MILLIS = 30_000

/** A program's output: lines to its log file and a tail kept in memory, and the ready line. */
const makeOutput = (spec: DaemonSpec) => {
  const file: WriteStream = createWriteStream(spec.logFile, { flags: "a" })
  const tail: Array<string> = []
  let partial = ""
  let onReady: (() => void) | undefined
  const line = (l: string) => {
    tail.push(l)
    if (tail.length > TAIL_LINES) tail.shift()
    if (onReady !== undefined && spec.ready?.test(l) === true) {
      onReady()
      onReady = undefined
    }
  }
  return {
    feed: (chunk: Buffer | string) => {
      const text = chunk.toString()
      file.write(text)
      const lines = (partial + text).split("\n")
      partial = lines.pop() ?? ""
      for (const l of lines) line(l)
    },
    end: () => {
      if (partial !== "") line(partial)
      partial = ""
      file.end()
    },
    whenReady: (f: () => void) => (onReady = f),
    tail: () => tail.join("\n"),
  }
}

// ---- native processes ---------------------------------------------------------------------------

/** Children and containers still running, killed if this process exits without closing its scopes. */
const liveChildren = new Set<ChildProcess>()
const liveContainers = new Set<string>()
let exitHookInstalled = false
const installExitHook = () => {
  if (exitHookInstalled) return
  exitHookInstalled = true
  process.once("exit", () => {
    for (const c of liveChildren) c.kill("SIGKILL")
    // No reaper container here (it would need a pull): remove ours synchronously, best effort.
    if (liveContainers.size > 0) spawnSync("docker", ["rm", "-f", ...liveContainers], { stdio: "ignore", timeout: 20_000 })
  })
}

const spawnNative = (binaries: DecredBinaries, spec: DaemonSpec) =>
  Effect.gen(function* () {
    installExitHook()
    const output = makeOutput(spec)
    const exited = yield* Deferred.make<DaemonExit>()
    const ready = yield* Deferred.make<void>()
    const child = spawn(binaries.path(spec.program), [...spec.args], { stdio: ["ignore", "pipe", "pipe"] })
    liveChildren.add(child)
    let streamsOpen = 2
    const streamEnded = () => {
      if (--streamsOpen === 0) output.end()
    }
    child.stdout?.on("data", output.feed)
    child.stderr?.on("data", output.feed)
    child.stdout?.on("end", streamEnded)
    child.stderr?.on("end", streamEnded)
    output.whenReady(() => Deferred.doneUnsafe(ready, Effect.void))
    child.on("error", (e) => {
      output.feed(`could not start ${binaries.path(spec.program)}: ${e.message}\n`)
      liveChildren.delete(child)
      Deferred.doneUnsafe(exited, Effect.succeed({ code: null, signal: "spawn-error" }))
    })
    child.on("exit", (code, signal) => {
      liveChildren.delete(child)
      Deferred.doneUnsafe(exited, Effect.succeed({ code, signal }))
    })
    const stop = Effect.gen(function* () {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGINT")
      yield* Deferred.await(exited).pipe(Effect.timeoutOrElse({ duration: STOP_GRACE_MILLIS, orElse: () => Effect.sync(() => child.kill("SIGKILL")).pipe(Effect.andThen(Deferred.await(exited))) }))
    })
    const kill = Effect.gen(function* () {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL")
      yield* Deferred.await(exited)
    })
    const daemon: Daemon = { name: spec.name, stop, kill, exited: Deferred.await(exited), tail: Effect.sync(output.tail) }
    return { daemon, ready, exited, output }
  })

const failed = (spec: DaemonSpec, reason: string, tail: string) => new DaemonFailed({ name: spec.name, reason, logFile: spec.logFile, tail })

/** Waits for the ready line, or fails if the program ends first or takes too long. */
const awaitReady = (spec: DaemonSpec, ready: Effect.Effect<void>, exited: Effect.Effect<DaemonExit>, tail: () => string) => {
  const millis = spec.readyTimeoutMillis ?? DEFAULT_READY_MILLIS
  return Effect.raceFirst(ready.pipe(Effect.as(undefined)), exited.pipe(Effect.map((e) => failed(spec, `exited (${e.code ?? e.signal}) before it was ready`, tail())))).pipe(
    Effect.timeoutOrElse({ duration: millis, orElse: () => Effect.succeed(failed(spec, `printed no line matching ${spec.ready} in ${millis} ms`, tail())) }),
    Effect.flatMap((e) => (e === undefined ? Effect.void : Effect.fail(e))),
  )
}

const makeNativeNode = (binaries: DecredBinaries): SimnetNode["Service"] =>
  SimnetNode.of({
    kind: "native",
    start: (spec) =>
      Effect.acquireRelease(spawnNative(binaries, spec), ({ daemon }) => daemon.stop).pipe(
        Effect.tap(({ ready, exited, output }) => (spec.ready === undefined ? Effect.void : awaitReady(spec, Deferred.await(ready), Deferred.await(exited), output.tail))),
        Effect.map(({ daemon }) => daemon),
      ),
    run: (spec) =>
      Effect.acquireUseRelease(
        spawnNative(binaries, spec),
        ({ exited, output }) =>
          Effect.flatMap(Deferred.await(exited), (e) => (e.code === 0 ? Effect.succeed(output.tail()) : Effect.fail(failed(spec, `exited with ${e.code ?? e.signal}`, output.tail())))),
        ({ daemon }) => daemon.stop,
      ),
  })

/** Runs the daemons as child processes, building the binaries first if needed. */
export const layerNative: Layer.Layer<SimnetNode, BinariesError> = Layer.effect(SimnetNode, Effect.map(ensureDecredBinaries, makeNativeNode))

// ---- Docker containers ----------------------------------------------------------------------------

const IMAGE_REPOSITORY = "dcrforge/simnet-dcrd"
const imageName = (binaries: DecredBinaries) => `${IMAGE_REPOSITORY}:${binaries.key}`
const DOCKERFILE = join(import.meta.dirname, "docker", "Dockerfile")

/** testcontainers must neither pull (no registry here) nor start its reaper (an image to pull). */
const configureTestcontainers = () => {
  process.env.TESTCONTAINERS_RYUK_DISABLED = "true"
  process.env.TESTCONTAINERS_HOST_OVERRIDE ??= "localhost"
}

const loadTestcontainers = Effect.tryPromise({
  try: () => {
    configureTestcontainers()
    return import("testcontainers")
  },
  catch: (e) => new DockerUnavailable({ reason: `testcontainers did not load: ${String(e)}` }),
})

/** Does a Docker engine answer? (For tests deciding whether the docker layer can run.) */
export const dockerAnswers: Effect.Effect<boolean> = Effect.gen(function* () {
  const tc = yield* loadTestcontainers
  return yield* Effect.tryPromise(async () => {
    const client = await tc.getContainerRuntimeClient()
    return client.info.containerRuntime.serverVersion !== undefined
  }).pipe(Effect.timeoutOrElse({ duration: 15_000, orElse: () => Effect.succeed(false) }))
}).pipe(Effect.orElseSucceed(() => false))

/**
 * Builds the image from the binaries if it is not there yet. The build context is a directory
 * beside the binaries holding the Dockerfile and hard links to them (FROM scratch: nothing pulled).
 */
export const ensureSimnetImage = (binaries: DecredBinaries): Effect.Effect<string, DockerUnavailable | DaemonFailed> =>
  Effect.gen(function* () {
    const tc = yield* loadTestcontainers
    const name = imageName(binaries)
    const client = yield* Effect.tryPromise({
      try: () => tc.getContainerRuntimeClient(),
      catch: (e) => new DockerUnavailable({ reason: String(e) }),
    })
    const exists = yield* Effect.tryPromise({
      try: () => client.image.exists(tc.ImageName.fromString(name)),
      catch: (e) => new DockerUnavailable({ reason: String(e) }),
    })
    if (exists) return name
    const context = join(binaries.dir, "..", "docker")
    yield* Effect.sync(() => {
      rmSync(context, { recursive: true, force: true })
      mkdirSync(join(context, "bin"), { recursive: true })
      writeFileSync(join(context, "Dockerfile"), readFileSync(DOCKERFILE))
      for (const p of PROGRAMS) {
        const target = join(context, "bin", p)
        try {
          linkSync(binaries.path(p), target)
        } catch {
          copyFileSync(binaries.path(p), target)
        }
      }
    })
    yield* Effect.logInfo(`building the Docker image ${name} from ${context}`)
    yield* Effect.tryPromise({
      try: () => tc.GenericContainer.fromDockerfile(context).build(name, { deleteOnExit: false }),
      catch: (e) => new DaemonFailed({ name: "docker build", reason: `of ${name} failed`, logFile: context, tail: String(e) }),
    })
    return name
  })

type StartedContainer = Awaited<ReturnType<InstanceType<Awaited<typeof import("testcontainers")>["GenericContainer"]>["start"]>>

const makeDockerNode = (image: string): Effect.Effect<SimnetNode["Service"], DockerUnavailable> =>
  Effect.gen(function* () {
    const tc = yield* loadTestcontainers
    const user = typeof process.getuid === "function" && typeof process.getgid === "function" ? `${process.getuid()}:${process.getgid()}` : undefined

    const launch = (spec: DaemonSpec, oneShot: boolean) =>
      Effect.gen(function* () {
        const output = makeOutput(spec)
        const exited = yield* Deferred.make<DaemonExit>()
        let container = new tc.GenericContainer(image)
          .withNetworkMode("host")
          .withEntrypoint([`/bin/${spec.program}`])
          .withCommand([...spec.args])
          // Docker refuses a mount point given twice (a wallet's data and certificate directory are often one).
          .withBindMounts([...new Set(spec.dirs)].map((d) => ({ source: d, target: d, mode: "rw" as const })))
          .withEnvironment({ HOME: spec.dirs[0] ?? "/" })
          .withLabels({ "dcrforge.simnet": spec.name })
          .withStartupTimeout(spec.readyTimeoutMillis ?? DEFAULT_READY_MILLIS)
          .withLogConsumer((stream: Readable) => {
            stream.on("data", output.feed)
            stream.on("end", () => {
              output.end()
              Deferred.doneUnsafe(exited, Effect.succeed({ code: null, signal: null }))
            })
          })
        if (user !== undefined) container = container.withUser(user)
        container = container.withWaitStrategy(oneShot ? tc.Wait.forOneShotStartup() : spec.ready === undefined ? tc.Wait.forLogMessage(/./) : tc.Wait.forLogMessage(spec.ready))
        installExitHook()
        const started = yield* Effect.tryPromise({
          try: () => container.start(),
          catch: (e) => failed(spec, `did not start in its container: ${String(e).split("\n")[0]}`, output.tail()),
        })
        liveContainers.add(started.getId())
        return { started, output, exited }
      })

    const stopContainer = (started: StartedContainer, graceMillis: number = STOP_GRACE_MILLIS) =>
      Effect.promise(() =>
        started
          .stop({ timeout: graceMillis, remove: true })
          .then(
            () => undefined,
            () => undefined,
          )
          .finally(() => liveContainers.delete(started.getId())),
      )

    const asDaemon = (spec: DaemonSpec, started: StartedContainer, exited: Deferred.Deferred<DaemonExit>, output: ReturnType<typeof makeOutput>): Daemon => {
      let stopped: Promise<void> | undefined
      return {
        name: spec.name,
        // SIGTERM, then kill after the grace period; the container is removed.
        stop: Effect.promise(() => (stopped ??= Effect.runPromise(stopContainer(started)))),
        // No grace period: the engine sends SIGKILL at once.
        kill: Effect.promise(() => (stopped ??= Effect.runPromise(stopContainer(started, 0)))),
        exited: Deferred.await(exited),
        tail: Effect.sync(output.tail),
      }
    }

    return SimnetNode.of({
      kind: "docker",
      start: (spec) =>
        Effect.acquireRelease(
          Effect.map(launch(spec, false), ({ started, output, exited }) => asDaemon(spec, started, exited, output)),
          (daemon) => daemon.stop,
        ),
      run: (spec) =>
        Effect.acquireUseRelease(
          launch(spec, true),
          ({ output }) => Effect.succeed(output.tail()),
          ({ started }) => stopContainer(started),
        ),
    })
  })

/** Runs the daemons in containers of the local simnet image, building binaries and image if needed. */
export const layerDocker: Layer.Layer<SimnetNode, SimnetNodeError> = Layer.effect(
  SimnetNode,
  Effect.gen(function* () {
    if (!(yield* dockerAnswers)) return yield* Effect.fail(new DockerUnavailable({ reason: "the engine did not answer" }))
    const binaries = yield* ensureDecredBinaries
    const image = yield* ensureSimnetImage(binaries)
    return yield* makeDockerNode(image)
  }),
)
