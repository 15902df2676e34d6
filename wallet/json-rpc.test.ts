import { Cause, Effect, Exit, Redacted, Result } from "effect"
import { describe, expect, it } from "vitest"
import { dcrToAtoms } from "../core/chain/amounts.ts"
import { JsonLiteral, makeJsonRpcCall, parseJsonExact, type HttpPost, type JsonRpcFailure } from "./json-rpc.ts"

const ENDPOINT = { url: "https://127.0.0.1:9109", user: "rpcuser", password: Redacted.make("rpc pass"), requestTimeoutMillis: 100 }

/** A server that answers every request with `reply(request)`; what was posted is kept. */
const fakeServer = (reply: (request: { readonly id: number; readonly method: string }) => { readonly status?: number; readonly text: string } | "hang" | Error) => {
  const posted: Array<{ readonly headers: Record<string, string>; readonly body: string }> = []
  const post: HttpPost = async (_url, init) => {
    posted.push({ headers: init.headers, body: init.body })
    const answer = reply(JSON.parse(init.body) as { id: number; method: string })
    if (answer === "hang") return new Promise(() => undefined)
    if (answer instanceof Error) throw answer
    return { status: answer.status ?? 200, text: async () => answer.text }
  }
  return { post, posted }
}

const run = <A>(effect: Effect.Effect<A, JsonRpcFailure>) => Effect.runPromise(Effect.exit(effect))
const failureOf = (exit: Exit.Exit<unknown, JsonRpcFailure>): JsonRpcFailure => {
  if (Exit.isSuccess(exit)) throw new Error(`expected a failure, got ${JSON.stringify(exit.value)}`)
  return Result.getOrThrowWith(Cause.findError(exit.cause), () => new Error(String(exit.cause)))
}

describe("JSON-RPC 1.0 to dcrd and dcrwallet", () => {
  it("posts a JSON-RPC 1.0 request with basic auth, writing values as JSON and literals as they are", async () => {
    const server = fakeServer(({ id }) => ({ text: `{"id":${id},"result":"ok","error":null}` }))
    const call = makeJsonRpcCall(ENDPOINT, server.post, { server: "dcrwallet" })
    const exit = await run(call("sendmany", ["default", new JsonLiteral(`{"SsAddr":0.30000001}`), 1, { feerate: 0 }]))
    expect(exit).toEqual(Exit.succeed("ok"))
    expect(server.posted[0]!.body).toBe(`{"jsonrpc":"1.0","id":1,"method":"sendmany","params":["default",{"SsAddr":0.30000001},1,{"feerate":0}]}`)
    expect(server.posted[0]!.headers["Authorization"]).toBe(`Basic ${Buffer.from("rpcuser:rpc pass").toString("base64")}`)
  })

  it("gives amounts back as their literal text, so what a float would round is seen and refused", async () => {
    const text = `{"balance":0.1000000000000000055511151231257827,"fee":1e-08,"spendable":5,"height":42,"total":20999999.99999999}`
    const parsed = parseJsonExact(text, new Set(["spendable"])) as Record<string, unknown>
    expect(parsed).toEqual({ balance: "0.1000000000000000055511151231257827", fee: "1e-08", spendable: "5", height: 42, total: "20999999.99999999" })
    expect(Result.isFailure(dcrToAtoms(parsed["balance"], "balance"))).toBe(true) // a float would have read 0.1
    expect(Result.getOrThrow(dcrToAtoms(parsed["fee"], "fee"))).toBe(1n)
    expect(Result.getOrThrow(dcrToAtoms(parsed["total"], "total"))).toBe(2_099_999_999_999_999n)
    expect(parseJsonExact("not json")).toBeUndefined()
  })

  it("a JSON-RPC error is JsonRpcRefused with the server's code and message", async () => {
    const server = fakeServer(({ id }) => ({ status: 500, text: `{"id":${id},"result":null,"error":{"code":-5,"message":"Block not found"}}` }))
    const error = failureOf(await run(makeJsonRpcCall(ENDPOINT, server.post, { server: "dcrd" })("getblock", ["00"])))
    expect(error).toMatchObject({ _tag: "JsonRpcRefused", server: "dcrd", method: "getblock", code: -5, reason: "Block not found" })
    expect(error.message).toBe("dcrd refused getblock (code -5): Block not found")
  })

  it("says what to check when the server cannot be asked: credentials, a reply that is not JSON-RPC, another request's reply, no answer, no connection", async () => {
    const failure = async (reply: Parameters<typeof fakeServer>[0]) => failureOf(await run(makeJsonRpcCall(ENDPOINT, fakeServer(reply).post, { server: "dcrd" })("getbestblock")))
    const unauthorized = await failure(() => ({ status: 401, text: "" }))
    expect(unauthorized).toMatchObject({ _tag: "JsonRpcUnavailable", method: "getbestblock" })
    expect(unauthorized.message).toBe(
      "dcrd at https://127.0.0.1:9109 unavailable for getbestblock: HTTP 401: dcrd refused the RPC user and password (they must be dcrd's username and password); check that it runs with its JSON-RPC server on, and the address, RPC user, password and certificate",
    )
    expect((await failure(() => ({ status: 503, text: "503 Service Unavailable" }))).reason).toBe("HTTP 503 with no JSON-RPC reply: 503 Service Unavailable")
    expect((await failure(({ id }) => ({ text: `{"id":${id + 1},"result":1}` }))).reason).toBe("reply to request 2, not 1")
    expect((await failure(() => "hang")).reason).toBe("no answer in 100 ms")
    const refused = Object.assign(new Error("fetch failed"), { cause: Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }) })
    expect((await failure(() => refused)).reason).toBe("connection refused at https://127.0.0.1:9109")
  })
})
