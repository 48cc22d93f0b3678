import type Docker from 'dockerode';

export interface EngineAddress {
  /** For messages: unix:///var/run/docker.sock, tcp://host:2375 */
  display: string;
  options: Docker.DockerOptions;
}

const DEFAULT_SOCKET = '/var/run/docker.sock';

// dockerode reads DOCKER_HOST itself only when given no options; resolving it here lets errors name the address.
export function resolveEngineAddress(dockerHost: string | undefined, env: NodeJS.ProcessEnv = process.env): EngineAddress {
  const host = dockerHost ?? env.DOCKER_HOST ?? `unix://${DEFAULT_SOCKET}`;
  if (host.startsWith('unix://')) {
    const socketPath = host.slice('unix://'.length);
    return { display: host, options: { socketPath } };
  }
  if (host.startsWith('/')) return { display: `unix://${host}`, options: { socketPath: host } };
  const url = new URL(host.replace(/^tcp:/, 'http:'));
  return {
    display: host,
    options: { host: url.hostname, port: Number(url.port || 2375), protocol: url.protocol === 'https:' ? 'https' : 'http' },
  };
}
