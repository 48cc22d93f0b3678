/** A shell in the daemon's store: its store path and the program inside it. */
export interface StoreShell {
  storePath: string;
  /** e.g. bin/busybox (called as `busybox sh -c`) or bin/bash, bin/sh. */
  program: string;
}

/**
 * A derivation that only the daemon can build (its builder lives in the daemon's store) and that
 * records the host name of where it was built. The nonce makes each smoke run build afresh once.
 */
export function smokeExpression(shell: StoreShell, nonce: string): string {
  const command = 'read h < /proc/sys/kernel/hostname; echo built-on-$h > $out';
  const args = shell.program.endsWith('busybox') ? ['sh', '-c', command] : ['-c', command];
  return [
    'derivation {',
    '  name = "nix-runner-smoke";',
    '  system = builtins.currentSystem;',
    `  builder = "\${builtins.storePath ${shell.storePath}}/${shell.program}";`,
    `  nonce = "${nonce}";`,
    `  args = [ ${args.map((arg) => JSON.stringify(arg)).join(' ')} ];`,
    '}',
  ].join('\n');
}
