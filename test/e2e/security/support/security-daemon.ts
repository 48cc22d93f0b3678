import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ensureBusyboxImage } from '../../../../src/smoke/busybox-image.js';
import { findStoreShell } from '../../../../src/smoke/find-store-shell.js';
import { runCli, type CliResult } from '../../support/cli.js';
import { requireEngine } from '../../support/engine.js';
import { copyRunnerFixture } from '../../support/fixtures.js';
import { removeDaemon, scratchDir, uniqueName } from '../../support/scratch.js';
import type { JobTarget } from './attack-job.js';
import { DaemonProbe } from './daemon-probe.js';

export const JOB_IMAGE = 'nix-runner/e2e-busybox:1';
// The fixture's runner without other volumes_from (docker-main also mounts a cache-helper container).
export const RUNNER = 'docker-second';

export interface SecurityDaemon {
  daemon: string;
  dir: string;
  runnerConfig: string;
  /** The `provision --json` that made it. */
  provisioned: CliResult;
  probe: DaemonProbe;
  job: JobTarget;
  /** Runs `nix-runner provision` again for this daemon and config.toml, with more arguments. */
  provision: (...args: string[]) => Promise<CliResult>;
  /** Looks the daemon up again (after a provision replaced it). */
  refresh: () => Promise<void>;
  remove: () => Promise<void>;
}

export interface SecurityDaemonOptions {
  /** More `provision` arguments, e.g. an image source or --sandbox. */
  args?: string[];
  /** Lines of a settings file (`--config`), e.g. a [nixSettings] table. */
  settings?: string[];
}

// Everything provisioned by this test file, removed by removeSecurityDaemons() even when a provision
// never returned (a hook that timed out has no daemon object to remove).
const made = new Map<string, () => Promise<void>>();

/** In each file's afterAll: removes the daemons, volumes and scratch directories this file made. */
export async function removeSecurityDaemons(): Promise<void> {
  for (const [daemon, remove] of made) {
    await remove();
    made.delete(daemon);
  }
}

/** A daemon of its own for a test file, provisioned as an operator would, with the fixture's config.toml. */
export async function provisionSecurityDaemon(prefix: string, { args = [], settings }: SecurityDaemonOptions = {}): Promise<SecurityDaemon> {
  const engine = requireEngine();
  const daemon = uniqueName(prefix);
  const scratch = await scratchDir('nix-runner-security-');
  const runnerConfig = await copyRunnerFixture(scratch.dir);
  await ensureBusyboxImage(engine, { ref: JOB_IMAGE });
  const base = ['provision', '--runner-config', runnerConfig, '--daemon', daemon, '--runner', RUNNER];
  if (settings) {
    const file = join(scratch.dir, 'settings.toml');
    await writeFile(file, `${settings.join('\n')}\n`, { mode: 0o600 });
    base.push('--config', file);
  }
  const provision = (...more: string[]) => runCli([...base, ...args, ...more]);
  const remove = async () => {
    await removeDaemon(engine, daemon);
    await scratch.remove();
    made.delete(daemon);
  };
  made.set(daemon, remove);
  const provisioned = await provision('--json');
  if (provisioned.exitCode !== 0) {
    await remove();
    throw new Error(`provision ${args.join(' ')} failed (exit ${provisioned.exitCode}):\n${provisioned.stdout}\n${provisioned.stderr}`);
  }
  const context: SecurityDaemon = {
    daemon,
    dir: scratch.dir,
    runnerConfig,
    provisioned,
    probe: undefined as unknown as DaemonProbe,
    job: { engine, runnerConfig, runner: RUNNER, image: JOB_IMAGE },
    provision,
    refresh: async () => {
      context.probe = await probeOf(daemon);
    },
    remove,
  };
  await context.refresh();
  return context;
}

async function probeOf(daemon: string): Promise<DaemonProbe> {
  const engine = requireEngine();
  const info = await engine.inspectContainer(daemon);
  if (!info?.running) throw new Error(`daemon ${daemon} is not running`);
  const nix = info.labels['org.nix-runner.nix'];
  if (!nix) throw new Error(`daemon ${daemon} has no org.nix-runner.nix label`);
  const shell = await findStoreShell(engine, info.id, nix);
  if (shell.program !== 'bin/busybox') throw new Error(`the attacks need a busybox in the daemon's nix closure, found ${shell.storePath}/${shell.program}`);
  return new DaemonProbe(engine, daemon, nix, shell.storePath);
}
