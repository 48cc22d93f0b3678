import { describe, expect, it } from 'vitest';
import { isStorePath, storeBaseName, storePathOf } from '../../../src/nix-cli/store-path.js';

const NIX = '/nix/store/2pnnszrhiwsvj33al97fp639gjhss6db-nix-2.24.9';

describe('storePathOf', () => {
  it('cuts a file inside a store path down to the store path', () => {
    expect(storePathOf(`${NIX}/bin/nix`)).toBe(NIX);
  });

  it('returns the store path itself unchanged', () => {
    expect(storePathOf(NIX)).toBe(NIX);
  });

  it('is undefined outside the store', () => {
    expect(storePathOf('/usr/bin/nix')).toBeUndefined();
    expect(storePathOf(`/opt${NIX}`)).toBeUndefined();
  });

  it('rejects hashes of the wrong length or with letters nix base32 lacks (e, o, t, u)', () => {
    expect(storePathOf('/nix/store/2pnnszrhiwsvj33al97fp639gjhss6d-nix')).toBeUndefined();
    for (const letter of ['e', 'o', 't', 'u']) {
      expect(storePathOf(`/nix/store/${letter}pnnszrhiwsvj33al97fp639gjhss6db-nix`)).toBeUndefined();
    }
  });

  it('needs a name after the hash', () => {
    expect(storePathOf('/nix/store/2pnnszrhiwsvj33al97fp639gjhss6db-')).toBeUndefined();
    expect(storePathOf('/nix/store/2pnnszrhiwsvj33al97fp639gjhss6db')).toBeUndefined();
  });
});

describe('isStorePath', () => {
  it('is true only for the store path itself', () => {
    expect(isStorePath(NIX)).toBe(true);
    expect(isStorePath(`${NIX}/bin`)).toBe(false);
    expect(isStorePath(`${NIX}/`)).toBe(false);
    expect(isStorePath('/nix/store')).toBe(false);
  });
});

describe('storeBaseName', () => {
  it('drops the /nix/store/ prefix', () => {
    expect(storeBaseName(NIX)).toBe('2pnnszrhiwsvj33al97fp639gjhss6db-nix-2.24.9');
  });
});
