/**
 * Qwen2-VL and Qwen2.5-VL end to end on tiny checkpoints: `fusionscope info/answer/trace` (the trace's
 * raw prompt marks the image with <|vision_start|><|image_pad|><|vision_end|> and reports the M-RoPE
 * position ids), and the masking sweep, attention evolution and contrastive attention on the demo
 * dataset. A 64 × 64 demo image is 16 × 16 patches of 4 px, merged 2 × 2 into an 8 × 8 token grid.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { qwenChatPrompt, writeTinyQwen, type QwenFamily } from '../../../native-models/testing/tinyQwen.ts';
import { FAMILY_TEST_IMAGE, familyEndToEnd, runCli, tinyFamilyFixture } from './families.testing.ts';

const TOKENS = 64;
const MARKUP = '<|vision_start|><|image_pad|><|vision_end|>';

const FAMILIES: Array<{ family: QwenFamily; label: string; summary: Record<string, unknown> }> = [
  { family: 'qwen2_vl', label: 'Qwen2-VL', summary: { mropeSection: '2,3,3', decoderLayers: 4 } },
  {
    family: 'qwen2_5_vl',
    label: 'Qwen2.5-VL',
    summary: { mropeSection: '2,3,3', decoderLayers: 4, windowSize: 16, fullAttentionBlocks: '1,3' },
  },
];

describe.each(FAMILIES)('$label', ({ family, label, summary }) => {
  const tiny = tinyFamilyFixture(family, (dir) =>
    writeTinyQwen(dir, { family, seed: 71, dtype: 'BF16', layout: 'modern', text: { layers: 4 } }),
  );

  familyEndToEnd(tiny, {
    label,
    tokens: TOKENS,
    layout: 'the 8 × 8 merged-patch grid',
    info: {
      modelType: family,
      weightsDtype: 'BF16',
      imageTokensPerImage: null,
      imageTokenScheme: 'merged-patches',
      summary: { ...summary, patchSize: 4, spatialMergeSize: 2, temporalPatchSize: 2 },
    },
  });

  describe(`${label} trace`, () => {
    const trace = async (prompt: string[], name: string) => {
      const path = join(tiny.root, name);
      const args = ['trace', '--model', tiny.folder, '--image', FAMILY_TEST_IMAGE, '--provider', 'cpu'];
      expect((await runCli([...args, ...prompt, '--json', path])).code).toBe(0);
      return JSON.parse(await readFile(path, 'utf8'));
    };

    it('marks the image with the vision markers in the raw prompt and reports M-RoPE positions', async () => {
      const question = await trace(['--question', 'what color'], 'qwen-question.json');
      expect(question.promptText).toBe(qwenChatPrompt('what color'));
      expect(question.promptText).toContain(MARKUP);
      const [start, end] = question.imageTokenSpan;
      expect(end - start).toBe(TOKENS);
      const { temporal, height, width } = question.mropePositionIds;
      // The image starts at s = start: token (r, c) sits at (s, s + r, s + c); text resumes at s + 8.
      expect(temporal.slice(start, end)).toEqual(Array(TOKENS).fill(start));
      expect(height.slice(start, end)).toEqual(
        Array.from({ length: TOKENS }, (_, i) => start + Math.floor(i / 8)),
      );
      expect(width.slice(start, end)).toEqual(Array.from({ length: TOKENS }, (_, i) => start + (i % 8)));
      expect([temporal[end], height[end], width[end]]).toEqual([start + 8, start + 8, start + 8]);
      // The same prompt given raw reproduces the question's trace.
      const raw = await trace(['--prompt', question.promptText], 'qwen-raw.json');
      expect(raw.inputIds).toEqual(question.inputIds);
      expect(raw.lastLogits).toEqual(question.lastLogits);
    });
  });
});
