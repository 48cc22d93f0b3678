import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { runCommand, type CommandStreams } from '../../../src/commands/run-command.js';
import { UserError } from '../../../src/errors.js';

function captureStreams(): CommandStreams & { out: () => string; err: () => string } {
  const collect = (chunks: string[]) =>
    new Writable({
      write(chunk: Buffer | string, _encoding, callback) {
        chunks.push(String(chunk));
        callback();
      },
    });
  const out: string[] = [];
  const err: string[] = [];
  return { stdout: collect(out), stderr: collect(err), out: () => out.join(''), err: () => err.join('') };
}

const render = (result: { daemon: string }) => `provisioned ${result.daemon}\n`;

describe('runCommand', () => {
  it('prints the result of a check that found problems, then returns its exit code (ok: false, exitCode)', async () => {
    const streams = captureStreams();
    const code = await runCommand({ json: true }, async () => ({ ok: false, exitCode: 6, daemons: [] }), () => '', streams);
    expect(code).toBe(6);
    expect(JSON.parse(streams.out())).toEqual({ ok: false, exitCode: 6, daemons: [] });
    const human = captureStreams();
    expect(await runCommand({}, async () => ({ ok: true, exitCode: 6 }), () => 'fine\n', human)).toBe(0);
  });

  it('prints render(result) on stdout, logs on stderr and returns 0', async () => {
    const streams = captureStreams();
    const code = await runCommand(
      {},
      async (logger) => {
        logger.info('starting');
        logger.debug('hidden without --verbose');
        return { daemon: 'nix-daemon' };
      },
      render,
      streams,
    );
    expect(code).toBe(0);
    expect(streams.out()).toBe('provisioned nix-daemon\n');
    expect(streams.err()).toBe('starting\n');
  });

  it('shows debug lines with --verbose', async () => {
    const streams = captureStreams();
    await runCommand({ verbose: true }, async (logger) => (logger.debug('details'), { daemon: 'd' }), render, streams);
    expect(streams.err()).toBe('debug: details\n');
  });

  it('prints exactly one JSON line with --json and no logs', async () => {
    const streams = captureStreams();
    const code = await runCommand(
      { json: true },
      async (logger) => {
        logger.info('not shown');
        logger.warn('not shown either');
        return { daemon: 'nix-daemon', attached: ['a', 'b'] };
      },
      () => 'not rendered\n',
      streams,
    );
    expect(code).toBe(0);
    expect(streams.out()).toBe('{"daemon":"nix-daemon","attached":["a","b"]}\n');
    expect(streams.err()).toBe('');
  });

  it('turns a UserError into its exit code, one error line and a hint on stderr', async () => {
    const streams = captureStreams();
    const code = await runCommand(
      {},
      () => Promise.reject(new UserError('engine', 'cannot reach the engine at unix:///var/run/docker.sock', 'is docker running?')),
      render,
      streams,
    );
    expect(code).toBe(4);
    expect(streams.out()).toBe('');
    expect(streams.err()).toBe('nix-runner: error: cannot reach the engine at unix:///var/run/docker.sock\n  hint: is docker running?\n');
  });

  it('prints no hint line for a UserError without a hint', async () => {
    const streams = captureStreams();
    expect(await runCommand({}, () => Promise.reject(new UserError('config', 'bad settings')), render, streams)).toBe(3);
    expect(streams.err()).toBe('nix-runner: error: bad settings\n');
  });

  it('reports a UserError as {ok:false,error} on stdout with --json', async () => {
    const streams = captureStreams();
    const code = await runCommand({ json: true }, () => Promise.reject(new UserError('nix', 'nix-build failed', 'run it by hand')), render, streams);
    expect(code).toBe(8);
    expect(streams.out().endsWith('\n')).toBe(true);
    expect(streams.out().trimEnd().split('\n')).toHaveLength(1);
    expect(JSON.parse(streams.out())).toEqual({ ok: false, error: { code: 'nix', exitCode: 8, message: 'nix-build failed', hint: 'run it by hand' } });
    expect(streams.err()).toBe('');
  });

  it('treats any other Error as a bug: exit 1 and its stack on stderr', async () => {
    const streams = captureStreams();
    const bug = new TypeError('cannot read properties of undefined');
    const code = await runCommand({}, () => Promise.reject(bug), render, streams);
    expect(code).toBe(1);
    expect(streams.out()).toBe('');
    expect(streams.err()).toBe(`nix-runner: internal error (a bug, please report it):\n${bug.stack}\n`);
    expect(streams.err()).toMatch(/TypeError: cannot read properties of undefined\n\s+at /);
  });

  it('reports a bug as code "bug" on stdout with --json and still prints the stack on stderr', async () => {
    const streams = captureStreams();
    const bug = new Error('oops');
    expect(await runCommand({ json: true }, () => Promise.reject(bug), render, streams)).toBe(1);
    expect(JSON.parse(streams.out())).toEqual({ ok: false, error: { code: 'bug', exitCode: 1, message: 'oops' } });
    expect(streams.err()).toContain(bug.stack!);
  });

  it('prints a thrown non-Error as its string', async () => {
    const streams = captureStreams();
    expect(await runCommand({}, () => Promise.reject('plain string'), render, streams)).toBe(1);
    expect(streams.err()).toBe('nix-runner: internal error (a bug, please report it):\nplain string\n');
  });

  it('treats a render that throws as a bug too', async () => {
    const streams = captureStreams();
    const code = await runCommand(
      {},
      async () => ({ daemon: 'd' }),
      () => {
        throw new Error('render broke');
      },
      streams,
    );
    expect(code).toBe(1);
    expect(streams.out()).toBe('');
    expect(streams.err()).toContain('Error: render broke');
  });

  describe('never prints a config.toml secret (last resort, whatever quoted it)', () => {
    const TOKEN = 'glrt-LEAKED0123456789';
    const quoting = () => Promise.reject(new UserError('runnerConfig', `config.toml:3:20: bad: token = "${TOKEN}" junk`, `compare with SecretKey = '${TOKEN}'`));

    it('in a UserError on stderr', async () => {
      const streams = captureStreams();
      expect(await runCommand({}, quoting, render, streams)).toBe(7);
      expect(streams.err()).toBe(`nix-runner: error: config.toml:3:20: bad: token = "[redacted]" junk\n  hint: compare with SecretKey = '[redacted]'\n`);
    });

    it('in a UserError with --json', async () => {
      const streams = captureStreams();
      await runCommand({ json: true }, quoting, render, streams);
      expect(streams.out()).not.toContain(TOKEN);
      expect(JSON.parse(streams.out()).error.message).toBe('config.toml:3:20: bad: token = "[redacted]" junk');
    });

    it('in a bug: its message and stack (as a TOML parser quotes the file)', async () => {
      const streams = captureStreams();
      const bug = new Error(`Invalid TOML document\n\n2:  token = "${TOKEN}" junk\n`);
      await runCommand({ json: true }, () => Promise.reject(bug), render, streams);
      expect(streams.out() + streams.err()).not.toContain(TOKEN);
      expect(streams.err()).toContain('2:  token = "[redacted]" junk');
    });

    it('in log lines', async () => {
      const streams = captureStreams();
      await runCommand({ verbose: true }, async (logger) => (logger.info(`token = "${TOKEN}"`), logger.debug(`password = ${TOKEN}`), { daemon: 'd' }), render, streams);
      expect(streams.err()).toBe('token = "[redacted]"\ndebug: password = [redacted]\n');
    });
  });
});
