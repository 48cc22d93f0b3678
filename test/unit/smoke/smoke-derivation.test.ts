import { describe, expect, it } from 'vitest';
import { smokeExpression } from '../../../src/smoke/smoke-derivation.js';

const BUSYBOX = '/nix/store/2pnnszrhiwsvj33al97fp639gjhss6db-busybox-1.36.1';
const BASH = '/nix/store/pvlasshr497hm018y5lgcn126009zj0f-bash-5.2p37';
const COMMAND = 'read h < /proc/sys/kernel/hostname; echo built-on-$h > $out';

describe('smokeExpression', () => {
  it('calls busybox as `busybox sh -c`', () => {
    const expression = smokeExpression({ storePath: BUSYBOX, program: 'bin/busybox' }, 'n1');
    expect(expression).toContain(`  builder = "\${builtins.storePath ${BUSYBOX}}/bin/busybox";`);
    expect(expression).toContain(`  args = [ "sh" "-c" ${JSON.stringify(COMMAND)} ];`);
  });

  it('calls bash or sh as `<shell> -c`', () => {
    const expression = smokeExpression({ storePath: BASH, program: 'bin/bash' }, 'n1');
    expect(expression).toContain(`  builder = "\${builtins.storePath ${BASH}}/bin/bash";`);
    expect(expression).toContain(`  args = [ "-c" ${JSON.stringify(COMMAND)} ];`);
  });

  it('is a whole derivation expression carrying the nonce', () => {
    expect(smokeExpression({ storePath: BASH, program: 'bin/sh' }, 'abc123')).toBe(
      [
        'derivation {',
        '  name = "nix-runner-smoke";',
        '  system = builtins.currentSystem;',
        `  builder = "\${builtins.storePath ${BASH}}/bin/sh";`,
        '  nonce = "abc123";',
        `  args = [ "-c" ${JSON.stringify(COMMAND)} ];`,
        '}',
      ].join('\n'),
    );
  });

  it('gives different nonces different expressions', () => {
    const shell = { storePath: BUSYBOX, program: 'bin/busybox' };
    expect(smokeExpression(shell, 'a')).not.toBe(smokeExpression(shell, 'b'));
  });
});
