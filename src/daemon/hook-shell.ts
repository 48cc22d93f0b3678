/**
 * A shell for the post-build hook: a busybox or bash of the nix closure (nixpkgs' nix carries its sandbox
 * shell, a bundled host nix a static busybox), else the image's /bin/sh. Undefined when there is none.
 * `exists` looks in a created (not yet started) daemon container, or in this host's store when the
 * closure came from there.
 */
export async function findHookShell(closure: string[], exists: (path: string) => Promise<boolean>, { imageShell = true } = {}): Promise<string[] | undefined> {
  // Paths named like a shell first: each look-up is an engine call, and a nix closure has dozens of paths.
  const likely = (path: string) => (/busybox|bash|-sh-|runtime/.test(path) ? 0 : 1);
  const paths = [...closure].sort((a, b) => likely(a) - likely(b));
  const candidates: string[][] = [...paths.map((path) => [`${path}/bin/busybox`, 'sh']), ...paths.map((path) => [`${path}/bin/bash`]), ...(imageShell ? [['/bin/sh']] : [])];
  for (const shell of candidates) {
    if (await exists(shell[0]!)) return shell;
  }
  return undefined;
}
