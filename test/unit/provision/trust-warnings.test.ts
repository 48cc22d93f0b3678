import { describe, expect, it } from 'vitest';
import { trustWarnings } from '../../../src/provision/trust-warnings.js';

describe('trustWarnings', () => {
  it('says what a daemon without the sandbox leaves open', () => {
    expect(trustWarnings({ sandbox: false, nixSettings: {} })).toEqual([expect.stringMatching(/^builds run without the sandbox: .*--sandbox/)]);
  });

  it('says nothing with the sandbox and no netrc', () => {
    expect(trustWarnings({ sandbox: true, nixSettings: { 'max-jobs': 4 } })).toEqual([]);
  });

  it('says that a daemon that pushes to a fleet cache without the sandbox signs what a builder may have changed', () => {
    const cache = { url: 'https://cache.example.com', publicKeys: ['ci-1:x'], push: true };
    expect(trustWarnings({ sandbox: false, nixSettings: {}, cache })).toContainEqual(expect.stringMatching(/^cache\.push without the sandbox: .*uploaded to https:\/\/cache\.example\.com/));
    expect(trustWarnings({ sandbox: true, nixSettings: {}, cache })).toEqual([]);
    expect(trustWarnings({ sandbox: false, nixSettings: {}, cache: { ...cache, push: false } })).toHaveLength(1);
  });

  it('says that a netrc file reaches builtin:fetchurl builds, with or without the sandbox', () => {
    expect(trustWarnings({ sandbox: true, nixSettings: { 'netrc-file': '/etc/nix-runner/netrc' } })).toEqual([expect.stringMatching(/^netrc-file: .*builtin:fetchurl/)]);
  });
});
