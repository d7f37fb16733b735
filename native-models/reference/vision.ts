/**
 * CLIP vision tower and LLaVA projector, as transformers' CLIPVisionTransformer, LlavaModel's feature
 * selection and LlavaMultiModalProjector compute them.
 *
 *   x₀ = pre_layrnorm([class_embedding; conv_p(pixels)] + position_embedding)
 *   xₗ = xₗ₋₁ + attn(ln1(xₗ₋₁));  xₗ ← xₗ + fc2(act(fc1(ln2(xₗ))))
 *   hidden_states = [x₀, x₁, …, x_L];  features = hidden_states[vision_feature_layer] (a list: concatenated)
 *   "default" drops the CLS row; image_features = linear_2(act(linear_1(features)))
 *   VIP-LLaVA: vision_feature_layers, CLS always dropped, features ← projector_layernorm(features) first
 */
import { ModelFormatError } from '../errors.ts';
import type { LlavaConfig, VisionConfig } from './config.ts';
import {
  activation,
  add,
  concat,
  dot,
  layerNorm,
  linear,
  softmax,
  type Matrix,
  type Vector,
} from './math.ts';

export interface Linear {
  weight: Matrix;
  bias: Vector | null;
}

export interface Norm {
  weight: Vector;
  bias: Vector;
}

export interface VisionLayerWeights {
  q: Linear;
  k: Linear;
  v: Linear;
  out: Linear;
  layerNorm1: Norm;
  layerNorm2: Norm;
  fc1: Linear;
  fc2: Linear;
}

export interface VisionWeights {
  /** Conv2d weight [hidden, channels, patch, patch], no bias. */
  patchEmbedding: Float64Array;
  classEmbedding: Vector;
  /** [patches + 1, hidden] */
  positionEmbedding: Matrix;
  preLayerNorm: Norm;
  layers: VisionLayerWeights[];
}

export interface ProjectorWeights {
  /** VIP-LLaVA's projector_layernorm over the concatenated features; absent for llava. */
  layerNorm?: Norm;
  linear1: Linear;
  linear2: Linear;
}

const apply = (x: Vector, l: Linear): Vector => linear(x, l.weight, l.bias);

/** Patch embeddings: a stride-p convolution, tokens in row-major patch order. */
function patchEmbeddings(config: VisionConfig, weights: VisionWeights, pixels: Float64Array): Vector[] {
  const { imageSize: size, patchSize: p, numChannels: channels, hiddenSize } = config;
  const grid = size / p;
  const tokens: Vector[] = [];
  for (let py = 0; py < grid; py++) {
    for (let px = 0; px < grid; px++) {
      const token = new Float64Array(hiddenSize);
      for (let o = 0; o < hiddenSize; o++) {
        let sum = 0;
        for (let c = 0; c < channels; c++) {
          for (let ky = 0; ky < p; ky++) {
            for (let kx = 0; kx < p; kx++) {
              const w = weights.patchEmbedding[((o * channels + c) * p + ky) * p + kx];
              sum += w * pixels[(c * size + py * p + ky) * size + px * p + kx];
            }
          }
        }
        token[o] = sum;
      }
      tokens.push(token);
    }
  }
  return tokens;
}

/** Bidirectional multi-head attention with scale head_dim^−0.5 (CLIPAttention). */
function selfAttention(config: VisionConfig, layer: VisionLayerWeights, x: Vector[]): Vector[] {
  const { heads, headDim } = config;
  const q = x.map((t) => apply(t, layer.q));
  const k = x.map((t) => apply(t, layer.k));
  const v = x.map((t) => apply(t, layer.v));
  const scaleFactor = headDim ** -0.5;
  return x.map((_, i) => {
    const mixed = new Float64Array(config.hiddenSize);
    for (let h = 0; h < heads; h++) {
      const slice = (t: Vector) => t.subarray(h * headDim, (h + 1) * headDim);
      const qi = slice(q[i]);
      const probs = softmax(Float64Array.from(k, (kj) => dot(qi, slice(kj)) * scaleFactor));
      for (let j = 0; j < x.length; j++) {
        const vj = slice(v[j]);
        for (let d = 0; d < headDim; d++) mixed[h * headDim + d] += probs[j] * vj[d];
      }
    }
    return apply(mixed, layer.out);
  });
}

function encoderLayer(config: VisionConfig, layer: VisionLayerWeights, x: Vector[]): Vector[] {
  const eps = config.layerNormEps;
  const act = activation(config.hiddenAct);
  const attended = selfAttention(
    config,
    layer,
    x.map((t) => layerNorm(t, layer.layerNorm1.weight, layer.layerNorm1.bias, eps)),
  );
  const h = x.map((t, i) => add(t, attended[i]));
  return h.map((t) => {
    const inner = apply(layerNorm(t, layer.layerNorm2.weight, layer.layerNorm2.bias, eps), layer.fc1).map(
      act,
    );
    return add(t, apply(inner, layer.fc2));
  });
}

/** hidden_states of CLIPVisionModel(output_hidden_states=True): [after pre_layrnorm, after layer 1, …]. */
export function visionHiddenStates(
  config: VisionConfig,
  weights: VisionWeights,
  pixels: Float32Array | Float64Array,
  imageSize: [number, number],
): Vector[][] {
  const size = config.imageSize;
  if (imageSize[0] !== size || imageSize[1] !== size) {
    throw new ModelFormatError(
      'BAD_CONFIG',
      `input image size (${imageSize[0]}*${imageSize[1]}) doesn't match model (${size}*${size})`,
    );
  }
  const expected = config.numChannels * size * size;
  if (pixels.length !== expected) {
    throw new RangeError(
      `pixelValues has ${pixels.length} values; expected ${config.numChannels}×${size}×${size}`,
    );
  }
  const patches = patchEmbeddings(config, weights, Float64Array.from(pixels));
  const embeddings = [weights.classEmbedding, ...patches].map((t, i) => {
    const position = weights.positionEmbedding.data.subarray(
      i * config.hiddenSize,
      (i + 1) * config.hiddenSize,
    );
    return add(t, position);
  });
  const { weight, bias } = weights.preLayerNorm;
  let x = embeddings.map((t) => layerNorm(t, weight, bias, config.layerNormEps));
  const states = [x];
  for (const layer of weights.layers) {
    x = encoderLayer(config, layer, x);
    states.push(x);
  }
  return states;
}

/** LlavaModel.get_image_features: pick hidden state(s), drop CLS for "default", project. */
export function projectImageFeatures(
  config: LlavaConfig,
  states: Vector[][],
  projector: ProjectorWeights,
): Vector[] {
  const pick = (index: number): Vector[] => {
    const selected = states[index < 0 ? states.length + index : index];
    return config.visionFeatureSelectStrategy === 'default' ? selected.slice(1) : selected;
  };
  const layers = Array.isArray(config.visionFeatureLayer)
    ? config.visionFeatureLayer
    : [config.visionFeatureLayer];
  const picked = layers.map(pick);
  const act = activation(config.projectorHiddenAct);
  const norm = projector.layerNorm;
  const eps = config.projectorLayerNormEps;
  if ((norm === undefined) !== (eps === undefined)) {
    throw new RangeError('projector_layernorm weights and projector_layernorm_eps go together');
  }
  return picked[0].map((_, token) => {
    const joined = concat(picked.map((layer) => layer[token]));
    const feature = norm && eps !== undefined ? layerNorm(joined, norm.weight, norm.bias, eps) : joined;
    return apply(apply(feature, projector.linear1).map(act), projector.linear2);
  });
}
