import { copyFile, chmod } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

export const RUNNER_FIXTURE = fileURLToPath(new URL('../../fixtures/runner-config/config.toml', import.meta.url));

/** A copy of the two-docker-runners + one-shell-runner config.toml, mode 0600 as gitlab-runner writes it. */
export async function copyRunnerFixture(dir: string): Promise<string> {
  const path = join(dir, 'config.toml');
  await copyFile(RUNNER_FIXTURE, path);
  await chmod(path, 0o600);
  return path;
}
