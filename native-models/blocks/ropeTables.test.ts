import { describe, expect, it } from 'vitest';

import { ConfigReader } from '../config/fields.ts';
import type { ModelFormatError } from '../errors.ts';
import { ropeInverseFrequencies } from '../reference/math.ts';
import { inverseFrequencies, parseRopeScaling, parseRopeTheta, ropeTables } from './ropeTables.ts';

describe('ropeTables', () => {
  it('matches the float64 formula cos/sin(p / θ^(2i/d)) on both halves within float32 rounding', () => {
    const d = 8;
    const theta = 10000;
    const positions = [0, 1, 7, 300];
    const { cos, sin } = ropeTables(positions, inverseFrequencies(d, theta, { type: 'default' }));
    positions.forEach((p, t) => {
      for (let i = 0; i < d; i++) {
        const angle = p / theta ** ((2 * (i % (d / 2))) / d);
        // float32 inv_freq and angle: relative error ~1e-7 of the angle, so |Δ| ≤ 1e-7·p + 1e-7.
        expect(Math.abs(cos[t * d + i] - Math.cos(angle))).toBeLessThan(1e-7 * p + 2e-7);
        expect(Math.abs(sin[t * d + i] - Math.sin(angle))).toBeLessThan(1e-7 * p + 2e-7);
      }
    });
  });

  it('linear scaling divides the frequencies by the factor', () => {
    const plain = inverseFrequencies(8, 10000, { type: 'default' });
    const scaled = inverseFrequencies(8, 10000, { type: 'linear', factor: 4 });
    plain.forEach((f, i) => expect(scaled[i]).toBeCloseTo(f / 4, 9));
  });
});

describe('RoPE scaling', () => {
  const read = (text: object) => ConfigReader.root(text, 'config.json');
  // llama3-llava-next-8b-hf's text_config (Llama 3.1 scaling).
  const LLAMA3 = {
    rope_type: 'llama3',
    factor: 8.0,
    low_freq_factor: 1.0,
    high_freq_factor: 4.0,
    original_max_position_embeddings: 8192,
  };

  it('llama3 keeps short wavelengths, slows long ones by factor and blends the band between, as the float64 reference', () => {
    const scaling = parseRopeScaling(read({ rope_scaling: LLAMA3 }));
    expect(scaling).toEqual({
      type: 'llama3',
      factor: 8,
      lowFreqFactor: 1,
      highFreqFactor: 4,
      originalMaxPositions: 8192,
    });
    const plain = inverseFrequencies(128, 500000, { type: 'default' });
    const scaled = inverseFrequencies(128, 500000, scaling);
    const expected = ropeInverseFrequencies(128, 500000, {
      type: 'llama3',
      factor: 8,
      lowFreqFactor: 1,
      highFreqFactor: 4,
      originalMaxPositionEmbeddings: 8192,
    });
    const bands = { kept: 0, slowed: 0, blended: 0 };
    scaled.forEach((f, i) => {
      expect(Math.abs(f - expected[i]) / expected[i]).toBeLessThan(1e-6);
      const ratio = plain[i] / f;
      if (Math.abs(ratio - 1) < 1e-6) bands.kept++;
      else if (Math.abs(ratio - 8) < 1e-5) bands.slowed++;
      else bands.blended++;
    });
    // Llama 3.1 8B at head_dim 128: every band is populated.
    expect(bands.kept).toBeGreaterThan(0);
    expect(bands.slowed).toBeGreaterThan(0);
    expect(bands.blended).toBeGreaterThan(0);
  });

  it('reads transformers v5 rope_parameters (rope_theta inside) like rope_scaling', () => {
    const c = read({ rope_parameters: { ...LLAMA3, rope_theta: 500000 } });
    expect(parseRopeTheta(c)).toBe(500000);
    expect(parseRopeScaling(c).type).toBe('llama3');
    expect(parseRopeTheta(read({ rope_theta: 1e6, rope_scaling: null }))).toBe(1e6);
    expect(parseRopeScaling(read({ rope_scaling: null }))).toEqual({ type: 'default' });
    expect(parseRopeScaling(read({ rope_scaling: { type: 'linear', factor: 2 } }))).toEqual({
      type: 'linear',
      factor: 2,
    });
  });

  it('refuses unknown types by name, missing llama3 keys and partial rotary factors', () => {
    const fails = (text: object) => {
      try {
        parseRopeScaling(read(text));
      } catch (error) {
        return error as ModelFormatError;
      }
      throw new Error('no error');
    };
    for (const [text, code, message] of [
      [
        { rope_scaling: { type: 'dynamic', factor: 2 } },
        'UNSUPPORTED_MODEL',
        'config.json.rope_scaling.type "dynamic" is not supported (supported: default, linear, llama3)',
      ],
      [
        { rope_parameters: { rope_type: 'yarn', factor: 4, rope_theta: 1e6 } },
        'UNSUPPORTED_MODEL',
        'config.json.rope_parameters.rope_type "yarn" is not supported (supported: default, linear, llama3)',
      ],
      [
        { rope_scaling: { ...LLAMA3, original_max_position_embeddings: undefined } },
        'BAD_CONFIG',
        'config.json.rope_scaling.original_max_position_embeddings must be present for rope_type "llama3", got undefined',
      ],
      [
        { rope_scaling: { ...LLAMA3, high_freq_factor: 1 } },
        'BAD_CONFIG',
        'config.json.rope_scaling.high_freq_factor must be greater than low_freq_factor (1), got 1',
      ],
      [{ rope_scaling: { type: 'linear' } }, 'BAD_CONFIG', 'config.json.rope_scaling.factor must be present'],
      [{ partial_rotary_factor: 0.5 }, 'UNSUPPORTED_MODEL', 'config.json.partial_rotary_factor 0.5'],
    ] as const) {
      const error = fails(text);
      expect(error.code).toBe(code);
      expect(error.message).toContain(message);
    }
  });
});
