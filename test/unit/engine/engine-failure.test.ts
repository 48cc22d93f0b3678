import { describe, expect, it } from 'vitest';
import { engineFailure, engineRefused, engineStatus } from '../../../src/engine/engine-failure.js';
import { engineTimeouts } from '../../../src/engine/engine-timeouts.js';
import { CallTimeout } from '../../../src/engine/timed-call.js';
import { ExitCode, UserError } from '../../../src/errors.js';

const context = { address: 'unix:///run/docker.sock', limitSetting: '--engine-timeout' };

/** An error as dockerode's modem makes it of an engine answer. */
function httpError(statusCode: number, message: string): Error {
  return Object.assign(new Error(`(HTTP code ${statusCode}) ${statusCode === 500 ? 'server error' : 'unexpected'} - ${message} `), { statusCode, json: { message } });
}

function asUserError(error: unknown): UserError {
  expect(error).toBeInstanceOf(UserError);
  return error as UserError;
}

describe('engineFailure', () => {
  it('words a call past its answer limit, naming the call and the setting', () => {
    const error = asUserError(engineFailure('create container nix-daemon-next', new CallTimeout({ kind: 'answer', ms: 60_000 }), context));
    expect(error.exitCode).toBe(ExitCode.engine);
    expect(error.message).toBe('the engine did not answer `create container nix-daemon-next` within 60s');
    expect(error.hint).toMatch(/unix:\/\/\/run\/docker\.sock .*--engine-timeout sets the limit/);
  });

  it('words an idle load and a wait whose engine stopped answering', () => {
    expect(asUserError(engineFailure('load image', new CallTimeout({ kind: 'idle', ms: 2500 }), context)).message).toBe('the engine made no progress on `load image` for 2.5s');
    const alive = new CallTimeout({ kind: 'alive', ms: 60_000, probe: () => Promise.resolve() });
    expect(asUserError(engineFailure('wait container abc', alive, context)).message).toBe('the engine stopped answering during `wait container abc` (no ping answered for 60s)');
  });

  it('words an engine answer 500 on one line, keeping the engine’s own message and the status', () => {
    const cause = httpError(500, 'boom\nwith a second line');
    const error = asUserError(engineFailure('start container abc', cause, context));
    expect(error.message).toBe('the engine failed `start container abc`: HTTP 500: server error - boom');
    expect(error.hint).toMatch(/docker info/);
    expect(error.cause).toBe(cause);
    expect(engineStatus(error)).toBe(500);
  });

  it('keeps a 409 readable for callers that rely on it', () => {
    const error = asUserError(engineFailure('remove volume v', httpError(409, 'volume is in use'), context));
    expect(engineStatus(error)).toBe(409);
    expect(error.message).toMatch(/HTTP 409: unexpected - volume is in use$/);
    expect(error.hint).toMatch(/refused/);
  });

  it('tells a refusal (4xx: about the request) from a failing engine', () => {
    expect(engineRefused(engineFailure('start container x', httpError(400, 'OCI runtime create failed'), context))).toBe(true);
    expect(engineRefused(engineFailure('start container x', httpError(500, 'boom'), context))).toBe(false);
    expect(engineRefused(engineFailure('x', new CallTimeout({ kind: 'answer', ms: 1 }), context))).toBe(false);
  });

  it('names the code of a lost connection', () => {
    const lost = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    expect(asUserError(engineFailure('list containers', lost, context)).message).toBe('the engine failed `list containers`: socket hang up (ECONNRESET)');
    const refused = Object.assign(new Error('connect ECONNREFUSED /run/docker.sock'), { code: 'ECONNREFUSED' });
    expect(asUserError(engineFailure('list containers', refused, context)).message).toBe('the engine failed `list containers`: connect ECONNREFUSED /run/docker.sock');
  });

  it('leaves bugs (a TypeError) and errors already worded as they are', () => {
    const bug = new TypeError("Cannot read properties of undefined (reading 'Running')");
    expect(engineFailure('inspect container x', bug, context)).toBe(bug);
    const worded = new UserError('daemon', 'the new nix-daemon container stopped');
    expect(engineFailure('x', worded, context)).toBe(worded);
  });
});

describe('engineTimeouts', () => {
  it('defaults to 60 s per call and 10 s to connect', () => {
    expect(engineTimeouts()).toEqual({ callMs: 60_000, connectMs: 10_000 });
  });

  it('connects within the call limit when that is shorter, unless told otherwise', () => {
    expect(engineTimeouts({ engineTimeout: 2 })).toEqual({ callMs: 2000, connectMs: 2000 });
    expect(engineTimeouts({ engineTimeout: 2, engineConnectTimeout: 30 })).toEqual({ callMs: 2000, connectMs: 30_000 });
    expect(engineTimeouts({ engineTimeout: 300 })).toEqual({ callMs: 300_000, connectMs: 10_000 });
    expect(engineTimeouts({ engineTimeout: 0.5 })).toEqual({ callMs: 500, connectMs: 500 });
  });
});
