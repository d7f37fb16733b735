// Types for scripts/build-cli.mjs (imported by the CLI bundle's test).
export declare const ROOT: string;
export declare const DEFAULT_OUTDIR: string;
export declare function cliExternals(root?: string): Promise<string[]>;
export declare function buildCli(options?: {
  outdir?: string;
  root?: string;
}): Promise<{ bundle: string; external: string[]; inputs: string[] }>;
