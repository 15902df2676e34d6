import { Data, Result, Schema } from "effect"

/**
 * Stratum error codes Decred pools use (the reference pool emits 20, 22 and 23; this pool
 * uses all six where they fit).
 */
export const StratumErrorCode = {
  other: 20,
  staleJob: 21,
  duplicateShare: 22,
  lowDifficulty: 23,
  unauthorized: 24,
  notSubscribed: 25,
} as const

export type StratumErrorCode = (typeof StratumErrorCode)[keyof typeof StratumErrorCode]

/** What a miner is told when a request fails: a code and a message a person can act on. */
export class StratumError extends Data.TaggedError("StratumError")<{
  readonly code: StratumErrorCode
  readonly message: string
}> {}

export const stratumError = (code: StratumErrorCode, message: string) => new StratumError({ code, message })

// A JSON number id must be finite: `1e999` reads as Infinity, which JSON cannot echo back (it would go out as null).
const RequestId = Schema.Union([Schema.Finite, Schema.String])

/** A request, or a notification when `id` is null. */
export const StratumRequest = Schema.Struct({
  id: Schema.NullOr(RequestId),
  method: Schema.String,
  params: Schema.Array(Schema.Unknown),
})
export type StratumRequest = typeof StratumRequest.Type

/** A reply to a request: `error` is [code, message, traceback] or null. */
export const StratumResponse = Schema.Struct({
  id: Schema.NullOr(RequestId),
  result: Schema.Unknown,
  error: Schema.NullOr(Schema.Tuple([Schema.Number, Schema.String, Schema.Unknown])),
})
export type StratumResponse = typeof StratumResponse.Type

/** Default bound on one line: well above any valid message (a notify is ~500 bytes). */
export const MAX_LINE_BYTES = 2048

const decodeRequest = Schema.decodeUnknownResult(StratumRequest)
const decodeResponse = Schema.decodeUnknownResult(StratumResponse)

const parseJson = (line: string, maxBytes: number): Result.Result<unknown, StratumError> => {
  if (line.length > maxBytes) {
    return Result.fail(stratumError(StratumErrorCode.other, `message of ${line.length} bytes exceeds the ${maxBytes}-byte limit`))
  }
  try {
    return Result.succeed(JSON.parse(line) as unknown)
  } catch {
    return Result.fail(stratumError(StratumErrorCode.other, "malformed JSON: each line must be one JSON-RPC object"))
  }
}

/** What a pool reads: one line, one request. */
export const decodeRequestLine = (line: string, maxBytes = MAX_LINE_BYTES): Result.Result<StratumRequest, StratumError> =>
  Result.flatMap(parseJson(line, maxBytes), (json) =>
    Result.mapError(decodeRequest(json), () => stratumError(StratumErrorCode.other, 'not a stratum request: expected {"id", "method": string, "params": array}')),
  )

type MinerLine = { readonly kind: "response"; readonly message: StratumResponse } | { readonly kind: "request"; readonly message: StratumRequest }

/** What a miner reads: a reply (has `result`) or a notification (has `method`). */
export const decodeMinerLine = (line: string, maxBytes = MAX_LINE_BYTES): Result.Result<MinerLine, StratumError> =>
  Result.flatMap(parseJson(line, maxBytes), (json): Result.Result<MinerLine, StratumError> => {
    const asRequest = decodeRequest(json)
    if (Result.isSuccess(asRequest)) return Result.succeed({ kind: "request", message: asRequest.success })
    const asResponse = decodeResponse(json)
    if (Result.isSuccess(asResponse)) return Result.succeed({ kind: "response", message: asResponse.success })
    return Result.fail(stratumError(StratumErrorCode.other, "neither a stratum reply nor a notification"))
  })

export const encodeRequest = (id: number | string | null, method: string, params: ReadonlyArray<unknown>): string => JSON.stringify({ id, method, params })

// Replies keep the reference pool's key order (id, error, result): parsers do not care, people
// comparing the two pools' traffic line by line do.

/** A request that succeeded: `{"id":n,"error":null,"result":...}`. */
export const encodeResult = (id: number | string | null, result: unknown): string => JSON.stringify({ id, error: null, result })

/**
 * A `mining.submit` or `mining.authorize` the pool turns down: `result: false` with the error.
 * That is how the reference pool (dcrpool) answers every refused share and login, and what its
 * CPU miner requires: it reads the result as a boolean and quits on anything else (a `null`
 * result is a broken pool to it), while decred-gominer reads `false` and `null` alike.
 */
export const encodeRefusal = (id: number | string | null, error: StratumError): string => JSON.stringify({ id, error: [error.code, error.message, null], result: false })

/**
 * A request that could not be served at all (a refused subscribe, an unknown method, a line that
 * is not a request): `result: null` with the error. The reference pool leaves `result` out of a
 * refused subscribe, which both Decred miners read the same as null.
 */
export const encodeError = (id: number | string | null, error: StratumError): string => JSON.stringify({ id, error: [error.code, error.message, null], result: null })

/** The request methods whose refusals are `result: false` rather than `null` (see `encodeRefusal`). */
const BOOLEAN_METHODS: ReadonlySet<string> = new Set(["mining.submit", "mining.authorize"])

/** How a refusal of `method` is written: `false` for submit and authorize, `null` for the rest. */
export const encodeRefusalFor = (method: string, id: number | string | null, error: StratumError): string => (BOOLEAN_METHODS.has(method) ? encodeRefusal(id, error) : encodeError(id, error))

/** Reads a positional string param, or says which one is missing or wrong. */
export const stringParam = (params: ReadonlyArray<unknown>, index: number, name: string): Result.Result<string, StratumError> => {
  const v = params[index]
  return typeof v === "string"
    ? Result.succeed(v)
    : Result.fail(stratumError(StratumErrorCode.other, `param ${index + 1} (${name}) must be a string, got ${v === undefined ? "nothing" : JSON.stringify(v)}`))
}
