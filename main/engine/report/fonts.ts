/**
 * The one font family figures are drawn in: DejaVu Sans (regular and bold) from the npm package
 * dejavu-fonts-ttf (Bitstream Vera licence + public-domain DejaVu changes; see README.md). resvg loads
 * only these files, never system fonts, so a PNG is the same on every machine.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { parseFontMetrics, textWidth, type FontMetrics } from './ttfMetrics.ts';

export const FIGURE_FONT_FAMILY = 'DejaVu Sans';

let fontDir: string | undefined;

/**
 * In a packaged app the font package sits inside app.asar, which native code (resvg) cannot read;
 * electron-builder unpacks it beside (asarUnpack), so native readers get the unpacked copy.
 */
export function unpackedPath(path: string): string {
  return path.replace(/([/\\])app\.asar([/\\])/, '$1app.asar.unpacked$2');
}

function ttfDir(): string {
  if (!fontDir) {
    const require = createRequire(import.meta.url);
    fontDir = unpackedPath(join(dirname(require.resolve('dejavu-fonts-ttf/package.json')), 'ttf'));
  }
  return fontDir;
}

export function figureFontFiles(): { regular: string; bold: string } {
  return { regular: join(ttfDir(), 'DejaVuSans.ttf'), bold: join(ttfDir(), 'DejaVuSans-Bold.ttf') };
}

const metrics: { regular?: FontMetrics; bold?: FontMetrics } = {};

function fontMetrics(bold: boolean): FontMetrics {
  const key = bold ? 'bold' : 'regular';
  let found = metrics[key];
  if (!found) {
    found = parseFontMetrics(new Uint8Array(readFileSync(figureFontFiles()[key])));
    metrics[key] = found;
  }
  return found;
}

/** Width in pixels of one line of text in the figure font. */
export function measureFigureText(text: string, fontSize: number, bold = false): number {
  return textWidth(fontMetrics(bold), text, fontSize);
}

/** Width of text for a CSS font shorthand as ECharts passes it ("bold 16px 'DejaVu Sans', ..."). */
export function measureCssFont(text: string, font: string | undefined): number {
  const size = /(\d+(?:\.\d+)?)px/.exec(font ?? '');
  const bold = /\b(bold|bolder|[6-9]00)\b/.test(font ?? '');
  return measureFigureText(text, size ? Number(size[1]) : 12, bold);
}
