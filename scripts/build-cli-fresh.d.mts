// Types for scripts/build-cli-fresh.mjs (imported by the CLI bundle's test).
export type FileStamp = [size: number, mtimeMs: number] | null;
export interface BundleManifest {
  readonly version: number;
  readonly bundle: FileStamp;
  readonly inputs: Record<string, FileStamp>;
}
export declare const ROOT: string;
export declare const DEFAULT_OUTDIR: string;
export declare const BUNDLE_NAME: string;
export declare const MANIFEST_NAME: string;
export declare function fileStamp(path: string): FileStamp;
export declare function bundleManifest(
  outdir: string,
  inputs: Iterable<string>,
  root?: string,
): BundleManifest;
export declare function freshBundle(outdir?: string, root?: string): string | null;
