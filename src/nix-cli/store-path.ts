const STORE_PATH = /^\/nix\/store\/[0-9a-df-np-sv-z]{32}-[^/]+/;

/** The store path a file lives in: /nix/store/<hash>-name/bin/nix → /nix/store/<hash>-name. */
export function storePathOf(file: string): string | undefined {
  return STORE_PATH.exec(file)?.[0];
}

export function isStorePath(path: string): boolean {
  return storePathOf(path) === path;
}

export function storeBaseName(path: string): string {
  return path.slice('/nix/store/'.length);
}
