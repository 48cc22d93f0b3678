import { createHash } from 'node:crypto';

/** The OCI chain id of a layer on top of `parent` (the chain id of the layers below it): how docker names a stack of layers. */
export function nextChainId(parent: string | undefined, diffId: string): string {
  return parent === undefined ? diffId : `sha256:${createHash('sha256').update(`${parent} ${diffId}`).digest('hex')}`;
}

/** Chain ids of every prefix of `diffIds`: the layer stacks an image with these layers brings. */
export function chainIds(diffIds: readonly string[]): string[] {
  const chains: string[] = [];
  for (const diffId of diffIds) chains.push(nextChainId(chains.at(-1), diffId));
  return chains;
}
