import Docker from 'dockerode';
import type { EngineClient } from '../../../../src/engine/engine-client.js';
import type { RunResult } from '../../../../src/engine/engine-types.js';

const docker = new Docker();

/** What `docker inspect` (or `docker image inspect`) shows, as JSON text; undefined when there is no such object. */
export async function inspectJson(kind: 'container' | 'image', name: string): Promise<string | undefined> {
  try {
    const info: unknown = kind === 'container' ? await docker.getContainer(name).inspect() : await docker.getImage(name).inspect();
    return JSON.stringify(info, null, 1);
  } catch (error: unknown) {
    if ((error as { statusCode?: number }).statusCode === 404) return undefined;
    throw error;
  }
}

/** Looks into a daemon container as its root would (docker exec): the truth a job must not be able to change. */
export class DaemonProbe {
  constructor(
    readonly engine: EngineClient,
    readonly daemon: string,
    readonly nix: string,
    readonly busybox: string,
  ) {}

  /** Shell code run by the store busybox in the daemon container, as root. */
  sh(script: string): Promise<RunResult> {
    return this.engine.exec(this.daemon, [`${this.busybox}/bin/busybox`, 'sh', '-c', script]);
  }

  nixStore(...args: string[]): Promise<RunResult> {
    return this.engine.exec(this.daemon, [`${this.nix}/bin/nix-store`, ...args]);
  }

  async valid(path: string): Promise<boolean> {
    return (await this.nixStore('--check-validity', path)).exitCode === 0;
  }

  async closure(path = this.nix): Promise<string[]> {
    const result = await this.nixStore('--query', '--requisites', path);
    if (result.exitCode !== 0) throw new Error(`nix-store -qR ${path} in ${this.daemon}: ${result.stderr}`);
    return result.stdout.split('\n').filter(Boolean);
  }

  /** `nix-store --verify-path`: the paths' contents still hash to what the db registered. */
  verify(paths: string[]): Promise<RunResult> {
    return this.nixStore('--verify-path', ...paths);
  }

  /** The processes in the daemon container (it may have no ps: read /proc), this probe's own left out. */
  async processes(): Promise<{ uid: number; pid: number; command: string }[]> {
    const script = [
      'for p in /proc/[0-9]*; do',
      '  [ "${p#/proc/}" = "$$" ] && continue',
      '  u=; while read -r k v rest; do [ "$k" = Uid: ] && u=$v; done < $p/status 2>/dev/null || continue',
      '  c=$(tr "\\0" " " < $p/cmdline 2>/dev/null)',
      '  echo "$u ${p#/proc/} $c"',
      'done',
    ].join('\n');
    const result = await this.sh(script);
    if (result.exitCode !== 0) throw new Error(`listing processes in ${this.daemon}: ${result.stderr}`);
    return result.stdout
      .split('\n')
      .map((line) => /^(\d+) (\d+) ?(.*)$/.exec(line))
      .filter((match): match is RegExpExecArray => match !== null)
      .map((match) => ({ uid: Number(match[1]), pid: Number(match[2]), command: match[3]!.trim() }))
      .filter((p) => !p.command.includes('/proc/[0-9]*'));
  }
}
