/**
 * Attention evolution on one sample (paper §2): per decoder layer, where the answer position looks in
 * the image (A^(l), head mean renormalised over the image tokens), how much of it lands on the
 * question-relevant box, how spread it is, how far it is from the final layer's map, and which tokens
 * outside the box stay among the most attended at most layers ("persistent high-attention noise").
 * Box mass, noise and drawing use the layout's display cells: the image tokens themselves, or for
 * query tokens (InstructBLIP) the patches their attention passes on to (analysis/queryTokens.ts).
 */
import type { Rect } from '../image/index.ts';
import { attentionMassInBoxes, displayCells, toDisplayMap, type Box } from '../analysis/imageTokens.ts';
import { forward, type PreparedSample } from '../inference/forward.ts';
import type { LoadedModel } from '../model/openModel.ts';
import {
  hellingerToFinal,
  normalizedEntropy,
  persistentNoise,
  toDistribution,
  type PersistentToken,
} from './metrics/index.ts';
import { evolveConfig, type EvolutionConfig } from '../analyses/evolve.ts';
export type { EvolutionConfig } from '../analyses/evolve.ts';

export interface SampleEvolution {
  /** Per layer: A^(l), a distribution over the image tokens. */
  readonly maps: readonly Float64Array[];
  /** Per layer: [heads × imageTokens] raw probabilities from the read-out row(s) (mean over rows). */
  readonly perHead: readonly Float32Array[];
  /** `maps` on the display cells (the same maps unless the tokens are queries). */
  readonly displayMaps: readonly Float64Array[];
  /** `perHead` on the display cells, [heads × cells]. */
  readonly displayPerHead: readonly Float32Array[];
  /** Per layer: share of A^(l) on the relevant boxes; null when the item has no boxes. */
  readonly massInBox: readonly number[] | null;
  readonly entropy: readonly number[];
  readonly hellingerToFinal: readonly number[];
  readonly noise: readonly PersistentToken[];
  /** Where each display cell sits in the original image (null: no spatial extent). */
  readonly tokenRects: readonly (Rect | null)[];
}

/** [heads, rows, n] → [heads, n], averaging the rows. */
function meanOverRows(a: Float32Array, heads: number, rows: number): Float32Array {
  const n = a.length / (heads * rows);
  const out = new Float32Array(heads * n);
  for (let h = 0; h < heads; h++) {
    for (let r = 0; r < rows; r++) {
      const from = (h * rows + r) * n;
      for (let j = 0; j < n; j++) out[h * n + j] += a[from + j] / rows;
    }
  }
  return out;
}

function headMeanMap(perHead: Float32Array, heads: number): Float64Array {
  const n = perHead.length / heads;
  const sum = new Float64Array(n);
  for (let h = 0; h < heads; h++) for (let j = 0; j < n; j++) sum[j] += perHead[h * n + j];
  return toDistribution(sum);
}

function perHeadOnDisplay(
  perHead: Float32Array,
  heads: number,
  project: (map: Float32Array) => Float64Array,
): Float32Array {
  const n = perHead.length / heads;
  const rows = Array.from({ length: heads }, (_, h) => project(perHead.subarray(h * n, (h + 1) * n)));
  const out = new Float32Array(heads * rows[0].length);
  rows.forEach((row, h) => out.set(row, h * row.length));
  return out;
}

function insideAnyBox(rect: Rect | null, boxes: readonly Box[]): boolean {
  if (!rect) return false;
  const cx = rect.x + rect.width / 2;
  const cy = rect.y + rect.height / 2;
  return boxes.some(([x0, y0, x1, y1]) => cx >= x0 && cx < x1 && cy >= y0 && cy < y1);
}

export async function evolveSample(
  model: LoadedModel,
  sample: PreparedSample,
  boxes: readonly Box[],
  config: EvolutionConfig = evolveConfig.parse({}),
): Promise<SampleEvolution> {
  const { heads } = model.spec.decoder;
  const result = await forward(model, sample, { attentionRows: config.rows });
  const rows = result.attentionRows.length;
  const perHead = result.attention.map((a) => meanOverRows(a, heads, rows));
  const maps = perHead.map((a) => headMeanMap(a, heads));
  const layout = sample.imageLayout;
  const tokenRects = displayCells(layout).rects;
  const displayMaps = maps.map((m) => toDisplayMap(layout, m));
  const displayPerHead = layout.display
    ? perHead.map((a) => perHeadOnDisplay(a, heads, (m) => toDisplayMap(layout, m)))
    : perHead;
  const n = displayMaps[0].length;
  const k = Math.max(1, Math.round(config.noiseTopFraction * n));
  const inside = tokenRects.map((rect) => insideAnyBox(rect, boxes));
  return {
    maps,
    perHead,
    displayMaps,
    displayPerHead,
    massInBox: boxes.length > 0 ? displayMaps.map((m) => attentionMassInBoxes(m, tokenRects, boxes)) : null,
    entropy: maps.map((m) => normalizedEntropy(m)),
    hellingerToFinal: [...hellingerToFinal(maps)],
    noise: boxes.length > 0 ? persistentNoise(displayMaps, inside, k, config.noiseMinLayers) : [],
    tokenRects,
  };
}
