/**
 * The TS float64 reference against an independent oracle: transformers' LLaVA, LLaVA-NeXT and VIP-LLaVA forward re-implemented in
 * PyTorch float64 (torch_llava.py), stored in fixtures/torch-<variant>.json by make_torch_fixtures.ts.
 * This test needs no Python: it regenerates each checkpoint (deterministic from its options) and
 * compares ReferenceLlava's outputs with the stored ones.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { writeTinyLlava } from '../testing/tinyLlava.ts';
import { ReferenceLlava, type ReferenceOutput } from './llava.ts';
import { pixelsFromRecipe, type TorchFixture, type TorchRun } from './torchFixture.ts';

/**
 * Tolerance: max |TS − torch| / max |torch| ≤ 1e-6, per logits vector and per layer. Both sides run in
 * float64 on the same stored weights (F16/BF16 widen exactly), so they differ only by summation order
 * (~1e-15) and by the fixtures' rounding to 9 significant digits (≤ 5e-9 relative). 1e-6 leaves a wide
 * margin for that and for platform differences in Math.sin/exp, yet any semantic mistake (a wrong
 * activation, RoPE pairing, mask, norm eps, feature layer, head grouping, intervention position) moves
 * these outputs by far more than 1e-6.
 */
const TOLERANCE = 1e-6;

const fixtureDir = fileURLToPath(new URL('./fixtures/', import.meta.url));
const fixtures: TorchFixture[] = readdirSync(fixtureDir)
  .filter((f) => /^torch-.*\.json$/.test(f))
  .sort()
  .map((f) => JSON.parse(readFileSync(join(fixtureDir, f), 'utf8')) as TorchFixture);

/** max |actual − expected| / max |expected|; an all-zero expectation must be matched exactly. */
function relativeDiff(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  expect(actual.length).toBe(expected.length);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; i++) {
    diff = Math.max(diff, Math.abs(actual[i] - expected[i]));
    scale = Math.max(scale, Math.abs(expected[i]));
  }
  if (Number.isNaN(diff)) return Infinity;
  return scale === 0 ? (diff === 0 ? 0 : Infinity) : diff / scale;
}

/** The stored quantities, read out of the TS reference's output. */
function readout(out: ReferenceOutput): Pick<TorchRun, 'logits' | 'attention' | 'hidden'> {
  const last = out.logits.length - 1;
  const [start, end] = out.imageTokenSpan;
  return {
    logits: Array.from(out.logits[last]),
    attention: out.attention.map((heads) =>
      Array.from({ length: end - start }, (_, t) => {
        let sum = 0;
        for (const rows of heads) sum += rows[0][start + t];
        return sum / heads.length;
      }),
    ),
    hidden: out.hiddenStates.map((positions) => Array.from(positions[last])),
  };
}

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'fusionscope-torch-oracle-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

it('has the PyTorch fixtures', () => {
  expect(fixtures.map((f) => f.variant).sort()).toEqual([
    'bf16-gqa-modern',
    'f16-tied',
    'f32-mha-legacy',
    'llava-next-bf16-modern',
    'llava-next-llama3-f16',
    'llava-next-mistral-f32',
    'vipllava-f16-modern',
  ]);
});

describe.each(fixtures.map((f) => [f.variant, f] as const))('PyTorch oracle: %s', (variant, fixture) => {
  let model: ReferenceLlava;
  const pixels = pixelsFromRecipe(fixture.pixels);
  const imageSize: [number, number] = [fixture.pixels.size, fixture.pixels.size];

  beforeAll(async () => {
    const dir = join(root, variant);
    await writeTinyLlava(dir, fixture.options);
    model = await ReferenceLlava.load(dir);
  });

  it('covers interventions that change the outputs', () => {
    const none = fixture.runs.find((r) => r.name === 'none')!;
    expect(fixture.runs.length).toBeGreaterThanOrEqual(4);
    for (const run of fixture.runs) {
      if (run === none) continue;
      expect(relativeDiff(run.logits, none.logits), run.name).toBeGreaterThan(1e-3);
    }
  });

  it.each(fixture.runs.map((r) => [r.name, r] as const))('%s', (_name, run) => {
    const out = model.forward({
      inputIds: fixture.inputIds,
      pixelValues: pixels,
      imageSize,
      anyres: fixture.anyres && {
        patches: fixture.anyres.patches.map(pixelsFromRecipe),
        originalSize: fixture.anyres.imageSize,
      },
      interventions: run.interventions,
    });
    expect(out.imageTokenSpan).toEqual(fixture.imageTokenSpan);
    const ts = readout(out);
    expect(ts.attention).toHaveLength(run.attention.length);
    expect(ts.hidden).toHaveLength(run.hidden.length);
    expect(relativeDiff(ts.logits, run.logits), 'logits').toBeLessThanOrEqual(TOLERANCE);
    run.attention.forEach((expected, l) =>
      expect(relativeDiff(ts.attention[l], expected), `attention, layer ${l}`).toBeLessThanOrEqual(TOLERANCE),
    );
    run.hidden.forEach((expected, l) =>
      expect(relativeDiff(ts.hidden[l], expected), `hidden state, layer ${l}`).toBeLessThanOrEqual(TOLERANCE),
    );
  });
});
