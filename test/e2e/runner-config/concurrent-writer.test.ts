import { readFile, rename, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseRunnerConfig } from '../../../src/runner-config/toml/document.js';
import { requireEngine, skipE2E } from '../support/engine.js';
import { copyRunnerFixture } from '../support/fixtures.js';
import { removeDaemon, scratchDir, uniqueName } from '../support/scratch.js';

const CLI = fileURLToPath(new URL('../../../dist/cli.js', import.meta.url));

// What GitLab Runner does when it rotates a runner's token: the whole file rewritten, then renamed into place.
async function rotateToken(path: string): Promise<void> {
  const text = await readFile(path, 'utf8');
  const rotated = text.replace('token = "glrt-abcdefghijklmnopqrst"', 'token = "glrt-rotated-by-runner"').replace('token_obtained_at = 2024-05-01T10:00:00Z', 'token_obtained_at = 2024-06-01T10:00:00Z');
  if (rotated === text) throw new Error('the fixture no longer holds the token this test rotates');
  await writeFile(`${path}.runner-tmp`, rotated, { mode: 0o600 });
  await rename(`${path}.runner-tmp`, path);
}

describe.skipIf(skipE2E)('another process rewrites config.toml while provision runs', () => {
  const daemon = uniqueName('e2e-race');
  let scratch: Awaited<ReturnType<typeof scratchDir>>;

  beforeAll(async () => {
    scratch = await scratchDir();
  });

  afterAll(async () => {
    await removeDaemon(requireEngine(), daemon);
    await scratch?.remove();
  });

  // provision reads config.toml first (to fail early), then creates the daemon (seconds: the store is
  // seeded), then reads and merges it again and writes it. The token is rotated as soon as provision
  // prints its first line, so always between those two reads.
  it('both the rotated token and the managed entries end up in the file', async () => {
    const path = await copyRunnerFixture(scratch.dir);
    const child = execa('node', [CLI, 'provision', '--runner-config', path, '--daemon', daemon, '-v'], { reject: false });
    let stderr = '';
    let rotated: Promise<void> | undefined;
    let attachedBeforeRotation = false;
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      rotated ??= rotateToken(path).then(() => {
        attachedBeforeRotation = stderr.includes('attached ');
      });
    });
    const result = await child;
    await rotated;
    expect(result.exitCode, stderr).toBe(0);
    expect(rotated).toBeDefined();
    expect(attachedBeforeRotation).toBe(false);

    const main = (parseRunnerConfig(await readFile(path, 'utf8'), path).table.runners as Array<Record<string, any>>)[0]!;
    expect(main.token).toBe('glrt-rotated-by-runner');
    expect(main.token_obtained_at.toISOString()).toBe('2024-06-01T10:00:00.000Z');
    expect(main.docker.volumes_from).toEqual(['cache-helper:ro', `${daemon}:ro`]);
    expect(main.pre_build_script).toContain('# >>> nix-runner managed block');
    expect(main.pre_build_script).toContain('echo "user line before"');
  });
});
