import { randomBytes } from 'node:crypto';

const BASE32 = '0123456789abcdfghijklmnpqrsvwxyz';
const EXPORT_MAGIC = 0x4558494en;

function int(value: number | bigint): Buffer {
  const buffer = Buffer.alloc(8);
  buffer.writeBigUInt64LE(BigInt(value));
  return buffer;
}

function str(value: string | Buffer): Buffer {
  const bytes = typeof value === 'string' ? Buffer.from(value) : value;
  return Buffer.concat([int(bytes.length), bytes, Buffer.alloc((8 - (bytes.length % 8)) % 8)]);
}

/** A store path that no store has: a random hash. */
export function randomStorePath(name: string): string {
  const hash = [...randomBytes(32)].map((byte) => BASE32[byte % 32]).join('');
  return `/nix/store/${hash}-${name}`;
}

/**
 * What `nix-store --export` writes for one path holding a regular file, unsigned: a NAR of the file, the
 * export magic, the path, no references, no deriver, no signature; what `nix-store --import` reads.
 */
export function unsignedExport(path: string, content: string): Buffer {
  const nar = Buffer.concat(['nix-archive-1', '(', 'type', 'regular', 'contents'].map((s) => str(s)).concat(str(Buffer.from(content)), str(')')));
  return Buffer.concat([int(1), nar, int(EXPORT_MAGIC), str(path), int(0), str(''), int(0), int(0)]);
}
