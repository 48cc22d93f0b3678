// GitLab Runner's [runners.docker] pull_policy: a string or a list, tried in order until one gets the
// image (executors/docker/internal/pull/manager.go); none means "always". allowed_pull_policies, when
// set, keeps only the policies it lists. A job image of the shared store is in no registry: a pull
// either fails or, worse, takes an image of that name from a public registry.

const LOCAL = ['if-not-present', 'never'];

/** The policies a pull_policy value lists, or undefined when it is neither a string nor a list of strings. */
export function pullPolicies(value: unknown): string[] | undefined {
  if (value === undefined) return [];
  if (typeof value === 'string') return [value];
  return Array.isArray(value) && value.every((item) => typeof item === 'string') ? value : undefined;
}

/** Whether the runner uses a local image before it pulls: its first policy takes what the engine has. */
export function usesLocalFirst(policies: string[]): boolean {
  return LOCAL.includes(policies[0] ?? 'always');
}

/** The runner's own policies behind `if-not-present`: the local job image is used, other images still pulled as before when missing. */
export function localFirst(policies: string[]): string[] {
  return ['if-not-present', ...policies.filter((policy) => policy !== 'if-not-present')];
}

/**
 * Why a runner whose default image is a job image would pull it anyway, or undefined: its pull_policy
 * pulls first, or its allowed_pull_policies lets no local policy through.
 */
export function pullPolicyProblem(pullPolicy: unknown, allowed: unknown): string | undefined {
  const policies = pullPolicies(pullPolicy) ?? [];
  const allowedPolicies = pullPolicies(allowed) ?? [];
  const effective = allowedPolicies.length === 0 ? policies : policies.filter((policy) => allowedPolicies.includes(policy));
  if (allowedPolicies.length > 0 && !allowedPolicies.some((policy) => LOCAL.includes(policy))) {
    return `allowed_pull_policies ${JSON.stringify(allowedPolicies)} lets neither if-not-present nor never through, so it is pulled; allow if-not-present`;
  }
  if (!usesLocalFirst(effective)) return `pull_policy ${JSON.stringify(policies.length > 0 ? policies : ['always'])} pulls it before looking at the engine's; put if-not-present first`;
  return undefined;
}
