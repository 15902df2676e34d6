/**
 * The house rules that the type checker cannot see, checked over every .ts file of the
 * repository by plain parsing: regular expressions over the import and export statements, which
 * this codebase writes one way (at the start of a line, double-quoted specifiers; the formatter,
 * biome.json, keeps it so). No TypeScript compiler API: TypeScript 7's native `tsc` has none for
 * JavaScript.
 *
 * 1. The import matrix of the README's Layout table.
 * 2. Production code reads time and randomness from Effect's Clock and Random, never from the
 *    wall clock, timers or Math.random, so that a seeded, virtual-time scenario replays exactly
 *    (docs/DESIGN.md, Determinism rules). Secrets (salts, session tokens) come from node:crypto,
 *    which is not a seeded source and is not checked here.
 * 3. No unused exports: every exported name is imported by some other file; no file that
 *    nothing imports and no tool runs.
 * 4. No runtime import cycles.
 *
 * Each failure names file:line, the rule, and what to do.
 */
import { readdirSync, readFileSync } from "node:fs"
import { dirname, join, relative, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..")

/** Folders that hold no source of ours (installs, caches, outputs) or no TypeScript (Go tools). */
const skippedDirectories = new Set(["node_modules", ".tools", ".cache", ".git", "artifacts", "coverage", "scenarios/simnet/tools"])

const listSourceFiles = (directory: string): ReadonlyArray<string> =>
  readdirSync(join(root, directory), { withFileTypes: true }).flatMap((entry) => {
    const path = directory === "" ? entry.name : `${directory}/${entry.name}`
    if (entry.isDirectory()) return skippedDirectories.has(entry.name) || skippedDirectories.has(path) ? [] : listSourceFiles(path)
    return entry.isFile() && entry.name.endsWith(".ts") ? [path] : []
  })

interface ImportEdge {
  readonly from: string
  /** The specifier as written ("effect", "../core/chain/hash.ts"). */
  readonly specifier: string
  /** The repository file it names, for a relative specifier. */
  readonly target: string | undefined
  readonly line: number
  /** `import type` / `export type ... from`: erased before the module runs. */
  readonly typeOnly: boolean
  /** The names it takes from the target (their exported names), or "*" for all of them. */
  readonly names: ReadonlyArray<string> | "*"
  /** `import * as N`: the local namespace name, whose `N.member` uses say which names are used. */
  readonly namespace: string | undefined
  /** `export * from` / `export { a } from`: the file passes the target's names on. */
  readonly reexport: boolean
  /** For `export { a as b } from`: b -> a, the name here -> the name in the target. */
  readonly renamed: ReadonlyMap<string, string>
}

interface SourceFile {
  readonly path: string
  readonly text: string
  readonly imports: ReadonlyArray<ImportEdge>
  /** The names it exports itself (declarations and `export { a, b as c }`), with their lines. */
  readonly exports: ReadonlyMap<string, number>
}

const lineOf = (text: string, index: number): number => text.slice(0, index).split("\n").length

/** Specifier lists such as `{ a, type b, c as d }`: each name before `as` and after it (the same name without one). */
const specifierNames = (list: string): ReadonlyArray<{ readonly before: string; readonly after: string }> =>
  list
    .replace(/[{}]/g, "")
    .split(",")
    .map((part) => part.trim().replace(/^type\s+/, ""))
    .filter((part) => part !== "")
    .map((part) => {
      const [before = part, after = before] = part.split(/\s+as\s+/)
      return { before, after }
    })

// An import or re-export clause: `X`, `{ ... }`, `* as N`, `*`, `X, { ... }`, `X, * as N`.
const importStatement = /^(import|export)(\s+type)?\s+((?:[\w$]+\s*,\s*)?(?:\{[^}]*\}|\*(?:\s+as\s+[\w$]+)?|[\w$]+))\s+from\s+"([^"]+)"/gm
const sideEffectImport = /^import\s+"([^"]+)"/gm
const dynamicImport = /\bimport\(\s*"([^"]+)"\s*\)/g
const exportDeclaration = /^export\s+(?:declare\s+)?(?:default\s+)?(?:async\s+)?(?:abstract\s+)?(?:const|let|var|function\*?|class|interface|type|enum|namespace)\s+([\w$]+)/gm
const exportDefault = /^export\s+default\b/gm
const exportList = /^export(?:\s+type)?\s+(\{[^}]*\})(?!\s*from)/gm

const parse = (path: string): SourceFile => {
  const text = readFileSync(join(root, path), "utf8")
  const resolveSpecifier = (specifier: string) => (specifier.startsWith(".") ? relative(root, resolve(root, dirname(path), specifier)) : undefined)
  const imports: Array<ImportEdge> = []
  for (const match of text.matchAll(importStatement)) {
    const [, keyword = "", typeKeyword, clause = "", specifier = ""] = match
    const namespace = /\*\s+as\s+([\w$]+)/.exec(clause)?.[1]
    const braces = /\{[^}]*\}/.exec(clause)?.[0]
    const defaultName = /^([\w$]+)\s*(,|$)/.exec(clause)?.[1]
    const reexport = keyword === "export"
    const names =
      clause.startsWith("*") && (reexport || namespace === undefined)
        ? "*"
        : [...(braces === undefined ? [] : specifierNames(braces).map((name) => name.before)), ...(defaultName === undefined || reexport ? [] : ["default"])]
    const renamed = new Map(reexport && braces !== undefined ? specifierNames(braces).map((name) => [name.after, name.before] as const) : [])
    imports.push({ from: path, specifier, target: resolveSpecifier(specifier), line: lineOf(text, match.index), typeOnly: typeKeyword !== undefined, names, namespace, reexport, renamed })
  }
  for (const match of text.matchAll(sideEffectImport)) {
    const specifier = match[1] ?? ""
    imports.push({ from: path, specifier, target: resolveSpecifier(specifier), line: lineOf(text, match.index), typeOnly: false, names: [], namespace: undefined, reexport: false, renamed: new Map() })
  }
  for (const match of text.matchAll(dynamicImport)) {
    const specifier = match[1] ?? ""
    // `typeof import("x")` in a type position is erased; `await import("x")` loads x when it runs.
    const typeOnly = /typeof\s*$|<\s*$/.test(text.slice(Math.max(0, match.index - 20), match.index))
    imports.push({ from: path, specifier, target: resolveSpecifier(specifier), line: lineOf(text, match.index), typeOnly, names: "*", namespace: undefined, reexport: false, renamed: new Map() })
  }
  const exports = new Map<string, number>()
  const addExport = (name: string, index: number) => {
    if (!exports.has(name)) exports.set(name, lineOf(text, index))
  }
  for (const match of text.matchAll(exportDefault)) addExport("default", match.index)
  for (const match of text.matchAll(exportDeclaration)) if (!/^export\s+default/.test(match[0])) addExport(match[1] ?? "", match.index)
  for (const match of text.matchAll(exportList)) for (const name of specifierNames(match[1] ?? "")) addExport(name.after, match.index)
  // `export { a as b } from "x"` exports b here; `export * as N from "x"` exports N.
  for (const match of text.matchAll(importStatement)) {
    if (match[1] !== "export") continue
    const clause = match[3] ?? ""
    const namespace = /\*\s+as\s+([\w$]+)/.exec(clause)?.[1]
    if (namespace !== undefined) addExport(namespace, match.index)
    for (const name of specifierNames(/\{[^}]*\}/.exec(clause)?.[0] ?? "")) addExport(name.after, match.index)
  }
  return { path, text, imports, exports }
}

const files = listSourceFiles("").map(parse)
const byPath = new Map(files.map((file) => [file.path, file]))
const folderOf = (path: string) => (path.includes("/") ? path.slice(0, path.indexOf("/")) : "(root)")
const isTestOrBench = (path: string) => /\.(test|bench)\.ts$/.test(path)
const productionFolders = new Set(["core", "pool", "wallet", "emulators"])
const isProduction = (path: string) => productionFolders.has(folderOf(path)) && !isTestOrBench(path)

describe("tidy: the house rules over every .ts file", () => {
  it("finds the repository's source files and their imports (the parser still reads this codebase)", () => {
    expect(files.length).toBeGreaterThan(100)
    expect(byPath.get("pool/pool.ts")?.imports.some((edge) => edge.target?.startsWith("core/") === true)).toBe(true)
    for (const edge of files.flatMap((file) => file.imports))
      if (edge.target !== undefined)
        expect(byPath.has(edge.target), `${edge.from}:${edge.line}: imports ${edge.specifier}, which is not a .ts file of the repository; relative imports name the file, ending in .ts`).toBe(true)
  })

  /**
   * The README's Layout table: core imports none of the others; pool and wallet import core
   * (pool may import wallet); emulators import core only; nothing imports scenarios; production
   * code (core, pool, wallet, emulators, less their tests and benches) never imports emulators/
   * or testkit/. Tests and benches beside production code may also use testkit/ and emulators/
   * (that is what the kits are for), but still not a folder above their own in the table.
   * testkit/ may import anything but scenarios/; scripts/ is tooling, run by ./dcrforge.
   */
  it("imports follow the README's layout table", () => {
    const mayImport: Record<string, ReadonlySet<string>> = {
      core: new Set(["core"]),
      wallet: new Set(["core", "wallet"]),
      pool: new Set(["core", "wallet", "pool"]),
      emulators: new Set(["core", "emulators"]),
      testkit: new Set(["core", "wallet", "pool", "emulators", "testkit", "scripts"]),
      scripts: new Set(["core", "wallet", "pool", "emulators", "testkit", "scripts"]),
      scenarios: new Set(["core", "wallet", "pool", "emulators", "testkit", "scenarios", "scripts"]),
      "(root)": new Set(["core", "wallet", "pool", "emulators", "testkit", "scenarios", "scripts"]),
    }
    const violations = files.flatMap((file) =>
      file.imports.flatMap((edge) => {
        if (edge.target === undefined) return []
        const from = folderOf(file.path)
        const to = folderOf(edge.target)
        const allowed = new Set(mayImport[from] ?? [])
        if (isTestOrBench(file.path)) for (const kit of ["testkit", "emulators"]) allowed.add(kit)
        if (to === "scenarios" && from !== "scenarios")
          return [`${file.path}:${edge.line}: imports ${edge.target}; nothing imports scenarios/ (it is the top of the house): move what both need into the lowest folder that may hold it`]
        if (allowed.has(to)) return []
        const why =
          to === "testkit"
            ? "production code never imports the test kits; take what it needs as a parameter or a service, and let tests pass the kit in"
            : to === "emulators"
              ? "production code never imports emulators/; depend on the port in core/services and let the scenarios provide the emulator"
              : `${from}/ may import only ${[...(mayImport[from] ?? [])].join(", ")}; move the shared code down into core/ (or the lowest folder both may import)`
        return [`${file.path}:${edge.line}: imports ${edge.target}: ${why}`]
      }),
    )
    expect(violations, violations.join("\n")).toEqual([])
  })

  /**
   * Time and randomness come from Effect's Clock and Random, which the simulator replaces with
   * virtual time and a seeded generator; a wall-clock read or Math.random in production code
   * makes a seeded run unrepeatable. The allowlist holds the few places where the real wall
   * clock is the point, each with its reason; an entry that no longer matches must go.
   */
  it("production code takes time and randomness from Effect's Clock and Random", () => {
    const allowlist: ReadonlyArray<{ readonly file: string; readonly use: string; readonly reason: string }> = []
    const forbidden = [
      { pattern: /\bDate\.now\b/, use: "Date.now", instead: "Clock.currentTimeMillis (or DateTime.now)" },
      { pattern: /\bnew Date\(\s*\)/, use: "new Date()", instead: "DateTime.now, or new Date(yield* Clock.currentTimeMillis)" },
      { pattern: /\bMath\.random\b/, use: "Math.random", instead: "Random.next / Random.nextIntBetween" },
      { pattern: /\bsetTimeout\b/, use: "setTimeout", instead: "Effect.sleep or Effect.delay (the simulator's virtual clock drives both)" },
      { pattern: /\bsetInterval\b/, use: "setInterval", instead: "Effect.repeat or Effect.schedule with a Schedule (the simulator's virtual clock drives both)" },
    ]
    const used = new Set<string>()
    const violations = files
      .filter((file) => isProduction(file.path))
      .flatMap((file) =>
        file.text.split("\n").flatMap((text, index) => {
          const code = text.replace(/(^|\s)\/\/.*$/, "").replace(/^\s*\*.*$/, "")
          return forbidden.flatMap(({ pattern, use, instead }) => {
            if (!pattern.test(code)) return []
            const allowed = allowlist.find((entry) => entry.file === file.path && entry.use === use)
            if (allowed !== undefined) {
              used.add(`${allowed.file} ${allowed.use}`)
              return []
            }
            return [
              `${file.path}:${index + 1}: ${use} in production code; use ${instead}, so seeded runs replay (or, if the real wall clock or real entropy is the point, add an allowlist entry in scenarios/tidy.test.ts with the reason)`,
            ]
          })
        }),
      )
    const stale = allowlist
      .filter((entry) => !used.has(`${entry.file} ${entry.use}`))
      .map((entry) => `allowlist entry ${entry.file} ${entry.use} matches nothing any more; remove it from scenarios/tidy.test.ts`)
    expect([...violations, ...stale], [...violations, ...stale].join("\n")).toEqual([])
  })

  /**
   * Every exported name (types included) is imported by some other file; an export nobody
   * imports is dead code or should not be exported. Tests count as importers: a name exported
   * for tests only (a test-facing API, a helper the tests reach into) is in use. Entry points
   * that are loaded by a tool rather than imported are listed with the tool.
   */
  it("every export is imported somewhere", () => {
    const entryPoints: ReadonlyArray<{ readonly file: RegExp; readonly name: string; readonly reason: string }> = [
      { file: /\.bench\.ts$/, name: "benches", reason: "scripts/bench.ts loads every *.bench.ts with import() and runs its benches" },
      { file: /^vitest\.config\.ts$/, name: "default", reason: "vitest reads its configuration's default export" },
    ]
    // Unused exports in files that other branches of issue 17 are rewriting at the same time
    // (pool/http, pool/store, pool/ops/config.ts, the JSON-RPC wallet, the emulators' difficulty
    // code, the accounting kit): left for the merge, so that the branches do not conflict.
    // The list may only shrink; an entry that is no longer an unused export must go.
    const leftForTheMerge: Record<string, ReadonlyArray<string>> = {}
    const leftOver = new Set(Object.entries(leftForTheMerge).flatMap(([file, names]) => names.map((name) => `${file} ${name}`)))
    const used = new Map<string, Set<string>>()
    const markUsed = (path: string, name: string, seen: Set<string> = new Set()): void => {
      const key = `${path} ${name}`
      if (seen.has(key)) return
      seen.add(key)
      const file = byPath.get(path)
      if (file === undefined) return
      if (!used.has(path)) used.set(path, new Set())
      used.get(path)?.add(name)
      // A name taken from a file that passes names on (`export * from`, `export { a } from`)
      // uses the original too.
      for (const edge of file.imports) {
        if (!edge.reexport || edge.target === undefined) continue
        if (edge.namespace !== undefined) {
          if (name === "*" || name === edge.namespace) markUsed(edge.target, "*", seen)
        } else if (edge.names === "*" && (name === "*" || !file.exports.has(name))) markUsed(edge.target, name, seen)
        else if (edge.names !== "*" && name === "*") for (const original of edge.names) markUsed(edge.target, original, seen)
        else if (edge.names !== "*" && edge.renamed.has(name)) markUsed(edge.target, edge.renamed.get(name) ?? name, seen)
      }
    }
    for (const file of files)
      for (const edge of file.imports) {
        if (edge.target === undefined || edge.reexport) continue
        if (edge.namespace !== undefined) {
          for (const member of file.text.matchAll(new RegExp(`\\b${edge.namespace.replace(/\$/g, "\\$")}\\.([\\w$]+)`, "g"))) markUsed(edge.target, member[1] ?? "")
        } else if (edge.names === "*") markUsed(edge.target, "*")
        else for (const name of edge.names) markUsed(edge.target, name)
      }
    const violations = files.flatMap((file) =>
      [...file.exports].flatMap(([name, line]) => {
        const names = used.get(file.path)
        if (names?.has(name) === true || names?.has("*") === true) return []
        if (entryPoints.some((entry) => entry.file.test(file.path) && entry.name === name)) return []
        if (leftOver.delete(`${file.path} ${name}`)) return []
        const usedHere = new RegExp(`\\b${name.replace(/\$/g, "\\$")}\\b`, "g")
        const localUses = [...file.text.matchAll(usedHere)].length
        const what = localUses > 1 ? "drop the `export` (the file uses it itself)" : "delete it (nothing uses it)"
        return [`${file.path}:${line}: exports ${name}, which no other file imports: ${what}; if a tool loads it, add it to the entry points in scenarios/tidy.test.ts`]
      }),
    )
    const stale = [...leftOver].map((entry) => `${entry} is listed in leftForTheMerge (scenarios/tidy.test.ts) but is no longer an unused export; remove it from the list`)
    expect([...violations, ...stale], [...violations, ...stale].join("\n")).toEqual([])
  })

  /**
   * A file nothing imports is dead, unless a tool runs it: tests and benches (vitest,
   * scripts/bench.ts), the scripts ./dcrforge runs, and the programs started as processes.
   * (Barrel files, index.ts re-exporting a folder, are what this caught first: every import
   * names the file it needs, so a barrel only hides who uses what.)
   */
  it("every file is imported somewhere or run by a tool", () => {
    const runByATool: ReadonlyArray<{ readonly file: RegExp; readonly by: string }> = [
      { file: /\.(test|bench)\.ts$/, by: "vitest and scripts/bench.ts" },
      { file: /^scripts\/[^/]+\.ts$/, by: "./dcrforge and vitest.config.ts" },
      { file: /^vitest\.config\.ts$/, by: "vitest" },
      { file: /^scenarios\/main\.ts$/, by: "./dcrforge run" },
      { file: /^scenarios\/sim\/cli\.ts$/, by: "./dcrforge scenario" },
      { file: /^pool\/ops\/cli\.ts$/, by: "./dcrforge pool" },
      { file: /^wallet\/cli\/main\.ts$/, by: "./dcrforge stake" },
      { file: /^pool\/ops\/vsp-cli\.ts$/, by: "./dcrforge vsp" },
      { file: /^pool\/ops\/miner-cli\.ts$/, by: "./dcrforge miner" },
      { file: /^testkit\/vsp-child\.ts$/, by: "wallet/vsp/kill.test.ts, as the voting service it kills" },
      { file: /^scenarios\/simnet\/prepare\.ts$/, by: ".ci/run, before ./dcrforge test" },
      { file: /^scenarios\/crash\/child\.ts$/, by: "scenarios/crash/crash.test.ts, as the process it kills" },
      { file: /^scenarios\/load\/(flooder|miners|peer-pool)\.ts$/, by: "the stratum load and peer benches, as child processes" },
      { file: /^scenarios\/memory\/idle-pool\.ts$/, by: "scenarios/memory/pool-memory.bench.ts, as the pool it measures" },
    ]
    const imported = new Set(files.flatMap((file) => file.imports.flatMap((edge) => (edge.target === undefined ? [] : [edge.target]))))
    const violations = files
      .filter((file) => !imported.has(file.path) && !runByATool.some((entry) => entry.file.test(file.path)))
      .map((file) => `${file.path}:1: no file imports it and no tool runs it: delete it, or (if a tool runs it) add it to runByATool in scenarios/tidy.test.ts`)
    expect(violations, violations.join("\n")).toEqual([])
  })

  /**
   * Runtime import cycles break module initialisation: one module of the cycle runs before the
   * other's top-level constants exist (a TDZ error, or an undefined Layer captured at load).
   * `import type` and `export type ... from` are erased before the code runs, so they are left
   * out; `import { type A }` is kept (under verbatimModuleSyntax it still loads the module).
   */
  it("no runtime import cycles", () => {
    const edges = new Map<string, Array<ImportEdge>>()
    for (const file of files)
      edges.set(
        file.path,
        file.imports.filter((edge) => edge.target !== undefined && !edge.typeOnly && byPath.has(edge.target)),
      )
    // Tarjan's strongly connected components; each component of two or more files (or a file
    // importing itself) is a cycle.
    let counter = 0
    const index = new Map<string, number>()
    const low = new Map<string, number>()
    const stack: Array<string> = []
    const onStack = new Set<string>()
    const cycles: Array<ReadonlyArray<string>> = []
    const visit = (path: string): void => {
      index.set(path, counter)
      low.set(path, counter)
      counter++
      stack.push(path)
      onStack.add(path)
      for (const edge of edges.get(path) ?? []) {
        const target = edge.target ?? ""
        if (!index.has(target)) {
          visit(target)
          low.set(path, Math.min(low.get(path) ?? 0, low.get(target) ?? 0))
        } else if (onStack.has(target)) low.set(path, Math.min(low.get(path) ?? 0, index.get(target) ?? 0))
      }
      if (low.get(path) !== index.get(path)) return
      const component: Array<string> = []
      for (;;) {
        const member = stack.pop() ?? path
        onStack.delete(member)
        component.push(member)
        if (member === path) break
      }
      if (component.length > 1 || (edges.get(path) ?? []).some((edge) => edge.target === path)) cycles.push(component)
    }
    for (const file of files) if (!index.has(file.path)) visit(file.path)
    const violations = cycles.map((component) => {
      const members = new Set(component)
      const links = component.flatMap((path) => (edges.get(path) ?? []).filter((edge) => members.has(edge.target ?? "")).map((edge) => `${edge.from}:${edge.line} -> ${edge.target}`))
      return `import cycle among ${component.join(", ")} (${links.join("; ")}): move what they share into a file both import, or make the import \`import type\` if only types cross`
    })
    expect(violations, violations.join("\n")).toEqual([])
  })
})
