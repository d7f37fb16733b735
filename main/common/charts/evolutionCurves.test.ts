import { describe, expect, it } from 'vitest';
import { evolutionCurvesOption } from './evolutionCurves.ts';
import { seriesById, seriesOf } from './testing.ts';

const layers = Array.from({ length: 32 }, (_, l) => l);

describe('evolutionCurvesOption', () => {
  const option = evolutionCurvesOption({
    layers,
    reviewLayers: [29],
    fusionLayers: [2, 4],
    series: [
      {
        name: 'box mass',
        mean: layers.map((l) => l / 40),
        lower: layers.map((l) => l / 40 - 0.01),
        upper: layers.map((l) => l / 40 + 0.01),
      },
      { name: 'entropy', mean: layers.map((l) => 5 - l / 10) },
      { name: 'Hellinger to final', mean: layers.map((l) => 1 - l / 31) },
    ],
  });

  it('stacks one panel per metric with its own axes', () => {
    expect(option.grid).toHaveLength(3);
    expect(option.yAxis).toHaveLength(3);
    expect((option.yAxis as { name: string }[]).map((y) => y.name)).toEqual([
      'box mass',
      'entropy',
      'Hellinger to final',
    ]);
    expect(seriesById(option, 'entropy::mean').xAxisIndex).toBe(1);
    const entropyAxis = (option.yAxis as { min: number; max: number }[])[1];
    expect(entropyAxis.min).toBeLessThanOrEqual(5 - 3.1);
    expect(entropyAxis.max).toBeGreaterThanOrEqual(5);
  });

  it('draws bands only where bounds are given', () => {
    expect(seriesById(option, 'box mass::ci').areaStyle).toBeDefined();
    expect(seriesOf(option).some((s) => s.id === 'entropy::ci')).toBe(false);
  });

  it('shades the review layer and marks fusion layers in every panel', () => {
    for (const name of ['box mass', 'entropy', 'Hellinger to final']) {
      const s = seriesById(option, `${name}::mean`);
      const [[start, end]] = s.markArea!.data;
      expect(start.xAxis).toBeLessThan(29);
      expect(end.xAxis).toBeGreaterThan(29);
      expect(s.markLine!.data.map((d) => d.xAxis)).toEqual([2, 4]);
    }
  });

  it('marks the shown layer with a solid guide in every panel, labelled in the top one', () => {
    const withCursor = evolutionCurvesOption({
      layers,
      fusionLayers: [2],
      cursorLayer: 20,
      series: [
        { name: 'a', mean: layers },
        { name: 'b', mean: layers },
      ],
    });
    const guides = ['a', 'b'].map((name) => seriesById(withCursor, `${name}::mean`).markLine!.data);
    for (const data of guides) expect(data.map((d) => d.xAxis)).toEqual([2, 20]);
    expect(guides.map((d) => (d[1].label as { show: boolean }).show)).toEqual([true, false]);
    expect(() =>
      evolutionCurvesOption({ layers, cursorLayer: NaN, series: [{ name: 'a', mean: layers }] }),
    ).toThrow(/cursorLayer/);
  });

  it('labels the layer axis on the bottom panel only', () => {
    const xs = option.xAxis as { axisLabel: { show: boolean }; name: string }[];
    expect(xs.map((x) => x.axisLabel.show)).toEqual([false, false, true]);
    expect(xs[2].name).toBe('decoder layer');
  });

  it('rejects a series of the wrong length', () => {
    expect(() => evolutionCurvesOption({ layers, series: [{ name: 'x', mean: [1, 2] }] })).toThrow(
      /expected 32/,
    );
    expect(() =>
      evolutionCurvesOption({ layers, series: [{ name: 'x', mean: layers, lower: layers }] }),
    ).toThrow(/both lower and upper/);
  });

  it("draws a panel's reference level dashed and keeps it inside the axis", () => {
    const withChance = evolutionCurvesOption({
      layers,
      series: [
        {
          name: 'box mass',
          mean: layers.map(() => 0.5),
          reference: { value: 0.1, label: 'chance 0.100' },
        },
        { name: 'normalised entropy', mean: layers.map(() => 0.9) },
      ],
    });
    const line = seriesById(withChance, 'box mass::mean').markLine!.data.find((d) => d.name === 'reference')!;
    expect(line.yAxis).toBe(0.1);
    expect((line.lineStyle as { type: string }).type).toBe('dashed');
    expect((line.label as { formatter: string }).formatter).toBe('chance 0.100');
    expect((withChance.yAxis as { min: number }[])[0].min).toBeLessThanOrEqual(0.1);
    expect(seriesById(withChance, 'normalised entropy::mean').markLine!.data).toEqual([]);
    expect(() =>
      evolutionCurvesOption({
        layers,
        series: [{ name: 'box mass', mean: layers, reference: { value: NaN, label: 'x' } }],
      }),
    ).toThrow(/reference/);
  });
});
