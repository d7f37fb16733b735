// Bundles the command line (main/engine/cli.ts, which exports main) into out/cli/cli.mjs, so
// `npx fusionscope` starts without compiling TypeScript (tsx takes seconds at every start; the bundle
// loads in a fraction of one). Run by `npm ci` / `npm install` (the "prepare" script) and by
// `npm run build:cli`; bin/fusionscope.mjs uses the bundle while scripts/build-cli-fresh.mjs finds it
// fresh and runs the sources through tsx otherwise.
//
//   ESM, Node 20; pure-JS packages inlined (echarts alone is hundreds of files to resolve one by one)
//   packages with native code, or that read files beside their own (pdfkit), stay external: they load
//       from node_modules, so the bundle must sit inside the repository (out/…)
//   `import.meta.url` of every inlined file is rewritten to that file's own URL, relative to the bundle,
//       so what the sources locate from it (the demo model, the checkout for provenance, the fonts
//       package) is found as when they run unbundled, wherever out/ is
//   a manifest of every input's size and mtime, written last, says whether the bundle is still fresh
//
// Usage: node scripts/build-cli.mjs [--outdir DIR] [--optional]
//   --optional  a failure (esbuild absent after `npm ci --omit=dev`, a bundling error) is reported and
//               exits 0: the CLI still runs, from the sources.
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

import { BUNDLE_NAME, bundleManifest, DEFAULT_OUTDIR, MANIFEST_NAME, ROOT } from './build-cli-fresh.mjs';

export { DEFAULT_OUTDIR, ROOT };

const ENTRY = 'main/engine/cli.ts';
/** Besides the bundled sources, what changes the bundle: its build, the packages, the TS settings. */
const EXTRA_INPUTS = [
  'package.json',
  'package-lock.json',
  'node_modules/.package-lock.json',
  'tsconfig.json',
  relative(ROOT, fileURLToPath(import.meta.url)),
  'scripts/build-cli-fresh.mjs',
  'scripts/build-host.mjs',
];

/**
 * A dependency with native code can't be inlined: one that compiles (binding.gyp, an install script)
 * or that pulls a prebuilt binary as a platform-specific optional dependency (os/cpu fields).
 */
function isNative(name, root) {
  const folder = join(root, 'node_modules', name);
  const read = (dir) => {
    try {
      return JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    } catch {
      return null;
    }
  };
  const pkg = read(folder);
  if (pkg === null) return false;
  const scripts = pkg.scripts ?? {};
  if (
    existsSync(join(folder, 'binding.gyp')) ||
    pkg.gypfile ||
    scripts.install ||
    scripts.preinstall ||
    scripts.postinstall
  )
    return true;
  return Object.keys(pkg.optionalDependencies ?? {}).some((dep) => {
    const optional = read(join(root, 'node_modules', dep)) ?? read(join(folder, 'node_modules', dep));
    return optional !== null && (optional.os !== undefined || optional.cpu !== undefined);
  });
}

/**
 * The packages left for Node to load from node_modules at run time: those the desktop bundle leaves
 * out (native, or reading files beside their code, as pdfkit does), and any dependency found native.
 */
export async function cliExternals(root = ROOT) {
  // Imported here, not above: it imports esbuild, whose absence `--optional` must survive.
  const { NATIVE_EXTERNALS, UNUSED_OPTIONAL_PEERS } = await import('./build-host.mjs');
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const detected = Object.keys(pkg.dependencies ?? {}).filter((name) => isNative(name, root));
  return [...new Set([...NATIVE_EXTERNALS, ...UNUSED_OPTIONAL_PEERS, ...detected])].sort();
}

const LOADERS = { '.ts': 'ts', '.mts': 'ts', '.cts': 'ts', '.js': 'js', '.mjs': 'js', '.cjs': 'js' };

/** Each inlined file's `import.meta.url` becomes its own URL, resolved against the bundle's. */
function ownImportMetaUrl(outdir) {
  return {
    name: 'own-import-meta-url',
    setup(build) {
      build.onLoad({ filter: /\.[cm]?[jt]s$/ }, async (args) => {
        const text = await readFile(args.path, 'utf8');
        if (!text.includes('import.meta.url')) return undefined;
        const fromBundle = relative(outdir, args.path).split(sep).join('/');
        const url = `new URL(${JSON.stringify(fromBundle)}, import.meta.url).href`;
        return {
          contents: text.replace(/\bimport\.meta\.url\b/g, url),
          loader: LOADERS[args.path.slice(args.path.lastIndexOf('.'))] ?? 'js',
          resolveDir: dirname(args.path),
        };
      });
    },
  };
}

/** Builds are retried this often when a source is saved while esbuild reads them. */
const ATTEMPTS = 3;

/** Builds `outdir`/cli.mjs and its manifest; returns the bundle's path, the externals and the inputs. */
export async function buildCli({ outdir = DEFAULT_OUTDIR, root = ROOT } = {}) {
  const { build } = await import('esbuild');
  await mkdir(outdir, { recursive: true });
  const bundle = join(outdir, BUNDLE_NAME);
  const manifestPath = join(outdir, MANIFEST_NAME);
  // No manifest while the bundle changes: a CLI starting meanwhile runs from the sources.
  await rm(manifestPath, { force: true });
  const external = await cliExternals(root);
  const temp = `${bundle}.${process.pid}.tmp`;
  for (let attempt = 1; ; attempt++) {
    const started = Date.now();
    const result = await build({
      absWorkingDir: root,
      entryPoints: [ENTRY],
      outfile: temp,
      bundle: true,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      external,
      metafile: true,
      logLevel: 'warning',
      plugins: [ownImportMetaUrl(outdir)],
      // Inlined CommonJS packages (pngjs) require Node built-ins; an ESM bundle has no `require` of its own.
      banner: {
        js: "import { createRequire as __fusionscopeCreateRequire } from 'node:module';\nconst require = __fusionscopeCreateRequire(import.meta.url);",
      },
    });
    await rename(temp, bundle);
    const sources = Object.keys(result.metafile.inputs).filter((input) => !input.startsWith('node_modules/'));
    const manifest = bundleManifest(outdir, [...sources, ...EXTRA_INPUTS], root);
    // A file saved while esbuild ran may be newer than what it bundled: its stamp would vouch for a
    // bundle that lacks the change, so the bundle is built again (and left without a manifest at last).
    const changed = Object.keys(manifest.inputs).filter(
      (input) => (manifest.inputs[input]?.[1] ?? 0) > started,
    );
    if (changed.length > 0) {
      if (attempt < ATTEMPTS) continue;
      throw new Error(`${changed.join(', ')} kept changing during the build; build again`);
    }
    await writeFile(`${manifestPath}.${process.pid}.tmp`, `${JSON.stringify(manifest, null, 1)}\n`);
    await rename(`${manifestPath}.${process.pid}.tmp`, manifestPath);
    return { bundle, external, inputs: Object.keys(manifest.inputs) };
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { values } = parseArgs({ options: { outdir: { type: 'string' }, optional: { type: 'boolean' } } });
  try {
    const { bundle } = await buildCli(values.outdir ? { outdir: resolve(values.outdir) } : {});
    console.log(`built ${relative(process.cwd(), bundle)}`);
  } catch (error) {
    const why =
      error?.code === 'ERR_MODULE_NOT_FOUND' && /'esbuild'/.test(error.message)
        ? 'esbuild is not installed'
        : String(error?.message ?? error);
    process.stderr.write(
      `fusionscope: the command line was not bundled (${why}); it runs from the sources.\n`,
    );
    if (!values.optional) process.exitCode = 1;
  }
}
