import type { EngineClient } from '../engine/engine-client.js';
import { UserError, errorMessage } from '../errors.js';
import { nullLogger, type Logger } from '../log.js';
import { LABEL_MANAGED, LABEL_SPEC_HASH, candidateName, daemonVolumes, retiredName } from './daemon-names.js';
import { daemonContainerSpec, daemonSpecHash, type DaemonInputs } from './daemon-spec.js';
import { removeDrainedDaemons, retireDaemon } from './retire-daemon.js';
import { seedStore } from './seed-store.js';
import { waitDaemonReady, type ReadyOptions } from './wait-ready.js';

export type DaemonAction = 'unchanged' | 'started' | 'created' | 'replaced';

export interface DaemonOutcome {
  name: string;
  /** Container id; absent in a dry run that would create one. */
  id?: string;
  image: string;
  nix: string;
  action: DaemonAction;
  seeded: number;
}

export interface ReconcileOptions {
  dryRun?: boolean;
  logger?: Logger;
  ready?: ReadyOptions;
}

/**
 * Makes the container named `daemon` run the wanted spec. A new container is started beside the old
 * one under another name and must answer before it takes the name; if it fails, the old daemon keeps
 * running untouched and the error says why.
 */
export async function reconcileDaemon(
  engine: EngineClient,
  inputs: DaemonInputs & { registration: () => Promise<string> },
  { dryRun = false, logger = nullLogger, ready }: ReconcileOptions = {},
): Promise<DaemonOutcome> {
  const hash = daemonSpecHash(inputs);
  const outcome = (action: DaemonAction, id?: string, seeded = 0): DaemonOutcome => ({
    name: inputs.daemon,
    ...(id ? { id } : {}),
    image: inputs.imageId,
    nix: inputs.nixPath,
    action,
    seeded,
  });
  const current = await engine.inspectContainer(inputs.daemon);
  if (current && current.labels[LABEL_MANAGED] !== 'true') {
    throw new UserError('daemon', `a container named ${inputs.daemon} exists and was not made by nix-runner`, 'remove it, or choose another name with --daemon');
  }
  if (current && current.labels[LABEL_SPEC_HASH] === hash) {
    if (current.running) {
      // Old daemons kept for their running jobs go once those jobs have ended.
      if (!dryRun) await removeDrainedDaemons(engine, inputs.daemon, [current.id], logger);
      return outcome('unchanged', current.id);
    }
    if (dryRun) return outcome('started', current.id);
    await engine.startContainer(current.id);
    await waitDaemonReady(engine, current.id, inputs.nixPath, ready);
    return outcome('started', current.id);
  }
  if (dryRun) return outcome(current ? 'replaced' : 'created', current?.id);

  const volumes = daemonVolumes(inputs.daemon, hash);
  const labels = { [LABEL_MANAGED]: 'true' };
  await engine.ensureVolume(volumes.store, labels);
  await engine.ensureVolume(volumes.db, labels);
  const { copied } = await seedStore(engine, { ...inputs, registration: await inputs.registration(), volumes }, logger);

  const candidate = await startCandidate(engine, inputs, logger, ready);
  if (current) {
    await engine.renameContainer(current.id, retiredName(inputs.daemon, current.id));
    try {
      await engine.renameContainer(candidate, inputs.daemon);
    } catch (error: unknown) {
      await engine.renameContainer(current.id, inputs.daemon);
      await discardCandidate(engine, candidate, volumes.socket);
      throw error;
    }
    await retireDaemon(engine, current, logger);
  } else {
    await engine.renameContainer(candidate, inputs.daemon);
  }
  await removeDrainedDaemons(engine, inputs.daemon, [candidate], logger);
  return outcome(current ? 'replaced' : 'created', candidate, copied.length);
}

async function startCandidate(engine: EngineClient, inputs: DaemonInputs, logger: Logger, ready?: ReadyOptions): Promise<string> {
  const name = candidateName(inputs.daemon);
  const spec = daemonContainerSpec(inputs, name);
  const socket = daemonVolumes(inputs.daemon, daemonSpecHash(inputs)).socket;
  const stale = await engine.inspectContainer(name);
  if (stale) await engine.removeContainer(stale.id);
  await engine.ensureVolume(socket, { [LABEL_MANAGED]: 'true' });
  const started = logger.start(`starting ${name}`);
  const id = await engine.createContainer(spec);
  try {
    await engine.startContainer(id);
    await waitDaemonReady(engine, id, inputs.nixPath, ready);
  } catch (error: unknown) {
    await discardCandidate(engine, id, socket);
    if (error instanceof UserError) throw error;
    throw new UserError('daemon', `the new nix-daemon container did not start: ${errorMessage(error)}`, 'the old daemon keeps running; check the image and its nix store path', {
      cause: error,
    });
  }
  logger.stop(`new nix-daemon answers`, started);
  return id;
}

async function discardCandidate(engine: EngineClient, id: string, socketVolume: string): Promise<void> {
  await engine.removeContainer(id);
  await engine.removeVolume(socketVolume);
}
