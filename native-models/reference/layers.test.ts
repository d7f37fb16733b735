/**
 * One decoder layer and one CLIP encoder layer written out in matrix form from the transformers
 * equations, with the primitives that math.test.ts pins, checked against the reference's wiring
 * (attention scale, GQA head mapping, where RoPE and the norms sit, SwiGLU order, residuals).
 */
import { describe, expect, it } from 'vitest';

import { mulberry32, normals } from '../testing/random.ts';
import type { LlavaConfig, TextConfig, VisionConfig } from './config.ts';
import { decoderForward, type DecoderWeights } from './decoder.ts';
import {
  ACTIVATIONS,
  layerNorm,
  matrix,
  rmsNorm,
  rope,
  ropeInverseFrequencies,
  softmax,
  type Matrix,
} from './math.ts';
import { projectImageFeatures, visionHiddenStates, type VisionWeights } from './vision.ts';

const rand = mulberry32(5);
const vec = (n: number, std = 1, mean = 0) => Float64Array.from(normals(rand, n), (v) => v * std + mean);
const mat = (rows: number, cols: number, std = 1): Matrix => matrix(rows, cols, vec(rows * cols, std));

/** W·x + b, written as a row-by-row sum. */
function mv(w: Matrix, x: Float64Array, b?: Float64Array | null): number[] {
  return Array.from({ length: w.rows }, (_, r) => {
    let s = b ? b[r] : 0;
    for (let c = 0; c < w.cols; c++) s += w.data[r * w.cols + c] * x[c];
    return s;
  });
}

function close(actual: ArrayLike<number>[], expected: ArrayLike<number>[]): void {
  expect(actual.length).toBe(expected.length);
  actual.forEach((row, i) => {
    expect(row.length).toBe(expected[i].length);
    for (let j = 0; j < row.length; j++) expect(Math.abs(row[j] - expected[i][j])).toBeLessThan(1e-12);
  });
}

describe('one decoder layer against the LLaMA equations', () => {
  const config: TextConfig = {
    modelType: 'llama',
    vocabSize: 5,
    hiddenSize: 8,
    intermediateSize: 6,
    layers: 1,
    heads: 4,
    kvHeads: 2,
    headDim: 4, // head_dim set explicitly: heads · head_dim ≠ hidden
    hiddenAct: 'silu',
    rmsNormEps: 1e-6,
    ropeTheta: 50,
    ropeScaling: { type: 'default' },
    attentionBias: true,
    mlpBias: false,
    tieWordEmbeddings: false,
    slidingWindow: null,
    bosTokenId: 1,
    eosTokenIds: [2],
  };
  const lin = (out: number, inp: number, bias: boolean) => ({
    weight: mat(out, inp, 0.6),
    bias: bias ? vec(out, 0.2) : null,
  });
  const layer = {
    q: lin(16, 8, true),
    k: lin(8, 8, true),
    v: lin(8, 8, true),
    o: lin(8, 16, true),
    gate: lin(6, 8, false),
    up: lin(6, 8, false),
    down: lin(8, 6, false),
    inputLayerNorm: vec(8, 0.2, 1),
    postAttentionLayerNorm: vec(8, 0.2, 1),
  };
  const weights: DecoderWeights = {
    embedTokens: mat(5, 8),
    layers: [layer],
    norm: vec(8, 0.2, 1),
    lmHead: mat(5, 8),
  };
  const embeddings = [vec(8), vec(8), vec(8)];

  it('matches softmax(rope(q)·rope(k)ᵀ/√d) v, o_proj, residual, SwiGLU, final norm, lm_head', () => {
    const eps = config.rmsNormEps;
    const n = embeddings.length;
    const x = embeddings.map((e) => rmsNorm(e, layer.inputLayerNorm, eps));
    const Q = x.map((t) => mv(layer.q.weight, t, layer.q.bias));
    const K = x.map((t) => mv(layer.k.weight, t, layer.k.bias));
    const V = x.map((t) => mv(layer.v.weight, t, layer.v.bias));
    const d = config.headDim;
    const ropeFreqs = ropeInverseFrequencies(d, config.ropeTheta);
    const head = (row: number[], h: number, pos: number) =>
      rope(Float64Array.from(row.slice(h * d, h * d + d)), pos, ropeFreqs);
    const expectedAttention: number[][][] = [];
    const h1 = embeddings.map((e, i) => {
      const concat: number[] = [];
      for (let h = 0; h < 4; h++) {
        const g = h < 2 ? 0 : 1; // repeat_kv: heads 0, 1 → kv 0; heads 2, 3 → kv 1
        const qi = head(Q[i], h, i);
        const scores = Float64Array.from({ length: n }, (_, j) =>
          j <= i ? head(K[j], g, j).reduce((s, kv, c) => s + kv * qi[c], 0) / Math.sqrt(d) : -Infinity,
        );
        const p = softmax(scores);
        if (i === n - 1) expectedAttention.push([[...p]]);
        for (let c = 0; c < d; c++) concat.push(V.reduce((s, vj, j) => s + p[j] * vj[g * d + c], 0));
      }
      const attn = mv(layer.o.weight, Float64Array.from(concat), layer.o.bias);
      return e.map((v, c) => v + attn[c]);
    });
    const h2 = h1.map((t) => {
      const y = rmsNorm(t, layer.postAttentionLayerNorm, eps);
      const gate = mv(layer.gate.weight, y);
      const up = mv(layer.up.weight, y);
      const mlp = mv(
        layer.down.weight,
        Float64Array.from(gate, (g, c) => ACTIVATIONS.silu(g) * up[c]),
      );
      return t.map((v, c) => v + mlp[c]);
    });
    const logits = h2.map((t) => mv(weights.lmHead, rmsNorm(t, weights.norm, eps)));

    const out = decoderForward(config, weights, embeddings, [], [n - 1]);
    close(out.hiddenStates[0], h2);
    close(out.logits, logits);
    expect(out.attention[0]).toHaveLength(4);
    out.attention[0].forEach((rows, h) => close(rows, expectedAttention[h]));
  });
});

describe('one CLIP encoder layer and the projector against the equations', () => {
  const vision: VisionConfig = {
    hiddenSize: 4,
    intermediateSize: 6,
    layers: 1,
    heads: 2,
    headDim: 2,
    imageSize: 4,
    patchSize: 2,
    numChannels: 3,
    hiddenAct: 'quick_gelu',
    layerNormEps: 1e-5,
  };
  const lin = (out: number, inp: number) => ({ weight: mat(out, inp, 0.7), bias: vec(out, 0.2) });
  const norm = () => ({ weight: vec(4, 0.2, 1), bias: vec(4, 0.2) });
  const layer = {
    q: lin(4, 4),
    k: lin(4, 4),
    v: lin(4, 4),
    out: lin(4, 4),
    layerNorm1: norm(),
    layerNorm2: norm(),
    fc1: lin(6, 4),
    fc2: lin(4, 6),
  };
  const weights: VisionWeights = {
    patchEmbedding: vec(4 * 3 * 2 * 2, 0.5),
    classEmbedding: vec(4),
    positionEmbedding: mat(5, 4, 0.5),
    preLayerNorm: norm(),
    layers: [layer],
  };
  const pixels = vec(3 * 4 * 4);

  it('matches conv → [CLS; patches] + pos → pre_layrnorm → pre-norm attention block → MLP block', () => {
    const eps = vision.layerNormEps;
    const tokens: Float64Array[] = [Float64Array.from(weights.classEmbedding)];
    for (const [py, px] of [
      [0, 0],
      [0, 1],
      [1, 0],
      [1, 1],
    ]) {
      tokens.push(
        Float64Array.from({ length: 4 }, (_, o) => {
          let s = 0;
          for (let c = 0; c < 3; c++)
            for (let ky = 0; ky < 2; ky++)
              for (let kx = 0; kx < 2; kx++)
                s +=
                  weights.patchEmbedding[o * 12 + c * 4 + ky * 2 + kx] *
                  pixels[c * 16 + (py * 2 + ky) * 4 + px * 2 + kx];
          return s;
        }),
      );
    }
    const x0 = tokens.map((t, i) =>
      layerNorm(
        t.map((v, c) => v + weights.positionEmbedding.data[i * 4 + c]),
        weights.preLayerNorm.weight,
        weights.preLayerNorm.bias,
        eps,
      ),
    );
    const y = x0.map((t) => layerNorm(t, layer.layerNorm1.weight, layer.layerNorm1.bias, eps));
    const Q = y.map((t) => mv(layer.q.weight, t, layer.q.bias));
    const K = y.map((t) => mv(layer.k.weight, t, layer.k.bias));
    const V = y.map((t) => mv(layer.v.weight, t, layer.v.bias));
    const x1 = x0.map((t, i) => {
      const mixed: number[] = [];
      for (let h = 0; h < 2; h++) {
        const p = softmax(
          Float64Array.from(K, (k) => (Q[i][2 * h] * k[2 * h] + Q[i][2 * h + 1] * k[2 * h + 1]) / Math.SQRT2),
        );
        for (let c = 0; c < 2; c++) mixed.push(V.reduce((s, v, j) => s + p[j] * v[2 * h + c], 0));
      }
      const attn = mv(layer.out.weight, Float64Array.from(mixed), layer.out.bias);
      const h1 = t.map((v, c) => v + attn[c]);
      const z = layerNorm(h1, layer.layerNorm2.weight, layer.layerNorm2.bias, eps);
      const inner = mv(layer.fc1.weight, z, layer.fc1.bias).map((v) => v / (1 + Math.exp(-1.702 * v)));
      const mlp = mv(layer.fc2.weight, Float64Array.from(inner), layer.fc2.bias);
      return h1.map((v, c) => v + mlp[c]);
    });
    const exact = visionHiddenStates(vision, weights, pixels, [4, 4]);
    expect(exact).toHaveLength(2);
    close(exact[0], x0);
    close(exact[1], x1);

    // Projector on hidden_states[-1] ("default" drops CLS): linear_2(gelu(linear_1(x))).
    const projector = {
      linear1: { weight: mat(3, 4), bias: vec(3) },
      linear2: { weight: mat(3, 3), bias: vec(3) },
    };
    const llava = {
      visionFeatureLayer: -1,
      visionFeatureSelectStrategy: 'default',
      projectorHiddenAct: 'gelu',
    } as LlavaConfig;
    const features = projectImageFeatures(llava, exact, projector);
    const expected = x1.slice(1).map((t) => {
      const hidden = mv(projector.linear1.weight, t, projector.linear1.bias).map(ACTIVATIONS.gelu);
      return mv(projector.linear2.weight, Float64Array.from(hidden), projector.linear2.bias);
    });
    close(features, expected);
  });
});
