import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 30_000,
    // Store suites share one Redis; files run in parallel workers but each uses its own key prefix.
    pool: 'forks',
  },
});
