import { describe, expect, it } from 'vitest';

import { attentionBias, blockAttentionBias, gatherKV, perHeadBias, sliceKV } from './decoder.ts';
import { compileInterventions } from './interventionPlan.ts';

const shape = { layers: 2, hiddenSize: 4, heads: 2, kvHeads: 1, headDim: 2, vocabSize: 10 };

/** A 9-position prompt, image at [3, 6), 2 layers of 2 heads. */
const SHAPE = { imageSpan: [3, 6] as const, layers: 2, heads: 2, promptLength: 9 };

/** Key biases that knock `keys` out. */
const knockout = (keys: number[]) => new Map(keys.map((k) => [k, -Infinity]));

describe('attentionBias', () => {
  it('is causal: row r allows keys 0..offset+r only', () => {
    const bias = attentionBias(2, 3, undefined);
    const allowed = (r: number) => Array.from(bias.subarray(r * 5, r * 5 + 5), (b) => b === 0);
    expect(allowed(0)).toEqual([true, true, true, false, false]);
    expect(allowed(2)).toEqual([true, true, true, true, true]);
  });

  it('knocks out the chosen keys only for queries at or after knockFrom', () => {
    const bias = attentionBias(0, 5, undefined, { keyBias: knockout([1, 2]), from: 3 });
    const row = (r: number) => Array.from(bias.subarray(r * 5, r * 5 + 5));
    expect(row(2)).toEqual([0, 0, 0, -Infinity, -Infinity]); // before knockFrom: causal only
    expect(row(3)).toEqual([0, -Infinity, -Infinity, 0, -Infinity]);
    expect(row(4)).toEqual([0, -Infinity, -Infinity, 0, 0]);
  });

  it('adds log λ to the chosen keys of later queries (attention scaling), never reopening a masked key', () => {
    const bias = attentionBias(0, 4, 2, {
      keyBias: new Map([
        [0, Math.log(0.5)],
        [2, Math.log(0.1)],
      ]),
      from: 2,
    });
    const row = (r: number) => Array.from(bias.subarray(r * 4, r * 4 + 4));
    expect(row(1)).toEqual([0, 0, -Infinity, -Infinity]); // before `from`: untouched
    // Query 2 sees keys 1..2 (window 2): key 0 stays out, key 2 gets log 0.1.
    expect(row(2)).toEqual([-Infinity, 0, Math.fround(Math.log(0.1)), -Infinity]);
  });

  it('masks keys at distance ≥ sliding window, as transformers does', () => {
    const bias = attentionBias(0, 4, 2);
    expect(Array.from(bias.subarray(12, 16))).toEqual([-Infinity, -Infinity, 0, 0]);
  });
});

describe('blockAttentionBias', () => {
  it('gives each stacked block the shared prefix and its own causal columns, never another block’s', () => {
    // Two blocks of positions 2..3 after 2 cached positions; block 1 knocks key 0 out.
    const bias = blockAttentionBias(2, 2, undefined, [
      { keyBias: undefined, from: 0 },
      { keyBias: knockout([0]), from: 2 },
    ]);
    const allowed = (r: number) => Array.from(bias.subarray(r * 6, r * 6 + 6), (b) => b === 0);
    expect(allowed(0)).toEqual([true, true, true, false, false, false]);
    expect(allowed(1)).toEqual([true, true, true, true, false, false]);
    expect(allowed(2)).toEqual([false, true, false, false, true, false]);
    expect(allowed(3)).toEqual([false, true, false, false, true, true]);
  });

  it('is attentionBias for one block, sliding window and knockout included', () => {
    const one = blockAttentionBias(3, 4, 3, [{ keyBias: knockout([1, 4]), from: 4 }]);
    expect(one).toEqual(attentionBias(3, 4, 3, { keyBias: knockout([1, 4]), from: 4 }));
  });

  it('applies the sliding window by position in every block', () => {
    const bias = blockAttentionBias(2, 2, 2, [
      { keyBias: undefined, from: 0 },
      { keyBias: undefined, from: 0 },
    ]);
    // Block 1's last row is position 3: keys 2 and 3 only, i.e. prefix column 1 is out, its own columns in.
    expect(Array.from(bias.subarray(18, 24), (b) => b === 0)).toEqual([
      false,
      false,
      false,
      false,
      true,
      true,
    ]);
  });
});

describe('sliceKV', () => {
  it('keeps the first positions of every kv head', () => {
    const kv = {
      key: Float32Array.from({ length: 6 }, (_, i) => i),
      value: Float32Array.from({ length: 6 }, (_, i) => 10 + i),
      length: 3,
    };
    const sliced = sliceKV(kv, 2, { ...shape, kvHeads: 1, headDim: 2 });
    expect(Array.from(sliced.key)).toEqual([0, 1, 2, 3]);
    expect(Array.from(sliced.value)).toEqual([10, 11, 12, 13]);
  });
});

describe('gatherKV', () => {
  it('lays runs of positions end to end within every kv head', () => {
    const kv = (base: number, length: number) => ({
      key: Float32Array.from({ length: 2 * length }, (_, i) => base + i),
      value: Float32Array.from({ length: 2 * length }, (_, i) => -(base + i)),
      length,
    });
    const gathered = gatherKV(
      [
        [kv(0, 3), 0, 2],
        [kv(100, 2), 1, 2],
      ],
      { ...shape, kvHeads: 2, headDim: 1 },
    );
    // Head 0 holds positions 0..length−1 first, then head 1.
    expect(gathered.length).toBe(3);
    expect(Array.from(gathered.key)).toEqual([0, 1, 101, 3, 4, 103]);
    expect(Array.from(gathered.value)).toEqual([-0, -1, -101, -3, -4, -103]);
  });
});

describe('compileInterventions', () => {
  it('maps image-relative tokens to absolute positions per layer', () => {
    const plan = compileInterventions(
      [
        { mode: 'knockout', layers: [1], tokens: [0, 2] },
        { mode: 'hidden', layers: [0, 1], scale: 0.1 },
      ],
      SHAPE,
    );
    expect([...(plan.keyBiases.get(1) ?? [])]).toEqual([
      [3, -Infinity],
      [5, -Infinity],
    ]);
    expect(plan.keyBiasFromQuery).toBe(6);
    expect(plan.hiddenEdits.get(0)).toEqual([{ positions: [3, 4, 5], scale: 0.1 }]);
    expect(plan.firstLayer).toBe(0);
  });

  it('compiles attention scaling to log λ, adding up on a key two interventions scale', () => {
    const plan = compileInterventions(
      [
        { mode: 'attention', layers: [0], tokens: [0, 1], scale: 0.5 },
        { mode: 'attention', layers: [0], tokens: [1], scale: 0.2 },
      ],
      SHAPE,
    );
    expect(plan.keyBiases.get(0)?.get(3)).toBeCloseTo(Math.log(0.5), 12);
    expect(plan.keyBiases.get(0)?.get(4)).toBeCloseTo(Math.log(0.1), 12);
    expect(() => compileInterventions([{ mode: 'attention', layers: [0], scale: -1 }], SHAPE)).toThrow(/≥ 0/);
  });

  it('acts on the query set asked for: all after the image, the answer position, or the question rows', () => {
    const knock = (queries: 'all' | 'last' | 'question') =>
      compileInterventions([{ mode: 'knockout', layers: [0], queries }], SHAPE);
    expect([knock('all').keyBiasFromQuery, knock('all').keyBiasToQuery]).toEqual([
      6,
      Number.MAX_SAFE_INTEGER,
    ]);
    expect([knock('last').keyBiasFromQuery, knock('last').keyBiasToQuery]).toEqual([
      8,
      Number.MAX_SAFE_INTEGER,
    ]);
    expect([knock('question').keyBiasFromQuery, knock('question').keyBiasToQuery]).toEqual([6, 8]);
    expect(() =>
      compileInterventions(
        [
          { mode: 'knockout', layers: [0], queries: 'last' },
          { mode: 'attention', layers: [1], scale: 0.5 },
        ],
        SHAPE,
      ),
    ).toThrow(/same queries/);
    // The bias covers rows [from, to) only: the question rows, not the answer row.
    const bias = attentionBias(0, 9, undefined, { keyBias: new Map([[4, -Infinity]]), from: 6, to: 8 });
    const column4 = Array.from({ length: 9 }, (_, r) => bias[r * 9 + 4]);
    expect(column4).toEqual([-Infinity, -Infinity, -Infinity, -Infinity, 0, 0, -Infinity, -Infinity, 0]);
  });

  it('knocks out chosen heads only: one bias per head, the plain one for the others', () => {
    const plan = compileInterventions([{ mode: 'knockout', layers: [0], heads: [1, 1] }], SHAPE);
    expect(plan.keyBiasHeads).toEqual([1]);
    // Every head chosen is no choice at all.
    expect(
      compileInterventions([{ mode: 'knockout', layers: [0], heads: [0, 1] }], SHAPE).keyBiasHeads,
    ).toBeNull();
    expect(() => compileInterventions([{ mode: 'knockout', layers: [0], heads: [2] }], SHAPE)).toThrow(
      /head 2 .*0\.\.1/,
    );
    const plain = Float32Array.from([0, -Infinity]);
    const biased = Float32Array.from([-Infinity, -Infinity]);
    expect(Array.from(perHeadBias(plain, biased, [1], 3))).toEqual([
      0,
      -Infinity,
      -Infinity,
      -Infinity,
      0,
      -Infinity,
    ]);
  });

  it('scales a token listed twice once (it was scaled twice: 0.1 became 0.01)', () => {
    const plan = compileInterventions(
      [{ mode: 'hidden', layers: [0], tokens: [2, 1, 2], scale: 0.1 }],
      SHAPE,
    );
    expect(plan.hiddenEdits.get(0)).toEqual([{ positions: [5, 4], scale: 0.1 }]);
  });

  it('rejects out-of-range layers and tokens with the valid range in the message', () => {
    expect(() => compileInterventions([{ mode: 'knockout', layers: [2] }], SHAPE)).toThrow(
      /layer 2 .*0\.\.1/,
    );
    expect(() => compileInterventions([{ mode: 'hidden', layers: [0], tokens: [3] }], SHAPE)).toThrow(
      /token 3 .*0\.\.2/,
    );
  });
});
