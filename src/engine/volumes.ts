import type { EngineCore } from './engine-core.js';

// Named volumes: ensure, inspect, list, remove.

export async function ensureVolume(core: EngineCore, name: string, labels: Record<string, string>): Promise<boolean> {
  const existing = await core.optional(`inspect volume ${name}`, () => core.docker.getVolume(name).inspect());
  if (existing) return false;
  await core.call(`create volume ${name}`, () => core.docker.createVolume({ Name: name, Labels: labels }));
  return true;
}

export async function volumeExists(core: EngineCore, name: string): Promise<boolean> {
  return (await core.optional(`inspect volume ${name}`, () => core.docker.getVolume(name).inspect())) !== undefined;
}

/** A volume's labels and where the engine keeps it on its host (readable only there, usually by root). */
export async function inspectVolume(core: EngineCore, name: string): Promise<{ name: string; labels: Record<string, string>; mountpoint: string } | undefined> {
  const volume = await core.optional(`inspect volume ${name}`, () => core.docker.getVolume(name).inspect());
  return volume ? { name: volume.Name, labels: volume.Labels ?? {}, mountpoint: volume.Mountpoint } : undefined;
}

/** Names of volumes that start with `prefix`. */
export async function listVolumeNames(core: EngineCore, prefix: string): Promise<string[]> {
  const { Volumes } = await core.call(`list volumes ${prefix}*`, () => core.docker.listVolumes({ filters: JSON.stringify({ name: [prefix] }) }));
  return (Volumes ?? []).map((volume) => volume.Name).filter((name) => name.startsWith(prefix));
}

/** Volumes whose names start with `prefix`, with their labels. */
export async function listVolumes(core: EngineCore, prefix: string): Promise<{ name: string; labels: Record<string, string> }[]> {
  const { Volumes } = await core.call(`list volumes ${prefix}*`, () => core.docker.listVolumes({ filters: JSON.stringify({ name: [prefix] }) }));
  return (Volumes ?? []).filter((volume) => volume.Name.startsWith(prefix)).map((volume) => ({ name: volume.Name, labels: volume.Labels ?? {} }));
}

export async function removeVolume(core: EngineCore, name: string): Promise<void> {
  await core.optional(`remove volume ${name}`, () => core.docker.getVolume(name).remove());
}
