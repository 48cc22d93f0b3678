import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

// The builder script: a one-layer docker-archive made with busybox alone, its digests computed at build time.
const MAKE_ARCHIVE = String.raw`
set -e
bb=$builder
mkdir -p root/etc work
echo "$message" > root/etc/message
$bb tar -cf work/layer.tar -C root etc
diff=$($bb sha256sum work/layer.tar | $bb cut -d' ' -f1)
mkdir -p "work/$diff" && $bb mv work/layer.tar "work/$diff/layer.tar"
printf '{"architecture":"amd64","config":{"Labels":{"org.nix-runner.test":"%s"}},"os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' "$label" "$diff" > work/config.json
config=$($bb sha256sum work/config.json | $bb cut -d' ' -f1)
$bb mv work/config.json "work/$config.json"
printf '[{"Config":"%s.json","RepoTags":["%s"],"Layers":["%s/layer.tar"]}]' "$config" "$tag" "$diff" > work/manifest.json
$bb tar -cf "$out" -C work manifest.json "$config.json" "$diff"
`;

export type FlakeKind = 'tarball' | 'garbage' | 'failing';

/**
 * A flake with no inputs (built offline) whose default package is a docker-archive tarball made with a static
 * busybox copied into the flake: `garbage` builds a file that is no archive, `failing` a builder that exits 1.
 */
export async function writeImageFlake(dir: string, { kind, label, tag, busybox = '/bin/busybox' }: { kind: FlakeKind; label: string; tag: string; busybox?: string }): Promise<string> {
  await mkdir(dir, { recursive: true });
  // in a directory of its own, so that it keeps its name: busybox picks the applet by argv[0]
  await mkdir(join(dir, 'bb'), { recursive: true });
  await copyFile(busybox, join(dir, 'bb', 'busybox'));
  const script = kind === 'tarball' ? MAKE_ARCHIVE : kind === 'garbage' ? 'echo "this is not an image" > $out' : 'echo "nix-runner test: the build fails on purpose" >&2; exit 1';
  await writeFile(join(dir, 'script.sh'), script);
  await writeFile(
    join(dir, 'flake.nix'),
    `{
  outputs = { self }: {
    packages.x86_64-linux.default = derivation {
      name = "nix-runner-test-image.tar";
      system = "x86_64-linux";
      builder = "\${./bb}/busybox";
      args = [ "sh" ./script.sh ];
      message = "hello from a flake";
      label = ${JSON.stringify(label)};
      tag = ${JSON.stringify(tag)};
    };
  };
}
`,
  );
  return `path:${dir}`;
}
