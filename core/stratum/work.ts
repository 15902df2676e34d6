import { Result } from "effect"
import { fromHex, toHex } from "../chain/bytes.ts"
import { HEADER_BYTES, HeaderOffset } from "../chain/header.ts"
import type { MinerProfile } from "./profiles.ts"
import { StratumErrorCode, stratumError, stringParam, type StratumError, type StratumResponse } from "./protocol.ts"

/** Bytes of extraNonce1 the pool gives each connection (unique per connection). */
const EXTRANONCE1_BYTES = 4

/** Where extra nonces start in the header: the beginning of ExtraData (DCP-0011 nonce space). */
const EXTRANONCE_OFFSET = HeaderOffset.extraData
/** End of the area a legacy miner fills itself (ExtraData), before StakeVersion. */
const LEGACY_FILL_END = HeaderOffset.stakeVersion
const GENTX1_START = HeaderOffset.merkleRoot

const reverseBytes = (b: Uint8Array): Uint8Array => b.slice().reverse()

/** Each 4-byte word byte-reversed (the legacy ASICs' prevBlock order); its own inverse. */
const swapWords = (b: Uint8Array): Uint8Array => {
  const out = new Uint8Array(b.length)
  for (let i = 0; i < b.length; i += 4) for (let j = 0; j < 4; j++) out[i + j] = b[i + 3 - j]!
  return out
}

/** The extraNonce1 a subscribe reply carries for a profile: zero padding, then the connection's bytes. */
export const subscribeExtraNonce1 = (profile: MinerProfile, extraNonce1: Uint8Array): string => "00".repeat(profile.extraNonce.en1PaddingBytes) + toHex(extraNonce1)

/** The `mining.subscribe` result: subscriptions, extraNonce1 and extraNonce2 size. */
export const subscribeResult = (profile: MinerProfile, extraNonce1: Uint8Array, notifyId: string) => [
  [
    ["mining.set_difficulty", notifyId],
    ["mining.notify", notifyId],
  ],
  subscribeExtraNonce1(profile, extraNonce1),
  profile.extraNonce.en2Size,
]

/**
 * `mining.notify` params for a job, as this profile reads them:
 * [jobId, prevBlock, genTx1, genTx2, merkleBranches, blockVersion, nBits, nTime, cleanJobs].
 */
export const encodeNotifyParams = (profile: MinerProfile, jobId: string, header: Uint8Array, clean: boolean): Array<unknown> => {
  const n = profile.notify
  const prev = header.subarray(HeaderOffset.prevBlock, HeaderOffset.merkleRoot)
  const bits = header.subarray(HeaderOffset.bits, HeaderOffset.bits + 4)
  const time = header.subarray(HeaderOffset.timestamp, HeaderOffset.timestamp + 4)
  const genTx1 = n.layout === "header-tail" ? header.subarray(GENTX1_START) : header.subarray(GENTX1_START, EXTRANONCE_OFFSET)
  const genTx2 = n.layout === "header-tail" ? new Uint8Array(0) : header.subarray(LEGACY_FILL_END)
  return [
    jobId,
    toHex(n.prevBlockWordSwap ? swapWords(prev) : prev),
    toHex(genTx1),
    toHex(genTx2),
    [],
    toHex(header.subarray(HeaderOffset.version, HeaderOffset.prevBlock)),
    toHex(n.bitsAndTimeBigEndian ? reverseBytes(bits) : bits),
    toHex(n.bitsAndTimeBigEndian ? reverseBytes(time) : time),
    clean,
  ]
}

const hexParam = (params: ReadonlyArray<unknown>, index: number, name: string, bytes: number): Result.Result<Uint8Array, StratumError> =>
  Result.flatMap(stringParam(params, index, name), (s) => Result.mapError(fromHex(s, name, bytes), (e) => stratumError(StratumErrorCode.other, e.message)))

/** A submit's fields, decoded for a profile and checked for their sizes. */
interface Submission {
  readonly worker: string
  readonly jobId: string
  /** What the submit carried in its extraNonce2 field (for `en2-then-en1`, including extraNonce1). */
  readonly extraNonce: Uint8Array
  /** Header-order (little-endian) timestamp and nonce bytes. */
  readonly time: Uint8Array
  readonly nonce: Uint8Array
}

/** Size of the extraNonce2 field a profile's submit carries. */
const submitExtraNonceBytes = (profile: MinerProfile): number =>
  profile.submit.extraNonce === "en2" ? profile.extraNonce.en2Size : profile.extraNonce.en2Size + (profile.extraNonce.en1PaddingBytes === 0 ? 0 : EXTRANONCE1_BYTES)

/** Reads `mining.submit` params [worker, jobId, extraNonce2, nTime, nonce] for a profile. */
export const decodeSubmitParams = (profile: MinerProfile, params: ReadonlyArray<unknown>): Result.Result<Submission, StratumError> =>
  Result.gen(function* () {
    const worker = yield* stringParam(params, 0, "worker name")
    const jobId = yield* stringParam(params, 1, "job id")
    const extraNonce = yield* hexParam(params, 2, "extraNonce2", submitExtraNonceBytes(profile))
    const time = yield* hexParam(params, 3, "nTime", 4)
    const nonce = yield* hexParam(params, 4, "nonce", 4)
    const bigEndian = profile.submit.timeAndNonceBigEndian
    return {
      worker,
      jobId,
      extraNonce,
      time: bigEndian ? reverseBytes(time) : time,
      nonce: bigEndian ? reverseBytes(nonce) : nonce,
    }
  })

/**
 * The header a miner hashed, from the job's header and its submission: timestamp and nonce
 * at their offsets, then the extra nonces at 144 as the profile lays them out. A miner of an
 * `en2-then-en1` profile must return this connection's extraNonce1, or its work would land in
 * another connection's nonce space.
 */
export const rebuildHeader = (profile: MinerProfile, jobHeader: Uint8Array, extraNonce1: Uint8Array, s: Submission): Result.Result<Uint8Array, StratumError> => {
  if (jobHeader.length !== HEADER_BYTES) throw new RangeError(`job header must be ${HEADER_BYTES} bytes`)
  const header = jobHeader.slice()
  // Legacy miners build 144..176 themselves from zeros; whatever the template had there is not what they hashed.
  if (profile.notify.layout === "legacy-split") header.fill(0, EXTRANONCE_OFFSET, LEGACY_FILL_END)
  header.set(s.time, HeaderOffset.timestamp)
  header.set(s.nonce, HeaderOffset.nonce)
  if (profile.submit.extraNonce === "en2") {
    header.set(extraNonce1, EXTRANONCE_OFFSET)
    header.set(s.extraNonce, EXTRANONCE_OFFSET + extraNonce1.length)
  } else {
    const tail = toHex(s.extraNonce.subarray(s.extraNonce.length - extraNonce1.length))
    if (tail !== toHex(extraNonce1)) {
      return Result.fail(stratumError(StratumErrorCode.other, `extraNonce2 must end with this connection's extraNonce1 ${toHex(extraNonce1)}, got ${tail}`))
    }
    header.set(s.extraNonce, EXTRANONCE_OFFSET)
  }
  return Result.succeed(header)
}

// ---- the miner's side (emulators use it; the pool never does) -----------------------------

/** A job as a miner of this profile understands it: the header it will fill and roll. */
export interface MinerJob {
  readonly jobId: string
  /** 180 bytes: everything from the notify, extra nonce area zeroed. */
  readonly header: Uint8Array
  readonly clean: boolean
}

/** Parses `mining.notify` params as this profile's firmware does. */
export const parseNotifyParams = (profile: MinerProfile, params: ReadonlyArray<unknown>): Result.Result<MinerJob, StratumError> =>
  Result.gen(function* () {
    const n = profile.notify
    const jobId = yield* stringParam(params, 0, "job id")
    const prev = yield* hexParam(params, 1, "prevBlock", 32)
    const tailBytes = n.layout === "header-tail" ? HEADER_BYTES - GENTX1_START : EXTRANONCE_OFFSET - GENTX1_START
    const genTx1 = yield* hexParam(params, 2, "genTx1", tailBytes)
    const genTx2 = yield* hexParam(params, 3, "genTx2", n.layout === "header-tail" ? 0 : HEADER_BYTES - LEGACY_FILL_END)
    const version = yield* hexParam(params, 5, "blockVersion", 4)
    const bits = yield* hexParam(params, 6, "nBits", 4)
    const time = yield* hexParam(params, 7, "nTime", 4)
    const clean = params[8] === true
    const header = new Uint8Array(HEADER_BYTES)
    header.set(version, HeaderOffset.version)
    header.set(n.prevBlockWordSwap ? swapWords(prev) : prev, HeaderOffset.prevBlock)
    header.set(genTx1, GENTX1_START)
    header.set(genTx2, LEGACY_FILL_END)
    header.set(n.bitsAndTimeBigEndian ? reverseBytes(bits) : bits, HeaderOffset.bits)
    header.set(n.bitsAndTimeBigEndian ? reverseBytes(time) : time, HeaderOffset.timestamp)
    // A legacy firmware builds 144..176 itself from zeros; a header-tail miner keeps what genTx1 sent.
    if (n.layout === "legacy-split") header.fill(0, EXTRANONCE_OFFSET, LEGACY_FILL_END)
    return { jobId, header, clean }
  })

/**
 * What a miner of this profile hashes and submits for a job: its header with the subscribe's
 * extraNonce1, its own extraNonce2, timestamp and nonce, and the `mining.submit` params.
 * `subscribedExtraNonce1` is the hex the subscribe reply gave (padding included).
 */
export const minerSolution = (
  profile: MinerProfile,
  job: MinerJob,
  worker: string,
  subscribedExtraNonce1: string,
  extraNonce2: Uint8Array,
  time: number,
  nonce: number,
): { readonly header: Uint8Array; readonly params: Array<string> } => {
  const en1 = Result.getOrThrow(fromHex(subscribedExtraNonce1, "extraNonce1"))
  const header = job.header.slice()
  const view = new DataView(header.buffer)
  view.setUint32(HeaderOffset.timestamp, time, true)
  view.setUint32(HeaderOffset.nonce, nonce, true)
  let submitted: Uint8Array
  if (profile.submit.extraNonce === "en2") {
    header.set(en1, EXTRANONCE_OFFSET)
    header.set(extraNonce2, EXTRANONCE_OFFSET + en1.length)
    submitted = extraNonce2
  } else {
    // The firmware writes its counter over extraNonce1's zero padding and sends the whole back.
    const area = en1.slice()
    area.set(extraNonce2, 0)
    header.set(area, EXTRANONCE_OFFSET)
    submitted = area
  }
  const word = (n: number) => {
    const b = new Uint8Array(4)
    new DataView(b.buffer).setUint32(0, n, !profile.submit.timeAndNonceBigEndian)
    return toHex(b)
  }
  return { header, params: [worker, job.jobId, toHex(submitted), word(time), word(nonce)] }
}

/**
 * The difficulty a Decred miner works to after `mining.set_difficulty`, a whole number. Both
 * reference miners read the parameter as an integer: dcrpool's cmd/miner truncates it to a
 * uint64 and divides the proof-of-work limit by it (0 is a division by zero: it panics), and
 * decred-gominer 2.x floors it and lifts anything below 1 to 1. A pool announcing 1.5 therefore
 * gets shares hashed to difficulty 1, and one announcing 0.3 kills the CPU miner. This reads as
 * the stricter of the two: a fraction is floored, below 1 (or not a number) is a failure.
 */
export const readSetDifficulty = (params: ReadonlyArray<unknown>): Result.Result<bigint, StratumError> => {
  const announced = params[0]
  if (typeof announced !== "number" || !Number.isFinite(announced) || announced < 1) {
    return Result.fail(stratumError(StratumErrorCode.other, `mining.set_difficulty must carry a whole difficulty of at least 1, got ${JSON.stringify(announced) ?? "nothing"}`))
  }
  return Result.succeed(BigInt(Math.floor(announced)))
}

/**
 * A `mining.submit` reply as the reference CPU miner reads it: the result must be a boolean
 * (`false` with an error is a refused share and mining goes on); anything else, `null`
 * included, is a protocol failure it quits on.
 */
export const readSubmitReply = (reply: StratumResponse): Result.Result<{ readonly accepted: boolean; readonly error: StratumResponse["error"] }, StratumError> =>
  typeof reply.result === "boolean"
    ? Result.succeed({ accepted: reply.result, error: reply.error })
    : Result.fail(stratumError(StratumErrorCode.other, `mining.submit reply must have a boolean result, got ${JSON.stringify(reply.result) ?? "none"}`))
