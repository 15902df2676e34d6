// dcrforge pool UI: fills the server-rendered pages from the JSON API and keeps them current
// from /api/events (server-sent events). Plain browser JavaScript, no build step, no library.
"use strict"
;(() => {
  const main = document.querySelector("main")
  if (main === null) return
  const page = main.dataset.page

  // ---- formatting ----
  const UNITS = ["H/s", "kH/s", "MH/s", "GH/s", "TH/s", "PH/s", "EH/s"]
  const hashrate = (h) => {
    if (h === null || h === undefined) return "–"
    let i = 0
    while (h >= 1000 && i < UNITS.length - 1) {
      h /= 1000
      i++
    }
    return `${h.toFixed(h >= 100 || i === 0 ? 0 : 2)} ${UNITS[i]}`
  }
  // Atoms arrive as decimal strings; BigInt keeps them exact.
  const dcr = (atoms) => {
    if (atoms === null || atoms === undefined) return "–"
    const a = BigInt(atoms)
    const whole = a / 100000000n
    const frac = (a % 100000000n).toString().padStart(8, "0").replace(/0+$/, "")
    return `${whole.toLocaleString("en-US")}${frac === "" ? "" : `.${frac}`} DCR`
  }
  const ago = (ms) => {
    const s = Math.max(0, Math.round((Date.now() - ms) / 1000))
    if (s < 60) return `${s}s ago`
    if (s < 3600) return `${Math.floor(s / 60)}m ago`
    if (s < 86400) return `${Math.floor(s / 3600)}h ago`
    return new Date(ms).toISOString().slice(0, 16).replace("T", " ")
  }
  const short = (text, n = 10) => (text.length > 2 * n + 1 ? `${text.slice(0, n)}…${text.slice(-6)}` : text)
  const percent = (f) => `${(f * 100).toFixed(f >= 0.1 ? 1 : 2)} %`

  const el = (tag, attrs = {}, ...children) => {
    const node = document.createElement(tag)
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === null) continue
      if (k === "class") node.className = v
      else node.setAttribute(k, v)
    }
    for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)))
    return node
  }
  // Set through the CSSOM: the CSP refuses style attributes, not this.
  const widthSpan = (fraction) => {
    const span = el("span")
    span.style.width = `${(fraction * 100).toFixed(2)}%`
    return span
  }
  const pill = (cls, text) => el("span", { class: `pill ${cls}` }, text)
  const accountLink = (account) =>
    account.includes(":") ? el("span", { title: account }, account === "pool:fee" ? "pool fee" : account) : el("a", { href: `/account/${encodeURIComponent(account)}`, title: account }, short(account))
  const setText = (id, text) => {
    const node = document.getElementById(id)
    if (node === null || node.textContent === text) return
    const first = node.textContent === "–"
    node.textContent = text
    if (first) return
    node.classList.remove("flash")
    void node.offsetWidth
    node.classList.add("flash")
  }
  const getJson = async (url) => {
    const r = await fetch(url, { headers: { accept: "application/json" }, credentials: "same-origin" })
    if (!r.ok) throw new Error(`${url}: ${r.status}`)
    return r.json()
  }

  // ---- tables ----
  const COLUMNS = {
    height: ["Height", (r) => String(r.height), "num"],
    status: ["Status", (r) => pill(r.status, r.status)],
    reward: ["Reward", (r) => dcr(r.reward), "num"],
    finder: ["Found by", (r) => el("span", {}, accountLink(r.account), `.${r.worker}`)],
    worker: ["Worker", (r) => r.worker],
    found: ["Found", (r) => el("span", { title: new Date(r.foundMs).toISOString() }, ago(r.foundMs)), "hide-narrow"],
    account: ["Account", (r) => accountLink(r.account)],
    quota: ["Share", (r) => el("div", {}, percent(r.fraction), el("div", { class: "bar" }, widthSpan(r.fraction)))],
    model: ["Model", (r) => r.model],
    hashrate: ["Hashrate", (r) => hashrate(r.hashesPerSecond), "num"],
    lastshare: ["Last share", (r) => ago(r.lastShareMs)],
    paystatus: ["Status", (r) => pill(r.status, r.status === "published" ? "paid" : "pending")],
    amount: ["Amount", (r) => dcr(r.amount), "num"],
    txid: ["Transaction", (r) => (r.txid === null ? el("span", { class: "empty" }, "not signed yet") : el("code", { title: r.txid, class: "txid" }, short(r.txid, 12)))],
    created: ["Created", (r) => ago(r.createdMs), "hide-narrow"],
    votes: ["Votes", (r) => String(r.votes), "num"],
    misses: ["Misses", (r) => (r.misses === 0 ? "0" : pill("missed", String(r.misses))), "num"],
    revocations: ["Revoked", (r) => String(r.revocations), "num"],
    tickets: ["Tickets", (r) => String(r.tickets), "num hide-narrow"],
    poolsize: ["Pool", (r) => String(r.poolSize), "num hide-narrow"],
    ticket: ["Ticket", (r) => el("code", { title: r.ticket, class: "txid" }, short(r.ticket, 8))],
    tstatus: ["Status", (r) => pill(r.status, r.status === "revoked" && r.revokedBecause !== null ? `revoked (${r.revokedBecause})` : r.status)],
    price: ["Price", (r) => dcr(r.price), "num"],
    mined: ["Mined", (r) => (r.minedAt === null ? "–" : String(r.minedAt)), "num hide-narrow"],
    ended: ["Ended", (r) => (r.spentAt === null ? "–" : String(r.spentAt)), "num hide-narrow"],
    returned: ["Returned", (r) => dcr(r.returned), "num"],
  }

  const renderTable = (container, rows, columns) => {
    if (rows.length === 0) return container.replaceChildren(el("p", { class: "empty" }, "Nothing yet."))
    const head = el("tr", {}, ...columns.map((c) => el("th", { class: COLUMNS[c][2] ?? "" }, COLUMNS[c][0])))
    const body = rows.map((r) => el("tr", {}, ...columns.map((c) => el("td", { class: COLUMNS[c][2] ?? "" }, COLUMNS[c][1](r)))))
    container.replaceChildren(el("div", { class: "table-wrap" }, el("table", {}, el("thead", {}, head), el("tbody", {}, ...body))))
  }

  // A paged table from a list endpoint ({items, total, limit, offset}); returns its reload.
  const pagedTable = (id) => {
    const container = document.getElementById(id)
    if (container === null) return async () => {}
    const columns = container.dataset.columns.split(",")
    const limit = Number(container.dataset.limit ?? 20)
    let offset = 0
    const load = async () => {
      const sep = container.dataset.source.includes("?") ? "&" : "?"
      const data = await getJson(`${container.dataset.source}${sep}limit=${limit}&offset=${offset}`)
      renderTable(container, data.items, columns)
      container.dataset.total = String(data.total)
      if (data.total > limit) {
        const prev = el("button", { type: "button", class: "secondary" }, "‹ Newer")
        const next = el("button", { type: "button", class: "secondary" }, "Older ›")
        prev.disabled = offset === 0
        next.disabled = offset + limit >= data.total
        prev.addEventListener("click", () => {
          offset = Math.max(0, offset - limit)
          load()
        })
        next.addEventListener("click", () => {
          offset += limit
          load()
        })
        container.append(el("div", { class: "pager" }, `${offset + 1}–${Math.min(offset + limit, data.total)} of ${data.total}`, prev, next))
      }
    }
    load().catch(showError(container))
    return () => load().catch(showError(container))
  }
  const showError = (container) => (e) => container.replaceChildren(el("p", { class: "error" }, `Could not load: ${e.message}`))

  // ---- charts: inline SVG ----
  const SVG = "http://www.w3.org/2000/svg"
  const svg = (tag, attrs) => {
    const node = document.createElementNS(SVG, tag)
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v))
    return node
  }
  const niceMax = (v) => {
    if (v <= 0) return 1
    const p = 10 ** Math.floor(Math.log10(v))
    return [1, 2, 2.5, 5, 10].map((m) => m * p).find((m) => m >= v)
  }
  // series: [{ name, values: [[timeMs, value]], area }]; drawn at the container's own width
  // (no stretching, so the labels keep their shape) and again when the window resizes.
  // `axes` names how the x and y values read (default: clock time and hashrate).
  const TIME_AXES = { x: (t) => new Date(t).toTimeString().slice(0, 8), y: hashrate }
  const drawChart = (container, series, axes = TIME_AXES) => {
    container.lastSeries = series
    container.lastAxes = axes
    const points = series.flatMap((s) => s.values)
    if (points.length < 2) return container.replaceChildren(el("p", { class: "empty" }, "Collecting samples… the chart starts after two."))
    const vmax = niceMax(Math.max(...points.map((p) => p[1])))
    // The left margin fits the longest y label (11 px text: about 6.8 px a character at most).
    const longest = Math.max(...[0, 1, 2, 3, 4].map((i) => axes.y((vmax * i) / 4).length))
    const W = Math.max(280, container.clientWidth || 800),
      H = 240,
      L = Math.max(74, Math.ceil(12 + 6.8 * longest)),
      R = 12,
      T = 12,
      B = 26
    const t0 = Math.min(...points.map((p) => p[0])),
      t1 = Math.max(...points.map((p) => p[0]))
    const x = (t) => L + ((t - t0) / Math.max(1, t1 - t0)) * (W - L - R)
    const y = (v) => T + (1 - v / vmax) * (H - T - B)
    const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, width: W, height: H })
    for (let i = 0; i <= 4; i++) {
      const v = (vmax * i) / 4
      root.append(svg("line", { x1: L, x2: W - R, y1: y(v), y2: y(v), class: "axis" }))
      const label = svg("text", { x: L - 8, y: y(v) + 4, "text-anchor": "end" })
      label.textContent = axes.y(v)
      root.append(label)
    }
    for (const [t, anchor] of [
      [t0, "start"],
      [t1, "end"],
    ]) {
      const label = svg("text", { x: x(t), y: H - 6, "text-anchor": anchor })
      label.textContent = axes.x(t)
      root.append(label)
    }
    for (const s of series) {
      if (s.values.length === 0) continue
      const d = s.values.map((p, i) => `${i === 0 ? "M" : "L"}${x(p[0]).toFixed(1)},${y(p[1]).toFixed(1)}`).join("")
      if (s.area) root.append(svg("path", { d: `${d}L${x(s.values.at(-1)[0]).toFixed(1)},${y(0)}L${x(s.values[0][0]).toFixed(1)},${y(0)}Z`, class: `area-${s.name}` }))
      root.append(svg("path", { d, class: `line-${s.name}` }))
    }
    const legend = el("div", { class: "legend" }, ...series.map((s) => el("span", {}, el("i", { class: s.name }), s.label)))
    container.replaceChildren(root, legend)
    container.dataset.points = String(points.length)
  }

  let resizeTimer
  window.addEventListener("resize", () => {
    clearTimeout(resizeTimer)
    resizeTimer = setTimeout(() => {
      for (const chart of document.querySelectorAll(".chart")) if (chart.lastSeries) drawChart(chart, chart.lastSeries, chart.lastAxes)
    }, 150)
  })

  // ---- live updates ----
  const listeners = { stats: [], block: [] }
  const live = () => {
    const dot = document.getElementById("live-state")
    if (typeof EventSource === "undefined") return
    const source = new EventSource("/api/events")
    source.addEventListener("open", () => dot?.classList.add("on"))
    source.addEventListener("error", () => dot?.classList.remove("on"))
    for (const kind of Object.keys(listeners)) {
      source.addEventListener(kind, (e) => {
        const data = JSON.parse(e.data)
        for (const f of listeners[kind]) f(data)
      })
    }
  }

  // ---- pages ----
  if (page === "overview") {
    const chart = document.getElementById("hashrate-chart")
    const loadChart = () =>
      getJson("/api/hashrate").then((d) =>
        drawChart(chart, [
          { name: "pool", label: "pool", area: true, values: d.points.map((p) => [p.timeMs, p.pool]) },
          { name: "network", label: "network", values: d.points.map((p) => [p.timeMs, p.network]) },
        ]),
      )
    loadChart().catch(showError(chart))
    setInterval(() => loadChart().catch(() => {}), 15000)
    const blocks = pagedTable("blocks")
    const quotas = pagedTable("quotas")
    listeners.stats.push((s) => {
      setText("pool-hashrate", hashrate(s.hashesPerSecond))
      setText("connected-miners", String(s.connectedMiners))
      setText("work-height", s.workHeight === null ? "–" : String(s.workHeight))
      setText("blocks-found", String(s.blocksFound))
    })
    listeners.block.push(() => {
      blocks()
      quotas()
    })
    setInterval(() => quotas(), 30000)
    // Health answers 503 with the same JSON when something is wrong: read the body either way.
    const loadHealth = async () => {
      const r = await fetch("/api/health", { headers: { accept: "application/json" }, credentials: "same-origin" })
      const h = await r.json()
      const problems = [
        ...Object.entries(h.components)
          .filter(([, c]) => !c.ok)
          .map(([name, c]) => `${name}: ${c.detail}`),
        ...h.tasks.filter((t) => t.state === "restarting").map((t) => `task ${t.name} restarting after ${t.failures} failure${t.failures === 1 ? "" : "s"}: ${t.lastFailure ?? "unknown"}`),
      ]
      const card = document.getElementById("pool-health-card")
      card?.classList.toggle("ok", problems.length === 0)
      card?.classList.toggle("bad", problems.length > 0)
      setText("pool-health", problems.length === 0 ? "OK" : "Degraded")
      const detail = document.getElementById("pool-health-detail")
      if (detail !== null)
        detail.replaceChildren(...(problems.length === 0 ? ["every task runs; dcrd, the wallet and the store answer"] : problems.flatMap((p, i) => (i === 0 ? [p] : [el("br", {}), p]))))
    }
    setInterval(() => loadHealth().catch(() => {}), 10000)
    // An agenda vote the chain holds: its panel is re-read from the page itself.
    if (document.getElementById("agenda-progress") !== null) {
      const loadAgenda = async () => {
        const r = await fetch("/", { credentials: "same-origin" })
        const fresh = new DOMParser().parseFromString(await r.text(), "text/html").getElementById("agenda-progress")
        if (fresh !== null) document.getElementById("agenda-progress")?.replaceWith(fresh)
      }
      setInterval(() => loadAgenda().catch(() => {}), 5000)
    }
  }

  if (page === "account") {
    const address = main.dataset.address
    const base = `/api/accounts/${encodeURIComponent(address)}`
    const chart = document.getElementById("account-chart")
    const clients = document.getElementById("account-clients")
    const loadAccount = async () => {
      const r = await fetch(base, { credentials: "same-origin" })
      if (r.status === 404) {
        clients.replaceChildren(el("p", { class: "empty" }, (await r.json()).error))
        return
      }
      const a = await r.json()
      setText("account-hashrate", hashrate(a.hashesPerSecond))
      setText("account-quota", a.quota === null ? "n/a" : percent(a.quota))
      setText("account-immature", dcr(a.immature))
      setText("account-payable", dcr(a.payable))
      setText("account-pending", dcr(a.pending))
      setText("account-paid", dcr(a.paid))
      setText("account-blocks", String(a.blocksFound))
      renderTable(clients, a.clients, ["worker", "model", "hashrate", "lastshare"])
    }
    const loadChart = () =>
      getJson(`${base}/hashrate`).then((d) => drawChart(chart, [{ name: "account", label: "this account", area: true, values: d.points.map((p) => [p.timeMs, p.hashesPerSecond]) }]))
    loadAccount().catch(showError(clients))
    loadChart().catch(showError(chart))
    const payments = pagedTable("account-payments")
    const blocks = pagedTable("account-blocks-table")
    setInterval(() => {
      loadAccount().catch(() => {})
      loadChart().catch(() => {})
    }, 15000)
    listeners.block.push(() => {
      loadAccount().catch(() => {})
      payments()
      blocks()
    })
  }

  if (page === "staking" && document.getElementById("staking-price") !== null) {
    const chart = document.getElementById("price-chart")
    // Simnet's prices are fractions of a DCR: keep three significant digits whatever the scale.
    const PRICE_AXES = { x: (h) => `block ${Math.round(h)}`, y: (v) => `${v === 0 ? "0" : v >= 100 ? v.toFixed(0) : String(Number(v.toPrecision(3)))} DCR` }
    const poolBar = () => {
      const bar = document.getElementById("staking-pool-bar")
      if (bar !== null) bar.replaceChildren(widthSpan(Math.min(1, Number(bar.dataset.fill))))
    }
    poolBar()
    const loadStaking = async () => {
      const s = await getJson("/api/staking")
      setText("staking-price", dcr(s.price))
      setText("staking-expected", dcr(s.estimate.expected))
      setText("staking-min", dcr(s.estimate.min))
      setText("staking-max", dcr(s.estimate.max))
      setText("staking-left", String(s.estimate.blocksLeftInWindow))
      setText("staking-pool-size", String(s.poolSize))
      setText("staking-pool-target", String(s.poolTarget))
      setText("staking-mempool", String(s.mempoolTickets))
      setText("staking-height", String(s.height))
      const bar = document.getElementById("staking-pool-bar")
      if (bar !== null) bar.dataset.fill = String(s.poolSize / Math.max(1, s.poolTarget))
      poolBar()
      // A step per window: the price holds for the whole window, then jumps.
      const steps = s.history.flatMap((w, i) => {
        const end = i + 1 < s.history.length ? s.history[i + 1].startHeight : Math.max(s.height, w.startHeight + 1)
        const price = Number(BigInt(w.price)) / 1e8
        return [
          [w.startHeight, price],
          [end, price],
        ]
      })
      drawChart(chart, [{ name: "price", label: "ticket price", area: true, values: steps }], PRICE_AXES)
      chart.dataset.windows = String(s.history.length)
    }
    const blocks = pagedTable("staking-blocks")
    const address = main.dataset.address
    const TICKETS_SHOWN = 25
    const tickets = document.getElementById("staker-tickets")
    const loadTickets = async () => {
      if (address === undefined) return
      const r = await fetch(`/api/staking/tickets/${encodeURIComponent(address)}?limit=${TICKETS_SHOWN}`, { credentials: "same-origin" })
      const body = await r.json()
      if (!r.ok) return tickets.replaceChildren(el("p", { class: "error", role: "alert" }, body.error))
      const counts = document.getElementById("staker-counts")
      counts.replaceChildren(...Object.entries(body.counts).map(([status, n]) => el("span", { class: `pill ${status}`, "data-status": status }, `${status} ${n}`)))
      if (body.items.length === 0) return tickets.replaceChildren(el("p", { class: "empty" }, "No tickets commit to this address."))
      renderTable(tickets, body.items, ["ticket", "tstatus", "price", "mined", "ended", "returned"])
      tickets.dataset.total = String(body.total)
      if (body.total > body.items.length) tickets.append(el("p", { class: "empty" }, `The newest ${body.items.length} of ${body.total}; all of them at /api/staking/tickets/${address}?limit=500`))
    }
    loadStaking().catch(showError(chart))
    loadTickets().catch(showError(tickets))
    // The stake figures move with every block the network finds, not only the pool's.
    let height
    listeners.stats.push((s) => {
      if (s.workHeight === height) return
      height = s.workHeight
      loadStaking().catch(() => {})
      blocks()
    })
    setInterval(() => {
      loadStaking().catch(() => {})
      loadTickets().catch(() => {})
    }, 10000)
  }

  if (page === "admin" && document.getElementById("admin-clients") !== null) {
    const clients = pagedTable("admin-clients")
    const fees = pagedTable("admin-fees")
    setInterval(() => clients(), 15000)
    listeners.block.push(() => fees())
  }

  live()
})()
