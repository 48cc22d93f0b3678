import { PassThrough } from 'node:stream';
import { pack } from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skipE2E } from '../support/engine.js';
import { builderDerivation, nonce } from './support/attack-derivation.js';
import { buildOf, runJob } from './support/attack-job.js';
import { inspectJson } from './support/daemon-probe.js';
import { provisionSecurityDaemon, removeSecurityDaemons, type SecurityDaemon } from './support/security-daemon.js';

// What a builder tries: the daemon's environment and command line, every process's, the nix.conf files,
// and any file under /etc, /nix, /tmp and /root with a token in it (grep prints only the token).
const BUILDER_READS = [
  'for f in /proc/1/environ /proc/[0-9]*/environ /proc/1/cmdline /proc/[0-9]*/cmdline /etc/nix/nix.conf /etc/nix-runner/nix.conf /etc/nix-runner/netrc; do',
  '  if [ -r "$f" ]; then echo "e2e-read $f"; tr "\\0" "\\n" < "$f"; else echo "e2e-unreadable $f"; fi',
  'done',
  'grep -r -o -h "github\\.com=[A-Za-z0-9_.-]*" /etc /nix /tmp /root 2>/dev/null | while IFS= read -r t; do echo "e2e-token $t"; done',
  'echo e2e-reads-done',
].join('\n');

// What the job itself tries, in its own container (root there, with the daemon's volumes from volumes_from).
const JOB_READS = [
  'nix --extra-experimental-features nix-command show-config 2>&1 || true',
  'nix-store --query --requisites "$NIX_RUNNER_BIN/.." > /dev/null 2>&1 || true',
  'for f in /etc/nix/nix.conf /etc/nix-runner/nix.conf /etc/nix-runner/netrc /proc/1/environ; do [ -r "$f" ] && { echo "e2e-job-read $f"; tr "\\0" "\\n" < "$f"; }; done',
  'grep -r -o -h "github\\.com=[A-Za-z0-9_.-]*" /nix /etc 2>/dev/null | while IFS= read -r t; do echo "e2e-job-token $t"; done',
  'echo e2e-job-reads-done',
];

describe.skipIf(skipE2E)("a job cannot read the daemon's secret settings", () => {
  const marker = `SECRET-${nonce()}${nonce()}`;
  let d: SecurityDaemon;

  beforeAll(async () => {
    d = await provisionSecurityDaemon('e2e-sec-secret', { settings: ['[nixSettings]', `access-tokens = "github.com=${marker}"`] });
  });

  afterAll(async () => {
    await removeSecurityDaemons();
  });

  it('the daemon has the secret: root in its container finds it', async () => {
    // environ is NUL-separated: busybox grep stops a line at the first NUL
    const found = await d.probe.sh(`tr "\\0" "\\n" < /proc/1/environ | grep -q -F "${marker}" && echo /proc/1/environ; grep -r -l -F "${marker}" /etc; true`);
    expect(found.stdout.trim(), `where root finds the marker: ${found.stderr}`).not.toBe('');
  });

  it('a builder cannot read it', async () => {
    const job = await runJob(d.job, ['e2e_build read "$E2E_EXPR"'], { E2E_EXPR: builderDerivation({ busybox: d.probe.busybox, name: 'e2e-read-secret', script: BUILDER_READS }) });
    const result = buildOf(job, 'read');
    expect(result.exitCode, result.log.join('\n')).toBe(0);
    expect(result.content, 'the reads ran to their end').toContain('e2e-reads-done');
    expect(result.content.some((line) => line.startsWith('e2e-read ') || line.startsWith('e2e-unreadable /proc/1/environ'))).toBe(true);
    expect(job.stdout + job.stderr).not.toContain(marker);
  });

  it("a job cannot read it (nix show-config, files, the daemon's volumes), nor does docker inspect of the job container show it", async () => {
    const job = await runJob(d.job, JOB_READS, {}, { inspect: true });
    expect(job.stdout, job.stderr).toContain('e2e-job-reads-done');
    expect(job.stdout, 'nix show-config ran').toMatch(/^trusted-users = /m);
    expect(job.stdout + job.stderr).not.toContain(marker);
    expect(job.inspect).toBeDefined();
    expect(job.inspect).not.toContain(marker);
  });

  it('docker inspect of the daemon container and of its image does not show it', async () => {
    const container = await inspectJson('container', d.daemon);
    expect(container).toBeDefined();
    expect(container).not.toContain(marker);
    const image = await inspectJson('image', JSON.parse(container!).Image as string);
    expect(image).toBeDefined();
    expect(image).not.toContain(marker);
  });

  it('nix-runner never prints it: provision with --json, plain, --verbose, --dry-run', async () => {
    const outputs = [d.provisioned, await d.provision('--json'), await d.provision(), await d.provision('--verbose'), await d.provision('--dry-run'), await d.provision('--dry-run', '--json')];
    for (const result of outputs) {
      expect(result.exitCode, result.stderr).toBe(0);
      expect(result.stdout + result.stderr).not.toContain(marker);
    }
  });
});

// Found while writing these tests: for a `builtin:fetchurl` derivation nix 2.8 copies the daemon's netrc
// into the build directory, where a `file://` URL fetches it; with a wrong hash the fetched file becomes a
// valid store path all the same, named by its real hash, which nix prints.
describe.skipIf(skipE2E).each([
  { mode: 'without the sandbox', args: [] as string[] },
  { mode: 'in the sandbox (--sandbox)', args: ['--sandbox'] },
])("a job cannot read the daemon's netrc file, $mode", ({ args }) => {
  const marker = `NETRC-SECRET-${nonce()}`;
  const netrc = '/etc/nix-runner/netrc';
  let d: SecurityDaemon;

  beforeAll(async () => {
    d = await provisionSecurityDaemon('e2e-sec-netrc', { args, settings: ['[nixSettings]', `netrc-file = "${netrc}"`] });
    // The operator's credentials for a private cache, a root-only file in the daemon container.
    const tar = pack();
    tar.entry({ name: 'etc/nix-runner/', type: 'directory', mode: 0o700, uid: 0, gid: 0 });
    tar.entry({ name: 'etc/nix-runner/netrc', mode: 0o600, uid: 0, gid: 0 }, `machine cache.example.invalid login ci password ${marker}\n`);
    tar.finalize();
    await d.job.engine.copyIn(d.daemon, '/', tar.pipe(new PassThrough()));
  });

  afterAll(async () => {
    await removeSecurityDaemons();
  });

  // nix 2.8 copies it into every builtin:fetchurl build directory (tmp, sandbox below): that copy a job can
  // fetch, which nix-runner cannot stop; provision says so whenever a netrc-file is set.
  it('provision says that a netrc-file reaches builtin:fetchurl builds', async () => {
    expect(d.provisioned.json.warnings).toEqual(expect.arrayContaining([expect.stringMatching(/^netrc-file: .*builtin:fetchurl/)]));
  });

  it('a builder cannot read it, nor a builtin:fetchurl of its own path (file://)', async () => {
    const fetch = (name: string, url: string) =>
      [
        'derivation {',
        `  name = "${name}"; builder = "builtin:fetchurl"; system = "builtin"; url = "${url}";`,
        `  outputHashMode = "flat"; outputHashAlgo = "sha256"; outputHash = "${'0'.repeat(52)}"; e2eNonce = "${nonce()}";`,
        '}',
      ].join('\n');
    const steal = [
      // the build directory of a builtin:fetchurl outside and inside the sandbox
      'e2e_build tmp "$E2E_TMP" || true',
      'e2e_build sandbox "$E2E_SANDBOX" || true',
      'e2e_build direct "$E2E_DIRECT" || true',
      // a hash mismatch names the real hash: the fetched file is at that fixed-output path
      'for label in tmp sandbox direct; do',
      '  got=; while IFS= read -r l; do case "$l" in *"got:"*) set -- ${l##*got:}; got=$1;; esac; done < /tmp/e2e-$label.err',
      '  [ -n "$got" ] || continue',
      '  h=$(nix --extra-experimental-features nix-command hash to-base32 "$got")',
      '  p=$(nix-store --print-fixed-path sha256 "$h" "e2e-steal-$label")',
      '  echo "e2e-stolen $label $p"; [ -r "$p" ] && while IFS= read -r l; do echo "e2e-stolen-line $label $l"; done < "$p"',
      'done',
      'echo e2e-steal-done',
    ];
    const job = await runJob(d.job, steal, {
      E2E_TMP: fetch('e2e-steal-tmp', 'file:///tmp/nix-build-e2e-steal-tmp.drv-0/netrc'),
      E2E_SANDBOX: fetch('e2e-steal-sandbox', 'file:///build/netrc'),
      E2E_DIRECT: fetch('e2e-steal-direct', `file://${netrc}`),
    });
    expect(job.stdout, job.stderr).toContain('e2e-steal-done');
    for (const label of ['tmp', 'sandbox', 'direct']) expect(buildOf(job, label).log.join('\n'), label).toMatch(/builtin:fetchurl|fetchurl|hash mismatch|unable to download|error/);
    const read = await runJob(d.job, ['e2e_build read "$E2E_EXPR"'], { E2E_EXPR: builderDerivation({ busybox: d.probe.busybox, name: 'e2e-read-netrc', script: BUILDER_READS }) });
    expect(buildOf(read, 'read').content).toContain('e2e-reads-done');
    const stolenDirectly = job.stdout.split('\n').filter((line) => line.startsWith('e2e-stolen-line direct '));
    expect(stolenDirectly.join('\n') + read.stdout + read.stderr).not.toContain(marker);
  });
});
