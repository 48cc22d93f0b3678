import { readFile, realpath } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleHostNix } from '../../../src/nix-cli/bundle-host-nix.js';
import { findOnPath } from '../../../src/nix-cli/host-nix.js';
import { parseRunnerConfig, runnerName, runnerTables } from '../../../src/runner-config/toml/document.js';
import { isTable } from '../../../src/runner-config/toml/toml-values.js';
import { runCli } from '../support/cli.js';
import { requireEngine, skipE2E } from '../support/engine.js';
import { copyRunnerFixture } from '../support/fixtures.js';
import { removeDaemon, scratchDir, uniqueName } from '../support/scratch.js';

const CLI = fileURLToPath(new URL('../../../dist/cli.js', import.meta.url));
const KILLS = Number(process.env.NIX_RUNNER_KILLS ?? 12);

// kill -9 at random moments of provision (a cold one on empty volumes, then a swap to another image that
// needs seeding), again and again; then a normal run must leave everything as if none had been killed.
describe.skipIf(skipE2E)('provision killed with SIGKILL at random moments', () => {
  const daemon = uniqueName('e2e-kill');
  let scratch: Awaited<ReturnType<typeof scratchDir>>;
  let runnerConfig: string;
  let nixA: string;
  let nixB: string;
  const log: string[] = [];
  const removed: string[] = [];

  const args = (nix: string) => ['provision', '--runner-config', runnerConfig, '--daemon', daemon, '--runner', 'docker-second', '--image-store-path', nix, '--json'];

  let lastOutput = '';

  /** Runs provision and kills it after `delayMs`; whether it was killed, or how it ended. */
  async function provisionKilledAfter(nix: string, delayMs: number): Promise<'killed' | number> {
    const child = execa('node', [CLI, ...args(nix)], { reject: false });
    const timer = setTimeout(() => child.kill('SIGKILL'), delayMs);
    const result = await child;
    clearTimeout(timer);
    if (result.signal === 'SIGKILL') return 'killed';
    noteLeftovers(String(result.stdout));
    // a run that failed says why in the assertion's message
    lastOutput = `${String(result.stdout)} ${String(result.stderr)}`.trim();
    return result.exitCode ?? -1;
  }

  /** Counts what runs removed as leftovers of killed ones (proof that cleanup had work to do). */
  function noteLeftovers(stdout: string): void {
    try {
      removed.push(...((JSON.parse(stdout) as { leftovers?: string[] }).leftovers ?? []));
    } catch {
      // not JSON: the test's assertions on the exit code say what went wrong
    }
  }

  async function expectConfigIntact(): Promise<void> {
    const text = await readFile(runnerConfig, 'utf8');
    const runners = runnerTables(parseRunnerConfig(text, runnerConfig).table);
    expect(runners.map(runnerName)).toEqual(['docker-main', 'docker-second', 'shell-runner']);
  }

  async function nixRunnerThings() {
    const engine = requireEngine();
    const containers = await engine.listContainers({ label: [`org.nix-runner.daemon=${daemon}`] });
    const named = await Promise.all([daemon, `${daemon}-next`].map((name) => engine.inspectContainer(name)));
    const volumes = await engine.listVolumes(`${daemon}-`);
    return { containers, named: named.filter((c) => c !== undefined), volumes };
  }

  beforeAll(async () => {
    scratch = await scratchDir();
    runnerConfig = await copyRunnerFixture(scratch.dir);
    const nixBinary = await realpath((await findOnPath('nix-store'))!);
    nixA = await bundleHostNix({ nixBinary, variant: 'e2e-kill-a' });
    nixB = await bundleHostNix({ nixBinary, variant: 'e2e-kill-b' });
  });

  afterAll(async () => {
    console.log(`kill -9 injection: ${log.join('; ')}`);
    console.log(`leftovers of killed runs removed by later runs (${removed.length}): ${removed.join(', ')}`);
    await removeDaemon(requireEngine(), daemon);
    await scratch?.remove();
  });

  async function purge(): Promise<void> {
    const result = await runCli(['deprovision', '--runner-config', runnerConfig, '--daemon', daemon, '--purge', '--json']);
    expect(result.exitCode, result.stdout + result.stderr).toBe(0);
    noteLeftovers(result.stdout);
    const left = await nixRunnerThings();
    expect([...left.containers, ...left.named, ...left.volumes]).toEqual([]);
  }

  it(`leaves config.toml intact and no leftovers after ${KILLS} kills and one normal run`, async () => {
    // How long each run takes undisturbed on this machine now: kills land anywhere in it, from argument
    // parsing to the swap (a run that gets through before its kill is fine too).
    const took: Record<string, number> = {};
    for (const [key, nix] of [['A', nixA], ['B', nixB]] as const) {
      const started = Date.now();
      expect(await provisionKilledAfter(nix, 600_000)).toBe(0);
      took[key] = Date.now() - started;
    }
    log.push(`undisturbed: cold A ${took.A} ms, swap to B ${took.B} ms`);
    await purge();

    let kills = 0;
    for (let round = 0; kills < KILLS && round < 40; round++) {
      if (round > 0) {
        // Each round starts cold: a purge right after killed runs must itself be clean.
        await purge();
      }
      for (const nix of [nixA, nixB]) {
        // Killed at random until one run gets through (at most 3 kills, then a run that is not killed).
        for (let attempt = 0; ; attempt++) {
          const key = nix === nixA ? 'A' : 'B';
          const delay = attempt < 3 ? Math.round(100 + Math.random() * (took[key]! - 100)) : 600_000;
          const started = Date.now();
          const outcome = await provisionKilledAfter(nix, delay);
          // Runs get faster once caches are warm: kills keep landing inside the fastest run seen.
          if (outcome === 0) took[key] = Math.max(200, Math.min(took[key]!, Date.now() - started));
          log.push(`${nix === nixA ? 'A' : 'B'}@${delay < 600_000 ? `${delay}ms` : 'no kill'}:${outcome}`);
          await expectConfigIntact();
          if (outcome === 'killed') {
            kills++;
            continue;
          }
          expect(outcome, `${log.at(-1)}: ${lastOutput}`).toBe(0);
          break;
        }
      }
    }
    expect(kills).toBeGreaterThanOrEqual(KILLS);

    const normal = await runCli(args(nixB));
    expect(normal.exitCode, normal.stdout + normal.stderr).toBe(0);
    noteLeftovers(normal.stdout);
    await expectConfigIntact();
    const text = await readFile(runnerConfig, 'utf8');
    const second = runnerTables(parseRunnerConfig(text, runnerConfig).table).find((runner) => runnerName(runner) === 'docker-second')!;
    expect(isTable(second.docker) && second.docker.volumes_from).toContain(`${daemon}:ro`);
    expect(text).toContain(`NIX_RUNNER_BIN=${nixB}/bin`);

    const { containers, named, volumes } = await nixRunnerThings();
    expect(containers.map((c) => `${c.name} ${c.labels['org.nix-runner.role']}`)).toEqual([`${daemon} daemon`]);
    expect(named.map((c) => c.name)).toEqual([daemon]);
    const current = named[0]!;
    const ownVolumes = ['store', 'db', 'roots', `socket-${current.labels['org.nix-runner.generation']}`].map((kind) => `${daemon}-${kind}`).sort();
    expect(volumes.map((v) => v.name).sort()).toEqual(ownVolumes);
    // No helper of any nix-runner run that is gone, for this daemon or for none.
    const helpers = await requireEngine().listContainers({ label: ['org.nix-runner.role=helper'] });
    expect(helpers.filter((c) => c.labels['org.nix-runner.daemon'] === daemon)).toEqual([]);

    await purge();
  }, 1_200_000);
});
