// Which engine the e2e tests run on: NIX_RUNNER_ENGINE=docker (default) or podman. A setup file, so that
// nix-runner, the engine client and any `docker` CLI a test calls all reach the same engine.
const PODMAN_HOST = 'unix:///run/podman/podman.sock';

export const e2eEngine = process.env.NIX_RUNNER_ENGINE ?? 'docker';
if (e2eEngine !== 'docker' && e2eEngine !== 'podman') throw new Error(`NIX_RUNNER_ENGINE is docker or podman, not ${e2eEngine}`);
// NIX_RUNNER_PODMAN_HOST: another Podman service, e.g. a rootless one at unix:///run/user/<uid>/podman/podman.sock
if (e2eEngine === 'podman') process.env.DOCKER_HOST = process.env.NIX_RUNNER_PODMAN_HOST ?? PODMAN_HOST;
