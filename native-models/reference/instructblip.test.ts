/**
 * The TS float64 InstructBLIP reference against the independent PyTorch oracle (torch_instructblip.py)
 * through the committed fixture, whose weights the oracle drew itself. Tolerance 1e-6 relative, as
 * torch.test.ts: both sides are float64 on the same BF16 weights, so only summation order and the
 * fixture's 9-digit rounding separate them, while any semantic slip (a missing conv bias, the key bias,
 * CLS dropped, cross-attention on the wrong layers or on text rows, one shared feed-forward, positions
 * counted from the queries, queries after BOS) moves the outputs far more.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { ModelFormatError } from '../errors.ts';
import { WeightStore } from '../safetensors/read.ts';
import { maxRelativeError } from '../testing/compare.ts';
import { writeTinyInstructBlip } from '../testing/tinyInstructBlip.ts';
import {
  INSTRUCTBLIP_FIXTURE_MODEL,
  INSTRUCTBLIP_FIXTURE_OPTIONS,
  fixtureImage,
  readInstructBlipFixture,
} from './instructBlipFixture.ts';
import {
  ReferenceInstructBlip,
  blipPixelValues,
  flattenCrossAttention,
  parseInstructBlipConfig,
  readBlipProcessor,
} from './instructblip.ts';

const TOLERANCE = 1e-6;
const fixture = readInstructBlipFixture();
const flat = (rows: number[][]): number[] => rows.flat();

describe('InstructBLIP reference vs the PyTorch oracle (its own BF16 weights)', async () => {
  const model = await ReferenceInstructBlip.load(INSTRUCTBLIP_FIXTURE_MODEL);
  const processor = await readBlipProcessor(INSTRUCTBLIP_FIXTURE_MODEL);
  // The oracle's pixels (PIL's bicubic resize of a 37 × 29 image); the reference does not resample.
  const pixels = Float64Array.from(fixture.pixelValues);

  it('preprocesses an image at the processor’s size as BlipImageProcessor (rescale, normalise, CHW)', () => {
    const square = fixtureImage(24, 24);
    const ours = blipPixelValues(square, processor);
    expect(ours).toHaveLength(3 * 24 * 24);
    // Red of pixel (x 1, y 0) is 37: (37 / 255 − 0.48145466) / 0.26862954.
    expect(ours[1]).toBeCloseTo((37 / 255 - 0.48145466) / 0.26862954, 12);
    expect(() => blipPixelValues(fixtureImage(), processor)).toThrow(/does not resample/);
  });

  it('gives the oracle’s projected query features and Q-Former cross-attention', () => {
    const q = model.imageFeatures(pixels, fixture.qformerInputIds);
    expect(q.features).toHaveLength(6);
    expect(
      maxRelativeError(flat(q.features.map((f) => Array.from(f))), flat(fixture.imageFeatures)),
    ).toBeLessThan(TOLERANCE);
    // Cross-attention at Q-Former layers 0 and 2 of 3 (frequency 2), 2 heads, 6 queries, CLS + 16 patches.
    expect([q.crossAttention.length, q.crossAttention[0].length, q.crossAttention[0][0].length]).toEqual([
      2, 2, 6,
    ]);
    expect(q.crossAttention[0][0][0]).toHaveLength(17);
    expect(
      maxRelativeError(flattenCrossAttention(q.crossAttention), fixture.crossAttention.flat(3)),
    ).toBeLessThan(TOLERANCE);
  });

  it('covers interventions that change the outputs', () => {
    const none = fixture.runs[0];
    for (const run of fixture.runs.slice(1)) {
      expect(maxRelativeError(run.logits, none.logits), run.name).toBeGreaterThan(1e-3);
    }
  });

  it.each(fixture.runs.map((r) => [r.name, r] as const))('run %s', (_name, run) => {
    const out = model.forward({
      inputIds: fixture.inputIds,
      pixelValues: pixels,
      qformerInputIds: fixture.qformerInputIds,
      interventions: run.interventions,
    });
    expect(out.imageTokenSpan).toEqual([0, 6]);
    expect(fixture.imageTokenSpan).toEqual([0, 6]);
    const last = out.logits.length - 1;
    expect(maxRelativeError(out.logits[last], run.logits)).toBeLessThan(TOLERANCE);
    run.attention.forEach((expected, l) => {
      const mean = expected.map((_, t) => {
        const heads = out.attention[l];
        return heads.reduce((s, h) => s + h[0][t], 0) / heads.length;
      });
      expect(maxRelativeError(mean, expected), `attention layer ${l}`).toBeLessThan(TOLERANCE);
    });
    run.hidden.forEach((expected, l) =>
      expect(maxRelativeError(out.hiddenStates[l][last], expected), `hidden layer ${l}`).toBeLessThan(
        TOLERANCE,
      ),
    );
  });

  it('reads the instruction: other Q-Former ids give other query features', () => {
    const a = model.imageFeatures(pixels, fixture.qformerInputIds).features;
    const b = model.imageFeatures(pixels, [2, 89, 3]).features;
    expect(maxRelativeError(b[0], a[0])).toBeGreaterThan(1e-2);
  });
});

describe('the PyTorch fixture’s checkpoint', () => {
  it('holds the oracle’s own BF16 draw, not the TypeScript writer’s values for the same layout', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fusionscope-instructblip-ts-'));
    try {
      await writeTinyInstructBlip(dir, INSTRUCTBLIP_FIXTURE_OPTIONS);
      const [ours, oracle] = await Promise.all([
        WeightStore.open(dir),
        WeightStore.open(INSTRUCTBLIP_FIXTURE_MODEL),
      ]);
      try {
        expect(oracle.names().sort()).toEqual(ours.names().sort());
        for (const name of ['query_tokens', 'qformer.encoder.layer.0.crossattention.attention.key.weight']) {
          expect(oracle.entry(name).dtype).toBe('BF16');
          expect(oracle.entry(name).shape).toEqual(ours.entry(name).shape);
          const [a, b] = await Promise.all([oracle.readFloat32(name), ours.readFloat32(name)]);
          expect(maxRelativeError(a, b), name).toBeGreaterThan(0.5);
        }
      } finally {
        await Promise.all([ours.close(), oracle.close()]);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('InstructBLIP reference config', () => {
  const base = () =>
    JSON.parse(
      JSON.stringify({
        model_type: 'instructblip',
        num_query_tokens: 4,
        image_token_index: 7,
        vision_config: {
          hidden_size: 8,
          num_attention_heads: 2,
          image_size: 8,
          patch_size: 4,
          num_hidden_layers: 1,
        },
        qformer_config: { hidden_size: 8, num_attention_heads: 2, num_hidden_layers: 1 },
        text_config: { model_type: 'llama', hidden_size: 8, num_attention_heads: 2 },
      }),
    ) as Record<string, Record<string, unknown>>;

  it('reads the sub-configs with their class defaults', () => {
    const c = parseInstructBlipConfig(base());
    expect(c.qformer.crossAttentionFrequency).toBe(2);
    expect(c.qformer.layerNormEps).toBe(1e-12);
    expect(c.vision.layerNormEps).toBe(1e-6);
    expect(c.vision.hiddenAct).toBe('gelu');
    expect(c.imageTokenIndex).toBe(7);
    const legacy = base();
    delete (legacy as Record<string, unknown>).image_token_index;
    expect(parseInstructBlipConfig(legacy).imageTokenIndex).toBeNull();
  });

  it('names the key of a bad or unsupported field', () => {
    const bad = (
      edit: (j: Record<string, Record<string, unknown>>) => void,
      code: string,
      message: RegExp,
    ) => {
      const json = base();
      edit(json);
      let error: unknown;
      try {
        parseInstructBlipConfig(json);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ModelFormatError);
      expect((error as ModelFormatError).code).toBe(code);
      expect((error as Error).message).toMatch(message);
    };
    bad(
      (j) => (j.qformer_config.cross_attention_frequency = 0),
      'BAD_CONFIG',
      /qformer_config\.cross_attention_frequency/,
    );
    bad((j) => (j.vision_config.patch_size = 3), 'BAD_CONFIG', /image_size must be a multiple of patch_size/);
    bad((j) => ((j as Record<string, unknown>).image_token_index = -1), 'BAD_CONFIG', /image_token_index/);
    bad(
      (j) => (j.qformer_config.position_embedding_type = 'relative_key'),
      'UNSUPPORTED_MODEL',
      /position_embedding_type/,
    );
    bad((j) => (j.text_config.model_type = 'opt'), 'UNSUPPORTED_MODEL', /text_config\.model_type/);
  });
});
