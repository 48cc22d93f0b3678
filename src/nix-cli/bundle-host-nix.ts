import { chmod, copyFile, mkdir, mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { UserError } from '../errors.js';
import { rootBuildOptions, runNix, type NixTools } from './nix-tool.js';
import { WRAPPERS_NIX } from './wrappers.nix.js';

export interface BundleOptions {
  /** The distro's nix binary, e.g. /usr/bin/nix. */
  nixBinary: string;
  /** A statically linked busybox: the wrappers' shell and the jobs' fallback sh. */
  busybox?: string;
  /** Distinguishes otherwise identical bundles (tests use it to get a second nix store path). */
  variant?: string;
  tools?: NixTools;
}

interface SharedObject {
  name: string;
  path: string;
}

/** Parses `ldd` output: `libfoo.so.1 => /lib/…/libfoo.so.1 (0x…)` and the interpreter `/lib64/ld-linux-….so.2 (0x…)`. */
export function parseLdd(output: string): { libraries: SharedObject[]; interpreter?: string } {
  const libraries: SharedObject[] = [];
  let interpreter: string | undefined;
  for (const line of output.split('\n')) {
    const linked = /^\s*(\S+) => (\/\S+)/.exec(line);
    if (linked) libraries.push({ name: linked[1]!, path: linked[2]! });
    const direct = /^\s*(\/\S*ld-linux\S*)/.exec(line);
    if (direct) interpreter = direct[1];
  }
  return interpreter ? { libraries, interpreter } : { libraries };
}

/**
 * Makes a distro-packaged nix (outside /nix/store) usable inside containers: the binary, its loader and
 * libraries (plus the NSS modules nix dlopens) go into one store path, and wrappers into another.
 * Returns the wrappers' store path, whose bin/ has nix-daemon, nix-store, nix-build, ….
 */
export const DEFAULT_BUSYBOX = '/bin/busybox';

export async function bundleHostNix({ nixBinary, busybox = DEFAULT_BUSYBOX, variant = '', tools = {} }: BundleOptions): Promise<string> {
  const binary = await realpath(nixBinary);
  const { execa } = await import('execa');
  const { libraries, interpreter } = parseLdd(String((await execa('ldd', [binary])).stdout));
  if (!interpreter) throw new UserError('nix', `cannot find the dynamic loader of ${binary} in ldd's output`, 'is it a dynamically linked ELF binary?');
  await assertStatic(busybox);

  const work = await mkdtemp(join(tmpdir(), 'nix-runner-bundle-'));
  try {
    const runtime = join(work, 'nix-runtime');
    await Promise.all(['bin', 'lib', 'libexec'].map((dir) => mkdir(join(runtime, dir), { recursive: true })));
    await copyFile(binary, join(runtime, 'libexec', 'nix'));
    await copyFile(busybox, join(runtime, 'bin', 'busybox'));
    await copyFile(interpreter, join(runtime, 'lib', 'ld.so'));
    const libDir = libraries.find((lib) => lib.name.startsWith('libc.so'))?.path.replace(/\/[^/]+$/, '');
    // nix resolves host names through NSS, which loads these by name at run time (not in ldd's list).
    const nss = libDir ? ['libnss_dns.so.2', 'libnss_files.so.2'].map((name) => ({ name, path: join(libDir, name) })) : [];
    for (const lib of [...libraries, ...nss]) await copyFile(lib.path, join(runtime, 'lib', lib.name)).catch(() => missing(lib));
    await Promise.all(['libexec/nix', 'bin/busybox'].map((file) => chmod(join(runtime, file), 0o555)));

    const runtimePath = await runNix('nix-store', ['--add', runtime], tools);
    const expression = join(work, 'wrappers.nix');
    await writeFile(expression, WRAPPERS_NIX);
    return await runNix(
      'nix-build',
      [
        '--no-out-link', '--quiet', '--option', 'substituters', '', ...rootBuildOptions(), expression,
        '--arg', 'runtime', `builtins.storePath ${runtimePath}`, '--argstr', 'variant', variant,
      ],
      tools,
    );
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

function missing(lib: SharedObject): never {
  throw new UserError('nix', `cannot copy ${lib.path} (needed by the host's nix as ${basename(lib.name)})`, 'is the host nix installation complete?');
}

async function assertStatic(busybox: string): Promise<void> {
  const { execa } = await import('execa');
  const result = await execa('ldd', [busybox], { reject: false });
  const output = `${result.stdout}${result.stderr}`;
  if (/No such file/.test(output) || !/not a dynamic executable|statically linked/.test(output)) {
    throw new UserError('nix', `${busybox} is missing or not statically linked`, 'install a static busybox (Debian: apt-get install busybox-static)');
  }
}
