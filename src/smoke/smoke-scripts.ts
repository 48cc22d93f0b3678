// Job scripts that use nothing but shell builtins and nix, so that any image with a POSIX sh runs them.
// Each prints one `nix-runner-smoke …` line that smoke.ts parses.
function buildAndReport(stage: string): string[] {
  const tmp = `/tmp/nix-runner-smoke-${stage}`;
  return [
    `nix-build --no-out-link -E "$NIX_RUNNER_SMOKE_EXPR" > ${tmp}.out 2> ${tmp}.err || { while IFS= read -r l; do echo "$l" >&2; done < ${tmp}.err; exit 1; }`,
    `read -r out < ${tmp}.out; read -r content < "$out"`,
    `built=no; while IFS= read -r l; do case "$l" in "building '"*) built=yes;; esac; done < ${tmp}.err`,
    `echo "nix-runner-smoke stage=${stage} out=$out content=$content built=$built"`,
  ];
}

export const SMOKE_SCRIPT = buildAndReport('script');
export const SMOKE_AFTER_SCRIPT = buildAndReport('after_script');

export interface SmokeReport {
  stage: string;
  out: string;
  content: string;
  built: boolean;
}

export function parseSmokeReport(stdout: string): SmokeReport | undefined {
  const match = /^nix-runner-smoke stage=(\S+) out=(\S+) content=(\S*) built=(yes|no)$/m.exec(stdout);
  if (!match) return undefined;
  return { stage: match[1]!, out: match[2]!, content: match[3]!, built: match[4] === 'yes' };
}
