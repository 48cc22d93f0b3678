import { describe, expect, it } from 'vitest';
import { DEFAULT_NIX_SETTINGS, renderNixConf } from '../../../src/daemon/nix-conf.js';

describe('renderNixConf', () => {
  it('renders the defaults sorted by key, empty values without a trailing space, ending in a newline', () => {
    expect(renderNixConf()).toBe(
      [
        'allowed-users = *',
        'build-poll-interval = 1',
        'build-users-group = nixbld',
        'max-free = 4294967296',
        'max-silent-time = 3600',
        'min-free = 1073741824',
        'sandbox = false',
        'substituters =',
        'timeout = 36000',
        'trusted-users =',
        '',
      ].join('\n'),
    );
  });

  it('lets a setting override a default and keeps the others', () => {
    const conf = renderNixConf({ substituters: ['https://cache.nixos.org', 'https://example.cachix.org'] });
    expect(conf).toContain('substituters = https://cache.nixos.org https://example.cachix.org\n');
    expect(conf).toContain('sandbox = false\n');
    expect(conf.match(/^substituters =/gm)).toHaveLength(1);
  });

  it('renders booleans as true/false, numbers as digits and adds unknown keys in sorted order', () => {
    const conf = renderNixConf({ 'keep-outputs': true, 'max-jobs': 4, 'experimental-features': ['nix-command', 'flakes'] });
    const lines = conf.trimEnd().split('\n');
    expect(lines).toContain('keep-outputs = true');
    expect(lines).toContain('max-jobs = 4');
    expect(lines).toContain('experimental-features = nix-command flakes');
    expect(lines.map((line) => line.split(' = ')[0]!.replace(/ =$/, ''))).toEqual(
      [...Object.keys(DEFAULT_NIX_SETTINGS), 'keep-outputs', 'max-jobs', 'experimental-features'].sort(),
    );
  });

  it('renders an empty string and an empty list the same way: `key =`', () => {
    const conf = renderNixConf({ 'allowed-users': [], 'build-users-group': '' });
    expect(conf).toMatch(/^allowed-users =$/m);
    expect(conf).toMatch(/^build-users-group =$/m);
  });

  it('never trusts anyone by default, whatever else is given', () => {
    expect(renderNixConf({ 'max-jobs': 2 })).toMatch(/^trusted-users =$/m);
  });

  it('turns the sandbox on only through its option, without a fallback to no sandbox', () => {
    expect(renderNixConf({ sandbox: true } as never)).toMatch(/^sandbox = false$/m);
    const sandboxed = renderNixConf({}, { sandbox: true });
    expect(sandboxed).toMatch(/^sandbox = true$/m);
    expect(sandboxed).toMatch(/^sandbox-fallback = false$/m);
  });

  it('does not change the shared defaults', () => {
    renderNixConf({}, { sandbox: true });
    expect(DEFAULT_NIX_SETTINGS.sandbox).toBe(false);
  });
});
