import { describe, expect, it } from 'vitest';
import { renderNixConf } from '../../src/daemon/nix-conf.js';
import { evalJson, nixTool, nixpkgsLib } from './nix-eval.js';

interface Packages {
  package: {
    pname: string;
    version: string;
    npmRebuildFlags: string[];
    npmConfigHook: string;
    npmRoot: string;
    lockMissingResolved: string[];
    srcFiles: string[] | null;
    daemonImage: string;
    mainProgram: string;
  };
  image: {
    name: string;
    tag: string | null;
    includeNixDB: boolean;
    contents: string[];
    Entrypoint: string[];
    Env: string[];
    Labels: Record<string, string>;
    extraCommands: string;
    nixConf: string;
  };
}

const lib = nixpkgsLib();
const note =
  nixTool.note ||
  (lib === undefined ? ' [skipped: NIXPKGS_LIB is not set; point it at a nixpkgs checkout or its lib/ directory]' : '');

describe.skipIf(nixTool.skip || lib === undefined)(`nix/package.nix and nix/image.nix with a nixpkgs lib${note}`, () => {
  const evaluated = () => evalJson<Packages>({ file: 'test/nix/fixtures/eval-packages.nix', arg: { libPath: lib! } });

  it('builds the package with importNpmLock from the lock file at the top of the repository', async () => {
    const { package: pkg } = await evaluated();

    expect(pkg).toMatchObject({
      pname: 'nix-runner',
      version: '0.1.0',
      npmConfigHook: 'npm-config-hook',
      npmRebuildFlags: ['--ignore-scripts'],
      mainProgram: 'nix-runner',
      daemonImage: 'image.nix',
    });
    expect(`${pkg.npmRoot}/`).toBe(new URL('../..', import.meta.url).pathname);
    expect(pkg.lockMissingResolved).toEqual([]);
    if (pkg.srcFiles !== null) {
      expect(pkg.srcFiles.sort()).toEqual(['package-lock.json', 'package.json', 'src', 'tsconfig.build.json', 'tsconfig.json']);
    }
  });

  it('streams an image with nix, cacert and a shell, its nix.conf, the nix label and the nix db', async () => {
    const { image } = await evaluated();

    expect(image.includeNixDB).toBe(true);
    expect(image.contents).toEqual(expect.arrayContaining(['nix-2.24.0', 'cacert', 'bash-interactive']));
    expect(image.Labels).toEqual({ 'org.nix-runner.nix': '/nix/store/00000000000000000000000000000000-nix-2.24.0' });
    // What the provisioner runs too (daemon-spec.ts), so `docker run` by hand behaves the same.
    expect(image.Entrypoint).toEqual(['/nix/store/00000000000000000000000000000000-nix-2.24.0/bin/nix-daemon']);
    expect(image.Env).toContain('NIX_SSL_CERT_FILE=/nix/store/00000000000000000000000000000000-cacert/etc/ssl/certs/ca-bundle.crt');
    expect(image.extraCommands).toContain('mkdir -p -m 1777 tmp');
    expect(image.extraCommands).toMatch(/cp \/nix\/store\/\S+-nix\.conf etc\/nix\/nix\.conf/);
    // The registration the provisioner seeds older volumes from, and the daemon's own nix rooted.
    expect(image.extraCommands).toContain('cp /nix/store/00000000000000000000000000000000-closure-info/registration nix-runner/registration');
    expect(image.extraCommands).toContain('ln -sfn /nix/store/00000000000000000000000000000000-nix-2.24.0 nix/var/nix/gcroots/nix-runner-daemon-nix');
    expect(image.nixConf).toBe(renderNixConf());
  });
});
