import { Command, Option } from 'commander';
import { DEFAULT_DAEMON, DEFAULT_RUNNER_CONFIG } from '../config/schema.js';
import { loadSettings } from '../config/load-settings.js';
import { createLoadProgress, nullProgress } from '../image/load-progress.js';
import { provision, type ProvisionResult } from '../provision/provision.js';
import { runCommand } from './run-command.js';

interface ProvisionFlags {
  config?: string;
  runnerConfig?: string;
  runner: string[];
  daemon?: string;
  imageRef?: string;
  imageArchive?: string;
  imageStorePath?: string;
  imageFlake?: string;
  dockerHost?: string;
  dryRun?: boolean;
  json?: boolean;
  verbose?: boolean;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

export function renderProvision(result: ProvisionResult): string {
  const d = result.daemon;
  const lines = [
    `${result.dryRun ? 'would be ' : ''}${result.changed ? 'changed' : 'unchanged'}: daemon ${d.name} ${d.action}${d.id ? ` (${d.id.slice(0, 12)})` : ''}`,
    `  image   ${result.image.ref} (${result.image.action})`,
    `  nix     ${d.nix ?? 'known once the image is loaded'}`,
    `  runners ${result.runners.join(', ') || '(every docker runner)'} in ${result.runnerConfig.path} (${result.runnerConfig.changed ? 'updated' : 'unchanged'})`,
  ];
  if (result.dryRun && result.runnerConfig.diff) lines.push(result.runnerConfig.diff.trimEnd());
  return `${lines.join('\n')}\n`;
}

export function provisionCommand(): Command {
  return new Command('provision')
    .description(
      'Make the shared-store nix-daemon container run and attach GitLab Runner\'s docker runners to it.\n' +
        'Builds or loads the daemon image, keeps the store in named volumes, and edits config.toml so each job mounts\n' +
        'the store (volumes_from), talks to the daemon (NIX_REMOTE=daemon) and is bootstrapped by pre_build_script.\n' +
        'Changes only what has to change: a second run with the same inputs touches nothing.',
    )
    .option('--config <file>', 'settings file (TOML, or JSON when it ends in .json) with the same settings as these flags; flags win')
    .option('--runner-config <path>', `GitLab Runner's config.toml (default ${DEFAULT_RUNNER_CONFIG})`)
    .option('--runner <name>', 'runner to attach, repeatable (default: every runner whose executor is docker)', collect, [])
    .option('--daemon <name>', `daemon container name, also the prefix of its volumes (default ${DEFAULT_DAEMON})`)
    .addOption(new Option('--image-ref <ref>', 'daemon image already in the engine').conflicts(['imageArchive', 'imageStorePath', 'imageFlake']))
    .addOption(new Option('--image-archive <file>', 'daemon image from a docker-archive file (docker save; gzip too)').conflicts(['imageStorePath', 'imageFlake']))
    .addOption(new Option('--image-store-path <path>', 'daemon image built from the closure of this nix store path (must hold bin/nix-daemon)').conflicts('imageFlake'))
    .option('--image-flake <ref>', 'daemon image from `nix build <ref>` (a dockerTools image or stream script)')
    .option('--docker-host <url>', 'engine address (default: DOCKER_HOST, else unix:///var/run/docker.sock)')
    .option('--dry-run', 'say what would change (with a diff of config.toml) and change nothing in the engine or config.toml\n(a host nix outside /nix/store is still bundled into the store, a cache)')
    .option('--json', 'print one JSON object on stdout: ok, changed, daemon {name,id,image,nix}, runners; on failure ok:false and error {code,message}')
    .option('-v, --verbose', 'log each step and engine call')
    .addHelpText(
      'after',
      '\nWithout an image flag the image is built from the host\'s own nix (bundled into /nix/store first when it lives\n' +
        'outside it, e.g. Debian\'s nix-bin).\n\nExit codes: 0 ok, 2 usage, 3 settings, 4 engine, 5 image, 6 daemon, 7 config.toml, 8 nix, 1 bug.',
    )
    .action(async (flags: ProvisionFlags) => {
      process.exitCode = await runCommand(
        flags,
        async (logger) => {
          const settings = await loadSettings(
            {
              runnerConfig: flags.runnerConfig,
              runners: flags.runner,
              daemon: flags.daemon,
              imageRef: flags.imageRef,
              imageArchive: flags.imageArchive,
              imageStorePath: flags.imageStorePath,
              imageFlake: flags.imageFlake,
              dockerHost: flags.dockerHost,
            },
            flags.config,
          );
          return provision(settings, { dryRun: flags.dryRun ?? false, logger, progress: flags.json ? nullProgress : createLoadProgress() });
        },
        renderProvision,
      );
    });
}
