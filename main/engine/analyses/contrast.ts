/**
 * Contrastive attention (paper §3): CA = A^(final) − A^(i*) with i* among the fusion layers, and the
 * training-free refinements it drives (mask at the review layer, crop) beside the ViCrop and VAR
 * baselines, each scored against the unrefined answer on the same samples.
 */
import { z } from 'zod';

import { MAX_LAYERS } from '../../common/api/methods.ts';
import {
  REFINEMENTS,
  type ContrastItemResult,
  type ContrastSummary,
  type MethodScore,
  type Refinement,
} from '../../common/analysis.ts';
import { METHOD_LABELS, varActivityText } from '../../common/charts/labels.ts';
import { FusionError } from '../../common/errors.ts';
import type { LayerMetricValue } from '../../common/runs.ts';
import { layersFromSweep } from '../../common/sweepLayers.ts';
import { toDisplayMap } from '../analysis/imageTokens.ts';
import { VAR_DEFAULTS } from '../analysis/visualSinks.ts';
import { checkContrastLayers, contrastSample, defaultVicropLayer } from '../experiments/contrast.ts';
import { exactMcNemar, pairedDifference } from '../experiments/metrics/index.ts';
import { scoreAnswer } from '../experiments/scoring.ts';
import type { Workspace } from '../store/workspace.ts';
import { defineAnalysis, maxNewTokensSetting, promptSettings } from './analysis.ts';
import { contrastReport } from './contrastReport.ts';
import { runOfKind } from './runReads.ts';
import { BASELINE_PREFIX, prepareItem } from './samples.ts';
import { summarizeSweep, sweepConfig } from './sweep.ts';

const layer = z.number().int().min(0).max(MAX_LAYERS);
/** Above any decoder's hidden size; a sample checks the dimensions against its model's. */
const MAX_HIDDEN_DIM = 65535;
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
  // null: the sweep found no review layer, so `mask` does not apply (it is reported as such, never
  // run at some other layer: inside the plateau masking is a guaranteed no-op).
  reviewLayer: layer
    .nullable()
    .optional()
    .meta({
      label: 'Review layer',
      description: 'Where mask suppresses the low-CA tokens',
      whenOmitted: `the first review layer, ${fromSweep} (none: mask does not apply)`,
    }),
  rho: z.number().min(0).max(1).default(0.2).meta({
    label: 'ρ',
    description: 'Fraction of image tokens mask suppresses',
  }),
  lambda: z.number().min(0).max(10).default(0.1).meta({
    label: 'λ',
    description: 'Their multiplier (residual stream, or attention weight: see mask space)',
  }),
  maskSpace: z.enum(['residual', 'attention']).default('residual').meta({
    label: 'Mask space',
    description:
      "residual: the tokens' residual stream × λ at the review layer's input (the paper's); the layer's own RMSNorm undoes most of it there. attention: later positions' attention weights on them × λ at the review layer (log λ added to their logits)",
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
  // VAR's settings; their meaning and sources are in analysis/visualSinks.ts.
  varTau: z.number().positive().max(1e6).default(VAR_DEFAULTS.tau).meta({
    label: 'VAR τ',
    description:
      "A token is a visual sink where its RMS-normalised state exceeds τ in a sink dimension (the paper's 20; no entry exceeds √(hidden size))",
  }),
  varRho: z.number().min(0).max(1).default(VAR_DEFAULTS.rho).meta({
    label: 'VAR ρ',
    description:
      'A head is image-centric when at least this share of its image attention is on non-sink tokens',
  }),
  varMinImage: z.number().min(0).max(1).default(VAR_DEFAULTS.minImageAttention).meta({
    label: 'VAR image floor',
    description: 'An image-centric head gives the image at least this much attention in total',
  }),
  varP: z.number().min(0).max(1).default(VAR_DEFAULTS.p).meta({
    label: 'VAR p',
    description: 'Share of its attention a sink token keeps; the rest goes to the non-sink image tokens',
  }),
  varSinkDims: z.array(z.number().int().min(0).max(MAX_HIDDEN_DIM)).min(1).max(64).optional().meta({
    label: 'VAR sink dimensions',
    description: 'Hidden dimensions of massive activation (LLaMA-2-7B: 1415, 2533)',
    whenOmitted: "per layer, those where the first text token's state exceeds τ",
  }),
  varLayers: z.array(layer).min(1).max(MAX_LAYERS).optional().meta({
    label: 'VAR layers',
    description: 'Layers where VAR redistributes the answer position’s attention',
    whenOmitted: "every layer but the first two and the last (the authors' code)",
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

/** Why `mask` cannot run with these settings, or null when it can. */
export function maskNotApplicable(config: Pick<ContrastConfig, 'reviewLayer' | 'methods'>): string | null {
  return config.methods.includes('mask') && config.reviewLayer === null
    ? 'the sweep found no review layer to mask at'
    : null;
}

function resolved(config: ContrastConfig): ResolvedContrastConfig {
  const { candidateLayers, reviewLayer, vicropLayer } = config;
  if (candidateLayers === undefined || reviewLayer === undefined || vicropLayer === undefined) {
    throw new FusionError('INTERNAL', 'contrast settings reached a sample before their layers were resolved');
  }
  return { ...config, candidateLayers, reviewLayer, vicropLayer };
}

function meanLatency(rows: readonly ContrastItemResult[], method: 'none' | Refinement): number | null {
  const times = rows.flatMap((r) => (r.latencyMs?.[method] !== undefined ? [r.latencyMs[method]] : []));
  return times.length ? times.reduce((a, t) => a + t, 0) / times.length : null;
}

export function summarizeContrast(workspace: Workspace, runId: number): ContrastSummary {
  const run = runOfKind(workspace, runId, 'contrast');
  const settings = contrastConfig.safeParse(run.config);
  const notMasked = settings.success ? maskNotApplicable(settings.data) : null;
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
  const baseline = scored.map((r) => scoreOf(r, 'none'));
  const methods = (['none', ...ran] as const).map((method): MethodScore => {
    const scores = scored.map((r) => scoreOf(r, method));
    const improved = scores.filter((s, i) => s > baseline[i]).length;
    const worsened = scores.filter((s, i) => s < baseline[i]).length;
    const compared = method !== 'none' && scored.length > 0;
    const delta = compared ? pairedDifference(scores, baseline) : null;
    return {
      method,
      mean: scored.length ? scores.reduce((a, s) => a + s, 0) / scored.length : NaN,
      n: scored.length,
      improved,
      worsened,
      delta: delta && { mean: delta.mean, lower: delta.lower, upper: delta.upper },
      p: compared ? exactMcNemar(improved, worsened) : null,
      latencyMs: meanLatency(rows, method),
    };
  });
  const notApplicable: ContrastSummary['notApplicable'][number][] = notMasked
    ? [{ method: 'mask', reason: notMasked }]
    : [];
  const withVar = rows.filter((r) => r.var && r.refined.var);
  // VAR decides per sample (its sink dimensions are read off the sample's own first token): not
  // applicable when no sample could run it, with the samples' reason; when only some could, the others
  // are named, since every method is compared on the samples they all scored.
  const skipped = rows.filter((r) => r.varNotApplicable);
  if (skipped.length) {
    const reason = skipped[0].varNotApplicable!;
    notApplicable.push({
      method: 'var',
      reason: withVar.length
        ? `on ${skipped.length} of ${rows.length} samples, left out of every comparison: ${reason}`
        : reason,
    });
  }
  return {
    runId,
    sampleCount: rows.length,
    methods,
    notApplicable,
    rows,
    ...(withVar.length
      ? {
          varActivity: {
            samples: withVar.length,
            acted: withVar.filter((r) => r.var!.heads > 0).length,
            meanHeads: withVar.reduce((a, r) => a + r.var!.heads, 0) / withVar.length,
          },
        }
      : {}),
  };
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

  /**
   * Explicit layers win; the missing ones come from the newest finished sweep of the same model — in
   * hidden mode when there is one (the paper reads its layers off zeroing), else in any mode.
   */
  resolve(config, { workspace, model }) {
    const layers = model.spec.decoder.layers;
    let { candidateLayers, reviewLayer } = config;
    if (candidateLayers === undefined || reviewLayer === undefined) {
      const sweeps = workspace
        .listRuns({ kind: 'sweep', status: 'done' })
        .filter((run) => run.model.folder === model.folder);
      const hidden = sweeps.find((run) => sweepConfig.safeParse(run.config).data?.mode === 'hidden');
      const sweep = hidden ?? sweeps[0];
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
      latencyMs: c.latencyMs,
      ...(c.var ? { var: c.var } : {}),
      ...(c.varNotApplicable ? { varNotApplicable: c.varNotApplicable } : {}),
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
      `contrast run ${summary.runId} (candidates ${config.candidateLayers?.join(',') ?? '?'}, review layer ${config.reviewLayer ?? 'none'}, ${summary.sampleCount} samples):`,
      ...summary.methods.map((m) => {
        const signed = (v: number) => `${v >= 0 ? '+' : '−'}${Math.abs(v).toFixed(3)}`;
        const diff =
          m.delta && m.p !== null
            ? ` Δ ${signed(m.delta.mean)} [${signed(m.delta.lower)}, ${signed(m.delta.upper)}], ${m.improved} improved, ${m.worsened} worsened, McNemar p ${m.p.toPrecision(2)}`
            : '';
        const time = m.latencyMs === null ? '' : `, ${Math.round(m.latencyMs)} ms/sample`;
        return `  ${METHOD_LABELS[m.method].padEnd(32)} ${m.mean.toFixed(3)} (n=${m.n})${diff}${time}`;
      }),
      ...summary.notApplicable.map((na) => `  ${METHOD_LABELS[na.method]}: not applicable (${na.reason})`),
      ...(summary.varActivity ? [`  ${varActivityText(summary.varActivity)}`] : []),
    ];
  },

  report: contrastReport,
});
