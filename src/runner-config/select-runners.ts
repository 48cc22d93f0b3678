import { UserError } from '../errors.js';
import type { RunnerConfigDocument } from './toml/document.js';
import { runnerName, runnerTables } from './toml/document.js';

const DOCKER = 'docker';
// A hint names at most this many runners: it stays one line with any config.toml.
const MAX_LISTED = 20;

/** The runners to attach: the requested ones (each must exist and use docker), or every docker runner. */
export function selectRunners(doc: RunnerConfigDocument, requested: string[]): string[] {
  const runners = runnerTables(doc.table).flatMap((runner) => {
    const name = runnerName(runner);
    return name === undefined ? [] : [{ name, executor: runner.executor }];
  });
  const names = runners.map((runner) => runner.name);
  const docker = [...new Set(runners.filter((runner) => runner.executor === DOCKER).map((runner) => runner.name))];
  // Sets: a config.toml may hold tens of thousands of runners, and as many may be requested.
  const named = new Set(names);
  const isDocker = new Set(docker);
  const shown = names.length > MAX_LISTED ? `${names.slice(0, MAX_LISTED).join(', ')}, … (${names.length} in all)` : names.join(', ');
  const there = names.length > 0 ? `runners in ${doc.path}: ${shown}` : `${doc.path} has no runners; register one first (gitlab-runner register)`;

  if (requested.length === 0) {
    if (docker.length > 0) return docker;
    throw new UserError('runnerConfig', `no runner with executor "docker" in ${doc.path}`, `register one (gitlab-runner register --executor docker) or name runners explicitly; ${there}`);
  }
  for (const name of requested) {
    if (!named.has(name)) throw new UserError('usage', `no runner named "${name}" in ${doc.path}`, there);
    if (!isDocker.has(name)) {
      const executor = runners.find((runner) => runner.name === name)?.executor;
      throw new UserError('usage', `runner "${name}" in ${doc.path} uses executor ${JSON.stringify(executor ?? null)}, not "docker"`, 'nix-runner serves docker-executor runners only');
    }
  }
  return [...new Set(requested)];
}
