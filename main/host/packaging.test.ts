/**
 * electron-builder.yml, checked offline: against electron-builder's own schema (the check `npm run
 * dist` starts with; building installers needs the Electron download), and against what the build
 * script makes and the engine expects to find at run time.
 */
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';

import { expect, it } from 'vitest';

import { NATIVE_EXTERNALS, ROOT } from '../../scripts/build-host.mjs';
import { DEMO_DATASET_DIR, DEMO_MODEL_DIR } from '../engine/demo.ts';

interface BuilderConfig {
  extraMetadata?: { main?: string };
  files?: (string | { filter?: string[] })[];
  asarUnpack?: string[];
  npmRebuild?: boolean;
  linux?: { target?: string[] };
  mac?: { target?: string[] };
  win?: { target?: string[] };
}

const require = createRequire(import.meta.url);
const { getConfig, validateConfiguration } = require('app-builder-lib/out/util/config/config.js') as {
  getConfig(projectDir: string, configPath: string, extra: null): Promise<BuilderConfig>;
  validateConfiguration(config: BuilderConfig, logger: unknown): Promise<void>;
};
const { DebugLogger } = require('builder-util/out/DebugLogger.js') as {
  DebugLogger: new (on: boolean) => unknown;
};

const load = () => getConfig(ROOT, join(ROOT, 'electron-builder.yml'), null);

it('passes electron-builder’s schema (and the schema check can fail)', async () => {
  const config = await load();
  await expect(validateConfiguration(config, new DebugLogger(false))).resolves.toBeUndefined();
  const broken = { ...config, linux: { ...config.linux, targets: ['AppImage'] } };
  await expect(validateConfiguration(broken, new DebugLogger(false))).rejects.toThrow(/configuration/);
});

it('builds the installers asked for, from the bundle the build script writes', async () => {
  const config = await load();
  expect(config.linux?.target).toEqual(['AppImage', 'deb']);
  expect(config.win?.target).toEqual(['nsis']);
  expect(config.mac?.target).toEqual(['dmg']);
  expect(config.extraMetadata?.main).toBe('out/host/main.js');
  // getConfig normalises `files` into [{ filter: [...] }].
  const files = (config.files ?? []).flatMap((entry) =>
    typeof entry === 'string' ? [entry] : (entry.filter ?? []),
  );
  expect(files).toEqual(expect.arrayContaining(['out/host/**/*', 'renderer/dist/**/*']));
  for (const folder of [DEMO_MODEL_DIR, DEMO_DATASET_DIR]) {
    const rel = relative(ROOT, folder).split('\\').join('/');
    expect(
      files.some((pattern) => rel.startsWith(pattern.replace(/\/\*\*\/\*$/, ''))),
      rel,
    ).toBe(true);
  }
});

it('unpacks every native addon from the asar and rebuilds them for Electron', async () => {
  const config = await load();
  expect(config.npmRebuild).toBe(true);
  const natives = NATIVE_EXTERNALS.filter((name) => name !== 'electron' && name !== 'pdfkit');
  for (const name of natives) {
    const scope = name.startsWith('@') ? name.split('/')[0] : name;
    expect(config.asarUnpack, name).toContain(`node_modules/${scope}/**/*`);
  }
  expect(config.asarUnpack).toContain('node_modules/dejavu-fonts-ttf/**/*');
});
