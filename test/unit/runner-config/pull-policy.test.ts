import { describe, expect, it } from 'vitest';
import { localFirst, pullPolicies, pullPolicyProblem, usesLocalFirst } from '../../../src/runner-config/pull-policy.js';

describe("a runner's pull policies for a job image (in no registry)", () => {
  it('read a string, a list, or nothing (GitLab Runner: always)', () => {
    expect(pullPolicies(undefined)).toEqual([]);
    expect(pullPolicies('never')).toEqual(['never']);
    expect(pullPolicies(['always', 'never'])).toEqual(['always', 'never']);
    expect(pullPolicies(3)).toBeUndefined();
    expect(pullPolicies(['always', 3])).toBeUndefined();
    expect(usesLocalFirst([])).toBe(false);
    expect(usesLocalFirst(['never'])).toBe(true);
    expect(usesLocalFirst(['always', 'if-not-present'])).toBe(false);
  });

  it("put if-not-present first, the runner's own after it, once", () => {
    expect(localFirst(['always'])).toEqual(['if-not-present', 'always']);
    expect(localFirst(['always', 'if-not-present'])).toEqual(['if-not-present', 'always']);
    expect(localFirst([])).toEqual(['if-not-present']);
  });

  it('say why the image would be pulled: a policy that pulls first, or allowed_pull_policies without a local one', () => {
    expect(pullPolicyProblem(['if-not-present'], undefined)).toBeUndefined();
    expect(pullPolicyProblem('never', ['never', 'always'])).toBeUndefined();
    expect(pullPolicyProblem(undefined, undefined)).toMatch(/pull_policy \["always"\] pulls it/);
    expect(pullPolicyProblem(['always', 'if-not-present'], undefined)).toMatch(/put if-not-present first/);
    expect(pullPolicyProblem(['if-not-present', 'always'], ['always'])).toMatch(/allowed_pull_policies \["always"\] lets neither/);
    // allowed_pull_policies keeps only what it lists, in the runner's order
    expect(pullPolicyProblem(['always', 'if-not-present'], ['if-not-present'])).toBeUndefined();
  });
});
