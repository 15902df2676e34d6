/**
 * Runs every benchmark (files named *.bench.ts under the project's folders), or those
 * whose name contains FILTER, and prints one line per figure:
 *   bench: <name> = <value> <unit>
 * Usage: npm run bench [-- FILTER]   (or ./dcrforge bench [FILTER])
 */
import { readdirSync } from "node:fs"
import { join, relative, resolve } from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import type { Bench } from "../testkit/bench.ts"

const root = resolve(fileURLToPath(import.meta.url), "..", "..")
const folders = ["core", "pool", "wallet", "emulators", "testkit", "scenarios"]

const findBenchFiles = (dir: string): Array<string> =>
  readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) return entry.name === "node_modules" ? [] : findBenchFiles(path)
    return entry.name.endsWith(".bench.ts") ? [path] : []
  })

const filter = process.argv[2] ?? ""
const files = folders.flatMap((f) => findBenchFiles(join(root, f))).sort()
let ran = 0
for (const file of files) {
  const module = (await import(pathToFileURL(file).href)) as { benches?: ReadonlyArray<Bench> }
  for (const bench of module.benches ?? []) {
    const figuresMatch = (name: string) => name.includes(filter) || bench.name.includes(filter)
    if (filter !== "" && !figuresMatch(bench.name)) continue
    console.error(`running ${bench.name} (${relative(root, file)}) ...`)
    for (const figure of await bench.run()) {
      console.log(`bench: ${figure.name} = ${figure.value} ${figure.unit}`)
    }
    ran++
  }
}
if (ran === 0) {
  console.error(`no benchmark matches "${filter}"`)
  process.exitCode = 1
}
