import type { AgendaVoteProgress } from "../../core/chain/agendas.ts"
import { cannotMineReason, MINER_PROFILES, userAgentOf } from "../../core/stratum/profiles.ts"
import type { PowHashAlgorithm } from "../../core/chain/hash.ts"
import { USERNAME_FORMAT } from "./api.ts"
import type { StakeOverview } from "../../core/services/stake-view.ts"
import type { PpsReserveReport } from "../accounting/reserve.ts"
import { atomsToDcr } from "../../core/chain/amounts.ts"

/**
 * The web UI's pages, rendered on the server as plain HTML: the frame, the figures known when
 * the page is asked for, and empty tables and charts that /static/app.js fills from the JSON
 * API and keeps current from /api/events. No inline script or style (the CSP forbids both).
 */

/** Escapes text for HTML element content and double-quoted attributes. */
const html = (text: string | number): string => String(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!)

type PageName = "overview" | "connect" | "account" | "staking" | "admin"

interface PageFrame {
  readonly designation: string
  readonly network: string
  readonly page: PageName
  readonly title: string
  /** The session's CSRF token, for pages with forms. */
  readonly csrf?: string | undefined
  /** Extra `data-*` attributes on <main> for the script (name without the prefix -> value). */
  readonly data?: Readonly<Record<string, string>> | undefined
}

const NAV: ReadonlyArray<readonly [PageName, string, string]> = [
  ["overview", "/", "Overview"],
  ["connect", "/connect", "Connect"],
  ["staking", "/staking", "Staking"],
  ["admin", "/admin", "Admin"],
]

const layout = (frame: PageFrame, body: string): string => {
  const data = Object.entries(frame.data ?? {})
    .map(([k, v]) => ` data-${k}="${html(v)}"`)
    .join("")
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${html(frame.title)} · ${html(frame.designation)}</title>
<link rel="stylesheet" href="/static/app.css">
<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">
${frame.csrf === undefined ? "" : `<meta name="csrf-token" content="${html(frame.csrf)}">\n`}<script src="/static/app.js" defer></script>
</head>
<body>
<header class="top">
  <a class="brand" href="/"><span class="logo" aria-hidden="true"></span>${html(frame.designation)}</a>
  <span class="net" title="network">${html(frame.network)}</span>
  <nav>${NAV.map(([page, href, label]) => `<a href="${href}"${page === frame.page ? ' aria-current="page"' : ""}>${label}</a>`).join("")}</nav>
  <form class="lookup" action="/account" method="get" role="search">
    <input name="address" placeholder="Your payout address" aria-label="payout address" autocomplete="off" spellcheck="false" required>
    <button type="submit">Look up</button>
  </form>
</header>
<main data-page="${frame.page}"${data}>
${body}
</main>
<footer><span class="live-dot" id="live-state" title="live updates">live</span> · dcrforge · <a href="/api/openapi.json">API</a></footer>
</body>
</html>
`
}

const card = (id: string, label: string, value: string, hint = "", kind = "") =>
  `<div class="card${kind === "" ? "" : ` ${kind}`}"><div class="label">${html(label)}</div><div class="value" id="${id}">${html(value)}</div>${hint === "" ? "" : `<div class="hint">${html(hint)}</div>`}</div>`

interface OverviewFigures {
  readonly network: string
  readonly mode: string
  readonly scheme: string
  readonly feeBasisPoints: number
  readonly workHeight: number | null
  readonly connectedMiners: number
  readonly blocksFound: number
  readonly hashesPerSecond: number
  readonly networkHashesPerSecond: number | null
  /** What is wrong with the pool now (GET /api/health); empty when healthy. */
  readonly healthProblems: ReadonlyArray<string>
  /** A consensus vote the chain is holding (DCP-0011's blake3pow), when the node reports one. */
  readonly agenda?: AgendaVoteProgress | undefined
}

const AGENDA_STATES: Readonly<Record<string, string>> = {
  defined: "defined: voting has not opened",
  started: "voting",
  lockedin: "locked in",
  active: "active",
  failed: "failed: voted down",
}

/** The vote at a glance; the script refreshes it by reloading this panel (id agenda-progress). */
const agendaPanel = (a: AgendaVoteProgress) => {
  const counted = a.yes + a.no
  const needed = Math.floor((counted * a.threshold.numerator) / a.threshold.denominator)
  const yesPercent = counted === 0 ? 0 : Math.round((100 * a.yes) / counted)
  const activation =
    a.activationHeight === undefined
      ? `locks in when an interval has ${a.quorum} yes-or-no votes and at least ${a.threshold.numerator}/${a.threshold.denominator} of them say yes; active one interval later`
      : `${a.state === "active" ? "active since" : "activates at"} height ${a.activationHeight}`
  return `<section class="panel" id="agenda-progress" data-state="${html(a.state)}">
  <h2>Agenda vote: ${html(a.agenda)}</h2>
  <p class="sub">State <strong id="agenda-state">${html(AGENDA_STATES[a.state] ?? a.state)}</strong> · <span id="agenda-activation">${html(activation)}</span></p>
  <p>${
    a.state === "defined"
      ? `Voting opens at height ${a.interval.last + 1}.`
      : `Interval ${a.interval.first}–${a.interval.last}: <strong id="agenda-yes">${a.yes}</strong> yes, ${a.no} no, ${a.abstain} abstain (${yesPercent} % yes; quorum ${a.quorum}${counted >= a.quorum ? `, met: ${needed} yes needed` : ""})${a.state === "started" ? "" : ", counted but no longer deciding"}`
  }</p>
</section>`
}

/** Health at a glance; the script refreshes it from /api/health. */
const healthCard = (problems: ReadonlyArray<string>) =>
  `<div class="card health ${problems.length === 0 ? "ok" : "bad"}" id="pool-health-card"><div class="label">Health</div><div class="value" id="pool-health">${problems.length === 0 ? "OK" : "Degraded"}</div><div class="hint" id="pool-health-detail">${
    problems.length === 0 ? "every task runs; dcrd, the wallet and the store answer" : problems.map(html).join("<br>")
  }</div></div>`

const formatHashrate = (h: number | null): string => {
  if (h === null) return "–"
  const units = ["H/s", "kH/s", "MH/s", "GH/s", "TH/s", "PH/s", "EH/s"]
  let i = 0
  while (h >= 1000 && i < units.length - 1) {
    h /= 1000
    i++
  }
  return `${h.toFixed(h >= 100 || i === 0 ? 0 : 2)} ${units[i]}`
}

const schemeLabel = (scheme: string): string => ({ pplns: "PPLNS", "pplns-time": "PPLNS (time window)", proportional: "Proportional", pps: "PPS", solo: "Solo" })[scheme] ?? scheme

export const overviewPage = (frame: Omit<PageFrame, "page" | "title">, f: OverviewFigures): string =>
  layout(
    { ...frame, page: "overview", title: "Overview" },
    `<h1>Pool overview</h1>
<section class="cards">
${healthCard(f.healthProblems)}
${card("pool-hashrate", "Pool hashrate", formatHashrate(f.hashesPerSecond), "from recent shares")}
${card("network-hashrate", "Network hashrate", formatHashrate(f.networkHashesPerSecond), "from difficulty")}
${card("connected-miners", "Connected miners", String(f.connectedMiners))}
${card("work-height", "Last work height", f.workHeight === null ? "–" : String(f.workHeight))}
${card("blocks-found", "Blocks found", String(f.blocksFound))}
${card("payment-scheme", "Payment scheme", schemeLabel(f.scheme), `${f.mode} mode`)}
${card("pool-fee", "Pool fee", `${(f.feeBasisPoints / 100).toFixed(2)} %`)}
${card("network-name", "Network", f.network)}
</section>
${f.agenda === undefined ? "" : agendaPanel(f.agenda)}
<section class="panel">
  <h2>Hashrate</h2>
  <div class="chart" id="hashrate-chart" data-series="pool,network" role="img" aria-label="pool and network hashrate over time"><p class="empty">Collecting samples…</p></div>
</section>
<div class="two">
<section class="panel">
  <h2>Recent blocks</h2>
  <div id="blocks" data-source="/api/blocks" data-columns="height,status,reward,finder,found" data-limit="10"><p class="empty">Loading…</p></div>
</section>
<section class="panel">
  <h2>Next reward</h2>
  <p class="sub">Each account's share of the next block the pool finds (${html(schemeLabel(f.scheme))} window).</p>
  <div id="quotas" data-source="/api/quotas" data-columns="account,quota" data-limit="10"><p class="empty">Loading…</p></div>
</section>
</div>`,
  )

export const connectPage = (frame: Omit<PageFrame, "page" | "title">, c: { readonly host: string; readonly port: number; readonly pow: PowHashAlgorithm | undefined }): string => {
  const rows = MINER_PROFILES.map((p) => {
    const reason = c.pow === undefined ? undefined : cannotMineReason(p, c.pow)
    const note = p.pow === "blake3" ? "Identifies itself by user agent; difficulty is set per connection (vardiff)." : "Legacy BLAKE-256 ASIC, identified by its firmware's user agent."
    return `<tr class="${reason === undefined ? "usable" : "ruled-out"}" data-model="${html(p.model)}">
  <td><strong>${html(p.displayName)}</strong>${reason === undefined ? "" : `<div class="why">${html(reason)}</div>`}</td>
  <td><span class="pill ${p.pow}">${p.pow === "blake3" ? "BLAKE3" : "BLAKE-256"}</span></td>
  <td><code>${html(userAgentOf(p))}</code></td>
  <td class="hide-narrow">${html(note)}</td>
</tr>`
  }).join("\n")
  return layout(
    { ...frame, page: "connect", title: "Connect" },
    `<h1>Connect a miner</h1>
<section class="panel connect">
  <dl class="facts">
    <dt>Stratum URL</dt><dd><code id="stratum-url">stratum+tcp://${html(c.host)}:${c.port}</code></dd>
    <dt>Host</dt><dd><code>${html(c.host)}</code></dd>
    <dt>Port</dt><dd><code>${c.port}</code></dd>
    <dt>Username</dt><dd><code>${html(USERNAME_FORMAT)}</code> — e.g. <code>${html(frame.network === "mainnet" ? "DsYourAddress" : "SsYourAddress")}.rig1</code>; payouts go to the address, the worker name tells your rigs apart</dd>
    <dt>Password</dt><dd>anything (not checked)</dd>
    <dt>Proof of work</dt><dd id="active-pow">${c.pow === undefined ? "waiting for the first work from dcrd" : c.pow === "blake3" ? "BLAKE3 (DCP-0011)" : "BLAKE-256"}</dd>
  </dl>
</section>
<section class="panel">
  <h2>Supported miners</h2>
  <p class="sub">Greyed models cannot mine this chain's active proof of work; the pool refuses them at subscribe.</p>
  <div class="table-wrap"><table class="models">
    <thead><tr><th>Miner</th><th>PoW</th><th>User agent</th><th class="hide-narrow">Notes</th></tr></thead>
    <tbody>
${rows}
    </tbody>
  </table></div>
</section>`,
  )
}

export const accountPage = (frame: Omit<PageFrame, "page" | "title">, address: string): string =>
  layout(
    { ...frame, page: "account", title: `Account ${address.slice(0, 10)}…`, data: { address } },
    `<h1>Account</h1>
<p class="address"><code id="account-address">${html(address)}</code></p>
<section class="cards">
${card("account-hashrate", "Hashrate", "–", "from recent shares")}
${card("account-quota", "Next reward share", "–")}
${card("account-immature", "Immature", "–", "credited, coinbase not mature", "money")}
${card("account-payable", "Payable", "–", "waits for the next payout", "money")}
${card("account-pending", "Pending", "–", "in a payout being sent", "money")}
${card("account-paid", "Paid", "–", "", "money")}
${card("account-blocks", "Blocks found", "–")}
</section>
<section class="panel">
  <h2>Hashrate</h2>
  <div class="chart" id="account-chart" data-series="account" role="img" aria-label="this account's hashrate over time"><p class="empty">Collecting samples…</p></div>
</section>
<section class="panel">
  <h2>Connected clients</h2>
  <div id="account-clients"><p class="empty">Loading…</p></div>
</section>
<section class="panel">
  <h2>Payments</h2>
  <div id="account-payments" data-source="/api/accounts/${html(encodeURIComponent(address))}/payments" data-columns="paystatus,amount,txid,height,created" data-limit="20"><p class="empty">Loading…</p></div>
</section>
<section class="panel">
  <h2>Blocks mined</h2>
  <div id="account-blocks-table" data-source="/api/accounts/${html(encodeURIComponent(address))}/blocks" data-columns="height,status,reward,worker,found" data-limit="20"><p class="empty">Loading…</p></div>
</section>`,
  )

/** Atoms as DCR, exact (the script formats the same way). */
const dcr = (atoms: bigint): string => {
  const whole = atoms / 100_000_000n
  const frac = (atoms % 100_000_000n).toString().padStart(8, "0").replace(/0+$/, "")
  return `${whole.toLocaleString("en-US")}${frac === "" ? "" : `.${frac}`} DCR`
}

interface StakingFigures {
  /** The address the lookup form was given (empty when none). */
  readonly address: string
  readonly network?: string | undefined
  readonly overview?: StakeOverview | undefined
  /** Why there are no figures: the page says so instead. */
  readonly unavailable?: string | undefined
}

export const stakingPage = (frame: Omit<PageFrame, "page" | "title">, f: StakingFigures): string => {
  const o = f.overview
  const lookup = `<section class="panel">
  <h2>Look up a staker</h2>
  <p class="sub">The tickets whose returns go to an address, through their life: unmined, immature, live, then voted, or missed or expired and revoked.</p>
  <form class="staker-lookup" action="/staking" method="get" role="search">
    <input name="address" id="staker-address" value="${html(f.address)}" placeholder="A ${html(frame.network || "network")} address" aria-label="staker address" autocomplete="off" spellcheck="false" required>
    <button type="submit">Show tickets</button>
  </form>
  <div id="staker-counts" class="counts"></div>
  <div id="staker-tickets">${f.address === "" ? "" : '<p class="empty">Loading…</p>'}</div>
</section>`
  if (o === undefined) {
    return layout(
      { ...frame, page: "staking", title: "Staking" },
      `<h1>Staking</h1>
<section class="panel"><p class="error" id="staking-unavailable">${html(f.unavailable ?? "not available")}</p></section>`,
    )
  }
  const fill = Math.min(1, o.poolSize / Math.max(1, o.poolTarget))
  return layout(
    { ...frame, page: "staking", title: "Staking", data: f.address === "" ? {} : { address: f.address } },
    `<h1>Staking</h1>
<section class="cards">
${card("staking-price", "Ticket price", dcr(o.price), "what the next block's tickets pay", "money")}
${card("staking-expected", "Next window (expected)", dcr(o.estimate.expected), `from block ${o.estimate.nextWindowStartsAt}`, "money")}
<div class="card money"><div class="label">Next window range</div><div class="value range"><span id="staking-min">${html(dcr(o.estimate.min))}</span> – <span id="staking-max">${html(dcr(o.estimate.max))}</span></div><div class="hint">nobody buys – every block full</div></div>
${card("staking-left", "Blocks left in window", String(o.estimate.blocksLeftInWindow), `windows of ${o.windowSize} blocks`)}
<div class="card"><div class="label">Ticket pool</div><div class="value" id="staking-pool-size">${o.poolSize}</div><div class="hint">target <span id="staking-pool-target">${o.poolTarget}</span></div><div class="bar" id="staking-pool-bar" data-fill="${fill.toFixed(4)}"></div></div>
${card("staking-mempool", "Tickets in mempool", String(o.mempoolTickets))}
${card("staking-height", "Height", String(o.height))}
</section>
<section class="panel">
  <h2>Ticket price by window</h2>
  <div class="chart" id="price-chart" role="img" aria-label="the ticket price of each window"><p class="empty">Loading…</p></div>
</section>
${lookup}
<section class="panel">
  <h2>Votes and misses per block</h2>
  <div id="staking-blocks" data-source="/api/staking/blocks" data-columns="height,votes,misses,revocations,tickets,poolsize" data-limit="20"><p class="empty">Loading…</p></div>
</section>`,
  )
}

export const loginPage = (frame: Omit<PageFrame, "page" | "title">, state: { readonly enabled: boolean; readonly error?: string | undefined }): string =>
  layout(
    { ...frame, page: "admin", title: "Admin login" },
    `<section class="panel login">
  <h1>Admin</h1>
  ${
    state.enabled
      ? `${state.error === undefined ? "" : `<p class="error" role="alert">${html(state.error)}</p>`}
  <form method="post" action="/admin/login">
    <input type="hidden" name="csrf" value="${html(frame.csrf ?? "")}">
    <label>Password <input type="password" name="password" autocomplete="current-password" required autofocus></label>
    <button type="submit">Log in</button>
  </form>`
      : `<p>The admin pages are off: start the pool with <code>--adminpass</code> to use them.</p>`
  }
</section>`,
  )

/**
 * The PPS reserve panel: blocks in, PPS out, the balance, and a warning when it is below the
 * threshold. Shown under PPS, or when an earlier PPS period left figures; `undefined` when the
 * store did not answer (said, not hidden).
 */
const reservePanel = (reserve: PpsReserveReport | undefined | "unavailable"): string => {
  if (reserve === undefined) return ""
  if (reserve === "unavailable")
    return `<section class="panel"><h2>PPS reserve</h2><p class="error" role="alert">The reserve could not be read: the pool's database did not answer (see the pool's log).</p></section>`
  if (!reserve.applies && reserve.blocks === 0 && reserve.creditedToShares === 0n) return ""
  const dcr = (atoms: bigint) => `${atomsToDcr(atoms)} DCR`
  const warning = reserve.low
    ? `<p class="error" role="alert" id="pps-reserve-warning">The reserve is low: ${html(dcr(reserve.balance))}, below the threshold of ${html(dcr(reserve.lowThreshold))}. PPS payouts come out of the wallet's other funds until blocks make it up: keep the payout wallet funded.</p>`
    : ""
  return `<section class="panel">
  <h2>PPS reserve</h2>
  <p class="sub">PPS pays every share its expected value and keeps the blocks' rewards; the balance carries the pool's luck.${reserve.applies ? "" : " The pool no longer pays PPS: these are the figures of its PPS period."}</p>
  ${warning}
  <section class="cards">
${card("pps-reserve-in", "Blocks paid in", dcr(reserve.blocksIn), `${reserve.blocks} block${reserve.blocks === 1 ? "" : "s"} in the main chain`, "money")}
${card("pps-reserve-out", "PPS paid out", dcr(reserve.creditedToShares), "credited for shares", "money")}
${card("pps-reserve-balance", "Balance", dcr(reserve.balance), reserve.low ? "low" : "", reserve.low ? "money health bad" : "money")}
${card("pps-reserve-threshold", "Warn below", dcr(reserve.lowThreshold), "ppsreservelow", "money")}
  </section>
</section>`
}

export const adminPage = (
  frame: Omit<PageFrame, "page" | "title">,
  f: { readonly mode: string; readonly scheme: string; readonly feeBasisPoints: number; readonly instance: string; readonly reserve?: PpsReserveReport | "unavailable" | undefined },
): string =>
  layout(
    { ...frame, page: "admin", title: "Admin" },
    `<div class="title-row"><h1>Admin</h1>
<form method="post" action="/admin/logout" class="inline"><input type="hidden" name="csrf" value="${html(frame.csrf ?? "")}"><button type="submit" class="secondary">Log out</button></form></div>
<section class="cards">
${card("admin-mode", "Pool mode", f.mode)}
${card("admin-scheme", "Payment scheme", schemeLabel(f.scheme))}
${card("admin-fee", "Pool fee", `${(f.feeBasisPoints / 100).toFixed(2)} %`)}
${card("admin-instance", "Network", f.instance)}
</section>
${reservePanel(f.reserve)}
<section class="panel">
  <h2>Backup</h2>
  <p class="sub">A consistent snapshot of the whole database as JSON lines; restore it with <code>pool restore --from=FILE</code> into an empty database.</p>
  <form method="post" action="/admin/backup"><input type="hidden" name="csrf" value="${html(frame.csrf ?? "")}"><button type="submit" id="backup-button">Download backup</button></form>
</section>
<section class="panel">
  <h2>All clients</h2>
  <div id="admin-clients" data-source="/api/admin/clients" data-columns="account,worker,model,hashrate,lastshare" data-limit="50"><p class="empty">Loading…</p></div>
</section>
<section class="panel">
  <h2>Fee payments</h2>
  <div id="admin-fees" data-source="/api/admin/fees" data-columns="paystatus,amount,txid,height,created" data-limit="20"><p class="empty">Loading…</p></div>
</section>`,
  )

export const errorPage = (frame: Omit<PageFrame, "page" | "title">, status: number, message: string): string =>
  layout({ ...frame, page: "overview", title: String(status) }, `<section class="panel"><h1>${status}</h1><p>${html(message)}</p><p><a href="/">Back to the overview</a></p></section>`)
