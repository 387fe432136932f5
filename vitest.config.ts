import { defineConfig } from 'vitest/config';

// Unit tests sit beside the code; end-to-end tests with real clients live in test/.
// Two cores: keep the pool small so child-process tests are not starved.
export default defineConfig({
  test: {
    include: ['**/*.test.ts'],
    exclude: ['node_modules/**', 'dist/**', 'data/**'],
    pool: 'forks',
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: ['default'],
  },
});
