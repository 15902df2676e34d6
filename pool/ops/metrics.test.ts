import { Effect, Layer, References } from "effect"
import { describe, expect, it } from "vitest"
import { DIFFICULTY_SCALE, shareTarget } from "../../core/stratum/difficulty.ts"
import { powHashWith } from "../../core/chain/hash.ts"
import { SIMNET } from "../../core/chain/params.ts"
import { compactToBig, hashMeetsTarget } from "../../core/chain/targets.ts"
import { StratumListener } from "../../core/services/listener.ts"
import { LineClient } from "../../testkit/line-client.ts"
import { makeMemoryWallet } from "../../testkit/memory-wallet.ts"
import { makeMiniNode } from "../../testkit/mini-node.ts"
import { MinerSide } from "../../testkit/stratum-miner.ts"
import { profileOf, userAgentOf } from "../../core/stratum/profiles.ts"
import { serveAdminHttp } from "../http/server.ts"
import { noCrashPoints } from "./crash-points.ts"
import { formatValue, MetricsRegistry, PoolMetrics, PROMETHEUS_CONTENT_TYPE } from "./metrics.ts"
import { runPool } from "../pool.ts"
import { pgliteLayer } from "../store/pglite.ts"
import { poolStoreLayer } from "../store/store.ts"
import { tcpListenerLayer } from "../stratum/tcp-listener.ts"
import { ask, connectMiner, simnetTestPoolOptions } from "../../testkit/pool.ts"

// ---- a strict reader of the text exposition format 0.0.4, to prove the output is valid

interface Parsed {
  readonly types: ReadonlyMap<string, string>
  /** `name{label="value",...}` (labels as written) -> value. */
  readonly series: ReadonlyMap<string, number>
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/

const parseValue = (text: string, line: string): number => {
  if (text === "+Inf") return Number.POSITIVE_INFINITY
  if (text === "-Inf") return Number.NEGATIVE_INFINITY
  if (text === "NaN") return Number.NaN
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) throw new Error(`bad value ${JSON.stringify(text)} in: ${line}`)
  return Number(text)
}

/** Reads `{a="x",b="y"}` from `text` at `at`; returns the labels and where they end. */
const parseLabels = (text: string, at: number, line: string): { readonly labels: Array<[string, string]>; readonly end: number } => {
  const labels: Array<[string, string]> = []
  let i = at + 1
  for (;;) {
    if (text[i] === "}") return { labels, end: i + 1 }
    const eq = text.indexOf("=", i)
    const name = text.slice(i, eq)
    if (eq < 0 || !LABEL_NAME.test(name) || text[eq + 1] !== '"') throw new Error(`bad label at ${i} in: ${line}`)
    let value = ""
    let j = eq + 2
    for (; j < text.length && text[j] !== '"'; j++) {
      if (text[j] === "\\") {
        const next = text[++j]
        if (next === "\\") value += "\\"
        else if (next === '"') value += '"'
        else if (next === "n") value += "\n"
        else throw new Error(`bad escape \\${next} in: ${line}`)
      } else if (text[j] === "\n") throw new Error(`raw newline in a label value: ${line}`)
      else value += text[j]
    }
    if (j >= text.length) throw new Error(`unterminated label value in: ${line}`)
    if (labels.some(([n]) => n === name)) throw new Error(`label ${name} twice in: ${line}`)
    labels.push([name, value])
    i = j + 1
    if (text[i] === ",") i++
    else if (text[i] !== "}") throw new Error(`expected , or } at ${i} in: ${line}`)
  }
}

const parseExposition = (text: string): Parsed => {
  if (text !== "" && !text.endsWith("\n")) throw new Error("the text must end with a newline")
  const types = new Map<string, string>()
  const helps = new Set<string>()
  const series = new Map<string, number>()
  const finished = new Set<string>()
  let current: string | undefined
  const familyOf = (sample: string): string => {
    for (const suffix of ["_bucket", "_sum", "_count"]) {
      const base = sample.slice(0, -suffix.length)
      if (sample.endsWith(suffix) && types.get(base) === "histogram") return base
    }
    return sample
  }
  // Histogram checks per label set: buckets ascending and cumulative, +Inf = _count.
  const buckets = new Map<string, Array<[number, number]>>()
  for (const line of text.split("\n").slice(0, -1)) {
    if (line.startsWith("#")) {
      const m = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line)
      if (m === null) continue // any other comment
      const [, keyword, name, rest] = m as unknown as [string, string, string, string]
      if (!METRIC_NAME.test(name)) throw new Error(`bad metric name in: ${line}`)
      if (current !== undefined && current !== name) finished.add(current)
      if (finished.has(name)) throw new Error(`family ${name} is split: ${line}`)
      current = name
      if (keyword === "HELP") {
        if (helps.has(name)) throw new Error(`second HELP for ${name}`)
        if (/\\[^\\n]/.test(rest.replace(/\\\\/g, ""))) throw new Error(`bad escape in HELP: ${line}`)
        helps.add(name)
      } else {
        if (types.has(name)) throw new Error(`second TYPE for ${name}`)
        if (!["counter", "gauge", "histogram", "summary", "untyped"].includes(rest)) throw new Error(`bad type in: ${line}`)
        if ([...series.keys()].some((k) => familyOf(k.replace(/\{.*$/, "")) === name)) throw new Error(`TYPE after samples of ${name}`)
        types.set(name, rest)
      }
      continue
    }
    if (line.trim() === "") continue
    const nameEnd = line.search(/[{ ]/)
    const name = line.slice(0, nameEnd)
    if (!METRIC_NAME.test(name)) throw new Error(`bad sample name in: ${line}`)
    const { labels, end } = line[nameEnd] === "{" ? parseLabels(line, nameEnd, line) : { labels: [], end: nameEnd }
    const rest = line.slice(end).split(" ")
    if (rest[0] !== "" || rest.length < 2 || rest.length > 3) throw new Error(`expected " value [timestamp]" in: ${line}`)
    const value = parseValue(rest[1]!, line)
    const family = familyOf(name)
    if (current !== undefined && current !== family) finished.add(current)
    if (finished.has(family)) throw new Error(`family ${family} is split: ${line}`)
    current = family
    const type = types.get(family)
    if (type === "counter" && !(value >= 0)) throw new Error(`negative counter: ${line}`)
    if (type === "histogram") {
      const le = labels.find(([n]) => n === "le")
      const others = labels
        .filter(([n]) => n !== "le")
        .map(([n, v]) => `${n}=${v}`)
        .join(",")
      const key = `${family}{${others}}`
      if (name.endsWith("_bucket")) {
        if (le === undefined) throw new Error(`bucket without le: ${line}`)
        const list = buckets.get(key) ?? []
        const bound = parseValue(le[1], line)
        const last = list.at(-1)
        if (last !== undefined && (bound <= last[0] || value < last[1])) throw new Error(`buckets not ascending and cumulative: ${line}`)
        list.push([bound, value])
        buckets.set(key, list)
      } else if (name.endsWith("_count")) {
        const last = buckets.get(key)?.at(-1)
        if (last === undefined || last[0] !== Number.POSITIVE_INFINITY || last[1] !== value) throw new Error(`_count differs from the +Inf bucket: ${line}`)
      } else if (le !== undefined) throw new Error(`le outside a bucket: ${line}`)
    } else if (name !== family) throw new Error(`sample ${name} outside its family`)
    const key = `${name}{${labels.map(([n, v]) => `${n}="${v}"`).join(",")}}`
    if (series.has(key)) throw new Error(`duplicate series ${key}`)
    series.set(key, value)
  }
  return { types, series }
}

// ---- the renderer

describe("metrics registry", () => {
  it("renders the text exposition format exactly: HELP and TYPE, escaped labels and help, cumulative buckets, +Inf, _sum and _count", async () => {
    const registry = new MetricsRegistry()
    const shares = registry.counter("test_shares_total", "Shares by result.\nSecond line with a \\ backslash.", ["result", "reason"])
    shares.labels("accepted", "none").inc(3)
    shares.labels("rejected", 'a "quoted" \\ and\nnewline').inc()
    registry.counter("test_atoms_total", "Exact money.").labels().incExact(12_345_678_901_234_567_890n)
    registry.scrapedGauge("test_temperature", "A gauge.", ["room"]).from(
      Effect.succeed([
        { labels: ["hall"], value: -1.5 },
        { labels: ["attic"], value: Number.POSITIVE_INFINITY },
      ]),
    )
    const latency = registry.histogram("test_latency_seconds", "A histogram.", ["method"], [0.5, 1])
    const get = latency.labels("get")
    for (const v of [0.25, 0.5, 0.5, 4]) get.observe(v)
    latency.labels("put")
    registry.scrapedGauge("test_height", "Read when scraped.").from(Effect.succeed([{ labels: [], value: 120 }]))
    registry.scrapedGauge("test_broken", "A read that fails leaves no samples.").from(Effect.fail("database down"))
    registry.scrapedGauge("test_unset", "No reader yet.")
    const text = await Effect.runPromise(registry.render)
    expect(text).toBe(
      [
        "# HELP test_shares_total Shares by result.\\nSecond line with a \\\\ backslash.",
        "# TYPE test_shares_total counter",
        'test_shares_total{result="accepted",reason="none"} 3',
        'test_shares_total{result="rejected",reason="a \\"quoted\\" \\\\ and\\nnewline"} 1',
        "# HELP test_atoms_total Exact money.",
        "# TYPE test_atoms_total counter",
        "test_atoms_total 12345678901234567890",
        "# HELP test_temperature A gauge.",
        "# TYPE test_temperature gauge",
        'test_temperature{room="hall"} -1.5',
        'test_temperature{room="attic"} +Inf',
        "# HELP test_latency_seconds A histogram.",
        "# TYPE test_latency_seconds histogram",
        'test_latency_seconds_bucket{method="get",le="0.5"} 3',
        'test_latency_seconds_bucket{method="get",le="1"} 3',
        'test_latency_seconds_bucket{method="get",le="+Inf"} 4',
        'test_latency_seconds_sum{method="get"} 5.25',
        'test_latency_seconds_count{method="get"} 4',
        'test_latency_seconds_bucket{method="put",le="0.5"} 0',
        'test_latency_seconds_bucket{method="put",le="1"} 0',
        'test_latency_seconds_bucket{method="put",le="+Inf"} 0',
        'test_latency_seconds_sum{method="put"} 0',
        'test_latency_seconds_count{method="put"} 0',
        "# HELP test_height Read when scraped.",
        "# TYPE test_height gauge",
        "test_height 120",
        "# HELP test_broken A read that fails leaves no samples.",
        "# TYPE test_broken gauge",
        "# HELP test_unset No reader yet.",
        "# TYPE test_unset gauge",
        "",
      ].join("\n"),
    )
    // The strict reader takes it back, escapes undone.
    const parsed = parseExposition(text)
    expect(parsed.series.get('test_shares_total{result="rejected",reason="a "quoted" \\ and\nnewline"}')).toBe(1)
    expect(parsed.types.get("test_latency_seconds")).toBe("histogram")
    expect([formatValue(Number.NaN), formatValue(Number.NEGATIVE_INFINITY), formatValue(0.001)]).toEqual(["NaN", "-Inf", "0.001"])
  })

  it("the test's reader of the format is strict: it refuses what Prometheus would", () => {
    const bad = [
      "x 1", // no newline at the end
      'x{a="1"} 1\nx{a="1"} 2\n', // duplicate series
      'x{a="\\q"} 1\n', // unknown escape
      "x{a=1} 1\n", // unquoted label value
      "x one\n", // not a number
      "# TYPE x counter\nx -1\n", // negative counter
      '# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_count 1\n', // not cumulative
      '# TYPE h histogram\nh_bucket{le="+Inf"} 2\nh_count 3\n', // count differs from +Inf
      "# TYPE x gauge\nx 1\n# TYPE y gauge\ny 1\nx 2\n", // family split
      "x 1\n# TYPE x gauge\n", // TYPE after samples
    ]
    for (const text of bad) expect(() => parseExposition(JSON.parse(`"${text}"`) as string), text).toThrow()
    expect(parseExposition('# TYPE h histogram\nh_bucket{le="1"} 1\nh_bucket{le="+Inf"} 2\nh_sum 3.5\nh_count 2\n').series.get("h_sum{}")).toBe(3.5)
  })

  it("refuses names Prometheus would refuse, a histogram label named le, and one name with two definitions; the same definition twice is one family", () => {
    const registry = new MetricsRegistry()
    expect(() => registry.counter("9lives", "x")).toThrow(RangeError)
    expect(() => registry.counter("ok_total", "x", ["bad-label"])).toThrow(RangeError)
    expect(() => registry.counter("ok_total", "x", ["__reserved"])).toThrow(RangeError)
    expect(() => registry.histogram("h_seconds", "x", ["le"])).toThrow(RangeError)
    expect(() => registry.histogram("h_seconds", "x", [], [1, 0.5])).toThrow(RangeError)
    const first = registry.counter("dup_total", "x", ["a"])
    expect(registry.counter("dup_total", "x", ["a"])).toBe(first)
    expect(() => registry.scrapedGauge("dup_total", "x", ["a"])).toThrow(RangeError)
    expect(() => registry.counter("dup_total", "x", ["b"])).toThrow(RangeError)
    expect(() => first.labels("1", "2")).toThrow(RangeError)
    expect(first.labels("x")).toBe(first.labels("x"))
  })
})

// ---- the pool, scraped over HTTP

const SIMNET_ADDRESS = "Sspzuh5xuvqxccYLWJDJjCtqp166NRxcaPB"
const FEE_ADDRESS = "SsWzYhmaPBo4tmdTpWcdeZVR7rxC3Gb6ERv"
const BITS = 0x2000ffff
const NETWORK_TARGET = compactToBig(BITS)
const errorCode = (reply: { readonly error: unknown } | undefined) => (Array.isArray(reply?.error) ? reply.error[0] : reply === undefined ? "closed" : null)

/** A share at difficulty 1 that is not also a block. */
const mineShare = (miner: MinerSide, start = 0) => {
  for (let n = start; ; ) {
    const s = miner.solve("blake3", shareTarget(SIMNET.powLimit, DIFFICULTY_SCALE), { start: n })
    if (!hashMeetsTarget(powHashWith("blake3", s.header), NETWORK_TARGET)) return s
    n = s.nonce + 1
  }
}

const scrape = async (port: number) => {
  const response = await fetch(`http://127.0.0.1:${port}/metrics`)
  return { type: response.headers.get("content-type"), text: await response.text() }
}

/** Scrapes until `ready` holds for the parsed series (the store settles blocks and payouts in the background). */
const scrapeUntil = async (port: number, ready: (series: ReadonlyMap<string, number>) => boolean) => {
  for (let i = 0; ; i++) {
    const { type, text } = await scrape(port)
    const parsed = parseExposition(text)
    if (ready(parsed.series) || i === 200) return { type, text, parsed }
    await new Promise((r) => setTimeout(r, 50))
  }
}

describe("pool metrics", () => {
  it("a running pool's /metrics counts connections, accepted shares, each rejection reason, a block through to its payout, and times dcrd, the wallet and the store", async () => {
    const result = await Effect.runPromise(
      Effect.gen(function* () {
        const node = yield* makeMiniNode(SIMNET, BITS)
        const wallet = makeMemoryWallet()
        const store = poolStoreLayer.pipe(Layer.provideMerge(pgliteLayer({ dataDir: undefined })))
        const layers = Layer.mergeAll(tcpListenerLayer({ host: "127.0.0.1", port: 0 }), node.layer, wallet.layer, noCrashPoints, store, PoolMetrics.layer)
        return yield* Effect.gen(function* () {
          const pool = yield* runPool(simnetTestPoolOptions("metrics-test", FEE_ADDRESS))
          const stratumPort = (yield* StratumListener).port
          const http = yield* serveAdminHttp({ host: "127.0.0.1", port: 0, adminPassword: undefined, metrics: pool.metrics.registry })
          const before = yield* Effect.promise(() => scrape(http.port))
          return yield* Effect.promise(async () => {
            const gominer = profileOf("gominer")
            const { client, miner } = await connectMiner({ port: stratumPort }, gominer, `${SIMNET_ADDRESS}.rig1`)
            let id = 10
            const submit = async (params: ReadonlyArray<unknown>) => ask(client, miner, id++, "mining.submit", params)
            // Three good shares.
            let nonce = 0
            const good: Array<ReadonlyArray<unknown>> = []
            for (let i = 0; i < 3; i++) {
              const s = mineShare(miner, nonce)
              nonce = s.nonce + 1
              expect((await submit(s.params))?.result).toBe(true)
              good.push(s.params)
            }
            // One of each rejection a miner can earn on this connection.
            expect(errorCode(await submit(good[0]!))).toBe(22)
            const unknown = [...good[1]!]
            unknown[1] = "00000000deadbeef"
            expect(errorCode(await submit(unknown))).toBe(21)
            expect(errorCode(await submit(miner.solve("blake3", shareTarget(SIMNET.powLimit, DIFFICULTY_SCALE), { miss: true }).params))).toBe(23)
            const shortNonce = [...good[2]!]
            shortNonce[4] = "abcd"
            expect(errorCode(await submit(shortNonce))).toBe(20)
            client.write("{this is not json\n")
            miner.read((await client.next())!)
            // A share on this job kept for after the block: then it is stale.
            const late = mineShare(miner, nonce + 1_000)
            // The block.
            const block = miner.solve("blake3", NETWORK_TARGET)
            expect((await submit(block.params))?.result).toBe(true)
            await client.until((l) => l.includes("mining.notify")).then((l) => miner.read(l))
            expect(errorCode(await submit(late.params))).toBe(21)
            // A connection that never subscribed, and one that never authorized.
            const stranger = await LineClient.connect(stratumPort)
            expect(errorCode(await ask(stranger, new MinerSide(gominer), 1, "mining.submit", good[0]!))).toBe(25)
            const anonymous = await LineClient.connect(stratumPort)
            const anonymousMiner = new MinerSide(gominer)
            expect((await ask(anonymous, anonymousMiner, 1, "mining.subscribe", [userAgentOf(gominer)]))?.error).toBe(null)
            expect(errorCode(await ask(anonymous, anonymousMiner, 2, "mining.submit", good[0]!))).toBe(24)
            // Other miners' blocks bury the pool's: confirmed, then mature (maturity 2), then paid.
            await Effect.runPromise(node.externalBlocks(3))
            const after = await scrapeUntil(http.port, (s) => s.get("dcrforge_payouts_total{}") === 1)
            const work = pool.mining.jobs.current!
            for (const c of [client, stranger, anonymous]) c.close()
            return { before, after, workHeight: work.height, paid: wallet.published.flatMap((p) => p.outputs).reduce((sum, o) => sum + o.amount, 0n) }
          })
        }).pipe(Effect.scoped, Effect.provide(layers))
      }).pipe(Effect.provideService(References.MinimumLogLevel, "Error")),
    )
    if (process.env.DCRFORGE_SHOW_METRICS !== undefined) console.log(result.after.text)
    const { before, after } = result
    // Valid before anything happened too, with every share reason and block event at zero.
    expect(before.type).toBe(PROMETHEUS_CONTENT_TYPE)
    const zero = parseExposition(before.text).series
    expect(zero.get('dcrforge_shares_total{result="rejected",reason="duplicate"}')).toBe(0)
    expect(zero.get('dcrforge_blocks_total{status="candidate"}')).toBe(0)

    const s = after.parsed.series
    const get = (key: string) => s.get(key)
    expect(after.type).toBe(PROMETHEUS_CONTENT_TYPE)
    expect(get("dcrforge_stratum_connections_total{}")).toBe(3)
    expect(get('dcrforge_stratum_connections{model="gominer"}')).toBe(2)
    expect(get('dcrforge_stratum_connections{model="unidentified"}')).toBe(1)
    expect(get("dcrforge_stratum_bad_messages_total{}")).toBe(1)
    // Three good shares and the block.
    expect(get('dcrforge_shares_total{result="accepted",reason="none"}')).toBe(4)
    const rejected = Object.fromEntries([...s].filter(([k]) => k.startsWith('dcrforge_shares_total{result="rejected"')).map(([k, v]) => [/reason="([^"]*)"/.exec(k)![1]!, v]))
    expect(rejected).toEqual({
      "bad-params": 1,
      "unknown-job": 1,
      "stale-job": 1,
      "bad-extranonce": 0,
      "time-out-of-range": 0,
      duplicate: 1,
      "low-difficulty": 1,
      unauthorized: 1,
      "not-subscribed": 1,
    })
    const blocks = Object.fromEntries([...s].filter(([k]) => k.startsWith("dcrforge_blocks_total")).map(([k, v]) => [/status="([^"]*)"/.exec(k)![1]!, v]))
    expect(blocks).toEqual({ candidate: 1, accepted: 1, rejected: 0, unsubmitted: 0, confirmed: 1, orphaned: 0, matured: 1 })
    expect(get("dcrforge_payouts_total{}")).toBe(1)
    expect(result.paid).toBe(1_000_000_000n)
    expect(get("dcrforge_payout_atoms_total{}")).toBe(1_000_000_000)
    expect(get("dcrforge_shares_committed_total{}")).toBe(4)
    // Latencies: one observation per event.
    expect(get("dcrforge_share_record_duration_seconds_count{}")).toBe(4)
    expect(get("dcrforge_share_commit_duration_seconds_count{}")).toBeGreaterThanOrEqual(1)
    expect(get("dcrforge_block_submit_duration_seconds_count{}")).toBe(1)
    expect(get('dcrforge_rpc_duration_seconds_count{service="dcrd",method="getwork_submit"}')).toBe(1)
    expect(get('dcrforge_rpc_duration_seconds_count{service="dcrd",method="getwork"}')).toBe(1)
    expect(get('dcrforge_rpc_duration_seconds_count{service="dcrd",method="getblockhash"}')).toBeGreaterThanOrEqual(1)
    expect(get('dcrforge_rpc_duration_seconds_count{service="dcrd",method="getblock"}')).toBe(1)
    expect(get('dcrforge_rpc_duration_seconds_count{service="wallet",method="build"}')).toBe(1)
    expect(get('dcrforge_rpc_duration_seconds_count{service="wallet",method="gettransaction"}')).toBe(1)
    expect(get('dcrforge_rpc_duration_seconds_count{service="wallet",method="sendrawtransaction"}')).toBe(1)
    expect(get('dcrforge_rpc_duration_seconds_sum{service="wallet",method="build"}')).toBeGreaterThan(0)
    // Read from the pool's state when scraped.
    expect(get("dcrforge_work_height{}")).toBe(result.workHeight)
    expect(get("dcrforge_network_difficulty{}")).toBeCloseTo(Number((SIMNET.powLimit * 1_000_000n) / NETWORK_TARGET) / 1e6, 6)
    expect(get("dcrforge_pool_hashrate_hashes_per_second{}")).toBeGreaterThan(0)
  }, 60_000)
})
