import { NIX_CONF_DIR } from './nix-conf.js';
import { BUILDS_PROFILE, ROOTS_DIR } from '../names/daemon-names.js';

/** The uploader the post-build hook starts after each build (and provision after each start). */
export const PUSH_SCRIPT = `${NIX_CONF_DIR}/cache-push`;
/** The newest builds-profile generation already uploaded: in the roots volume, so it outlives daemon generations. */
export const PUSH_STATE = `${ROOTS_DIR}/push-state`;
// The uploader's files live in the root-only NIX_CONF_DIR, never in /tmp: without the sandbox a builder
// (a build user) shares the daemon's /tmp, and could plant a pid that stops uploads or a symlink that
// root's uploader would write through.
const PUSH_LOCK = `${NIX_CONF_DIR}/push.pid`;
// Set by a build while an upload round runs: one more round then, so that its outputs are not left waiting.
const PUSH_AGAIN = `${NIX_CONF_DIR}/push.again`;
export const PUSH_LOG = `${NIX_CONF_DIR}/push.log`;

/** A shell command line that starts the uploader in the background: the caller (a build's hook) never waits for it. */
export function startPushCommand(): string {
  return `${PUSH_SCRIPT} </dev/null >>${PUSH_LOG} 2>&1 &`;
}

/**
 * Uploads the outputs of the builds not uploaded yet, oldest first, with their closures (`nix copy`:
 * what is already in the cache is skipped), and records how far it got. One at a time (a pid file); a
 * build that finishes meanwhile asks it for one more round. On a failure (the cache down) the round
 * stops, and the next build or provision tries again: nothing is lost, builds never wait. Shell built-ins and nix only: the daemon's only shell may be a minimal busybox.
 */
export function pushScript(shell: string[], nixPath: string, url: string): string {
  const generations = `${NIX_CONF_DIR}/push.generations`;
  return [
    `#!${shell.join(' ')}`,
    'set -f',
    // Another uploader runs (its pid is alive): it is asked to go round once more, for this build's outputs.
    // (busybox's kill -0 "" succeeds: an empty pid file means no uploader)
    `pid=; read pid 2>/dev/null < ${PUSH_LOCK}`,
    `if [ -n "$pid" ] && [ "$pid" != $$ ] && kill -0 "$pid" 2>/dev/null; then echo 1 > ${PUSH_AGAIN}; exit 0; fi`,
    `echo $$ > ${PUSH_LOCK}`,
    'while :; do',
    `  echo 0 > ${PUSH_AGAIN}`,
    '  pushed=0',
    `  read pushed 2>/dev/null < ${PUSH_STATE}`,
    `  ${nixPath}/bin/nix-env --profile ${BUILDS_PROFILE} --list-generations > ${generations} || break`,
    '  while read generation rest; do',
    '    [ "$generation" -gt "$pushed" ] 2>/dev/null || continue',
    `    link=${BUILDS_PROFILE}-$generation-link`,
    // a generation dropped by retention has nothing left to upload; a failure (the cache down) stops the round
    // One attempt per round: nix 2.8 retries a refused upload without its body again, and the request then
    // hangs (measured against an HTTP cache answering 503); the next round is the retry.
    `    if [ -e "$link" ]; then ${nixPath}/bin/nix --extra-experimental-features nix-command copy --option download-attempts 1 --option connect-timeout 5 --to '${url}' "$link" || break; fi`,
    '    pushed=$generation',
    `    echo "$pushed" > ${PUSH_STATE}`,
    `  done < ${generations}`,
    `  again=0; read again 2>/dev/null < ${PUSH_AGAIN}`,
    '  [ "$again" = 1 ] || break',
    'done',
    `echo > ${PUSH_LOCK}`,
    '',
  ].join('\n');
}
