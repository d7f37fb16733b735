/**
 * Rotary-embedding tables for given positions, computed the way transformers does it in float32
 * (inv_freq = 1 / θ^(2i/d), freqs = inv_freq · position, cos/sin of [freqs, freqs]) so the engine's
 * logits track Hugging Face's closely even at large positions. Each step is rounded to float32 with
 * Math.fround to mirror torch's float32 arithmetic.
 */
import { ModelFormatError } from '../errors.ts';
import type { ConfigReader } from '../config/fields.ts';

export type RopeScaling =
  | { readonly type: 'default' }
  | { readonly type: 'linear'; readonly factor: number }
  | {
      readonly type: 'llama3';
      readonly factor: number;
      readonly lowFreqFactor: number;
      readonly highFreqFactor: number;
      readonly originalMaxPositions: number;
    };

/**
 * text_config's RoPE scaling: `rope_scaling` ({type | rope_type, …}) or transformers v5's
 * `rope_parameters` (the same keys plus rope_theta). Types other than default, linear and llama3 are
 * refused by name, never ignored: "dynamic" NTK is recomputed by transformers from the running
 * sequence length on every forward (not one fixed table), and yarn/longrope also scale attention.
 * llama3's keys are required, as transformers' rope validation has them.
 */
export function parseRopeScaling(c: ConfigReader): RopeScaling {
  if (c.has('partial_rotary_factor') && c.raw('partial_rotary_factor') !== 1) {
    throw new ModelFormatError(
      'UNSUPPORTED_MODEL',
      `${c.path}.partial_rotary_factor ${JSON.stringify(c.raw('partial_rotary_factor'))} is not supported (only 1: every dimension rotates)`,
    );
  }
  const key = ['rope_scaling', 'rope_parameters'].find((k) => c.has(k));
  if (key === undefined) return { type: 'default' };
  const s = c.child(key);
  const typeKey = s.has('rope_type') ? 'rope_type' : 'type';
  const type = s.string(typeKey, 'default');
  const required = (name: string): number => {
    if (!s.has(name)) s.fail(name, `present for rope_type "${type}"`);
    return s.number(name, 0);
  };
  switch (type) {
    case 'default':
      return { type: 'default' };
    case 'linear':
      return { type: 'linear', factor: required('factor') };
    case 'llama3': {
      const scaling = {
        type: 'llama3' as const,
        factor: required('factor'),
        lowFreqFactor: required('low_freq_factor'),
        highFreqFactor: required('high_freq_factor'),
        originalMaxPositions: required('original_max_position_embeddings'),
      };
      if (scaling.highFreqFactor <= scaling.lowFreqFactor) {
        s.fail('high_freq_factor', `greater than low_freq_factor (${scaling.lowFreqFactor})`);
      }
      return scaling;
    }
    default:
      throw new ModelFormatError(
        'UNSUPPORTED_MODEL',
        `${s.path}.${typeKey} "${type}" is not supported (supported: default, linear, llama3)`,
      );
  }
}

/** One line for model summaries, e.g. "llama3 ×8 (low 1, high 4, original 8192)". */
export function describeRopeScaling(scaling: RopeScaling): string {
  switch (scaling.type) {
    case 'default':
      return 'default';
    case 'linear':
      return `linear ×${scaling.factor}`;
    case 'llama3':
      return `llama3 ×${scaling.factor} (low ${scaling.lowFreqFactor}, high ${scaling.highFreqFactor}, original ${scaling.originalMaxPositions})`;
  }
}

/** rope_theta, or v5's rope_parameters.rope_theta when the top-level key is absent. */
export function parseRopeTheta(c: ConfigReader): number {
  if (!c.has('rope_theta') && c.child('rope_parameters').has('rope_theta')) {
    return c.child('rope_parameters').number('rope_theta', 10000);
  }
  return c.number('rope_theta', 10000);
}

export function inverseFrequencies(headDim: number, theta: number, scaling: RopeScaling): Float32Array {
  const half = headDim / 2;
  const inv = new Float32Array(half);
  for (let i = 0; i < half; i++) {
    const exponent = Math.fround((2 * i) / headDim);
    inv[i] = Math.fround(1 / Math.fround(Math.pow(theta, exponent)));
  }
  if (scaling.type === 'linear') {
    for (let i = 0; i < half; i++) inv[i] = Math.fround(inv[i] / scaling.factor);
  } else if (scaling.type === 'llama3') {
    // Llama 3.1 frequency bands (transformers' _compute_llama3_parameters, float32 like its tensors):
    // long wavelengths are slowed by `factor`, short ones kept, and the band between is interpolated.
    const f32 = Math.fround;
    const lowWavelen = scaling.originalMaxPositions / scaling.lowFreqFactor;
    const highWavelen = scaling.originalMaxPositions / scaling.highFreqFactor;
    for (let i = 0; i < half; i++) {
      const wavelen = f32((2 * Math.PI) / inv[i]);
      if (wavelen > lowWavelen) {
        inv[i] = f32(inv[i] / scaling.factor);
      } else if (wavelen >= highWavelen) {
        const smooth = f32(
          f32(f32(scaling.originalMaxPositions / wavelen) - scaling.lowFreqFactor) /
            (scaling.highFreqFactor - scaling.lowFreqFactor),
        );
        inv[i] = f32(f32(f32(f32(1 - smooth) * inv[i]) / scaling.factor) + f32(smooth * inv[i]));
      }
    }
  }
  return inv;
}

/** cos and sin tables [positions.length, headDim] for the given absolute positions. */
export function ropeTables(
  positions: readonly number[],
  inverse: Float32Array,
): { cos: Float32Array; sin: Float32Array } {
  const half = inverse.length;
  const headDim = half * 2;
  const cos = new Float32Array(positions.length * headDim);
  const sin = new Float32Array(positions.length * headDim);
  positions.forEach((position, t) => {
    for (let i = 0; i < half; i++) {
      const angle = Math.fround(inverse[i] * position);
      const c = Math.fround(Math.cos(angle));
      const s = Math.fround(Math.sin(angle));
      cos[t * headDim + i] = cos[t * headDim + half + i] = c;
      sin[t * headDim + i] = sin[t * headDim + half + i] = s;
    }
  });
  return { cos, sin };
}
