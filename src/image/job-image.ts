import { readdir, realpath } from 'node:fs/promises';
import { join } from 'node:path';
import { UserError } from '../errors.js';
import { queryClosure } from '../nix-cli/closure.js';
import { runNix } from '../nix-cli/nix-tool.js';
import { storePathOf } from '../nix-cli/store-path.js';
import { LABEL_JOB_IMAGE } from '../names/daemon-names.js';
import type { LayerEntry } from './archive/layer-tar.js';
import { smallImageArchive, type SmallImage } from './archive/small-image.js';

// nix ≥ 2.4 keeps `nix build` behind these flags; later versions accept them as they are.
const FEATURES = ['--extra-experimental-features', 'nix-command flakes'];

export interface JobImagePlan {
  /** The store paths the image stands for, as given (flake installables built). */
  roots: string[];
  /** One store path that references every root: rooting it in the daemon keeps the whole closure. */
  rootsPath: string;
  /** Everything the image's symlinks need, in `nix-store -qR` order: it lives in the daemon's store, not in the image. */
  closure: string[];
  entries: LayerEntry[];
}

/** A store path (or a path inside one), else a flake installable that `nix build` makes one of. */
async function resolveRoot(installable: string): Promise<string> {
  const inStore = storePathOf(installable.startsWith('/') ? await realpath(installable).catch(() => installable) : installable);
  if (inStore) return inStore;
  const out = await runNix('nix', ['build', installable, '--no-link', '--print-out-paths', ...FEATURES]);
  const first = out.split('\n').find(Boolean);
  if (!first) throw new UserError('nix', `nix build ${installable} printed no store path`, 'give a store path or an installable that builds a package');
  return first;
}

/** One store path whose references are the roots (builtins.toFile keeps a string's store paths as references). */
async function rootsReference(roots: string[]): Promise<string> {
  const context = roots.map((root) => `\${builtins.storePath "${root}"}`).join('\n');
  const out = await runNix('nix-instantiate', ['--eval', '--read-write-mode', '--json', '--expr', `builtins.toFile "nix-runner-job-image-roots" ''\n${context}\n''`]);
  return JSON.parse(out) as string;
}

async function entriesOf(dir: string): Promise<string[]> {
  return (await readdir(dir).catch(() => [])).sort();
}

/**
 * The root filesystem of a job image: /bin with a symlink to each command of the roots' bin/ (the first
 * root that has a name wins), /etc with root and nobody, /tmp. No store content: every symlink points
 * into the daemon's store, which every job of an attached runner mounts.
 */
export async function planJobImage(installables: string[]): Promise<JobImagePlan> {
  if (installables.length === 0) throw new UserError('usage', 'name at least one store path or installable', 'e.g. nix-runner image job /nix/store/…-bash /nix/store/…-coreutils --tag ci/base:1 --load');
  const roots: string[] = [];
  for (const installable of installables) {
    const root = await resolveRoot(installable);
    if (!roots.includes(root)) roots.push(root);
  }
  const links = new Map<string, string>();
  for (const root of roots) for (const name of await entriesOf(join(root, 'bin'))) if (!links.has(name)) links.set(name, `${root}/bin/${name}`);
  // a busybox-only closure still gives the executor its /bin/sh
  if (!links.has('sh') && links.has('busybox')) links.set('sh', links.get('busybox')!);
  const rootsPath = await rootsReference(roots);
  const entries: LayerEntry[] = [
    { type: 'directory', name: 'bin', mode: 0o755 },
    ...[...links.keys()].sort().map((name): LayerEntry => ({ type: 'symlink', name: `bin/${name}`, target: links.get(name)! })),
    { type: 'directory', name: 'etc', mode: 0o755 },
    { type: 'file', name: 'etc/group', mode: 0o644, content: 'root:x:0:\nnogroup:x:65534:\n' },
    { type: 'file', name: 'etc/passwd', mode: 0o644, content: 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/var/empty:/bin/false\n' },
    { type: 'directory', name: 'root', mode: 0o700 },
    { type: 'directory', name: 'tmp', mode: 0o1777 },
  ];
  return { roots, rootsPath, closure: await queryClosure([rootsPath]), entries };
}

/** The image: deterministic bytes (the same roots give the same image id), tagged `tag`, a few KB. */
export function jobImageArchive(plan: JobImagePlan, tag: string): Promise<SmallImage & { tag: string }> {
  return smallImageArchive(
    plan.entries,
    { labels: { [LABEL_JOB_IMAGE]: plan.rootsPath }, env: ['PATH=/bin'], cmd: ['/bin/sh'], history: `nix-runner: job image of ${plan.roots.join(' ')}` },
    () => tag,
  );
}
