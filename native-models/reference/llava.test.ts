import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { mulberry32, normals } from '../testing/random.ts';
import { rewriteCheckpoint, type EditableTensor } from '../testing/rewrite.ts';
import { writeTinyLlava, type TinyLlavaOptions } from '../testing/tinyLlava.ts';
import { buildTinyTokenizer, encodeTiny } from '../testing/tinyTokenizer.ts';
import { decoderForward, embed } from './decoder.ts';
import { ReferenceLlava, type ReferenceInput, type ReferenceIntervention } from './llava.ts';
import { add, layerNorm, row } from './math.ts';
import { visionHiddenStates } from './vision.ts';

const tokenizer = buildTinyTokenizer();
const IMAGE = '<image>';
let root: string;
let base: string;
let model: ReferenceLlava;
let imageTokenId: number;
let counter = 0;

const pixels = Float32Array.from(normals(mulberry32(99), 3 * 28 * 28));
const size: [number, number] = [28, 28];

function prompt(question: string, imageTokens = 16): number[] {
  return encodeTiny(tokenizer, `USER: ${IMAGE.repeat(imageTokens)}\n${question} ASSISTANT:`);
}
const ids = () => prompt('What color is the shape left of the square?');

function input(inputIds: number[], extra: Partial<ReferenceInput> = {}): ReferenceInput {
  return { inputIds, pixelValues: pixels, imageSize: size, ...extra };
}

function maxDiff(a: ArrayLike<number>[], b: ArrayLike<number>[]): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  a.forEach((row, i) => {
    expect(row.length).toBe(b[i].length);
    for (let j = 0; j < row.length; j++) worst = Math.max(worst, Math.abs(row[j] - b[i][j]));
  });
  return worst;
}

async function fixture(options: Partial<TinyLlavaOptions> = {}): Promise<string> {
  const dir = join(root, `fixture-${counter++}`);
  await writeTinyLlava(dir, { seed: 7, dtype: 'F32', layout: 'legacy', ...options });
  return dir;
}

async function rewritten(
  edit: Parameters<typeof rewriteCheckpoint>[2],
  source = base,
): Promise<ReferenceLlava> {
  const dir = join(root, `rewrite-${counter++}`);
  await rewriteCheckpoint(source, dir, edit);
  return ReferenceLlava.load(dir);
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'fusionscope-reference-'));
  base = await fixture();
  model = await ReferenceLlava.load(base);
  imageTokenId = model.config.imageTokenIndex;
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('ReferenceLlava forward', () => {
  it('returns logits, attention, hidden states and image features of the right shapes', () => {
    const inputIds = ids();
    const out = model.forward(input(inputIds, { readoutRows: [0, 20, inputIds.length - 1] }));
    const { text } = model.config;
    const start = inputIds.indexOf(imageTokenId);
    expect(out.imageTokenSpan).toEqual([start, start + 16]);
    expect(out.logits).toHaveLength(inputIds.length);
    expect(out.logits.every((l) => l.length === text.vocabSize && l.every(Number.isFinite))).toBe(true);
    expect(out.imageFeatures).toHaveLength(16);
    expect(out.imageFeatures.every((f) => f.length === text.hiddenSize)).toBe(true);
    expect(out.hiddenStates).toHaveLength(text.layers);
    expect(out.hiddenStates.every((layer) => layer.length === inputIds.length)).toBe(true);
    expect(out.attention).toHaveLength(text.layers);
    for (const layer of out.attention) {
      expect(layer).toHaveLength(text.heads);
      for (const head of layer) {
        expect(head).toHaveLength(3);
        [0, 20, inputIds.length - 1].forEach((row, r) => {
          const probs = head[r];
          expect(probs).toHaveLength(inputIds.length);
          expect(probs.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
          expect(probs.slice(row + 1).every((p) => p === 0)).toBe(true);
        });
      }
    }
    // The fixture is meant to be sensitive: attention is far from uniform.
    const lastRows = out.attention.flatMap((layer) => layer.map((head) => Math.max(...head[2])));
    expect(Math.max(...lastRows)).toBeGreaterThan(0.3);
  });

  it('reads out the last row by default, and the same row identically whatever else is asked', () => {
    const inputIds = ids();
    const last = inputIds.length - 1;
    const byDefault = model.forward(input(inputIds));
    const asked = model.forward(input(inputIds, { readoutRows: [5, last, 5] }));
    for (let l = 0; l < model.config.text.layers; l++) {
      for (let h = 0; h < model.config.text.heads; h++) {
        expect(byDefault.attention[l][h]).toHaveLength(1);
        expect(asked.attention[l][h][1]).toEqual(byDefault.attention[l][h][0]);
        expect(asked.attention[l][h][0]).toEqual(asked.attention[l][h][2]);
      }
    }
  });

  it('is causal: outputs at position t do not depend on later tokens', () => {
    const a = ids();
    const b = prompt('What color is the circle right of the blue square?');
    let t = 0;
    while (a[t] === b[t]) t++;
    expect(t).toBeGreaterThan(20);
    const outA = model.forward(input(a, { readoutRows: [t - 1] }));
    const outB = model.forward(input(b, { readoutRows: [t - 1] }));
    expect(outA.logits.slice(0, t)).toEqual(outB.logits.slice(0, t));
    expect(outA.hiddenStates.map((l) => l.slice(0, t))).toEqual(outB.hiddenStates.map((l) => l.slice(0, t)));
    expect(outA.attention.map((l) => l.map((h) => h[0].slice(0, t)))).toEqual(
      outB.attention.map((l) => l.map((h) => h[0].slice(0, t))),
    );
    expect(maxDiff(outA.logits.slice(t, t + 1), outB.logits.slice(t, t + 1))).toBeGreaterThan(1e-3);
  });

  it('rejects inputs that do not fit the model', () => {
    const good = ids();
    expect(() => model.forward(input(prompt('What', 15)))).toThrow(/tokens: 15, features 16/);
    expect(() =>
      model.forward(input(good, { imageSize: [32, 32], pixelValues: new Float32Array(3 * 32 * 32) })),
    ).toThrow(/doesn't match model \(28\*28\)/);
    expect(() => model.forward(input(good, { pixelValues: new Float32Array(10) }))).toThrow(
      /pixelValues has 10 values/,
    );
    const split = [...good];
    const start = split.indexOf(imageTokenId);
    [split[start + 3], split[good.length - 1]] = [split[good.length - 1], imageTokenId];
    expect(() => model.forward(input(split))).toThrow(/contiguous/);
    expect(() => model.forward(input([...good, 100000]))).toThrow(/outside the vocabulary/);
    expect(() => model.forward(input(good, { readoutRows: [good.length] }))).toThrow(/readout row/);
    const bad = (interventions: ReferenceIntervention[]) => () =>
      model.forward(input(good, { interventions }));
    expect(bad([{ mode: 'knockout', layers: [3] }])).toThrow(/layer 3 is outside the decoder/);
    expect(bad([{ mode: 'hidden', layers: [0], tokens: [16] }])).toThrow(
      /token 16 is outside the image span/,
    );
    expect(bad([{ mode: 'hidden', layers: [0], scale: NaN }])).toThrow(/not finite/);
  });
});

describe('interventions', () => {
  it('hidden with scale 1 is no intervention; scale defaults to 0', () => {
    const inputIds = ids();
    const plain = model.forward(input(inputIds));
    const one = model.forward(
      input(inputIds, { interventions: [{ mode: 'hidden', layers: [0, 1, 2], scale: 1 }] }),
    );
    expect(one.logits).toEqual(plain.logits);
    expect(one.attention).toEqual(plain.attention);
    const zero = model.forward(
      input(inputIds, { interventions: [{ mode: 'hidden', layers: [1], scale: 0 }] }),
    );
    const implicit = model.forward(input(inputIds, { interventions: [{ mode: 'hidden', layers: [1] }] }));
    expect(implicit.logits).toEqual(zero.logits);
    expect(maxDiff(zero.logits, plain.logits)).toBeGreaterThan(1e-2);
  });

  it('knockout at one layer renormalizes that layer’s attention over the remaining keys', () => {
    const inputIds = ids();
    const [start, end] = model.forward(input(inputIds)).imageTokenSpan;
    const rows = [end, end + 4, inputIds.length - 1];
    for (const tokens of [undefined, [0, 5, 15]]) {
      const plain = model.forward(input(inputIds, { readoutRows: rows }));
      const knocked = model.forward(
        input(inputIds, { readoutRows: rows, interventions: [{ mode: 'knockout', layers: [1], tokens }] }),
      );
      const blocked = new Set((tokens ?? [...Array(16).keys()]).map((t) => start + t));
      expect(knocked.attention[0]).toEqual(plain.attention[0]);
      expect(knocked.hiddenStates[0]).toEqual(plain.hiddenStates[0]);
      for (let h = 0; h < model.config.text.heads; h++) {
        rows.forEach((_, r) => {
          const p = plain.attention[1][h][r];
          const kept = 1 - [...blocked].reduce((sum, j) => sum + p[j], 0);
          const expected = Array.from(p, (pj, j) => (blocked.has(j) ? 0 : pj / kept));
          expect(maxDiff([knocked.attention[1][h][r]], [expected])).toBeLessThan(1e-12);
        });
      }
    }
  });

  it('knockout at every layer equals deleting the image tokens when the image comes first', () => {
    // RoPE scores depend only on relative positions, so text after a fully knocked-out leading image
    // behaves exactly like the same text alone.
    const textIds = encodeTiny(tokenizer, 'What color is the shape left of the square? ASSISTANT: Red', {
      addBos: false,
    });
    const inputIds = [...Array(16).fill(imageTokenId), ...textIds];
    const knocked = model.forward(
      input(inputIds, { interventions: [{ mode: 'knockout', layers: [0, 1, 2] }] }),
    );
    const { text } = model.config;
    const alone = decoderForward(
      text,
      model.weights.decoder,
      embed(model.weights.decoder, textIds),
      [],
      [textIds.length - 1],
    );
    expect(maxDiff(knocked.logits.slice(16), alone.logits)).toBeLessThan(1e-9);
    for (let l = 0; l < text.layers; l++) {
      for (let h = 0; h < text.heads; h++) {
        const row = knocked.attention[l][h][0];
        expect(row.slice(0, 16).every((p) => p === 0)).toBe(true);
        expect(maxDiff([row.slice(16)], [alone.attention[l][h][0]])).toBeLessThan(1e-9);
      }
    }
    const plain = model.forward(input(inputIds));
    expect(maxDiff(plain.logits.slice(16), alone.logits)).toBeGreaterThan(1e-2);
  });

  it('knockout leaves everything up to the span end untouched', () => {
    const inputIds = ids();
    const plain = model.forward(input(inputIds));
    const knocked = model.forward(input(inputIds, { interventions: [{ mode: 'knockout', layers: [0] }] }));
    const end = plain.imageTokenSpan[1];
    expect(knocked.logits.slice(0, end)).toEqual(plain.logits.slice(0, end));
    expect(maxDiff(knocked.logits.slice(end), plain.logits.slice(end))).toBeGreaterThan(1e-2);
    // With the image last, no query comes after it: nothing changes.
    const imageLast = encodeTiny(tokenizer, `USER: What color? ${IMAGE.repeat(16)}`);
    const a = model.forward(input(imageLast));
    const b = model.forward(input(imageLast, { interventions: [{ mode: 'knockout', layers: [0, 1, 2] }] }));
    expect(b.logits).toEqual(a.logits);
  });

  it('hidden at layer 0 equals scaling those image features before the decoder', () => {
    const inputIds = ids();
    const tokens = [1, 4, 9];
    const edited = model.forward(
      input(inputIds, { interventions: [{ mode: 'hidden', layers: [0], tokens, scale: 0.3 }] }),
    );
    const [start] = edited.imageTokenSpan;
    const embeddings = embed(model.weights.decoder, inputIds);
    edited.imageFeatures.forEach(
      (f, i) => (embeddings[start + i] = Float64Array.from(f, (v) => (tokens.includes(i) ? v * 0.3 : v))),
    );
    const direct = decoderForward(
      model.config.text,
      model.weights.decoder,
      embeddings,
      [],
      [inputIds.length - 1],
    );
    expect(maxDiff(edited.logits, direct.logits)).toBeLessThan(1e-12);
  });

  it('hidden at layer l changes nothing before l and carries into later layers', () => {
    const inputIds = ids();
    const plain = model.forward(input(inputIds));
    const [start, end] = plain.imageTokenSpan;
    const at1 = model.forward(
      input(inputIds, { interventions: [{ mode: 'hidden', layers: [1], tokens: [2, 3] }] }),
    );
    expect(at1.hiddenStates[0]).toEqual(plain.hiddenStates[0]);
    expect(at1.hiddenStates[1].slice(0, start + 2)).toEqual(plain.hiddenStates[1].slice(0, start + 2));
    expect(
      maxDiff(
        at1.hiddenStates[1].slice(start + 2, start + 4),
        plain.hiddenStates[1].slice(start + 2, start + 4),
      ),
    ).toBeGreaterThan(1e-2);
    expect(maxDiff(at1.hiddenStates[2].slice(end), plain.hiddenStates[2].slice(end))).toBeGreaterThan(1e-3);
    // Editing layer 2 as well is a further change (the edit is not re-applied unless asked).
    const at12 = model.forward(
      input(inputIds, { interventions: [{ mode: 'hidden', layers: [1, 2], tokens: [2, 3] }] }),
    );
    expect(at12.hiddenStates[1]).toEqual(at1.hiddenStates[1]);
    expect(maxDiff(at12.hiddenStates[2], at1.hiddenStates[2])).toBeGreaterThan(1e-3);
  });

  it('a list of interventions applies together, in any order', () => {
    const inputIds = ids();
    const list: ReferenceIntervention[] = [
      { mode: 'knockout', layers: [2], tokens: [0, 1, 2, 3] },
      { mode: 'hidden', layers: [1], scale: 0.5 },
    ];
    const together = model.forward(input(inputIds, { interventions: list }));
    const reversed = model.forward(input(inputIds, { interventions: [...list].reverse() }));
    expect(reversed.logits).toEqual(together.logits);
    for (const single of list) {
      expect(
        maxDiff(model.forward(input(inputIds, { interventions: [single] })).logits, together.logits),
      ).toBeGreaterThan(1e-3);
    }
  });
});

describe('generate', () => {
  it('is greedy argmax over a full recompute, with interventions at every step', () => {
    const inputIds = ids();
    const interventions: ReferenceIntervention[] = [{ mode: 'knockout', layers: [0, 2] }];
    for (const extra of [{}, { interventions }]) {
      const generated = model.generate(input(inputIds, extra), { maxNewTokens: 6, eosTokenId: -1 });
      expect(generated).toHaveLength(6);
      const sequence = [...inputIds];
      for (const token of generated) {
        const logits = model.forward(input(sequence, extra)).logits.at(-1)!;
        expect(token).toBe(logits.indexOf(Math.max(...logits)));
        sequence.push(token);
      }
    }
    expect(model.generate(input(inputIds), { maxNewTokens: 6 })).not.toEqual(
      model.generate(input(inputIds, { interventions }), { maxNewTokens: 6 }),
    );
  });

  it('stops after emitting the eos token', () => {
    const inputIds = ids();
    const free = model.generate(input(inputIds), { maxNewTokens: 5, eosTokenId: -1 });
    expect(model.generate(input(inputIds), { maxNewTokens: 5, eosTokenId: free[1] })).toEqual(
      free.slice(0, 2),
    );
    expect(model.generate(input(inputIds), { maxNewTokens: 0 })).toEqual([]);
  });
});

describe('vision tower and feature selection', () => {
  it('patch embedding is a bias-free stride-p convolution over row-major patches', () => {
    const { vision } = model.config;
    const weights = model.weights.vision;
    const blank = new Float32Array(3 * 28 * 28);
    const zero = visionHiddenStates(vision, weights, blank, size)[0];
    // A zero image leaves CLS + position embeddings only: token i is pre_layrnorm(position_i) (no conv bias).
    const { weight, bias } = weights.preLayerNorm;
    zero.forEach((token, i) => {
      const position = row(weights.positionEmbedding, i);
      const embedding =
        i === 0 ? Float64Array.from(position, (p, d) => p + weights.classEmbedding[d]) : position;
      expect(maxDiff([token], [layerNorm(embedding, weight, bias, vision.layerNormEps)])).toBeLessThan(1e-12);
    });
    // Light up only the patch at grid row 0, column 1 (x ∈ [7, 14), y ∈ [0, 7)): only token 1 + 1 changes,
    // by the conv weights dotted with the patch.
    const lit = new Float32Array(3 * 28 * 28);
    for (let c = 0; c < 3; c++)
      for (let y = 0; y < 7; y++) for (let x = 7; x < 14; x++) lit[(c * 28 + y) * 28 + x] = 1 + c;
    const states = visionHiddenStates(vision, weights, lit, size)[0];
    const changed = states.flatMap((t, i) => (maxDiff([t], [zero[i]]) > 0 ? [i] : []));
    expect(changed).toEqual([2]);
    const conv = Float64Array.from({ length: vision.hiddenSize }, (_, o) => {
      let sum = 0;
      for (let c = 0; c < 3; c++)
        for (let k = 0; k < 49; k++) sum += weights.patchEmbedding[(o * 3 + c) * 49 + k] * (1 + c);
      return sum;
    });
    const expected = layerNorm(
      add(conv, row(weights.positionEmbedding, 2)),
      weight,
      bias,
      vision.layerNormEps,
    );
    expect(maxDiff([states[2]], [expected])).toBeLessThan(1e-12);
  });

  it('hidden_states has one entry per layer plus the embeddings; negative indexes count from the end', async () => {
    const states = visionHiddenStates(model.config.vision, model.weights.vision, pixels, size);
    expect(states).toHaveLength(model.config.vision.layers + 1);
    const byList = await rewritten({ config: (c) => (c.vision_feature_layer = [-2]) });
    const byIndex = await rewritten({ config: (c) => (c.vision_feature_layer = 2) });
    const features = model.imageFeatures(pixels, size);
    expect(byList.imageFeatures(pixels, size)).toEqual(features);
    expect(byIndex.imageFeatures(pixels, size)).toEqual(features);
    const last = await rewritten({ config: (c) => (c.vision_feature_layer = -1) });
    expect(maxDiff(last.imageFeatures(pixels, size), features)).toBeGreaterThan(1e-3);
  });

  it('"full" keeps the CLS token; "default" is "full" without it', async () => {
    const full = await rewritten({ config: (c) => (c.vision_feature_select_strategy = 'full') });
    const features = full.imageFeatures(pixels, size);
    expect(features).toHaveLength(17);
    expect(features.slice(1)).toEqual(model.imageFeatures(pixels, size));
    const out = full.forward(input(prompt('What color?', 17)));
    expect(out.imageTokenSpan[1] - out.imageTokenSpan[0]).toBe(17);
  });

  it('a list of feature layers concatenates them, in order, on the feature dimension', async () => {
    // linear_1 · [h₋₃; h₋₁] = A·h₋₃ + B·h₋₁: with B zeroed the model must equal a single-layer (-3)
    // model whose linear_1 is A, and with A zeroed a single-layer (-1) model whose linear_1 is B.
    const pair = await fixture({ visionFeatureLayer: [-3, -1] });
    const name = 'multi_modal_projector.linear_1.weight';
    const hidden = 32;
    /** linear_1's columns [from, from + hidden) of each row, or the full weight with the others zeroed. */
    const columns = (w: EditableTensor, from: number, keepShape: boolean): EditableTensor => {
      const rows = w.shape[0];
      const data = new Float32Array(rows * (keepShape ? 2 * hidden : hidden));
      for (let r = 0; r < rows; r++) {
        const part = w.data.subarray(r * 2 * hidden + from, r * 2 * hidden + from + hidden);
        data.set(part, keepShape ? r * 2 * hidden + from : r * hidden);
      }
      return { shape: keepShape ? [rows, 2 * hidden] : [rows, hidden], data };
    };
    for (const [from, layer] of [
      [0, -3],
      [hidden, -1],
    ] as const) {
      const zeroed = await rewritten(
        { tensors: (t) => t.set(name, columns(t.get(name)!, from, true)) },
        pair,
      );
      const single = await rewritten(
        {
          config: (c) => (c.vision_feature_layer = layer),
          tensors: (t) => t.set(name, columns(t.get(name)!, from, false)),
        },
        pair,
      );
      const features = zeroed.imageFeatures(pixels, size);
      expect(maxDiff(features, single.imageFeatures(pixels, size))).toBeLessThan(1e-12);
    }
  });
});

describe('decoder variants against independent constructions', () => {
  it('GQA equals the same model with its kv heads repeated explicitly', async () => {
    const { heads, kvHeads, headDim } = model.config.text;
    expect(kvHeads).toBeLessThan(heads);
    const repeated = await rewritten({
      config: (c) => ((c.text_config as Record<string, unknown>).num_key_value_heads = heads),
      tensors: (tensors) => {
        for (const [name, t] of tensors) {
          if (!/self_attn\.[kv]_proj\.weight$/.test(name) || !name.startsWith('language_model')) continue;
          const cols = t.shape[1];
          const data = new Float32Array(heads * headDim * cols);
          // repeat_kv: query head h reads kv head ⌊h / (heads / kvHeads)⌋.
          for (let h = 0; h < heads; h++) {
            const g = Math.floor(h / (heads / kvHeads));
            data.set(t.data.subarray(g * headDim * cols, (g + 1) * headDim * cols), h * headDim * cols);
          }
          tensors.set(name, { shape: [heads * headDim, cols], data });
        }
      },
    });
    const inputIds = ids();
    const rows = [inputIds.length - 1, 30];
    const a = model.forward(input(inputIds, { readoutRows: rows }));
    const b = repeated.forward(input(inputIds, { readoutRows: rows }));
    expect(maxDiff(a.logits, b.logits)).toBeLessThan(1e-10);
    expect(maxDiff(a.attention.flat(2), b.attention.flat(2))).toBeLessThan(1e-12);
  });

  it('tied embeddings equal an explicit lm_head copy of embed_tokens', async () => {
    const tied = await fixture({ text: { tieWordEmbeddings: true } });
    const tiedModel = await ReferenceLlava.load(tied);
    expect(tiedModel.weights.decoder.lmHead).toBe(tiedModel.weights.decoder.embedTokens);
    const untied = await rewritten(
      {
        config: (c) => ((c.text_config as Record<string, unknown>).tie_word_embeddings = false),
        tensors: (t) =>
          t.set('language_model.lm_head.weight', { ...t.get('language_model.model.embed_tokens.weight')! }),
      },
      tied,
    );
    const inputIds = ids();
    expect(untied.forward(input(inputIds)).logits).toEqual(tiedModel.forward(input(inputIds)).logits);
  });

  it('Mistral’s sliding window hides keys ≥ window behind; a long window changes nothing', async () => {
    const inputIds = ids();
    const rows = [inputIds.length - 1, 25];
    const windowed = await rewritten({
      config: (c) => Object.assign(c.text_config as object, { model_type: 'mistral', sliding_window: 5 }),
    });
    const out = windowed.forward(input(inputIds, { readoutRows: rows }));
    for (const layer of out.attention) {
      for (const head of layer) {
        rows.forEach((row, r) => {
          expect(head[r].every((p, j) => (j > row - 5 && j <= row) || p === 0)).toBe(true);
          expect(head[r].slice(row - 4, row + 1).every((p) => p > 0)).toBe(true);
        });
      }
    }
    const wide = await rewritten({
      config: (c) => Object.assign(c.text_config as object, { model_type: 'mistral', sliding_window: 4096 }),
    });
    expect(wide.forward(input(inputIds)).logits).toEqual(model.forward(input(inputIds)).logits);
  });
});

describe('checkpoint variants', () => {
  it('legacy, modern and sharded checkpoints give identical outputs', async () => {
    const inputIds = ids();
    const reference = model.forward(input(inputIds));
    for (const options of [
      { layout: 'modern' as const },
      { shards: 3 },
      { layout: 'modern' as const, shards: 2 },
    ]) {
      const other = await ReferenceLlava.load(await fixture(options));
      const out = other.forward(input(inputIds));
      expect(out.logits).toEqual(reference.logits);
      expect(out.attention).toEqual(reference.attention);
    }
  });

  it('F16 and BF16 checkpoints are close to F32 but not identical', async () => {
    const inputIds = ids();
    const reference = model.forward(input(inputIds)).logits;
    for (const [dtype, tolerance] of [
      ['F16', 0.05],
      ['BF16', 0.5],
    ] as const) {
      const out = (await ReferenceLlava.load(await fixture({ dtype }))).forward(input(inputIds)).logits;
      const diff = maxDiff(out, reference);
      expect(diff).toBeGreaterThan(0);
      expect(diff).toBeLessThan(tolerance);
    }
  });

  it('every tiny config variant loads and runs', async () => {
    const variants: Array<Partial<TinyLlavaOptions>> = [
      { text: { attentionBias: true } },
      { text: { headDim: 8 } },
      { text: { kvHeads: 4 } },
      { text: { kvHeads: 1, layers: 2, ropeTheta: 500000, rmsNormEps: 1e-6 } },
      { vision: { hiddenAct: 'gelu', layers: 2, heads: 2 } },
      { vision: { imageSize: 28, patchSize: 14 } },
      { visionFeatureLayer: [-2, -1], visionFeatureSelectStrategy: 'full' },
      { visionFeatureLayer: 0 },
      { projectorHiddenAct: 'gelu_pytorch_tanh' },
      { projectorHiddenAct: 'quick_gelu' },
      { projectorHiddenAct: 'silu' },
      { projectorHiddenAct: 'relu' },
      { imageProcessor: 'LlavaImageProcessor', chatTemplate: true, layout: 'modern', dtype: 'BF16' },
    ];
    const outputs: number[] = [];
    for (const options of variants) {
      const dir = join(root, `variant-${counter++}`);
      const { imageTokensPerImage } = await writeTinyLlava(dir, {
        seed: 3,
        dtype: 'F32',
        layout: 'legacy',
        ...options,
      });
      const variant = await ReferenceLlava.load(dir);
      const out = variant.forward(input(prompt('What color is the square?', imageTokensPerImage!)));
      expect(out.imageFeatures).toHaveLength(imageTokensPerImage!);
      expect(out.logits.every((row) => row.every(Number.isFinite))).toBe(true);
      outputs.push(out.logits.at(-1)![0]);
    }
    expect(new Set(outputs).size).toBe(variants.length);
  });

  it('reports missing and mis-shaped tensors by name', async () => {
    const name = 'language_model.model.layers.1.mlp.up_proj.weight';
    await expect(rewritten({ tensors: (t) => t.delete(name) })).rejects.toMatchObject({
      code: 'BAD_WEIGHTS',
      message: expect.stringContaining(`tensor "${name}" is missing`),
    });
    await expect(
      rewritten({ config: (c) => ((c.text_config as Record<string, unknown>).intermediate_size = 96) }),
    ).rejects.toMatchObject({
      code: 'BAD_WEIGHTS',
      message: expect.stringMatching(/has shape \[128, 64\] but config\.json implies \[96, 64\]/),
    });
    await expect(
      rewritten({ tensors: (t) => t.delete('language_model.lm_head.weight') }),
    ).rejects.toMatchObject({
      message: expect.stringContaining('language_model.lm_head.weight'),
    });
  });
});
