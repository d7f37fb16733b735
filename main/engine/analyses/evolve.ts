/**
 * Attention evolution (paper §2): per layer, where the answer position looks in the image — entropy,
 * distance to the final layer's map, mass on the question-relevant box — and which irrelevant tokens
 * stay among the most attended ("persistent high-attention noise").
 */
import { z } from 'zod';

import { evolutionCurvesOption } from '../../common/charts/evolutionCurves.ts';
import { evolutionMetricLabel } from '../../common/charts/labels.ts';
import { evenlySpacedLayers } from '../../common/charts/overlay.ts';
import type { EvolutionSummary, EvolveItemResult, LayerStat, SweepSummary } from '../../common/analysis.ts';
import type { LayerMetricValue } from '../../common/runs.ts';
import { evolveSample } from '../experiments/evolution.ts';
import { layerBootstrap } from '../experiments/metrics/index.ts';
import { layerStripSvg } from '../report/figures/layerStrip.ts';
import { renderChartSvg } from '../report/renderChartSvg.ts';
import { shorten } from '../report/reportContext.ts';
import { toCsv } from '../report/table/csv.ts';
import type { Workspace } from '../store/workspace.ts';
import { defineAnalysis, promptSettings } from './analysis.ts';
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
    const series = Object.entries(evolution.curves).map(([name, stats]) => ({
      name: evolutionMetricLabel(name),
      ...intervalSeries(stats),
    }));
    const layers = Object.values(evolution.curves)[0]?.map((s) => s.layer) ?? [];
    const option = evolutionCurvesOption({
      title: 'Attention evolution',
      layers,
      series,
      reviewLayers: sweep?.labels.reviewLayers,
      fusionLayers: sweep?.labels.fusionLayers,
    });
    report.addFigure('evolution', renderChartSvg(option, { width: 720, height: 600 }), run);
    report.addFile(
      'evolution.csv',
      toCsv(
        ['layer', ...series.map((s) => s.name)],
        layers.map((layer, i) => [layer, ...series.map((s) => s.mean[i])]),
      ),
    );
    // A few samples drawn layer by layer: the items with most boxes (the relevant region shows).
    const chosen = (await report.doneItems(run))
      .sort((a, b) => b.boxes.length - a.boxes.length)
      .slice(0, report.samples);
    const results = new Map(
      report.workspace.readSamples<EvolveItemResult>(run.id).map((s) => [s.itemId, s.result]),
    );
    for (const item of chosen) {
      const maps = mapsOf(report.workspace, run.id, item.id);
      if (!maps) continue;
      const view = await report.sampleView(item);
      const strip = {
        image: view.image,
        tokenRects: view.tokenRects,
        layers: evenlySpacedLayers(maps.length, 4).map((layer) => ({ layer, map: maps[layer] })),
        boxes: item.boxes,
        noiseTokens: results.get(item.id)?.noiseTokens.map((t) => t.token) ?? [],
        title: shorten(`${item.question} (gold: ${item.answers[0] ?? '—'})`),
      };
      report.addFigure(`attention-${item.id}`, layerStripSvg(strip), run);
    }
    return { runId: run.id, samples: evolution.sampleCount };
  },
});
