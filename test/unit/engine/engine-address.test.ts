import { describe, expect, it } from 'vitest';
import { resolveEngineAddress } from '../../../src/engine/engine-address.js';

describe('resolveEngineAddress', () => {
  it('takes a unix:// address as a socket path', () => {
    expect(resolveEngineAddress('unix:///run/user/1000/docker.sock', {})).toEqual({
      display: 'unix:///run/user/1000/docker.sock',
      options: { socketPath: '/run/user/1000/docker.sock' },
    });
  });

  it('takes a bare absolute path as a socket path and displays it as unix://', () => {
    expect(resolveEngineAddress('/var/run/podman.sock', {})).toEqual({
      display: 'unix:///var/run/podman.sock',
      options: { socketPath: '/var/run/podman.sock' },
    });
  });

  it('takes tcp://host:port as http to that host and port', () => {
    expect(resolveEngineAddress('tcp://10.0.0.5:2376', {})).toEqual({
      display: 'tcp://10.0.0.5:2376',
      options: { host: '10.0.0.5', port: 2376, protocol: 'http' },
    });
  });

  it('defaults a tcp port to 2375', () => {
    expect(resolveEngineAddress('tcp://docker.example', {}).options).toEqual({ host: 'docker.example', port: 2375, protocol: 'http' });
  });

  it('keeps https as https', () => {
    expect(resolveEngineAddress('https://docker.example:2376', {}).options).toEqual({ host: 'docker.example', port: 2376, protocol: 'https' });
  });

  it('reads DOCKER_HOST when no address is given', () => {
    expect(resolveEngineAddress(undefined, { DOCKER_HOST: 'tcp://engine:2375' }).display).toBe('tcp://engine:2375');
  });

  it('prefers the given address over DOCKER_HOST', () => {
    expect(resolveEngineAddress('unix:///a.sock', { DOCKER_HOST: 'tcp://engine:2375' }).options).toEqual({ socketPath: '/a.sock' });
  });

  it('falls back to the local socket', () => {
    expect(resolveEngineAddress(undefined, {})).toEqual({
      display: 'unix:///var/run/docker.sock',
      options: { socketPath: '/var/run/docker.sock' },
    });
  });
});
