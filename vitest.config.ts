import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: [
      'main/**/*.test.ts',
      'native-models/**/*.test.ts',
      'renderer/src/**/*.test.ts',
      'eslint.layers.test.ts',
    ],
    // Model builds and float64 references are CPU-heavy; CI has 2 cores.
    pool: 'forks',
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    globalSetup: ['vitest.globalSetup.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
