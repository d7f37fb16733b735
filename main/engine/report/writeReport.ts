/**
 * A run's report: figures (SVG + PNG at 2×) and data (CSV/JSON) for the newest sweep, evolve and
 * contrast runs of a model in a workspace — the fusion curve with fusion/review layers marked, the
 * attention-evolution curves, per-layer overlays and CA triptychs for a few samples, and the baseline
 * vs refined table. Written into a temporary folder and renamed, so a failed report leaves nothing half
 * written.
 */
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { evolutionCurvesOption } from '../../common/charts/evolutionCurves.ts';
import { fusionCurveOption } from '../../common/charts/fusionCurve.ts';
import { evolutionMetricLabel, METHOD_LABELS } from '../../common/charts/labels.ts';
import { evenlySpacedLayers } from '../../common/charts/overlay.ts';
import { FusionError } from '../../common/errors.ts';
import type { RunKind, RunRow } from '../../common/runs.ts';
import { displayCells, imageTokenLayout, type ImageTokenLayout } from '../analysis/imageTokens.ts';
import { openDataset, type DatasetItem } from '../datasets/index.ts';
import type { Refinement } from '../experiments/contrast.ts';
import type { ContrastItemResult, EvolveItemResult } from '../experiments/kinds.ts';
import type { LayerStat } from '../experiments/metrics/index.ts';
import {
  summarizeContrast,
  summarizeEvolution,
  summarizeSweep,
  type SweepSummary,
} from '../experiments/summaries.ts';
import { loadImage, preprocessImage } from '../image/index.ts';
import type { LoadedModel } from '../model/openModel.ts';
import type { Workspace } from '../store/workspace.ts';
import { caTriptychPng, caTriptychSvg } from './figures/caTriptych.ts';
import { layerStripPng, layerStripSvg } from './figures/layerStrip.ts';
import { renderChartSvg } from './renderChartSvg.ts';
import { svgToPng } from './svgToPng.ts';
import { toCsv } from './table/csv.ts';
import { tableSvg } from './table/svg.ts';
import type { TableInput } from './table/types.ts';

export interface ReportOptions {
  /** Samples drawn as overlays (default 3, items with boxes first). */
  readonly samples?: number;
  /**
   * The run to report on (any status: the app exports the run on screen); the other kinds come from
   * the model's newest finished runs. Default: the newest finished run of every kind.
   */
  readonly run?: RunRow;
}

/** What the report needs of a model: no sessions, so a model described from its config will do. */
export type ReportModel = Pick<LoadedModel, 'folder' | 'spec' | 'imageConfig' | 'info'>;

type Files = Map<string, string | Uint8Array>;

export { METHOD_LABELS };

/** Figure titles stay on one line; the full texts are in the CSV files. */
function shorten(text: string, max = 72): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

function newestRun(
  workspace: Workspace,
  model: ReportModel,
  kind: RunKind,
  given: RunRow | undefined,
): RunRow | undefined {
  if (given?.kind === kind) return given;
  return workspace.listRuns({ kind, status: 'done' }).find((run) => run.model.folder === model.folder);
}

function addFigure(files: Files, name: string, svg: string): void {
  files.set(`${name}.svg`, svg);
  files.set(`${name}.png`, svgToPng(svg, { scale: 2 }));
}

function addTable(files: Files, name: string, table: TableInput): void {
  addFigure(files, name, tableSvg(table));
  files.set(`${name}.csv`, toCsv(table.columns, table.rows));
}

const interval = (stats: readonly LayerStat[]) => ({
  mean: stats.map((s) => s.mean),
  lower: stats.map((s) => s.lower),
  upper: stats.map((s) => s.upper),
});

function sweepFiles(files: Files, model: ReportModel, sweep: SweepSummary): void {
  const label = `${model.spec.modelType} (${model.spec.decoder.layers} layers)`;
  const option = fusionCurveOption({
    title: 'Layer-wise masking: where the image is fused',
    metricLabel: `${sweep.metric} with the image masked at the layer`,
    xAxis: 'layer',
    series: [
      {
        model: label,
        layers: sweep.masked.map((s) => s.layer),
        numLayers: model.spec.decoder.layers,
        ...interval(sweep.masked),
        baseline: sweep.baselineMean,
        fusionLayers: sweep.labels.fusionLayers,
        reviewLayers: sweep.labels.reviewLayers,
        plateauStart: sweep.labels.plateauStart,
      },
    ],
  });
  addFigure(files, 'fusion-curve', renderChartSvg(option, { width: 720, height: 420 }));
  files.set(
    'fusion-curve.csv',
    toCsv(
      ['layer', 'masked_mean', 'ci_lower', 'ci_upper', 'drop', 'label', 'reason'],
      sweep.labels.layers.map((v, i) => [
        v.layer,
        sweep.masked[i].mean,
        sweep.masked[i].lower,
        sweep.masked[i].upper,
        v.drop,
        v.label,
        v.reason,
      ]),
    ),
  );
}

interface SampleView {
  readonly item: DatasetItem;
  readonly image: Awaited<ReturnType<typeof loadImage>>;
  readonly tokenRects: ImageTokenLayout['rects'];
}

async function sampleView(model: ReportModel, item: DatasetItem): Promise<SampleView> {
  const image = await loadImage(item.imagePath);
  const layout = imageTokenLayout(model.spec, preprocessImage(image, model.imageConfig), model.imageConfig);
  return { item, image, tokenRects: displayCells(layout).rects };
}

function mapsOf(workspace: Workspace, runId: number, itemId: string): number[][] | undefined {
  const stored = workspace.readArray(runId, itemId, 'maps');
  if (!stored) return undefined;
  const [layers, tokens] = stored.shape;
  return Array.from({ length: layers }, (_, l) =>
    Array.from(stored.data.subarray(l * tokens, (l + 1) * tokens)),
  );
}

/** Writes the report for `model`'s newest finished runs; returns the files written. */
export async function writeReport(
  workspace: Workspace,
  model: ReportModel,
  outDir: string,
  options: ReportOptions = {},
): Promise<string[]> {
  const files: Files = new Map();
  const summary: Record<string, unknown> = { model: model.info() };
  const sweepRun = newestRun(workspace, model, 'sweep', options.run);
  const evolveRun = newestRun(workspace, model, 'evolve', options.run);
  const contrastRun = newestRun(workspace, model, 'contrast', options.run);
  if (!sweepRun && !evolveRun && !contrastRun) {
    throw new FusionError(
      'BAD_ARGUMENT',
      `the workspace has no finished sweep, evolve or contrast run of ${model.folder}`,
    );
  }
  const sweep = sweepRun ? summarizeSweep(workspace, sweepRun.id) : undefined;
  if (sweep) {
    sweepFiles(files, model, sweep);
    summary.sweep = {
      runId: sweep.runId,
      metric: sweep.metric,
      baseline: sweep.baselineMean,
      samples: sweep.sampleCount,
      fusionLayers: sweep.labels.fusionLayers,
      reviewLayers: sweep.labels.reviewLayers,
      plateauStart: sweep.labels.plateauStart,
      rule: sweep.labels.summary,
    };
  }
  if (evolveRun) {
    const evolution = summarizeEvolution(workspace, evolveRun.id);
    const series = Object.entries(evolution.curves).map(([name, stats]) => ({
      name: evolutionMetricLabel(name),
      ...interval(stats),
    }));
    const layers = Object.values(evolution.curves)[0]?.map((s) => s.layer) ?? [];
    const option = evolutionCurvesOption({
      title: 'Attention evolution',
      layers,
      series,
      reviewLayers: sweep?.labels.reviewLayers,
      fusionLayers: sweep?.labels.fusionLayers,
    });
    addFigure(files, 'evolution', renderChartSvg(option, { width: 720, height: 600 }));
    files.set(
      'evolution.csv',
      toCsv(
        ['layer', ...series.map((s) => s.name)],
        layers.map((layer, i) => [layer, ...series.map((s) => s.mean[i])]),
      ),
    );
    summary.evolution = { runId: evolveRun.id, samples: evolution.sampleCount };
  }
  const datasetRun = evolveRun ?? contrastRun;
  if (datasetRun && evolveRun) {
    const dataset = await openDataset(datasetRun.dataset.path);
    const done = new Set(workspace.completedItems(evolveRun.id));
    const chosen = [...dataset.items]
      .filter((item) => done.has(item.id))
      .sort((a, b) => b.boxes.length - a.boxes.length)
      .slice(0, options.samples ?? 3);
    const contrastRows = contrastRun
      ? new Map(summarizeContrast(workspace, contrastRun.id).rows.map((r) => [r.itemId, r]))
      : new Map<string, ContrastItemResult>();
    const evolveResults = new Map(
      workspace.readSamples<EvolveItemResult>(evolveRun.id).map((s) => [s.itemId, s.result]),
    );
    for (const item of chosen) {
      const maps = mapsOf(workspace, evolveRun.id, item.id);
      if (!maps) continue;
      const view = await sampleView(model, item);
      const noiseTokens = evolveResults.get(item.id)?.noiseTokens.map((t) => t.token) ?? [];
      const shown = evenlySpacedLayers(maps.length, 4);
      const strip = {
        image: view.image,
        tokenRects: view.tokenRects,
        layers: shown.map((layer) => ({ layer, map: maps[layer] })),
        boxes: item.boxes,
        noiseTokens,
        title: shorten(`${item.question} (gold: ${item.answers[0] ?? '—'})`),
      };
      files.set(`attention-${item.id}.svg`, layerStripSvg(strip));
      files.set(`attention-${item.id}.png`, layerStripPng(strip, { scale: 2 }));
      const contrast = contrastRows.get(item.id);
      const ca = contrastRun ? workspace.readArray(contrastRun.id, item.id, 'ca') : undefined;
      if (contrast && ca) {
        const final = maps.length - 1;
        const triptych = {
          image: view.image,
          tokenRects: view.tokenRects,
          pre: { layer: contrast.preLayer, map: maps[contrast.preLayer] },
          final: { layer: final, map: maps[final] },
          ca: Array.from(ca.data),
          boxes: item.boxes,
          title: shorten(
            `${item.question} — ${shorten(contrast.baselineAnswer, 16)} → ${shorten(contrast.refined.mask?.answer ?? '—', 16)}`,
          ),
        };
        files.set(`contrastive-${item.id}.svg`, caTriptychSvg(triptych));
        files.set(`contrastive-${item.id}.png`, caTriptychPng(triptych, { scale: 2 }));
      }
    }
  }
  if (contrastRun) {
    const c = summarizeContrast(workspace, contrastRun.id);
    addTable(files, 'contrastive-results', {
      title: 'Refinements vs no refinement (same samples)',
      columns: [
        'method',
        { label: 'score', digits: 3, best: 'max' },
        { label: 'improved', digits: 0 },
        { label: 'worsened', digits: 0 },
      ],
      rows: c.methods.map((m) => [METHOD_LABELS[m.method], m.mean, m.improved, m.worsened]),
    });
    const ran = c.methods.filter((m) => m.method !== 'none').map((m) => m.method as Refinement);
    files.set(
      'contrastive-samples.csv',
      toCsv(
        [
          'item',
          'pre_layer',
          'baseline_answer',
          'baseline_score',
          ...ran.flatMap((m) => [`${m}_answer`, `${m}_score`]),
        ],
        c.rows.map((r) => [
          r.itemId,
          r.preLayer,
          r.baselineAnswer,
          r.baselineScore,
          ...ran.flatMap((m) => [r.refined[m]?.answer ?? null, r.refined[m]?.score ?? null]),
        ]),
      ),
    );
    summary.contrast = { runId: c.runId, samples: c.sampleCount, methods: c.methods };
  }
  files.set('report.json', `${JSON.stringify(summary, null, 2)}\n`);
  return writeAtomically(outDir, files);
}

async function writeAtomically(outDir: string, files: Files): Promise<string[]> {
  const temp = `${outDir}.tmp-${process.pid}`;
  await rm(temp, { recursive: true, force: true });
  await mkdir(temp, { recursive: true });
  for (const [name, content] of files) await writeFile(join(temp, name), content);
  await rm(outDir, { recursive: true, force: true });
  await rename(temp, outDir);
  return [...files.keys()].sort();
}
