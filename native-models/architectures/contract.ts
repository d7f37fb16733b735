/**
 * The I/O contract between the graphs native-models builds and the engine that runs them. Every
 * family produces the same four kinds of graph, so the engine's instrumentation (interventions between
 * layers, attention read-outs, KV reuse) is written once.
 *
 *   vision:  pixel_values [B, 3, H, W]                    → image_features [B, N, D]
 *            (any-resolution families: pixel_values [P, 3, S, S] (base + tiles) and
 *             image_token_index [N] (int64)                → image_features [1, N, D])
 *            (Qwen2-VL / 2.5-VL: pixel_values [N, C·T·P·P] (flattened patches), vision_rope_cos/sin
 *             [N, dv] and for 2.5 the window inputs     → image_features [1, N / merge², D])
 *            (InstructBLIP: pixel_values [1, 3, S, S], qformer_input_ids [1, Tq] (int64)
 *                                                      → image_features [1, Q, D],
 *                                                        qformer_cross_attention [C, Hq, Q, 1 + patches])
 *   embed:   input_ids [1, T] (int64)                     → inputs_embeds [1, T, D]
 *   layer l: hidden_states [1, T, D], rope_cos/rope_sin [T, d],
 *            past_key/past_value [1, Hkv, P, d], attention_bias [1, 1 or H, T, P+T],
 *            readout_rows [R] (int64)                     → hidden_states_out [1, T, D],
 *                                                           present_key/present_value [1, Hkv, P+T, d],
 *                                                           attention_probs [1, H, R, P+T]
 *   head:    hidden_states [1, R, D]                      → logits [1, R, V]
 *
 * The decoder is one graph per layer so the engine can start at any layer, edit the residual stream
 * between layers and reuse cached keys/values: the basis of the cheap layer-wise masking sweep.
 */
import type { BuiltGraph } from '../onnx/builder.ts';

export const LAYER_IO = {
  hidden: 'hidden_states',
  ropeCos: 'rope_cos',
  ropeSin: 'rope_sin',
  pastKey: 'past_key',
  pastValue: 'past_value',
  bias: 'attention_bias',
  readoutRows: 'readout_rows',
  hiddenOut: 'hidden_states_out',
  presentKey: 'present_key',
  presentValue: 'present_value',
  probs: 'attention_probs',
} as const;

export const VISION_IO = {
  pixels: 'pixel_values',
  features: 'image_features',
  /** Any-resolution graphs only: row of [patch features…, image_newline] for each image token. */
  tokenIndex: 'image_token_index',
  /** Qwen: the vision tower's 2-D rotary tables [N, dv], in the order the tower sees the patches. */
  ropeCos: 'vision_rope_cos',
  ropeSin: 'vision_rope_sin',
  /** Qwen2.5-VL: merged-token order into windows [N / merge²], its inverse, the window mask [1, 1, N, N]. */
  windowIndex: 'vision_window_index',
  windowRestore: 'vision_window_restore',
  windowBias: 'vision_window_bias',
  /** InstructBLIP: the instruction through the Q-Former's tokenizer [1, Tq]. */
  qformerIds: 'qformer_input_ids',
  /** InstructBLIP: each cross-attention layer's probabilities [C, Hq, Q, 1 + patches] (CLS first). */
  qformerCrossAttention: 'qformer_cross_attention',
} as const;
export const EMBED_IO = { ids: 'input_ids', embeds: 'inputs_embeds' } as const;
export const HEAD_IO = { hidden: 'hidden_states', logits: 'logits' } as const;

/** Shape facts the engine needs to drive the decoder graphs. */
export interface DecoderShape {
  readonly layers: number;
  readonly hiddenSize: number;
  readonly heads: number;
  readonly kvHeads: number;
  readonly headDim: number;
  readonly vocabSize: number;
}

export interface ModelGraphs {
  readonly vision: BuiltGraph;
  readonly embed: BuiltGraph;
  readonly layers: readonly BuiltGraph[];
  readonly head: BuiltGraph;
}
