/**
 * Qwen2-VL / Qwen2.5-VL against the independent PyTorch oracle (native-models/reference/torch_qwen.py)
 * through the committed native-models/reference/fixtures/qwen-torch-<variant>/ folders: whole
 * checkpoints whose weights torch drew (no TypeScript code wrote them and no other test sees them),
 * with torch's outputs for a deterministic image through the chat prompt.
 *
 * - the float64 reference (qwen2vl.ts) must match to 1e-6 relative (as torch.test.ts: float64 on both
 *   sides; only summation order and the 9-digit rounding differ). Preprocessing is part of it: torch
 *   resized with Pillow itself and flattened with numpy, and builds the Qwen2.5-VL windows as a
 *   permutation with cu_seqlens where the reference masks;
 * - the engine, from the image file's pixels to the logits, must match to 1e-3 (the bar for an
 *   unseen checkpoint; float32 engine vs float64 torch).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

import { ReferenceQwen } from '../../../native-models/reference/qwen2vl.ts';
import { recipeImage, type QwenTorchExpected } from '../../../native-models/reference/qwenTorchFixture.ts';
import { maxRelativeError } from '../../../native-models/testing/compare.ts';
import { encodeTinyQwen } from '../../../native-models/testing/tinyQwen.ts';
import { resizeImage } from '../image/index.ts';
import { openModel } from '../model/openModel.ts';
import { expectTorchRunMatch } from './fidelity.testing.ts';
import { forward, prepareSample } from './forward.ts';

const fixtureDir = fileURLToPath(new URL('../../../native-models/reference/fixtures/', import.meta.url));
const folders = readdirSync(fixtureDir)
  .filter((f) => f.startsWith('qwen-torch-'))
  .sort();

it('has a PyTorch fixture per Qwen family', () => {
  expect(folders).toEqual(['qwen-torch-qwen2-vl-f32-legacy', 'qwen-torch-qwen2.5-vl-bf16-modern']);
});

describe.each(folders)('PyTorch oracle: %s', (folder) => {
  const dir = join(fixtureDir, folder);
  const expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as QwenTorchExpected;
  const image = recipeImage(expected.image);

  it('interventions change the outputs (the runs are not vacuous)', () => {
    const none = expected.runs[0];
    expect(expected.runs.length).toBeGreaterThanOrEqual(5);
    for (const run of expected.runs.slice(1))
      expect(maxRelativeError(run.logits, none.logits), run.name).toBeGreaterThan(1e-3);
  });

  it('the float64 reference matches prompt expansion, grid, M-RoPE positions and every run to 1e-6', async () => {
    const reference = await ReferenceQwen.load(dir, resizeImage);
    const inputIds = encodeTinyQwen(expected.prompt);
    for (const run of expected.runs) {
      const out = reference.forward({ inputIds, image, interventions: run.interventions });
      const { t, h, w } = out.patches.grid;
      expect([t, h, w]).toEqual(expected.grid);
      expect(out.expandedIds).toEqual(expected.expandedIds);
      expect(out.imageTokenSpan).toEqual(expected.imageTokenSpan);
      expect(out.positions).toEqual(expected.positions);
      const last = out.logits.length - 1;
      const [start, end] = out.imageTokenSpan;
      expect(maxRelativeError(out.logits[last], run.logits), `${run.name}: logits`).toBeLessThan(1e-6);
      out.attention.forEach((heads, l) => {
        const mean = Array.from(
          { length: end - start },
          (_, i) => heads.reduce((sum, rows) => sum + rows[0][start + i], 0) / heads.length,
        );
        expect(maxRelativeError(mean, run.attention[l]), `${run.name}: attention ${l}`).toBeLessThan(1e-6);
      });
      out.hiddenStates.forEach((states, l) =>
        expect(maxRelativeError(states[last], run.hidden[l]), `${run.name}: hidden ${l}`).toBeLessThan(1e-6),
      );
    }
  });

  it('the engine matches from the raw prompt and image to logits, attention and hidden states to 1e-3', async () => {
    const model = await openModel(dir, { provider: 'cpu' });
    try {
      const sample = await prepareSample(model, { image, prompt: { kind: 'raw', text: expected.prompt } });
      expect(sample.expandedIds).toEqual(expected.expandedIds);
      expect(sample.imageTokenSpan).toEqual(expected.imageTokenSpan);
      expect(sample.positions.streams).toEqual(expected.positions);
      for (const run of expected.runs) {
        const ours = await forward(model, sample, { interventions: run.interventions });
        expectTorchRunMatch(ours, run, 1e-3);
      }
    } finally {
      await model.close();
    }
  });
});
