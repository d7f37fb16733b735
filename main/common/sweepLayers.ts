/**
 * Contrastive attention's layers from a sweep's labels (paper §3): the engine uses them when a
 * contrast run leaves the layers out, and the app shows the same defaults before the run starts.
 */
import type { LayerLabelling } from './analysis.ts';

/**
 * Candidates = the fusion layers, review = the first review layer. With no fusion layers the three
 * layers whose masking hurt most stand in (CA still needs a pre-integration layer); with no review
 * layer there is none (null): masking at some other layer would sit inside the plateau, where it
 * changes nothing, so `mask` is reported as not applicable instead.
 */
export function layersFromSweep(
  labels: LayerLabelling,
  _layerCount: number,
): { candidateLayers: number[]; reviewLayer: number | null } {
  const byDrop = [...labels.layers].sort((a, b) => b.drop - a.drop || a.layer - b.layer);
  const candidateLayers = labels.fusionLayers.length
    ? [...labels.fusionLayers]
    : byDrop
        .slice(0, 3)
        .map((v) => v.layer)
        .sort((a, b) => a - b);
  return { candidateLayers, reviewLayer: labels.reviewLayers[0] ?? null };
}
