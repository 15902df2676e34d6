import { atomsToDcr } from "../../core/chain/amounts.ts"
import type { ServiceState } from "./api.ts"
import type { VotingWalletStatus } from "./fleet-port.ts"
import type { AltSignAddr, VspCounts, VspTicket } from "./store.ts"

/** The operator's page: one static HTML document, no script, every value escaped. */

const escape = (text: string): string => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
const yesNo = (b: boolean) => (b ? "yes" : "<b>no</b>")

interface AdminPageData {
  readonly state: ServiceState
  readonly wallets: ReadonlyArray<VotingWalletStatus>
  readonly tipHeight: number
  readonly counts: VspCounts
  readonly missed: ReadonlyArray<VspTicket>
  readonly search: { readonly hash: string; readonly ticket: VspTicket | undefined; readonly alt: AltSignAddr | undefined } | undefined
}

const ticketRows = (t: VspTicket, alt: AltSignAddr | undefined): string =>
  [
    ["hash", t.hash],
    ["commitment address", t.commitment_address],
    ["confirmed", t.confirmed ? `yes, mined at ${t.purchase_height ?? "?"}` : "no"],
    ["fee address", `${t.fee_address} (index ${t.fee_address_index})`],
    ["fee quoted", `${atomsToDcr(t.fee_amount)} DCR`],
    ["fee status", t.fee_tx_status],
    ["fee tx", t.fee_tx_hash ?? ""],
    ["fee paid", t.fee_paid === undefined ? "" : `${atomsToDcr(t.fee_paid)} DCR`],
    ["vote choices", JSON.stringify(t.vote_choices)],
    ["treasury policy", JSON.stringify(t.treasury_policy)],
    ["tspend policy", JSON.stringify(t.tspend_policy)],
    ["alternate signing address", alt?.address ?? ""],
    ["outcome", t.outcome === undefined ? "" : `${t.outcome} at ${t.outcome_height ?? "?"}`],
  ]
    .map(([k, v]) => `<tr><th>${escape(k ?? "")}</th><td>${escape(v ?? "")}</td></tr>`)
    .join("")

export const adminPage = (d: AdminPageData): string => {
  const wallets = d.wallets
    .map(
      (w) =>
        `<tr><td>${escape(w.name)}</td><td>${yesNo(w.connected)}</td><td>${yesNo(w.unlocked)}</td><td>${yesNo(w.voting)}</td><td>${w.voteVersion}</td><td>${w.bestBlockHeight}</td><td>${escape(w.error ?? "")}</td></tr>`,
    )
    .join("")
  const missed = d.missed.map((t) => `<li><a href="?ticket=${escape(t.hash)}">${escape(t.hash)}</a> at ${t.outcome_height ?? "?"}</li>`).join("")
  const search =
    d.search === undefined ? "" : d.search.ticket === undefined ? `<p>No ticket ${escape(d.search.hash)} in this service.</p>` : `<table>${ticketRows(d.search.ticket, d.search.alt)}</table>`
  return `<!doctype html><html><head><meta charset="utf-8"><title>dcrforge voting service</title>
<style>body{font-family:sans-serif;margin:2em}td,th{padding:2px 8px;text-align:left}table{border-collapse:collapse}</style></head><body>
<h1>dcrforge voting service</h1>
<p>${d.state.closedReason === undefined ? "Taking new tickets." : `<b>Refusing new tickets:</b> ${escape(d.state.closedReason)}`} dcrd tip ${d.tipHeight}.</p>
<h2>Voting wallets (${d.state.walletsOnline} of ${d.state.walletsTotal} online)</h2>
<table><tr><th>wallet</th><th>connected</th><th>unlocked</th><th>voting</th><th>vote version</th><th>best block</th><th>error</th></tr>${wallets}</table>
<h2>Tickets</h2>
<table><tr><th>pending</th><td>${d.counts.pending}</td></tr><tr><th>voting</th><td>${d.counts.voting}</td></tr><tr><th>voted</th><td>${d.counts.voted}</td></tr><tr><th>missed</th><td>${d.counts.missed}</td></tr><tr><th>expired</th><td>${d.counts.expired}</td></tr><tr><th>fees collected</th><td>${atomsToDcr(d.counts.feesCollected)} DCR</td></tr></table>
<h2>Ticket search</h2>
<form method="get"><input name="ticket" size="70" placeholder="ticket hash" value="${escape(d.search?.hash ?? "")}"> <button>search</button></form>
${search}
<h2>Missed tickets</h2>
${missed === "" ? "<p>None.</p>" : `<ul>${missed}</ul>`}
</body></html>`
}
