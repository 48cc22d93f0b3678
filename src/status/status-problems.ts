import type { ErrorCode } from '../errors.js';
import type { DaemonStatus } from './daemon-status.js';

/** Something `status --check` finds wrong: what, what to do, and the exit code it maps to. */
export interface Problem {
  daemon: string;
  code: ErrorCode;
  message: string;
  hint: string;
}

function names(items: { name: string }[]): string {
  return items.map((item) => item.name).join(', ');
}

/** What is wrong with one daemon, from its status alone (no engine call). */
export function statusProblems(status: DaemonStatus, staleAfterMs: number): Problem[] {
  const problems: Problem[] = [];
  const add = (code: ErrorCode, message: string, hint: string) => problems.push({ daemon: status.name, code, message, hint });
  const attached = status.runners.length > 0 ? ` (runners ${names(status.runners)} mount it)` : '';

  if (status.state === 'missing') {
    add('daemon', `daemon ${status.name} does not exist${attached}`, 'run `nix-runner provision`');
  } else if (status.state === 'not made by nix-runner') {
    add('daemon', `the container named ${status.name} was not made by nix-runner${attached}`, `rename or remove it (docker rm ${status.name}), then run \`nix-runner provision\``);
  } else if (status.state !== 'running') {
    add('daemon', `daemon ${status.name} is ${status.state}`, 'run `nix-runner provision`: it starts the daemon again');
  } else if (!status.answers) {
    add('daemon', `daemon ${status.name} does not answer through its socket: ${status.answerError ?? 'no answer'}`, `see \`docker logs ${status.name}\`; \`nix-runner provision\` replaces a daemon that fails its check`);
  }
  for (const runner of status.runners) {
    if (runner.nix === undefined) {
      add('runnerConfig', `runner ${runner.name} mounts ${status.name} but has no NIX_RUNNER_BIN in its environment`, 'run `nix-runner provision` to attach it again');
    } else if (runner.nixInStore === false) {
      add('runnerConfig', `runner ${runner.name}'s jobs run nix ${runner.nix}, which the store of ${status.name} does not have`, 'run `nix-runner provision`: it writes the daemon\'s nix into config.toml');
    }
  }
  const leftovers = [...status.leftovers.containers, ...status.leftovers.volumes];
  if (leftovers.length > 0) {
    add('daemon', `${leftovers.length} leftover(s) of killed nix-runner runs: ${names(leftovers)}`, 'run `nix-runner provision` (or deprovision): it removes them first');
  }
  if (status.staleUsers.length > 0) {
    const hours = Math.round((staleAfterMs / 3_600_000) * 10) / 10;
    add(
      'daemon',
      `${status.staleUsers.length} job container(s) stopped for over ${hours}h still mount ${status.name}: ${names(status.staleUsers)}`,
      'GitLab Runner removes build containers when a job ends, so these were left behind: `docker rm` them, then old generations go and gc need not wait',
    );
  }
  return problems;
}
