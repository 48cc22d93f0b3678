import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

const e2e = process.env.NIX_RUNNER_E2E === '1';

/** Whether `command --version` runs on this machine. */
export async function commandRuns(command: string): Promise<boolean> {
  try {
    await execa(command, ['--version']);
    return true;
  } catch {
    return false;
  }
}

const available = await commandRuns('nix-instantiate');

/**
 * Without nix-instantiate these tests are skipped, unless NIX_RUNNER_E2E=1: then they run and fail.
 * `note` goes into test names so the reporter says why a test was skipped.
 */
const skip = !available && !e2e;
export const nixTool = {
  available,
  skip,
  note: skip ? ' [skipped: nix-instantiate is not on PATH (apt-get install nix-bin); NIX_RUNNER_E2E=1 fails instead]' : '',
};

function requireNix(): void {
  if (!nixTool.available) {
    throw new Error('nix-instantiate is not on PATH (apt-get install nix-bin); NIX_RUNNER_E2E=1 requires it');
  }
}

export interface EvalRequest {
  /** A .nix file (relative to the repository) or an expression. */
  file?: string;
  expr?: string;
  /** An attribute path to select, e.g. "failedAssertions". */
  attr?: string;
  /** --argstr values. */
  argstr?: Record<string, string>;
  /** --arg values (Nix expressions). */
  arg?: Record<string, string>;
}

function evalArgs(request: EvalRequest): string[] {
  const args = ['--eval', '--strict', '--json'];
  for (const [name, value] of Object.entries(request.argstr ?? {})) args.push('--argstr', name, value);
  for (const [name, value] of Object.entries(request.arg ?? {})) args.push('--arg', name, value);
  if (request.expr !== undefined) args.push('--expr', request.expr);
  else if (request.file !== undefined) args.push(path.join(repoRoot, request.file));
  else throw new Error('give a file or an expression');
  if (request.attr !== undefined) args.push('-A', request.attr);
  return args;
}

/** `nix-instantiate --eval --strict --json`, parsed. */
export async function evalJson<T = unknown>(request: EvalRequest): Promise<T> {
  requireNix();
  const { stdout } = await execa('nix-instantiate', evalArgs(request), { cwd: repoRoot });
  return JSON.parse(stdout) as T;
}

/** The evaluation error of a request that must fail. */
export async function evalError(request: EvalRequest): Promise<string> {
  requireNix();
  const result = await execa('nix-instantiate', evalArgs(request), { cwd: repoRoot, reject: false });
  if (result.exitCode === 0) throw new Error(`evaluation succeeded: ${result.stdout}`);
  return result.stderr;
}

export async function parseNix(file: string): Promise<void> {
  requireNix();
  await execa('nix-instantiate', ['--parse', file], { cwd: repoRoot, stdout: 'ignore' });
}

/** NIXPKGS_LIB: nixpkgs' lib directory, or a checkout that has one (nixpkgs, nixpkgs.lib). */
export function nixpkgsLib(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const given = env.NIXPKGS_LIB;
  if (!given) return undefined;
  const inner = path.join(given, 'lib');
  return existsSync(path.join(inner, 'default.nix')) ? inner : given;
}
