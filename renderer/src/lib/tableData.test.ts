import { describe, expect, it } from 'vitest';

import { fileBase, tableFile, textToBase64, toCsv, toJsonRows } from './tableData.ts';

const data = {
  columns: ['layer', 'answer', 'score'],
  rows: [
    [0, 'a "red", cube', 0.5],
    [1, 'line\nbreak', Number.NaN],
    [2, null, 1],
  ],
};

describe('tableData', () => {
  it('quotes CSV cells that need it and leaves missing values empty', () => {
    expect(toCsv(data)).toBe('layer,answer,score\r\n0,"a ""red"", cube",0.5\r\n1,"line\nbreak",\r\n2,,1\r\n');
  });

  it('writes JSON rows keyed by column, NaN as null', () => {
    expect(toJsonRows(data)[1]).toEqual({ layer: 1, answer: 'line\nbreak', score: null });
  });

  it('encodes UTF-8 as base64', () => {
    expect(atob(textToBase64('ß'))).toBe('\u00c3\u009f');
    const file = tableFile(data, 'curve', 'json');
    expect(file).toMatchObject({ fileName: 'curve.json', mime: 'application/json' });
    expect(
      JSON.parse(new TextDecoder().decode(Uint8Array.from(atob(file.base64), (c) => c.charCodeAt(0)))),
    ).toHaveLength(3);
  });

  it('makes file names exportFigure accepts', () => {
    expect(fileBase('fusion curve / demo')).toBe('fusion-curve-demo');
    expect(fileBase('///')).toBe('figure');
  });
});
