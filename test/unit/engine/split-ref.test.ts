import { describe, expect, it } from 'vitest';
import { splitRef } from '../../../src/engine/images.js';

describe('splitRef', () => {
  it('splits repo and tag at the last colon', () => {
    expect(splitRef('nix-runner/nix-daemon:abc')).toEqual({ repo: 'nix-runner/nix-daemon', tag: 'abc' });
  });

  it('keeps a registry port in the repo', () => {
    expect(splitRef('registry.local:5000/team/image:1.2')).toEqual({ repo: 'registry.local:5000/team/image', tag: '1.2' });
    expect(splitRef('registry.local:5000/team/image')).toEqual({ repo: 'registry.local:5000/team/image', tag: 'latest' });
  });

  it('defaults the tag to latest', () => {
    expect(splitRef('alpine')).toEqual({ repo: 'alpine', tag: 'latest' });
  });
});
