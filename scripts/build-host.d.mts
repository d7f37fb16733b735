// Types for scripts/build-host.mjs (imported by main/host tests).
export declare const ROOT: string;
export declare const ELECTRON_NODE: string;
export declare const ELECTRON_CHROME: string;
export declare const NATIVE_EXTERNALS: readonly string[];
export declare const UNUSED_OPTIONAL_PEERS: readonly string[];
export declare function buildHost(options?: {
  outdir?: string;
  sourcemap?: boolean;
}): Promise<{ main: string; preload: string; engineWorker: string; parquetWorker: string }>;
