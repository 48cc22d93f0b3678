import { UserError } from '../errors.js';
import type { RunnerConfigDocument } from './document.js';
import { runnerName, runnerTables } from './runners.js';

const DOCKER = 'docker';

/** The runners to attach: the requested ones (each must exist and use docker), or every docker runner. */
export function selectRunners(doc: RunnerConfigDocument, requested: string[]): string[] {
  const runners = runnerTables(doc.table).flatMap((runner) => {
    const name = runnerName(runner);
    return name === undefined ? [] : [{ name, executor: runner.executor }];
  });
  const names = runners.map((runner) => runner.name);
  const docker = [...new Set(runners.filter((runner) => runner.executor === DOCKER).map((runner) => runner.name))];
  const there = names.length > 0 ? `runners in ${doc.path}: ${names.join(', ')}` : `${doc.path} has no runners; register one first (gitlab-runner register)`;

  if (requested.length === 0) {
    if (docker.length > 0) return docker;
    throw new UserError('runnerConfig', `no runner with executor "docker" in ${doc.path}`, `register one (gitlab-runner register --executor docker) or name runners explicitly; ${there}`);
  }
  for (const name of requested) {
    if (!names.includes(name)) throw new UserError('usage', `no runner named "${name}" in ${doc.path}`, there);
    if (!docker.includes(name)) {
      const executor = runners.find((runner) => runner.name === name)?.executor;
      throw new UserError('usage', `runner "${name}" in ${doc.path} uses executor ${JSON.stringify(executor ?? null)}, not "docker"`, 'nix-runner serves docker-executor runners only');
    }
  }
  return [...new Set(requested)];
}
