#!/usr/bin/env node
// `npx fusionscope`: runs the bundle that `npm ci` builds (out/cli/, scripts/build-cli.mjs) while it
// is fresh, which starts in a fraction of a second; otherwise (no bundle yet, a source edited since)
// the TypeScript sources through tsx, as before, a few seconds slower to start. Either way it works
// right after `npm ci`, with no build step; `npm run build:cli` refreshes the bundle.
import { pathToFileURL } from 'node:url';

import { freshBundle } from '../scripts/build-cli-fresh.mjs';

const bundle = freshBundle();
let cli;
if (bundle) {
  cli = await import(pathToFileURL(bundle).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  cli = await import('../main/engine/cli.ts');
}
process.exitCode = await cli.main(process.argv.slice(2));
