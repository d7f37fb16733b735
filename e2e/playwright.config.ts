/**
 * End-to-end specs against the renderer in Debian's Chromium (browser mode) and, where an Electron
 * binary is installed, inside the desktop app. Browsers are never downloaded: Chromium comes from
 * apt (`.ci/run` installs it when missing), Electron from `npm run fetch-electron`.
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { defineConfig } from '@playwright/test';

import { CHROMIUM_PATH } from './support/paths.ts';

// The servers the specs start build their model caches here, not in the user's cache.
process.env.FUSIONSCOPE_MODEL_CACHE ??= join(tmpdir(), 'fusionscope-e2e-models');

export default defineConfig({
  testDir: './specs',
  outputDir: './artifacts/test-results',
  // One app per worker, stories run in order; 2 cores are shared with the engine.
  workers: 1,
  fullyParallel: false,
  timeout: 180_000,
  expect: { timeout: 30_000 },
  reporter: [['list'], ['html', { outputFolder: './artifacts/report', open: 'never' }]],
  use: {
    headless: true,
    viewport: { width: 1440, height: 900 },
    launchOptions: { executablePath: CHROMIUM_PATH },
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
  },
  projects: [
    { name: 'browser', use: { browserName: 'chromium' }, metadata: { mode: 'browser' } },
    { name: 'electron', metadata: { mode: 'electron' } },
  ],
});
