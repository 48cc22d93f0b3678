import { pipeline } from 'node:stream/promises';
import { errorMessage } from '../errors.js';
import { attachContainer } from './attach-container.js';
import { createContainer, removeContainer, start } from './containers.js';
import { collectMultiplexed } from './demux.js';
import type { EngineCore } from './engine-core.js';
import { destroy, onAbort } from './engine-streams.js';
import type { ContainerSpec, RunResult } from './engine-types.js';

// Commands run in containers: an exec, a created container run with input, a one-shot helper.

/** A command's whole stdin: written at once, or streamed (a store import) until the stream ends. */
export type ExecInput = string | Buffer | NodeJS.ReadableStream;

/**
 * Starting the command is held to the call limit; its run (a gc may take hours) only to the engine
 * answering. `input`, if given, is the command's whole stdin; a stream that fails ends the exec.
 */
export async function exec(core: EngineCore, id: string, cmd: string[], env: string[] = [], input?: ExecInput): Promise<RunResult> {
  const withInput = input !== undefined;
  return core.call(
    `exec in ${id.slice(0, 12)}: ${cmd.join(' ')}`,
    async (watch) => {
      const exec = await core.docker.getContainer(id).exec({ Cmd: cmd, Env: env, AttachStdin: withInput, AttachStdout: true, AttachStderr: true });
      const stream = (await exec.start({ hijack: true, stdin: withInput })) as NodeJS.ReadWriteStream & { end(data?: unknown): void };
      onAbort(watch.signal, () => destroy(stream));
      watch.progress();
      const collected = collectMultiplexed(core.docker.modem, stream);
      // written whole (or streamed), then the write side closed: the command reads its end of input
      // a command that exits before reading all its input ends the feed: its exit code says why
      const fed = input === undefined ? Promise.resolve(undefined) : feed(stream, input).then(() => undefined, (error: unknown) => error);
      const output = await collected.finally(() => destroy(stream));
      const feedError = await fed;
      // ExitCode is only set once the output stream has ended.
      const { ExitCode } = await exec.inspect();
      if (ExitCode === 0 && feedError !== undefined) throw feedError;
      return { exitCode: ExitCode ?? -1, ...output };
    },
    core.alive(),
  );
}

/** Writes `input` into an exec's stdin and closes it; a failing input stream fails the exec's connection too. */
async function feed(stream: NodeJS.ReadWriteStream & { end(data?: unknown): void }, input: ExecInput): Promise<void> {
  if (typeof input === 'string' || Buffer.isBuffer(input)) {
    stream.end(input);
    return;
  }
  try {
    await pipeline(input, stream as unknown as NodeJS.WritableStream, { end: true });
  } catch (error: unknown) {
    destroy(stream);
    throw error;
  }
}

/**
 * Starts a created container with stdin attached, writes `input` and closes it, waits for the exit.
 * This is how GitLab Runner feeds a job script to its build container; a container can be run again.
 */
export async function runWithInput(core: EngineCore, id: string, input: string | Buffer): Promise<RunResult> {
  return core.call(
    `run ${id.slice(0, 12)} with input`,
    async (watch) => {
      const container = core.docker.getContainer(id);
      const stream = await attachContainer(core.docker, core.address.options, id, true, watch.signal);
      onAbort(watch.signal, () => destroy(stream));
      try {
        const output = collectMultiplexed(core.docker.modem, stream);
        output.catch(() => {}); // awaited below, once the container runs
        await start(core, id);
        stream.end(input);
        watch.progress(); // it runs: as long as the job's script does
        const [result, exited] = await Promise.all([output, container.wait()]);
        return { exitCode: Number(exited.StatusCode), ...result };
      } finally {
        // A hijacked connection is not released by the engine closing its end; left open it keeps node alive.
        destroy(stream);
      }
    },
    core.alive(),
  );
}

/**
 * Creates, runs to completion and removes a one-shot container. On Docker the engine removes it itself once
 * it exits (AutoRemove), so a killed nix-runner leaves no finished helper behind: output comes through an
 * attach and the exit code through a wait registered before the start, as `docker run --rm` does. On
 * Podman (engine-variant.ts) it is removed here after its exit.
 */
export async function runOnce(core: EngineCore, spec: ContainerSpec, input?: string | Buffer): Promise<RunResult> {
  const autoRemove = core.variant.reportsExitOfRemoved;
  const id = await createContainer(core, { ...spec, autoRemove, stdinOnce: input !== undefined });
  try {
    return await core.call(`run ${id.slice(0, 12)} once`, async (watch) => {
      const withInput = input !== undefined;
      const stream = await attachContainer(core.docker, core.address.options, id, withInput, watch.signal);
      onAbort(watch.signal, () => destroy(stream));
      try {
        const output = collectMultiplexed(core.docker.modem, stream);
        const { exited } = await waitRegistered(core, id, autoRemove ? 'removed' : 'next-exit');
        await start(core, id);
        watch.progress(); // it runs: as long as its command does, a big closure takes a while
        if (withInput) stream.end(input);
        const [result, exitCode] = await Promise.all([output, exited]);
        return { exitCode, ...result };
      } finally {
        destroy(stream);
      }
    }, core.alive());
  } finally {
    // Already gone (404) or being removed by the engine (409): either way it goes.
    await removeContainer(core, id).catch((error: unknown) => core.logger.debug(`engine: ${id.slice(0, 12)} is being removed: ${errorMessage(error)}`));
  }
}

/**
 * Registers a wait for the container's exit, and its removal with AutoRemove (only then are the volumes
 * it mounted free to be removed); resolves once the engine has registered it (it sends
 * the response header first), with a promise of the exit code (boxed: a promise resolved with a promise
 * would wait for it). No exit is missed, even with AutoRemove.
 */
export function waitRegistered(core: EngineCore, id: string, condition: 'removed' | 'next-exit'): Promise<{ exited: Promise<number> }> {
  return new Promise((resolve, reject) => {
    core.docker.modem.dial(
      { path: `/containers/${id}/wait?`, method: 'POST', options: { condition }, isStream: true, statusCodes: { 200: true, 404: 'no such container', 500: 'server error' } },
      (error: unknown, response: unknown) => {
        if (error) return reject(error instanceof Error ? error : new Error(String(error)));
        const body = response as NodeJS.ReadableStream;
        resolve({
          exited: new Promise<number>((done, fail) => {
            const chunks: Buffer[] = [];
            body.on('data', (chunk: Buffer) => chunks.push(chunk));
            body.on('error', fail);
            body.on('end', () => {
              try {
                const result = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { StatusCode?: number; Error?: { Message?: string } | null };
                if (result.Error?.Message) fail(new Error(result.Error.Message));
                else done(Number(result.StatusCode ?? -1));
              } catch (parseError: unknown) {
                fail(parseError);
              }
            });
          }),
        });
      },
    );
  });
}
