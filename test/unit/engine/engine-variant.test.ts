import { describe, expect, it } from 'vitest';
import { EngineClient } from '../../../src/engine/engine-client.js';
import { engineRefused } from '../../../src/engine/engine-failure.js';
import { engineKindOf } from '../../../src/engine/engine-kind.js';
import { engineVariant } from '../../../src/engine/engine-variant.js';
import { emptyEngine, startFakeEngine } from '../../e2e/support/fake-engine.js';

describe('engine kind', () => {
  it('is podman when the ping names libpod, docker otherwise', () => {
    expect(engineKindOf({ 'libpod-api-version': '4.3.1', server: 'Libpod/4.3.1 (linux)' })).toBe('podman');
    expect(engineKindOf({ server: 'Libpod/5.0.0 (linux)' })).toBe('podman');
    expect(engineKindOf({ server: 'Docker/20.10.24+dfsg1 (linux)', 'api-version': '1.41' })).toBe('docker');
    expect(engineKindOf({})).toBe('docker');
  });

  it('comes from the ping alone: an engine that answers only ping is told apart', async () => {
    const podman = await startFakeEngine((req, res) => {
      if (!/\/_ping$/.test(req.url ?? '')) return false;
      res.writeHead(200, { 'Libpod-Api-Version': '4.3.1', Server: 'Libpod/4.3.1 (linux)' });
      res.end('OK');
      return true;
    });
    const docker = await startFakeEngine(emptyEngine);
    try {
      expect((await EngineClient.connect(podman.dockerHost)).kind).toBe('podman');
      expect((await EngineClient.connect(docker.dockerHost)).kind).toBe('docker');
      expect(podman.requests).toEqual(['GET /_ping']);
    } finally {
      await Promise.all([podman.close(), docker.close()]);
    }
  });
});

describe('engine variants', () => {
  it('unmasks /proc and /sys with unmask=ALL only on podman (docker refuses it)', () => {
    expect(engineVariant('docker').unmaskedSystemPaths(['seccomp=unconfined'])).toEqual({ MaskedPaths: [], ReadonlyPaths: [] });
    expect(engineVariant('podman').unmaskedSystemPaths(['seccomp=unconfined'])).toEqual({ MaskedPaths: [], ReadonlyPaths: [], SecurityOpt: ['seccomp=unconfined', 'unmask=ALL'] });
  });

  it("maps podman's 500 for a missing command to a refusal, as docker's 400; other 500s stay", () => {
    const missing = Object.assign(new Error('(HTTP code 500) server error - OCI runtime attempted to invoke a command that was not found'), { statusCode: 500 });
    const broken = Object.assign(new Error('(HTTP code 500) server error - boom'), { statusCode: 500 });
    expect(engineRefused(engineVariant('podman').startFailure(missing))).toBe(true);
    expect(engineRefused(engineVariant('podman').startFailure(broken))).toBe(false);
    expect(engineVariant('docker').startFailure(missing)).toBe(missing);
  });

  it('leaves out layers the engine has only where the engine takes a partial archive', () => {
    expect(engineVariant('docker').loadsPartialArchives).toBe(true);
    expect(engineVariant('podman').loadsPartialArchives).toBe(false);
  });
});

describe('engine failure hints', () => {
  it("name the engine's own commands", async () => {
    const { engineFailure } = await import('../../../src/engine/engine-failure.js');
    const { UserError } = await import('../../../src/errors.js');
    const failed = Object.assign(new Error('(HTTP code 500) server error - boom'), { statusCode: 500 });
    const hint = (kind?: 'docker' | 'podman') => (engineFailure('start container', failed, { address: 'unix:///x.sock', limitSetting: '--engine-timeout', ...(kind ? { kind } : {}) }) as InstanceType<typeof UserError>).hint;
    expect(hint('podman')).toBe('check the engine at unix:///x.sock: `podman info` and its log (journalctl -u podman)');
    expect(hint()).toBe('check the engine at unix:///x.sock: `docker info` and its log (journalctl -u docker)');
  });
});
