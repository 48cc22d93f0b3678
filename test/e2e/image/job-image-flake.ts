import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * A flake with no inputs (built offline, with a static busybox copied into it) whose packages make a
 * chain of job images: `shell` (busybox as bin/sh), `tool-a` (prints `a-<the a-message file>`),
 * `tool-b` (calls tool-a: its closure holds tool-a's), and `tool-c` (unrelated). Changing the
 * a-message file changes tool-a and so tool-b; shell and tool-c stay the same store paths.
 */
export async function writeJobImageFlake(dir: string, { aMessage, nonce, busybox = '/bin/busybox' }: { aMessage: string; nonce: string; busybox?: string }): Promise<string> {
  await mkdir(join(dir, 'bb'), { recursive: true });
  // in a directory of its own, so that it keeps its name: busybox picks the applet by argv[0]
  await copyFile(busybox, join(dir, 'bb', 'busybox'));
  await setAMessage(dir, aMessage);
  await writeFile(
    join(dir, 'flake.nix'),
    `{
  outputs = { self }:
    let
      system = "x86_64-linux";
      bb = "\${./bb}/busybox";
      nonce = ${JSON.stringify(nonce)};
      package = name: script: derivation { inherit name system bb nonce; builder = bb; args = [ "sh" "-c" script ]; };
      tool = name: body: package "e2e-\${name}" ''
        $bb mkdir -p $out/bin
        $bb printf '%s\\n' '#!\${shell}/bin/sh' '\${body}' > $out/bin/\${name}
        $bb chmod 555 $out/bin/\${name}
      '';
      shell = package "e2e-shell" ''
        $bb mkdir -p $out/bin
        $bb cp $bb $out/bin/busybox
        $bb ln -s busybox $out/bin/sh
      '';
      tool-a = tool "tool-a" "echo a-\${builtins.readFile ./a-message}";
      tool-b = tool "tool-b" "echo b-then-$(\${tool-a}/bin/tool-a)";
      tool-c = tool "tool-c" "echo c-unrelated";
    in {
      packages.\${system} = { inherit shell tool-a tool-b tool-c; };
    };
}
`,
  );
  return `path:${dir}`;
}

/** The message tool-a prints (no newline: it is spliced into a script line). */
export async function setAMessage(dir: string, message: string): Promise<void> {
  await writeFile(join(dir, 'a-message'), message);
}
