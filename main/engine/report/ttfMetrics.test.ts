import { Resvg } from '@resvg/resvg-js';
import { describe, expect, it } from 'vitest';
import { figureFontFiles, measureCssFont, measureFigureText, unpackedPath } from './fonts.ts';

describe('figure font metrics', () => {
  it('reads DejaVu Sans advances (2048 units per em; space 651, M 1767)', () => {
    expect(measureFigureText(' ', 2048)).toBe(651);
    expect(measureFigureText('M', 2048)).toBe(1767);
    expect(measureFigureText('MM', 10)).toBeCloseTo(2 * measureFigureText('M', 10), 12);
    expect(measureFigureText('layer', 24)).toBeCloseTo(2 * measureFigureText('layer', 12), 12);
    expect(measureFigureText('layer', 12, true)).toBeGreaterThan(measureFigureText('layer', 12));
  });

  it('parses CSS font shorthands as ECharts writes them', () => {
    expect(measureCssFont('abc', "bold 16px 'DejaVu Sans', sans-serif")).toBe(
      measureFigureText('abc', 16, true),
    );
    expect(measureCssFont('abc', "12px 'DejaVu Sans'")).toBe(measureFigureText('abc', 12));
    expect(measureCssFont('abc', undefined)).toBe(measureFigureText('abc', 12));
  });

  it('agrees with the width resvg draws', () => {
    const text = 'normalised depth (L \u2212 1)';
    const svg =
      '<svg xmlns="http://www.w3.org/2000/svg" width="600" height="60">' +
      `<text x="10" y="40" font-family="DejaVu Sans" font-size="24">${text}</text></svg>`;
    const fonts = figureFontFiles();
    const resvg = new Resvg(svg, {
      font: { loadSystemFonts: false, fontFiles: [fonts.regular], defaultFontFamily: 'DejaVu Sans' },
    });
    const box = resvg.getBBox();
    expect(box).toBeDefined();
    const measured = measureFigureText(text, 24);
    expect(Math.abs(box!.width - measured) / measured).toBeLessThan(0.05);
  });
});

describe('unpackedPath', () => {
  it('points native readers at app.asar.unpacked inside a packaged app, and leaves other paths alone', () => {
    expect(unpackedPath('/opt/FusionScope/resources/app.asar/node_modules/dejavu-fonts-ttf/ttf')).toBe(
      '/opt/FusionScope/resources/app.asar.unpacked/node_modules/dejavu-fonts-ttf/ttf',
    );
    expect(unpackedPath('C:\\FusionScope\\resources\\app.asar\\node_modules\\x')).toBe(
      'C:\\FusionScope\\resources\\app.asar.unpacked\\node_modules\\x',
    );
    expect(unpackedPath('/work/node_modules/dejavu-fonts-ttf/ttf')).toBe(
      '/work/node_modules/dejavu-fonts-ttf/ttf',
    );
    expect(unpackedPath('/work/app.asar.unpacked/x')).toBe('/work/app.asar.unpacked/x');
  });
});
