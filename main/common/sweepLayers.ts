/**
 * Contrastive attention's layers from a sweep's labels (paper §3): the engine uses them when a
 * contrast run leaves the layers out, and the app shows the same defaults before the run starts.
 */
import type { LayerLabelling } from './analysis.ts';

/**
 * Candidates = the fusion layers, review = the first review layer. Fallbacks, so a model without
 * clear labels can still be analysed: no fusion layers → the three layers whose masking hurt most;
 * no review layer → the second-to-last layer.
 */
export function layersFromSweep(
  labels: LayerLabelling,
  layerCount: number,
): { candidateLayers: number[]; reviewLayer: number } {
  const byDrop = [...labels.layers].sort((a, b) => b.drop - a.drop || a.layer - b.layer);
  const candidateLayers = labels.fusionLayers.length
    ? [...labels.fusionLayers]
    : byDrop
        .slice(0, 3)
        .map((v) => v.layer)
        .sort((a, b) => a - b);
  return { candidateLayers, reviewLayer: labels.reviewLayers[0] ?? Math.max(0, layerCount - 2) };
}
