/**
 * Compiles user-level interventions (layers, image-relative token indexes) into what the decoder loop
 * applies: per layer, the absolute key positions knocked out and the residual-stream scales.
 */
import { FusionError } from '../../common/errors.ts';
import type { Intervention } from '../../common/interventions.ts';

export interface HiddenEdit {
  readonly positions: readonly number[];
  readonly scale: number;
}

export interface InterventionPlan {
  /** Per layer: absolute key positions that later positions may not attend to. */
  readonly knockoutKeys: ReadonlyMap<number, ReadonlySet<number>>;
  /** First query position subject to knockout (the end of the image span). */
  readonly knockoutFromQuery: number;
  /** Per layer: edits applied to the residual stream at that layer's input. */
  readonly hiddenEdits: ReadonlyMap<number, readonly HiddenEdit[]>;
  /** Lowest layer any intervention touches (Infinity when none). */
  readonly firstLayer: number;
}

export const NO_INTERVENTION: InterventionPlan = {
  knockoutKeys: new Map(),
  knockoutFromQuery: Number.MAX_SAFE_INTEGER,
  hiddenEdits: new Map(),
  firstLayer: Infinity,
};

export function compileInterventions(
  interventions: readonly Intervention[],
  imageSpan: readonly [number, number],
  layerCount: number,
): InterventionPlan {
  const [start, end] = imageSpan;
  const knockoutKeys = new Map<number, Set<number>>();
  const hiddenEdits = new Map<number, HiddenEdit[]>();
  let firstLayer = Infinity;
  interventions.forEach((iv, n) => {
    const where = `intervention ${n + 1} (${iv.mode})`;
    if (iv.mode !== 'knockout' && iv.mode !== 'hidden') {
      throw new FusionError('BAD_ARGUMENT', `${where}: mode must be "knockout" or "hidden"`);
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
    const scale = iv.scale ?? 0;
    if (iv.mode === 'hidden' && !Number.isFinite(scale)) {
      throw new FusionError('BAD_ARGUMENT', `${where}: scale must be a finite number, got ${scale}`);
    }
    for (const layer of iv.layers) {
      firstLayer = Math.min(firstLayer, layer);
      if (iv.mode === 'knockout') {
        const keys = knockoutKeys.get(layer) ?? new Set<number>();
        positions.forEach((p) => keys.add(p));
        knockoutKeys.set(layer, keys);
      } else {
        hiddenEdits.set(layer, [...(hiddenEdits.get(layer) ?? []), { positions, scale }]);
      }
    }
  });
  return { knockoutKeys, knockoutFromQuery: end, hiddenEdits, firstLayer };
}
