import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseRunnerConfig } from '../../../src/runner-config/toml/document.js';
import { runCli } from '../support/cli.js';
import { requireEngine, skipE2E } from '../support/engine.js';
import { removeDaemon, scratchDir, uniqueName } from '../support/scratch.js';

const ROUNDS = 50;
const PER_DAEMON = 25;
// Runners neither daemon attaches: they make each read-merge-write take long enough (~0.2 s) for the two
// provisions' writes to overlap in most rounds, so that the test fails without the lock.
const OTHERS = 1_500;

type Runner = { name: string; environment?: string[]; docker?: { volumes_from?: string[] } };

// Two disjoint sets of docker runners, as `gitlab-runner register` writes them, none attached yet, and others.
function baseConfig(): string {
  const runner = (name: string, i: number) =>
    `\n[[runners]]\n  name = "${name}"\n  url = "https://gitlab.example.com"\n  id = ${i}\n  token = "glrt-${name}-0123456789"\n  executor = "docker"\n  [runners.docker]\n    image = "alpine:3.20"\n`;
  const names = [...Array.from({ length: PER_DAEMON }, (_, i) => `a-${i}`), ...Array.from({ length: PER_DAEMON }, (_, i) => `b-${i}`), ...Array.from({ length: OTHERS }, (_, i) => `other-${i}`)];
  return `concurrent = 4\ncheck_interval = 0\n${names.map(runner).join('')}`;
}

/** The runners of `set` ('a' or 'b') that do not carry `daemon`'s entries. */
function unattached(runners: Runner[], set: string, daemon: string): string[] {
  return runners
    .filter((runner) => runner.name.startsWith(`${set}-`))
    .filter((runner) => !runner.docker?.volumes_from?.includes(`${daemon}:ro`) || !runner.environment?.includes('NIX_REMOTE=daemon'))
    .map((runner) => runner.name);
}

// Two provisions of different daemons write one config.toml at once, each attaching its own runners:
// without a lock per config.toml one of the two updates got lost about once in 40 rounds.
describe.skipIf(skipE2E)('two daemons provisioned in parallel on one config.toml', () => {
  const daemonA = uniqueName('e2e-par-a');
  const daemonB = uniqueName('e2e-par-b');
  let scratch: Awaited<ReturnType<typeof scratchDir>>;
  let runnerConfig: string;
  let image: string[] = [];

  const provision = (daemon: string, set: string, json: string[] = []) =>
    runCli(['provision', '--runner-config', runnerConfig, '--daemon', daemon, ...image, ...json, ...Array.from({ length: PER_DAEMON }, (_, i) => ['--runner', `${set}-${i}`]).flat()]);

  beforeAll(async () => {
    scratch = await scratchDir();
    runnerConfig = join(scratch.dir, 'config.toml');
    await writeFile(runnerConfig, baseConfig(), { mode: 0o600 });
    // The daemons are created once; each round is then a provision that only writes config.toml, with
    // the daemons' nix named (--image-store-path): no host nix to look at again.
    for (const [daemon, set] of [[daemonA, 'a'], [daemonB, 'b']] as const) {
      const result = await provision(daemon, set, ['--json']);
      expect(result.exitCode, result.stdout + result.stderr).toBe(0);
      image = ['--image-store-path', (result.json as unknown as { daemon: { nix: string } }).daemon.nix];
    }
  });

  afterAll(async () => {
    await removeDaemon(requireEngine(), daemonA);
    await removeDaemon(requireEngine(), daemonB);
    await scratch?.remove();
  });

  it(`${ROUNDS} rounds from a config.toml with no attachment: every attachment of both daemons is there`, async () => {
    const lost: string[] = [];
    const started = Date.now();
    for (let round = 1; round <= ROUNDS; round++) {
      await writeFile(runnerConfig, baseConfig(), { mode: 0o600 });
      const [a, b] = await Promise.all([provision(daemonA, 'a'), provision(daemonB, 'b')]);
      expect(a.exitCode, a.stderr).toBe(0);
      expect(b.exitCode, b.stderr).toBe(0);
      const runners = parseRunnerConfig(await readFile(runnerConfig, 'utf8'), runnerConfig).table.runners as Runner[];
      const missing = [...unattached(runners, 'a', daemonA), ...unattached(runners, 'b', daemonB)];
      if (missing.length > 0) lost.push(`round ${round}: ${missing.length} runners unattached (${missing.slice(0, 3).join(', ')}…)`);
    }
    console.log(`${ROUNDS} parallel rounds in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    expect(lost).toEqual([]);
  }, 900_000);
});
