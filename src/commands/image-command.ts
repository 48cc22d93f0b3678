import { Command, Option } from 'commander';
import { engineTimeouts } from '../engine/engine-timeouts.js';
import { UserError } from '../errors.js';
import type { BuildResult, BuildSource } from '../image/build-image.js';
import type { JobImageResult } from '../image/build-job-image.js';
import { DEFAULT_DAEMON } from '../config/defaults.js';
import { createLoadProgress, formatBytes, nullProgress } from '../image/load-progress.js';
import { engineConnectTimeoutOption, engineTimeoutOption, type EngineTimeoutFlags } from './engine-options.js';
import { runCommand } from './run-command.js';
import { exitCodesHelp } from './exit-codes-help.js';

interface BuildFlags extends EngineTimeoutFlags {
  storePath?: string;
  hostNix?: boolean;
  flake?: string;
  output?: string;
  load?: boolean;
  maxLayers?: string;
  dockerHost?: string;
  json?: boolean;
  verbose?: boolean;
}

export function renderBuild(result: BuildResult): string {
  const what = result.action === 'written' ? `wrote ${result.file}` : result.action === 'present' ? `${result.ref} is in the engine already, nothing sent` : `loaded ${result.ref}`;
  const lines = [`${what}${result.id ? ` (${result.id.slice(7, 19)})` : ''}`];
  if (result.nixPath) lines.push(`  nix     ${result.nixPath}`);
  if (result.action === 'loaded' && result.layersTotal !== undefined) {
    lines.push(`  layers  ${result.layersSent} of ${result.layersTotal} sent (${result.mode === 'incremental' ? 'the others were in the engine' : 'all of them'}), ${formatBytes(result.bytesSent ?? 0)}`);
  }
  if (result.fallback) lines.push(`  note    the engine refused a partial archive (${result.fallback}); every layer was sent`);
  if (result.action === 'written' && result.bytesSent !== undefined) lines.push(`  size    ${formatBytes(result.bytesSent)}, ${result.layersTotal} layers`);
  return `${lines.join('\n')}\n`;
}

function source(flags: BuildFlags): BuildSource {
  if (flags.storePath) return { kind: 'store-path', path: flags.storePath };
  if (flags.flake) return { kind: 'flake', ref: flags.flake };
  return { kind: 'host-nix' };
}

function maxLayers(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (!Number.isInteger(number) || number < 2) throw new UserError('usage', `--max-layers must be an integer of at least 2, not ${value}`, 'the default, 100, suits docker and podman');
  return number;
}

function buildCommand(): Command {
  return new Command('build')
    .description(
      'Build the nix-daemon image provision uses: one layer per store path of the closure (the tail merged past ' +
        '--max-layers), plus a small layer with /etc, /tmp and the nix db registration. The same closure always gives ' +
        'the same bytes and image id. --load streams it into the engine and leaves out the layers the engine has.',
    )
    .addOption(new Option('--store-path <path>', 'the closure of this nix store path (it must hold bin/nix-daemon)').conflicts(['hostNix', 'flake']))
    .addOption(new Option('--host-nix', "the host's own nix, bundled into /nix/store when it lives outside it (default)").conflicts('flake'))
    .option('--flake <ref>', '`nix build <ref>`: a dockerTools streamLayeredImage script or an image tarball')
    .addOption(new Option('-o, --output <file>', 'write a docker-archive file (docker load -i FILE reads it)').conflicts('load'))
    .option('--load', 'stream the image into the engine (no temporary file)')
    .option('--max-layers <n>', 'layers at most, the small one included (default 100)')
    .option('--docker-host <url>', 'engine address (default: DOCKER_HOST, else unix:///var/run/docker.sock)')
    .addOption(engineTimeoutOption())
    .addOption(engineConnectTimeoutOption())
    .option('--json', 'print one JSON object on stdout: ok, ref, id, nixPath, action, layersSent, layersTotal, bytesSent, mode')
    .option('-v, --verbose', 'log each step and engine call')
    .addHelpText('after', exitCodesHelp(['engine', 'image', 'nix']))
    .exitOverride()
    .action(async (flags: BuildFlags) => {
      const progress = flags.json ? nullProgress : createLoadProgress();
      process.exitCode = await runCommand(
        flags,
        async (logger) => {
          const { buildImage, buildTarget } = await import('../image/build-image.js');
          return buildImage(source(flags), buildTarget(flags.output, flags.load, flags.dockerHost, engineTimeouts(flags)), { maxLayers: maxLayers(flags.maxLayers), logger, progress });
        },
        renderBuild,
      );
    });
}

interface JobFlags extends EngineTimeoutFlags {
  tag: string;
  output?: string;
  load?: boolean;
  daemon: string;
  dockerHost?: string;
  json?: boolean;
  verbose?: boolean;
}

export function renderJobImage(result: JobImageResult): string {
  const what =
    result.action === 'written' ? `wrote ${result.file}` : result.action === 'present' ? `${result.ref} is in the engine already` : result.action === 'tagged' ? `tagged ${result.ref} (the engine had this content)` : `loaded ${result.ref}`;
  const lines = [`${what} (${result.id.slice(7, 19)}): ${formatBytes(result.imageBytes)} of image for ${result.closurePaths} store paths (${formatBytes(result.closureBytes)}) in the shared store`];
  if (result.delivered) lines.push(`  store   ${result.delivered.paths > 0 ? `${result.delivered.paths} paths sent to ${result.daemon} (${formatBytes(result.delivered.bytes)})` : `${result.daemon} had every path`}, rooted as ${result.profile}`);
  return `${lines.join('\n')}\n`;
}

function jobCommand(): Command {
  return new Command('job')
    .description(
      'A job image whose only content is a small root (bin/ as symlinks into the given store paths, /etc, /tmp): its\n' +
        'closure lives in the shared store every attached job mounts. --load loads it (a few KB) and sends the closure\n' +
        "paths the daemon's store lacks into it, rooted there so that no GC removes them. The same paths give the same image id.",
    )
    .argument('<paths...>', 'store paths (or paths inside one), or flake installables that nix build makes one of')
    .requiredOption('--tag <ref>', 'the image reference, e.g. ci/base:1')
    .addOption(new Option('-o, --output <file>', 'write a docker-archive file').conflicts('load'))
    .option('--load', "load it into the engine, and put its closure into the daemon's store")
    .option('--daemon <name>', 'the daemon whose store holds the closure (--load)', DEFAULT_DAEMON)
    .option('--docker-host <url>', 'engine address (default: DOCKER_HOST, else unix:///var/run/docker.sock)')
    .addOption(engineTimeoutOption())
    .addOption(engineConnectTimeoutOption())
    .option('--json', 'print one JSON object on stdout: ok, ref, id, action, previous, imageBytes, roots, closurePaths, closureBytes,\ndelivered, profile, dropped, removedImages')
    .option('-v, --verbose', 'log each step and engine call')
    .addHelpText('after', exitCodesHelp(['engine', 'image', 'daemon', 'nix']))
    .exitOverride()
    .action(async (paths: string[], flags: JobFlags) => {
      process.exitCode = await runCommand(
        flags,
        async (logger) => {
          const { buildJobImage } = await import('../image/build-job-image.js');
          return buildJobImage(paths, { tag: flags.tag, ...(flags.output ? { output: flags.output } : {}), load: flags.load ?? false, daemon: flags.daemon, ...(flags.dockerHost ? { dockerHost: flags.dockerHost } : {}), timeouts: engineTimeouts(flags), logger });
        },
        renderJobImage,
      );
    });
}

export function imageCommand(): Command {
  return new Command('image').description('Images: the daemon image provision uses (build), and job images whose content is in the shared store (job).').addCommand(buildCommand()).addCommand(jobCommand());
}
