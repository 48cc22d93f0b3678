import { NIX_CONF_DIR } from './nix-conf.js';
import { BUILDS_PROFILE, ROOTS_DIR } from '../names/daemon-names.js';

/** The uploader the post-build hook starts after each build (and provision after each start). */
export const PUSH_SCRIPT = `${NIX_CONF_DIR}/cache-push`;
/** The newest builds-profile generation already uploaded: in the roots volume, so it outlives daemon generations. */
export const PUSH_STATE = `${ROOTS_DIR}/push-state`;
const PUSH_LOCK = '/tmp/nix-runner-push.pid';
export const PUSH_LOG = '/tmp/nix-runner-push.log';

/** A shell command line that starts the uploader in the background: the caller (a build's hook) never waits for it. */
export function startPushCommand(): string {
  return `${PUSH_SCRIPT} </dev/null >>${PUSH_LOG} 2>&1 &`;
}

/**
 * Uploads the outputs of the builds not uploaded yet, oldest first, with their closures (`nix copy`:
 * what is already in the cache is skipped), and records how far it got. One at a time (a pid file);
 * on a failure (the cache down) it stops, and the next build or provision starts it again: nothing is
 * lost, builds never wait. Shell built-ins and nix only: the daemon's only shell may be a minimal busybox.
 */
export function pushScript(shell: string[], nixPath: string, url: string): string {
  const generations = '/tmp/nix-runner-push.generations';
  return [
    `#!${shell.join(' ')}`,
    'set -f',
    `if read pid < ${PUSH_LOCK} 2>/dev/null && [ "$pid" != $$ ] && kill -0 "$pid" 2>/dev/null; then exit 0; fi`,
    `echo $$ > ${PUSH_LOCK}`,
    'pushed=0',
    `read pushed < ${PUSH_STATE} 2>/dev/null`,
    `${nixPath}/bin/nix-env --profile ${BUILDS_PROFILE} --list-generations > ${generations} || exit 1`,
    'while read generation rest; do',
    '  [ "$generation" -gt "$pushed" ] 2>/dev/null || continue',
    `  link=${BUILDS_PROFILE}-$generation-link`,
    // a generation dropped by retention has nothing left to upload
    `  if [ -e "$link" ]; then ${nixPath}/bin/nix --extra-experimental-features nix-command copy --to '${url}' "$link" || exit 1; fi`,
    '  pushed=$generation',
    `  echo "$pushed" > ${PUSH_STATE}`,
    `done < ${generations}`,
    '',
  ].join('\n');
}
