import { readdir, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { UserError } from '../errors.js';
import { queryClosure, storeSize } from '../nix-cli/closure.js';
import { resolveInstallables } from '../nix-cli/installables.js';
import { runNix } from '../nix-cli/nix-tool.js';
import { LABEL_JOB_IMAGE, LABEL_JOB_IMAGE_ROOTS } from '../names/daemon-names.js';
import { compareBytes, type LayerEntry } from './archive/layer-tar.js';
import { smallImageArchive, type SmallImage } from './archive/small-image.js';

export interface JobImagePlan {
  /** The store paths the image stands for, as given (flake installables built: their outputs). */
  roots: string[];
  /** One store path that references every root: rooting it in the daemon keeps the whole closure. */
  rootsPath: string;
  /** Everything the image's symlinks need, in `nix-store -qR` order: it lives in the daemon's store, not in the image. */
  closure: string[];
  /** What that closure weighs in the store (NAR sizes): what a conventional image of these roots would hold. */
  closureBytes: number;
  entries: LayerEntry[];
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

// Where a root's directories appear in the image: what a job finds at /bin, /etc/ssl, /usr/share/zoneinfo.
const LINKED_DIRS: [inRoot: string, inImage: string][] = [
  ['bin', 'bin'],
  ['sbin', 'sbin'],
  ['etc', 'etc'],
  ['lib', 'lib'],
  ['share', 'usr/share'],
];

// What the image has of its own, where no root gives it: root for the executor's shell, nobody.
const OWN_FILES: Record<string, string> = {
  'etc/group': 'root:x:0:\nnogroup:x:65534:\n',
  'etc/passwd': 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/var/empty:/bin/false\n',
};

/**
 * Where each entry of the image's root points: `<dir>/<name>` → the first root that has `<dir>/<name>`,
 * for the LINKED_DIRS; a directory only one root has, and that gets nothing of the image's own, is one
 * link to that root's (a few bytes, however many entries it holds). A root that is a single executable
 * file becomes `bin/<its name>`.
 */
async function linkTargets(roots: string[]): Promise<Map<string, string>> {
  const links = new Map<string, string>();
  const add = (name: string, target: string) => {
    if (!links.has(name)) links.set(name, target);
  };
  const holders = new Map<string, string[]>();
  for (const root of roots) {
    const info = await stat(root);
    if (info.isFile()) {
      if (info.mode & 0o111) add(`bin/${basename(root).replace(STORE_HASH, '')}`, root);
      continue;
    }
    for (const [inRoot, inImage] of LINKED_DIRS) {
      const names = await entriesOf(join(root, inRoot));
      if (names.length > 0) holders.set(inImage, [...(holders.get(inImage) ?? []), root]);
      for (const name of names) add(`${inImage}/${name}`, `${root}/${inRoot}/${name}`);
    }
  }
  // a busybox-only closure still gives the executor its /bin/sh
  if (!links.has('bin/sh') && links.has('bin/busybox')) links.set('bin/sh', links.get('bin/busybox')!);
  // scripts start with #!/usr/bin/env
  if (links.has('bin/env')) links.set('usr/bin/env', links.get('bin/env')!);
  for (const [inRoot, inImage] of LINKED_DIRS) {
    const [only, ...others] = holders.get(inImage) ?? [];
    const entries = [...links.keys()].filter((name) => name.startsWith(`${inImage}/`));
    const own = Object.keys(OWN_FILES).some((name) => name.startsWith(`${inImage}/`) && !links.has(name));
    const theirs = entries.every((name) => links.get(name) === `${only}/${inRoot}/${name.slice(inImage.length + 1)}`);
    if (!only || others.length > 0 || own || !theirs) continue;
    for (const name of entries) links.delete(name);
    links.set(inImage, `${only}/${inRoot}`);
  }
  return links;
}

/** The hash part of a store path's name: <32 characters>- */
const STORE_HASH = /^[0-9a-df-np-sv-z]{32}-/;

/**
 * The root filesystem of a job image: /bin, /sbin, /etc, /lib and /usr/share with a symlink to each
 * entry of the roots' bin, sbin, etc, lib and share (the first root that has a name wins), /usr/bin/env,
 * /etc/passwd and /etc/group with root and nobody unless a root gives them, /root, /tmp. No store
 * content: every symlink points into the daemon's store, which every job of an attached runner mounts.
 */
export async function planJobImage(roots: string[]): Promise<JobImagePlan> {
  if (roots.length === 0) throw new UserError('usage', 'name at least one store path or installable', 'e.g. nix-runner image job /nix/store/…-bash /nix/store/…-coreutils --tag ci/base:1 --load');
  const entries = await jobImageEntries(roots);
  const rootsPath = await rootsReference(roots);
  const closure = await queryClosure([rootsPath]);
  return { roots, rootsPath, closure, closureBytes: await storeSize(closure), entries };
}

/** The entries of a job image's one layer, byte-ordered: see planJobImage. */
export async function jobImageEntries(roots: string[]): Promise<LayerEntry[]> {
  const links = await linkTargets(roots);
  const files = Object.entries(OWN_FILES).filter(([name]) => !links.has(name));
  const dirs = new Set([...links.keys(), ...files.map(([name]) => name)].flatMap(parentDirs));
  const entries: LayerEntry[] = [
    ...[...dirs, 'root', 'tmp'].map((name): LayerEntry => ({ type: 'directory', name, mode: name === 'tmp' ? 0o1777 : name === 'root' ? 0o700 : 0o755 })),
    ...[...links].map(([name, target]): LayerEntry => ({ type: 'symlink', name, target })),
    ...files.map(([name, content]): LayerEntry => ({ type: 'file', name, mode: 0o644, content })),
  ];
  return entries.sort((a, b) => compareBytes(a.name, b.name));
}

/** a/b/c → a, a/b */
function parentDirs(name: string): string[] {
  const parts = name.split('/').slice(0, -1);
  return parts.map((_, index) => parts.slice(0, index + 1).join('/'));
}

/**
 * The plans of several job images: every installable of every image resolved at once (one `nix build`
 * of what must be built, in nix's dependency order), then each image's root.
 */
export async function planJobImages<T extends { paths: string[] }>(images: T[]): Promise<(T & { plan: JobImagePlan })[]> {
  const resolved = await resolveInstallables(images.flatMap((image) => image.paths));
  const planned: (T & { plan: JobImagePlan })[] = [];
  for (const image of images) {
    const roots = [...new Set(image.paths.flatMap((path) => resolved.get(path)!))];
    planned.push({ ...image, plan: await planJobImage(roots) });
  }
  return planned;
}

/** The image: deterministic bytes (the same roots give the same image id), tagged `tag`, a few KB. */
export function jobImageArchive(plan: JobImagePlan, tag: string): Promise<SmallImage & { tag: string }> {
  return smallImageArchive(
    plan.entries,
    { labels: { [LABEL_JOB_IMAGE]: plan.rootsPath, [LABEL_JOB_IMAGE_ROOTS]: plan.roots.join(' ') }, env: ['PATH=/bin:/sbin:/usr/bin'], cmd: ['/bin/sh'], history: `nix-runner: job image of ${plan.roots.join(' ')}` },
    () => tag,
  );
}
