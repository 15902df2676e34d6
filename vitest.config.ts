import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["{core,pool,wallet,emulators,scenarios}/**/*.test.ts"],
    testTimeout: 60_000,
  },
})
