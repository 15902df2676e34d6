import { defineConfig } from "vitest/config"

/**
 * Two groups that never run at the same time (vitest runs one group, then the other):
 * - "unit": every suite that runs in this process or its own children, files in parallel;
 * - "system": the suites that start real daemons (dcrd and dcrwallet on simnet/regnet, a
 *   Docker engine's containers, the pool's own image, Chromium) or put real load on several
 *   pool instances (scenarios/scale), one file at a time, so that they neither starve
 *   the timing-sensitive unit suites nor each other of the two cores.
 * Both load scripts/fast-check-setup.ts, which puts every fast-check property on fixed seeds
 * plus the committed corpus (fresh seeds only under DCRFORGE_EXPLORE=1, i.e. `./dcrforge explore`).
 */
const systemSuites = ["scenarios/simnet/**/*.test.ts", "scenarios/web/**/*.test.ts", "scenarios/deploy/**/*.test.ts", "scenarios/scale/**/*.test.ts"]
const setupFiles = ["scripts/fast-check-setup.ts"]

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: ["{core,pool,wallet,emulators,testkit,scenarios}/**/*.test.ts"],
          exclude: ["**/node_modules/**", ...systemSuites],
          testTimeout: 60_000,
          setupFiles,
          sequence: { groupOrder: 0 },
        },
      },
      {
        test: {
          name: "system",
          include: systemSuites,
          testTimeout: 600_000,
          hookTimeout: 600_000,
          fileParallelism: false,
          setupFiles,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
})
