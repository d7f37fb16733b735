/**
 * InstructBLIP end to end on a tiny checkpoint: `fusionscope info/answer/trace` (the trace reports the
 * Q-Former's input ids), and the masking sweep, attention evolution and contrastive attention on the
 * demo dataset, with the query tokens as the image tokens.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { maxRelativeError } from '../../../native-models/testing/compare.ts';
import { writeTinyInstructBlip } from '../../../native-models/testing/tinyInstructBlip.ts';
import type { Intervention } from '../../common/interventions.ts';
import { forward, prepareSample } from '../inference/forward.ts';
import { FAMILY_TEST_IMAGE, familyEndToEnd, runCli, tinyFamilyFixture } from './families.testing.ts';

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

  it('--mask-tokens index the query rows: the trace equals the engine with that knockout', async () => {
    const path = join(tiny.root, 'masked-queries.json');
    const args = ['trace', '--model', tiny.folder, '--image', FAMILY_TEST_IMAGE, '--provider', 'cpu'];
    const mask = ['--mask-mode', 'knockout', '--mask-layers', '1,2', '--mask-tokens', '0,5'];
    expect((await runCli([...args, '--question', 'what color', ...mask, '--json', path])).code).toBe(0);
    const trace = JSON.parse(await readFile(path, 'utf8'));
    const sample = await prepareSample(tiny.model, {
      image: FAMILY_TEST_IMAGE,
      prompt: { kind: 'question', text: 'what color' },
    });
    const interventions: Intervention[] = [{ mode: 'knockout', layers: [1, 2], tokens: [0, 5] }];
    const [masked, plain] = await Promise.all([
      forward(tiny.model, sample, { interventions }),
      forward(tiny.model, sample),
    ]);
    expect(maxRelativeError(trace.lastLogits, masked.lastLogits)).toBeLessThan(1e-6);
    expect(maxRelativeError(masked.lastLogits, plain.lastLogits)).toBeGreaterThan(1e-4);
    const outside = await runCli([
      ...args,
      '--question',
      'what color',
      ...mask.slice(0, 5),
      String(QUERIES),
      '--json',
      path,
    ]);
    expect(outside.code).not.toBe(0);
    expect(outside.stderr).toMatch(/image token 6 is out of range; the image span has tokens 0\.\.5/);
  });
});
