/**
 * The ONNX engine against PyTorch (native-models/reference/torch_llava.py, float64, PyTorch's own
 * kernels), through the committed fixtures: a second oracle that shares no code with the engine or the
 * TypeScript reference. Tolerance 1e-4 relative (float32 engine vs float64 PyTorch).
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import {
  pixelsFromRecipe,
  type PixelRecipe,
  type TorchFixture,
} from '../../../native-models/reference/torchFixture.ts';
import { writeTinyLlava } from '../../../native-models/testing/tinyLlava.ts';
import { imageTokenLayout } from '../analysis/imageTokens.ts';
import { identityGeometry } from '../image/geometry.ts';
import {
  anyresLayout,
  asLlavaNextConfig,
  type AnyresImage,
  type AnyresPatch,
  type ProcessedImage,
} from '../image/index.ts';
import { openModel, type LoadedModel } from '../model/openModel.ts';
import { samplePositions } from './positions.ts';
import { expectTorchRunMatch } from './fidelity.testing.ts';
import { forward, type PreparedSample } from './forward.ts';

/** The any-resolution input of a fixture: its patches in the processor's tile order. */
function anyresImage(
  model: LoadedModel,
  input: NonNullable<TorchFixture['anyres']>,
  patch: (recipe: PixelRecipe) => Omit<AnyresPatch, 'kind' | 'row' | 'col'>,
): AnyresImage {
  const [height, width] = input.imageSize;
  const layout = anyresLayout(asLlavaNextConfig(model.imageConfig), height, width);
  expect(layout.patches).toHaveLength(input.patches.length);
  return {
    imageSize: layout.imageSize,
    bestResolution: layout.bestResolution,
    grid: layout.grid,
    patches: layout.patches.map((p, i) => ({
      ...patch(input.patches[i]),
      kind: p.kind,
      row: p.row,
      col: p.col,
    })),
  };
}

const FIXTURES = join(import.meta.dirname, '../../../native-models/reference/fixtures');

const files = (await readdir(FIXTURES)).filter((f) => f.startsWith('torch-') && f.endsWith('.json'));

describe.each(files)('engine vs PyTorch fixture %s', (file) => {
  it('matches logits, image attention and hidden states for every intervention run', async () => {
    const fixture = JSON.parse(await readFile(join(FIXTURES, file), 'utf8')) as TorchFixture;
    const dir = await mkdtemp(join(tmpdir(), 'fusionscope-torch-'));
    try {
      await writeTinyLlava(dir, fixture.options);
      const model = await openModel(dir, { provider: 'cpu' });
      const size = fixture.pixels.size;
      // The fixture fixes pixel_values directly, so preprocessing is bypassed with an identity geometry
      // (for LLaVA-NeXT, one per patch; the tile grid is the processor's for the stated image size).
      const patch = (recipe: PixelRecipe) => ({
        pixelValues: pixelsFromRecipe(recipe),
        channels: 3 as const,
        height: size,
        width: size,
        geometry: identityGeometry(size, size),
      });
      const anyres = fixture.anyres && anyresImage(model, fixture.anyres, patch);
      const image: ProcessedImage = { ...patch(fixture.pixels), anyres };
      const layout = imageTokenLayout(model.spec, image, model.imageConfig);
      const sample: PreparedSample = {
        text: '',
        prompt: { kind: 'raw', text: '' },
        inputIds: fixture.inputIds,
        expandedIds: fixture.inputIds,
        imageTokenSpan: fixture.imageTokenSpan,
        imageTokenSpans: [fixture.imageTokenSpan],
        source: { width: size, height: size, data: new Uint8Array(size * size * 3) }, // unused: pixels are fixed
        extraImages: [],
        image,
        imageLayout: layout,
        imageLayouts: [layout],
        positions: samplePositions(model.spec, fixture.inputIds.length, [fixture.imageTokenSpan], [layout]),
      };
      expect(fixture.runs.length).toBeGreaterThanOrEqual(4);
      for (const run of fixture.runs) {
        const ours = await forward(model, sample, { interventions: run.interventions });
        expectTorchRunMatch(ours, run, 1e-4);
      }
      await model.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
