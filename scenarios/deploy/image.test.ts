/**
 * The pool's container image, as an operator runs it: built here from the production install
 * (`./dcrforge image`: FROM scratch, nothing pulled), started with host networking, its data in
 * a named volume, dcrd's certificate mounted read-only, against a real dcrd (regnet, from the
 * pinned build). It must reach dcrd and hand out work, run as its fixed unprivileged user, keep
 * its store in the volume, and stop cleanly on `docker stop`.
 *
 * Needs a Docker engine and the Decred binaries (Go): `.ci/run` provides both; without them
 * outside CI the suite says why and skips, in CI it fails.
 */
import { Effect, Layer } from "effect"
import { execFileSync, spawnSync } from "node:child_process"
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { encodeAddress } from "../../core/chain/address.ts"
import { blake256Hash } from "../../core/chain/hash.ts"
import { REGNET } from "../../core/chain/params.ts"
import { binariesReady } from "../simnet/binaries.ts"
import { layerNative } from "../simnet/node.ts"
import { regnetDcrd } from "../simnet/pool-on-node.ts"

const CI = process.env.CI === "true"
const ROOT = join(import.meta.dirname, "..", "..")
const TAG = "dcrforge-pool:suite"
const POOL_UID = 10001

const docker = (...args: ReadonlyArray<string>): string => execFileSync("docker", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim()
const dockerAnswers = (): boolean => spawnSync("docker", ["version", "--format", "{{.Server.Version}}"], { stdio: "ignore" }).status === 0
const freePort = (): Promise<number> =>
  import("node:net").then(
    ({ createServer }) =>
      new Promise((resolve) => {
        const server = createServer()
        server.listen(0, "127.0.0.1", () => {
          const { port } = server.address() as { port: number }
          server.close(() => resolve(port))
        })
      }),
  )

const ready = binariesReady()
const missing = !dockerAnswers() ? "no Docker engine answers" : ready !== true ? ready : undefined
if (missing !== undefined && CI) throw new Error(`the container image suite cannot run in CI: ${missing}`)

describe.skipIf(missing !== undefined)(`the pool's container image${missing === undefined ? "" : ` (skipped: ${missing})`}`, () => {
  it("builds FROM scratch, runs as UID 10001 on host networking against a real dcrd, keeps its store in the volume, and stops cleanly on docker stop", async () => {
    const built = spawnSync(join(ROOT, "dcrforge"), ["image", TAG], { cwd: ROOT, encoding: "utf8" })
    expect(built.status, `./dcrforge image failed:\n${built.stderr.slice(-3000)}`).toBe(0)
    // Nothing but what the build staged: one layer per COPY, no base image.
    expect(docker("image", "inspect", TAG, "--format", "{{.Config.User}} {{json .Config.Volumes}}")).toBe(`${POOL_UID}:${POOL_UID} {"/data":{}}`)

    const dir = mkdtempSync(join(tmpdir(), "dcrforge-image-"))
    const volume = `dcrforge-suite-${process.pid}`
    const container = `dcrforge-pool-suite-${process.pid}`
    try {
      await Effect.runPromise(
        Effect.gen(function* () {
          const dcrd = yield* regnetDcrd(dir, encodeAddress("p2pkh-ecdsa-secp256k1", blake256Hash(new TextEncoder().encode("dcrforge image suite")).subarray(0, 20), REGNET))
          const certs = join(dir, "certs")
          mkdirSync(certs, { recursive: true })
          writeFileSync(join(certs, "dcrd.cert"), dcrd.endpoint.certificate)
          const [gui, stratum] = [yield* Effect.promise(freePort), yield* Effect.promise(freePort)]
          docker("volume", "create", volume)
          docker(
            "run",
            "-d",
            "--name",
            container,
            "--network",
            "host",
            "--label",
            "dcrforge=image-suite",
            "-v",
            `${volume}:/data`,
            "-v",
            `${certs}:/certs:ro`,
            TAG,
            "run",
            "--appdata=/data",
            "--activenet=regnet",
            "--solopool",
            `--rpcuser=${dcrd.endpoint.user}`,
            `--rpcpass=${dcrd.endpoint.password}`,
            `--dcrdrpchost=${dcrd.endpoint.address}`,
            "--dcrdrpccert=/certs/dcrd.cert",
            `--guilisten=127.0.0.1:${gui}`,
            `--minerlisten=127.0.0.1:${stratum}`,
          )
          const logs = () => spawnSync("docker", ["logs", "--tail", "30", container], { encoding: "utf8" }).stderr

          // Up, reaching dcrd, with work to hand out.
          let pool: { workHeight?: number | null } | undefined
          for (let i = 0; i < 120 && (pool?.workHeight ?? null) === null; i++) {
            yield* Effect.sleep(500)
            pool = yield* Effect.promise(() =>
              fetch(`http://127.0.0.1:${gui}/api/pool`).then(
                (r) => (r.ok ? (r.json() as Promise<{ workHeight?: number | null }>) : undefined),
                () => undefined,
              ),
            )
          }
          expect(pool?.workHeight, `the pool in the container never had work from dcrd:\n${logs()}`).toBeGreaterThan(0)

          // Its user: the fixed UID, never root (the host's view of the container's process).
          const pid = docker("inspect", container, "--format", "{{.State.Pid}}")
          const uids = execFileSync("sh", ["-c", `grep '^Uid:' /proc/${pid}/status`], { encoding: "utf8" })
            .trim()
            .split(/\s+/)
            .slice(1)
          expect(uids).toEqual([String(POOL_UID), String(POOL_UID), String(POOL_UID), String(POOL_UID)])

          // Stopped as systemd or an operator stops it: SIGTERM, exit 0 well inside the grace time.
          const stopping = Date.now()
          docker("stop", "--time", "30", container)
          expect((Date.now() - stopping) / 1000, logs()).toBeLessThan(25)
          expect(docker("inspect", container, "--format", "{{.State.ExitCode}}"), logs()).toBe("0")

          // The store is in the volume, the pool's user owns it, and it outlives the container.
          const listing = docker(
            "run",
            "--rm",
            "-v",
            `${volume}:/data`,
            "--entrypoint",
            "/opt/dcrforge/node/bin/node",
            TAG,
            "-e",
            `const fs = require("node:fs"); const d = "/data/data/regnet"; console.log(JSON.stringify({ uid: fs.statSync(d).uid, entries: fs.readdirSync(d) }))`,
          )
          const stored = JSON.parse(listing) as { uid: number; entries: Array<string> }
          expect(stored.uid).toBe(POOL_UID)
          expect(stored.entries.length, listing).toBeGreaterThan(0)
        }).pipe(Effect.scoped, Effect.provide(Layer.orDie(layerNative))),
      )
    } finally {
      spawnSync("docker", ["rm", "-f", container], { stdio: "ignore" })
      spawnSync("docker", ["volume", "rm", "-f", volume], { stdio: "ignore" })
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
