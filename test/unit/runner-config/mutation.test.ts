import { readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'smol-toml';
import { describe, expect, it } from 'vitest';
import { UserError } from '../../../src/errors.js';
import { applyRunnerConfig } from '../../../src/runner-config/apply.js';
import { fixtureText, managedSettings, withTempDir } from './helpers.js';
import { seededRandom, type Random } from './random.js';

const ROUNDS = 300;
const BYTES = [0x00, 0x0a, 0x22, 0x27, 0x3d, 0x5b, 0x5d, 0x7b, 0x7d, 0x23, 0x2c, 0x2e, 0x20, 0x5c, 0xc3, 0xff, 0x41];

// One to three random byte edits (replace, insert, delete) of the valid fixture.
function mutate(bytes: Buffer, random: Random): Buffer {
  let out = Buffer.from(bytes);
  for (let n = random.int(1, 3); n > 0; n--) {
    const at = random.int(0, out.length - 1);
    const byte = random.chance(0.5) ? random.pick(BYTES) : random.int(0, 255);
    const kind = random.int(0, 2);
    if (kind === 0) out[at] = byte;
    else if (kind === 1) out = Buffer.concat([out.subarray(0, at), Buffer.from([byte]), out.subarray(at)]);
    else out = Buffer.concat([out.subarray(0, at), out.subarray(at + 1)]);
  }
  return out;
}

function parses(bytes: Buffer): boolean {
  try {
    parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
    return true;
  } catch {
    return false;
  }
}

describe('random byte mutations of a valid config.toml', () => {
  it('each either merges, or fails with one clear line (a line number when it does not parse) and writes nothing', async () => {
    const original = Buffer.from(await fixtureText());
    let broken = 0;
    await withTempDir(async (dir) => {
      const path = join(dir, 'config.toml');
      for (let seed = 1; seed <= ROUNDS; seed++) {
        const bytes = mutate(original, seededRandom(seed));
        await writeFile(path, bytes, { mode: 0o600 });
        const before = await stat(path);
        const text = bytes.toString('utf8');
        const error = await applyRunnerConfig({ path, runners: [], managed: managedSettings() }).then(
          () => undefined,
          (reason: unknown) => reason,
        );
        const context = `seed ${seed}: ${JSON.stringify(text.slice(0, 80))}…`;
        if (error === undefined) continue;
        expect(error, context).toBeInstanceOf(UserError);
        const message = (error as UserError).message;
        expect(message, context).not.toContain('\n');
        if (!parses(bytes)) {
          broken++;
          expect(message, context).toMatch(new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+(:\\d+)?: \\S`));
          expect((error as UserError).hint, context).toMatch(/fix the file by hand/);
        }
        expect(Buffer.compare(await readFile(path), bytes), context).toBe(0);
        expect((await stat(path)).mtimeMs, context).toBe(before.mtimeMs);
        expect(await readdir(dir), context).toEqual(['config.toml']);
      }
    });
    // The mutations must mostly break the file, or the test proves little.
    expect(broken).toBeGreaterThan(ROUNDS / 3);
  });
});

describe('a config.toml that is not UTF-8', () => {
  it('is refused with its line, never rewritten with replacement characters', async () => {
    await withTempDir(async (dir) => {
      const path = join(dir, 'config.toml');
      const bytes = Buffer.concat([Buffer.from('concurrent = 1\n[[runners]]\nname = "a'), Buffer.from([0xff]), Buffer.from('"\nexecutor = "docker"\n')]);
      await writeFile(path, bytes);
      await expect(applyRunnerConfig({ path, runners: [], managed: managedSettings() })).rejects.toThrow(`${path}:3: not valid UTF-8`);
      expect(Buffer.compare(await readFile(path), bytes)).toBe(0);
    });
  });
});
