/**
 * Contrastive attention (paper §3): CA = A^(final) − A^(i*) with i* among the fusion layers, and the
 * training-free refinements it drives (mask at the review layer, crop) beside ViCrop, each scored
 * against the unrefined answer on the same samples.
 */
import { z } from 'zod';

import { MAX_LAYERS } from '../../common/api/methods.ts';
import {
  REFINEMENTS,
  type ContrastItemResult,
  type ContrastSummary,
  type Refinement,
} from '../../common/analysis.ts';
import { METHOD_LABELS } from '../../common/charts/labels.ts';
import { FusionError } from '../../common/errors.ts';
import type { LayerMetricValue } from '../../common/runs.ts';
import { layersFromSweep } from '../../common/sweepLayers.ts';
import { toDisplayMap } from '../analysis/imageTokens.ts';
import { checkContrastLayers, contrastSample, defaultVicropLayer } from '../experiments/contrast.ts';
import { scoreAnswer } from '../experiments/scoring.ts';
import { caTriptychSvg } from '../report/figures/caTriptych.ts';
import { shorten } from '../report/reportContext.ts';
import { toCsv } from '../report/table/csv.ts';
import type { Workspace } from '../store/workspace.ts';
import { defineAnalysis, maxNewTokensSetting, promptSettings } from './analysis.ts';
import { runOfKind } from './runReads.ts';
import { BASELINE_PREFIX, prepareItem } from './samples.ts';
import { summarizeSweep } from './sweep.ts';

const layer = z.number().int().min(0).max(MAX_LAYERS);
const fromSweep = 'read off the newest finished sweep of the model';

export const contrastConfig = z.strictObject({
  candidateLayers: z
    .array(layer)
    .min(1)
    .max(MAX_LAYERS)
    .optional()
    .meta({
      label: 'Candidate layers',
      description: 'Layers i* is chosen from (the paper takes the fusion layers)',
      whenOmitted: `the fusion layers, ${fromSweep}`,
    }),
  reviewLayer: layer.optional().meta({
    label: 'Review layer',
    description: 'Where mask suppresses the low-CA tokens',
    whenOmitted: `the first review layer, ${fromSweep}`,
  }),
  rho: z.number().min(0).max(1).default(0.2).meta({
    label: 'ρ',
    description: 'Fraction of image tokens mask suppresses',
  }),
  lambda: z.number().min(0).max(10).default(0.1).meta({
    label: 'λ',
    description: 'Their residual-stream multiplier',
  }),
  maxNewTokens: maxNewTokensSetting,
  methods: z
    .array(z.enum(REFINEMENTS))
    .min(1)
    .max(REFINEMENTS.length)
    .default([...REFINEMENTS])
    .meta({ label: 'Refinements', description: 'Which refinements to run' }),
  vicropLayer: layer.optional().meta({
    label: 'ViCrop layer',
    description: "ViCrop's attention layer",
    whenOmitted: 'the same relative depth as its layer 14 of 32 on LLaVA-1.5',
  }),
  ...promptSettings,
});

export type ContrastConfig = z.output<typeof contrastConfig>;
/** Settings with the layers filled in, as a run computes with them. */
export type ResolvedContrastConfig = ContrastConfig &
  Required<Pick<ContrastConfig, 'candidateLayers' | 'reviewLayer' | 'vicropLayer'>>;

/** Settings for `layers`-deep model with the ViCrop layer filled in (its default depends on the depth). */
export function contrastSettings(
  config: z.input<typeof contrastConfig> & Pick<ResolvedContrastConfig, 'candidateLayers' | 'reviewLayer'>,
  layers: number,
): ResolvedContrastConfig {
  const parsed = contrastConfig.parse(config);
  return { ...parsed, ...config, vicropLayer: parsed.vicropLayer ?? defaultVicropLayer(layers) };
}

function resolved(config: ContrastConfig): ResolvedContrastConfig {
  const { candidateLayers, reviewLayer, vicropLayer } = config;
  if (candidateLayers === undefined || reviewLayer === undefined || vicropLayer === undefined) {
    throw new FusionError('INTERNAL', 'contrast settings reached a sample before their layers were resolved');
  }
  return { ...config, candidateLayers, reviewLayer, vicropLayer };
}

export function summarizeContrast(workspace: Workspace, runId: number): ContrastSummary {
  runOfKind(workspace, runId, 'contrast');
  const rows = workspace
    .readSamples(runId)
    .filter((s) => s.status === 'ok')
    .map((s) => ({ itemId: s.itemId, ...(s.result as ContrastItemResult) }));
  const ran = REFINEMENTS.filter((m) => rows.some((r) => r.refined[m]));
  const scored = rows.filter(
    (r) => r.baselineScore !== null && ran.every((m) => r.refined[m]?.score != null),
  );
  const scoreOf = (r: (typeof scored)[number], method: 'none' | Refinement) =>
    (method === 'none' ? r.baselineScore : r.refined[method]?.score) as number;
  const methods = (['none', ...ran] as const).map((method) => ({
    method,
    mean: scored.length ? scored.reduce((a, r) => a + scoreOf(r, method), 0) / scored.length : NaN,
    improved: scored.filter((r) => scoreOf(r, method) > scoreOf(r, 'none')).length,
    worsened: scored.filter((r) => scoreOf(r, method) < scoreOf(r, 'none')).length,
  }));
  return { runId, sampleCount: rows.length, methods, rows };
}

export const contrastAnalysis = defineAnalysis({
  kind: 'contrast',
  title: 'Contrastive attention',
  description: 'CA between a pre- and a post-integration layer, and the refinements it drives',
  config: contrastConfig,
  readsFrom: {
    kind: 'sweep',
    when: (config) => config.candidateLayers === undefined || config.reviewLayer === undefined,
  },

  /** Explicit layers win; the missing ones come from the newest finished sweep of the same model. */
  resolve(config, { workspace, model }) {
    const layers = model.spec.decoder.layers;
    let { candidateLayers, reviewLayer } = config;
    if (candidateLayers === undefined || reviewLayer === undefined) {
      const sweep = workspace
        .listRuns({ kind: 'sweep', status: 'done' })
        .find((run) => run.model.folder === model.folder);
      if (!sweep) {
        throw new FusionError(
          'BAD_ARGUMENT',
          `no finished sweep of ${model.folder} in the workspace: run a sweep first, or give the candidate and review layers`,
        );
      }
      const read = layersFromSweep(summarizeSweep(workspace, sweep.id).labels, layers);
      candidateLayers ??= read.candidateLayers;
      reviewLayer ??= read.reviewLayer;
    }
    return contrastSettings({ ...config, candidateLayers, reviewLayer }, layers);
  },

  /** Layers given are within the model; layers left out are checked as each sample starts. */
  check: (config, { layers }) => checkContrastLayers(config, layers),

  async perSample(model, item, config) {
    const sample = await prepareItem(model, item, config);
    const c = await contrastSample(model, sample, resolved(config));
    const baselineScore = scoreAnswer(item, c.baseline.text);
    const refined: ContrastItemResult['refined'] = Object.fromEntries(
      Object.entries(c.refined).map(([method, g]) => [
        method,
        { answer: g.text, score: scoreAnswer(item, g.text) },
      ]),
    );
    const metrics: LayerMetricValue[] = [];
    if (baselineScore !== null)
      metrics.push({ layer: 0, name: `${BASELINE_PREFIX}score`, value: baselineScore });
    for (const [method, r] of Object.entries(refined)) {
      if (r.score !== null) metrics.push({ layer: 0, name: `${method}_score`, value: r.score });
    }
    const result: ContrastItemResult = {
      preLayer: c.preLayer,
      maskedTokens: c.maskedTokens,
      crops: c.crops,
      baselineAnswer: c.baseline.text,
      baselineScore,
      refined,
    };
    return {
      result,
      metrics,
      // The Contrastive view and the report draw A^(i*), A^(final) and CA side by side from these alone.
      arrays: (
        [
          ['ca', c.ca],
          ['pre', c.preMap],
          ['final', c.finalMap],
        ] as const
      ).map(([name, map]) => {
        const drawn = toDisplayMap(sample.imageLayout, map);
        return { name, data: Float32Array.from(drawn), shape: [drawn.length] };
      }),
    };
  },

  summarize: (workspace, run) => summarizeContrast(workspace, run.id),

  describe(summary, run) {
    const config = run.config as Partial<ContrastConfig>;
    return [
      `contrast run ${summary.runId} (candidates ${config.candidateLayers?.join(',') ?? '?'}, review layer ${config.reviewLayer ?? '?'}, ${summary.sampleCount} samples):`,
      ...summary.methods.map((m) => {
        const diff = m.method === 'none' ? '' : ` (${m.improved} improved, ${m.worsened} worsened)`;
        return `  ${METHOD_LABELS[m.method].padEnd(32)} ${m.mean.toFixed(3)}${diff}`;
      }),
    ];
  },

  async report(report, run, c) {
    report.addTable(
      'contrastive-results',
      {
        title: 'Refinements vs no refinement (same samples)',
        columns: [
          'method',
          { label: 'score', digits: 3, best: 'max' },
          { label: 'improved', digits: 0 },
          { label: 'worsened', digits: 0 },
        ],
        rows: c.methods.map((m) => [METHOD_LABELS[m.method], m.mean, m.improved, m.worsened]),
      },
      run,
    );
    const ran = c.methods.filter((m) => m.method !== 'none').map((m) => m.method as Refinement);
    report.addFile(
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
    // Triptychs A^(i*) | A^(final) | CA for a few samples, from the run's own maps.
    const rows = new Map(c.rows.map((r) => [r.itemId, r]));
    const finalLayer = report.model.spec.decoder.layers - 1;
    const chosen = (await report.doneItems(run))
      .sort((a, b) => b.boxes.length - a.boxes.length)
      .slice(0, report.samples);
    for (const item of chosen) {
      const row = rows.get(item.id);
      const [ca, pre, final] = ['ca', 'pre', 'final'].map((name) =>
        report.workspace.readArray(run.id, item.id, name),
      );
      if (!row || !ca || !pre || !final) continue;
      const view = await report.sampleView(item);
      const shown = row.refined.mask ? `${shorten(row.refined.mask.answer, 16)} (mask)` : '—';
      const triptych = {
        image: view.image,
        tokenRects: view.tokenRects,
        pre: { layer: row.preLayer, map: Array.from(pre.data) },
        final: { layer: finalLayer, map: Array.from(final.data) },
        ca: Array.from(ca.data),
        boxes: item.boxes,
        title: shorten(`${item.question} — ${shorten(row.baselineAnswer, 16)} → ${shown}`),
      };
      report.addFigure(`contrastive-${item.id}`, caTriptychSvg(triptych), run);
    }
    return { runId: c.runId, samples: c.sampleCount, methods: c.methods };
  },
});
