/**
 * InstructBLIP's Q-Former (transformers' InstructBlipQFormerModel, a BERT encoder with interleaved
 * cross-attention), as InstructBlipForConditionalGeneration runs it for one image and instruction:
 *
 *   embeddings: [query_tokens ; word(ids) + position(0..Tq-1)] ──LayerNorm──▶ h [1, Q + Tq, Dq]
 *   layer l:    a = LN(h + dense(selfattn(h)))                  over queries and instruction together
 *               queries: c = LN(a[:Q] + dense(crossattn(a[:Q], image_embeds)))   if l % freq == 0
 *                        h[:Q] = LN(c + output_query(act(intermediate_query(c))))
 *               text:    h[Q:] = LN(a[Q:] + output(act(intermediate(a[Q:]))))
 *   output:     h[:Q] after the last layer (the query output; the text rows are dropped)
 *
 * BERT's post-LN residuals, attention scaled by 1/√d with no mask (one unpadded sequence, and the
 * image is never padded). Positions count from 0 over the instruction only; the queries have none.
 */
import { activation, assertActivation } from '../blocks/activations.ts';
import { mergeHeads, scaledDotProductAttention, splitHeads } from '../blocks/attention.ts';
import { embeddingLookup, linear } from '../blocks/linear.ts';
import { layerNorm } from '../blocks/norms.ts';
import type { ConfigReader } from '../config/fields.ts';
import { ModelFormatError } from '../errors.ts';
import type { GraphBuilder } from '../onnx/builder.ts';

export interface QFormerConfig {
  readonly hiddenSize: number;
  readonly layers: number;
  readonly heads: number;
  readonly intermediateSize: number;
  readonly hiddenAct: string;
  readonly layerNormEps: number;
  readonly maxPositionEmbeddings: number;
  readonly vocabSize: number;
  readonly crossAttentionFrequency: number;
  /** Width of the image embeddings the cross-attention keys and values read. */
  readonly encoderHiddenSize: number;
}

const QFORMER_TYPES = ['instructblip_qformer'];

/**
 * Reads qformer_config with InstructBlipQFormerConfig's defaults. `visionHiddenSize` is the
 * encoder width: InstructBlipConfig overwrites qformer_config.encoder_hidden_size with
 * vision_config.hidden_size, so a stale value in the file is ignored exactly as transformers ignores it.
 */
export function parseQFormerConfig(c: ConfigReader, visionHiddenSize: number): QFormerConfig {
  const modelType = c.string('model_type', QFORMER_TYPES[0]);
  if (!QFORMER_TYPES.includes(modelType)) {
    throw new ModelFormatError(
      'UNSUPPORTED_MODEL',
      `${c.path}.model_type "${modelType}" is not a supported Q-Former (supported: ${QFORMER_TYPES.join(', ')})`,
    );
  }
  const positionType = c.string('position_embedding_type', 'absolute');
  if (positionType !== 'absolute') {
    throw new ModelFormatError(
      'UNSUPPORTED_MODEL',
      `${c.path}.position_embedding_type "${positionType}" is not supported (supported: absolute)`,
    );
  }
  const hiddenSize = c.int('hidden_size', 768);
  const heads = c.int('num_attention_heads', 12);
  if (hiddenSize % heads !== 0) c.fail('num_attention_heads', `a divisor of hidden_size (${hiddenSize})`);
  const hiddenAct = c.string('hidden_act', 'gelu');
  assertActivation(hiddenAct, `${c.path}.hidden_act`);
  return {
    hiddenSize,
    layers: c.int('num_hidden_layers', 12, { max: 1024 }),
    heads,
    intermediateSize: c.int('intermediate_size', 3072),
    hiddenAct,
    layerNormEps: c.number('layer_norm_eps', 1e-12),
    maxPositionEmbeddings: c.int('max_position_embeddings', 512),
    vocabSize: c.int('vocab_size', 30522),
    crossAttentionFrequency: c.int('cross_attention_frequency', 2),
    encoderHiddenSize: visionHiddenSize,
  };
}

/** The layers with cross-attention (InstructBlipQFormerLayer: layer_idx % cross_attention_frequency == 0). */
export function crossAttentionLayers(cfg: QFormerConfig): number[] {
  return Array.from({ length: cfg.layers }, (_, l) => l).filter((l) => l % cfg.crossAttentionFrequency === 0);
}

/**
 * Tensors a Q-Former checkpoint carries that the query output never depends on: the position_ids
 * buffer, and the last layer's text feed-forward (its rows are dropped after the last layer).
 */
export function isQFormerUnusedByDesign(name: string, cfg: QFormerConfig, prefix: string): boolean {
  if (name === `${prefix}.embeddings.position_ids`) return true;
  const last = `${prefix}.encoder.layer.${cfg.layers - 1}.`;
  return name.startsWith(`${last}intermediate.`) || name.startsWith(`${last}output.`);
}

export interface QFormerOutputs {
  /** The query rows of the last hidden state [1, Q, Dq]. */
  readonly queryOutput: string;
  /** Each cross-attention layer's probabilities [1, Hq, Q, imageTokens], in layer order. */
  readonly crossAttention: readonly string[];
}

/**
 * The Q-Former over `queryTokens` [1, Q, Dq], the instruction `ids` [1, Tq] (int64) and the image
 * embeddings [1, N, encoderHiddenSize]. The last layer's text feed-forward is not built (see
 * isQFormerUnusedByDesign).
 */
export function qformerQueryOutput(
  g: GraphBuilder,
  cfg: QFormerConfig,
  prefix: string,
  queryTokens: string,
  queryCount: number,
  ids: string,
  imageEmbeds: string,
): QFormerOutputs {
  const Dq = cfg.hiddenSize;
  const crossLayers = new Set(crossAttentionLayers(cfg));
  const crossAttention: string[] = [];
  const splitAt = (x: string, start: number, end: number) =>
    g.op('Slice', [x, g.constInt64([start]), g.constInt64([end]), g.constInt64([1])]);
  return g.scope('qformer', () => {
    let h = g.scope('embeddings', () => {
      const words = embeddingLookup(
        g,
        `${prefix}.embeddings.word_embeddings.weight`,
        [cfg.vocabSize, Dq],
        ids,
      );
      // position_ids[:, :Tq]: rows 0..Tq-1 of the table, Tq read off the ids at run time.
      const length = g.op('Slice', [
        g.op('Shape', [ids]),
        g.constInt64([1]),
        g.constInt64([2]),
        g.constInt64([0]),
      ]);
      const table = g.weight(`${prefix}.embeddings.position_embeddings.weight`, [
        cfg.maxPositionEmbeddings,
        Dq,
      ]);
      const positions = g.op('Slice', [table, g.constInt64([0]), length, g.constInt64([0])]);
      const text = g.op('Add', [words, positions]);
      const joined = g.op('Concat', [queryTokens, text], { axis: 1 });
      return layerNorm(g, joined, `${prefix}.embeddings.layernorm`, Dq, cfg.layerNormEps, 'layernorm');
    });
    for (let l = 0; l < cfg.layers; l++) {
      const p = `${prefix}.encoder.layer.${l}`;
      const last = l === cfg.layers - 1;
      h = g.scope(`layer.${l}`, () => {
        const attended = attentionBlock(g, cfg, `${p}.attention`, h, h, Dq, 'attention').output;
        let queries = splitAt(attended, 0, queryCount);
        if (crossLayers.has(l)) {
          const cross = attentionBlock(
            g,
            cfg,
            `${p}.crossattention`,
            queries,
            imageEmbeds,
            cfg.encoderHiddenSize,
            'crossattention',
          );
          crossAttention.push(cross.probs);
          queries = cross.output;
        }
        const queryOut = feedForward(g, cfg, p, '_query', queries);
        if (last) return queryOut;
        const textOut = feedForward(g, cfg, p, '', splitAt(attended, queryCount, Number.MAX_SAFE_INTEGER));
        return g.op('Concat', [queryOut, textOut], { axis: 1 });
      });
    }
    return { queryOutput: h, crossAttention };
  });
}

/**
 * InstructBlipQFormerAttention: LN(x + dense(softmax(q(x)·k(y)ᵀ/√d)·v(y))), keys and values from `y`
 * (x itself for self-attention, the image embeddings for cross-attention).
 */
function attentionBlock(
  g: GraphBuilder,
  cfg: QFormerConfig,
  p: string,
  x: string,
  y: string,
  yWidth: number,
  label: string,
): { output: string; probs: string } {
  const D = cfg.hiddenSize;
  const d = D / cfg.heads;
  return g.scope(label, () => {
    const heads = (input: string, name: string, width: number) =>
      splitHeads(g, linear(g, input, `${p}.attention.${name}`, width, D, true, name), cfg.heads, d);
    const { output, probs } = scaledDotProductAttention(
      g,
      heads(x, 'query', D),
      heads(y, 'key', yWidth),
      heads(y, 'value', yWidth),
      1 / Math.sqrt(d),
    );
    const dense = linear(g, mergeHeads(g, output, D), `${p}.output.dense`, D, D, true, 'dense');
    const residual = g.op('Add', [dense, x], undefined, 'residual');
    return {
      output: layerNorm(g, residual, `${p}.output.LayerNorm`, D, cfg.layerNormEps, 'LayerNorm'),
      probs,
    };
  });
}

/** intermediate{path} → act → output{path}.dense, then LN(· + x): BERT's feed-forward for one path. */
function feedForward(g: GraphBuilder, cfg: QFormerConfig, p: string, path: '' | '_query', x: string): string {
  const D = cfg.hiddenSize;
  return g.scope(`ffn${path}`, () => {
    const inner = linear(
      g,
      x,
      `${p}.intermediate${path}.dense`,
      D,
      cfg.intermediateSize,
      true,
      `intermediate${path}`,
    );
    const out = linear(
      g,
      activation(g, inner, cfg.hiddenAct),
      `${p}.output${path}.dense`,
      cfg.intermediateSize,
      D,
      true,
      `output${path}`,
    );
    const residual = g.op('Add', [out, x], undefined, 'residual');
    return layerNorm(g, residual, `${p}.output${path}.LayerNorm`, D, cfg.layerNormEps, 'LayerNorm');
  });
}
