/**
 * The float64 building blocks of the reference forward pass, written as plain loops that read like
 * the equations. A vector is a Float64Array; a matrix is row-major `[rows, cols]`, the layout of a
 * PyTorch `nn.Linear` weight `[out_features, in_features]`.
 */
import type { RopeScalingConfig } from './config.ts';

export type Vector = Float64Array;

export interface Matrix {
  rows: number;
  cols: number;
  data: Float64Array;
}

export function matrix(rows: number, cols: number, data: Float64Array): Matrix {
  if (data.length !== rows * cols)
    throw new RangeError(`matrix data has ${data.length} values, not ${rows}×${cols}`);
  return { rows, cols, data };
}

/** Row `r` of a matrix, as a view. */
export function row(m: Matrix, r: number): Vector {
  return m.data.subarray(r * m.cols, (r + 1) * m.cols);
}

/** y = W·x + b (nn.Linear). */
export function linear(x: Vector, weight: Matrix, bias?: Vector | null): Vector {
  if (x.length !== weight.cols)
    throw new RangeError(`linear: input has ${x.length} values, weight expects ${weight.cols}`);
  const y = new Float64Array(weight.rows);
  for (let o = 0; o < weight.rows; o++) {
    let sum = bias ? bias[o] : 0;
    const base = o * weight.cols;
    for (let i = 0; i < weight.cols; i++) sum += weight.data[base + i] * x[i];
    y[o] = sum;
  }
  return y;
}

export function dot(a: Vector, b: Vector): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i] * b[i];
  return sum;
}

export function add(a: Vector, b: Vector): Vector {
  const out = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i] + b[i];
  return out;
}

export function scale(a: Vector, factor: number): Vector {
  return a.map((v) => v * factor);
}

export function concat(parts: Vector[]): Vector {
  const out = new Float64Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** LayerNorm: (x − mean) / √(var + eps) · w + b, with the biased variance. */
export function layerNorm(x: Vector, weight: Vector, bias: Vector, eps: number): Vector {
  const n = x.length;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += x[i];
  mean /= n;
  let variance = 0;
  for (let i = 0; i < n; i++) variance += (x[i] - mean) ** 2;
  variance /= n;
  const inv = 1 / Math.sqrt(variance + eps);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = (x[i] - mean) * inv * weight[i] + bias[i];
  return out;
}

/** RMSNorm (LlamaRMSNorm): x · rsqrt(mean(x²) + eps) · w. */
export function rmsNorm(x: Vector, weight: Vector, eps: number): Vector {
  const n = x.length;
  let meanSquare = 0;
  for (let i = 0; i < n; i++) meanSquare += x[i] * x[i];
  meanSquare /= n;
  const inv = 1 / Math.sqrt(meanSquare + eps);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = x[i] * inv * weight[i];
  return out;
}

/** softmax(s)ᵢ = exp(sᵢ − max s) / Σⱼ exp(sⱼ − max s); −∞ entries get probability 0. */
export function softmax(scores: Vector): Vector {
  let max = -Infinity;
  for (const s of scores) if (s > max) max = s;
  if (max === -Infinity) throw new RangeError('softmax: every score is −∞ (a query with no visible key)');
  const out = new Float64Array(scores.length);
  let sum = 0;
  for (let i = 0; i < scores.length; i++) {
    out[i] = Math.exp(scores[i] - max);
    sum += out[i];
  }
  for (let i = 0; i < out.length; i++) out[i] /= sum;
  return out;
}

export function argmax(values: Vector): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

/**
 * The error function. For |x| < 3 the everywhere-positive series
 * erf(x) = 2/√π · e^(−x²) · Σₙ 2ⁿ x^(2n+1) / (1·3·…·(2n+1)); beyond, the continued fraction for erfc.
 * Both are accurate to a few ulps.
 */
export function erf(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const ax = Math.abs(x);
  if (ax >= 3) return Math.sign(x) * (1 - erfcLarge(ax));
  let term = ax;
  let sum = ax;
  for (let n = 1; n < 200 && term > 1e-17 * sum; n++) {
    term *= (2 * ax * ax) / (2 * n + 1);
    sum += term;
  }
  return Math.sign(x) * ((2 / Math.sqrt(Math.PI)) * Math.exp(-ax * ax) * sum);
}

/** erfc(x) for x ≥ 3 by the Laplace continued fraction, evaluated bottom-up. */
function erfcLarge(x: number): number {
  let fraction = 0;
  for (let k = 60; k >= 1; k--) fraction = k / 2 / (x + fraction);
  return Math.exp(-x * x) / Math.sqrt(Math.PI) / (x + fraction);
}

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));
const geluTanh = (x: number): number =>
  0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)));

/** transformers' ACT2FN, the entries LLaVA-style models use. */
export const ACTIVATIONS: Record<string, (x: number) => number> = {
  gelu: (x) => 0.5 * x * (1 + erf(x / Math.SQRT2)),
  gelu_new: geluTanh,
  gelu_pytorch_tanh: geluTanh,
  quick_gelu: (x) => x * sigmoid(1.702 * x),
  silu: (x) => x * sigmoid(x),
  swish: (x) => x * sigmoid(x),
  relu: (x) => Math.max(0, x),
};

export function activation(name: string): (x: number) => number {
  const fn = ACTIVATIONS[name];
  if (!fn) throw new RangeError(`unknown activation ${name}`);
  return fn;
}

/** RoPE inverse frequencies θ^(−2i/d), i = 0 … d/2 − 1, then the config's scaling (float64). */
export function ropeInverseFrequencies(
  headDim: number,
  theta: number,
  scaling: RopeScalingConfig = { type: 'default' },
): Float64Array {
  const plain = Float64Array.from({ length: headDim / 2 }, (_, i) => 1 / theta ** ((2 * i) / headDim));
  if (scaling.type === 'default') return plain;
  if (scaling.type === 'linear') return plain.map((f) => f / scaling.factor);
  // Llama 3.1 ("llama3"): a frequency whose wavelength 2π/f is shorter than original/high_freq_factor
  // keeps its speed, one longer than original/low_freq_factor runs `factor` times slower, and in
  // between the two are mixed with weight s = (original/wavelength − low) / (high − low) on the fast one.
  const {
    factor,
    lowFreqFactor: low,
    highFreqFactor: high,
    originalMaxPositionEmbeddings: original,
  } = scaling;
  return plain.map((f) => {
    const wavelength = (2 * Math.PI) / f;
    if (wavelength < original / high) return f;
    if (wavelength > original / low) return f / factor;
    const s = (original / wavelength - low) / (high - low);
    return s * f + (1 - s) * (f / factor);
  });
}

/**
 * Rotate-half RoPE at `position`: x·cos + rotate_half(x)·sin, where rotate_half(x) = [−x₂, x₁] for the
 * halves x₁ = x[:d/2], x₂ = x[d/2:], and cos/sin repeat the d/2 angles position·θ^(−2i/d) for both halves.
 */
export function rope(x: Vector, position: number, inverseFrequencies: Float64Array): Vector {
  const half = x.length / 2;
  const out = new Float64Array(x.length);
  for (let i = 0; i < half; i++) {
    const angle = position * inverseFrequencies[i];
    const cos = Math.cos(angle);
    const sin = Math.sin(angle);
    out[i] = x[i] * cos - x[i + half] * sin;
    out[i + half] = x[i + half] * cos + x[i] * sin;
  }
  return out;
}
