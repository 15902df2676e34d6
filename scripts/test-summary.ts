/**
 * Reads vitest's JSON report and prints the plain closing line `N passed, N failed, N skipped`.
 * In CI (CI=true) a skipped test is a failure: suites that need an engine, a binary or
 * the shared vectors must run there, so a skip means something was not provisioned.
 */
import { readFileSync } from "node:fs"

interface AssertionResult {
  readonly fullName: string
  readonly status: string
}
interface Report {
  readonly numPassedTests: number
  readonly numFailedTests: number
  readonly numPendingTests: number
  readonly numTodoTests: number
  readonly testResults: ReadonlyArray<{ readonly name: string; readonly assertionResults: ReadonlyArray<AssertionResult> }>
}

const path = process.argv[2]
if (path === undefined) throw new Error("usage: test-summary.ts <vitest-json-report>")
const report = JSON.parse(readFileSync(path, "utf8")) as Report
const skipped = report.numPendingTests + report.numTodoTests
console.log(`${report.numPassedTests} passed, ${report.numFailedTests} failed, ${skipped} skipped`)

const ci = process.env["CI"]
if (ci !== undefined && ci !== "" && ci !== "false" && ci !== "0" && skipped > 0) {
  const names = report.testResults.flatMap((file) => file.assertionResults.filter((a) => a.status !== "passed" && a.status !== "failed").map((a) => `  ${a.fullName}`))
  console.error(`CI may not skip tests; these did not run:\n${names.join("\n")}`)
  process.exitCode = 1
}
