import { describe, expect, it } from 'vitest';
import { trustWarnings } from '../../../src/provision/trust-warnings.js';

describe('trustWarnings', () => {
  it('says what a daemon without the sandbox leaves open', () => {
    expect(trustWarnings({ sandbox: false, nixSettings: {} })).toEqual([expect.stringMatching(/^builds run without the sandbox: .*--sandbox/)]);
  });

  it('says nothing with the sandbox and no netrc', () => {
    expect(trustWarnings({ sandbox: true, nixSettings: { 'max-jobs': 4 } })).toEqual([]);
  });

  it('says that a netrc file reaches builtin:fetchurl builds, with or without the sandbox', () => {
    expect(trustWarnings({ sandbox: true, nixSettings: { 'netrc-file': '/etc/nix-runner/netrc' } })).toEqual([expect.stringMatching(/^netrc-file: .*builtin:fetchurl/)]);
  });
});
