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
}
