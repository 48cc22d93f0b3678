import { Command, Option } from 'commander';
import { DEFAULT_DAEMON, DEFAULT_PIDS_LIMIT, DEFAULT_RUNNER_CONFIG } from '../config/defaults.js';
import { UserError } from '../errors.js';
import type { ProvisionResult } from '../provision/provision.js';
import type { ProvisionSettingsInput } from '../config/schema.js';
import { engineConnectTimeoutOption, engineTimeoutOption, type EngineTimeoutFlags } from './engine-options.js';
import { runCommand } from './run-command.js';
import { exitCodesHelp } from './exit-codes-help.js';

interface ProvisionFlags extends EngineTimeoutFlags {
  config?: string;
  runnerConfig?: string;
  runner: string[];
  daemon?: string;
  imageRef?: string;
  imageArchive?: string;
  imageStorePath?: string;
  imageFlake?: string;
  dockerHost?: string;
  sandbox?: boolean;
  pidsLimit?: string;
  memoryLimit?: string;
  nixSetting: string[];
  cacheUrl?: string;
  cachePublicKey: string[];
  cacheSecretKeyFile?: string;
  cacheCredentialsFile?: string;
  cachePush?: boolean;
  jobImage: string[];
  dryRun?: boolean;
  json?: boolean;
  verbose?: boolean;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** The --cache-* flags that were given, as the settings file's `cache` (undefined: none given). */
function cacheFlags(flags: ProvisionFlags): Record<string, unknown> | undefined {
  const cache = {
    ...(flags.cacheUrl !== undefined ? { url: flags.cacheUrl } : {}),
    ...(flags.cachePublicKey.length > 0 ? { publicKeys: flags.cachePublicKey } : {}),
    ...(flags.cacheSecretKeyFile !== undefined ? { secretKeyFile: flags.cacheSecretKeyFile } : {}),
    ...(flags.cacheCredentialsFile !== undefined ? { credentialsFile: flags.cacheCredentialsFile } : {}),
    ...(flags.cachePush ? { push: true } : {}),
  };
  return Object.keys(cache).length > 0 ? cache : undefined;
}

/** `name=value` flags → nix.conf settings; a value with spaces is a list, as in nix.conf itself. */
function parseNixSettingFlags(flags: string[]): Record<string, string> {
  return Object.fromEntries(
    flags.map((flag) => {
      const eq = flag.indexOf('=');
      if (eq <= 0) throw new UserError('usage', `--nix-setting ${flag}: expected name=value`, 'e.g. --nix-setting max-jobs=4');
      return [flag.slice(0, eq).trim(), flag.slice(eq + 1).trim()];
    }),
  );
}

/** `TAG=PATH[,PATH…]` flags → jobImages (a tag has no `=`; the paths are store paths or installables). */
function parseJobImageFlags(flags: string[]): { tag: string; paths: string[] }[] {
  return flags.map((flag) => {
    const eq = flag.indexOf('=');
    const paths = flag.slice(eq + 1).split(',').map((path) => path.trim()).filter(Boolean);
    if (eq <= 0 || paths.length === 0) throw new UserError('usage', `--job-image ${flag}: expected TAG=PATH[,PATH…]`, 'e.g. --job-image ci/base:1=/nix/store/…-bash,/nix/store/…-coreutils');
    return { tag: flag.slice(0, eq).trim(), paths };
  });
}

function formatBytes(bytes: number): string {
  const gib = bytes / 1024 ** 3;
  if (bytes < 1024 ** 2) return `${Math.round(bytes / 1024)} KiB`;
  return gib >= 1 ? `${Number(gib.toFixed(1))} GiB` : `${Math.round(bytes / 1024 ** 2)} MiB`;
}

export function renderProvision(result: ProvisionResult): string {
  const d = result.daemon;
  const lines = [
    `${result.dryRun ? 'would be ' : ''}${result.changed ? 'changed' : 'unchanged'}: daemon ${d.name} ${d.action}${d.id ? ` (${d.id.slice(0, 12)})` : ''}`,
    `  image   ${result.image.ref} (${result.image.action})`,
    `  nix     ${d.nix ?? 'known once the image is loaded'}`,
    ...(d.delivered ? [`  store   ${d.delivered.paths > 0 ? `${d.delivered.paths} store paths sent from this host (${formatBytes(d.delivered.bytes)})` : 'nothing sent: the store volume holds all of this nix'}`] : []),
    ...(d.repaired ? [`  repair  restored ${d.repaired.join(' ')}`] : []),
    `  builds  as build users${d.sandbox ? ', in the sandbox' : ''}; at most ${d.limits.pids} processes, ${formatBytes(d.limits.memoryBytes)} memory${d.rootsBuilds === false ? '; NOT rooted (no shell in the daemon): a job\'s GC can remove them' : ''}`,
    ...(d.reason ? [`  why     ${d.reason}`] : []),
    `  runners ${result.runners.join(', ') || '(every docker runner)'} in ${result.runnerConfig.path} (${result.runnerConfig.changed ? 'updated' : 'unchanged'})`,
    ...(result.jobImages
      ? [
          `  images  ${result.jobImages.images.map((job) => `${job.tag} (${job.action}${job.delivered.paths > 0 ? `, ${job.delivered.paths} store paths sent` : ''})`).join(', ') || 'no job images'}${jobImagesTidied(result.jobImages)}`,
        ]
      : []),
  ];
  if (result.leftovers.length > 0) lines.push(`  removed leftovers of killed runs: ${result.leftovers.join(', ')}`);
  if (result.dryRun && result.runnerConfig.diff) lines.push(result.runnerConfig.diff.trimEnd());
  return `${lines.join('\n')}\n`;
}

function jobImagesTidied({ released, dropped, removedImages }: NonNullable<ProvisionResult['jobImages']>): string {
  const parts = [
    ...(released.length > 0 ? [`released ${released.join(', ')}`] : []),
    ...(dropped > 0 ? [`${dropped} older roots dropped`] : []),
    ...(removedImages.length > 0 ? [`${removedImages.length} unused images removed`] : []),
  ];
  return parts.length > 0 ? `; ${parts.join('; ')}` : '';
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
    .addOption(new Option('--image-store-path <path>', 'the daemon runs this nix store path (must hold bin/nix-daemon) on the base image; its closure paths the store\nvolume lacks are copied in from this host').conflicts('imageFlake'))
    .option('--image-flake <ref>', 'daemon image from `nix build <ref>` (a dockerTools image or stream script)')
    .option('--sandbox', "run builds in nix's sandbox: builders see only their inputs; grants the daemon container\nCAP_SYS_ADMIN and unconfined seccomp, AppArmor and system paths (see README, Security model)")
    .option('--pids-limit <n>', `at most this many processes in the daemon container, builds included (default ${DEFAULT_PIDS_LIMIT})`)
    .option('--memory-limit <size>', "memory of the daemon container, builds included, e.g. 8g (default: half the host's memory)")
    .option('--nix-setting <name=value>', 'a nix.conf setting of the daemon, repeatable (over the settings file\'s nixSettings); e.g. max-jobs=4', collect, [])
    .option('--cache-url <url>', 'a binary cache shared by a fleet of hosts: https://…, s3://bucket?…, file:///dir; the daemon substitutes from it')
    .option('--cache-public-key <name:key>', "a key whose signatures the daemon trusts, repeatable (nix-store --generate-binary-cache-key's .pub)", collect, [])
    .option('--cache-secret-key-file <file>', 'signs what this daemon builds; the daemon gets a root-only copy (outside /nix/store)')
    .option('--cache-credentials-file <file>', 'AWS credentials for an s3:// cache; the daemon gets a root-only copy')
    .option('--cache-push', 'upload each path this daemon builds to the cache, signed (needs --cache-secret-key-file)')
    .option(
      '--job-image <tag=paths>',
      "a job image whose content is in the shared store, repeatable: TAG=PATH[,PATH…] (store paths or installables);\nthe list replaces the settings file's jobImages (see README, Job images)",
      collect,
      [],
    )
    .option('--docker-host <url>', 'engine address (default: DOCKER_HOST, else unix:///var/run/docker.sock)')
    .addOption(engineTimeoutOption())
    .addOption(engineConnectTimeoutOption())
    .option('--dry-run', 'say what would change (with a diff of config.toml) and change nothing in the engine or config.toml\n(a host nix outside /nix/store is still bundled into the store, a cache)')
    .option('--json', 'print one JSON object on stdout: ok, changed, daemon {name,id,image,nix}, runners; on failure ok:false and error {code,message}')
    .option('-v, --verbose', 'log each step and engine call')
    .addHelpText(
      'after',
      "\nWithout an image flag the daemon runs the host's own nix (bundled into /nix/store first when it lives outside it,\n" +
        "e.g. Debian's nix-bin) on nix-runner's small base image, as --image-store-path does: only the store paths the store\n" +
        `volume lacks are copied into it.\n${exitCodesHelp(['config', 'engine', 'image', 'daemon', 'runnerConfig', 'nix'])}`,
    )
    .action(async (flags: ProvisionFlags) => {
      process.exitCode = await runCommand(
        flags,
        async (logger) => {
          // Loaded when the command runs: --help and the other commands do not pay for them.
          const [{ loadSettings }, { provision }, { createLoadProgress, nullProgress }] = await Promise.all([
            import('../config/load-settings.js'),
            import('../provision/provision.js'),
            import('../image/load-progress.js'),
          ]);
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
              engineTimeout: flags.engineTimeout,
              engineConnectTimeout: flags.engineConnectTimeout,
              sandbox: flags.sandbox,
              pidsLimit: flags.pidsLimit === undefined ? undefined : Number(flags.pidsLimit),
              memoryLimit: flags.memoryLimit,
              nixSettings: flags.nixSetting.length > 0 ? parseNixSettingFlags(flags.nixSetting) : undefined,
              cache: cacheFlags(flags) as ProvisionSettingsInput['cache'],
              jobImages: flags.jobImage.length > 0 ? parseJobImageFlags(flags.jobImage) : undefined,
            },
            flags.config,
          );
          return provision(settings, { dryRun: flags.dryRun ?? false, logger, progress: flags.json ? nullProgress : createLoadProgress() });
        },
        renderProvision,
      );
    });
}
