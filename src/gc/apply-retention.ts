import { BUILDS_PROFILE, DAEMON_PROFILE, LABEL_DAEMON, LABEL_NIX } from '../names/daemon-names.js';
import type { EngineClient } from '../engine/engine-client.js';
import { UserError } from '../errors.js';
import type { Logger } from '../log.js';
import { registrationRecords } from '../nix-cli/closure.js';
import { dropRootGenerations, readRootGenerations } from './daemon-roots.js';
import { rootsToDrop, type RetentionPolicy } from './retention.js';

/**
 * Drops the roots the operator's policy no longer keeps: build outputs by age and total size, and the
 * nix of daemon generations that no longer exist. What they held is then garbage for the next GC.
 */
export async function applyRetention(engine: EngineClient, daemon: { id: string; name: string; nixPath: string }, policy: RetentionPolicy, logger: Logger): Promise<number> {
  const generations = await readRootGenerations(engine, daemon.id);
  const liveNix = new Set<string>();
  for (const id of await engine.listContainerIds({ label: [`${LABEL_DAEMON}=${daemon.name}`] })) {
    const nix = (await engine.inspectContainer(id))?.labels[LABEL_NIX];
    if (nix) liveNix.add(nix);
  }
  const daemonRoots = generations.filter((g) => g.profile === 'daemon');
  const newestDaemonRoot = Math.max(...daemonRoots.map((g) => g.number));
  const oldNix = daemonRoots.filter((g) => !liveNix.has(g.target) && g.number !== newestDaemonRoot);

  const builds = generations.filter((g) => g.profile === 'builds');
  const records = policy.maxSizeBytes === undefined || builds.length === 0 ? new Map() : await closureRecords(engine, daemon, builds.map((g) => g.target));
  const oldBuilds = rootsToDrop(builds, records, policy, Date.now());

  await dropRootGenerations(engine, daemon.id, daemon.nixPath, DAEMON_PROFILE, oldNix.map((g) => g.number));
  await dropRootGenerations(engine, daemon.id, daemon.nixPath, BUILDS_PROFILE, oldBuilds.map((g) => g.number));
  const dropped = oldNix.length + oldBuilds.length;
  if (dropped > 0) logger.info(`dropped ${oldBuilds.length} build root(s) and ${oldNix.length} root(s) of old daemon nix`);
  return dropped;
}

async function closureRecords(engine: EngineClient, daemon: { id: string; name: string; nixPath: string }, paths: string[]) {
  const nixStore = `${daemon.nixPath}/bin/nix-store`;
  // Roots whose path is gone (deleted by hand) would fail the query: ask only for valid ones.
  const valid = await engine.exec(daemon.id, [nixStore, '--check-validity', '--print-invalid', ...paths]);
  const invalid = new Set(valid.stdout.split('\n').filter(Boolean));
  const closure = await engine.exec(daemon.id, [nixStore, '--query', '--requisites', ...paths.filter((path) => !invalid.has(path))]);
  const dump = closure.exitCode === 0 ? await engine.exec(daemon.id, [nixStore, '--dump-db', ...closure.stdout.split('\n').filter(Boolean)]) : closure;
  if (dump.exitCode !== 0) throw new UserError('daemon', `cannot size the build roots of ${daemon.name}: ${dump.stderr.trim().split('\n').at(-1) ?? ''}`, `check the daemon: docker logs ${daemon.name}`);
  return registrationRecords(`${dump.stdout}\n`);
}
