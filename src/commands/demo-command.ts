import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Command } from 'commander';
import { engineTimeouts } from '../engine/engine-timeouts.js';
import type { ProvisionResult } from '../provision/provision.js';
import type { SmokeResult } from '../smoke/smoke.js';
import { renderProvision } from './provision-command.js';
import { engineConnectTimeoutOption, engineTimeoutOption, type EngineTimeoutFlags } from './engine-options.js';
import { runCommand } from './run-command.js';
import { renderSmoke } from './smoke-command.js';
import { exitCodesHelp } from './exit-codes-help.js';

const DEMO_CONFIG = `concurrent = 1
check_interval = 0

[[runners]]
  name = "demo"
  url = "https://gitlab.example.com"
  token = "glrt-demo-token"
  executor = "docker"
  [runners.docker]
    image = "nix-runner/smoke-busybox:1"
`;

interface DemoResult {
  ok: true;
  runnerConfig: string;
  provision: ProvisionResult;
  smoke: SmokeResult;
}

/** A demo config.toml in `dir` (left as it is when present), then provision + smoke on it. */
async function demo(dir: string, daemon: string, timeouts: EngineTimeoutFlags, logger: Parameters<Parameters<typeof runCommand>[1]>[0]): Promise<DemoResult> {
  const runnerConfig = join(dir, 'config.toml');
  const [{ loadSettings }, { provision }, { smoke }] = await Promise.all([
    import('../config/load-settings.js'),
    import('../provision/provision.js'),
    import('../smoke/smoke.js'),
  ]);
  // The same validation as provision's flags, before anything is written: a bad --daemon is exit 3.
  const settings = await loadSettings({ runnerConfig, daemon, ...timeouts });
  await mkdir(dir, { recursive: true });
  await writeFile(runnerConfig, DEMO_CONFIG, { flag: 'wx', mode: 0o600 }).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'EEXIST') throw error;
  });
  const provisioned = await provision(settings, { logger });
  return { ok: true, runnerConfig, provision: provisioned, smoke: await smoke({ runnerConfig, timeouts: engineTimeouts(timeouts), logger }) };
}

export function demoCommand(): Command {
  return new Command('demo')
    .description(
      "Try nix-runner on a scratch config.toml: provision a daemon from the host's nix, then run the smoke jobs.\n" +
        'Touches no real GitLab Runner configuration.',
    )
    .option('--dir <dir>', 'where the demo config.toml lives', '/var/tmp/nix-runner-demo')
    .option('--daemon <name>', 'demo daemon container name', 'nix-runner-demo')
    .addOption(engineTimeoutOption())
    .addOption(engineConnectTimeoutOption())
    .option('--json', 'print one JSON object on stdout')
    .option('-v, --verbose', 'log each step')
    .addHelpText('after', exitCodesHelp(['engine', 'image', 'daemon', 'runnerConfig', 'nix', 'smoke']))
    .action(async (flags: { dir: string; daemon: string; json?: boolean; verbose?: boolean } & EngineTimeoutFlags) => {
      process.exitCode = await runCommand(
        flags,
        (logger) => demo(flags.dir, flags.daemon, { engineTimeout: flags.engineTimeout, engineConnectTimeout: flags.engineConnectTimeout }, logger),
        (result) =>
          `${renderProvision(result.provision)}${renderSmoke(result.smoke)}` +
          `demo config: ${result.runnerConfig}\nremove the demo: nix-runner deprovision --runner-config ${result.runnerConfig} --daemon ${flags.daemon} --purge\n`,
      );
    });
}
