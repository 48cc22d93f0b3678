import { describe, expect, it } from 'vitest';
import { DEFAULT_PIDS_LIMIT, parseByteSize, provisionSettingsSchema } from '../../../src/config/schema.js';
import { daemonLimits } from '../../../src/daemon/daemon-limits.js';

describe('daemon settings', () => {
  it('defaults to no sandbox and the default pids limit', () => {
    const settings = provisionSettingsSchema.parse({});
    expect(settings.sandbox).toBe(false);
    expect(settings.pidsLimit).toBe(DEFAULT_PIDS_LIMIT);
    expect(settings.memoryLimit).toBeUndefined();
  });

  it.each(['build-users-group', 'trusted-users', 'post-build-hook', 'sandbox', 'sandbox-fallback'])('refuses nixSettings.%s: nix-runner owns it', (key) => {
    const result = provisionSettingsSchema.safeParse({ nixSettings: { [key]: '' } });
    expect(result.success).toBe(false);
    expect(result.error!.issues[0]!.path).toEqual(['nixSettings', key]);
    expect(result.error!.issues[0]!.message).toMatch(/set by nix-runner/);
  });

  it.each([
    ['512m', 512 * 1024 ** 2],
    ['8g', 8 * 1024 ** 3],
    ['8GiB', 8 * 1024 ** 3],
    ['1t', 1024 ** 4],
    [1073741824, 1073741824],
    ['1073741824', 1073741824],
  ] as const)('reads the memory limit %s', (given, bytes) => {
    expect(provisionSettingsSchema.parse({ memoryLimit: given }).memoryLimit).toBe(bytes);
  });

  it.each(['8x', '-1g', '', '1m', 0])('refuses the memory limit %s', (given) => {
    expect(provisionSettingsSchema.safeParse({ memoryLimit: given }).success).toBe(false);
  });

  it('parses sizes', () => {
    expect(parseByteSize('50g')).toBe(50 * 1024 ** 3);
    expect(parseByteSize('lots')).toBeUndefined();
  });

  it('limits memory to half the host by default, in whole MiB', () => {
    expect(daemonLimits({ pidsLimit: 100 }, 24 * 1024 ** 3 + 12345)).toEqual({ pids: 100, memoryBytes: 12 * 1024 ** 3 });
    expect(daemonLimits({ pidsLimit: 100, memoryLimit: 1024 ** 3 }, 24 * 1024 ** 3)).toEqual({ pids: 100, memoryBytes: 1024 ** 3 });
  });
});
