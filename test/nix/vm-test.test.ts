import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { commandRuns, evalJson, nixTool } from './nix-eval.js';

const hasPython = await commandRuns('python3');

// The VM itself needs KVM and nixpkgs (`nix flake check`); its script can be checked here.
describe.skipIf(nixTool.skip)(`nix/vm-test.nix${nixTool.note}`, () => {
  it('drives provision from gitlab-runner.service, smoke, and a switch to a new image', async () => {
    const script = await evalJson<string>({ file: 'test/nix/fixtures/vm-test-script.nix' });

    expect(script).toContain('machine.wait_for_unit("gitlab-runner.service")');
    expect(script).toContain('nix-runner smoke --runner-config /var/lib/gitlab-runner/.gitlab-runner/config.toml --runner vm-runner');
    expect(script).toContain('/run/current-system/specialisation/new-image/bin/switch-to-configuration test');
    expect(script).toContain('--check-validity');
  });

  it.skipIf(!hasPython)(`has a test script that is valid Python${hasPython ? '' : ' [skipped: python3 is not on PATH]'}`, async () => {
    const script = await evalJson<string>({ file: 'test/nix/fixtures/vm-test-script.nix' });

    await execa('python3', ['-c', 'import ast, sys; ast.parse(sys.stdin.read())'], { input: script });
  });
});
