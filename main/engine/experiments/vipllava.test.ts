/**
 * VIP-LLaVA end to end on a tiny checkpoint: `fusionscope info/answer/trace`, and the masking sweep,
 * attention evolution and contrastive attention on the demo dataset. Nothing here is family-specific:
 * the point is that a second architecture flows through the same engine, CLI and experiments.
 */
import { familyEndToEnd, tinyFamilyFixture } from './families.testing.ts';

// vision_feature_layers [-2, -4, 1]: 3 × 32 vision features per patch into the projector LayerNorm.
const tiny = tinyFamilyFixture('vipllava', {
  seed: 61,
  dtype: 'F16',
  layout: 'modern',
  vipllava: true,
  text: { layers: 4 },
});

familyEndToEnd(tiny, {
  label: 'VIP-LLaVA',
  tokens: 16,
  layout: 'the 4 × 4 token grid',
  info: {
    modelType: 'vipllava',
    weightsDtype: 'F16',
    imageTokensPerImage: 16,
    imageGrid: { rows: 4, cols: 4, leadingTokens: 0 },
    summary: { visionFeatureLayers: '2,0,1', projectorLayerNormEps: 1e-5, decoderLayers: 4 },
  },
});
