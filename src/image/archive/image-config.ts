import { UserError } from '../../errors.js';

/** Docker's `created` for every image and history entry: the Nix epoch, so the config never depends on the clock. */
export const CREATED = '1970-01-01T00:00:01Z';

const GO_ARCH: Partial<Record<NodeJS.Architecture, string>> = {
  x64: 'amd64',
  arm64: 'arm64',
  arm: 'arm',
  ia32: '386',
  ppc64: 'ppc64le',
  riscv64: 'riscv64',
  s390x: 's390x',
};

export function goArchitecture(arch: NodeJS.Architecture = process.arch): string {
  const goArch = GO_ARCH[arch];
  if (!goArch) throw new UserError('image', `no docker architecture for ${arch}`, 'nix-runner builds images for the host: run it on x86_64 or aarch64 Linux');
  return goArch;
}

export interface ImageConfigInput {
  architecture: string;
  /** The image's nix: its nix-daemon is the entrypoint. None for the base image (the daemon spec names it). */
  nixPath?: string;
  labels: Record<string, string>;
  diffIds: string[];
  history: string[];
}

/** The image config, serialized with sorted keys and no whitespace: its bytes are the image id. */
export function imageConfigJson({ architecture, nixPath, labels, diffIds, history }: ImageConfigInput): string {
  return canonicalJson({
    architecture,
    config: nixPath ? { Entrypoint: [`${nixPath}/bin/nix-daemon`], Env: [`PATH=${nixPath}/bin:/bin`], Labels: labels } : { Labels: labels },
    created: CREATED,
    history: history.map((createdBy) => ({ created: CREATED, created_by: createdBy })),
    os: 'linux',
    rootfs: { diff_ids: diffIds, type: 'layers' },
  });
}

export function manifestJson(configName: string, repoTag: string, layerNames: string[]): string {
  return JSON.stringify([{ Config: configName, RepoTags: [repoTag], Layers: layerNames }]);
}

/** JSON with sorted keys and no whitespace: the same value always gives the same bytes (an image id). */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, item: unknown) => {
    if (typeof item !== 'object' || item === null || Array.isArray(item)) return item;
    const entries = Object.entries(item as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return Object.fromEntries(entries);
  });
}
