/**
 * The web UI in a real browser: Debian's chromium driven by playwright-core against the
 * production pool on a simulated simnet-rules network (emulated miners of every model, the
 * simulated dcrd and wallet, the embedded store), in real time as `./dcrforge run` runs it.
 * Every page must show this run's data, the overview must move by itself when the pool finds a
 * block, and the admin must be able to log in and download a backup that restores. Screenshots
 * of each page at desktop and phone width go to artifacts/screenshots/.
 *
 * Chromium: $DCRFORGE_CHROMIUM or /usr/bin/chromium. Missing, it skips with a message; under
 * CI=true it fails.
 */
import { Effect, Redacted, References } from "effect"
import { existsSync, mkdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core"
import { describe, expect, it } from "vitest"
import { encodeAddress } from "../../core/chain/address.ts"
import { toHex } from "../../core/chain/bytes.ts"
import { SIMNET } from "../../core/chain/params.ts"
import { serveAdminHttp } from "../../pool/http/server.ts"
import { restore } from "../../pool/store/backup.ts"
import { pgliteLayer } from "../../pool/store/pglite.ts"
import { PoolStore, poolStoreLayer, type PoolStoreShape } from "../../pool/store/store.ts"
import { makeSimStakeView } from "../sim/staking-view.ts"
import { buildWorld, type World, type WorldOptions } from "../sim/world.ts"

const CHROMIUM = process.env.DCRFORGE_CHROMIUM ?? "/usr/bin/chromium"
const HAVE_CHROMIUM = existsSync(CHROMIUM)
if (!HAVE_CHROMIUM && process.env.CI === "true") throw new Error(`chromium not found at ${CHROMIUM}: the browser tests need it in CI (.ci/run installs Debian's chromium)`)
if (!HAVE_CHROMIUM) console.warn(`skipping the browser tests: no chromium at ${CHROMIUM} (apt-get install chromium, or set DCRFORGE_CHROMIUM)`)

const SCREENSHOTS = join(process.cwd(), "artifacts", "screenshots")
const ADMIN_PASSWORD = "browser-test-password"

/**
 * Stakers whose names are simnet addresses, so the Staking page's lookup finds their tickets; the
 * last one's wallet is down one block in ten, so some winners miss their vote.
 */
const STAKERS = Array.from({ length: 4 }, (_, i) => ({
  owner: encodeAddress("p2pkh-ecdsa-secp256k1", new Uint8Array(20).fill(0x50 + i), SIMNET),
  canVote: i === 3 ? (height: number) => height % 10 !== 0 : () => true,
  ticketsPerBlock: 2,
}))

/** The main job's world, in memory: BLAKE3 simnet, miners of every model, PPLNS with a 1 % fee. */
const worldOptions: WorldOptions = {
  seed: 9,
  base: SIMNET,
  blake3: "forced",
  bootstrapHeight: SIMNET.stakeValidationHeight + 8,
  hashScale: 2e9,
  networkHashrate: 2e10,
  fleet: [
    { model: "gominer", count: 3 },
    { model: "nicehash", count: 1, hashrate: 1e10 },
    { model: "cpuminer", count: 1, hashrate: 2e9 },
    { model: "innosilicon-d9", count: 1 },
    { model: "antminer-dr5", count: 1 },
  ],
  accounts: 3,
  scheme: { kind: "pplns", windowMultiple: { numerator: 2n, denominator: 1n } },
  feeBasisPoints: 100,
  vardiffTargetSeconds: 3,
  shareCommitLingerMillis: 0,
  stakers: STAKERS,
}

const BROWSER_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"]

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Polls `check` until it holds, or fails after `timeoutMs` saying what it waited for. */
const waitFor = async (what: string, timeoutMs: number, check: () => Promise<boolean>) => {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`)
    await sleep(500)
  }
}

interface Run {
  readonly world: World
  readonly base: string
  readonly query: <A>(f: (store: PoolStoreShape) => Effect.Effect<A, unknown>) => Promise<A>
}

const withPool = <A>(body: (run: Run) => Promise<A>) =>
  Effect.runPromise(
    Effect.gen(function* () {
      const world = yield* buildWorld(worldOptions)
      const { port } = yield* serveAdminHttp({
        host: "127.0.0.1",
        port: 0,
        adminPassword: Redacted.make(ADMIN_PASSWORD),
        live: world.pool.live,
        stakeView: yield* makeSimStakeView(world.dcrd),
        designation: "dcrforge test pool",
        stratumPort: 5550,
        history: { intervalMillis: 1000, capacity: 600 },
      }).pipe(Effect.provideContext(world.services))
      const query: Run["query"] = (f) =>
        Effect.runPromise(
          world.query(
            Effect.gen(function* () {
              return yield* f(yield* PoolStore)
            }),
          ),
        )
      return yield* Effect.promise(() => body({ world, base: `http://127.0.0.1:${port}`, query }))
    }).pipe(Effect.scoped, Effect.provideService(References.MinimumLogLevel, "Error")),
  )

/** Opens `path` at desktop and phone width, runs `check` on the desktop page, saves both screenshots. */
const visit = async (contexts: { desktop: BrowserContext; phone: BrowserContext }, base: string, path: string, name: string, ready: (page: Page) => Promise<void>) => {
  const desktop = await contexts.desktop.newPage()
  await desktop.goto(`${base}${path}`)
  await ready(desktop)
  await desktop.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true })
  const phone = await contexts.phone.newPage()
  await phone.goto(`${base}${path}`)
  await ready(phone)
  await phone.screenshot({ path: join(SCREENSHOTS, `${name}-phone.png`), fullPage: true })
  // Nothing at phone width may be wider than the screen (tables scroll inside their panels).
  const overflow = Number(await phone.evaluate("document.documentElement.scrollWidth - window.innerWidth"))
  expect(overflow, `${name} at phone width overflows by ${overflow}px`).toBeLessThanOrEqual(0)
  await phone.close()
  return desktop
}

const cellTexts = (page: Page, selector: string) => page.$$eval(selector, (cells) => cells.map((c) => (c.textContent ?? "").trim()))

describe.skipIf(!HAVE_CHROMIUM)("web UI in chromium", () => {
  it("every page shows this run's data, the overview moves when a block is found, and the admin's backup restores", async () => {
    mkdirSync(SCREENSHOTS, { recursive: true })
    await withPool(async ({ world, base, query }) => {
      // Let the run earn something to show: blocks, and a payout published with its txid.
      await waitFor("a published payout", 240_000, async () => (await query((s) => s.batchesPage(5, 0))).some((b) => b.status === "published"))
      await waitFor("two hashrate samples", 90_000, async () => ((await (await fetch(`${base}/api/hashrate`)).json()) as { points: Array<unknown> }).points.length >= 2)

      const browser: Browser = await chromium.launch({ executablePath: CHROMIUM, args: BROWSER_ARGS })
      const problems: Array<string> = []
      try {
        const desktop = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true })
        const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true })
        for (const context of [desktop, phone]) {
          context.on("page", (page) => {
            page.on("pageerror", (e) => problems.push(`page error: ${e.message}`))
            // CSP violations and failed loads are console errors.
            page.on("console", (m) => void (m.type() === "error" && problems.push(`console: ${m.text()}`)))
          })
        }
        const contexts = { desktop, phone }

        // ---- overview: the block table is the store's, the quotas are the run's accounts
        const overview = await visit(contexts, base, "/", "overview", async (page) => {
          await page.waitForSelector("#blocks tbody tr")
          await page.waitForSelector("#quotas tbody tr")
          await page.waitForSelector("#hashrate-chart svg path.line-pool")
        })
        const shownHeights = (await cellTexts(overview, "#blocks tbody tr td:first-child")).map(Number)
        const stored = (await query((s) => s.blocksPage(100, 0))).map((b) => b.height)
        expect(shownHeights.length).toBeGreaterThan(0)
        // Blocks keep coming: the table is the store's newest ten as of when it was drawn.
        expect(shownHeights).toEqual(stored.filter((h) => h <= shownHeights[0]!).slice(0, 10))
        const quotaAccounts = await overview.$$eval("#quotas tbody tr td:first-child a", (links) => links.map((a) => a.getAttribute("title")))
        expect(quotaAccounts.length).toBeGreaterThan(0)
        for (const account of quotaAccounts) expect(world.accounts).toContain(account)
        expect(await overview.textContent("#network-name")).toBe(world.network.name)

        // ---- live update: the overview's block count and table move with no reload
        await overview.evaluate("window.notReloaded = true")
        const countBefore = Number(await overview.textContent("#blocks-found"))
        const topBefore = shownHeights[0]!
        // Polled from here: the page's CSP (no eval) refuses waitForFunction's injected predicates.
        await waitFor("the overview's block count to move", 120_000, async () => Number(await overview.textContent("#blocks-found")) > countBefore)
        await waitFor("a new block on top of the overview's table", 30_000, async () => Number(await overview.textContent("#blocks tbody tr td")) > topBefore)
        expect(await overview.evaluate("window.notReloaded === true")).toBe(true)
        expect(Number(await overview.textContent("#blocks-found"))).toBeGreaterThan(countBefore)
        await overview.screenshot({ path: join(SCREENSHOTS, "overview-after-block.png"), fullPage: true })

        // ---- connect: host, port, username; the BLAKE-256 ASICs greyed on this BLAKE3 chain
        const connect = await visit(contexts, base, "/connect", "connect", async (page) => void (await page.waitForSelector("table.models")))
        expect(await connect.textContent("#stratum-url")).toBe("stratum+tcp://127.0.0.1:5550")
        const ruledOut = await connect.$$eval("tr.ruled-out", (rows) => rows.map((r) => r.getAttribute("data-model")))
        expect(ruledOut.sort()).toEqual(["antminer-dr3", "antminer-dr5", "cpuminer-blake256", "innosilicon-d9", "obelisk-dcr1", "whatsminer-d1"])
        expect(await connect.$$eval("tr.usable", (rows) => rows.map((r) => r.getAttribute("data-model")))).toEqual(["cpuminer", "gominer", "nicehash"])

        // ---- account: an account that was paid shows its payments with the stored txids
        const batches = await query((s) => s.batchesPage(50, 0))
        const published = batches.filter((b) => b.status === "published")
        // The newest batch that paid one of the miners' accounts (not only the pool's fee).
        let batch: (typeof published)[number] | undefined
        let paid: string | undefined
        for (const b of published) {
          paid = (await query((s) => s.paymentsOf(b.id))).find((p) => world.accounts.includes(p.account))?.account
          if (paid !== undefined) {
            batch = b
            break
          }
        }
        if (batch === undefined || paid === undefined) throw new Error("no published payout paid a miner's account")
        const account = await visit(contexts, base, `/account/${paid}`, "account", async (page) => {
          await page.waitForSelector("#account-payments tbody tr")
          await page.waitForSelector("#account-clients tbody tr")
        })
        expect(await account.textContent("#account-address")).toBe(paid)
        const shownTxids = await account.$$eval("#account-payments code.txid", (codes) => codes.map((c) => c.getAttribute("title")))
        const storedPayments = await query((s) => s.accountPayments(paid, 20, 0))
        expect(shownTxids.length).toBeGreaterThan(0)
        for (const txid of shownTxids) expect(storedPayments.map((p) => p.txid)).toContain(txid)
        expect(shownTxids).toContain(batch.txid)
        const workers = await cellTexts(account, "#account-clients tbody tr td:first-child")
        const minersOfAccount = world.miners.filter((m) => m.account === paid).map((m) => `rig${world.miners.indexOf(m)}`)
        for (const worker of workers) expect(minersOfAccount).toContain(worker)

        // ---- staking: this run's price, pool and blocks with their votes; a staker's tickets
        const model = world.dcrd.model
        const staking = await visit(contexts, base, "/staking", "staking", async (page) => {
          await page.waitForSelector("#price-chart svg path.line-price")
          await page.waitForSelector("#staking-blocks tbody tr")
        })
        const dcrText = (atoms: bigint) =>
          `${(atoms / 100_000_000n).toLocaleString("en-US")}${atoms % 100_000_000n === 0n ? "" : `.${(atoms % 100_000_000n).toString().padStart(8, "0").replace(/0+$/, "")}`} DCR`
        // The price shown is one this chain required: a window's, or the next block's.
        const windowPrices = new Set<string>([dcrText(model.nextStakeDifficulty())])
        for (let h = 0; h <= model.height; h += world.network.stakeDiffWindowSize) windowPrices.add(dcrText(model.headerFactsAt(h).sbits))
        expect(windowPrices).toContain(await staking.textContent("#staking-price"))
        expect(Number(await staking.textContent("#staking-pool-target"))).toBe(world.network.ticketPoolSize * world.network.ticketsPerBlock)
        const shownPool = Number(await staking.textContent("#staking-pool-size"))
        expect(shownPool).toBeGreaterThan(0)
        expect(Math.abs(shownPool - model.poolSize)).toBeLessThanOrEqual(world.network.maxFreshStakePerBlock * 4)
        expect(Number(await staking.getAttribute("#price-chart", "data-windows"))).toBeGreaterThan(1)
        // Each block row is the chain's: its votes are the header's voters.
        const blockRows = await staking.$$eval("#staking-blocks tbody tr", (rows) => rows.map((r) => [...r.querySelectorAll("td")].map((td) => (td.textContent ?? "").trim())))
        expect(blockRows.length).toBeGreaterThan(0)
        for (const [height, votes, misses] of blockRows) {
          const block = world.dcrd.blockAt(Number(height))!
          expect(block, `block ${height}`).toBeDefined()
          expect(Number(votes) + Number(misses), `block ${height}`).toBe(world.network.ticketsPerBlock)
          expect(Number(votes)).toBeGreaterThanOrEqual(Math.floor(world.network.ticketsPerBlock / 2) + 1)
        }
        const staker = STAKERS[0]!.owner
        const lookup = await visit(contexts, base, `/staking?address=${staker}`, "staking-lookup", async (page) => void (await page.waitForSelector("#staker-tickets tbody tr")))
        expect(await lookup.inputValue("#staker-address")).toBe(staker)
        const shownTickets = await lookup.$$eval("#staker-tickets code.txid", (codes) => codes.map((c) => c.getAttribute("title")))
        const stakersTickets = new Set([...model.allTickets()].filter((t) => t.purchase.owner === staker).map((t) => toHex(Uint8Array.from(t.purchase.hash).reverse())))
        expect(shownTickets.length).toBeGreaterThan(0)
        // Newest first: the newest shown are still the model's (it forgets ended tickets later).
        expect(stakersTickets).toContain(shownTickets[0])
        const statuses = await cellTexts(lookup, "#staker-tickets tbody tr td:nth-child(2)")
        expect(statuses.some((s) => s === "live" || s === "immature" || s === "unmined")).toBe(true)
        expect(Number((await lookup.textContent('#staker-counts [data-status="live"]'))?.replace(/\D+/g, ""))).toBeGreaterThan(0)

        // Each open page holds a live-update stream, and Chromium opens at most six connections
        // to a host: close these two, or the admin's login form waits for a free one.
        await staking.close()
        await lookup.close()

        // ---- admin: log in, see every client, download a backup; it restores
        const admin = await desktop.newPage()
        await admin.goto(`${base}/admin`)
        await admin.screenshot({ path: join(SCREENSHOTS, "admin-login.png"), fullPage: true })
        await admin.fill("input[name=password]", "not the password")
        await admin.click('form[action="/admin/login"] button')
        expect(await admin.textContent("p.error")).toContain("Wrong password")
        await admin.fill("input[name=password]", ADMIN_PASSWORD)
        await Promise.all([admin.waitForURL(`${base}/admin`), admin.click('form[action="/admin/login"] button')])
        await admin.waitForSelector("#admin-clients tbody tr")
        const clientCount = (await admin.$$("#admin-clients tbody tr")).length
        expect(clientCount).toBeGreaterThan(0)
        await admin.waitForSelector("#admin-fees tbody tr")
        await admin.screenshot({ path: join(SCREENSHOTS, "admin.png"), fullPage: true })
        const phoneAdmin = await phone.newPage()
        await phoneAdmin.goto(`${base}/admin`)
        await phoneAdmin.screenshot({ path: join(SCREENSHOTS, "admin-login-phone.png"), fullPage: true })
        // The same session on the phone: the logged-in admin page at phone width.
        await phone.addCookies(await desktop.cookies())
        await phoneAdmin.goto(`${base}/admin`)
        await phoneAdmin.waitForSelector("#admin-clients tbody tr")
        await phoneAdmin.screenshot({ path: join(SCREENSHOTS, "admin-phone.png"), fullPage: true })
        await phoneAdmin.close()

        const before = await query((s) => s.rowCounts)
        const [download] = await Promise.all([admin.waitForEvent("download"), admin.click("#backup-button")])
        const file = join(SCREENSHOTS, "..", "backup.jsonl")
        await download.saveAs(file)
        const after = await query((s) => s.rowCounts)
        const lines = readFileSync(file, "utf8").split("\n")
        const restored = await Effect.runPromise(
          Effect.gen(function* () {
            yield* restore(lines)
            const store = yield* PoolStore
            return yield* store.rowCounts
          }).pipe(Effect.scoped, Effect.provide(poolStoreLayer), Effect.provide(pgliteLayer({ dataDir: undefined }))),
        )
        // The snapshot is one transaction taken between the two counts.
        for (const table of Object.keys(before)) {
          expect(restored[table], table).toBeGreaterThanOrEqual(before[table]!)
          expect(restored[table], table).toBeLessThanOrEqual(after[table]!)
        }
        expect(restored.payout_batches).toBeGreaterThan(0)

        // Logging out ends the session: the admin page asks for the password again.
        await Promise.all([admin.waitForURL(`${base}/`), admin.click('form[action="/admin/logout"] button')])
        await admin.goto(`${base}/admin`)
        expect(await admin.$("input[name=password]")).not.toBeNull()
      } finally {
        await browser.close()
      }
      // The one expected failure: the wrong password's 401.
      expect(problems.filter((p) => !p.includes("status of 401 (Unauthorized)"))).toEqual([])
      expect(problems.length).toBeLessThanOrEqual(1)
    })
  }, 600_000)
})
