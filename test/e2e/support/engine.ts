import { EngineClient } from '../../../src/engine/engine-client.js';
import { e2eEngine } from './select-engine.js';

/** CI sets NIX_RUNNER_E2E=1: then a missing engine fails the e2e tests instead of skipping them. */
export const e2eRequired = process.env.NIX_RUNNER_E2E === '1';

export const engine: EngineClient | undefined = await EngineClient.connect().catch((error: unknown) => {
  if (e2eRequired) throw error;
  return undefined;
});

// A suite meant for Podman that reached Docker (or the reverse) would pass for the wrong engine.
if (engine && engine.kind !== e2eEngine) throw new Error(`NIX_RUNNER_ENGINE=${e2eEngine}, but the engine at ${engine.address.display} is ${engine.kind}`);

/** For describe.skipIf(skipE2E). */
export const skipE2E = engine === undefined;

export function requireEngine(): EngineClient {
  if (!engine) throw new Error('no container engine: run scripts/testbed.sh');
  return engine;
}
