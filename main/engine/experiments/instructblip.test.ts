/**
 * InstructBLIP end to end on a tiny checkpoint: `fusionscope info/answer/trace` (the trace reports the
 * Q-Former's input ids), and the masking sweep, attention evolution and contrastive attention on the
 * demo dataset, with the query tokens as the image tokens.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { writeTinyInstructBlip } from '../../../native-models/testing/tinyInstructBlip.ts';
import { FAMILY_TEST_IMAGE, familyEndToEnd, runCli, tinyFamilyFixture } from './familyTesting.ts';

const QUERIES = 6;
const tiny = tinyFamilyFixture('instructblip', (dir) =>
  writeTinyInstructBlip(dir, { seed: 81, dtype: 'BF16', queries: QUERIES, text: { layers: 4 } }),
);

familyEndToEnd(tiny, {
  label: 'InstructBLIP',
  tokens: QUERIES,
  // Maps are drawn through the Q-Former's cross-attention on the 4 × 4 patch grid.
  cells: 16,
  layout: 'the query tokens',
  info: {
    modelType: 'instructblip',
    weightsDtype: 'BF16',
    imageTokensPerImage: QUERIES,
    imageGrid: { rows: 4, cols: 4, leadingTokens: 0 },
  },
});

describe('InstructBLIP trace', () => {
  it('reports the Q-Former input ids and the query rows as the image span', async () => {
    const path = join(tiny.root, 'qformer-trace.json');
    const args = ['trace', '--model', tiny.folder, '--image', FAMILY_TEST_IMAGE, '--provider', 'cpu'];
    expect((await runCli([...args, '--question', 'what color is the circle', '--json', path])).code).toBe(0);
    const trace = JSON.parse(await readFile(path, 'utf8'));
    // [CLS] what color is the circle [SEP]
    expect(trace.qformerInputIds).toEqual([2, 78, 82, 79, 80, 87, 3]);
    expect(trace.imageTokenSpan).toEqual([0, QUERIES]);
  });

  it('refuses an <image> marker in a raw prompt', async () => {
    const args = ['trace', '--model', tiny.folder, '--image', FAMILY_TEST_IMAGE, '--provider', 'cpu'];
    const path = join(tiny.root, 'refused.json');
    const out = await runCli([...args, '--prompt', '<image>\nwhat color', '--json', path]);
    expect(out.code).not.toBe(0);
    expect(out.stderr).toMatch(/BAD_PROMPT|must not contain <image>/);
  });
});
