import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // NIX_RUNNER_ENGINE=podman points DOCKER_HOST at Podman for the e2e tests (and the docker CLI they call)
    setupFiles: ['test/e2e/support/select-engine.ts'],
    // e2e files share one Docker engine and one nix store: run files one after another
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 300_000,
  },
});
