/**
 * The comparison's contrastive attention (paper §3): per model, each refinement against no refinement
 * on that model's samples — the score, the paired difference with its 95% bootstrap interval,
 * McNemar's p, improved / worsened — as one table (figure and CSV), the numbers of each model's own
 * contrastive-results table; the refinements that could not apply to a model named under it.
 */
import { METHOD_LABELS } from '../../../common/charts/labels.ts';
import {
  METHOD_CSV_COLUMNS,
  METHOD_NOTE,
  methodCells,
  methodColumns,
  methodCsvCells,
} from '../../analyses/contrastReport.ts';
import type { ReportFiles } from '../reportFiles.ts';
import { toCsv } from '../table/csv.ts';
import type { ComparedFigure } from './fusionCompare.ts';
import type { ModelDigest } from './modelDigest.ts';

export const CONTRAST_FIGURE = 'contrastive-results';

/** Adds the table (SVG, PNG, CSV) when a model has a contrast run; returns it by name. */
export function addContrastComparison(
  files: ReportFiles,
  models: readonly ModelDigest[],
): Record<string, ComparedFigure> {
  const compared = models.flatMap((model) => (model.contrast ? [{ model, ...model.contrast }] : []));
  if (compared.length === 0) return {};
  const rows = compared.flatMap(({ model, run, summary }) =>
    summary.methods.map((method) => ({ model, run, method })),
  );
  const title = 'Refinements vs no refinement, per model (each on its own samples)';
  files.addTable(
    CONTRAST_FIGURE,
    {
      title,
      columns: [{ label: 'model' }, ...methodColumns(false)],
      rows: rows.map(({ model, method }) => [model.slug, ...methodCells(method)]),
      notes: [
        METHOD_NOTE,
        ...compared.flatMap(({ model, summary }) =>
          summary.notApplicable.map(
            (na) => `not applicable to ${model.slug}: ${METHOD_LABELS[na.method]}: ${na.reason}`,
          ),
        ),
      ],
    },
    compared.map((c) => c.run),
  );
  // The CSV keeps numbers as numbers, at full precision.
  files.addFile(
    `${CONTRAST_FIGURE}.csv`,
    toCsv(
      ['model', 'run', ...METHOD_CSV_COLUMNS],
      rows.map(({ model, run, method }) => [model.slug, run.id, ...methodCsvCells(method)]),
    ),
  );
  return { [CONTRAST_FIGURE]: { section: 'contrast', title, models: compared.map((c) => c.model.slug) } };
}
