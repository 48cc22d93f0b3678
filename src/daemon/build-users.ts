/** Enough build users for nix's default max-jobs and then some: each concurrent build takes one. */
export const BUILD_USERS = 32;
export const BUILD_GROUP = 'nixbld';
const BUILD_GID = 30000;

/**
 * /etc/passwd and /etc/group of a daemon container: root, nobody and the build users nix runs builds
 * as (`build-users-group = nixbld`), so that no builder runs as root.
 */
export function daemonAccounts(count = BUILD_USERS): { passwd: string; group: string } {
  const users = Array.from({ length: count }, (_, i) => `${BUILD_GROUP}${i + 1}`);
  const passwd = [
    'root:x:0:0:root:/root:/bin/sh',
    'nobody:x:65534:65534:nobody:/var/empty:/bin/false',
    ...users.map((user, i) => `${user}:x:${BUILD_GID + i + 1}:${BUILD_GID}:nix build user ${i + 1}:/var/empty:/bin/false`),
  ];
  const group = ['root:x:0:', 'nogroup:x:65534:', `${BUILD_GROUP}:x:${BUILD_GID}:${users.join(',')}`];
  return { passwd: `${passwd.join('\n')}\n`, group: `${group.join('\n')}\n` };
}
