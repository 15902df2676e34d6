/**
 * The real-simnet harness: dcrd and two dcrwallets on Decred's simnet, on loopback ports picked
 * per run, in a temporary directory removed (and every process or container stopped) when the
 * scope closes, on failure too.
 *
 * API (other suites code against this):
 *
 *   makeSimnetHarness(options?): Effect<SimnetHarness, SimnetError, SimnetNode | Scope>
 *     (provide `layerNative` or `layerDocker` from ./node.ts for SimnetNode)
 *   options: { height?: number   (advance to this height before returning; without it: height 19, the
 *                                 voting wallets' funding mined)
 *              ticketsPerBlock?: number (each voting wallet's ticket buyer limit; default 10)
 *              votingWallets?: number  (default 1; with two or more, stopping one makes its winners miss
 *                                       while the others keep the chain going, when they hold 3 of the 5) }
 *
 *   harness.dir                      the run's directory (kept when DCRFORGE_SIMNET_KEEP=1)
 *   harness.miningAddress            the payout wallet's address dcrd mines to (--miningaddr)
 *   harness.dcrd: {
 *     rpcUrl "https://127.0.0.1:P", wsUrl "wss://127.0.0.1:P/ws", user, password,
 *     certFile, certificate (PEM text of dcrd's rpc.cert), p2pAddress, appDataDir, logFile,
 *     call(method, params?, exactKeys?) -> unknown, callAs(schema, method, params?) -> A }
 *   harness.payoutWallet / harness.votingWallet (= votingWallets[0]) / harness.votingWallets[i]: {
 *     url "https://127.0.0.1:P", user, password, certFile, certificate, passphrase ("password"),
 *     appDataDir, logFile, call, callAs,
 *     stop: Effect<void>, start: Effect<void>, running: Effect<boolean>   (same port and files after a restart)
 *     kill: Effect<void>               SIGKILL, no clean shutdown (start brings it back)
 *     restartEmpty: Effect<void>       a new empty wallet (new seed and data directory) on the same port and cert
 *     restartWith(args): Effect<void>  restarted on the same files with other extra arguments }
 *     The payout wallet runs locked (the pool's adapter unlocks it per payout); the voting wallets
 *     run unlocked with --enablevoting --enableticketbuyer.
 *   harness.dcrdOptions              DcrdOptions for pool/dcrd-client.ts (dcrdChainLayer + dcrdWebSocketLayer(certificate))
 *   harness.payoutWalletOptions      DcrwalletOptions for wallet/dcrwallet-rpc.ts (dcrwalletLayer)
 *   harness.height: Effect<number>   dcrd's best height
 *   harness.generate(n): Effect<ReadonlyArray<string>>   n blocks at once (no waiting for votes: below SVH-1 only)
 *   harness.advanceTo(height, { minVotes?, settleMillis?, timeoutMillis? }): Effect<void>
 *       one block at a time; from SVH-1 on, waits before each block for the tip's votes in the
 *       mempool: all 5, or at least minVotes (default 3) once no more came for settleMillis (400);
 *       fails with NotEnoughVotes if fewer than minVotes arrived after timeoutMillis (5 s; generate
 *       would hang). Votes relayed from a peer dcrd need a longer settleMillis (trickle 100-500 ms a hop).
 *   harness.advance(n, opts?)        advanceTo(height + n)
 *   harness.balanceAtoms(wallet): Effect<bigint>   the wallet's cumulative total (getbalance), exact
 *   harness.fundVotingWallet(atoms, wallet?): Effect<string>  sends from the payout wallet (to the first
 *       voting wallet by default), returns the txid; at start the voting wallets share 4 DCR
 *   harness.payTo([[address, atoms], ...]): Effect<string>  one sendmany from the payout wallet, exact amounts
 *   harness.startDcrd(name): Effect<PeerDcrd>  another dcrd (--connect to the harness's, its own TLS cert),
 *       synced to the tip before it returns; a DcrdEndpoint plus stop/start/kill/running
 *   harness.startWallet(name, { dcrd?, args? }): Effect<WalletEndpoint>  another dcrwallet, created with
 *       --createtemp and unlocked (--pass), on the harness's dcrd or `dcrd`, with extra `args`
 *       (`--enablevoting --manualtickets` for a voting service's wallet; `--vsp.url= --vsp.pubkey=`
 *       for a staker using one). Daemons started this way stop with the harness.
 *
 * Errors are SimnetRpcError (a call failed), NotEnoughVotes, DaemonFailed (a program would not
 * start), HarnessTimeout; every message names the daemon or its log file.
 *
 * Run it on a live clock (`it.live`, not `it.effect`, whose TestClock never lets a sleep end):
 * the harness sleeps between blocks. Measured (2 shared cores): up and funded at height 19 in
 * ~1 s, SVH in ~20 s, height 160 in ~40 s.
 */
import { Data, Effect, Redacted, Schema, Scope } from "effect"
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { SIMNET } from "../../core/chain/params.ts"
import { defaultDcrdTimeouts, type DcrdOptions } from "../../pool/dcrd-client.ts"
import { dcrToAtoms, atomsToDcr } from "../../core/chain/amounts.ts"
import type { DcrwalletOptions } from "../../wallet/dcrwallet-rpc.ts"
import { JsonLiteral, makeJsonRpcCall, makeTrustingPost } from "../../wallet/json-rpc.ts"
import { SimnetNode, type Daemon, type DaemonFailed, type DaemonSpec } from "./node.ts"

export const STAKE_VALIDATION_HEIGHT = SIMNET.stakeValidationHeight
const COINBASE_MATURITY = SIMNET.coinbaseMaturity
/** dcrwallet's --createtemp wallets use this private passphrase. */
export const SIMULATION_PASSPHRASE = "password"

class SimnetRpcError extends Data.TaggedError("SimnetRpcError")<{
  readonly target: string
  readonly method: string
  readonly code?: number | undefined
  readonly reason: string
  readonly logFile: string
}> {
  override get message(): string {
    return `${this.target} ${this.method} failed${this.code === undefined ? "" : ` (code ${this.code})`}: ${this.reason}; see ${this.logFile}`
  }
}

class NotEnoughVotes extends Data.TaggedError("NotEnoughVotes")<{ readonly height: number; readonly votes: number; readonly needed: number }> {
  override get message(): string {
    return `block ${this.height + 1} needs ${this.needed} votes on block ${this.height} but the mempool has ${this.votes}: is the voting wallet running, unlocked and holding live tickets?`
  }
}

class HarnessTimeout extends Data.TaggedError("HarnessTimeout")<{ readonly waitingFor: string; readonly millis: number }> {
  override get message(): string {
    return `timed out after ${this.millis} ms waiting for ${this.waitingFor}; the daemons' logs are in the run directory (DCRFORGE_SIMNET_KEEP=1 keeps it)`
  }
}

type SimnetError = SimnetRpcError | NotEnoughVotes | DaemonFailed | HarnessTimeout

interface RpcClient {
  /** One JSON-RPC call; fractional number literals, and every one under `exactKeys`, come back as their source text (amounts). */
  readonly call: (method: string, params?: ReadonlyArray<unknown>, exactKeys?: ReadonlySet<string>) => Effect.Effect<unknown, SimnetRpcError>
  readonly callAs: <A>(schema: Schema.Codec<A, unknown>, method: string, params?: ReadonlyArray<unknown>) => Effect.Effect<A, SimnetRpcError>
}

interface DcrdEndpoint extends RpcClient {
  readonly rpcUrl: string
  readonly wsUrl: string
  readonly user: string
  readonly password: string
  readonly certFile: string
  readonly certificate: string
  readonly p2pAddress: string
  readonly appDataDir: string
  readonly logFile: string
}

/** A daemon the harness started that a test may stop, start again or kill. */
interface DaemonControls {
  /** Clean shutdown (SIGINT), waited for. */
  readonly stop: Effect.Effect<void>
  /** Starts it again on the same port and files (a no-op while it runs). */
  readonly start: Effect.Effect<void, DaemonFailed>
  /** SIGKILL: no clean shutdown, as a crashed server. `start` brings it back. */
  readonly kill: Effect.Effect<void>
  readonly running: Effect.Effect<boolean>
}

/** Another dcrd on the simnet, peered with the harness's own over p2p (see `startDcrd`). */
export interface PeerDcrdEndpoint extends DcrdEndpoint, DaemonControls {
  readonly name: string
}

export interface WalletEndpoint extends RpcClient, DaemonControls {
  readonly name: string
  readonly url: string
  readonly user: string
  readonly password: string
  readonly certFile: string
  readonly certificate: string
  readonly passphrase: string
  /** Its current data directory (a new one after `restartEmpty`). */
  readonly appDataDir: string
  readonly logFile: string
  /**
   * Stops it and starts a new, empty wallet (new seed, new data directory) in its place, on the
   * same port and certificate: a voting server rebuilt from scratch.
   */
  readonly restartEmpty: Effect.Effect<void, DaemonFailed>
  /** Stops it and starts it again on the same files with these extra arguments (kept for later starts). */
  readonly restartWith: (extraArgs: ReadonlyArray<string>) => Effect.Effect<void, DaemonFailed>
}

interface WalletStartOptions {
  /** The dcrd it syncs from (default: the harness's own). */
  readonly dcrd?: DcrdEndpoint
  /**
   * Extra arguments: `--enablevoting --manualtickets` for a voting service's wallet,
   * `--vsp.url=... --vsp.pubkey=...` for a staker using one. Every wallet is created with
   * `--createtemp` and runs unlocked (`--pass`).
   */
  readonly args?: ReadonlyArray<string>
}

interface AdvanceOptions {
  /** Votes on the tip a block needs (dcrd's minimum is 3). */
  readonly minVotes?: number
  /**
   * How long the tip's vote count must stay unchanged before a block goes with fewer than five
   * (default 400 ms). Votes relayed from another dcrd arrive after its inventory trickle
   * (100-500 ms a hop), so suites with peer dcrds wait longer.
   */
  readonly settleMillis?: number
  /** When to give up (NotEnoughVotes) waiting for minVotes (default 5 s). */
  readonly timeoutMillis?: number
}

export interface SimnetHarness {
  readonly dir: string
  readonly miningAddress: string
  readonly dcrd: DcrdEndpoint
  readonly payoutWallet: WalletEndpoint
  readonly votingWallet: WalletEndpoint
  readonly votingWallets: ReadonlyArray<WalletEndpoint>
  readonly dcrdOptions: DcrdOptions
  readonly payoutWalletOptions: DcrwalletOptions
  readonly height: Effect.Effect<number, SimnetRpcError>
  readonly generate: (blocks: number) => Effect.Effect<ReadonlyArray<string>, SimnetRpcError>
  readonly advanceTo: (height: number, options?: AdvanceOptions) => Effect.Effect<void, SimnetError>
  readonly advance: (blocks: number, options?: AdvanceOptions) => Effect.Effect<void, SimnetError>
  readonly balanceAtoms: (wallet: WalletEndpoint) => Effect.Effect<bigint, SimnetRpcError>
  readonly fundVotingWallet: (atoms: bigint, wallet?: WalletEndpoint) => Effect.Effect<string, SimnetRpcError>
  /** One transaction from the payout wallet paying each address its amount; returns the txid. */
  readonly payTo: (payments: ReadonlyArray<readonly [string, bigint]>) => Effect.Effect<string, SimnetRpcError>
  readonly startDcrd: (name: string) => Effect.Effect<PeerDcrdEndpoint, SimnetError>
  readonly startWallet: (name: string, options?: WalletStartOptions) => Effect.Effect<WalletEndpoint, SimnetError>
}

interface SimnetHarnessOptions {
  readonly height?: number
  readonly ticketsPerBlock?: number
  readonly votingWallets?: number
}

// ---- helpers ------------------------------------------------------------------------------------

/** Distinct free loopback ports from the OS, all held until every one is known. */
export const freePorts = (count: number): Effect.Effect<ReadonlyArray<number>> =>
  Effect.promise(async () => {
    const servers = await Promise.all(
      Array.from(
        { length: count },
        () =>
          new Promise<import("node:net").Server>((resolve, reject) => {
            const s = createServer()
            s.once("error", reject)
            s.listen(0, "127.0.0.1", () => resolve(s))
          }),
      ),
    )
    const ports = servers.map((s) => {
      const a = s.address()
      return typeof a === "object" && a !== null ? a.port : 0
    })
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))))
    return ports
  })

/** Polls `check` every 50 ms until `done` holds, for at most 30 s. */
const waitFor = <A, E>(what: string, check: Effect.Effect<A, E>, done: (a: A) => boolean) =>
  Effect.gen(function* () {
    for (let waited = 0; ; waited += 50) {
      const a = yield* check
      if (done(a)) return a
      if (waited >= 30_000) return yield* Effect.fail(new HarnessTimeout({ waitingFor: what, millis: 30_000 }))
      yield* Effect.sleep(50)
    }
  })

/**
 * One daemon's JSON-RPC through the pool's client (wallet/json-rpc.ts), its failures as
 * `SimnetRpcError`s naming the daemon and its log.
 */
const makeRpcClient = (target: string, url: string, user: string, password: string, certificate: string, logFile: string): RpcClient & { readonly close: Effect.Effect<void> } => {
  const transport = makeTrustingPost(certificate)
  const rpc = makeJsonRpcCall({ url, user, password: Redacted.make(password), requestTimeoutMillis: CALL_TIMEOUT_MILLIS }, transport.post, { server: target })
  // A daemon that did not answer at all is explained only by its log, which the run directory's
  // removal takes with it: its last lines go into the error itself.
  const fail = (method: string, reason: string, code?: number) =>
    new SimnetRpcError({ target, method, code, reason: code === undefined ? `${reason}\n--- last lines of ${logFile} ---\n${lastLines(logFile, 40)}` : reason, logFile })
  const call = (method: string, params: ReadonlyArray<unknown> = [], exactKeys?: ReadonlySet<string>) =>
    Effect.mapError(rpc(method, params, exactKeys), (e) => fail(method, e.reason, e._tag === "JsonRpcRefused" ? e.code : undefined))
  const callAs = <A>(schema: Schema.Codec<A, unknown>, method: string, params: ReadonlyArray<unknown> = []) =>
    Effect.flatMap(call(method, params), (value) => {
      const decoded = Schema.decodeUnknownResult(schema)(value)
      return decoded._tag === "Success" ? Effect.succeed(decoded.success) : Effect.fail(fail(method, `unexpected reply: ${JSON.stringify(value).slice(0, 300)}`))
    })
  return { call, callAs, close: transport.close }
}

const lastLines = (file: string, lines: number) => (existsSync(file) ? readFileSync(file, "utf8").split("\n").slice(-lines).join("\n") : "(no log)")

/** Long enough for a generate at a difficulty the chain raised by running ahead of its clock. */
const CALL_TIMEOUT_MILLIS = 120_000
const USER = "dcrforge"
const PASSWORD = "dcrforge-simnet"

const BALANCE_KEYS: ReadonlySet<string> = new Set(["cumulativetotal", "totalspendable"])
const Balance = Schema.Struct({ cumulativetotal: Schema.String })

/**
 * Starts dcrd, the pool's payout wallet and a voting wallet on simnet, funds the voting wallet
 * from the payout wallet's first matured coinbase, and (with `height`) advances the chain.
 */
export const makeSimnetHarness = (options: SimnetHarnessOptions = {}): Effect.Effect<SimnetHarness, SimnetError, SimnetNode | Scope.Scope> =>
  Effect.gen(function* () {
    const node = yield* SimnetNode
    const scope = yield* Effect.scope
    const dir = yield* Effect.acquireRelease(
      Effect.sync(() => mkdtempSync(join(tmpdir(), "dcrforge-simnet-"))),
      (d) => (process.env.DCRFORGE_SIMNET_KEEP === "1" ? Effect.logInfo(`kept the simnet run in ${d}`) : Effect.sync(() => rmSync(d, { recursive: true, force: true }))),
    )
    const votingCount = Math.max(1, options.votingWallets ?? 1)
    const [dcrdPort, p2pPort, payoutPort, ...votingPorts] = yield* freePorts(3 + votingCount)
    const dcrdDir = join(dir, "dcrd")
    const payoutDir = join(dir, "payout-wallet")
    const votingNames = votingPorts.map((_, i) => (i === 0 ? "voting-wallet" : `voting-wallet-${i + 1}`))
    const votingDirs = votingNames.map((n) => join(dir, n))
    for (const d of [dcrdDir, payoutDir, ...votingDirs]) mkdirSync(d, { recursive: true })

    // Every server's TLS certificate is made first (P-256, for localhost and 127.0.0.1), so each
    // client can be given the one it must trust before its server ever starts.
    const certs: Record<string, string> & { dcrd: string; payout: string } = {
      dcrd: join(dcrdDir, "rpc"),
      payout: join(payoutDir, "rpc"),
      ...Object.fromEntries(votingNames.map((n, i) => [n, join(votingDirs[i]!, "rpc")])),
    }
    /** A TLS certificate and key at `base`.cert / `base`.key (P-256, for localhost and 127.0.0.1). */
    const makeCert = (who: string, base: string) =>
      node.run({
        name: `gencerts (${who})`,
        program: "gencerts",
        args: ["-L", "-f", "-o", "dcrforge simnet", `${base}.cert`, `${base}.key`],
        dirs: [dirname(base)],
        logFile: join(dir, `gencerts-${who}.log`),
      })
    yield* Effect.forEach(Object.entries(certs), ([who, base]) => makeCert(who, base), { concurrency: "unbounded", discard: true })
    const pem = (base: string) => readFileSync(`${base}.cert`, "utf8")

    const walletArgs = (appData: string, port: number, certBase: string) => [
      "--simnet",
      `--appdata=${appData}`,
      `--rpclisten=127.0.0.1:${port}`,
      "--nogrpc",
      `--username=${USER}`,
      `--password=${PASSWORD}`,
      `--rpccert=${certBase}.cert`,
      `--rpckey=${certBase}.key`,
      "--nofilelogging",
    ]
    const online = (dcrd: DcrdEndpoint) => [`--rpcconnect=${new URL(dcrd.rpcUrl).host}`, `--cafile=${dcrd.certFile}`, `--dcrdusername=${USER}`, `--dcrdpassword=${PASSWORD}`]

    // The mining address must be the payout wallet's, and dcrd takes it only at start: the wallet
    // is created and asked for an address offline first, then restarted against dcrd.
    const miningAddress = yield* Effect.scoped(
      Effect.gen(function* () {
        yield* node.start({
          name: "payout-wallet (offline, creating)",
          program: "dcrwallet",
          args: ["--createtemp", "--offline", ...walletArgs(payoutDir, payoutPort!, certs.payout)],
          dirs: [payoutDir],
          logFile: join(dir, "payout-wallet-create.log"),
          ready: /RPCS: Listening on/,
        })
        const client = makeRpcClient("payout-wallet", `https://127.0.0.1:${payoutPort}`, USER, PASSWORD, pem(certs.payout), join(dir, "payout-wallet-create.log"))
        const address = yield* client.callAs(Schema.String, "getnewaddress", [])
        yield* client.close
        return address
      }),
    )

    const dcrdLog = join(dir, "dcrd.log")
    yield* node.start({
      name: "dcrd",
      program: "dcrd",
      args: [
        "--simnet",
        `--appdata=${dcrdDir}`,
        `--rpcuser=${USER}`,
        `--rpcpass=${PASSWORD}`,
        `--rpccert=${certs.dcrd}.cert`,
        `--rpckey=${certs.dcrd}.key`,
        `--rpclisten=127.0.0.1:${dcrdPort}`,
        `--listen=127.0.0.1:${p2pPort}`,
        "--noseeders",
        "--nodiscoverip",
        "--txindex",
        "--allowunsyncedmining",
        `--miningaddr=${miningAddress}`,
        "--nofilelogging",
      ],
      dirs: [dcrdDir],
      logFile: dcrdLog,
      ready: /RPC server listening on/,
    })
    const dcrdClient = makeRpcClient("dcrd", `https://127.0.0.1:${dcrdPort}`, USER, PASSWORD, pem(certs.dcrd), dcrdLog)
    yield* Effect.addFinalizer(() => dcrdClient.close)
    const height = dcrdClient.callAs(Schema.Number, "getblockcount")

    const mainDcrd: DcrdEndpoint = {
      rpcUrl: `https://127.0.0.1:${dcrdPort}`,
      wsUrl: `wss://127.0.0.1:${dcrdPort}/ws`,
      user: USER,
      password: PASSWORD,
      certFile: `${certs.dcrd}.cert`,
      certificate: pem(certs.dcrd),
      p2pAddress: `127.0.0.1:${p2pPort}`,
      appDataDir: dcrdDir,
      logFile: dcrdLog,
      call: dcrdClient.call,
      callAs: dcrdClient.callAs,
    }

    /**
     * Start, stop and kill for a daemon whose spec may change between starts; every start is
     * scoped to the harness, so whatever runs at the end is stopped with it.
     */
    const makeControls = (spec: () => DaemonSpec): DaemonControls => {
      let daemon: Daemon | undefined
      const take = () => {
        const d = daemon
        daemon = undefined
        return d
      }
      return {
        start: Effect.suspend(() => (daemon !== undefined ? Effect.void : Effect.asVoid(Effect.tap(Scope.provide(node.start(spec()), scope), (d) => Effect.sync(() => (daemon = d)))))),
        stop: Effect.suspend(() => take()?.stop ?? Effect.void),
        kill: Effect.suspend(() => take()?.kill ?? Effect.void),
        running: Effect.sync(() => daemon !== undefined),
      }
    }

    /**
     * A wallet that can be stopped and started again on the same files and port, killed, restarted
     * with other arguments, or replaced by an empty one.
     */
    const makeWallet = (name: string, firstAppData: string, port: number, certBase: string, dcrd: DcrdEndpoint, extra: ReadonlyArray<string>) =>
      Effect.gen(function* () {
        const logFile = join(dir, `${name}.log`)
        let appData = firstAppData
        let extraArgs = extra
        let empties = 0
        const controls = makeControls(() => ({
          name,
          program: "dcrwallet",
          args: [...walletArgs(appData, port, certBase), ...online(dcrd), ...extraArgs],
          dirs: [appData, dirname(certBase), dirname(dcrd.certFile)],
          logFile,
          // Printed once synced to its dcrd's tip and subscribed to its notifications.
          ready: /wallet ready for general usage/,
        }))
        yield* controls.start
        const client = makeRpcClient(name, `https://127.0.0.1:${port}`, USER, PASSWORD, pem(certBase), logFile)
        yield* Scope.addFinalizer(scope, client.close)
        const endpoint: WalletEndpoint = {
          name,
          url: `https://127.0.0.1:${port}`,
          user: USER,
          password: PASSWORD,
          certFile: `${certBase}.cert`,
          certificate: pem(certBase),
          passphrase: SIMULATION_PASSPHRASE,
          get appDataDir() {
            return appData
          },
          logFile,
          call: client.call,
          callAs: client.callAs,
          ...controls,
          restartEmpty: Effect.gen(function* () {
            yield* controls.stop
            empties += 1
            appData = `${firstAppData}-empty-${empties}`
            mkdirSync(appData, { recursive: true })
            if (!extraArgs.includes("--createtemp")) extraArgs = ["--createtemp", `--pass=${SIMULATION_PASSPHRASE}`, ...extraArgs]
            yield* controls.start
          }),
          restartWith: (args) =>
            Effect.gen(function* () {
              yield* controls.stop
              extraArgs = args
              yield* controls.start
            }),
        }
        return endpoint
      })

    /** Another wallet, created now (`--createtemp`, unlocked), on the harness's dcrd or another. */
    const startWallet = (name: string, walletOptions: WalletStartOptions = {}) =>
      Effect.gen(function* () {
        const [port] = yield* freePorts(1)
        const appData = join(dir, name)
        mkdirSync(appData, { recursive: true })
        const certBase = join(dir, `${name}-tls`, "rpc")
        mkdirSync(dirname(certBase), { recursive: true })
        yield* makeCert(name, certBase)
        return yield* makeWallet(name, appData, port!, certBase, walletOptions.dcrd ?? mainDcrd, ["--createtemp", `--pass=${SIMULATION_PASSPHRASE}`, ...(walletOptions.args ?? [])])
      })

    /**
     * Another dcrd on the same simnet: it connects to the harness's dcrd only (`--connect`), takes
     * its blocks as they are mined and relays its own wallets' transactions (votes) to it. Returns
     * once it has the harness's tip.
     */
    const startDcrd = (name: string) =>
      Effect.gen(function* () {
        const [rpcPort, peerPort] = yield* freePorts(2)
        const appData = join(dir, name)
        mkdirSync(appData, { recursive: true })
        const certBase = join(appData, "rpc")
        yield* makeCert(name, certBase)
        const logFile = join(dir, `${name}.log`)
        const controls = makeControls(() => ({
          name,
          program: "dcrd",
          args: [
            "--simnet",
            `--appdata=${appData}`,
            `--rpcuser=${USER}`,
            `--rpcpass=${PASSWORD}`,
            `--rpccert=${certBase}.cert`,
            `--rpckey=${certBase}.key`,
            `--rpclisten=127.0.0.1:${rpcPort}`,
            `--listen=127.0.0.1:${peerPort}`,
            `--connect=127.0.0.1:${p2pPort}`,
            "--noseeders",
            "--nodiscoverip",
            "--nofilelogging",
          ],
          dirs: [appData],
          logFile,
          ready: /RPC server listening on/,
        }))
        yield* controls.start
        const client = makeRpcClient(name, `https://127.0.0.1:${rpcPort}`, USER, PASSWORD, pem(certBase), logFile)
        yield* Scope.addFinalizer(scope, client.close)
        const tip = yield* height
        yield* waitFor(`${name} to sync to the harness's tip ${tip}`, client.callAs(Schema.Number, "getblockcount"), (h) => h >= tip)
        const endpoint: PeerDcrdEndpoint = {
          name,
          rpcUrl: `https://127.0.0.1:${rpcPort}`,
          wsUrl: `wss://127.0.0.1:${rpcPort}/ws`,
          user: USER,
          password: PASSWORD,
          certFile: `${certBase}.cert`,
          certificate: pem(certBase),
          p2pAddress: `127.0.0.1:${peerPort}`,
          appDataDir: appData,
          logFile,
          call: client.call,
          callAs: client.callAs,
          ...controls,
        }
        return endpoint
      })

    const ticketsPerBlock = options.ticketsPerBlock ?? 10
    const [payoutWallet, ...votingWallets] = yield* Effect.all(
      [
        makeWallet("payout-wallet", payoutDir, payoutPort!, certs.payout, mainDcrd, []),
        ...votingNames.map((name, i) =>
          makeWallet(name, votingDirs[i]!, votingPorts[i]!, certs[name]!, mainDcrd, [
            "--createtemp",
            `--pass=${SIMULATION_PASSPHRASE}`,
            "--enablevoting",
            "--enableticketbuyer",
            `--ticketbuyer.limit=${ticketsPerBlock}`,
          ]),
        ),
      ],
      { concurrency: "unbounded" },
    )
    const votingWallet = votingWallets[0]!
    // Each voting wallet's funding address, asked while the chain is still empty: CI once saw a
    // voting wallet leave getnewaddress unanswered for 120 s right after the first burst of 18
    // blocks (dcrwallet busy with them and its ticket buyer); asked now, nothing competes.
    const fundingAddresses = new Map<WalletEndpoint, string>()
    for (const wallet of votingWallets) fundingAddresses.set(wallet, yield* wallet.callAs(Schema.String, "getnewaddress", []))

    /**
     * dcrd's `generate` mines only on a template newer than the one its last call mined on, and
     * waits for one: a template that failed to build, with nothing after it to trigger another,
     * leaves it waiting until the call times out (CI twice saw `generate 1` unanswered for 120 s
     * at heights 116 and 126, below stake validation, while the ticket buyers' purchases were
     * arriving). Every 15 s without an answer, dcrd is asked to build a template again
     * (`regentemplate`), which is what the waiting call needs; the call's own timeout still ends
     * a node that is stuck for another reason.
     */
    const generate = (blocks: number) =>
      Effect.raceFirst(
        dcrdClient.callAs(Schema.Array(Schema.String), "generate", [blocks]),
        Effect.gen(function* () {
          for (let waited = 15; ; waited += 15) {
            yield* Effect.sleep(15_000)
            yield* Effect.logWarning(`dcrd's generate ${blocks} unanswered for ${waited} s: asking it to regenerate its block template (regentemplate)`)
            yield* Effect.ignore(dcrdClient.call("regentemplate", []))
          }
        }),
      )
    const mempoolVotes = Effect.map(dcrdClient.callAs(Schema.Array(Schema.String), "getrawmempool", [false, "votes"]), (v) => v.length)

    /**
     * From SVH-1 on a block needs votes on its parent. Votes reach the mempool within tens of ms
     * of the block: go on with all five, or with enough once no more came for a while (a voting
     * wallet is down), or fail rather than let generate hang.
     */
    const awaitVotes = (tip: number, minVotes: number, settleMillis: number, timeoutMillis: number) =>
      Effect.gen(function* () {
        let last = -1
        let steadySince = 0
        for (let waited = 0; ; waited += 25) {
          const votes = yield* mempoolVotes
          if (votes >= SIMNET.ticketsPerBlock) return
          if (votes !== last) [last, steadySince] = [votes, waited]
          if (votes >= minVotes && waited - steadySince >= settleMillis) return
          if (waited >= timeoutMillis) return yield* Effect.fail(new NotEnoughVotes({ height: tip, votes, needed: minVotes }))
          yield* Effect.sleep(25)
        }
      })

    const advanceTo = (target: number, advanceOptions: AdvanceOptions = {}) =>
      Effect.gen(function* () {
        const minVotes = advanceOptions.minVotes ?? 3
        for (let tip = yield* height; tip < target; tip = yield* height) {
          if (tip >= STAKE_VALIDATION_HEIGHT - 1) yield* awaitVotes(tip, minVotes, advanceOptions.settleMillis ?? 400, advanceOptions.timeoutMillis ?? 5_000)
          yield* generate(1)
          // The ticket buyer answers each block with purchases the next block should carry.
          if (tip < STAKE_VALIDATION_HEIGHT - 1) yield* Effect.sleep(40)
        }
      })

    const balanceAtoms = (wallet: WalletEndpoint) =>
      Effect.gen(function* () {
        const raw = yield* wallet.call("getbalance", [], BALANCE_KEYS)
        const decoded = Schema.decodeUnknownResult(Balance)(raw)
        if (decoded._tag === "Failure")
          return yield* Effect.fail(new SimnetRpcError({ target: wallet.name, method: "getbalance", reason: `unexpected reply ${JSON.stringify(raw)}`, logFile: wallet.logFile }))
        const atoms = dcrToAtoms(decoded.success.cumulativetotal, "cumulativetotal")
        if (atoms._tag === "Failure") return yield* Effect.fail(new SimnetRpcError({ target: wallet.name, method: "getbalance", reason: atoms.failure.message, logFile: wallet.logFile }))
        return atoms.success
      })

    /** One transaction from the payout wallet paying each address its amount (exact: a JSON literal). */
    const payTo = (payments: ReadonlyArray<readonly [string, bigint]>) =>
      Effect.gen(function* () {
        const amounts = payments.map(([address, atoms]) => `${JSON.stringify(address)}:${atomsToDcr(atoms)}`)
        yield* payoutWallet.call("walletpassphrase", [SIMULATION_PASSPHRASE, 60])
        return yield* payoutWallet.callAs(Schema.String, "sendmany", ["default", new JsonLiteral(`{${amounts.join(",")}}`)])
      })
    /** One transaction from the payout wallet paying each wallet its amount. */
    const pay = (payments: ReadonlyArray<readonly [WalletEndpoint, bigint]>) =>
      Effect.gen(function* () {
        const toAddresses: Array<readonly [string, bigint]> = []
        for (const [wallet, atoms] of payments) {
          const funding = fundingAddresses.get(wallet)
          fundingAddresses.delete(wallet)
          toAddresses.push([funding ?? (yield* wallet.callAs(Schema.String, "getnewaddress", [])), atoms])
        }
        return yield* payTo(toAddresses)
      })
    const fundVotingWallet = (atoms: bigint, wallet: WalletEndpoint = votingWallet) => pay([[wallet, atoms]])

    // Block 1 pays the simnet ledger, so block 2's coinbase is the first the payout wallet can
    // spend, at height 2 + coinbase maturity. Up to there no block needs anything: one call.
    yield* generate(COINBASE_MATURITY + 2)
    yield* waitFor("the payout wallet to see the first spendable coinbase", payoutWallet.callAs(Schema.Number, "getblockcount", []), (h) => h >= COINBASE_MATURITY + 2)
    // Tickets cost 0.0002 DCR at first; 4 DCR buys the few hundred the pool needs, and votes
    // return more than they cost.
    const share = (4n * 100_000_000n) / BigInt(votingWallets.length)
    yield* pay(votingWallets.map((w) => [w, share] as const))
    yield* advanceTo(COINBASE_MATURITY + 3)
    if (options.height !== undefined) yield* advanceTo(options.height)

    return {
      dir,
      miningAddress,
      dcrd: mainDcrd,
      payoutWallet,
      votingWallet,
      votingWallets,
      dcrdOptions: {
        url: `wss://127.0.0.1:${dcrdPort}/ws`,
        user: USER,
        password: Redacted.make(PASSWORD),
        certificate: pem(certs.dcrd),
        ...defaultDcrdTimeouts,
      },
      payoutWalletOptions: {
        url: payoutWallet.url,
        user: USER,
        password: Redacted.make(PASSWORD),
        certificate: payoutWallet.certificate,
        passphrase: Redacted.make(SIMULATION_PASSPHRASE),
        requestTimeoutMillis: 30_000,
        network: SIMNET,
      },
      height,
      generate,
      advanceTo,
      advance: (blocks, o) => Effect.flatMap(height, (h) => advanceTo(h + blocks, o)),
      balanceAtoms,
      fundVotingWallet,
      payTo,
      startDcrd,
      startWallet,
    } satisfies SimnetHarness
  })
