import { Result } from "effect"
import { InvalidArgument } from "./errors.ts"

export const ATOMS_PER_DCR = 100_000_000n
/** Decred's supply cap, 21 million DCR: no amount can be larger. */
export const MAX_ATOMS = 21_000_000n * ATOMS_PER_DCR

const DECIMAL = /^(\d+)(?:\.(\d+))?(?:e([+-]?\d+))?$/i

/**
 * An amount in DCR, as JSON-RPC carries it (a number such as 0.5, or a decimal string), to
 * atoms exactly. The number's shortest decimal form is parsed as text, so no floating-point
 * arithmetic touches money; more than 8 decimal places is refused rather than rounded.
 */
export const dcrToAtoms = (value: unknown, field: string): Result.Result<bigint, InvalidArgument> => {
  const fail = (message: string) => Result.fail(new InvalidArgument({ field, message: `${field}: ${message}` }))
  if (typeof value !== "number" && typeof value !== "string") return fail(`expected an amount in DCR, got ${typeof value}`)
  if (typeof value === "number" && !Number.isFinite(value)) return fail(`${value} is not an amount`)
  const text = String(value).trim()
  const m = DECIMAL.exec(text)
  if (m === null) return fail(`"${text}" is not a non-negative decimal amount in DCR`)
  const [, whole, fraction = "", exponentText = "0"] = m
  const exponent = Number(exponentText)
  // Shift the decimal point by the exponent, then require at most 8 places after it.
  let digits = whole! + fraction
  let point = whole!.length + exponent
  if (point < 0) {
    digits = "0".repeat(-point) + digits
    point = 0
  }
  if (point > digits.length) digits = digits + "0".repeat(point - digits.length)
  const intPart = digits.slice(0, point) || "0"
  const fracPart = digits.slice(point).replace(/0+$/, "")
  if (fracPart.length > 8) return fail(`${text} DCR has more than 8 decimal places (1 atom = 0.00000001 DCR)`)
  const atoms = BigInt(intPart) * ATOMS_PER_DCR + BigInt(fracPart.padEnd(8, "0") || "0")
  if (atoms > MAX_ATOMS) return fail(`${text} DCR is more than the 21 million DCR that can exist`)
  return Result.succeed(atoms)
}

/** Atoms as a DCR decimal string (exact, trailing zeros trimmed): what people read. */
export const atomsToDcr = (atoms: bigint): string => {
  const negative = atoms < 0n
  const a = negative ? -atoms : atoms
  const whole = a / ATOMS_PER_DCR
  const fraction = (a % ATOMS_PER_DCR).toString().padStart(8, "0").replace(/0+$/, "")
  return `${negative ? "-" : ""}${whole}${fraction === "" ? "" : "." + fraction}`
}

/**
 * A percentage (e.g. a stake pool's 7.5) in basis points (750), exactly, from its decimal
 * form; at most two decimal places, between 0 and 100.
 */
export const percentToBasisPoints = (value: unknown, field: string): Result.Result<number, InvalidArgument> => {
  const fail = (message: string) => Result.fail(new InvalidArgument({ field, message: `${field}: ${message}` }))
  if (typeof value !== "number" && typeof value !== "string") return fail(`expected a percentage, got ${typeof value}`)
  const m = /^(\d+)(?:\.(\d{1,2}))?$/.exec(String(value).trim())
  if (m === null) return fail(`"${String(value)}" is not a percentage with at most two decimal places`)
  const bp = Number(m[1]) * 100 + Number((m[2] ?? "").padEnd(2, "0"))
  if (bp > 10_000) return fail(`${String(value)}% is more than 100%`)
  return Result.succeed(bp)
}
