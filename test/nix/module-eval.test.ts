import { describe, expect, it } from 'vitest';
import { provisionSettingsSchema } from '../../src/config/schema.js';
import { evalJson, nixTool, nixpkgsLib } from './nix-eval.js';

interface Evaluated {
  failedAssertions: string[];
  warnings: string[];
  package: string;
  podmanDockerSocket: boolean;
  systemPackages: string[];
  gitlabRunner: {
    after: string[];
    requires: string[];
    path: string[];
    restartTriggers: string[];
    execStartPre: string[];
    execReload: string[];
    timeoutStartSec: string | null;
  };
  configTexts: Record<string, string>;
  gc: { after: string[]; requires: string[]; environment: Record<string, string>; execStart: string[]; execCondition: string[]; type: string } | null;
  timer: { wantedBy: string[]; timerConfig: Record<string, unknown> } | null;
  flake: {
    packages: Record<string, string[]>;
    devShells: Record<string, string[]>;
    checks: Record<string, string[]>;
    nixosModules: string[];
    overlays: string[];
  };
}

const lib = nixpkgsLib();
const skip = nixTool.skip || lib === undefined;
const note =
  nixTool.note ||
  (lib === undefined
    ? ' [skipped: NIXPKGS_LIB is not set; point it at a nixpkgs checkout or its lib/ directory to evaluate nix/module.nix with lib.evalModules]'
    : '');

const configure = /^!\/nix\/store\/[^ ]+-gitlab-runner-configure\/bin\/gitlab-runner-configure$/;
const provision = /^!\/nix\/store\/[^ ]+-nix-runner-0\.1\.0\/bin\/nix-runner provision --config (\/nix\/store\/[^ ]+-nix-runner-([^ ]+)\.json)$/;

function evaluate<T = Evaluated>(configuration: object, options: { attr?: string; via?: 'module' | 'flake' } = {}): Promise<T> {
  return evalJson<T>({
    file: 'test/nix/fixtures/eval-module.nix',
    arg: { libPath: lib! },
    argstr: { configJson: JSON.stringify(configuration), via: options.via ?? 'module' },
    attr: options.attr,
  });
}

function host(nixRunner: object, extra: object = {}): object {
  return {
    services: {
      'nix-runner': { enable: true, ...nixRunner },
      'gitlab-runner': { enable: true, services: { nix: { dockerImage: 'alpine' }, docs: { dockerImage: 'alpine' } } },
    },
    virtualisation: { docker: { enable: true } },
    ...extra,
  };
}

function provisionedConfigs(evaluated: Evaluated): Record<string, unknown>[] {
  return evaluated.gitlabRunner.execStartPre
    .map((line) => provision.exec(line)?.[1])
    .filter((file): file is string => file !== undefined)
    .map((file) => JSON.parse(evaluated.configTexts[file]!) as Record<string, unknown>);
}

describe.skipIf(skip)(`nix/module.nix with lib.evalModules${note}`, () => {
  it('writes declared runners (services.nix-runner.runners) into their daemon\'s config: no gitlab-runner register', async () => {
    // a host with no services.gitlab-runner.services at all: the module's runners are the only ones
    const evaluated = await evaluate({
      services: {
        'nix-runner': {
          enable: true,
          runners: { ci: { url: 'https://gitlab.example.com', tokenFile: '/run/secrets/ci', image: 'alpine:3.20', limit: 4, docker: { privileged: false } } },
        },
        'gitlab-runner': { enable: true, services: {} },
      },
      virtualisation: { docker: { enable: true } },
    });
    expect(evaluated.failedAssertions).toEqual([]);
    const [config] = provisionedConfigs(evaluated);
    expect(provisionSettingsSchema.safeParse(config).success).toBe(true);
    expect(config!.declaredRunners).toEqual([{ name: 'ci', url: 'https://gitlab.example.com', tokenFile: '/run/secrets/ci', image: 'alpine:3.20', limit: 4, docker: { privileged: false } }]);
  });

  it("hands a daemon's binary cache to its config, and asserts its secrets stay out of the store", async () => {
    const cache = { url: 'https://cache.example.com', publicKeys: ['ci-1:AAAA'], secretKeyFile: '/run/secrets/ci.sk', push: true };
    const evaluated = await evaluate(host({ daemons: { 'nix-daemon': { cache } } }));
    expect(evaluated.failedAssertions).toEqual([]);
    expect(provisionedConfigs(evaluated)[0]!.cache).toEqual(cache);
    const leaky = await evaluate(host({ daemons: { 'nix-daemon': { cache: { ...cache, secretKeyFile: '/nix/store/0c0sz7k4yc4kjn6dzq5nfd7wkq21j9b0-ci.sk' } } } }));
    expect(leaky.failedAssertions).toEqual([expect.stringContaining('cache: secretKeyFile and credentialsFile must be outside the Nix store')]);
    const unsigned = await evaluate(host({ daemons: { 'nix-daemon': { cache: { url: 'https://cache.example.com', push: true } } } }));
    expect(unsigned.failedAssertions).toEqual([expect.stringContaining('cache.push needs secretKeyFile')]);
  });

  it("hands a daemon's job images to its config", async () => {
    const jobImages = [{ tag: 'ci/base:1', paths: ['/nix/store/0c0sz7k4yc4kjn6dzq5nfd7wkq21j9b0-nix-2.24.10'] }];
    const evaluated = await evaluate(host({ daemons: { 'nix-daemon': { jobImages } } }));
    expect(evaluated.failedAssertions).toEqual([]);
    expect(provisionedConfigs(evaluated)[0]!.jobImages).toEqual(jobImages);
  });

  it("asserts a declared runner's token file is outside the store", async () => {
    const evaluated = await evaluate(host({ runners: { ci: { url: 'https://gitlab.example.com', tokenFile: '/nix/store/0c0sz7k4yc4kjn6dzq5nfd7wkq21j9b0-token' } } }));
    expect(evaluated.failedAssertions).toEqual([expect.stringContaining('services.nix-runner.runners: a tokenFile must be outside the Nix store')]);
  });

  it('provisions after nixpkgs configure step, on start and on reload', async () => {
    const evaluated = await evaluate(host({ daemons: { 'nix-daemon': { runners: ['nix'] } } }));

    expect(evaluated.failedAssertions).toEqual([]);
    const [first, second, ...rest] = evaluated.gitlabRunner.execStartPre;
    expect(first).toMatch(configure);
    expect(second).toMatch(provision);
    expect(rest).toEqual([]);
    expect(evaluated.gitlabRunner.execReload).toEqual(evaluated.gitlabRunner.execStartPre);
    expect(evaluated.gitlabRunner.after).toContain('docker.service');
    expect(evaluated.gitlabRunner.requires).toContain('docker.service');
    expect(evaluated.gitlabRunner.path.some((p) => p.endsWith('-nix-2.24.0'))).toBe(true);
    expect(evaluated.systemPackages).toContain(evaluated.package);
  });

  it('writes a provisioner config the schema accepts, naming runners as nixpkgs registers them', async () => {
    const evaluated = await evaluate(
      host({ daemons: { 'nix-daemon': { runners: ['nix'], settings: { substituters: ['https://cache.nixos.org'], 'max-jobs': 4 } } } }),
    );

    const [config] = provisionedConfigs(evaluated);
    expect(provisionSettingsSchema.safeParse(config).success).toBe(true);
    expect(config).toMatchObject({
      daemon: 'nix-daemon',
      runnerConfig: '/var/lib/gitlab-runner/.gitlab-runner/config.toml',
      nixSettings: { substituters: 'https://cache.nixos.org', 'max-jobs': 4 },
    });
    expect(config!.runners).toEqual([expect.stringMatching(/^nix_ci-host_[0-9a-f]{12}$/)]);
    // the host's nix as a store path: no image to build or load when it changes
    expect(config!.imageStorePath).toMatch(/^\/nix\/store\/[^/]+-nix-[0-9]/);
  });

  it('re-provisions when the image changes: new config path in ExecStartPre and restartTriggers', async () => {
    const before = await evaluate(host({}));
    const after = await evaluate(
      host({ daemons: { 'nix-daemon': { image: { storePath: '/nix/store/9s5y1wmzbwg4s64wk6yx2n6gjv3vsgdq-nix-2.28.4' } } } }),
    );
    const again = await evaluate(host({}));

    expect(after.gitlabRunner.execStartPre).not.toEqual(before.gitlabRunner.execStartPre);
    expect(after.gitlabRunner.restartTriggers).not.toEqual(before.gitlabRunner.restartTriggers);
    expect(again.gitlabRunner).toEqual(before.gitlabRunner);
    for (const evaluated of [before, after]) {
      const [file] = evaluated.gitlabRunner.execStartPre.map((line) => provision.exec(line)?.[1]).filter(Boolean);
      expect(evaluated.gitlabRunner.restartTriggers).toContain(file);
      expect(evaluated.gitlabRunner.restartTriggers).toContain(evaluated.package);
    }
    expect(provisionedConfigs(after)[0]).toMatchObject({ imageStorePath: '/nix/store/9s5y1wmzbwg4s64wk6yx2n6gjv3vsgdq-nix-2.28.4' });
    expect(provisionedConfigs(after)[0]).not.toHaveProperty('imageFlake');
  });

  it('runs one provision per daemon, in name order, after configure', async () => {
    const evaluated = await evaluate(
      host({ daemons: { 'nix-daemon': { runners: ['nix'] }, 'docs-daemon': { runners: ['docs'] } } }),
    );

    expect(evaluated.failedAssertions).toEqual([]);
    expect(evaluated.gitlabRunner.execStartPre[0]).toMatch(configure);
    const daemons = evaluated.gitlabRunner.execStartPre.slice(1).map((line) => provision.exec(line)?.[2]);
    expect(daemons).toEqual(['docs-daemon', 'nix-daemon']);
  });

  it('adds a gc service and its timer', async () => {
    const evaluated = await evaluate(
      host({ daemons: { a: { runners: ['nix'] }, b: { runners: ['docs'] } }, gc: { enable: true, dates: 'Sun 03:00', maxFreed: 1073741824 } }),
    );

    expect(evaluated.timer).toEqual({
      wantedBy: ['timers.target'],
      timerConfig: { OnCalendar: 'Sun 03:00', Persistent: true, RandomizedDelaySec: '15min' },
    });
    expect(evaluated.gc).toMatchObject({ type: 'oneshot', after: ['docker.service'], requires: ['docker.service'] });
    expect(evaluated.gc!.execStart).toEqual([
      expect.stringMatching(/\/bin\/nix-runner gc --daemon a --max-age 30 --max-freed 1073741824$/),
      expect.stringMatching(/\/bin\/nix-runner gc --daemon b --max-age 30 --max-freed 1073741824$/),
    ]);
    expect(evaluated.gc!.execCondition).toEqual([]);
  });

  it('adds no gc timer unless gc is enabled', async () => {
    const evaluated = await evaluate(host({}));

    expect(evaluated.timer).toBeNull();
    expect(evaluated.gc).toBeNull();
  });

  it('orders after podman.socket and points the provisioner at podman', async () => {
    const evaluated = await evaluate(
      host({ engine: 'podman', gc: { enable: true } }, { virtualisation: { podman: { enable: true } } }),
    );

    expect(evaluated.failedAssertions).toEqual([]);
    expect(evaluated.gitlabRunner.after).toEqual(expect.arrayContaining(['podman.socket', 'podman.service']));
    expect(evaluated.gitlabRunner.after).not.toContain('docker.service');
    expect(evaluated.gitlabRunner.requires).toContain('podman.socket');
    expect(evaluated.gc!.after).toEqual(expect.arrayContaining(['podman.socket', 'podman.service']));
    expect(provisionedConfigs(evaluated)[0]).toMatchObject({ dockerHost: 'unix:///run/podman/podman.sock' });
    expect(evaluated.gc!.environment).toEqual({ DOCKER_HOST: 'unix:///run/podman/podman.sock' });
    // the jobs reach podman through GitLab Runner's default socket, /run/docker.sock
    expect(evaluated.podmanDockerSocket).toBe(true);
  });

  it("asserts podman's docker socket when it is turned off: jobs would reach another engine", async () => {
    const failed = await evaluate<string[]>(
      host({ engine: 'podman' }, { virtualisation: { podman: { enable: true, dockerSocket: { enable: false } } } }),
      { attr: 'failedAssertions' },
    );

    expect(failed).toEqual([expect.stringContaining('needs virtualisation.podman.dockerSocket.enable = true')]);
  });

  it('leaves podman alone with engine = "docker"', async () => {
    const evaluated = await evaluate(host({}));

    expect(evaluated.podmanDockerSocket).toBe(false);
    expect(evaluated.gitlabRunner.after).toContain('docker.service');
  });

  it('asserts gitlab-runner, the engine, declared runners and one image source', async () => {
    const failed = await evaluate<string[]>(
      {
        services: {
          'nix-runner': {
            enable: true,
            runnerConfigFile: '/nix/store/9s5y1wmzbwg4s64wk6yx2n6gjv3vsgdq-config.toml',
            daemons: { 'nix-daemon': { runners: ['ghost'], image: { ref: 'nix:1', flake: 'github:o/r#image' } } },
          },
          'gitlab-runner': { services: { nix: {} } },
        },
      },
      { attr: 'failedAssertions' },
    );

    expect(failed).toEqual([
      expect.stringContaining('set services.gitlab-runner.enable = true'),
      expect.stringContaining('needs virtualisation.docker.enable = true'),
      expect.stringContaining('runnerConfigFile must be the writable config.toml'),
      expect.stringContaining('image: give one of ref, archive, storePath and flake, not ref and flake'),
      expect.stringContaining('ghost is not declared in services.gitlab-runner.services'),
    ]);
  });

  it('takes runner names as written when gitlab-runner uses a configFile', async () => {
    const evaluated = await evaluate({
      services: {
        'nix-runner': { enable: true, daemons: { 'nix-daemon': { runners: ['from-the-file'] } } },
        'gitlab-runner': { enable: true, configFile: '/etc/gitlab-runner/config.toml' },
      },
      virtualisation: { docker: { enable: true } },
    });

    expect(evaluated.failedAssertions).toEqual([]);
    expect(provisionedConfigs(evaluated)[0]).toMatchObject({ runners: ['from-the-file'] });
  });

  it('warns about secrets that end up in the Nix store', async () => {
    const warnings = await evaluate<string[]>(
      host({
        daemons: {
          'nix-daemon': { settings: { 'access-tokens': 'github.com=ghp_x', 'netrc-file': '/nix/store/9s5y1wmzbwg4s64wk6yx2n6gjv3vsgdq-netrc' } },
        },
      }),
      { attr: 'warnings' },
    );

    expect(warnings).toEqual([
      expect.stringContaining('settings.access-tokens is a secret'),
      expect.stringContaining('settings.netrc-file points into the Nix store'),
    ]);
  });

  it("defaults the package to the flake's own in nixosModules.default, and the daemon's nix to the host's", async () => {
    const evaluated = await evaluate(host({}), { via: 'flake' });

    expect(evaluated.package).toMatch(/-nix-runner-from-flake$/);
    expect(evaluated.gitlabRunner.execStartPre[1]).toContain('-nix-runner-from-flake/bin/nix-runner provision --config ');
    const file = /--config (\S+)$/.exec(evaluated.gitlabRunner.execStartPre[1]!)![1]!;
    expect(JSON.parse(evaluated.configTexts[file]!)).toMatchObject({ imageStorePath: expect.stringMatching(/^\/nix\/store\//) });
    expect(evaluated.flake).toEqual({
      packages: { 'aarch64-linux': ['default', 'nix-daemon-image', 'nix-runner'], 'x86_64-linux': ['default', 'nix-daemon-image', 'nix-runner'] },
      devShells: { 'aarch64-linux': ['default'], 'x86_64-linux': ['default'] },
      checks: { 'aarch64-linux': ['nix-daemon-image', 'package', 'vm-test'], 'x86_64-linux': ['nix-daemon-image', 'package', 'vm-test'] },
      nixosModules: ['default', 'nix-runner'],
      overlays: ['default'],
    });
  });
});
