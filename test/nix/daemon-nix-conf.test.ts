import { describe, expect, it } from 'vitest';
import { renderNixConf } from '../../src/daemon/nix-conf.js';
import { evalJson, nixTool } from './nix-eval.js';

// The image of the flake and the daemons the CLI starts must agree on trust: job containers connect
// as uid 0, so `trusted-users = root` in the image would trust every job.
describe.skipIf(nixTool.skip)(`nix/daemon-nix-conf.nix${nixTool.note}`, () => {
  it("is the nix.conf the provisioner gives every daemon", async () => {
    const text = await evalJson<string>({ file: 'nix/daemon-nix-conf.nix' });

    expect(text).toBe(renderNixConf());
    expect(text).toMatch(/^trusted-users =$/m);
    expect(text).toMatch(/^allowed-users = \*$/m);
  });
});
