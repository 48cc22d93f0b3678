import { ExitCode, type ErrorCode } from '../errors.js';

// What each stable exit code means, said once: every command's --help lists the ones it can give.
const MEANING: Record<ErrorCode, string> = {
  bug: 'bug',
  usage: 'usage',
  config: 'settings',
  engine: 'engine (unreachable, failing, or past --engine-timeout)',
  image: 'image',
  daemon: 'daemon',
  runnerConfig: 'config.toml',
  nix: 'nix',
  smoke: 'a job failed',
};

/** "Exit codes: 0 ok, …, 1 bug." for a command's help: usage and bug always, `codes` in between (meanings may be said more precisely). */
export function exitCodesHelp(codes: ErrorCode[], { ok = 'ok', meanings = {} }: { ok?: string; meanings?: Partial<Record<ErrorCode, string>> } = {}): string {
  const listed = (['usage', ...codes] as ErrorCode[]).filter((code, index, all) => all.indexOf(code) === index).sort((a, b) => ExitCode[a] - ExitCode[b]);
  const parts = [`0 ${ok}`, ...listed.map((code) => `${ExitCode[code]} ${meanings[code] ?? MEANING[code]}`), `1 ${MEANING.bug}`];
  return `\nExit codes: ${parts.join(', ')}.`;
}
