/**
 * LLaVA-NeXT end to end on a tiny checkpoint: `fusionscope info/answer/trace`, and the masking sweep,
 * attention evolution and contrastive attention on the demo dataset. The image-token count varies per
 * image here, so the checks read each sample's layout rather than a model-wide count.
 */
import { describe, expect, it } from 'vitest';

import { runExperiment } from './experiment.ts';
import { familyEndToEnd, familyTarget, tinyFamilyFixture } from './families.testing.ts';

const tiny = tinyFamilyFixture('llava-next', {
  seed: 62,
  dtype: 'F16',
  layout: 'modern',
  llavaNext: {},
  text: { layers: 4 },
});
/** A 64 × 64 demo image: 4 × 4 base features, 2 × 2 tiles (pinpoint 56 × 56) → 8 rows of 8 + newline. */
const TOKENS = 16 + 8 * 9;

familyEndToEnd(tiny, {
  label: 'LLaVA-NeXT',
  tokens: TOKENS,
  layout: 'every image token (base, tiles, newlines)',
  info: {
    modelType: 'llava_next',
    weightsDtype: 'F16',
    imageTokensPerImage: null,
    imageGrid: { rows: 4, cols: 4, leadingTokens: 0 },
    summary: { imageGridPinpoints: '28x56,56x28,56x56,84x28,28x84', decoderLayers: 4 },
  },
});

describe('LLaVA-NeXT token subsets', () => {
  it('sweeps a token subset past the base grid (no model-wide bound), and rejects negative tokens', async () => {
    const outcome = await runExperiment(familyTarget(tiny), {
      kind: 'sweep',
      config: { mode: 'hidden', tokens: [0, 40, TOKENS - 1], maxNewTokens: 1 },
    });
    expect(outcome.status).toBe('done');
    await expect(
      runExperiment(familyTarget(tiny), { kind: 'sweep', config: { mode: 'hidden', tokens: [-1] } }),
    ).rejects.toThrow(/sweep settings: tokens \(--tokens\)\.0: .*>=0/);
  });
});
