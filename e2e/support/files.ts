/**
 * Saving an export the way a user would (a browser download, or the desktop app's save dialog
 * answered with a path) and checking the files: PNG size from its IHDR chunk, SVG parsed by the
 * browser's XML parser, PDF header and page count.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

import type { Page } from '@playwright/test';

import type { AppUnderTest } from './app.ts';
import { DOWNLOAD_DIR } from './paths.ts';

/** Runs `trigger` (a click that exports) and returns the saved file's bytes and path. */
export async function saveExport(
  app: AppUnderTest,
  fileName: string,
  trigger: () => Promise<void>,
): Promise<{ path: string; bytes: Buffer }> {
  await mkdir(DOWNLOAD_DIR, { recursive: true });
  const path = join(DOWNLOAD_DIR, `${app.mode}-${fileName}`);
  if (app.electronApp) {
    await app.electronApp.evaluate(({ dialog }, target) => {
      dialog.showSaveDialog = (async () => ({
        canceled: false,
        filePath: target,
      })) as typeof dialog.showSaveDialog;
    }, path);
    await trigger();
    await app.page.waitForTimeout(500);
  } else {
    const [download] = await Promise.all([app.page.waitForEvent('download'), trigger()]);
    await download.saveAs(path);
  }
  return { path, bytes: await readFile(path) };
}

export function pngSize(bytes: Buffer): { width: number; height: number } {
  const signature = '89504e470d0a1a0a';
  if (bytes.subarray(0, 8).toString('hex') !== signature) throw new Error('not a PNG file');
  if (bytes.subarray(12, 16).toString('latin1') !== 'IHDR') throw new Error('PNG without IHDR first');
  return { width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20) };
}

/** The root element name and any parser error, from the browser's own XML parser. */
export function parseSvg(page: Page, text: string): Promise<{ root: string; error: string | null }> {
  return page.evaluate((source) => {
    const doc = new DOMParser().parseFromString(source, 'image/svg+xml');
    const error = doc.querySelector('parsererror');
    return { root: doc.documentElement.nodeName, error: error ? error.textContent : null };
  }, text);
}

export function pdfFacts(bytes: Buffer): { header: string; pages: number } {
  const text = bytes.toString('latin1');
  return {
    header: text.slice(0, 5),
    // Page objects, not the /Pages tree node.
    pages: (text.match(/\/Type\s*\/Page(?![s\w])/g) ?? []).length,
  };
}
