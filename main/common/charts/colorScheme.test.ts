import { describe, expect, it } from 'vitest';

import { figureColors, schemeColor, themedOption } from './colorScheme.ts';
import { fusionCurveOption } from './fusionCurve.ts';
import {
  AXIS_COLOR,
  BACKGROUND_COLOR,
  GRID_LINE_COLOR,
  MUTED_TEXT_COLOR,
  PALETTE,
  TEXT_COLOR,
} from './theme.ts';

/** WCAG 2 contrast ratio, written out from the definition (sRGB linearised, relative luminance). */
function contrast(a: string, b: string): number {
  const luminance = (hex: string) => {
    const channel = (i: number) => {
      const c = parseInt(hex.slice(1 + 2 * i, 3 + 2 * i), 16) / 255;
      return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    };
    return 0.2126 * channel(0) + 0.7152 * channel(1) + 0.0722 * channel(2);
  };
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
}

/** Every string found under a colour key, with its path. */
function colorStrings(value: unknown, path = '', isColor = false): Array<[string, string]> {
  if (typeof value === 'string') return isColor ? [[path, value]] : [];
  if (Array.isArray(value)) return value.flatMap((v, i) => colorStrings(v, `${path}[${i}]`, isColor));
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([key, v]) =>
    colorStrings(v, `${path}.${key}`, /colou?r$/i.test(key)),
  );
}

const THEME = [BACKGROUND_COLOR, TEXT_COLOR, MUTED_TEXT_COLOR, AXIS_COLOR, GRID_LINE_COLOR];

describe('schemeColor', () => {
  it('keeps every colour in light, maps theme colours and translucent black in dark', () => {
    for (const color of [...THEME, '#0072B2', 'rgba(0,0,0,0.12)'])
      expect(schemeColor(color, 'light')).toBe(color);
    expect(schemeColor('#FFFFFF', 'dark')).toBe(schemeColor('#ffffff', 'dark'));
    expect(schemeColor(BACKGROUND_COLOR, 'dark')).not.toBe(BACKGROUND_COLOR);
    expect(schemeColor('rgba(0,0,0,0.12)', 'dark')).toBe('rgba(255,255,255,0.12)');
    expect(schemeColor('rgba(127,127,127,0.14)', 'dark')).toBe('rgba(127,127,127,0.14)');
    // Data hues stay: only the palette's black would disappear on a dark background.
    for (const hue of PALETTE.filter((c) => c !== '#000000')) expect(schemeColor(hue, 'dark')).toBe(hue);
    expect(schemeColor('#000000', 'dark')).not.toBe('#000000');
  });

  it('keeps text readable on the figure background in both schemes (WCAG AA: 4.5, axes 3)', () => {
    for (const scheme of ['light', 'dark'] as const) {
      const colors = figureColors(scheme);
      expect(contrast(colors.text, colors.background), scheme).toBeGreaterThanOrEqual(7);
      expect(contrast(colors.muted, colors.background), scheme).toBeGreaterThanOrEqual(4.5);
      expect(contrast(colors.axis, colors.background), scheme).toBeGreaterThanOrEqual(3);
      expect(contrast(colors.selection, colors.background), scheme).toBeGreaterThanOrEqual(3);
    }
    expect(contrast('#000000', '#ffffff')).toBeCloseTo(21, 10); // the formula's own end point
    expect(figureColors('light')).toMatchObject({ background: BACKGROUND_COLOR, text: TEXT_COLOR });
  });
});

describe('themedOption', () => {
  const mean = [0.7, 0.5, 0.6, 0.65];
  const option = fusionCurveOption({
    title: 'fusion',
    metricLabel: 'accuracy',
    xAxis: 'layer',
    series: [
      { model: 'a', mean, lower: mean, upper: mean, fusionLayers: [1], reviewLayers: [3], baseline: 0.7 },
      { model: 'b', mean, lower: mean, upper: mean, fusionLayers: [], reviewLayers: [] },
    ],
  });

  it('gives light the very object it was handed (what exports draw)', () => {
    expect(themedOption(option, 'light')).toBe(option);
  });

  it('leaves no light theme colour under a colour key in dark, and changes nothing else', () => {
    const before = structuredClone(option);
    const dark = themedOption(option, 'dark');
    expect(option).toEqual(before); // the input is not touched
    const lightColors = colorStrings(option);
    const darkColors = colorStrings(dark);
    expect(darkColors.map(([path]) => path)).toEqual(lightColors.map(([path]) => path));
    expect(lightColors.some(([, c]) => c === BACKGROUND_COLOR)).toBe(true);
    expect(lightColors.some(([, c]) => c === TEXT_COLOR)).toBe(true);
    for (const [path, color] of darkColors) expect(THEME, path).not.toContain(color.toLowerCase());
    // With the colours put back, the two options are the same: titles, data and layout untouched.
    const restored = structuredClone(dark) as Record<string, unknown>;
    const put = (target: unknown, path: string, value: string) => {
      const keys = [...path.matchAll(/\.([^.[]+)|\[(\d+)\]/g)].map((m) => m[1] ?? Number(m[2]));
      let at = target as Record<string | number, unknown>;
      for (const key of keys.slice(0, -1)) at = at[key] as Record<string | number, unknown>;
      at[keys.at(-1)!] = value;
    };
    for (const [path, color] of lightColors) put(restored, path, color);
    expect(restored).toEqual(option);
  });

  it('keeps colour scales (data) and non-colour strings as they are', () => {
    const hand = {
      backgroundColor: '#ffffff',
      title: { text: '#ffffff', textStyle: { color: '#222222' } },
      visualMap: { textStyle: { color: '#222222' }, inRange: { color: ['#000000', '#ffffff'] } },
      series: [{ name: '#000000', itemStyle: { borderColor: '#000000' }, data: [1, null, 2] }],
    };
    const dark = themedOption(hand, 'dark');
    expect(dark.visualMap.inRange.color).toEqual(['#000000', '#ffffff']);
    expect(dark.visualMap.textStyle.color).toBe(schemeColor('#222222', 'dark'));
    expect(dark.title.text).toBe('#ffffff');
    expect(dark.title.textStyle.color).toBe(schemeColor('#222222', 'dark'));
    expect(dark.series[0]).toEqual({
      name: '#000000',
      itemStyle: { borderColor: schemeColor('#000000', 'dark') },
      data: [1, null, 2],
    });
    expect(dark.backgroundColor).toBe(figureColors('dark').background);
  });
});
