import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { currentRunId, formatRunId, parseRunId, runLiveness } from '../../../src/leftovers/run-id.js';

describe('run ids', () => {
  it('parses what it formats', () => {
    const run = { host: 'ci-1', boot: '0123456789ab', pid: 4242, start: '987654' };
    expect(parseRunId(formatRunId(run))).toEqual(run);
    expect(parseRunId('not a run id')).toBeUndefined();
  });

  it('says this process is alive', () => {
    expect(parseRunId(currentRunId())).toMatchObject({ pid: process.pid });
    expect(runLiveness(currentRunId())).toBe('alive');
  });

  it('says a process that has ended is dead, even when its pid is taken again (the start time differs)', () => {
    const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    const self = parseRunId(currentRunId())!;
    expect(runLiveness(formatRunId({ ...self, pid: Number(child.stdout) }))).toBe('dead');
    expect(runLiveness(formatRunId({ ...self, start: `${self.start}1` }))).toBe('dead');
  });

  it("says a run of another boot is dead, another host's unknown, an unreadable label dead", () => {
    const self = parseRunId(currentRunId())!;
    expect(runLiveness(formatRunId({ ...self, boot: 'otherboot000' }))).toBe('dead');
    expect(runLiveness(formatRunId({ ...self, host: 'another-host' }))).toBe('unknown');
    expect(runLiveness(undefined)).toBe('dead');
  });
});
