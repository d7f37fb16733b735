import { describe, expect, it } from 'vitest';
import { FusionError } from '../errors.ts';
import { fusionCurveOption, fusionSeriesId, type FusionCurveSeries } from './fusionCurve.ts';
import { seriesById, seriesOf } from './testing.ts';

function llava(overrides: Partial<FusionCurveSeries> = {}): FusionCurveSeries {
  const mean = Array.from({ length: 32 }, (_, l) => (l === 2 || l === 29 ? 0.4 : 0.6));
  return {
    model: 'llava',
    mean,
    lower: mean.map((v) => v - 0.05),
    upper: mean.map((v) => v + 0.05),
    baseline: 0.62,
    fusionLayers: [2, 4, 8],
    reviewLayers: [29],
    plateauStart: 19,
    ...overrides,
  };
}

function qwen(): FusionCurveSeries {
  const mean = Array.from({ length: 28 }, () => 0.7);
  return {
    model: 'qwen',
    layers: Array.from({ length: 28 }, (_, l) => l),
    mean,
    lower: mean.map((v) => v - 0.02),
    upper: mean.map((v) => v + 0.02),
    fusionLayers: [3, 27],
    reviewLayers: [],
  };
}

describe('fusionCurveOption', () => {
  it('shades the review phase over the review layers and labels it', () => {
    const option = fusionCurveOption({
      metricLabel: 'accuracy',
      xAxis: 'layer',
      series: [llava({ reviewLayers: [28, 29] })],
    });
    const areas = seriesById(option, fusionSeriesId.mean('llava')).markArea!.data;
    expect(areas).toHaveLength(1);
    const [start, end] = areas[0];
    expect(start.name).toBe('review');
    expect(start.xAxis).toBeLessThanOrEqual(28);
    expect(end.xAxis).toBeGreaterThanOrEqual(29);
    expect(start.xAxis).toBeGreaterThan(27);
    expect(end.xAxis).toBeLessThan(30);
  });

  it('splits non-adjacent review layers into separate areas', () => {
    const option = fusionCurveOption({
      metricLabel: 'a',
      xAxis: 'layer',
      series: [llava({ reviewLayers: [25, 29, 30] })],
    });
    const areas = seriesById(option, fusionSeriesId.mean('llava')).markArea!.data;
    expect(areas.map(([s, e]) => [s.xAxis, e.xAxis])).toEqual([
      [24.5, 25.5],
      [28.5, 30.5],
    ]);
  });

  it('puts fusion markers at the fusion layers on the curve', () => {
    const option = fusionCurveOption({ metricLabel: 'a', xAxis: 'layer', series: [llava()] });
    const points = seriesById(option, fusionSeriesId.fusion('llava')).data as { value: number[] }[];
    expect(points.map((p) => p.value)).toEqual([
      [2, 0.4],
      [4, 0.6],
      [8, 0.6],
    ]);
  });

  it('draws the interval as a stacked band: lower, then upper - lower filled', () => {
    const option = fusionCurveOption({ metricLabel: 'a', xAxis: 'layer', series: [llava()] });
    const base = seriesById(option, fusionSeriesId.bandBase('llava'));
    const fill = seriesById(option, fusionSeriesId.bandFill('llava'));
    expect(base.stack).toBe(fill.stack);
    expect(fill.areaStyle).toBeDefined();
    expect(base.data[2]).toEqual([2, 0.4 - 0.05]);
    expect((fill.data[2] as number[])[1]).toBeCloseTo(0.1, 12);
  });

  it('draws the baseline dashed and the plateau start as a vertical line', () => {
    const option = fusionCurveOption({ metricLabel: 'a', xAxis: 'layer', series: [llava()] });
    const lines = seriesById(option, fusionSeriesId.mean('llava')).markLine!.data;
    const baseline = lines.find((l) => l.name === 'baseline')!;
    expect(baseline.yAxis).toBe(0.62);
    expect((baseline.lineStyle as { type: string }).type).toBe('dashed');
    expect(lines.find((l) => l.name === 'plateau')!.xAxis).toBe(19);
  });

  it('keeps the baseline inside the y axis', () => {
    const option = fusionCurveOption({
      metricLabel: 'a',
      xAxis: 'layer',
      series: [llava({ baseline: 0.9 })],
    });
    const y = option.yAxis as { min: number; max: number };
    expect(y.max).toBeGreaterThanOrEqual(0.9);
    expect(y.min).toBeLessThanOrEqual(0.35);
  });

  it('overlays several models on normalised depth', () => {
    const option = fusionCurveOption({ metricLabel: 'a', xAxis: 'depth', series: [llava(), qwen()] });
    const a = seriesById(option, fusionSeriesId.mean('llava')).data as number[][];
    const b = seriesById(option, fusionSeriesId.mean('qwen')).data as number[][];
    expect(a[0][0]).toBe(0);
    expect(a[31][0]).toBe(1);
    expect(b[27][0]).toBe(1);
    expect(b[9][0]).toBeCloseTo(9 / 27, 12);
    const fusionQwen = seriesById(option, fusionSeriesId.fusion('qwen')).data as { value: number[] }[];
    expect(fusionQwen.map((p) => p.value[0])).toEqual([3 / 27, 1]);
    const reviewLlava = seriesById(option, fusionSeriesId.mean('llava')).markArea!.data[0];
    expect(reviewLlava[0].xAxis).toBeLessThan(29 / 31);
    expect(reviewLlava[1].xAxis).toBeGreaterThan(29 / 31);
    expect(seriesById(option, fusionSeriesId.mean('qwen')).markArea!.data).toEqual([]);
    expect((option.legend as { data: string[]; show: boolean }).data).toEqual(['llava', 'qwen']);
    expect((option.xAxis as { min: number; max: number }).max).toBe(1);
    // each model has its own colour
    const colors = seriesOf(option)
      .filter((s) => s.type === 'line' && !s.stack)
      .map((s) => (s as unknown as { color: string }).color);
    expect(new Set(colors).size).toBe(2);
  });

  it('marks the selected layer with a labelled solid guide, once', () => {
    const option = fusionCurveOption({
      metricLabel: 'a',
      xAxis: 'depth',
      series: [llava(), qwen()],
      cursor: { x: 0.5, label: 'depth 0.5' },
    });
    const lines = (id: string) => seriesById(option, fusionSeriesId.mean(id)).markLine!.data;
    expect(lines('llava').filter((d) => d.name === 'cursor')).toEqual([
      expect.objectContaining({ xAxis: 0.5, label: expect.objectContaining({ formatter: 'depth 0.5' }) }),
    ]);
    expect(lines('qwen').some((d) => d.name === 'cursor')).toBe(false);
  });

  it('uses given depths as they are', () => {
    const s = llava();
    const depth = s.mean.map((_, i) => (i + 0.5) / 32);
    const option = fusionCurveOption({ metricLabel: 'a', xAxis: 'depth', series: [{ ...s, depth }] });
    expect((seriesById(option, fusionSeriesId.mean('llava')).data as number[][])[0][0]).toBe(0.5 / 32);
  });

  it('is serialisable and animation-free', () => {
    const option = fusionCurveOption({
      title: 't',
      metricLabel: 'a',
      xAxis: 'depth',
      series: [llava(), qwen()],
    });
    expect(JSON.parse(JSON.stringify(option))).toEqual(option);
    expect(option.animation).toBe(false);
  });

  it('leaves gaps for missing values', () => {
    const s = llava();
    const mean = [...s.mean];
    mean[5] = NaN;
    const option = fusionCurveOption({ metricLabel: 'a', xAxis: 'layer', series: [{ ...s, mean }] });
    expect((seriesById(option, fusionSeriesId.mean('llava')).data as unknown[][])[5]).toEqual([5, null]);
  });

  it('numbers fusion diamonds of two series when asked, the second above its points', () => {
    const option = fusionCurveOption({
      metricLabel: 'a',
      xAxis: 'layer',
      series: [llava(), llava({ model: 'knockout', fusionLayers: [2] })],
      fusionLabels: true,
    });
    type Point = { label: { show: boolean; position: string; color: string } };
    const first = seriesById(option, fusionSeriesId.fusion('llava')).data as Point[];
    const second = seriesById(option, fusionSeriesId.fusion('knockout')).data as Point[];
    expect(first.every((p) => p.label.show && p.label.position === 'bottom')).toBe(true);
    expect(second[0].label).toMatchObject({ show: true, position: 'top' });
    expect(second[0].label.color).not.toBe(first[0].label.color); // each in its series' colour
    const unlabelled = fusionCurveOption({
      metricLabel: 'a',
      xAxis: 'layer',
      series: [llava(), llava({ model: 'knockout' })],
    });
    const points = seriesById(unlabelled, fusionSeriesId.fusion('llava')).data as Point[];
    expect(points[0].label.show).toBe(false);
  });

  it('makes room for a subtitle of several lines above the legend and plot', () => {
    const top = (subtitle: string) => {
      const option = fusionCurveOption({
        title: 't',
        subtitle,
        metricLabel: 'a',
        xAxis: 'layer',
        series: [llava()],
      });
      return (option.grid as { top: number }).top;
    };
    expect(top('one\ntwo')).toBe(top('one') + 16);
  });

  it('labels the baseline as told, and lays a subtitle of several lines out line by line', () => {
    const option = fusionCurveOption({
      title: 't',
      subtitle: 'one\ntwo',
      metricLabel: 'a',
      xAxis: 'layer',
      series: [
        llava({ baselineLabel: 'unmasked baseline' }),
        llava({ model: 'knockout', baseline: undefined }),
      ],
    });
    const lines = seriesById(option, fusionSeriesId.mean('llava')).markLine!.data;
    expect((lines.find((l) => l.name === 'baseline')!.label as { formatter: string }).formatter).toBe(
      'unmasked baseline',
    );
    expect(
      seriesById(option, fusionSeriesId.mean('knockout')).markLine!.data.some((l) => l.name === 'baseline'),
    ).toBe(false);
    const title = option.title as { subtextStyle: { lineHeight: number; fontSize: number } };
    expect(title.subtextStyle.lineHeight).toBeGreaterThan(title.subtextStyle.fontSize);
  });

  it('puts a second model’s baseline label under its line, so close baselines do not print over each other', () => {
    const option = fusionCurveOption({
      metricLabel: 'a',
      xAxis: 'depth',
      series: [llava({ baseline: 0.86 }), { ...qwen(), baseline: 0.9 }],
    });
    const position = (model: string) =>
      (
        seriesById(option, fusionSeriesId.mean(model)).markLine!.data.find((l) => l.name === 'baseline')!
          .label as { position: string }
      ).position;
    expect([position('llava'), position('qwen')]).toEqual(['insideEndTop', 'insideEndBottom']);
  });

  it('rejects bad input with BAD_ARGUMENT', () => {
    const bad = (f: () => unknown) => {
      try {
        f();
      } catch (error) {
        expect(error).toBeInstanceOf(FusionError);
        expect((error as FusionError).code).toBe('BAD_ARGUMENT');
        return (error as Error).message;
      }
      throw new Error('no error');
    };
    expect(bad(() => fusionCurveOption({ metricLabel: 'a', xAxis: 'layer', series: [] }))).toMatch(
      /at least one/,
    );
    expect(
      bad(() => fusionCurveOption({ metricLabel: 'a', xAxis: 'layer', series: [llava({ lower: [1] })] })),
    ).toMatch(/lower has 1 entries, expected 32/);
    expect(
      bad(() =>
        fusionCurveOption({ metricLabel: 'a', xAxis: 'layer', series: [llava({ fusionLayers: [40] })] }),
      ),
    ).toMatch(/layer 40/);
    expect(
      bad(() => fusionCurveOption({ metricLabel: 'a', xAxis: 'layer', series: [llava(), llava()] })),
    ).toMatch(/repeat/);
    expect(
      bad(() => fusionCurveOption({ metricLabel: 'a', xAxis: 'steps' as 'layer', series: [llava()] })),
    ).toMatch(/xAxis/);
  });
});
