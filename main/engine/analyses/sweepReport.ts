/**
 * The sweep's report section: the masking curve of every masking mode the model was swept in (the
 * report's run and the newest finished run of each other mode, window and hidden fill on the same
 * items, so zeroing and resampling the image's states draw side by side), one chart per
 * metric (the answer's score, then the gold answer's probability). Each chart says its metric, the
 * samples behind it and what its band is: the paired bootstrap interval of the drop, the statistic the
 * fusion/review labels test, drawn as baseline − drop so a layer's band clears the baseline exactly
 * when its drop is significant.
 */
import type { Metric, SweepSummary } from '../../common/analysis.ts';
import { fusionCurveOption, type FusionCurveSeries } from '../../common/charts/fusionCurve.ts';
import { FIGURE_SIZE } from '../../common/charts/theme.ts';
import type { RunRow } from '../../common/runs.ts';
import { runsBeside, type ReportContext } from '../report/reportContext.ts';
import { toCsv } from '../report/table/csv.ts';
import type { Workspace } from '../store/workspace.ts';
import type { ReadOptions } from './analysis.ts';

/** Reads a sweep run's summary (sweep.ts's summarizeSweep, passed in: it imports this file). */
export type ReadSweep = (runId: number, options: ReadOptions) => SweepSummary;

const METRIC_NAMES: Readonly<Record<Metric, string>> = {
  vqa: 'VQA accuracy',
  exact: 'exact-match accuracy',
  pope: 'POPE accuracy',
  anls: 'ANLS',
  choice: 'multiple-choice accuracy',
  none: 'score',
};

interface SweepSettings {
  readonly mode?: string;
  readonly scale?: number;
  readonly fill?: string;
  readonly donors?: number;
  readonly window?: number;
}

const settingsOf = (run: RunRow) => (run.config ?? {}) as SweepSettings;
export const modeOf = (run: RunRow) => settingsOf(run).mode ?? 'hidden';
/** What took the image's states in hidden mode (runs from before the setting zeroed them); null otherwise. */
export const fillOf = (run: RunRow) => (modeOf(run) === 'hidden' ? (settingsOf(run).fill ?? 'zero') : null);
/** A run's mode with its fill: "hidden (resample)", "knockout". */
export const methodOf = (run: RunRow) => {
  const fill = fillOf(run);
  return fill === null ? modeOf(run) : `${modeOf(run)} (${fill})`;
};
/** Consecutive layers masked together (1: one layer at a time). */
export const windowOf = (run: RunRow) => settingsOf(run).window ?? 1;
/** One curve per mode, fill and window (a windowed knockout beside the single-layer one). */
const curveKey = (run: RunRow) => `${methodOf(run)}/w${windowOf(run)}`;
/** A curve's short name in subtitles: its mode and fill, and its window when it masks several layers. */
const curveName = (run: RunRow) => {
  const window = windowOf(run);
  return window > 1 ? `${methodOf(run)} ×${window}` : methodOf(run);
};

/**
 * What a mode removes, for a legend: the paper's zeroing (or another image's states in place of the
 * image's) carries on; knockout stays at its layers.
 */
function modeLabel(run: RunRow): string {
  const { mode = 'hidden', scale = 0, donors = 4, window = 1 } = settingsOf(run);
  const span = window > 1 ? `layers l..l+${window - 1}` : 'layer l';
  if (mode === 'knockout') return `knockout: no attention to image at ${span}`;
  const states = {
    zero: `image states \u00d7${scale}`,
    resample: "another image's states",
    mean: `the mean of ${donors} other images' states`,
  }[fillOf(run) as string];
  return `${methodOf(run)}: ${states ?? 'image states replaced'} from ${span} on`;
}

/** One mode's curve: band and line from the paired drop, or, for summaries without it, the masked score. */
export function sweepCurve(summary: SweepSummary): {
  mean: number[];
  lower: number[];
  upper: number[];
  paired: boolean;
} {
  const base = summary.baselineMean;
  const drops = summary.drops as SweepSummary['drops'] | undefined;
  if (drops && drops.length === summary.masked.length) {
    return {
      mean: drops.map((d) => base - d.mean),
      lower: drops.map((d) => base - d.upper),
      upper: drops.map((d) => base - d.lower),
      paired: true,
    };
  }
  return {
    mean: summary.masked.map((s) => s.mean),
    lower: summary.masked.map((s) => s.lower),
    upper: summary.masked.map((s) => s.upper),
    paired: false,
  };
}

interface ModeCurve {
  readonly run: RunRow;
  readonly label: string;
  readonly summary: SweepSummary;
}

const criterionOf = (s: SweepSummary) =>
  (s.labels.params as { criterion?: string } | undefined)?.criterion ?? 'drop';

function criterionText(curves: readonly ModeCurve[]): string {
  const ruleOf = ({ summary }: ModeCurve) => {
    const criterion = criterionOf(summary) === 'marginal' ? 'marginal drop' : 'drop';
    const correction = (summary.labels.params as { correction?: string } | undefined)?.correction;
    return correction && correction !== 'none' ? `${criterion}, ${correction}` : criterion;
  };
  const rules = [...new Set(curves.map(ruleOf))];
  if (rules.length === 1) return `\u25c6 fusion layer (rule on the ${rules[0]})`;
  // Several rules (the criterion follows the mode): name each by its modes, kept short enough for one line.
  const byRule = rules.map((rule) => {
    const modes = [...new Set(curves.filter((c) => ruleOf(c) === rule).map((c) => modeOf(c.run)))];
    return `${rule} for ${modes.join(', ')}`;
  });
  return `\u25c6 fusion layer (rule on the ${byRule.join(', the ')})`;
}

async function chart(
  report: ReportContext,
  curves: readonly ModeCurve[],
  numLayers: number,
  title: string,
  metricText: string,
): Promise<{ svg: string; paired: boolean }> {
  const shapes = curves.map((c) => sweepCurve(c.summary));
  const paired = shapes.every((s) => s.paired);
  const counts = [...new Set(curves.map((c) => c.summary.sampleCount))];
  const n =
    counts.length === 1
      ? `n = ${counts[0]} questions`
      : `n = ${curves.map((c) => `${c.summary.sampleCount} (${curveName(c.run)})`).join(', ')}`;
  const band = paired ? 'band: 95% paired bootstrap CI of the drop' : 'band: 95% CI of the masked score';
  // One baseline line when the modes share it (the unmasked run is the same), else one per mode.
  const shared = curves.every(
    (c) => Math.abs(c.summary.baselineMean - curves[0].summary.baselineMean) < 1e-12,
  );
  const series: FusionCurveSeries[] = curves.map((c, i) => {
    const s = c.summary;
    return {
      model: c.label,
      layers: s.masked.map((m) => m.layer),
      numLayers,
      mean: shapes[i].mean,
      lower: shapes[i].lower,
      upper: shapes[i].upper,
      ...(i === 0 || !shared
        ? {
            baseline: s.baselineMean,
            baselineLabel: shared ? 'unmasked baseline' : `baseline (${curveName(c.run)})`,
          }
        : {}),
      fusionLayers: s.labels.fusionLayers,
      reviewLayers: s.labels.reviewLayers,
      plateauStart: s.labels.plateauStart,
    };
  });
  const option = fusionCurveOption({
    title,
    subtitle: [
      `${metricText} \u00b7 ${n} \u00b7 ${band}`,
      `${criterionText(curves)} \u00b7 dashed: unmasked baseline`,
    ].join('\n'),
    metricLabel: metricText,
    xAxis: 'layer',
    series,
    fusionLabels: true,
  });
  return { svg: await report.chartSvg(option, { width: FIGURE_SIZE.curve.width, height: 460 }), paired };
}

function curveCsv(curves: readonly ModeCurve[]): string {
  return toCsv(
    [
      'mode',
      'fill',
      'window',
      'layer',
      'masked_mean',
      'masked_ci_lower',
      'masked_ci_upper',
      'drop_mean',
      'drop_ci_lower',
      'drop_ci_upper',
      'label',
      'rule',
      'label_drop',
      'p',
      'reason',
    ],
    curves.flatMap(({ run, summary }) =>
      summary.labels.layers.map((v, i) => {
        const drop = summary.drops?.[i];
        return [
          modeOf(run),
          fillOf(run),
          windowOf(run),
          v.layer,
          summary.masked[i].mean,
          summary.masked[i].lower,
          summary.masked[i].upper,
          drop?.mean ?? null,
          drop?.lower ?? null,
          drop?.upper ?? null,
          v.label,
          v.rule,
          v.drop,
          v.p ?? null,
          v.reason,
        ];
      }),
    ),
  );
}

/** The items' metrics as words: "exact-match accuracy", or several joined. */
export async function scoreName(report: ReportContext, run: RunRow): Promise<string> {
  const metrics = new Set((await report.doneItems(run)).map((item) => item.metric));
  metrics.delete('none');
  return metrics.size > 0 ? [...metrics].map((m) => METRIC_NAMES[m]).join(' / ') : 'score';
}

/** Reads a summary, or nothing when the run has no complete sample of that metric. */
function tryRead(read: ReadSweep, runId: number, options: ReadOptions): SweepSummary | undefined {
  try {
    return read(runId, options);
  } catch {
    return undefined;
  }
}

const MODE_ORDER = ['hidden', 'knockout'];
const FILL_ORDER = ['zero', 'resample', 'mean'];
/** Hidden before knockout (the paper's mode leads), zeroing before its controls. */
const order = (run: RunRow) =>
  MODE_ORDER.indexOf(modeOf(run)) * FILL_ORDER.length + FILL_ORDER.indexOf(fillOf(run) ?? 'zero');

/**
 * The sweeps a model's report draws beside `own` (its newest sweep): the newest finished run of every
 * other mode, fill and window on the same items; hidden first, zeroing before its controls.
 */
export function sweepRunsBeside(workspace: Workspace, own: RunRow): RunRow[] {
  return runsBeside(workspace, own, curveKey).sort((a, b) => order(a) - order(b));
}

export async function sweepReport(
  report: ReportContext,
  run: RunRow,
  sweep: SweepSummary,
  read: ReadSweep,
): Promise<object> {
  const numLayers = report.model.spec.decoder.layers;
  const runs = sweepRunsBeside(report.workspace, run);
  const metrics = [
    {
      metric: 'score' as const,
      name: 'fusion-curve',
      title: 'Layer-wise masking: where the image is fused',
      text: await scoreName(report, run),
    },
    {
      metric: 'gold_prob' as const,
      name: 'fusion-curve-gold-prob',
      title: "Layer-wise masking: the gold answer's probability",
      text: "P(gold answer's first token)",
    },
  ];
  const modes: Record<string, unknown>[] = [];
  const figures: Record<string, unknown> = {};
  for (const { metric, name, title, text } of metrics) {
    const curves: ModeCurve[] = runs.flatMap((r) => {
      const summary = r.id === run.id && metric === 'score' ? sweep : tryRead(read, r.id, { metric });
      return summary ? [{ run: r, label: modeLabel(r), summary }] : [];
    });
    if (curves.length === 0) continue;
    const { svg, paired } = await chart(report, curves, numLayers, title, text);
    const shown = curves.map((c) => c.run);
    report.addFigure(name, svg, shown);
    report.addFile(`${name}.csv`, curveCsv(curves));
    figures[name] = { metric, band: paired ? 'paired bootstrap CI of the drop' : 'CI of the masked score' };
    for (const { run: r, summary } of curves) {
      modes.push({
        mode: modeOf(r),
        fill: fillOf(r),
        window: windowOf(r),
        metric: summary.metric,
        runId: r.id,
        samples: summary.sampleCount,
        baseline: summary.baselineMean,
        criterion: criterionOf(summary),
        fusionLayers: summary.labels.fusionLayers,
        reviewLayers: summary.labels.reviewLayers,
        plateauStart: summary.labels.plateauStart,
        rule: summary.labels.summary,
        warnings: summary.labels.warnings ?? [],
        provenance: r.provenance,
      });
    }
  }
  return {
    runId: sweep.runId,
    mode: sweep.mode ?? modeOf(run),
    fill: fillOf(run),
    metric: sweep.metric,
    baseline: sweep.baselineMean,
    samples: sweep.sampleCount,
    fusionLayers: sweep.labels.fusionLayers,
    reviewLayers: sweep.labels.reviewLayers,
    plateauStart: sweep.labels.plateauStart,
    rule: sweep.labels.summary,
    warnings: sweep.labels.warnings ?? [],
    figures,
    modes,
  };
}
