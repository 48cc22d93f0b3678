import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { expect } from 'vitest';

const CLI = fileURLToPath(new URL('../../../dist/cli.js', import.meta.url));

export interface CliResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  /** stdout parsed when --json was given. */
  json: Record<string, unknown> & { ok: boolean };
}

/** Runs the built CLI (`npm test` builds it first) as a user would. */
export async function runCli(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  const result = await execa('node', [CLI, ...args], { reject: false, env, timeout: 600_000 });
  const stdout = String(result.stdout);
  let json = { ok: false } as CliResult['json'];
  if (args.includes('--json')) {
    try {
      json = JSON.parse(stdout) as CliResult['json'];
    } catch {
      // left as { ok: false }; the test's own assertions say what was wrong
    }
  }
  return { exitCode: result.exitCode ?? -1, stdout, stderr: String(result.stderr), json };
}

/** A failure as the user sees it: the exit code, then exactly one error line and one hint line. */
export function expectOneLineError(result: CliResult, code: number, message: RegExp): void {
  expect(result.exitCode, result.stderr).toBe(code);
  const lines = result.stderr.trimEnd().split('\n');
  expect(lines[0]).toMatch(/^nix-runner: error: /);
  expect(lines[0]).toMatch(message);
  expect(lines[1]).toMatch(/^ {2}hint: \S/);
  expect(lines).toHaveLength(2);
}
