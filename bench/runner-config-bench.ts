// Merge + write of a config.toml with 1,000 runners: `npx tsx bench/runner-config-bench.ts [runners] [rounds]`.
import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { applyRunnerConfig } from '../src/runner-config/apply.js';
import { parseRunnerConfig, serializeRunnerConfig } from '../src/runner-config/toml/document.js';
import { attachRunners } from '../src/runner-config/attach.js';
import { unifiedDiff } from '../src/runner-config/toml/unified-diff.js';
import { jobSettings } from '../src/provision/job-settings.js';

const RUNNERS = Number(process.argv[2] ?? 1000);
const ROUNDS = Number(process.argv[3] ?? 15);
const managed = jobSettings('nix-daemon', '/nix/store/a646xkw5ihldvxcmad97d3xk68iisg33-nix-2.24.9');

// Like the runners `gitlab-runner register` writes: credentials, a docker section, a cache section.
function runner(i: number): string {
  return `
[[runners]]
  name = "runner-${i}"
  url = "https://gitlab.example.com"
  id = ${1000 + i}
  token = "glrt-${i.toString(36).padStart(20, 'x')}"
  token_obtained_at = 2024-05-01T10:00:00Z
  token_expires_at = 0001-01-01T00:00:00Z
  executor = "${i % 10 === 9 ? 'shell' : 'docker'}"
  environment = ["GIT_DEPTH=10", "LANG=C.UTF-8"]
  pre_build_script = """
echo "runner ${i} ü"
"""
  [runners.cache]
    MaxUploadedArchiveSize = 0
  [runners.docker]
    tls_verify = false
    image = "alpine:3.20"
    privileged = false
    cpus = "1.0"
    volumes = ["/cache"]
    shm_size = 0
`;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

async function time(run: () => Promise<unknown> | unknown, before?: () => Promise<void>): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < ROUNDS + 2; i++) {
    await before?.();
    const start = performance.now();
    await run();
    if (i >= 2) samples.push(performance.now() - start); // two warm-up rounds
  }
  return median(samples);
}

const dir = await mkdtemp(join(tmpdir(), 'nix-runner-bench-'));
try {
  const original = join(dir, 'original.toml');
  const path = join(dir, 'config.toml');
  const text = `concurrent = 50\ncheck_interval = 0\n${Array.from({ length: RUNNERS }, (_, i) => runner(i)).join('')}`;
  await writeFile(original, text, { mode: 0o600 });
  const fresh = () => copyFile(original, path);

  const doc = parseRunnerConfig(text, path);
  const names = (doc.table.runners as Array<{ name: string; executor: string }>).filter((r) => r.executor === 'docker').map((r) => r.name);
  const attached = attachRunners(doc, names, managed);
  const written = serializeRunnerConfig(attached);

  const figures = {
    parse: await time(() => parseRunnerConfig(text, path)),
    merge: await time(() => attachRunners(doc, names, managed)),
    serialize: await time(() => serializeRunnerConfig(attached)),
    diff: await time(() => unifiedDiff(text, written, path)),
    'apply (read, merge, write, fsync, rename)': await time(() => applyRunnerConfig({ path, runners: [], managed }), fresh),
    'apply, nothing to change (no write)': await time(() => applyRunnerConfig({ path, runners: [], managed })),
    'dry run (with diff)': await time(() => applyRunnerConfig({ path: original, runners: [], managed, dryRun: true })),
  };
  console.log(`config.toml: ${RUNNERS} runners (${names.length} docker), ${(text.length / 1024).toFixed(0)} KiB -> ${(written.length / 1024).toFixed(0)} KiB; median of ${ROUNDS} runs, node ${process.version}`);
  for (const [what, ms] of Object.entries(figures)) console.log(`  ${what.padEnd(44)} ${ms.toFixed(1).padStart(7)} ms`);
} finally {
  await rm(dir, { recursive: true, force: true });
}
