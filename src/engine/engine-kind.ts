import type { IncomingHttpHeaders } from 'node:http';

/** Which engine answers the Docker-compatible API: where they differ, engine-variant.ts says how. */
export type EngineKind = 'docker' | 'podman';

/**
 * Podman's compat API answers /_ping with `Libpod-Api-Version` (and `Server: Libpod/…`); Docker with
 * `Server: Docker/…`. Told from the ping, so nothing but a ping is needed to know the engine.
 */
export function engineKindOf(headers: IncomingHttpHeaders): EngineKind {
  if (headers['libpod-api-version'] !== undefined) return 'podman';
  return /^libpod\b/i.test(String(headers.server ?? '')) ? 'podman' : 'docker';
}
