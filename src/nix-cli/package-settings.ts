import { access } from 'node:fs/promises';

/**
 * nix.conf settings a nix package needs wherever it runs: nix's default build hook is a path of the nix
 * it was compiled as (Debian's: /usr/libexec/…), so a bundled nix names its own.
 */
export async function nixPackageSettings(nixPath: string): Promise<Record<string, string>> {
  const hook = `${nixPath}/bin/build-remote`;
  return (await access(hook).then(() => true, () => false)) ? { 'build-hook': hook } : {};
}
