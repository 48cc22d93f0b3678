import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // e2e files share one Docker engine and one nix store: run files one after another
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 300_000,
  },
});
