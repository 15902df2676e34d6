import { Result } from "effect"
import { describe, expect, it } from "vitest"
import { decodeMinerLine, decodeRequestLine, encodeError, encodeRefusal, encodeRefusalFor, encodeResult, stratumError } from "./protocol.ts"

const fails = (line: string) => {
  const r = decodeRequestLine(line, 200)
  return Result.isFailure(r) ? `${r.failure.code} ${r.failure.message}` : "accepted"
}

describe("stratum lines", () => {
  it("reads requests and notifications", () => {
    const r = Result.getOrThrow(decodeRequestLine('{"id":1,"method":"mining.subscribe","params":["decred-gominer/2.1.0"]}'))
    expect(r).toEqual({ id: 1, method: "mining.subscribe", params: ["decred-gominer/2.1.0"] })
    const n = Result.getOrThrow(decodeMinerLine('{"id":null,"method":"mining.set_difficulty","params":[16]}'))
    expect(n.kind).toBe("request")
    const reply = Result.getOrThrow(decodeMinerLine('{"id":3,"result":true,"error":null}'))
    expect(reply.kind).toBe("response")
  })

  it("refuses malformed JSON, wrong shapes and over-long lines with error 20", () => {
    expect(fails("{not json")).toBe("20 malformed JSON: each line must be one JSON-RPC object")
    expect(fails('{"id":1,"method":7,"params":[]}')).toContain("20 not a stratum request")
    expect(fails('{"id":1,"method":"x","params":{}}')).toContain("20 not a stratum request")
    expect(fails("[]")).toContain("20 not a stratum request")
    // Infinity cannot be echoed back as an id (JSON writes it as null): such a line is no request.
    expect(fails('{"id":1e999,"method":"mining.submit","params":[]}')).toContain("20 not a stratum request")
    expect(fails(`{"id":1,"method":"x","params":["${"a".repeat(300)}"]}`)).toContain("exceeds the 200-byte limit")
  })

  it("writes results and errors as [code, message, null], in the reference pool's key order", () => {
    expect(encodeResult(4, true)).toBe('{"id":4,"error":null,"result":true}')
    expect(encodeError(5, stratumError(20, "unknown method"))).toBe('{"id":5,"error":[20,"unknown method",null],"result":null}')
  })

  it("refuses a share or a login with result false and the error, as dcrpool does; other requests with result null", () => {
    const duplicate = stratumError(22, "duplicate share")
    // What dcrpool's SubmitWorkResponse(id, false, err) marshals to (its Response fields: id, error, result).
    expect(encodeRefusal(7, duplicate)).toBe('{"id":7,"error":[22,"duplicate share",null],"result":false}')
    expect(encodeRefusalFor("mining.submit", 7, duplicate)).toBe(encodeRefusal(7, duplicate))
    expect(encodeRefusalFor("mining.authorize", "a", duplicate)).toBe('{"id":"a","error":[22,"duplicate share",null],"result":false}')
    expect(encodeRefusalFor("mining.subscribe", 1, duplicate)).toBe(encodeError(1, duplicate))
  })
})
