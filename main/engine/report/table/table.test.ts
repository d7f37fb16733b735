import { describe, expect, it } from 'vitest';
import { svgToPng } from '../svgToPng.ts';
import { darkPixels, decodePng } from '../testing.ts';
import { toCsv } from './csv.ts';
import { tableSvg } from './svg.ts';

describe('toCsv', () => {
  it('quotes fields with commas, quotes and line breaks, doubling quotes', () => {
    const csv = toCsv(
      ['model', 'note', { label: 'acc, %' }],
      [
        ['LLaVA "1.5"', 'a\nb', 56.34],
        [' padded', 'plain', null],
        ['x', 'carriage\rreturn', NaN],
      ],
    );
    expect(csv).toBe(
      'model,note,"acc, %"\r\n' +
        '"LLaVA ""1.5""","a\nb",56.34\r\n' +
        '" padded",plain,\r\n' +
        'x,"carriage\rreturn",\r\n',
    );
  });

  it('keeps numbers at full precision', () => {
    expect(toCsv(['v'], [[0.1 + 0.2], [-1e-7]])).toBe('v\r\n0.30000000000000004\r\n-1e-7\r\n');
  });

  it('rejects ragged rows', () => {
    expect(() => toCsv(['a', 'b'], [['x']])).toThrow(/row 0 has 1 cells, expected 2/);
  });
});

describe('tableSvg', () => {
  const input = {
    title: 'Baseline vs refined',
    columns: ['Model', { label: 'GQA', best: 'max' as const }, { label: 'Gain', digits: 1 }],
    rows: [
      ['LLaVA-1.5', 61.93, null],
      ['+ CA', 63.1, 1.17],
      ['Q & A <x>', 60, -0.5],
    ],
  };

  it('writes header, formatted cells, rules and the best value in bold', () => {
    const svg = tableSvg(input);
    expect(svg).toContain('>Baseline vs refined</text>');
    expect(svg).toContain('>GQA</text>');
    expect(svg).toContain('>61.93</text>');
    expect(svg).toContain('>60.00</text>');
    expect(svg).toContain('font-weight="bold">63.10</text>');
    expect(svg).toContain('>1.2</text>');
    expect(svg).toContain('>\u22120.5</text>');
    expect(svg).toContain('>\u2013</text>');
    expect(svg).toContain('>Q &amp; A &lt;x&gt;</text>');
    expect(svg.match(/<path d="M/g)).toHaveLength(3);
    // numbers right-aligned, names left-aligned
    expect(svg).toMatch(/text-anchor="end">61.93/);
    expect(svg).toMatch(/text-anchor="start">LLaVA-1.5/);
  });

  it('rasterises with visible text', () => {
    const png = decodePng(svgToPng(tableSvg(input), { scale: 2 }));
    expect(darkPixels(png, 0, 0, png.width, png.height)).toBeGreaterThan(500);
  });
});

describe('tableSvg notes', () => {
  it('writes notes under the bottom rule and makes room for them', () => {
    const input = { columns: ['method', 'score'], rows: [['none', 0.5]] };
    const plain = tableSvg(input);
    const noted = tableSvg({ ...input, notes: ['not applicable: mask: no review layer <here>'] });
    expect(noted).toContain('>not applicable: mask: no review layer &lt;here&gt;</text>');
    const size = (svg: string) => /<svg[^>]* width="(\d+)" height="(\d+)"/.exec(svg)!.slice(1).map(Number);
    expect(size(noted)[1]).toBeGreaterThan(size(plain)[1]);
    expect(size(noted)[0]).toBeGreaterThan(size(plain)[0]); // the note is wider than the table
  });
});
