// Bundles the desktop shell for Electron into out/host/ (CommonJS; Electron runs it as is):
//   main.js          main/host/main.ts, with the backend it starts
//   preload.js       main/host/preload.ts (sandboxed: its only require is electron)
//   engineWorker.js  main/backend/engineWorker.ts, the worker thread the engine runs in
//   package.json     {"type": "commonjs"} (the repository is ESM) and the app's name for `electron out/host`
// Native modules stay external: they are loaded from node_modules (rebuilt for Electron's ABI by
// electron-builder). Usage: node scripts/build-host.mjs [--outdir DIR]
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

import { build } from 'esbuild';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** Electron 41 ships Node 24 and Chromium 146. */
export const ELECTRON_NODE = 'node24';
export const ELECTRON_CHROME = 'chrome146';
/** Native addons (and pdfkit, which reads its font metrics next to its own files) load from node_modules. */
export const NATIVE_EXTERNALS = [
  'electron',
  'better-sqlite3',
  'onnxruntime-node',
  '@resvg/resvg-js',
  'pdfkit',
  'sharp',
];

/**
 * BullMQ's optional backends (PostgreSQL through `pg`, Valkey GLIDE): BullMQ requires them lazily,
 * inside a try that names the missing package, only for a queue made on them. FusionScope's queues
 * use ioredis, so they are not installed, left unresolved and never loaded.
 */
export const UNUSED_OPTIONAL_PEERS = ['pg', '@valkey/valkey-glide'];

// ESM sources read `import.meta.url` (the demo model's folder, createRequire); in a CommonJS bundle it
// becomes the bundle's own URL. out/host/ sits two levels below the root like main/engine/, so
// main/engine/demo.ts's '../../native-models/demo/model' still names the same folder.
const importMetaUrl = {
  define: { 'import.meta.url': '__importMetaUrl' },
  banner: { js: 'const __importMetaUrl = require("node:url").pathToFileURL(__filename).href;' },
};

/** Builds the three bundles; returns their paths. */
export async function buildHost({ outdir = join(ROOT, 'out', 'host'), sourcemap = true } = {}) {
  await mkdir(outdir, { recursive: true });
  const common = {
    absWorkingDir: ROOT,
    bundle: true,
    format: 'cjs',
    platform: 'node',
    sourcemap,
    logLevel: 'warning',
    external: [...NATIVE_EXTERNALS, ...UNUSED_OPTIONAL_PEERS],
  };
  await Promise.all([
    build({
      ...common,
      ...importMetaUrl,
      target: ELECTRON_NODE,
      entryPoints: { main: 'main/host/main.ts', engineWorker: 'main/backend/engineWorker.ts' },
      outdir,
    }),
    // The Parquet reader's worker thread (main/engine/datasets/parquetReader.ts) is loaded beside the
    // module that starts it, i.e. beside engineWorker.js: an ESM file with hyparquet inlined.
    build({
      ...common,
      format: 'esm',
      target: ELECTRON_NODE,
      entryPoints: { parquetWorker: 'main/engine/datasets/parquetWorker.mjs' },
      outExtension: { '.js': '.mjs' },
      outdir,
    }),
    build({
      ...common,
      target: ELECTRON_CHROME,
      external: ['electron'],
      entryPoints: { preload: 'main/host/preload.ts' },
      outdir,
    }),
  ]);
  const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8'));
  const manifest = {
    name: pkg.name,
    productName: 'FusionScope',
    version: pkg.version,
    description: pkg.description,
    type: 'commonjs',
    main: 'main.js',
  };
  await writeFile(join(outdir, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  return {
    main: join(outdir, 'main.js'),
    preload: join(outdir, 'preload.js'),
    engineWorker: join(outdir, 'engineWorker.js'),
    parquetWorker: join(outdir, 'parquetWorker.mjs'),
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { values } = parseArgs({ options: { outdir: { type: 'string' } } });
  const built = await buildHost(values.outdir ? { outdir: resolve(values.outdir) } : {});
  console.log(`built ${Object.values(built).join(', ')}`);
}
