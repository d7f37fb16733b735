/**
 * The contrast run's report section: the refinements against no refinement on the same samples (n,
 * mean score, the paired difference with its bootstrap interval, McNemar's p, improved / worsened,
 * wall time per sample; refinements that could not apply named under the table, and how often VAR
 * moved any attention), the per-sample answers as CSV, and for a
 * few samples across the question families the maps A^(i*), A^(final) and CA beside the untouched
 * image with the crops the refinements fed back, titled with every method's answer.
 */
import type { ContrastSummary, Interval, MethodScore, Refinement } from '../../common/analysis.ts';
import { METHOD_LABELS, METHOD_SHORT_LABELS, varActivityText } from '../../common/charts/labels.ts';
import { PALETTE } from '../../common/charts/theme.ts';
import type { RunRow } from '../../common/runs.ts';
import { caTriptychSvg } from '../report/figures/caTriptych.ts';
import type { PanelMark } from '../report/figures/panels.ts';
import type { ReportContext } from '../report/reportContext.ts';
import { toCsv } from '../report/table/csv.ts';
import type { TableCell, TableColumn } from '../report/table/types.ts';
import { acrossFamilies, answerText, sampleTitle } from './reportSamples.ts';

/** Crop outlines: vermillion for CA's crop, blue for ViCrop's (the box stays white on the maps). */
const CROP_MARKS: readonly { method: 'crop' | 'vicrop'; color: string; label: string }[] = [
  { method: 'crop', color: PALETTE[1], label: 'CA crop' },
  { method: 'vicrop', color: PALETTE[0], label: 'ViCrop' },
];

const signed = (v: number) => `${v >= 0 ? '+' : '\u2212'}${Math.abs(v).toFixed(3)}`;

function deltaText(delta: Interval | null | undefined): string | null {
  if (!delta) return null;
  return `${signed(delta.mean)} [${signed(delta.lower)}, ${signed(delta.upper)}]`;
}

function pText(p: number | null | undefined): string | null {
  if (p === null || p === undefined || !Number.isFinite(p)) return null;
  return p < 0.001 ? '< 0.001' : p.toFixed(3);
}

const nOf = (m: MethodScore) => m.n ?? null;

/**
 * A method's row of the results table and its columns (`best`: bold the best score, which only means
 * something among one model's methods), shared by a model's report and the comparison of models.
 */
export function methodColumns(best: boolean): TableColumn[] {
  return [
    { label: 'method' },
    { label: 'n', digits: 0 },
    { label: 'score', digits: 3, ...(best ? { best: 'max' as const } : {}) },
    { label: '\u0394 vs none [95% CI]', align: 'right' },
    { label: 'p (McNemar)', align: 'right' },
    { label: 'improved', digits: 0 },
    { label: 'worsened', digits: 0 },
  ];
}

export function methodCells(m: MethodScore): TableCell[] {
  return [
    METHOD_LABELS[m.method],
    nOf(m),
    m.mean,
    deltaText(m.delta),
    pText(m.p),
    m.method === 'none' ? null : m.improved,
    m.method === 'none' ? null : m.worsened,
  ];
}

export const METHOD_NOTE =
  '\u0394: mean paired difference to no refinement, 95% paired bootstrap CI; p: exact two-sided McNemar (sign) test on improved vs worsened';

/** The same numbers for a CSV, at full precision. */
export const METHOD_CSV_COLUMNS = [
  'method',
  'n',
  'score',
  'delta',
  'delta_ci_lower',
  'delta_ci_upper',
  'p_mcnemar',
  'improved',
  'worsened',
];

export function methodCsvCells(m: MethodScore): TableCell[] {
  return [
    m.method,
    nOf(m),
    m.mean,
    m.delta?.mean ?? null,
    m.delta?.lower ?? null,
    m.delta?.upper ?? null,
    m.p ?? null,
    m.improved,
    m.worsened,
  ];
}

function resultsTable(report: ReportContext, run: RunRow, c: ContrastSummary): void {
  const methods: readonly MethodScore[] = c.methods;
  const notApplicable = c.notApplicable ?? [];
  const n = methods[0] ? nOf(methods[0]) : null;
  report.addTable(
    'contrastive-results',
    {
      title: `Refinements vs no refinement (the same ${n ?? c.sampleCount} samples)`,
      columns: [...methodColumns(true), { label: 'ms / sample', digits: 0 }],
      rows: methods.map((m) => [...methodCells(m), m.latencyMs ?? null]),
      notes: [
        METHOD_NOTE,
        'ms / sample: wall time of each method on one sample, every pass it needs (the two-pass methods include reading the maps)',
        ...(c.varActivity ? [varActivityText(c.varActivity)] : []),
        ...notApplicable.map((na) => `not applicable: ${METHOD_LABELS[na.method]}: ${na.reason}`),
      ],
    },
    run,
  );
  // The CSV keeps numbers as numbers, at full precision.
  report.addFile(
    'contrastive-results.csv',
    toCsv(
      [...METHOD_CSV_COLUMNS, 'latency_ms'],
      [
        ...methods.map((m) => [...methodCsvCells(m), m.latencyMs ?? null]),
        ...notApplicable.map((na) => [na.method, null, null, null, null, null, null, null, null, null]),
      ],
    ),
  );
}

function samplesCsv(report: ReportContext, c: ContrastSummary, ran: readonly Refinement[]): void {
  report.addFile(
    'contrastive-samples.csv',
    toCsv(
      [
        'item',
        'pre_layer',
        'baseline_answer',
        'baseline_score',
        ...ran.flatMap((m) => [`${m}_answer`, `${m}_score`]),
        // How much VAR moved on each sample: (layer, head) pairs, and the most image sinks at a layer.
        ...(ran.includes('var') ? ['var_heads', 'var_image_sinks'] : []),
      ],
      c.rows.map((r) => [
        r.itemId,
        r.preLayer,
        r.baselineAnswer,
        r.baselineScore,
        ...ran.flatMap((m) => [r.refined[m]?.answer ?? null, r.refined[m]?.score ?? null]),
        ...(ran.includes('var') ? [r.var?.heads ?? null, r.var?.imageSinks ?? null] : []),
      ]),
    ),
  );
}

export async function contrastReport(
  report: ReportContext,
  run: RunRow,
  c: ContrastSummary,
): Promise<object> {
  resultsTable(report, run, c);
  const ran = c.methods.filter((m) => m.method !== 'none').map((m) => m.method as Refinement);
  samplesCsv(report, c, ran);
  // Triptychs A^(i*) | A^(final) | CA for a few samples across the families, from the run's own maps.
  const rows = new Map(c.rows.map((r) => [r.itemId, r]));
  const finalLayer = report.model.spec.decoder.layers - 1;
  const drawn: string[] = [];
  for (const item of acrossFamilies(await report.doneItems(run), report.samples)) {
    const row = rows.get(item.id);
    const [ca, pre, final] = ['ca', 'pre', 'final'].map((name) =>
      report.workspace.readArray(run.id, item.id, name),
    );
    if (!row || !ca || !pre || !final) continue;
    const view = await report.sampleView(item);
    const marks: PanelMark[] = CROP_MARKS.flatMap(({ method, color, label }) => {
      const rect = row.crops[method];
      return rect ? [{ rect, color, label }] : [];
    });
    const answers = [
      `${METHOD_SHORT_LABELS.none}: ${answerText(row.baselineAnswer, row.baselineScore, 16)}`,
      ...ran.map((m) => {
        const refined = row.refined[m];
        return `${METHOD_SHORT_LABELS[m]}: ${refined ? answerText(refined.answer, refined.score, 16) : '\u2014'}`;
      }),
    ];
    const triptych = {
      image: view.image,
      tokenRects: view.tokenRects,
      original: { label: marks.length ? 'image, crops fed back' : 'image', marks },
      pre: { layer: row.preLayer, map: Array.from(pre.data) },
      final: { layer: finalLayer, map: Array.from(final.data) },
      ca: Array.from(ca.data),
      boxes: item.boxes,
      title: sampleTitle(item, { answer: row.baselineAnswer, score: row.baselineScore }),
      subtitle: answers.join(' \u00b7 '),
      panelWidth: 160,
    };
    report.addFigure(`contrastive-${item.id}`, caTriptychSvg(triptych), run);
    drawn.push(item.id);
  }
  return {
    runId: c.runId,
    samples: c.sampleCount,
    methods: c.methods,
    notApplicable: c.notApplicable ?? [],
    drawnSamples: drawn,
  };
}
