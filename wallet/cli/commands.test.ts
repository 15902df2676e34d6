import { Effect, Exit, Redacted, Result } from "effect"
import { execFileSync } from "node:child_process"
import { mkdtempSync, readFileSync } from "node:fs"
import { createServer as createHttpServer } from "node:http"
import { createServer, type Server } from "node:https"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest"
import { serverPublicKey, signResponse } from "../../core/vsp/server-key.ts"
import { jsonRpcClient } from "../json-rpc.ts"
import { runStakeCommand } from "./commands.ts"
import { parseStakeCli, walletConnection } from "./options.ts"

// ---- a fake dcrwallet on a real HTTPS socket, answering what each test says ----------------

const tlsDir = mkdtempSync(join(tmpdir(), "dcrforge-stake-cli-"))
const makeCert = (name: string) => {
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-days",
      "1",
      "-subj",
      "/CN=localhost",
      "-addext",
      "subjectAltName=IP:127.0.0.1",
      "-keyout",
      join(tlsDir, `${name}.key`),
      "-out",
      join(tlsDir, `${name}.cert`),
    ],
    { stdio: "ignore" },
  )
  return { key: readFileSync(join(tlsDir, `${name}.key`), "utf8"), cert: readFileSync(join(tlsDir, `${name}.cert`), "utf8") }
}

type Answer = { readonly result: string } | { readonly error: { readonly code: number; readonly message: string } }
const STAKE_DIFFICULTY = `{"current":22.5,"next":23.1}`
const wallet = {
  server: undefined as Server | undefined,
  url: "",
  rpc: makeCert("rpc"),
  other: makeCert("other"),
  requests: [] as Array<{ readonly method: string; readonly paramsText: string }>,
  answers: {} as Record<string, Answer>,
}
const answersOf = (extra: Record<string, Answer>): Record<string, Answer> => ({
  getstakedifficulty: { result: STAKE_DIFFICULTY },
  getbestblock: { result: `{"hash":"00ab","height":130}` },
  purchaseticket: { result: `["aa11","bb22"]` },
  ...extra,
})

beforeAll(async () => {
  const server = createServer({ key: wallet.rpc.key, cert: wallet.rpc.cert }, (req, res) => {
    let body = ""
    req.on("data", (chunk: Buffer) => (body += chunk.toString("utf8")))
    req.on("end", () => {
      const request = JSON.parse(body) as { id: number; method: string }
      wallet.requests.push({ method: request.method, paramsText: /"params":(\[.*\])\}$/.exec(body)?.[1] ?? "" })
      const answer = wallet.answers[request.method] ?? { error: { code: -32601, message: "Method not found" } }
      const reply =
        "result" in answer
          ? `{"jsonrpc":"1.0","result":${answer.result},"error":null,"id":${request.id}}`
          : `{"jsonrpc":"1.0","result":null,"error":${JSON.stringify(answer.error)},"id":${request.id}}`
      res.writeHead(200, { "Content-Type": "application/json" }).end(reply)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  wallet.server = server
  wallet.url = `https://127.0.0.1:${(server.address() as { port: number }).port}`
})
afterAll(() => {
  wallet.server?.closeAllConnections()
  wallet.server?.close()
})
beforeEach(() => {
  wallet.requests.length = 0
  wallet.answers = answersOf({})
})

/** Runs `./dcrforge stake --simnet ARGS` against the fake wallet: what it printed, or its error message. */
const stake = async (argv: ReadonlyArray<string>, options: { readonly certificate?: string; readonly url?: string } = {}) => {
  const cli = Result.getOrThrow(parseStakeCli(["--simnet", ...argv], "/nonexistent-home", () => undefined))
  const printed: Array<string> = []
  const exit = await Effect.runPromiseExit(
    Effect.scoped(
      Effect.flatMap(
        jsonRpcClient(
          { url: options.url ?? wallet.url, user: "u", password: Redacted.make("p"), certificate: options.certificate ?? wallet.rpc.cert, requestTimeoutMillis: 5_000 },
          { server: "dcrwallet" },
        ),
        (rpc) => runStakeCommand(cli, rpc, (text) => Effect.sync(() => void printed.push(text))),
      ),
    ),
  )
  const failure = Exit.isFailure(exit) ? String(exit.cause) : undefined
  return { printed: printed.join("\n"), failure, bought: wallet.requests.some((r) => r.method === "purchaseticket"), requests: wallet.requests }
}

describe("./dcrforge stake purchaseticket", () => {
  it("takes the guide's 2016 example verbatim: spend limit checked against the next price, then sent in today's form", async () => {
    // dcrd's names, as a reply passed through from dcrd has them.
    wallet.answers = answersOf({ getstakedifficulty: { result: `{"currentstakedifficulty":22.5,"nextstakedifficulty":22.9}` } })
    const r = await stake(["purchaseticket", "default", "23", "1", "", "1", "", "", "1", "my first ticket"])
    expect(r.failure).toBeUndefined()
    // The guide's expiry 1 is long past: dropped with a note, as dcrwallet 2.1 would refuse it.
    expect(r.printed).toContain("expiry 1 is already past (the next block is 131); sent without an expiry")
    expect(JSON.parse(r.printed.slice(r.printed.indexOf("\n") + 1))).toEqual(["aa11", "bb22"])
    expect(r.requests.find((q) => q.method === "purchaseticket")?.paramsText).toBe(`["default",1,1,null,"my first ticket"]`)
  })

  it("refuses a spend limit below the price, naming both, and buys nothing", async () => {
    const r = await stake(["purchaseticket", "default", "23", "1", "", "1", "", "", "140"])
    expect(r.failure).toContain("ticket price 23.1 DCR is above your spend limit 23 DCR")
    expect(r.bought).toBe(false)
  })

  it("sends today's form as given", async () => {
    const r = await stake(["purchaseticket", "default", "2", "3", "140"])
    expect(r.failure).toBeUndefined()
    expect(r.requests.find((q) => q.method === "purchaseticket")?.paramsText).toBe(`["default",2,3,140]`)
  })

  it("refuses today's form with an expiry already past, by name", async () => {
    const r = await stake(["purchaseticket", "default", "1", "1", "131"])
    expect(r.failure).toMatch(/expiry 131: must be a height above the next block's \(131\)/)
    expect(r.bought).toBe(false)
  })

  it.each([
    [["default", "23", "1", "DsUZxxoHJSty8DCfwfartwTYbuhmVct7tJu", "1"], /ticketaddress.*mainnet address, but this is simnet/],
    [["default", "-5", "1", "", "1", "", "", "140"], /spendlimit/],
    [["default", "lots", "1"], /spendlimit/],
    [["default", "1", "many"], /numtickets must be a whole number/],
    [["default", "1", "-2"], /numtickets must be a whole number of at least 1/],
    [["default", "30", "1", "", "1", "SsWKp7wtdTZYabYFYSc9cnxhwFEjA5g4pFc", "7.5"], /pooladdress\/poolfees: .*voting service/],
  ])("refuses bad input %j by its argument's name, buying nothing", async (args, message) => {
    const r = await stake(["purchaseticket", ...args])
    expect(r.failure).toMatch(message)
    expect(r.bought).toBe(false)
  })

  it("says to unlock a locked wallet with walletpassphrase", async () => {
    wallet.answers = answersOf({ purchaseticket: { error: { code: -13, message: "wallet or account locked; use walletpassphrase or walletpassphrasechange first" } } })
    const r = await stake(["purchaseticket", "default"])
    expect(r.failure).toMatch(/the wallet is locked .*unlock it with walletpassphrase/)
  })
})

describe("./dcrforge stake: connection failures", () => {
  it("a wallet that is not there: connection refused, and what to check", async () => {
    // A port that was free a moment ago: nothing listens there.
    const probe = createServer()
    await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve))
    const port = (probe.address() as { port: number }).port
    await new Promise<void>((resolve) => probe.close(() => resolve()))
    const r = await stake(["getstakeinfo"], { url: `https://127.0.0.1:${port}` })
    expect(r.failure).toMatch(/connection refused.*check that it runs/)
  })

  it("a certificate that is not the wallet's", async () => {
    const r = await stake(["getstakeinfo"], { certificate: wallet.other.cert })
    expect(r.failure).toMatch(/TLS certificate at .* is not the configured one/)
  })

  it("--sim without ./dcrforge run says to start it", () => {
    const cli = Result.getOrThrow(parseStakeCli(["--sim", "getstakeinfo"], "/h", () => undefined))
    const connection = walletConnection(cli, "/h", () => undefined)
    expect(Result.isFailure(connection) && connection.failure.message).toMatch(/start \.\/dcrforge run first/)
  })
})

describe("./dcrforge stake autobuy: bad settings buy nothing", () => {
  it.each([
    [["--enablestakemining", "--balancetomaintain", "-5"], /--balancetomaintain: .*an amount in DCR/],
    [["--enablestakemining", "--ticketmaxprice", "cheap"], /--ticketmaxprice: .*an amount in DCR/],
    [["--enablestakemining", "--ticketbuyer.limit", "0"], /--ticketbuyer.limit must be a whole number of at least 1/],
    [[], /enablestakemining=1/],
  ])("%j", async (flags, message) => {
    const r = await stake([...flags, "autobuy"])
    expect(r.failure).toMatch(message)
    expect(r.bought).toBe(false)
  })
})

describe("./dcrforge stake: reading the wallet", () => {
  it("getstakeinfo: the guide's fields and today's, DCR exact, --atoms in atoms", async () => {
    wallet.answers = answersOf({
      getstakeinfo: {
        result: `{"blockheight":130,"difficulty":23.1,"totalsubsidy":12.34567891,"ownmempooltix":1,"immature":2,"unspent":3,"voted":4,"revoked":1,"unspentexpired":0,"poolsize":40,"allmempooltix":5,"live":3,"proportionlive":0.075,"missed":1,"proportionmissed":0.2,"expired":0}`,
      },
    })
    const r = await stake(["getstakeinfo"])
    expect(Object.keys(JSON.parse(r.printed)).sort()).toEqual(
      [
        "allmempooltix",
        "blockheight",
        "difficulty",
        "expired",
        "immature",
        "live",
        "missed",
        "ownmempooltix",
        "poolsize",
        "proportionlive",
        "proportionmissed",
        "revoked",
        "totalsubsidy",
        "unspent",
        "unspentexpired",
        "voted",
      ].sort(),
    )
    expect(r.printed).toContain(`"totalsubsidy": 12.34567891`)
    expect((await stake(["--atoms", "getstakeinfo"])).printed).toContain(`"totalsubsidy": 1234567891`)
  })

  it("estimatestakediff: the band, and the blocks left in the window", async () => {
    wallet.answers = answersOf({ estimatestakediff: { result: `{"min":20.1,"max":30,"expected":24.5,"user":25}` } })
    const r = JSON.parse((await stake(["estimatestakediff", "3"])).printed) as Record<string, unknown>
    // simnet windows are 8 blocks: tip 130, the next window starts at 136, 5 blocks to go.
    expect(r).toMatchObject({ min: 20.1, expected: 24.5, max: 30, user: 25, blocksleftinwindow: 5, nextwindowstartsat: 136 })
    expect(wallet.requests.find((q) => q.method === "estimatestakediff")?.paramsText).toBe("[3]")
  })

  it("tickets: status, price, fee (positive), heights and what a vote returned", async () => {
    // A vote of two outputs: the block reference (0) and 25.12345678 DCR back.
    const voteHex = "01000000000200000000000000000000004e5abf9500000000000000000000000000000000"
    wallet.answers = answersOf({
      ticketinfo: {
        result: `[{"hash":"t1","cost":23.1,"status":"voted","blockheight":100,"vote":"v1"},{"hash":"t2","cost":23.1,"status":"unmined","blockheight":-1}]`,
      },
      gettransaction: { result: `{"hex":"${voteHex}","fee":-0.00002980,"confirmations":11}` },
    })
    const listed = JSON.parse((await stake(["tickets"])).printed) as Array<Record<string, unknown>>
    expect(listed[0]).toMatchObject({ hash: "t1", status: "voted", price: 23.1, fee: 0.0000298, purchaseheight: 100, vote: "v1", spentheight: 120, returned: 25.12345678 })
    expect(listed[1]).toMatchObject({ hash: "t2", status: "unmined", purchaseheight: null, spentheight: null, returned: null })
  })

  it("tickets: a ticket registered with a voting service shows the service's fee status, asked as dcrwallet asks (signed by the commitment address) and checked against --vsp.pubkey", async () => {
    // A real simnet ticket (dcrd's merkle_test.go; core/vsp/keys.vectors.json) and a voting
    // service that answers ticketstatus signed with its ed25519 key, as vspd does.
    const vectors = JSON.parse(readFileSync(join(import.meta.dirname, "../../core/vsp/keys.vectors.json"), "utf8")) as {
      tickets: ReadonlyArray<{ network: string; hex: string; hash: string; commitmentAddress: string }>
    }
    const ticket = vectors.tickets.find((t) => t.network === "simnet")!
    const seed = new Uint8Array(32).fill(7)
    const asked: Array<{ body: string; signature: string | undefined }> = []
    const vsp = createHttpServer((req, res) => {
      let body = ""
      req.on("data", (chunk: Buffer) => (body += chunk.toString("utf8")))
      req.on("end", () => {
        asked.push({ body, signature: req.headers["vsp-client-signature"] as string | undefined })
        const reply = new TextEncoder().encode(JSON.stringify({ timestamp: 1, ticketconfirmed: true, feetxstatus: "confirmed", feetxhash: "ff00", votechoices: {}, request: JSON.parse(body) }))
        res.writeHead(200, { "Content-Type": "application/json", "VSP-Server-Signature": signResponse(seed, reply) }).end(reply)
      })
    })
    await new Promise<void>((resolve) => vsp.listen(0, "127.0.0.1", resolve))
    const host = `http://127.0.0.1:${(vsp.address() as { port: number }).port}`
    try {
      wallet.answers = answersOf({
        ticketinfo: { result: `[{"hash":"${ticket.hash}","cost":0.0002,"status":"live","blockheight":100,"vsphost":"${host}"},{"hash":"t2","cost":23.1,"status":"live","blockheight":101}]` },
        gettransaction: { result: `{"hex":"${ticket.hex}","fee":-0.0000298,"confirmations":30}` },
        signmessage: { result: `"H1gn4tur3"` },
      })
      const listed = JSON.parse((await stake(["tickets", `--vsp.pubkey=${serverPublicKey(seed)}`])).printed) as Array<Record<string, unknown>>
      expect(listed[0]).toMatchObject({ hash: ticket.hash, vsp: host, feestatus: "confirmed", feetxhash: "ff00", vspticketconfirmed: true, vspverified: true })
      // The wallet itself: no service, nothing asked about it.
      expect(listed[1]).toMatchObject({ hash: "t2", vsp: null })
      expect(listed[1]).not.toHaveProperty("feestatus")
      expect(asked).toEqual([{ body: JSON.stringify({ tickethash: ticket.hash }), signature: "H1gn4tur3" }])
      expect(wallet.requests.find((q) => q.method === "signmessage")?.paramsText).toBe(JSON.stringify([ticket.commitmentAddress, JSON.stringify({ tickethash: ticket.hash })]))

      // Another key: the answer is not believed, and the listing still comes.
      const forged = JSON.parse((await stake(["tickets", `--vsp.pubkey=${serverPublicKey(new Uint8Array(32).fill(8))}`])).printed) as Array<Record<string, unknown>>
      expect(forged[0]?.feestatus).toMatch(/^unknown: the answer from .* is not signed by --vsp.pubkey/)
      // A locked wallet cannot sign: said per ticket, with what to do.
      wallet.answers = { ...wallet.answers, signmessage: { error: { code: -13, message: "wallet is locked" } } }
      const locked = JSON.parse((await stake(["tickets"])).printed) as Array<Record<string, unknown>>
      expect(locked[0]?.feestatus).toMatch(/^unknown: the wallet is locked .*walletpassphrase/)
    } finally {
      vsp.close()
    }
  })

  it("tickets: a wallet that keeps no transactions (the simulated one: gettransaction is -32601) still lists every ticket, its fee and returns null", async () => {
    wallet.answers = answersOf({
      ticketinfo: { result: `[{"hash":"t1","cost":23.1,"status":"voted","blockheight":100,"vote":"v1"},{"hash":"t2","cost":23.1,"status":"live","blockheight":101}]` },
    })
    const r = await stake(["tickets"])
    expect(r.failure).toBeUndefined()
    const listed = JSON.parse(r.printed) as Array<Record<string, unknown>>
    expect(listed).toHaveLength(2)
    expect(listed[0]).toMatchObject({ hash: "t1", status: "voted", price: 23.1, fee: null, purchaseheight: 100, vote: "v1", returned: null, vsp: null })
  })

  it("stakestats: dcrdata's figures for the network", async () => {
    wallet.answers = answersOf({
      estimatestakediff: { result: `{"min":20.1,"max":30,"expected":24.5}` },
      getstakeinfo: { result: `{"blockheight":130,"difficulty":23.1,"totalsubsidy":0,"ownmempooltix":0,"immature":0,"unspent":0,"voted":3,"revoked":0,"unspentexpired":0,"poolsize":40,"missed":1}` },
    })
    const r = JSON.parse((await stake(["stakestats"])).printed) as Record<string, unknown>
    expect(r).toMatchObject({ price: 23.1, poolsize: 40, pooltarget: 320, proportionmissed: 0.25, meanvotingblocks: 62, rewardperiodblocks: 94, expirychancepercent: 0.236 })
  })
})
