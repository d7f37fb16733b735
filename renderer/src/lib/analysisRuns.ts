/**
 * Pure choices the analysis views make about runs: which run to show (the one in the URL, else the
 * newest finished one for the model and dataset), how the "limit" field reads, and the per-sample
 * tables built from a run's samples (what masking one layer changed; baseline vs refined answers).
 */
import type { ContrastItemResult, Refinement, SweepItemResult } from '../../../main/common/analysis.ts';
import type { SampleListEntry } from '../../../main/common/api/index.ts';
import type { RunKind, RunRow } from '../../../main/common/runs.ts';

/** A route query value (?run=12) as a run id, or undefined. */
export function queryRunId(value: unknown): number | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  const id = typeof text === 'string' ? Number(text) : NaN;
  return Number.isInteger(id) && id > 0 ? id : undefined;
}

/**
 * The run a view shows: the run named in the URL when it exists and is of this kind (whatever its
 * model, dataset or status: a link to a run must open that run), else the newest finished run of
 * the kind for the model and dataset. `runs` is newest first.
 */
export function pickRun(
  runs: readonly RunRow[],
  kind: RunKind,
  modelId: string | null,
  datasetId: string | null,
  requested?: number,
): RunRow | undefined {
  if (requested !== undefined) {
    const named = runs.find((r) => r.id === requested && r.kind === kind);
    if (named) return named;
  }
  if (!modelId || !datasetId) return undefined;
  return runs.find(
    (r) =>
      r.kind === kind && r.status === 'done' && r.model.folder === modelId && r.dataset.path === datasetId,
  );
}

/** The finished runs of a kind for a model and dataset, newest first (the view's run chooser). */
export function runsFor(
  runs: readonly RunRow[],
  kind: RunKind,
  modelId: string | null,
  datasetId: string | null,
): RunRow[] {
  return runs.filter(
    (r) =>
      r.kind === kind && r.status === 'done' && r.model.folder === modelId && r.dataset.path === datasetId,
  );
}

/**
 * The limit field: empty or 0 means every item (undefined); otherwise a whole number ≥ 1. Anything
 * else is an error message naming the bad text.
 */
export function parseLimit(text: string | number): { limit: number | undefined } | { error: string } {
  const trimmed = String(text).trim();
  if (trimmed === '' || trimmed === '0') return { limit: undefined };
  const n = Number(trimmed);
  if (!Number.isInteger(n) || n < 1) {
    return { error: `limit must be a whole number of items (0 or empty for all), got "${trimmed}"` };
  }
  return { limit: n };
}

/** Layers typed as "2, 4, 8-11": sorted, without repeats; an error names the bad part. */
export function parseLayerList(text: string): { layers: number[] } | { error: string } {
  const layers = new Set<number>();
  for (const part of text.split(/[\s,]+/).filter(Boolean)) {
    const range = /^(\d+)-(\d+)$/.exec(part);
    if (range) {
      const [a, b] = [Number(range[1]), Number(range[2])];
      if (a > b) return { error: `layer range "${part}" runs backwards` };
      for (let l = a; l <= b; l++) layers.add(l);
    } else if (/^\d+$/.test(part)) layers.add(Number(part));
    else return { error: `"${part}" is not a layer (use e.g. "2, 4, 8-11")` };
  }
  return { layers: [...layers].sort((a, b) => a - b) };
}

/** Answers compare as the VQA normalisation would at its simplest: case and outer spaces ignored. */
export function sameAnswer(a: string, b: string): boolean {
  return a.trim().toLowerCase() === b.trim().toLowerCase();
}

export interface LayerSampleRow {
  readonly itemId: string;
  readonly question: string;
  readonly gold: string;
  readonly baseline: string;
  readonly masked: string;
  readonly changed: boolean;
}

/**
 * What every sample answered with the image masked at one layer (window start `index` of the sweep,
 * the position of the layer in the run's curve) against its unmasked answer.
 */
export function layerSampleRows(samples: readonly SampleListEntry[], index: number): LayerSampleRow[] {
  return samples.flatMap((s) => {
    const result = s.result as SweepItemResult | null;
    if (s.status !== 'ok' || !result || !Array.isArray(result.maskedAnswers)) return [];
    const masked = result.maskedAnswers[index];
    if (masked === undefined) return [];
    return [
      {
        itemId: s.itemId,
        question: s.item?.question ?? '',
        gold: s.item?.answers.join(' / ') ?? '',
        baseline: result.baselineAnswer,
        masked,
        changed: !sameAnswer(masked, result.baselineAnswer),
      },
    ];
  });
}

export interface ContrastSampleRow {
  readonly itemId: string;
  readonly question: string;
  readonly gold: string;
  readonly preLayer: number;
  readonly baseline: { readonly answer: string; readonly score: number | null };
  readonly refined: Partial<Record<Refinement, { readonly answer: string; readonly score: number | null }>>;
}

/** Per-sample answers of a contrast run, with each item's question and gold answers. */
export function contrastSampleRows(samples: readonly SampleListEntry[]): ContrastSampleRow[] {
  return samples.flatMap((s) => {
    const result = s.result as ContrastItemResult | null;
    if (s.status !== 'ok' || !result) return [];
    return [
      {
        itemId: s.itemId,
        question: s.item?.question ?? '',
        gold: s.item?.answers.join(' / ') ?? '',
        preLayer: result.preLayer,
        baseline: { answer: result.baselineAnswer, score: result.baselineScore },
        refined: result.refined,
      },
    ];
  });
}

/** Distinct display names for several models (fusionCurveOption needs unique series names). */
export function uniqueNames(names: readonly string[]): string[] {
  const seen = new Map<string, number>();
  return names.map((name) => {
    const n = (seen.get(name) ?? 0) + 1;
    seen.set(name, n);
    return n === 1 ? name : `${name} (${n})`;
  });
}
