import { z } from 'zod';

export const DEFAULT_RUNNER_CONFIG = '/etc/gitlab-runner/config.toml';
export const DEFAULT_DAEMON = 'nix-daemon';

// Docker container names: [a-zA-Z0-9][a-zA-Z0-9_.-]* ; the daemon name also prefixes its volumes.
const containerName = z
  .string()
  .regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$/, 'a container name: letters, digits, "_", "." and "-", at most 63');

const storePath = z.string().regex(/^\/nix\/store\/[0-9a-df-np-sv-z]{32}-[^/]+$/, 'a /nix/store/<hash>-<name> path');

/**
 * A runner nix-runner writes into config.toml itself, without `gitlab-runner register`: its token (a
 * runner authentication token, glrt-…) is read from `tokenFile`, a file outside the Nix store.
 */
export const declaredRunnerSchema = z
  .object({
    name: z.string().min(1),
    url: z.url({ protocol: /^https?$/, error: 'a GitLab URL (http or https)' }),
    tokenFile: z.string().regex(/^\//, 'an absolute path'),
    /** `[runners.docker] image`: the default job image. */
    image: z.string().min(1).optional(),
    /** `limit`: at most this many jobs of this runner at once (0: no limit). */
    limit: z.int().min(0).optional(),
    /** `request_concurrency`: concurrent job requests to GitLab. */
    requestConcurrency: z.int().min(1).optional(),
    /** Any other `[runners.docker]` keys, as GitLab Runner names them (privileged, memory, shm_size, …). */
    docker: z.record(z.string().min(1), z.unknown()).default({}),
  })
  .strict()
  .refine((runner) => !(runner.image !== undefined && 'image' in runner.docker), { message: 'give image or docker.image, not both', path: ['docker', 'image'] });

export type DeclaredRunnerSettings = z.output<typeof declaredRunnerSchema>;

const nixSettingValue = z.union([z.string(), z.number(), z.boolean(), z.array(z.string())]);

/**
 * The provisioner settings: the same as `provision`'s flags, as a TOML or JSON file (`--config`).
 * Flags win over the file. The NixOS module generates this file.
 */
export const provisionSettingsSchema = z
  .object({
    runnerConfig: z.string().min(1).default(DEFAULT_RUNNER_CONFIG),
    /** Runners to attach, by name; empty or absent: every runner whose executor is docker. */
    runners: z.array(z.string().min(1)).default([]),
    daemon: containerName.default(DEFAULT_DAEMON),
    /** Image sources: at most one. None: built from the host's own nix. */
    imageRef: z.string().min(1).optional(),
    imageArchive: z.string().min(1).optional(),
    imageStorePath: storePath.optional(),
    imageFlake: z.string().min(1).optional(),
    /** Extra nix.conf settings of the daemon, e.g. { substituters = "https://cache.nixos.org" }. */
    nixSettings: z.record(z.string().regex(/^[a-z][a-z0-9-]*$/, 'a nix.conf setting name'), nixSettingValue).default({}),
    /**
     * Runners nix-runner writes into config.toml; those it wrote earlier and no longer declared here are
     * removed. Absent (e.g. a run by hand without --config): the runners declared earlier stay as they are.
     */
    declaredRunners: z.array(declaredRunnerSchema).optional(),
    /** Engine address; default: DOCKER_HOST, else the local socket. */
    dockerHost: z.string().min(1).optional(),
  })
  .strict()
  .superRefine((settings, ctx) => {
    const sources = (['imageRef', 'imageArchive', 'imageStorePath', 'imageFlake'] as const).filter((key) => settings[key] !== undefined);
    if (sources.length > 1) {
      ctx.addIssue({ code: 'custom', message: `give one image source, not ${sources.join(' and ')}`, path: [sources[1]!] });
    }
    const declared = settings.declaredRunners ?? [];
    declared.forEach((runner, index) => {
      if (declared.findIndex((other) => other.name === runner.name) !== index) {
        ctx.addIssue({ code: 'custom', message: `runner name "${runner.name}" is declared twice`, path: ['declaredRunners', index, 'name'] });
      }
    });
  });

export type ProvisionSettings = z.output<typeof provisionSettingsSchema>;
export type ProvisionSettingsInput = z.input<typeof provisionSettingsSchema>;
