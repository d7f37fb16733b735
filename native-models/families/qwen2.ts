/**
 * Qwen2's language model as Qwen2-VL and Qwen2.5-VL use it: a LLaMA decoder layer (families/llama.ts
 * builds it) whose q/k/v projections carry biases and whose o_proj does not, with M-RoPE: three
 * position streams (temporal, height, width), each rotating its own `mrope_section` of the frequencies
 * (transformers' apply_multimodal_rotary_pos_emb).
 */
import {
  inverseFrequencies,
  parseRopeScaling,
  parseRopeTheta,
  ropeTables,
  type RopeScaling,
} from '../blocks/ropeTables.ts';
import { assertActivation } from '../blocks/activations.ts';
import { ConfigReader } from '../config/fields.ts';
import { ModelFormatError } from '../errors.ts';
import type { RotaryPositions } from '../architectures/types.ts';
import type { LlamaTextConfig } from './llama.ts';

export interface Qwen2TextConfig extends LlamaTextConfig {
  readonly modelType: 'qwen2';
  /** Frequencies rotated by the temporal, height and width streams; sums to headDim / 2. */
  readonly mropeSection: readonly [number, number, number];
}

/** transformers' Qwen2VLTextConfig / Qwen2_5_VLTextConfig defaults (the 72B model's sizes). */
const DEFAULTS = {
  vocab: 152064,
  hidden: 8192,
  intermediate: 29568,
  layers: 80,
  heads: 64,
  kvHeads: 8,
  maxPos: 32768,
  rmsNormEps: 1e-5,
  ropeTheta: 1000000,
};

/**
 * The text fields of a Qwen2-VL config, read from `c` (the top level of a flat config, or its
 * text_config). `tieWordEmbeddings` is the caller's: where it lives differs between layouts.
 */
export function parseQwen2TextConfig(c: ConfigReader, tieWordEmbeddings: boolean): Qwen2TextConfig {
  const hiddenSize = c.int('hidden_size', DEFAULTS.hidden);
  const heads = c.int('num_attention_heads', DEFAULTS.heads);
  // Qwen2 derives head_dim from hidden_size and ignores a head_dim key.
  if (hiddenSize % heads !== 0) c.fail('num_attention_heads', `a divisor of hidden_size (${hiddenSize})`);
  const headDim = hiddenSize / heads;
  if (headDim % 2 !== 0) {
    c.fail(
      'num_attention_heads',
      `a divisor of hidden_size giving an even head_dim (rotary embedding rotates pairs); hidden_size ${hiddenSize} / ${heads} = ${headDim}`,
    );
  }
  const kvHeads =
    c.raw('num_key_value_heads') === null ? heads : c.int('num_key_value_heads', DEFAULTS.kvHeads);
  if (heads % kvHeads !== 0) c.fail('num_key_value_heads', `a divisor of num_attention_heads (${heads})`);
  const layers = c.int('num_hidden_layers', DEFAULTS.layers, { max: 1024 });
  const hiddenAct = c.string('hidden_act', 'silu');
  assertActivation(hiddenAct, `${c.path}.hidden_act`);
  refuseSlidingLayers(c, layers);
  const { scaling, mropeSection } = parseMrope(c, headDim);
  return {
    modelType: 'qwen2',
    layers,
    hiddenSize,
    heads,
    kvHeads,
    headDim,
    vocabSize: c.int('vocab_size', DEFAULTS.vocab),
    intermediateSize: c.int('intermediate_size', DEFAULTS.intermediate),
    hiddenAct,
    rmsNormEps: c.number('rms_norm_eps', DEFAULTS.rmsNormEps),
    ropeTheta: hasRopeTheta(c) ? parseRopeTheta(c) : DEFAULTS.ropeTheta,
    ropeScaling: scaling,
    attentionBias: false,
    qkvBias: true,
    mlpBias: false,
    tieWordEmbeddings,
    maxPositionEmbeddings: c.int('max_position_embeddings', DEFAULTS.maxPos),
    slidingWindow: undefined,
    mropeSection,
  };
}

function hasRopeTheta(c: ConfigReader): boolean {
  return c.has('rope_theta') || c.child('rope_parameters').has('rope_theta');
}

/**
 * Qwen2 slides its window only in layers from max_window_layers on, and only when use_sliding_window
 * is set (every released Qwen2-VL / 2.5-VL checkpoint has it false). The engine's window is one for
 * all layers, so a config that would slide some layers is refused rather than run with full attention.
 */
function refuseSlidingLayers(c: ConfigReader, layers: number): void {
  const explicit = c.raw('layer_types');
  if (Array.isArray(explicit)) {
    if (explicit.includes('sliding_attention')) {
      throw new ModelFormatError(
        'UNSUPPORTED_MODEL',
        `${c.path}.layer_types has sliding_attention layers; Qwen2's per-layer sliding window is not supported (only full_attention)`,
      );
    }
    return;
  }
  if (!c.bool('use_sliding_window', false)) return;
  const fullLayers = c.int('max_window_layers', 80, { min: 0, max: 1_000_000 });
  if (fullLayers < layers) {
    throw new ModelFormatError(
      'UNSUPPORTED_MODEL',
      `${c.path}.use_sliding_window is true and max_window_layers (${fullLayers}) < num_hidden_layers (${layers}): Qwen2's sliding window in layers ${fullLayers}..${layers - 1} is not supported (Qwen2-VL checkpoints ship use_sliding_window false)`,
    );
  }
}

/**
 * rope_scaling (or v5 rope_parameters) of type "mrope" (transformers turns it into "default") or
 * "default", or a scaling blocks/ropeTables.ts knows, with mrope_section: three non-negative integers
 * summing to head_dim / 2. transformers indexes mrope_section unconditionally, so it is required.
 */
function parseMrope(
  c: ConfigReader,
  headDim: number,
): { scaling: RopeScaling; mropeSection: [number, number, number] } {
  const key = ['rope_scaling', 'rope_parameters'].find((k) => c.has(k));
  const half = headDim / 2;
  const expected = `three non-negative integers (temporal, height, width) summing to head_dim / 2 = ${half} (head_dim = hidden_size / num_attention_heads = ${headDim})`;
  if (key === undefined) {
    throw new ModelFormatError(
      'BAD_CONFIG',
      `${c.path}.rope_scaling must be present with mrope_section: M-RoPE needs ${expected}`,
    );
  }
  const s = c.child(key);
  const section = s.raw('mrope_section');
  const valid =
    Array.isArray(section) &&
    section.length === 3 &&
    section.every((v) => Number.isSafeInteger(v) && (v as number) >= 0);
  if (!valid) s.fail('mrope_section', expected);
  const sum = (section as number[]).reduce((a, b) => a + b, 0);
  if (sum !== half) s.fail('mrope_section', `${expected}; its sum is ${sum}`);
  const typeKey = s.has('rope_type') ? 'rope_type' : 'type';
  // "mrope" is plain RoPE per stream; the shared parser then reads the rest (and partial_rotary_factor).
  const plain =
    s.string(typeKey, 'default') === 'mrope'
      ? new ConfigReader(
          {
            partial_rotary_factor: c.raw('partial_rotary_factor'),
            [key]: { ...(c.raw(key) as object), [typeKey]: 'default' },
          },
          c.path,
        )
      : c;
  const scaling = parseRopeScaling(plain);
  return { scaling, mropeSection: section as [number, number, number] };
}

/**
 * M-RoPE cos/sin tables [rows, headDim]: each stream's ordinary table (blocks/ropeTables.ts, float32
 * like transformers), then frequency i of both halves taken from the stream whose mrope_section chunk
 * holds i. One stream means text rows, where all three streams are equal.
 */
export function mropeTables(
  streams: RotaryPositions,
  inverse: Float32Array,
  section: readonly number[],
): { cos: Float32Array; sin: Float32Array } {
  if (streams.length === 1) return ropeTables(streams[0], inverse);
  if (streams.length !== 3 || streams.some((s) => s.length !== streams[0].length)) {
    throw new Error(
      `M-RoPE needs one stream or three of equal length, got lengths ${streams.map((s) => s.length).join(', ')}`,
    );
  }
  const tables = streams.map((s) => ropeTables(s, inverse));
  const half = inverse.length;
  const headDim = 2 * half;
  const streamOf = new Uint8Array(half);
  let at = 0;
  section.forEach((size, s) => streamOf.fill(s, at, (at += size)));
  const rows = streams[0].length;
  const cos = new Float32Array(rows * headDim);
  const sin = new Float32Array(rows * headDim);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < headDim; j++) {
      const from = tables[streamOf[j % half]];
      cos[r * headDim + j] = from.cos[r * headDim + j];
      sin[r * headDim + j] = from.sin[r * headDim + j];
    }
  }
  return { cos, sin };
}

/** The text model's inverse frequencies (rope_theta and any scaling). */
export function qwen2InverseFrequencies(cfg: Qwen2TextConfig): Float32Array {
  return inverseFrequencies(cfg.headDim, cfg.ropeTheta, cfg.ropeScaling);
}
