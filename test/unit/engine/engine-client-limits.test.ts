import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { EngineClient } from '../../../src/engine/engine-client.js';
import { engineStatus } from '../../../src/engine/engine-failure.js';
import { ExitCode, UserError } from '../../../src/errors.js';
import { emptyEngine, failingEngine, pingOnly, silentEngine, stallingLoad, startFakeEngine, stuckEngine, type FakeEngine, type FakeRoute } from '../../e2e/support/fake-engine.js';

// The engine client against a fake engine on a unix socket, with limits of a fraction of a second.
const LIMITS = { connectMs: 300, callMs: 300 };

let fake: FakeEngine | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

async function connect(route: FakeRoute): Promise<EngineClient> {
  fake = await startFakeEngine(route);
  return EngineClient.connect(fake.dockerHost, undefined, LIMITS);
}

async function failure(promise: Promise<unknown>): Promise<{ error: UserError; ms: number }> {
  const started = Date.now();
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(UserError);
  expect((error as UserError).exitCode).toBe(ExitCode.engine);
  return { error: error as UserError, ms: Date.now() - started };
}

function archive(bytes: number): PassThrough {
  const body = new PassThrough();
  body.end(Buffer.alloc(bytes, 7));
  return body;
}

describe('engine client limits', () => {
  it('connect: an engine that accepts but never answers fails within the connect limit', async () => {
    fake = await startFakeEngine(silentEngine);
    const { error, ms } = await failure(EngineClient.connect(fake.dockerHost, undefined, LIMITS));
    expect(error.message).toBe(`the engine at ${fake.dockerHost} did not answer \`ping\` within 0.3s`);
    expect(error.hint).toMatch(/--engine-connect-timeout/);
    expect(ms).toBeLessThan(2000);
  });

  it('a call the engine never answers fails at the call limit, naming the call, and its request is ended', async () => {
    let closed: Promise<void> | undefined;
    const engine = await connect((req, res) => {
      if (pingOnly(req, res)) return true;
      closed = new Promise((resolve) => req.socket.once('close', () => resolve()));
      return true;
    });
    const { error, ms } = await failure(engine.inspectContainer('nix-daemon'));
    expect(error.message).toBe('the engine did not answer `inspect container nix-daemon` within 0.3s');
    expect(ms).toBeLessThan(2000);
    // the socket is released: a hanging one would keep the CLI from exiting
    await closed;
  });

  it('an answer 500 is an engine error naming the call, with the engine’s message', async () => {
    const engine = await connect(failingEngine);
    const { error } = await failure(engine.createContainer({ name: 'nix-daemon-next', image: 'sha256:0123' }));
    expect(error.message).toBe('the engine failed `create container nix-daemon-next from sha256:0123`: HTTP 500: server error - boom: the fake engine fails every call');
    expect(error.message).not.toMatch(/\n/);
  });

  it('404 still means absent, a stop of a stopped container (304) is fine, and a 409 keeps its status', async () => {
    const engine = await connect((req, res) => {
      if (/\/containers\/stopped\/stop/.test(req.url ?? '')) {
        res.writeHead(304);
        res.end();
        return true;
      }
      if (req.method === 'DELETE' && /\/volumes\/in-use/.test(req.url ?? '')) {
        res.writeHead(409, { 'Content-Type': 'application/json' });
        res.end('{"message":"remove in-use: volume is in use"}');
        return true;
      }
      return false;
    });
    expect(await engine.inspectContainer('absent')).toBeUndefined();
    expect(await engine.inspectImage('absent:1')).toBeUndefined();
    await engine.removeContainer('absent');
    await engine.stopContainer('stopped');
    const { error } = await failure(engine.removeVolume('in-use'));
    expect(engineStatus(error)).toBe(409);
    expect(error.message).toMatch(/`remove volume in-use`: HTTP 409: .*volume is in use/);
  });

  it('an image load that keeps going may take far longer than the limit', async () => {
    const engine = await connect((req, res) => {
      if (!/\/images\/load/.test(req.url ?? '')) return false;
      // 64 KiB every 25 ms: about 2 s for 5 MiB, several times the limit (what socket buffers hold is
      // taken at that pace too, well within the limit)
      let taken = 0;
      req.on('data', (chunk: Buffer) => {
        taken += chunk.length;
        if (taken < 64 * 1024) return;
        taken = 0;
        req.pause();
        setTimeout(() => req.resume(), 25);
      });
      req.on('end', () => {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.write('{"status":"Loading layer","progressDetail":{"current":1,"total":2}}\n');
        setTimeout(() => res.end('{"stream":"Loaded image: fake/slow:1\\n"}\n'), 200);
      });
      return true;
    });
    const started = Date.now();
    expect(await engine.loadImage(archive(5 * 1024 * 1024))).toEqual(['Loaded image: fake/slow:1']);
    expect(Date.now() - started).toBeGreaterThan(3 * LIMITS.callMs);
  });

  it('an image load that stalls fails by the idle limit', async () => {
    const engine = await connect(stallingLoad(64 * 1024));
    const { error, ms } = await failure(engine.loadImage(archive(4 * 1024 * 1024)));
    expect(error.message).toBe('the engine made no progress on `load image` for 0.3s');
    expect(ms).toBeLessThan(3000);
  });

  it('an image the engine refuses is a plain error, for the image code to explain', async () => {
    const engine = await connect((req, res) => {
      if (!/\/images\/load/.test(req.url ?? '')) return false;
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end('{"errorDetail":{"message":"unexpected EOF"},"error":"unexpected EOF"}\n');
      });
      return true;
    });
    const error = await engine.loadImage(archive(1000)).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(UserError);
    expect((error as Error).message).toBe('load image: unexpected EOF');
  });

  it('a wait for a container lasts as long as it runs while the engine answers pings', async () => {
    const engine = await connect((req, res) => {
      if (!/\/containers\/job\/wait/.test(req.url ?? '')) return false;
      setTimeout(() => {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end('{"StatusCode":3}');
      }, 1500);
      return true;
    });
    expect(await engine.waitContainer('job')).toBe(3);
    expect(fake!.requests.filter((request) => request.endsWith('/_ping')).length).toBeGreaterThan(3);
  });

  it('a wait fails once the engine stops answering pings', async () => {
    let waiting = false;
    const engine = await connect((req, res) => {
      if (/\/containers\/job\/wait/.test(req.url ?? '')) return (waiting = true);
      return waiting ? true : false; // from the wait on, nothing is answered, pings included
    });
    const { error, ms } = await failure(engine.waitContainer('job'));
    expect(error.message).toBe('the engine stopped answering during `wait container job` (no ping answered for 0.3s)');
    expect(ms).toBeLessThan(2000);
  });

  it('no engine call leaves the empty engine stuck: the default route answers everything', async () => {
    const engine = await connect(emptyEngine);
    expect(await engine.listContainerIds({ label: ['x'] })).toEqual([]);
    expect(await engine.listVolumeNames('x')).toEqual([]);
    expect(stuckEngine).toBeTypeOf('function');
  });
});
