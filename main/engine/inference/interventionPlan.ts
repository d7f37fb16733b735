/**
 * Compiles user-level interventions (layers, image-relative token indexes) into what the decoder loop
 * applies: per layer, additive attention biases on absolute key positions (−∞: knocked out; log λ:
 * attention weights scaled by λ) and the residual-stream edits (rows scaled, or replaced by another
 * image's).
 */
import { FusionError } from '../../common/errors.ts';
import type { Intervention, QuerySet } from '../../common/interventions.ts';

/** Residual-stream rows at `positions` multiplied by `scale` (0 zeroes them: the paper's masking). */
export interface ScaleEdit {
  readonly positions: readonly number[];
  readonly scale: number;
}

/** Residual-stream rows at `positions` replaced by `rows`, [positions.length, D] in the same order. */
export interface ReplaceEdit {
  readonly positions: readonly number[];
  readonly rows: Float32Array;
}

export type HiddenEdit = ScaleEdit | ReplaceEdit;

export interface InterventionPlan {
  /**
   * Per layer: key position → bias added to later positions' attention logits for it (−∞ knocks it
   * out, log λ scales its weight by λ). Biases of several interventions on one key add up.
   */
  readonly keyBiases: ReadonlyMap<number, ReadonlyMap<number, number>>;
  /** Query positions the key biases apply to: [from, to) (by default from the end of the image on). */
  readonly keyBiasFromQuery: number;
  readonly keyBiasToQuery: number;
  /** The heads the key biases apply to, ascending; null: every head. */
  readonly keyBiasHeads: readonly number[] | null;
  /** Per layer: edits applied to the residual stream at that layer's input. */
  readonly hiddenEdits: ReadonlyMap<number, readonly HiddenEdit[]>;
  /** Lowest layer any intervention touches (Infinity when none). */
  readonly firstLayer: number;
}

export const NO_INTERVENTION: InterventionPlan = {
  keyBiases: new Map(),
  keyBiasFromQuery: Number.MAX_SAFE_INTEGER,
  keyBiasToQuery: Number.MAX_SAFE_INTEGER,
  keyBiasHeads: null,
  hiddenEdits: new Map(),
  firstLayer: Infinity,
};

/** [from, to) of the query positions a query set names, for a prompt of `promptLength` positions. */
export function queryRange(
  queries: QuerySet,
  imageEnd: number,
  promptLength: number,
): readonly [number, number] {
  const last = promptLength - 1;
  switch (queries) {
    case 'all':
      return [imageEnd, Number.MAX_SAFE_INTEGER];
    case 'last':
      return [last, Number.MAX_SAFE_INTEGER];
    case 'question':
      return [imageEnd, last];
  }
}

/** What interventions are compiled against: the sample's image span and length, the decoder's shape. */
export interface PlanShape {
  readonly imageSpan: readonly [number, number];
  readonly layers: number;
  readonly heads: number;
  readonly promptLength: number;
}

export function compileInterventions(
  interventions: readonly Intervention[],
  shape: PlanShape,
): InterventionPlan {
  const { imageSpan, layers: layerCount, heads: headCount, promptLength } = shape;
  const [start, end] = imageSpan;
  let queries: QuerySet | undefined;
  let heads: string | undefined;
  const keyBiases = new Map<number, Map<number, number>>();
  const hiddenEdits = new Map<number, HiddenEdit[]>();
  let firstLayer = Infinity;
  interventions.forEach((iv, n) => {
    const where = `intervention ${n + 1} (${iv.mode})`;
    if (iv.mode !== 'knockout' && iv.mode !== 'hidden' && iv.mode !== 'attention') {
      throw new FusionError('BAD_ARGUMENT', `${where}: mode must be "knockout", "attention" or "hidden"`);
    }
    if (iv.layers.length === 0) throw new FusionError('BAD_ARGUMENT', `${where}: no layers given`);
    for (const layer of iv.layers) {
      if (!Number.isInteger(layer) || layer < 0 || layer >= layerCount) {
        throw new FusionError(
          'BAD_ARGUMENT',
          `${where}: layer ${layer} is out of range; the model has decoder layers 0..${layerCount - 1}`,
        );
      }
    }
    const span = end - start;
    const tokens = iv.tokens ?? Array.from({ length: span }, (_, i) => i);
    for (const t of tokens) {
      if (!Number.isInteger(t) || t < 0 || t >= span) {
        throw new FusionError(
          'BAD_ARGUMENT',
          `${where}: image token ${t} is out of range; the image span has tokens 0..${span - 1}`,
        );
      }
    }
    // A token listed twice is still one position: scaled once, as the references do.
    const positions = [...new Set(tokens)].map((t) => start + t);
    if (iv.replacement !== undefined && iv.mode !== 'hidden') {
      throw new FusionError('BAD_ARGUMENT', `${where}: replacement rows apply to mode "hidden" only`);
    }
    if (iv.replacement !== undefined && iv.scale !== undefined) {
      throw new FusionError('BAD_ARGUMENT', `${where}: give a scale or replacement rows, not both`);
    }
    const scale = iv.scale ?? 0;
    if (iv.mode === 'hidden' && !Number.isFinite(scale)) {
      throw new FusionError('BAD_ARGUMENT', `${where}: scale must be a finite number, got ${scale}`);
    }
    if (iv.mode === 'attention' && !(Number.isFinite(scale) && scale >= 0)) {
      throw new FusionError('BAD_ARGUMENT', `${where}: scale must be a number ≥ 0, got ${scale}`);
    }
    // Knockout is the limit λ → 0 of attention scaling: log 0 = −∞.
    const bias = iv.mode === 'knockout' ? -Infinity : Math.log(scale);
    if (iv.mode !== 'hidden') {
      const asked = iv.queries ?? 'all';
      if (!['all', 'last', 'question'].includes(asked)) {
        throw new FusionError(
          'BAD_ARGUMENT',
          `${where}: queries must be all, last or question, got ${asked}`,
        );
      }
      if (queries !== undefined && queries !== asked) {
        throw new FusionError(
          'BAD_ARGUMENT',
          `${where}: every knockout/attention intervention of one pass must act on the same queries (${queries} and ${asked})`,
        );
      }
      queries = asked;
      const chosen = iv.heads === undefined ? null : [...new Set(iv.heads)].sort((a, b) => a - b);
      for (const h of chosen ?? []) {
        if (!Number.isInteger(h) || h < 0 || h >= headCount) {
          throw new FusionError(
            'BAD_ARGUMENT',
            `${where}: head ${h} is out of range; the model has attention heads 0..${headCount - 1}`,
          );
        }
      }
      if (chosen?.length === 0) throw new FusionError('BAD_ARGUMENT', `${where}: heads is empty`);
      const key = JSON.stringify(chosen);
      if (heads !== undefined && heads !== key) {
        throw new FusionError(
          'BAD_ARGUMENT',
          `${where}: every knockout/attention intervention of one pass must act on the same heads`,
        );
      }
      heads = key;
    }
    for (const layer of iv.layers) {
      firstLayer = Math.min(firstLayer, layer);
      if (iv.mode === 'hidden') {
        const edit: HiddenEdit = iv.replacement
          ? replaceEdit(where, iv.replacement, layer, positions, imageSpan)
          : { positions, scale };
        hiddenEdits.set(layer, [...(hiddenEdits.get(layer) ?? []), edit]);
      } else {
        const keys = keyBiases.get(layer) ?? new Map<number, number>();
        positions.forEach((p) => keys.set(p, (keys.get(p) ?? 0) + bias));
        keyBiases.set(layer, keys);
      }
    }
  });
  const [keyBiasFromQuery, keyBiasToQuery] = queryRange(queries ?? 'all', end, promptLength);
  const keyBiasHeads = heads === undefined ? null : (JSON.parse(heads) as number[] | null);
  // Every head chosen is the same as no choice: one bias for all, as without `heads`.
  const allHeads = keyBiasHeads !== null && keyBiasHeads.length === headCount;
  return {
    keyBiases,
    keyBiasFromQuery,
    keyBiasToQuery,
    keyBiasHeads: allHeads ? null : keyBiasHeads,
    hiddenEdits,
    firstLayer,
  };
}

/**
 * The replacement rows of one layer cut to the edited positions. The rows cover the whole image span,
 * so their width (the model's hidden size, checked against it by the decoder) is length / span.
 */
function replaceEdit(
  where: string,
  replacement: ReadonlyMap<number, Float32Array>,
  layer: number,
  positions: readonly number[],
  [start, end]: readonly [number, number],
): ReplaceEdit {
  const all = replacement.get(layer);
  if (all === undefined) {
    throw new FusionError('BAD_ARGUMENT', `${where}: no replacement rows for layer ${layer}`);
  }
  const span = end - start;
  const width = all.length / span;
  if (!Number.isInteger(width) || width === 0) {
    throw new FusionError(
      'BAD_ARGUMENT',
      `${where}: layer ${layer}'s replacement holds ${all.length} values, not one row for each of the ${span} image tokens`,
    );
  }
  if (!all.every(Number.isFinite)) {
    throw new FusionError('BAD_ARGUMENT', `${where}: layer ${layer}'s replacement rows are not all finite`);
  }
  // The whole span in order (the default) shares the caller's rows: a 7B sweep would otherwise hold
  // every layer's image states twice.
  if (positions.length === span && positions.every((p, i) => p === start + i)) {
    return { positions, rows: all };
  }
  const rows = new Float32Array(positions.length * width);
  positions.forEach((p, i) => {
    const t = p - start;
    rows.set(all.subarray(t * width, (t + 1) * width), i * width);
  });
  return { positions, rows };
}
