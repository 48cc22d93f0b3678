import { randomBytes } from 'node:crypto';

export function nonce(): string {
  return randomBytes(6).toString('hex');
}

/** A Nix string literal holding `text` as is: JSON's escapes are Nix's, and `${` must not interpolate. */
export function nixString(text: string): string {
  return JSON.stringify(text).replace(/\$\{/g, '\\${');
}

// Each attempt prints one line, `e2e-attack NAME: done` or `e2e-attack NAME: refused: <first line of its error>`,
// so a test can tell a refused write from an attempt that never ran (a syntax error prints neither).
const TRY = 'try() { if ( eval "$2" ) > "$TMPDIR/e2e-try" 2>&1; then echo "e2e-attack $1: done"; else e=; read -r e < "$TMPDIR/e2e-try"; echo "e2e-attack $1: refused: $e"; fi; }';

// The builder runs the attack script with the store busybox's sh (its applets need no PATH). What the script
// prints is the build log, and also the output when the script did not write one itself.
const RUN = 'eval "$e2eScript" > "$TMPDIR/e2e-report" 2>&1; s=$?; while IFS= read -r l; do echo "$l"; done < "$TMPDIR/e2e-report"; [ -e "$out" ] || while IFS= read -r l; do echo "$l"; done < "$TMPDIR/e2e-report" > "$out"; exit $s';

export interface BuilderDerivation {
  /** Store path of the daemon's busybox (its closure has one: see findStoreShell). */
  busybox: string;
  name: string;
  /** Shell code run by the builder, with `try NAME 'code'` defined. */
  script: string;
  /** More derivation attributes (they reach the builder as environment variables). */
  attrs?: Record<string, string>;
  /** Store paths the builder gets as inputs (builtins.storePath), by attribute name: visible in the sandbox too. */
  inputs?: Record<string, string>;
  /** Function arguments of the expression, given by `nix-build --argstr NAME VALUE` and passed on as attributes. */
  inherit?: string[];
  /** Defaults to a fresh one, so that the derivation is built once more. */
  nonce?: string;
}

/** A derivation only the daemon can build (its builder is the daemon's store busybox), running `script`. */
export function builderDerivation({ busybox, name, script, attrs = {}, inputs = {}, inherit = [], nonce: n = nonce() }: BuilderDerivation): string {
  const extra = Object.entries(attrs).map(([key, value]) => `  ${key} = ${nixString(value)};`);
  extra.push(...Object.entries(inputs).map(([key, path]) => `  ${key} = builtins.storePath ${nixString(path)};`));
  if (inherit.length > 0) extra.push(`  inherit ${inherit.join(' ')};`);
  return [
    `${inherit.length > 0 ? `{ ${inherit.join(', ')} }: ` : ''}derivation {`,
    `  name = ${nixString(name)};`,
    '  system = builtins.currentSystem;',
    `  builder = "\${builtins.storePath ${busybox}}/bin/busybox";`,
    `  args = [ "sh" "-c" ${nixString(RUN)} ];`,
    `  e2eScript = ${nixString(`${TRY}\n${script}`)};`,
    `  e2eNonce = ${nixString(n)};`,
    ...extra,
    '}',
  ].join('\n');
}

export interface Attempt {
  outcome: 'done' | 'refused';
  detail: string;
}

/** The attempts a builder reported, by name (the first report of each). */
export function parseAttempts(lines: string[]): Map<string, Attempt> {
  const attempts = new Map<string, Attempt>();
  for (const line of lines) {
    const match = /e2e-attack (\S+): (done|refused)(?:: (.*))?$/.exec(line);
    if (match && !attempts.has(match[1]!)) attempts.set(match[1]!, { outcome: match[2] as Attempt['outcome'], detail: match[3] ?? '' });
  }
  return attempts;
}

// How the kernel and busybox word a refusal; anything else (not found, syntax error) means the attempt never really ran.
// In the sandbox's user namespace, a chown to an unmapped id is EINVAL.
export const REFUSED = /Permission denied|Operation not permitted|Read-only file system|Invalid argument/;

/** A plain build: records where it was built and the builder's uid (`built-on-HOST uid-N`). */
export function plainDerivation(busybox: string, name = 'e2e-plain', n = nonce()): string {
  return builderDerivation({ busybox, name, nonce: n, script: 'read -r h < /proc/sys/kernel/hostname; echo "built-on-$h uid-$(id -u)" > "$out"' });
}

/** The builder's uid from a plainDerivation's content line. */
export function builderUid(content: string[]): number | undefined {
  const match = /uid-(\d+)$/.exec(content[0] ?? '');
  return match ? Number(match[1]) : undefined;
}
