export interface ResolvedImage {
  /** How the image is named in the engine: a tag or an id. */
  ref: string;
  /** Image id; absent in a dry run when the image would be built or loaded. */
  id?: string;
  /** Store path of the image's nix; absent in a dry run when it is only known after loading. */
  nixPath?: string;
  /** Registration of the image's closure when known without asking the image. */
  registration?: string;
  action: 'present' | 'loaded' | 'built';
  /**
   * 'host-store': the image is the constant base image (base-image.ts) and the daemon's nix comes
   * from this host's store, path by path, into the store volume. Else the image holds its nix.
   */
  nixFrom?: 'host-store';
}
