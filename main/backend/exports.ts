/**
 * Exports: a figure the renderer drew (SVG sanitised, then as SVG, PNG or vector PDF), a run's data (CSV
 * or JSON of its samples and summary) and a run's report (zip). Rendering and the report run in the
 * engine worker; the main thread only checks, reads and encodes.
 */
import type { ApiParams, ExportedFile, RunSummaryView } from '../common/api/index.ts';
import { toCsv } from '../engine/report/table/csv.ts';
import type { TableCell } from '../engine/report/table/types.ts';
import type { Workspace } from '../engine/store/workspace.ts';
import type { EngineClient } from './engineClient.ts';
import { requireRun, summaryView } from './reads.ts';
import { sanitizeSvg } from './svgSanitize.ts';

function file(fileName: string, mime: string, bytes: Uint8Array | string): ExportedFile {
  const buffer = typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : Buffer.from(bytes);
  return { fileName, mime, base64: buffer.toString('base64') };
}

export async function exportFigure(
  engine: EngineClient,
  params: ApiParams<'exportFigure'>,
): Promise<ExportedFile> {
  // Saved and rendered: the rebuilt figure only, never the text the caller sent.
  const { svg, width, height } = sanitizeSvg(params.svg);
  const { format, name } = params;
  if (format === 'svg') return file(`${name}.svg`, 'image/svg+xml', svg);
  const scale = params.scale ?? 2;
  const size = { width, height };
  const bytes = await engine.request({ type: 'renderFigure', svg, format, scale, size });
  return format === 'png'
    ? file(`${name}.png`, 'image/png', bytes)
    : file(`${name}.pdf`, 'application/pdf', bytes);
}

function cell(value: unknown): TableCell {
  if (value === null || value === undefined) return null;
  if (typeof value === 'number' || typeof value === 'string') return value;
  if (typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

/** The summary, or why there is none yet (e.g. a sweep without one complete sample). */
function summaryOrReason(
  workspace: Workspace,
  runId: number,
): { summary: RunSummaryView | null; summaryError?: string } {
  try {
    return { summary: summaryView(workspace, requireRun(workspace, runId)) };
  } catch (error) {
    return { summary: null, summaryError: (error as Error).message };
  }
}

export function exportRunData(workspace: Workspace, params: ApiParams<'exportRunData'>): ExportedFile {
  const run = requireRun(workspace, params.runId);
  const samples = workspace.readSamples(run.id);
  const base = `run-${run.id}-${run.kind}`;
  if (params.format === 'json') {
    const data = { run, ...summaryOrReason(workspace, run.id), samples };
    return file(`${base}.json`, 'application/json', `${JSON.stringify(data, null, 2)}\n`);
  }
  // One row per sample; the result's top-level fields as columns (nested values as JSON).
  const fields: string[] = [];
  for (const s of samples) {
    for (const key of Object.keys((s.result ?? {}) as object)) if (!fields.includes(key)) fields.push(key);
  }
  const rows = samples.map((s) => {
    const result = (s.result ?? {}) as Record<string, unknown>;
    return [s.itemId, s.status, s.error, s.durationMs, ...fields.map((key) => cell(result[key]))];
  });
  return file(
    `${base}.csv`,
    'text/csv',
    toCsv(['item_id', 'status', 'error', 'duration_ms', ...fields], rows),
  );
}

export async function exportReport(
  workspace: Workspace,
  engine: EngineClient,
  params: ApiParams<'exportReport'>,
): Promise<ExportedFile> {
  const run = requireRun(workspace, params.runId);
  const { zip } = await engine.request({ type: 'report', runId: run.id });
  return file(`run-${run.id}-report.zip`, 'application/zip', zip);
}
