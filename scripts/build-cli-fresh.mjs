// Whether the command line's bundle (scripts/build-cli.mjs) may run: bin/fusionscope.mjs asks this
// at every start, so it is synchronous and only stats files. The bundle is fresh when the manifest
// written after it still describes, by size and mtime, the bundle and every file it was built from
// (the repository's sources it bundled, package.json and the lockfiles, tsconfig.json, the build
// script); a file edited, removed or replaced since makes it stale. Node built-ins only: this runs
// before anything else loads.
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const DEFAULT_OUTDIR = join(ROOT, 'out', 'cli');
export const BUNDLE_NAME = 'cli.mjs';
export const MANIFEST_NAME = 'manifest.json';
const MANIFEST_VERSION = 1;

/** [size, mtimeMs] of `path`, or null when nothing is there. */
export function fileStamp(path) {
  try {
    const info = statSync(path);
    return [info.size, info.mtimeMs];
  } catch {
    return null;
  }
}

/** The manifest for a bundle at `outdir` built from `inputs` (paths relative to `root`). */
export function bundleManifest(outdir, inputs, root = ROOT) {
  const stamps = {};
  for (const input of [...inputs].sort()) stamps[input] = fileStamp(join(root, input));
  return { version: MANIFEST_VERSION, bundle: fileStamp(join(outdir, BUNDLE_NAME)), inputs: stamps };
}

function sameStamp(recorded, now) {
  return recorded === null ? now === null : now !== null && recorded[0] === now[0] && recorded[1] === now[1];
}

/**
 * The bundle's path when it exists and nothing it was built from has changed; null otherwise (no
 * bundle, a damaged or older manifest, an input changed).
 */
export function freshBundle(outdir = DEFAULT_OUTDIR, root = ROOT) {
  let manifest;
  try {
    manifest = JSON.parse(readFileSync(join(outdir, MANIFEST_NAME), 'utf8'));
  } catch {
    return null;
  }
  if (
    manifest?.version !== MANIFEST_VERSION ||
    typeof manifest.inputs !== 'object' ||
    manifest.inputs === null
  )
    return null;
  const bundle = join(outdir, BUNDLE_NAME);
  if (manifest.bundle === null || !sameStamp(manifest.bundle, fileStamp(bundle))) return null;
  for (const [input, recorded] of Object.entries(manifest.inputs)) {
    if (!sameStamp(recorded, fileStamp(join(root, input)))) return null;
  }
  return bundle;
}
