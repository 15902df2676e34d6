import { Data, Effect, Result, Schema, SchemaIssue, SchemaTransformation } from "effect"

/**
 * Columns as the drivers hand them, decoded into the values the pool computes with. The two
 * stores give different JavaScript types for one column: PGlite returns an int8 as a number
 * when it is a safe integer and as a bigint when not, the Postgres client (@effect/sql-pg)
 * always as a bigint; both return numeric (share weights, difficulties, sums of int8) as a
 * decimal string. An integer column therefore accepts all three and decodes exactly: a value
 * that would lose digits (an unsafe number, a fraction, a number column beyond 2^53) is refused
 * with `StoreRowInvalid`, never rounded.
 */
const DriverInteger = Schema.Union([Schema.BigInt, Schema.Int, Schema.String.check(Schema.isStringBigInt())]).annotate({
  expected: "an integer (a bigint, a safe integer or a decimal string)",
})

/** An integer column (int4, int8, numeric) as a bigint: amounts in atoms, weights, difficulties, ids. */
export const BigIntColumn = DriverInteger.pipe(
  Schema.decodeTo(
    Schema.BigInt,
    SchemaTransformation.transform({
      decode: (value) => (typeof value === "bigint" ? value : BigInt(value)),
      encode: (value) => value.toString(),
    }),
  ),
)

/** An integer column as a number: heights, counts; refused beyond 2^53 rather than rounded. */
export const NumberColumn = DriverInteger.pipe(
  Schema.decodeTo(
    Schema.Int,
    SchemaTransformation.transform({
      decode: (value) => Number(value),
      encode: (value) => value,
    }),
  ),
)

/** A time column: milliseconds of the pool's clock (int8), as every `*_ms` column is stored. */
export const MillisColumn = NumberColumn

export const TextColumn = Schema.String

/** A nullable column: SQL NULL is `undefined` in the row, as the pool's types spell "absent". */
export const NullableColumn = <T, E>(column: Schema.Codec<T, E>) =>
  Schema.NullOr(column).pipe(
    Schema.decodeTo(
      Schema.UndefinedOr(Schema.toType(column)),
      SchemaTransformation.transform<T | undefined, T | null>({
        decode: (value) => value ?? undefined,
        encode: (value) => value ?? null,
      }),
    ),
  )

/**
 * A row the database returned that its schema does not describe: a column missing, a status
 * the pool does not know, a number that is not an integer. The pool's own writes cannot produce
 * one (the tables' CHECK constraints and types see to that), so the database is not the schema
 * this pool expects: a migration not run, a backup of another version restored by hand, or
 * another program writing to the pool's tables.
 */
export class StoreRowInvalid extends Data.TaggedError("StoreRowInvalid")<{
  /** The table (or the query's tables) the row came from. */
  readonly table: string
  /** The column whose value was refused, as the query names it. */
  readonly column: string
  /** The value as the driver gave it, printed; undefined when the row has no such column. */
  readonly value: string | undefined
  /** What was expected instead, from the row's schema. */
  readonly problem: string
  readonly cause: Schema.SchemaError
}> {
  override get message(): string {
    const what = this.value === undefined ? `no column ${this.column}` : `${this.column} = ${this.value} (${this.problem})`
    return `a ${this.table} row read from the database has ${what}; the database does not have the schema this pool expects: run \`./dcrforge pool migrate\` with this version, and check that no other program writes to the pool's tables`
  }
}

const printValue = (value: unknown): string | undefined => {
  if (value === undefined) return undefined
  if (typeof value === "bigint") return `${value}n`
  try {
    return JSON.stringify(value) ?? typeof value
  } catch {
    return typeof value
  }
}

const formatIssues = SchemaIssue.makeFormatterStandardSchemaV1()

const invalid = (table: string, rows: ReadonlyArray<unknown>, error: Schema.SchemaError): StoreRowInvalid => {
  const first = formatIssues(error.issue).issues[0]
  const path = first?.path ?? []
  // Rows are decoded as an array: the path is [row index, column].
  const [index, column] = path
  const row = typeof index === "number" ? rows[index] : undefined
  const value = typeof column !== "string" ? row : typeof row === "object" && row !== null ? (row as Readonly<Record<string, unknown>>)[column] : undefined
  return new StoreRowInvalid({
    table,
    column: typeof column === "string" ? column : "(row)",
    value: printValue(value),
    problem: first?.message ?? error.message,
    cause: error,
  })
}

/**
 * The rows of one query decoded by `row`'s schema (columns named as the query names them),
 * or `StoreRowInvalid` naming the table, the column and the value it refused.
 */
export const decodeRows = <T, E>(table: string, row: Schema.Codec<T, E>) => {
  const decode = Schema.decodeUnknownResult(Schema.Array(row))
  return (rows: ReadonlyArray<unknown>): Effect.Effect<ReadonlyArray<T>, StoreRowInvalid> => Effect.fromResult(Result.mapError(decode(rows), (error) => invalid(table, rows, error)))
}
