import type { Logger } from '../log.js';
import { resolveHostNix } from '../nix-cli/host-nix.js';

/** Where a daemon's nix comes from: the one list provision and `image build` share. */
export type ImageSource =
  | { kind: 'ref'; ref: string }
  | { kind: 'archive'; file: string }
  | { kind: 'store-path'; path: string }
  | { kind: 'flake'; ref: string }
  | { kind: 'host-nix' };

/** The sources `image build` can make an image of (the others are images already). */
export type BuildSource = Extract<ImageSource, { kind: 'store-path' | 'host-nix' | 'flake' }>;

/** The source as logs and --json name it: `store-path /nix/store/…`, `host-nix`, `flake REF`, … */
export function describeSource(source: ImageSource): string {
  switch (source.kind) {
    case 'ref':
      return `ref ${source.ref}`;
    case 'archive':
      return `archive ${source.file}`;
    case 'store-path':
      return `store-path ${source.path}`;
    case 'flake':
      return `flake ${source.ref}`;
    case 'host-nix':
      return 'host-nix';
  }
}

/** The nix store path of a source on this host: the path itself, or the host's own nix (bundled into the store when it lives outside). */
export async function sourceNixPath(source: Extract<ImageSource, { kind: 'store-path' | 'host-nix' }>, logger: Logger): Promise<string> {
  if (source.kind === 'store-path') return source.path;
  const host = await resolveHostNix();
  if (host.bundled) logger.debug(`host nix bundled as ${host.nixPath}`);
  return host.nixPath;
}
