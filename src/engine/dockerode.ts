import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type Docker from 'dockerode';

const require = createRequire(import.meta.url);

/**
 * dockerode loads gRPC for BuildKit sessions and docker-modem loads ssh2 for ssh:// hosts as soon as
 * they are imported: about 0.1 s of every run (measured), for features nix-runner never uses. Both are
 * left out (calling either throws); the rest of dockerode is loaded as is.
 */
function leaveOut(file: string, feature: string): void {
  const unused = () => {
    throw new Error(`nix-runner does not use ${feature}`);
  };
  require.cache[file] = { id: file, filename: file, loaded: true, exports: unused } as unknown as NodeJS.Module;
}

const dockerodeDir = dirname(require.resolve('dockerode'));
leaveOut(join(dockerodeDir, 'session.js'), "dockerode's BuildKit sessions");
leaveOut(join(dirname(require.resolve('docker-modem', { paths: [dockerodeDir] })), 'ssh.js'), 'ssh:// engine addresses');

export const Dockerode = require('dockerode') as typeof Docker;
