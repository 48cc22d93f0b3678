/** nix's first `error:` line, with the builder's last log line when there is one. */
export function buildFailure(stderr: string): string | undefined {
  const lines = stderr.split('\n').map((line) => line.trim());
  const error = lines.find((line) => line.startsWith('error:'))?.slice('error:'.length).trim().replace(/;$/, '');
  const log = lines.filter((line) => line.startsWith('> ')).at(-1)?.slice(2);
  return error && log ? `${error}: ${log}` : error;
}
