/**
 * VAR through the ONNX layer graphs (varAnswer.ts: a pre-softmax bias computed layer by layer from the
 * pass's own attention) against the float64 reference (native-models/reference/visualSinks.ts: the
 * probabilities redistributed after softmax, sinks and heads found by its own loops). Tolerance 1e-4
 * relative to the largest magnitude, as the other fidelity tests (fidelity.test.ts).
 *
 * A tiny random model has no massive activations (an RMS-normalised entry of a 64-wide state is at most
 * 8, and typically under 3), so τ is lowered until a few tokens qualify; the test asserts that VAR did
 * act on some heads and left others, so the comparison covers both.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ReferenceLlava } from '../../../native-models/reference/llava.ts';
import type { ReferenceVar } from '../../../native-models/reference/visualSinks.ts';
import { lastRowErrors, maxRelativeError } from '../../../native-models/testing/compare.ts';
import { lcgImage } from '../../../native-models/testing/random.ts';
import { writeTinyLlava, type TinyLlavaOptions } from '../../../native-models/testing/tinyLlava.ts';
import { writeTinyQwen } from '../../../native-models/testing/tinyQwen.ts';
import { forward, imageColumns, prepareSample, type PreparedSample } from '../inference/forward.ts';
import { decodeGreedy } from '../inference/generate.ts';
import { openModel, type LoadedModel } from '../model/openModel.ts';
import { withoutFinalEos } from '../inference/fidelity.testing.ts';
import { contrastSettings } from '../analyses/contrast.ts';
import { contrastSample } from './contrast.ts';
import { defaultVarLayers, varFacts, varNotApplicable, varPrefill, type VarConfig } from './varAnswer.ts';

const TOLERANCE = 1e-4;
const LAYERS = 6;

const VARIANTS: { name: string; options: TinyLlavaOptions; config: VarConfig }[] = [
  {
    name: 'F32, GQA, sink dimensions read per layer off the first token',
    options: { seed: 11, dtype: 'F32', layout: 'modern', text: { layers: LAYERS } },
    config: { tau: 2, rho: 0.5, minImageAttention: 0.2, p: 0.6 },
  },
  {
    name: 'F16, MHA, given sink dimensions, every layer, p = 0.2',
    options: { seed: 12, dtype: 'F16', layout: 'legacy', text: { layers: LAYERS, kvHeads: 4 } },
    config: {
      tau: 1.5,
      rho: 0.6,
      minImageAttention: 0.3,
      p: 0.2,
      sinkDims: [3, 17, 40],
      layers: [0, 1, 2, 3, 4, 5],
    },
  },
];

const referenceVar = (c: VarConfig): ReferenceVar => ({
  tau: c.tau,
  rho: c.rho,
  minImage: c.minImageAttention,
  keep: c.p,
  ...(c.sinkDims ? { sinkDims: c.sinkDims } : {}),
  ...(c.layers ? { layers: c.layers } : {}),
});

describe.each(VARIANTS)('VAR: engine vs float64 reference, $name', ({ options, config }) => {
  let dir: string;
  let model: LoadedModel;
  let reference: ReferenceLlava;
  let sample: PreparedSample;
  const input = () => ({
    inputIds: [...sample.expandedIds],
    pixelValues: sample.image.pixelValues,
    imageSize: [sample.image.height, sample.image.width] as [number, number],
  });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fusionscope-var-'));
    await writeTinyLlava(dir, options);
    model = await openModel(dir, { provider: 'cpu' });
    reference = await ReferenceLlava.load(dir);
    sample = await prepareSample(model, {
      image: lcgImage(options.seed, 40, 30),
      prompt: { kind: 'question', text: 'what color is the shape left of the square' },
    });
  });

  afterAll(async () => {
    await model?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('logits, attention and hidden states of the answer position match the reference', async () => {
    const ours = await varPrefill(model, sample, config);
    if (!ours.applicable) throw new Error(`VAR did not apply: ${ours.reason}`);
    const { heads } = model.spec.decoder;
    const acted = ours.layers.reduce((n, l) => n + l.heads.length, 0);
    // The comparison covers redistributed heads and heads left alone.
    expect(acted).toBeGreaterThan(0);
    expect(acted).toBeLessThan(ours.layers.length * heads);
    const ref = reference.forward({ ...input(), var: referenceVar(config) });
    const length = sample.expandedIds.length;
    const errors = lastRowErrors(
      {
        lastLogits: ours.state.lastLogits,
        attention: ours.attention.map((a) => imageColumns(a, heads, 1, length, sample.imageTokenSpan)),
        hiddenStates: ours.hidden,
      },
      ref,
      sample.imageTokenSpan,
      heads,
    );
    expect(errors.logits).toBeLessThan(TOLERANCE);
    expect(errors.attention).toBeLessThan(TOLERANCE);
    expect(errors.hiddenStates).toBeLessThan(TOLERANCE);
    // And VAR changed something: the plain forward differs from it.
    const plain = await forward(model, sample);
    expect(maxRelativeError(plain.lastLogits, ours.state.lastLogits)).toBeGreaterThan(100 * TOLERANCE);
  });

  it('keeping every sink weight (p = 1) is the plain forward pass', async () => {
    const ours = await varPrefill(model, sample, { ...config, p: 1 });
    if (!ours.applicable) throw new Error(`VAR did not apply: ${ours.reason}`);
    expect(ours.layers.some((l) => l.heads.length > 0)).toBe(true);
    const plain = await forward(model, sample);
    expect(maxRelativeError(ours.state.lastLogits, plain.lastLogits)).toBeLessThan(1e-5);
  });

  it('greedy decoding after the VAR prompt pass yields the reference tokens', async () => {
    const ours = await varPrefill(model, sample, config);
    if (!ours.applicable) throw new Error(`VAR did not apply: ${ours.reason}`);
    const answer = await decodeGreedy(model, ours.state, 5);
    const eos = model.eosTokenIds[0];
    const ref = reference.generate(
      { ...input(), var: referenceVar(config) },
      { maxNewTokens: 5, eosTokenId: eos },
    );
    expect(answer.tokenIds).toEqual(withoutFinalEos(ref, eos));
  });
});

describe('VAR on three rotary streams (Qwen2-VL)', () => {
  it('reruns the answer row at its own M-RoPE positions: with p = 1 the pass is the plain forward', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fusionscope-var-qwen-'));
    try {
      await writeTinyQwen(dir, { family: 'qwen2_vl', seed: 31, dtype: 'F32', layout: 'legacy' });
      const model = await openModel(dir, { provider: 'cpu' });
      try {
        const sample = await prepareSample(model, {
          image: lcgImage(5, 40, 30),
          prompt: { kind: 'question', text: 'what is left of the square' },
        });
        const layers = Array.from({ length: model.spec.decoder.layers }, (_, l) => l);
        const config = { tau: 1.5, rho: 0.5, minImageAttention: 0.1, p: 1, layers };
        const kept = await varPrefill(model, sample, config);
        if (!kept.applicable) throw new Error(kept.reason);
        expect(kept.layers.some((l) => l.heads.length > 0)).toBe(true);
        const plain = await forward(model, sample);
        expect(maxRelativeError(kept.state.lastLogits, plain.lastLogits)).toBeLessThan(1e-5);
        const moved = await varPrefill(model, sample, { ...config, p: 0.2 });
        if (!moved.applicable) throw new Error(moved.reason);
        expect(maxRelativeError(moved.state.lastLogits, plain.lastLogits)).toBeGreaterThan(1e-2);
      } finally {
        await model.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('VAR applicability', () => {
  it('acts at every layer but the first two and the last by default', () => {
    expect(defaultVarLayers(8)).toEqual([2, 3, 4, 5, 6]);
    expect(defaultVarLayers(3)).toEqual([]);
  });

  it('says why it cannot apply: τ out of reach of a narrow model, or no layer to act at', () => {
    const settings = { tau: 20, rho: 0.5, minImageAttention: 0.2, p: 0.6 };
    expect(varNotApplicable(settings, { layers: 8, hiddenSize: 160 })).toMatch(
      /no token can exceed τ = 20 .* 160-wide decoder \(at most √160 = 12\.6\)/,
    );
    expect(varNotApplicable(settings, { layers: 32, hiddenSize: 4096 })).toBeNull();
    expect(varNotApplicable(settings, { layers: 3, hiddenSize: 4096 })).toMatch(
      /3-layer decoder has no layer/,
    );
    expect(varNotApplicable({ ...settings, layers: [1] }, { layers: 3, hiddenSize: 4096 })).toBeNull();
  });
});

describe('VAR as a contrast refinement', () => {
  let dir: string;
  let model: LoadedModel;
  let sample: PreparedSample;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fusionscope-var-contrast-'));
    await writeTinyLlava(dir, VARIANTS[0].options);
    model = await openModel(dir, { provider: 'cpu' });
    sample = await prepareSample(model, {
      image: lcgImage(3, 40, 30),
      prompt: { kind: 'question', text: 'what color is the shape left of the square' },
    });
  });

  afterAll(async () => {
    await model?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const settings = (extra: object) =>
    contrastSettings(
      { candidateLayers: [0, 1], reviewLayer: null, methods: ['var'], maxNewTokens: 3, ...extra },
      LAYERS,
    );

  it("is not applicable at the paper's τ on a 64-wide model, and then gives no answer", async () => {
    const result = await contrastSample(model, sample, settings({}));
    expect(result.varNotApplicable).toMatch(/τ = 20 .* 64-wide decoder/);
    expect(result.refined.var).toBeUndefined();
    expect(result.latencyMs.var).toBeUndefined();
    expect(result.var).toBeUndefined();
  });

  it('is not applicable when the first token shows no massive dimension at any layer VAR acts at', async () => {
    const prefill = await varPrefill(model, sample, { tau: 7.5, rho: 0.5, minImageAttention: 0.2, p: 0.6 });
    expect(prefill.applicable).toBe(false);
    if (prefill.applicable) return;
    expect(prefill.reason).toMatch(
      /exceeds τ = 7\.5 in no dimension at the layers VAR acts at \(largest \d\.\d\)/,
    );
  });

  it('answers from the VAR pass with the settings given, and records what it moved', async () => {
    const result = await contrastSample(model, sample, settings({ varTau: 2, varP: 0.3, varRho: 0.4 }));
    const config = { tau: 2, rho: 0.4, minImageAttention: 0.2, p: 0.3 };
    const prefill = await varPrefill(model, sample, config);
    if (!prefill.applicable) throw new Error(prefill.reason);
    const expected = await decodeGreedy(model, prefill.state, 3);
    expect(result.refined.var?.tokenIds).toEqual(expected.tokenIds);
    expect(result.var).toEqual(varFacts(prefill.layers, sample.imageTokenSpan));
    expect(result.var!.heads).toBeGreaterThan(0);
    expect(result.latencyMs.var).toBeGreaterThan(0);
    expect(result.varNotApplicable).toBeUndefined();
  });
});
