import { z } from 'zod';
import { MAX_ENGINE_TIMEOUT } from '../engine/engine-timeouts.js';
import { PROTECTED_NIX_SETTINGS } from '../daemon/nix-conf.js';

import { DEFAULT_DAEMON, DEFAULT_PIDS_LIMIT, DEFAULT_RUNNER_CONFIG, parseByteSize } from './defaults.js';

export { DEFAULT_DAEMON, DEFAULT_PIDS_LIMIT, DEFAULT_RUNNER_CONFIG, parseByteSize };

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

const byteSize = z.union([z.string(), z.number()]).transform((value, ctx) => {
  const bytes = parseByteSize(value);
  if (bytes === undefined || bytes < 64 * 1024 * 1024) {
    ctx.addIssue({ code: 'custom', message: 'a size of at least 64m: bytes, or a number with k, m, g or t' });
    return z.NEVER;
  }
  return bytes;
});

// A host file the daemon gets a root-only copy of: never one in the Nix store, which anyone can read.
const secretFile = z
  .string()
  .regex(/^\//, 'an absolute path')
  .refine((path) => !path.startsWith('/nix/store/'), 'a file outside the Nix store (anyone can read the store)');

/**
 * A binary cache shared by a fleet of runner hosts. Every daemon substitutes from it (signatures
 * checked against publicKeys); with push, the paths this daemon builds are signed with the secret key
 * and uploaded. Jobs can do neither: they are not trusted users.
 */
export const binaryCacheSchema = z
  .object({
    /** Any Nix store URL: https://…, s3://bucket?region=…&endpoint=…, file:///absolute/dir. */
    url: z.string().regex(/^(https?:\/\/|s3:\/\/|file:\/\/\/)[^\s'"`$\\]+$/, 'a Nix store URL: https://…, s3://bucket?…, or file:///absolute/dir (no quotes or spaces)'),
    /** Keys whose signatures the daemon trusts (`name:base64`, as nix-store --generate-binary-cache-key writes). */
    publicKeys: z.array(z.string().regex(/^[^\s:]+:[A-Za-z0-9+/]+={0,2}$/, 'a public key: name:base64')).default([]),
    /** The secret key that signs what this daemon builds (producers only). */
    secretKeyFile: secretFile.optional(),
    /** Credentials for an s3:// cache (an AWS credentials file). */
    credentialsFile: secretFile.optional(),
    /** Upload each path this daemon builds, signed. */
    push: z.boolean().default(false),
  })
  .strict()
  .refine((cache) => !cache.push || cache.secretKeyFile !== undefined, { message: 'push needs secretKeyFile: only signed paths go to the cache', path: ['push'] });

export type BinaryCacheSettings = z.output<typeof binaryCacheSchema>;

const engineSeconds = z.number().positive().max(MAX_ENGINE_TIMEOUT, `at most ${MAX_ENGINE_TIMEOUT} (a day)`);

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
     * Nix's build sandbox (sandbox = true): builders see only their inputs. The daemon container then
     * needs CAP_SYS_ADMIN and unconfined seccomp, AppArmor and system paths.
     */
    sandbox: z.boolean().default(false),
    /** At most this many processes in the daemon container, builds included. */
    pidsLimit: z.int().min(64).default(DEFAULT_PIDS_LIMIT),
    /** Memory of the daemon container, builds included: bytes, or a size like "8g" (default: half the host's memory). */
    memoryLimit: byteSize.optional(),
    /**
     * Runners nix-runner writes into config.toml; those it wrote earlier and no longer declared here are
     * removed. Absent (e.g. a run by hand without --config): the runners declared earlier stay as they are.
     */
    declaredRunners: z.array(declaredRunnerSchema).optional(),
    /**
     * Job images whose content lives in the shared store (image/job-image.ts): provision builds what
     * changed, loads it, and roots its closure in the daemon; images no longer declared are released.
     * Absent: job images made earlier stay as they are.
     */
    jobImages: z
      .array(z.object({ tag: z.string().regex(/^[a-z0-9][a-z0-9._/-]*(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?$/, 'an image reference, e.g. ci/base:1'), paths: z.array(z.string().min(1)).min(1) }).strict())
      .optional(),
    /** A binary cache shared with other hosts (see binaryCacheSchema). */
    cache: binaryCacheSchema.optional(),
    /** Engine address; default: DOCKER_HOST, else the local socket. */
    dockerHost: z.string().min(1).optional(),
    /**
     * Seconds each engine call may take; an image load or a copy may take longer while it makes progress,
     * a wait for a container only needs the engine to keep answering. Past it: exit 4. Default 60 (engine-timeouts.ts).
     */
    engineTimeout: engineSeconds.optional(),
    /** Seconds to connect to the engine and get its first answer; default: the smaller of 10 and engineTimeout. */
    engineConnectTimeout: engineSeconds.optional(),
  })
  .strict()
  .superRefine((settings, ctx) => {
    const sources = (['imageRef', 'imageArchive', 'imageStorePath', 'imageFlake'] as const).filter((key) => settings[key] !== undefined);
    if (sources.length > 1) {
      ctx.addIssue({ code: 'custom', message: `give one image source, not ${sources.join(' and ')}`, path: [sources[1]!] });
    }
    for (const key of Object.keys(settings.nixSettings).filter((name) => PROTECTED_NIX_SETTINGS.includes(name))) {
      const instead = key.startsWith('sandbox') ? '; use the sandbox setting' : '';
      ctx.addIssue({ code: 'custom', message: `${key} is set by nix-runner: the trust model depends on it${instead}`, path: ['nixSettings', key] });
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
