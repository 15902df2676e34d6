import { existsSync } from "node:fs"
import { dirname, resolve } from "node:path"
import { fileURLToPath } from "node:url"

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..")

/**
 * Where the shared test vectors live: $DCRFORGE_VECTORS, else ../shared/vectors beside
 * the checkout. Vector suites may skip (with a message) when the folder is missing on a
 * developer's machine, never in CI (CI=true), where a missing folder is a failure.
 */
const vectorsDir = (): string => process.env["DCRFORGE_VECTORS"] ?? resolve(repoRoot, "..", "shared", "vectors")

export const inCi = (): boolean => {
  const ci = process.env["CI"]
  return ci !== undefined && ci !== "" && ci !== "false" && ci !== "0"
}

/** The vector folder `sub` if present; in CI its absence throws, elsewhere it returns undefined. */
export const findVectors = (sub: string): string | undefined => {
  const dir = resolve(vectorsDir(), sub)
  if (existsSync(dir)) return dir
  const message = `test vectors not found at ${dir} (set DCRFORGE_VECTORS to the shared vectors folder)`
  if (inCi()) throw new Error(`${message}; CI may not skip the vector suite`)
  console.warn(`skipping: ${message}`)
  return undefined
}
