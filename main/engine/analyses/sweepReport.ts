/**
 * The sweep's report section: the masking curve of every masking mode the model was swept in (the
 * report's run and the newest finished run of each other mode on the same items), one chart per
 * metric (the answer's score, then the gold answer's probability). Each chart says its metric, the
 * samples behind it and what its band is: the paired bootstrap interval of the drop, the statistic the
 * fusion/review labels test, drawn as baseline − drop so a layer's band clears the baseline exactly
 * when its drop is significant.
 */
import type { Metric, SweepSummary } from '../../common/analysis.ts';
import { fusionCurveOption, type FusionCurveSeries } from '../../common/charts/fusionCurve.ts';
import { FIGURE_SIZE } from '../../common/charts/theme.ts';
import type { RunRow } from '../../common/runs.ts';
import { renderChartSvg } from '../report/renderChartSvg.ts';
import type { ReportContext } from '../report/reportContext.ts';
import { toCsv } from '../report/table/csv.ts';
import type { ReadOptions } from './analysis.ts';

/** Reads a sweep run's summary (sweep.ts's summarizeSweep, passed in: it imports this file). */
export type ReadSweep = (runId: number, options: ReadOptions) => SweepSummary;

const METRIC_NAMES: Readonly<Record<Metric, string>> = {
  vqa: 'VQA accuracy',
  exact: 'exact-match accuracy',
  pope: 'POPE accuracy',
  anls: 'ANLS',
  none: 'score',
};

interface SweepSettings {
  readonly mode?: string;
  readonly scale?: number;
  readonly window?: number;
}

const settingsOf = (run: RunRow) => (run.config ?? {}) as SweepSettings;
const modeOf = (run: RunRow) => settingsOf(run).mode ?? 'hidden';
/** One curve per mode and window (a windowed knockout beside the single-layer one). */
const curveKey = (run: RunRow) => `${modeOf(run)}/w${settingsOf(run).window ?? 1}`;
/** A curve's short name in subtitles: its mode, and its window when it masks several layers. */
const curveName = (run: RunRow) => {
  const window = settingsOf(run).window ?? 1;
  return window > 1 ? `${modeOf(run)} ×${window}` : modeOf(run);
};

/** What a mode removes, for a legend: the paper's zeroing carries on; knockout stays at its layers. */
function modeLabel(run: RunRow): string {
  const { mode = 'hidden', scale = 0, window = 1 } = settingsOf(run);
  const span = window > 1 ? `layers l..l+${window - 1}` : 'layer l';
  return mode === 'knockout'
    ? `knockout: no attention to image at ${span}`
    : `hidden: image states \u00d7${scale} from ${span} on`;
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
  const rules = curves.map(({ run, summary }) => {
    const criterion = criterionOf(summary) === 'marginal' ? 'marginal drop' : 'drop';
    const correction = (summary.labels.params as { correction?: string } | undefined)?.correction;
    const corrected = correction && correction !== 'none' ? `, ${correction}` : '';
    return curves.length > 1
      ? `${curveName(run)}'s ${criterion}${corrected}`
      : `the ${criterion}${corrected}`;
  });
  return `\u25c6 fusion layer (rule on ${rules.join(', ')})`;
}

function chart(
  curves: readonly ModeCurve[],
  numLayers: number,
  title: string,
  metricText: string,
): { svg: string; paired: boolean } {
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
  return { svg: renderChartSvg(option, { width: FIGURE_SIZE.curve.width, height: 460 }), paired };
}

function curveCsv(curves: readonly ModeCurve[]): string {
  return toCsv(
    [
      'mode',
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
          settingsOf(run).window ?? 1,
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
async function scoreName(report: ReportContext, run: RunRow): Promise<string> {
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

export async function sweepReport(
  report: ReportContext,
  run: RunRow,
  sweep: SweepSummary,
  read: ReadSweep,
): Promise<object> {
  const numLayers = report.model.spec.decoder.layers;
  const runs = report
    .runsOf('sweep', curveKey)
    .sort((a, b) => MODE_ORDER.indexOf(modeOf(a)) - MODE_ORDER.indexOf(modeOf(b)));
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
    const { svg, paired } = chart(curves, numLayers, title, text);
    const shown = curves.map((c) => c.run);
    report.addFigure(name, svg, shown);
    report.addFile(`${name}.csv`, curveCsv(curves));
    figures[name] = { metric, band: paired ? 'paired bootstrap CI of the drop' : 'CI of the masked score' };
    for (const { run: r, summary } of curves) {
      modes.push({
        mode: modeOf(r),
        window: settingsOf(r).window ?? 1,
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
