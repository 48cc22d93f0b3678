import { realpathSync } from 'node:fs';
import { UserError } from '../errors.js';
import { resolveEngineAddress } from '../engine/engine-address.js';

/** Where GitLab Runner's docker executor goes when `[runners.docker] host` is not set (and DOCKER_HOST is not). */
export const GITLAB_RUNNER_DEFAULT_HOST = 'unix:///var/run/docker.sock';

/**
 * Whether two engine addresses reach the same engine: the same socket file once links are followed
 * (/var/run/docker.sock linked to Podman's socket is Podman), or the same host and port.
 */
export function sameEngine(a: string, b: string, realpath: (path: string) => string = realpathOrSelf): boolean {
  const [x, y] = [resolveEngineAddress(a).options, resolveEngineAddress(b).options];
  if (x.socketPath || y.socketPath) return x.socketPath !== undefined && y.socketPath !== undefined && realpath(x.socketPath) === realpath(y.socketPath);
  return x.host === y.host && x.port === y.port && x.protocol === y.protocol;
}

function realpathOrSelf(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path; // no such socket here: compared as written
  }
}

/**
 * The `host` a runner's jobs need so that they reach the daemon's engine (`engineHost`): none when the
 * runner's own host, or GitLab Runner's default, already reaches it; the engine's address when the runner
 * sets none and the default is another engine. A host of the runner's own that names another engine is an
 * error: the daemon would be on one engine and the jobs on another.
 */
export function runnerHost(where: string, host: unknown, engineHost: string, same: typeof sameEngine = sameEngine): string | undefined {
  if (host !== undefined) {
    if (typeof host !== 'string') throw new UserError('runnerConfig', `${where}: [runners.docker] host is not a string`);
    if (same(host, engineHost)) return undefined;
    throw new UserError(
      'runnerConfig',
      `${where}: its jobs' engine, [runners.docker] host = "${host}", is not the engine nix-runner provisions the daemon on (${engineHost})`,
      "the daemon and the jobs must share one engine: point the runner's host at it, remove host (nix-runner then writes it), or give nix-runner the runner's engine (DOCKER_HOST, --docker-host)",
    );
  }
  return same(GITLAB_RUNNER_DEFAULT_HOST, engineHost) ? undefined : engineHost;
}
