/**
 * electron-builder.yml, checked offline: against electron-builder's own schema (the check `npm run
 * dist` starts with; building installers needs the Electron download), against what the build
 * script makes and the engine expects to find at run time, and its icons: every file it names a
 * valid image of the sizes its platform wants, read with parsers written here from the formats'
 * layouts, and the same bytes scripts/icons.mjs renders from the SVG today.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';

import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';

import { NATIVE_EXTERNALS, ROOT } from '../../scripts/build-host.mjs';
import { ICON_DIR, ICON_SOURCE, iconFiles } from '../../scripts/icons.mjs';
import { DEMO_DATASET_DIR, DEMO_MODEL_DIRS } from '../engine/demo.ts';

interface BuilderConfig {
  extraMetadata?: { main?: string };
  files?: (string | { filter?: string[] })[];
  asarUnpack?: string[];
  npmRebuild?: boolean;
  linux?: { target?: string[]; icon?: string };
  mac?: { target?: string[]; icon?: string };
  win?: { target?: string[]; icon?: string };
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
  const covers = (patterns: readonly string[] | undefined, folder: string) => {
    const rel = relative(ROOT, folder).split('\\').join('/');
    return (patterns ?? []).some((pattern) => rel.startsWith(pattern.replace(/\/\*\*\/\*$/, '')));
  };
  for (const folder of [...DEMO_MODEL_DIRS, DEMO_DATASET_DIR]) {
    expect(covers(files, folder), `files: ${folder}`).toBe(true);
    expect(covers(config.asarUnpack, folder), `asarUnpack: ${folder}`).toBe(true);
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

/** A PNG's pixels, fully decoded (CRCs and zlib checked by pngjs): width, height, RGBA. */
function decodePng(bytes: Buffer, what: string): PNG {
  expect(bytes.subarray(0, 8).toString('hex'), `${what}: PNG signature`).toBe('89504e470d0a1a0a');
  return PNG.sync.read(bytes);
}

/** The icon drawn, not an empty canvas: a transparent corner (rounded square) and an opaque middle. */
function expectDrawn(png: PNG, what: string): void {
  const alpha = (x: number, y: number) => png.data[(y * png.width + x) * 4 + 3];
  expect(alpha(0, 0), `${what}: corner`).toBe(0);
  expect(alpha(png.width >> 1, png.height >> 1), `${what}: middle`).toBe(255);
}

describe('icons', () => {
  it('Linux: a folder with a square PNG for every hicolor size up to 1024, and the window icon packed', async () => {
    const config = await load();
    expect(config.linux?.icon).toBe('build/icons/png');
    const sizes = [16, 24, 32, 48, 64, 128, 256, 512, 1024];
    for (const size of sizes) {
      const png = decodePng(
        readFileSync(join(ROOT, config.linux!.icon!, `${size}x${size}.png`)),
        `${size}px`,
      );
      expect([png.width, png.height], `${size}x${size}.png`).toEqual([size, size]);
      expectDrawn(png, `${size}x${size}.png`);
    }
    const files = (config.files ?? []).flatMap((entry) =>
      typeof entry === 'string' ? [entry] : (entry.filter ?? []),
    );
    expect(files).toContain('build/icons/png/512x512.png');
  });

  it('Windows: an .ico whose entries are PNGs of the sizes its directory states, 256 included', async () => {
    const config = await load();
    expect(config.win?.icon).toBe('build/icons/icon.ico');
    const ico = readFileSync(join(ROOT, config.win!.icon!));
    expect([ico.readUInt16LE(0), ico.readUInt16LE(2)]).toEqual([0, 1]); // reserved, type icon
    const count = ico.readUInt16LE(4);
    const sizes: number[] = [];
    for (let i = 0; i < count; i++) {
      const entry = 6 + 16 * i;
      const stated = ico.readUInt8(entry) || 256; // 0 means 256
      expect(ico.readUInt8(entry + 1) || 256).toBe(stated);
      const length = ico.readUInt32LE(entry + 8);
      const offset = ico.readUInt32LE(entry + 12);
      expect(offset + length).toBeLessThanOrEqual(ico.length);
      const png = decodePng(ico.subarray(offset, offset + length), `ico entry ${i}`);
      expect([png.width, png.height]).toEqual([stated, stated]);
      expectDrawn(png, `ico ${stated}px`);
      sizes.push(stated);
    }
    expect(sizes).toEqual(expect.arrayContaining([16, 32, 48, 256]));
  });

  it('macOS: an .icns whose chunks add up to the file, each type holding a PNG of its size up to 1024', async () => {
    const config = await load();
    expect(config.mac?.icon).toBe('build/icons/icon.icns');
    const icns = readFileSync(join(ROOT, config.mac!.icon!));
    expect(icns.toString('latin1', 0, 4)).toBe('icns');
    expect(icns.readUInt32BE(4)).toBe(icns.length);
    // Apple's PNG-capable icon types and their pixel sizes (@2x types: twice the point size).
    const PIXELS: Record<string, number> = {
      icp4: 16,
      icp5: 32,
      icp6: 64,
      ic07: 128,
      ic08: 256,
      ic09: 512,
      ic10: 1024,
      ic11: 32,
      ic12: 64,
      ic13: 256,
      ic14: 512,
    };
    const types: string[] = [];
    for (let at = 8; at < icns.length;) {
      const type = icns.toString('latin1', at, at + 4);
      const length = icns.readUInt32BE(at + 4);
      expect(length, type).toBeGreaterThan(8);
      expect(PIXELS[type], `unexpected chunk ${type}`).toBeDefined();
      const png = decodePng(icns.subarray(at + 8, at + length), type);
      expect([png.width, png.height], type).toEqual([PIXELS[type], PIXELS[type]]);
      types.push(type);
      at += length;
    }
    expect(types.sort()).toEqual(Object.keys(PIXELS).sort());
  });

  it('are what scripts/icons.mjs renders from the SVG now (run it after editing the SVG)', () => {
    const rendered = iconFiles(readFileSync(ICON_SOURCE, 'utf8'));
    expect(rendered.size).toBe(11);
    for (const [name, bytes] of rendered) {
      const path = join(ICON_DIR, name);
      expect(existsSync(path), name).toBe(true);
      expect(readFileSync(path).equals(bytes), `${name} differs from the SVG's rendering`).toBe(true);
    }
  });
});
