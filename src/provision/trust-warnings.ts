import type { ProvisionSettings } from '../config/schema.js';

/**
 * What the trust model cannot hold with these settings, measured with Debian's nix 2.8 (see README,
 * Security model): said on every provision, so that an operator never runs a weaker daemon unknowingly.
 */
export function trustWarnings(settings: Pick<ProvisionSettings, 'sandbox' | 'nixSettings' | 'cache'>): string[] {
  const warnings: string[] = [];
  if (!settings.sandbox) {
    warnings.push(
      'builds run without the sandbox: the build users share write access to /nix/store, and a nix as old as 2.8 ' +
        'lets a builder change another job\'s output (a symlink planted at an output\'s .lock, a fixed-output path held open); ' +
        'use --sandbox where the engine allows it',
    );
  }
  if (!settings.sandbox && settings.cache?.push) {
    warnings.push(
      `cache.push without the sandbox: whatever a builder changes in another job's output (see above) is signed with the fleet's key and uploaded to ${settings.cache.url}, ` +
        'where every host that trusts the key takes it; push only from daemons with --sandbox',
    );
  }
  if (settings.nixSettings['netrc-file'] !== undefined) {
    warnings.push('netrc-file: nix (2.8 at least) copies it into the build directory of every builtin:fetchurl build, where any job can read it');
  }
  return warnings;
}
