/**
 * Normalised depth d = layer / (L − 1) (as LayerStat.depth), so models with different layer counts
 * line up: 0 is the first decoder layer and 1 the last (paper §1 compares LLaVA's 32 layers with
 * Qwen's 28 this way). The compare view's shared slider picks, per model, the layer nearest to d.
 */

export function layerDepth(layer: number, numLayers: number): number {
  return numLayers > 1 ? layer / (numLayers - 1) : 0;
}

/**
 * The layer of an L-layer model nearest to depth d (clamped to [0, 1]). A depth exactly halfway
 * between two layers goes to the deeper one; the small epsilon keeps float noise (7 × 0.5/7·… ) from
 * flipping such ties.
 */
export function nearestLayer(depth: number, numLayers: number): number {
  if (!Number.isInteger(numLayers) || numLayers < 1) {
    throw new Error(`numLayers must be a positive integer, got ${numLayers}`);
  }
  const d = Number.isFinite(depth) ? Math.min(1, Math.max(0, depth)) : 0;
  return Math.min(numLayers - 1, Math.round(d * (numLayers - 1) + 1e-9));
}

export interface DepthModel {
  readonly id: string;
  readonly layers: number;
}

export interface AlignedLayer {
  readonly id: string;
  readonly layer: number;
  /** The depth that layer actually sits at. */
  readonly depth: number;
  /** |layer depth − requested depth|: how far the model's nearest layer is from the slider. */
  readonly offset: number;
}

/** Each model's layer nearest to one depth. */
export function alignToDepth(depth: number, models: readonly DepthModel[]): AlignedLayer[] {
  return models.map(({ id, layers }) => {
    const layer = nearestLayer(depth, layers);
    const at = layerDepth(layer, layers);
    return { id, layer, depth: at, offset: Math.abs(at - depth) };
  });
}

/** Every depth at which some model has a layer, ascending without repeats: the slider's stops. */
export function depthStops(models: readonly DepthModel[]): number[] {
  const all = models.flatMap(({ layers }) =>
    Array.from({ length: layers }, (_, l) => Number(layerDepth(l, layers).toFixed(9))),
  );
  return [...new Set(all)].sort((a, b) => a - b);
}
