import { describe, expect, it } from 'vitest';
import { provisionSettingsSchema } from '../../src/config/schema.js';
import { evalError, evalJson, nixTool } from './nix-eval.js';

type Configs = Record<string, Record<string, unknown>>;

// Option values of services.nix-runner as the module hands them over (JSON stands in for Nix).
function provisionConfigs(options: object): Promise<Configs> {
  return evalJson<Configs>({
    expr: '{ options }: import ./nix/provision-config.nix (builtins.fromJSON options)',
    argstr: { options: JSON.stringify(options) },
  });
}

function provisionError(options: object): Promise<string> {
  return evalError({
    expr: '{ options }: import ./nix/provision-config.nix (builtins.fromJSON options)',
    argstr: { options: JSON.stringify(options) },
  });
}

function expectValid(config: unknown): void {
  const parsed = provisionSettingsSchema.safeParse(config);
  expect(parsed.success, JSON.stringify(parsed.error?.issues)).toBe(true);
}

// Where nixpkgs' services.gitlab-runner keeps config.toml (the schema's default is for other hosts).
const nixosRunnerConfig = '/var/lib/gitlab-runner/.gitlab-runner/config.toml';
const nixStorePath = '/nix/store/0c0sz7k4yc4kjn6dzq5nfd7wkq21j9b0-nix-2.24.10';
const otherNixStorePath = '/nix/store/9s5y1wmzbwg4s64wk6yx2n6gjv3vsgdq-nix-2.28.4';
const streamScript = '/nix/store/h8lxh6zrl4lk0n2j3m7grw5p4dzm5s1x-stream-nix-runner-daemon';

describe.skipIf(nixTool.skip)(`nix/provision-config.nix${nixTool.note}`, () => {
  it('gives one daemon on the default config.toml when no option is set', async () => {
    const configs = await provisionConfigs({});

    expect(configs).toEqual({
      'nix-daemon': { daemon: 'nix-daemon', runnerConfig: nixosRunnerConfig, runners: [], nixSettings: {}, sandbox: false, declaredRunners: [] },
    });
    expectValid(configs['nix-daemon']);
  });

  it('passes the schema for a daemon with runners, settings and a store-path image on podman', async () => {
    const configs = await provisionConfigs({
      engine: 'podman',
      engineTimeout: 120,
      runnerConfigFile: '/srv/gitlab-runner/config.toml',
      daemons: {
        'nix-daemon': {
          runners: ['nix', 'nix-big'],
          image: { storePath: nixStorePath },
          settings: {
            substituters: ['https://cache.nixos.org', 'https://nix-community.cachix.org'],
            'max-jobs': [4],
            'keep-outputs': [true],
            'fallback': false,
            'netrc-file': [null],
          },
          sandbox: true,
          pidsLimit: 4096,
          memoryLimit: '16g',
        },
      },
      runnerNames: { nix: 'nix_ci-host_0123456789ab' },
    });

    const config = configs['nix-daemon'];
    expectValid(config);
    expect(config).toEqual({
      daemon: 'nix-daemon',
      runnerConfig: '/srv/gitlab-runner/config.toml',
      runners: ['nix_ci-host_0123456789ab', 'nix-big'],
      imageStorePath: nixStorePath,
      dockerHost: 'unix:///run/podman/podman.sock',
      engineTimeout: 120,
      nixSettings: {
        substituters: ['https://cache.nixos.org', 'https://nix-community.cachix.org'],
        'max-jobs': 4,
        'keep-outputs': true,
        fallback: false,
      },
      sandbox: true,
      pidsLimit: 4096,
      memoryLimit: '16g',
      declaredRunners: [],
    });
  });

  it('hands each daemon the runners declared for it, with only the keys that are set', async () => {
    const configs = await provisionConfigs({
      daemons: { 'nix-daemon': {}, big: { runners: [] } },
      declaredRunners: {
        ci: { daemon: 'nix-daemon', url: 'https://gitlab.example.com', tokenFile: '/run/secrets/ci-token', image: 'alpine:3.20', limit: 4, requestConcurrency: null, docker: { privileged: false } },
        'ci-big': { daemon: 'big', url: 'https://gitlab.example.com', tokenFile: '/run/secrets/big-token', image: null, limit: null, docker: {} },
      },
    });

    expectValid(configs['nix-daemon']);
    expectValid(configs.big);
    expect(configs['nix-daemon']!.declaredRunners).toEqual([
      { name: 'ci', url: 'https://gitlab.example.com', tokenFile: '/run/secrets/ci-token', image: 'alpine:3.20', limit: 4, docker: { privileged: false } },
    ]);
    expect(configs.big!.declaredRunners).toEqual([{ name: 'ci-big', url: 'https://gitlab.example.com', tokenFile: '/run/secrets/big-token', docker: {} }]);
  });

  it("hands over a daemon's binary cache without its unset files", async () => {
    const configs = await provisionConfigs({
      daemons: {
        producer: { cache: { url: 'https://cache.example.com', publicKeys: ['ci-1:AAAA'], secretKeyFile: '/run/secrets/ci.sk', credentialsFile: null, push: true } },
        consumer: { cache: { url: 's3://ci-cache?region=eu-west-1', publicKeys: ['ci-1:AAAA'], secretKeyFile: null, credentialsFile: '/run/secrets/aws', push: false } },
      },
    });
    expectValid(configs.producer);
    expectValid(configs.consumer);
    expect(configs.producer!.cache).toEqual({ url: 'https://cache.example.com', publicKeys: ['ci-1:AAAA'], secretKeyFile: '/run/secrets/ci.sk', push: true });
    expect(configs.consumer!.cache).toEqual({ url: 's3://ci-cache?region=eu-west-1', publicKeys: ['ci-1:AAAA'], credentialsFile: '/run/secrets/aws', push: false });
  });

  it("hands over a daemon's job images, their paths as strings", async () => {
    const configs = await provisionConfigs({ daemons: { 'nix-daemon': { jobImages: [{ tag: 'ci/base:1', paths: [nixStorePath, 'path:/srv/ci#tools'] }] } } });
    expectValid(configs['nix-daemon']);
    expect(configs['nix-daemon']!.jobImages).toEqual([{ tag: 'ci/base:1', paths: [nixStorePath, 'path:/srv/ci#tools'] }]);
    expect((await provisionConfigs({}))['nix-daemon']).not.toHaveProperty('jobImages');
  });

  it('refuses a declared runner of a daemon that is not there', async () => {
    const message = await provisionError({ declaredRunners: { ci: { daemon: 'nope', url: 'https://gitlab.example.com', tokenFile: '/run/secrets/t' } } });
    expect(message).toContain('services.nix-runner.runners: ci name a daemon that services.nix-runner.daemons does not have');
  });

  it.each([
    ['ref', 'registry.example.com/nix-daemon:2.24', 'imageRef'],
    ['archive', '/srv/images/nix-daemon.tar.gz', 'imageArchive'],
    ['storePath', nixStorePath, 'imageStorePath'],
    ['flake', streamScript, 'imageFlake'],
    ['flake', 'github:owner/repo#nix-daemon-image', 'imageFlake'],
  ])('maps image.%s = %s to %s', async (source, value, key) => {
    const configs = await provisionConfigs({ daemons: { builder: { image: { [source]: value } } } });

    const config = configs.builder!;
    expectValid(config);
    expect(config[key]).toBe(value);
    expect(Object.keys(config).filter((name) => name.startsWith('image'))).toEqual([key]);
  });

  it('ignores the image sources the module leaves null', async () => {
    const configs = await provisionConfigs({
      daemons: { 'nix-daemon': { image: { ref: null, archive: null, storePath: nixStorePath, flake: null } } },
    });

    expectValid(configs['nix-daemon']);
    expect(configs['nix-daemon']).toMatchObject({ imageStorePath: nixStorePath });
    expect(configs['nix-daemon']).not.toHaveProperty('imageRef');
  });

  it('gives each daemon its own config', async () => {
    const configs = await provisionConfigs({
      daemons: { small: { runners: ['a'] }, big: { runners: ['b'], settings: { 'max-jobs': 8 } } },
    });

    expect(Object.keys(configs).sort()).toEqual(['big', 'small']);
    for (const config of Object.values(configs)) expectValid(config);
    expect(configs.big).toMatchObject({ daemon: 'big', runners: ['b'], nixSettings: { 'max-jobs': 8 } });
    expect(configs.small).toMatchObject({ daemon: 'small', runners: ['a'], nixSettings: {} });
  });

  it('changes when the image path changes (a flake update)', async () => {
    const before = await provisionConfigs({ daemons: { 'nix-daemon': { image: { storePath: nixStorePath } } } });
    const after = await provisionConfigs({ daemons: { 'nix-daemon': { image: { storePath: otherNixStorePath } } } });
    const same = await provisionConfigs({ daemons: { 'nix-daemon': { image: { storePath: nixStorePath } } } });

    expect(JSON.stringify(after)).not.toBe(JSON.stringify(before));
    expect(after['nix-daemon']!.imageStorePath).toBe(otherNixStorePath);
    expect(JSON.stringify(same)).toBe(JSON.stringify(before));
  });

  it('refuses two image sources for one daemon', async () => {
    const error = await provisionError({ daemons: { 'nix-daemon': { image: { ref: 'nix:1', storePath: nixStorePath } } } });

    expect(error).toContain('services.nix-runner.daemons.nix-daemon.image: give one of ref, archive, storePath and flake');
  });

  it('refuses an engine other than docker and podman', async () => {
    const error = await provisionError({ engine: 'containerd' });

    expect(error).toContain('expected docker or podman, got containerd');
  });
});
