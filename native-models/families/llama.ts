/**
 * LLaMA-style language models (LLaMA, Vicuna, Mistral): config with transformers' defaults, and the
 * embed / decoder-layer / head graphs of the shared contract (architectures/contract.ts).
 */
import { assertActivation } from '../blocks/activations.ts';
import {
  applyRope,
  mergeHeads,
  repeatKv,
  scaledDotProductAttention,
  splitHeads,
} from '../blocks/attention.ts';
import { embeddingLookup, linear, vocabProjection } from '../blocks/linear.ts';
import { rmsNorm } from '../blocks/norms.ts';
import { gatedMlp, preNormBlock } from '../blocks/transformerBlock.ts';
import type { RopeScaling } from '../blocks/ropeTables.ts';
import {
  describeRopeScaling,
  inverseFrequencies,
  parseRopeScaling,
  parseRopeTheta,
  ropeTables,
} from '../blocks/ropeTables.ts';
import {
  EMBED_IO,
  HEAD_IO,
  LAYER_IO,
  type DecoderShape,
  type ModelGraphs,
} from '../architectures/contract.ts';
import type { ModelSpec } from '../architectures/types.ts';
import { ModelFormatError } from '../errors.ts';
import { GraphBuilder, type BuiltGraph } from '../onnx/builder.ts';
import { TensorDataType } from '../onnx/encode.ts';
import type { ConfigReader } from '../config/fields.ts';

export interface LlamaTextConfig extends DecoderShape {
  readonly modelType: 'llama' | 'mistral' | 'qwen2';
  readonly intermediateSize: number;
  readonly hiddenAct: string;
  readonly rmsNormEps: number;
  readonly ropeTheta: number;
  readonly ropeScaling: RopeScaling;
  readonly attentionBias: boolean;
  /** q/k/v carry biases even without attention_bias (Qwen2: its o_proj has none). */
  readonly qkvBias?: boolean;
  readonly mlpBias: boolean;
  readonly tieWordEmbeddings: boolean;
  readonly maxPositionEmbeddings: number;
  /** Mistral's sliding window (undefined = full attention). */
  readonly slidingWindow: number | undefined;
}

/** transformers' LlamaConfig / MistralConfig defaults, used for absent fields. */
const DEFAULTS = {
  llama: { intermediate: 11008, kvHeads: undefined, maxPos: 2048, slidingWindow: undefined },
  mistral: { intermediate: 14336, kvHeads: 8, maxPos: 4096 * 32, slidingWindow: 4096 },
} as const;

/** Aliases seen in llava configs' text_config.model_type. */
const TEXT_MODEL_TYPES: Record<string, 'llama' | 'mistral'> = {
  llama: 'llama',
  vicuna: 'llama',
  mistral: 'mistral',
};

export function parseLlamaTextConfig(c: ConfigReader): LlamaTextConfig {
  const declared = c.string('model_type', 'llama');
  const modelType = TEXT_MODEL_TYPES[declared];
  if (!modelType) {
    throw new ModelFormatError(
      'UNSUPPORTED_MODEL',
      `${c.path}.model_type "${declared}" is not a supported language model (supported: ${Object.keys(TEXT_MODEL_TYPES).join(', ')})`,
    );
  }
  const d = DEFAULTS[modelType];
  const hiddenSize = c.int('hidden_size', 4096);
  const heads = c.int('num_attention_heads', 32);
  // An explicit null means "same as attention heads" in both LlamaConfig and MistralConfig.
  const kvHeads =
    c.raw('num_key_value_heads') === null ? heads : c.int('num_key_value_heads', d.kvHeads ?? heads);
  if (heads % kvHeads !== 0) c.fail('num_key_value_heads', `a divisor of num_attention_heads (${heads})`);
  const headDim = c.int('head_dim', Math.floor(hiddenSize / heads));
  if (!c.has('head_dim') && hiddenSize % heads !== 0) {
    c.fail('num_attention_heads', `a divisor of hidden_size (${hiddenSize})`);
  }
  if (headDim % 2 !== 0) c.fail('head_dim', 'even (rotary embedding rotates pairs)');
  const hiddenAct = c.string('hidden_act', 'silu');
  assertActivation(hiddenAct, `${c.path}.hidden_act`);
  // transformers' Llama ignores sliding_window; Mistral honours it, and an explicit null disables it.
  const slidingWindow =
    modelType !== 'mistral' || c.raw('sliding_window') === null
      ? undefined
      : c.int('sliding_window', d.slidingWindow ?? 4096);
  return {
    modelType,
    layers: c.int('num_hidden_layers', 32, { max: 1024 }),
    hiddenSize,
    heads,
    kvHeads,
    headDim,
    vocabSize: c.int('vocab_size', 32000),
    intermediateSize: c.int('intermediate_size', d.intermediate),
    hiddenAct,
    rmsNormEps: c.number('rms_norm_eps', 1e-6),
    ropeTheta: parseRopeTheta(c),
    ropeScaling: parseRopeScaling(c),
    attentionBias: c.bool('attention_bias', false),
    mlpBias: c.bool('mlp_bias', false),
    tieWordEmbeddings: c.bool('tie_word_embeddings', false),
    maxPositionEmbeddings: c.int('max_position_embeddings', d.maxPos),
    slidingWindow,
  };
}

/** Where the text model's tensors live in a checkpoint (differs between hub layouts). */
export interface TextWeightNames {
  /** Prefix of embed_tokens / layers / norm, e.g. "language_model.model" or "model.language_model". */
  readonly base: string;
  readonly lmHead: string;
}

/**
 * One decoder layer (transformers' LlamaDecoderLayer), with the contract's cache and read-out I/O:
 *
 *   h ──RMSNorm──q/k/v──RoPE(q,k)──Concat(past)──▶ present
 *                        └──attention(bias)──o_proj──Add(h)──RMSNorm──SwiGLU──Add──▶ h'
 *                                   └──Gather(readout_rows)──▶ attention_probs
 */
export function buildLlamaDecoderLayer(
  cfg: LlamaTextConfig,
  names: TextWeightNames,
  layer: number,
): BuiltGraph {
  const { hiddenSize: D, heads: H, kvHeads: Hkv, headDim: d } = cfg;
  const g = new GraphBuilder(`decoder_layer_${layer}`);
  const F = TensorDataType.FLOAT;
  const hidden = g.input(LAYER_IO.hidden, F, [1, 'T', D]);
  const cos = g.input(LAYER_IO.ropeCos, F, ['T', d]);
  const sin = g.input(LAYER_IO.ropeSin, F, ['T', d]);
  const pastKey = g.input(LAYER_IO.pastKey, F, [1, Hkv, 'P', d]);
  const pastValue = g.input(LAYER_IO.pastValue, F, [1, Hkv, 'P', d]);
  // B = 1 (one bias for every head) or H (per head: a knockout of chosen heads only).
  const bias = g.input(LAYER_IO.bias, F, [1, 'B', 'T', 'S']);
  const rows = g.input(LAYER_IO.readoutRows, TensorDataType.INT64, ['R']);
  const p = `${names.base}.layers.${layer}`;
  const qkvBias = cfg.qkvBias === true;

  const norm = (x: string, name: string) => rmsNorm(g, x, `${p}.${name}.weight`, D, cfg.rmsNormEps, name);

  const attention = (normed: string) =>
    g.scope('attn', () => {
      const cos4d = g.op('Unsqueeze', [cos, g.constInt64([0, 1])]);
      const sin4d = g.op('Unsqueeze', [sin, g.constInt64([0, 1])]);
      const project = (name: string, heads: number) =>
        splitHeads(
          g,
          linear(g, normed, `${p}.self_attn.${name}`, D, heads * d, cfg.attentionBias || qkvBias, name),
          heads,
          d,
        );
      const q = applyRope(g, project('q_proj', H), cos4d, sin4d, d);
      const k = applyRope(g, project('k_proj', Hkv), cos4d, sin4d, d);
      const v = project('v_proj', Hkv);
      const keys = g.op('Concat', [pastKey, k], { axis: 2 }, 'cache_keys');
      const values = g.op('Concat', [pastValue, v], { axis: 2 }, 'cache_values');
      g.output(keys, LAYER_IO.presentKey, F, [1, Hkv, 'S', d]);
      g.output(values, LAYER_IO.presentValue, F, [1, Hkv, 'S', d]);
      const groups = H / Hkv;
      const { output, probs } = scaledDotProductAttention(
        g,
        q,
        repeatKv(g, keys, Hkv, groups, d),
        repeatKv(g, values, Hkv, groups, d),
        1 / Math.sqrt(d),
        bias,
      );
      g.output(g.op('Gather', [probs, rows], { axis: 2 }, 'readout'), LAYER_IO.probs, F, [1, H, 'R', 'S']);
      return linear(
        g,
        mergeHeads(g, output, H * d),
        `${p}.self_attn.o_proj`,
        H * d,
        D,
        cfg.attentionBias,
        'o_proj',
      );
    });

  g.scope(`layers.${layer}`, () => {
    const out = preNormBlock(g, hidden, {
      norm1: (x) => norm(x, 'input_layernorm'),
      attention,
      norm2: (x) => norm(x, 'post_attention_layernorm'),
      mlp: (x) => gatedMlp(g, x, `${p}.mlp`, D, cfg.intermediateSize, cfg.hiddenAct, cfg.mlpBias),
    });
    g.output(out, LAYER_IO.hiddenOut, F, [1, 'T', D]);
  });
  return g.build();
}

/** input_ids → inputs_embeds (a Gather from embed_tokens). */
export function buildLlamaEmbed(cfg: LlamaTextConfig, names: TextWeightNames): BuiltGraph {
  const g = new GraphBuilder('embed');
  const ids = g.input(EMBED_IO.ids, TensorDataType.INT64, [1, 'T']);
  const embeds = g.scope('embed_tokens', () =>
    embeddingLookup(g, `${names.base}.embed_tokens.weight`, [cfg.vocabSize, cfg.hiddenSize], ids),
  );
  g.output(embeds, EMBED_IO.embeds, TensorDataType.FLOAT, [1, 'T', cfg.hiddenSize]);
  return g.build();
}

/** Final RMSNorm + lm_head (tied to embed_tokens when tie_word_embeddings). */
export function buildLlamaHead(cfg: LlamaTextConfig, names: TextWeightNames): BuiltGraph {
  const g = new GraphBuilder('head');
  const hidden = g.input(HEAD_IO.hidden, TensorDataType.FLOAT, [1, 'R', cfg.hiddenSize]);
  const normed = rmsNorm(g, hidden, `${names.base}.norm.weight`, cfg.hiddenSize, cfg.rmsNormEps, 'norm');
  const table = cfg.tieWordEmbeddings ? `${names.base}.embed_tokens.weight` : names.lmHead;
  const logits = g.scope('lm_head', () => vocabProjection(g, normed, table, cfg.hiddenSize, cfg.vocabSize));
  g.output(logits, HEAD_IO.logits, TensorDataType.FLOAT, [1, 'R', cfg.vocabSize]);
  return g.build();
}

/**
 * A model whose language side is this file's decoder: `vision` plus embed, every layer and head, with
 * the checkpoint tensors none of them reads (and `unusedByDesign` does not excuse) as unexpected.
 */
export function withLlamaDecoder(
  vision: BuiltGraph,
  cfg: LlamaTextConfig,
  names: TextWeightNames,
  checkpointNames: readonly string[],
  unusedByDesign: (name: string) => boolean,
): { graphs: ModelGraphs; unexpectedTensors: string[] } {
  const graphs: ModelGraphs = {
    vision,
    embed: buildLlamaEmbed(cfg, names),
    layers: Array.from({ length: cfg.layers }, (_, l) => buildLlamaDecoderLayer(cfg, names, l)),
    head: buildLlamaHead(cfg, names),
  };
  const read = new Set<string>();
  for (const graph of [graphs.vision, graphs.embed, ...graphs.layers, graphs.head]) {
    for (const w of graph.weights) read.add(w.source);
  }
  const unexpectedTensors = checkpointNames.filter((n) => !read.has(n) && !unusedByDesign(n));
  return { graphs, unexpectedTensors };
}

/**
 * The ModelSpec fields of a model whose language side is this file's decoder with 1-D RoPE over
 * sequential positions (LLaVA, InstructBLIP): the decoder, its sliding window and rotary tables.
 */
export function llamaDecoderSpec(
  cfg: LlamaTextConfig,
): Pick<ModelSpec, 'decoder' | 'positionScheme' | 'maxPositions' | 'slidingWindow' | 'ropeTables'> {
  const inverse = inverseFrequencies(cfg.headDim, cfg.ropeTheta, cfg.ropeScaling);
  return {
    decoder: cfg,
    positionScheme: 'sequential',
    maxPositions: cfg.maxPositionEmbeddings,
    slidingWindow: cfg.slidingWindow,
    ropeTables: (streams) => ropeTables(streams[0], inverse),
  };
}

/** The summary lines that describe this file's decoder, in the order model views list them. */
export function llamaDecoderSummary(cfg: LlamaTextConfig): Record<string, string | number> {
  return {
    textModel: cfg.modelType,
    decoderLayers: cfg.layers,
    hiddenSize: cfg.hiddenSize,
    attentionHeads: cfg.heads,
    keyValueHeads: cfg.kvHeads,
    vocabSize: cfg.vocabSize,
    ropeTheta: cfg.ropeTheta,
    ropeScaling: describeRopeScaling(cfg.ropeScaling),
    slidingWindow: cfg.slidingWindow ?? 'none',
  };
}
