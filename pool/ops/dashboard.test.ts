import { readFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { MetricsRegistry, makePoolMetrics } from "./metrics.ts"

/**
 * The Grafana dashboard operators import (deploy/grafana/dcrforge-pool.json) queries only what
 * the pool exports: every dcrforge_* series it names is one of the pool's metric families (a
 * histogram's _bucket/_sum/_count included), and every label it groups or filters by is one the
 * family has. A renamed metric or label fails here rather than as an empty panel.
 */
const DASHBOARD = join(import.meta.dirname, "..", "..", "deploy", "grafana", "dcrforge-pool.json")

interface Panel {
  readonly title: string
  readonly targets: ReadonlyArray<{ readonly expr: string }>
}

describe("the Grafana dashboard", () => {
  it("names only metrics and labels the pool exports", () => {
    const registry = new MetricsRegistry()
    makePoolMetrics(registry)
    const families = new Map(registry.schema.map((f) => [f.name, f]))
    const familyOf = (series: string) => {
      if (families.has(series)) return families.get(series)
      const base = families.get(series.replace(/_(bucket|sum|count)$/, ""))
      return base?.kind === "histogram" ? base : undefined
    }

    const dashboard = JSON.parse(readFileSync(DASHBOARD, "utf8")) as { readonly panels: ReadonlyArray<Panel> }
    expect(dashboard.panels.length).toBeGreaterThan(5)
    const problems: Array<string> = []
    for (const panel of dashboard.panels) {
      for (const { expr } of panel.targets) {
        const names = [...expr.matchAll(/\bdcrforge_\w+/g)].map((m) => m[0])
        if (names.length === 0) problems.push(`${panel.title}: ${expr} names no dcrforge metric`)
        for (const name of names) {
          const family = familyOf(name)
          if (family === undefined) {
            problems.push(`${panel.title}: ${name} is not exported`)
            continue
          }
          const used = [
            ...[...expr.matchAll(/by \(([^)]*)\)/g)].flatMap((m) => m[1]!.split(",").map((s) => s.trim())),
            ...[...expr.matchAll(new RegExp(`${name}\\{([^}]*)\\}`, "g"))].flatMap((m) => [...m[1]!.matchAll(/(\w+)\s*=/g)].map((l) => l[1]!)),
          ].filter((l) => l !== "le" && l !== "")
          for (const l of used) if (!family.labelNames.includes(l)) problems.push(`${panel.title}: ${family.name} has no label ${l} (it has ${family.labelNames.join(", ") || "none"})`)
        }
      }
    }
    expect(problems).toEqual([])
  })
})
