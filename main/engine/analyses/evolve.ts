/**
 * Attention evolution (paper §2): per layer, where the answer position looks in the image — entropy,
 * distance to the final layer's map, mass on the question-relevant box — and which irrelevant tokens
 * stay among the most attended ("persistent high-attention noise").
 */
import { z } from 'zod';

import { evolutionCurvesOption } from '../../common/charts/evolutionCurves.ts';
import { EVOLUTION_METRIC_ORDER, evolutionMetricLabel } from '../../common/charts/labels.ts';
import { evenlySpacedLayers } from '../../common/charts/overlay.ts';
import type { EvolutionSummary, EvolveItemResult, LayerStat, SweepSummary } from '../../common/analysis.ts';
import type { LayerMetricValue } from '../../common/runs.ts';
import { attentionMassInBoxes } from '../analysis/imageTokens.ts';
import type { DatasetItem } from '../datasets/types.ts';
import { evolveSample } from '../experiments/evolution.ts';
import { layerBootstrap } from '../experiments/metrics/index.ts';
import { layerStripSvg } from '../report/figures/layerStrip.ts';
import type { ReportContext } from '../report/reportContext.ts';
import { toCsv } from '../report/table/csv.ts';
import type { Workspace } from '../store/workspace.ts';
import { defineAnalysis, promptSettings } from './analysis.ts';
import { acrossFamilies, modelAnswers, sampleTitle } from './reportSamples.ts';
import { intervalSeries } from './reportSeries.ts';
import { metricTable, runOfKind } from './runReads.ts';
import { prepareItem, stack } from './samples.ts';

const fraction = z.number().min(0).max(1);

export const evolveConfig = z.strictObject({
  rows: z.enum(['last', 'question']).default('last').meta({
    label: 'Attention rows',
    flag: 'attention-rows',
    description: 'Read attention from the last position, or average it over every question position',
  }),
  perHead: z.boolean().default(false).meta({
    label: 'Per-head maps',
    description: 'Also store each head’s map ([layers, heads, tokens]; large for big models)',
  }),
  noiseTopFraction: fraction.default(0.05).meta({
    label: 'Noise: top fraction',
    description: 'A token counts at a layer when it is among this top fraction of tokens',
  }),
  noiseMinLayers: fraction.default(0.75).meta({
    label: 'Noise: layer fraction',
    description: '…at no fewer than this fraction of the layers',
  }),
  ...promptSettings,
});

export type EvolutionConfig = z.output<typeof evolveConfig>;

export function summarizeEvolution(workspace: Workspace, runId: number): EvolutionSummary {
  runOfKind(workspace, runId, 'evolve');
  const curves: Record<string, LayerStat[]> = {};
  let sampleCount = 0;
  for (const name of workspace.metricNames(runId)) {
    const rows = [...metricTable(workspace, runId, name).values()];
    const layers = [...new Set(rows.flatMap((row) => [...row.keys()]))].sort((a, b) => a - b);
    const complete = rows.filter((row) => layers.every((l) => row.has(l)));
    if (complete.length === 0) continue;
    curves[name] = layerBootstrap(complete.map((row) => layers.map((l) => row.get(l) as number)));
    sampleCount = Math.max(sampleCount, complete.length);
  }
  return { runId, sampleCount, curves };
}

/** A run's per-layer maps of one item, [layer][cell]. */
function mapsOf(workspace: Workspace, runId: number, itemId: string): number[][] | undefined {
  const stored = workspace.readArray(runId, itemId, 'maps');
  if (!stored) return undefined;
  const [layers, tokens] = stored.shape;
  return Array.from({ length: layers }, (_, l) =>
    Array.from(stored.data.subarray(l * tokens, (l + 1) * tokens)),
  );
}

/**
 * Box mass under uniform attention over the displayed cells, averaged over the items with a box: the
 * level box mass starts from if attention ignores the question (for a grid covering the whole image,
 * the boxes' share of its area). Null when no item has a box.
 */
export async function boxMassChance(
  report: ReportContext,
  items: readonly DatasetItem[],
): Promise<{ mean: number; n: number } | null> {
  let sum = 0;
  let n = 0;
  for (const item of items) {
    if (item.boxes.length === 0) continue;
    const { tokenRects } = await report.sampleView(item);
    sum += attentionMassInBoxes(new Float64Array(tokenRects.length).fill(1), tokenRects, item.boxes);
    n++;
  }
  return n > 0 ? { mean: sum / n, n } : null;
}

/** A strip's layers: the sweep's fusion and review layers, the last layer, and evenly spread context. */
function stripLayers(numLayers: number, marked: readonly number[]): number[] {
  return evenlySpacedLayers(numLayers, marked.length > 0 ? 3 : 5, marked);
}

function stripNote(
  item: DatasetItem,
  shown: readonly number[],
  sweep: SweepSummary | undefined,
  numLayers: number,
  noise: number,
): string {
  const fusion = shown.filter((l) => sweep?.labels.fusionLayers.includes(l));
  const review = shown.filter((l) => sweep?.labels.reviewLayers.includes(l));
  return [
    `family ${item.family}`,
    fusion.length ? `fusion layers ${fusion.join(', ')}` : 'no fusion layers from a sweep',
    ...(review.length ? [`review ${review.join(', ')}`] : []),
    `final ${numLayers - 1}`,
    'one colour scale',
    ...(item.boxes.length ? ['white: relevant box'] : []),
    ...(noise > 0 ? ['dashed: persistent noise'] : []),
  ].join(' \u00b7 ');
}

export const evolveAnalysis = defineAnalysis({
  kind: 'evolve',
  title: 'Attention evolution',
  description: 'per layer, where the answer position looks in the image',
  config: evolveConfig,

  async perSample(model, item, config) {
    const sample = await prepareItem(model, item, config);
    const evo = await evolveSample(model, sample, item.boxes, config);
    const metrics: LayerMetricValue[] = [];
    evo.maps.forEach((_, layer) => {
      metrics.push({ layer, name: 'entropy', value: evo.entropy[layer] });
      metrics.push({ layer, name: 'hellinger_to_final', value: evo.hellingerToFinal[layer] });
      if (evo.massInBox) metrics.push({ layer, name: 'box_mass', value: evo.massInBox[layer] });
    });
    const result: EvolveItemResult = {
      noiseTokens: evo.noise.map((t) => ({ token: t.token, persistence: t.persistence })),
    };
    return {
      result,
      metrics,
      arrays: [
        // Already on the display cells (evolveSample measured box mass and noise there).
        {
          name: 'maps',
          data: stack(evo.displayMaps),
          shape: [evo.displayMaps.length, evo.displayMaps[0].length],
        },
        ...(config.perHead
          ? [
              {
                name: 'per_head',
                data: stack(evo.displayPerHead),
                shape: [evo.displayPerHead.length, model.spec.decoder.heads, evo.displayMaps[0].length],
              },
            ]
          : []),
      ],
    };
  },

  summarize: (workspace, run) => summarizeEvolution(workspace, run.id),

  describe: (summary) =>
    Object.entries(summary.curves).map(
      ([name, curve]) => `${name.padEnd(20)} ${curve.map((s) => s.mean.toFixed(2)).join(' ')}`,
    ),

  async report(report, run, evolution) {
    const sweep = report.summaryOf<SweepSummary>('sweep');
    const items = await report.doneItems(run);
    const chance = await boxMassChance(report, items);
    const ordered = [
      ...EVOLUTION_METRIC_ORDER.filter((name) => evolution.curves[name]),
      ...Object.keys(evolution.curves).filter((name) => !EVOLUTION_METRIC_ORDER.includes(name)),
    ];
    const series = ordered.map((name) => ({
      name: evolutionMetricLabel(name),
      ...intervalSeries(evolution.curves[name]),
      ...(name === 'box_mass' && chance
        ? { reference: { value: chance.mean, label: `chance ${chance.mean.toFixed(3)}` } }
        : {}),
    }));
    const layers = Object.values(evolution.curves)[0]?.map((s) => s.layer) ?? [];
    const boxN = evolution.curves.box_mass?.[0]?.n;
    const option = evolutionCurvesOption({
      title: 'Attention evolution: where the answer position looks in the image',
      subtitle: [
        `n = ${evolution.sampleCount} samples${boxN !== undefined ? ` (box mass: the ${boxN} with a box)` : ''} \u00b7 bands: 95% bootstrap CI over samples`,
        [
          ...(chance ? ['dashed: chance (uniform attention)'] : []),
          ...(sweep?.labels.fusionLayers.length ? ['dotted: fusion layers'] : []),
          ...(sweep?.labels.reviewLayers.length ? ['shaded: review layers'] : []),
        ].join('   '),
      ]
        .filter(Boolean)
        .join('\n'),
      layers,
      series,
      reviewLayers: sweep?.labels.reviewLayers,
      fusionLayers: sweep?.labels.fusionLayers,
    });
    await report.addChart('evolution', option, { width: 720, height: 600 }, run);
    report.addFile(
      'evolution.csv',
      toCsv(
        ['layer', ...series.flatMap((s) => [s.name, `${s.name} ci_lower`, `${s.name} ci_upper`])],
        layers.map((layer, i) => [layer, ...series.flatMap((s) => [s.mean[i], s.lower[i], s.upper[i]])]),
      ),
    );
    // A few samples, one per question family first, drawn at the layers the sweep marked (fusion,
    // review) and the last, beside the untouched image; the title says what the model answered.
    const answers = modelAnswers(report, run);
    const results = new Map(
      report.workspace.readSamples<EvolveItemResult>(run.id).map((s) => [s.itemId, s.result]),
    );
    const numLayers = report.model.spec.decoder.layers;
    const marked = [...(sweep?.labels.fusionLayers ?? []), ...(sweep?.labels.reviewLayers ?? [])];
    const drawn: string[] = [];
    for (const item of acrossFamilies(items, report.samples)) {
      const maps = mapsOf(report.workspace, run.id, item.id);
      if (!maps) continue;
      const view = await report.sampleView(item);
      const shown = stripLayers(maps.length, marked);
      const noiseTokens = results.get(item.id)?.noiseTokens.map((t) => t.token) ?? [];
      const strip = {
        image: view.image,
        tokenRects: view.tokenRects,
        original: true,
        layers: shown.map((layer) => ({ layer, map: maps[layer] })),
        boxes: item.boxes,
        noiseTokens,
        title: sampleTitle(item, answers.get(item.id)),
        subtitle: stripNote(item, shown, sweep, numLayers, noiseTokens.length),
        panelWidth: shown.length > 6 ? 130 : 160,
      };
      report.addFigure(`attention-${item.id}`, layerStripSvg(strip), run);
      drawn.push(item.id);
    }
    return {
      runId: run.id,
      samples: evolution.sampleCount,
      boxMassChance: chance,
      drawnSamples: drawn,
    };
  },
});
