import { Data, Result } from "effect"

// The one place DCR amounts are read and written. Money is bigint atoms everywhere else; the
// decimal forms people type and JSON-RPC carries are turned into atoms here, as text, so no
// floating-point arithmetic ever touches an amount, and one too many decimal places is refused
// rather than rounded.

export const ATOMS_PER_DCR = 100_000_000n
/** Decred's supply cap, 21 million DCR: no amount can be larger. */
export const MAX_ATOMS = 21_000_000n * ATOMS_PER_DCR
/** Decimal places of a DCR amount: 1 atom = 0.00000001 DCR. */
const DCR_DECIMAL_PLACES = 8

/** Why an amount in DCR was refused; `problem` is the reason alone, `message` names the value (and `field`). */
class DcrAmountError extends Data.TaggedError("DcrAmountError")<{
  /** What the amount is (a flag, an RPC field), when the caller named it. */
  readonly field: string | undefined
  readonly kind: "not-an-amount" | "negative" | "too-many-decimals" | "too-large"
  /** The reason, said of the value: "has more than 8 decimal places (1 atom = 0.00000001 DCR)". */
  readonly problem: string
  readonly message: string
}> {}

const refuse = (field: string | undefined, subject: string, kind: DcrAmountError["kind"], problem: string) =>
  Result.fail(new DcrAmountError({ field, kind, problem, message: `${field === undefined ? "" : `${field}: `}${subject} ${problem}` }))

/** A non-negative decimal, exactly: digits / 10^scale, the fraction's trailing zeros dropped. */
interface ExactDecimal {
  readonly digits: bigint
  readonly scale: number
}

/**
 * Plain decimal text ("12", "0.5", ".5", "5.") as an exact decimal; undefined for anything
 * else (a sign, an exponent, spaces, no digit at all).
 */
export const parseDecimal = (text: string): ExactDecimal | undefined => {
  const m = /^(\d*)(?:\.(\d*))?$/.exec(text)
  if (m === null) return undefined
  const whole = m[1] ?? ""
  const fraction = (m[2] ?? "").replace(/0+$/, "")
  if (whole === "" && (m[2] ?? "") === "") return undefined
  return { digits: BigInt(whole + fraction || "0"), scale: fraction.length }
}

/** The decimal in units of 10^-places (basis points: 4, atoms: 8), or undefined when it has more places than that. */
export const decimalInUnits = (d: ExactDecimal, places: number): bigint | undefined => (d.scale > places ? undefined : d.digits * 10n ** BigInt(places - d.scale))

/**
 * The text of a JSON number (or a decimal with an exponent) rewritten without its exponent,
 * by moving the decimal point: "1.5e2" -> "150", "1e-8" -> "0.00000001". Exponents beyond
 * a thousand places come out as a value plainly too large or too fine (no huge strings).
 */
const withoutExponent = (text: string): string | undefined => {
  const m = /^(\d*)(?:\.(\d*))?(?:e([+-]?\d+))?$/i.exec(text)
  if (m === null) return undefined
  const whole = m[1] ?? ""
  const fraction = m[2] ?? ""
  if (whole === "" && fraction === "") return undefined
  if (m[3] === undefined) return text
  const digits = whole + fraction
  if (/^0*$/.test(digits)) return "0"
  const point = whole.length + Number(m[3])
  if (point > 1000) return "9".repeat(1000)
  if (point < -1000) return `0.${"0".repeat(1000)}1`
  if (point <= 0) return `0.${"0".repeat(-point)}${digits}`
  return point >= digits.length ? digits + "0".repeat(point - digits.length) : `${digits.slice(0, point)}.${digits.slice(point)}`
}

const atomsOfText = (text: string, read: (text: string) => ExactDecimal | undefined, field: string | undefined, expected: string): Result.Result<bigint, DcrAmountError> => {
  const decimal = read(text)
  if (decimal === undefined) {
    return text.startsWith("-") && read(text.slice(1)) !== undefined
      ? refuse(field, `${text} DCR`, "negative", "is negative: an amount in DCR cannot be")
      : refuse(field, JSON.stringify(text), "not-an-amount", `is not an amount in DCR (${expected})`)
  }
  const atoms = decimalInUnits(decimal, DCR_DECIMAL_PLACES)
  if (atoms === undefined) return refuse(field, `${text} DCR`, "too-many-decimals", "has more than 8 decimal places (1 atom = 0.00000001 DCR)")
  if (atoms > MAX_ATOMS) return refuse(field, `${text} DCR`, "too-large", `is more than the ${MAX_ATOMS / ATOMS_PER_DCR} DCR that can exist`)
  return Result.succeed(atoms)
}

/**
 * An amount in DCR as people type it (a flag, a config file): digits with an optional decimal
 * point, at most 8 decimal places, at most 21 million DCR; to atoms, exactly.
 */
export const parseDcr = (text: string, field?: string): Result.Result<bigint, DcrAmountError> => atomsOfText(text, parseDecimal, field, "digits with an optional decimal point")

const parseJsonDecimal = (text: string): ExactDecimal | undefined => {
  const plain = withoutExponent(text)
  return plain === undefined ? undefined : parseDecimal(plain)
}

/**
 * An amount in DCR as JSON-RPC carries it to atoms, exactly: a JSON number's source text (kept
 * by `parseJsonExact`), a decimal string, or a JSON number already parsed (its shortest
 * decimal form is read as text, which gives back exactly what dcrd and dcrwallet wrote for any
 * amount of at most 8 decimal places). An exponent is allowed (Go writes 1e-08); more than 8
 * decimal places is refused rather than rounded.
 */
export const dcrToAtoms = (value: unknown, field?: string): Result.Result<bigint, DcrAmountError> => {
  if (typeof value !== "number" && typeof value !== "string") {
    const problem = `expected an amount in DCR, got ${typeof value}`
    return Result.fail(new DcrAmountError({ field, kind: "not-an-amount", problem, message: `${field === undefined ? "" : `${field}: `}${problem}` }))
  }
  if (typeof value === "number" && !Number.isFinite(value)) return refuse(field, String(value), "not-an-amount", "is not an amount")
  return atomsOfText(String(value).trim(), parseJsonDecimal, field, "a non-negative decimal, as JSON writes numbers")
}

/** Atoms as a DCR decimal string, exact, trailing zeros trimmed (`5n` -> "0.00000005"): what people read and JSON-RPC is sent. */
export const atomsToDcr = (atoms: bigint): string => {
  const negative = atoms < 0n
  const a = negative ? -atoms : atoms
  const whole = a / ATOMS_PER_DCR
  const fraction = (a % ATOMS_PER_DCR).toString().padStart(DCR_DECIMAL_PLACES, "0").replace(/0+$/, "")
  return `${negative ? "-" : ""}${whole}${fraction === "" ? "" : "." + fraction}`
}
