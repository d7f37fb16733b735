/**
 * A plain float64 InstructBLIP forward pass (transformers' InstructBlipForConditionalGeneration with a
 * LLaMA language model), the test oracle for the InstructBLIP graphs. Written from transformers'
 * semantics (modeling_instructblip.py, image_processing_blip.py), sharing only the generic float64
 * blocks (math.ts) and the LLaMA decoder (decoder.ts) with the LLaVA reference:
 *
 *   BlipImageProcessor: RGB → resize to size (height, width) → ·rescale_factor → (x − mean) / std, CHW
 *   vision:  x₀ = [class_embedding; conv_p(pixels) + bias] + position_embedding (no pre-norm)
 *            xₗ = xₗ₋₁ + projection(attn(ln1(xₗ₋₁)))  with q,k,v = split(qkv(·)) (fused, biased)
 *            xₗ ← xₗ + fc2(act(fc1(ln2(xₗ))));   image_embeds = post_layernorm(x_L)   (CLS kept)
 *   Q-Former: e = layernorm([query_tokens; word_embeddings(ids) + position_embeddings(0 … T−1)])
 *            layer l: a = LN(dense(selfattn(e)) + e)                       (queries and text together)
 *                     queries: if l % cross_attention_frequency = 0:
 *                                 a_q ← LN(dense(crossattn(a_q, image_embeds)) + a_q)
 *                              e_q = LN(output_query(act(intermediate_query(a_q))) + a_q)
 *                     text:    e_t = LN(output(act(intermediate(a_t))) + a_t)
 *            features = language_projection(e_q after the last layer)
 *   LLaMA:   the features replace the image-token rows (the processor puts them before BOS) and the
 *            decoder runs as in decoder.ts, with FusionScope's interventions on those rows.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { ModelFormatError } from '../errors.ts';
import { WeightStore } from '../safetensors/read.ts';
import { Fields, badConfig, object, parseText, type TextConfig, type VisionConfig } from './config.ts';
import { checkTokenIds, decoderForward, embed, greedyDecode, type DecoderWeights } from './decoder.ts';
import {
  Loader,
  imageSpan,
  resolveInterventions,
  type ReferenceIntervention,
  type ReferenceOutput,
} from './llava.ts';
import { activation, add, dot, layerNorm, linear, row, softmax, type Matrix, type Vector } from './math.ts';
import type { Linear, Norm } from './vision.ts';

/** CLIP's vision sizes without num_channels (InstructBlipVisionConfig reads RGB only). */
export type BlipVisionConfig = Omit<VisionConfig, 'numChannels'>;

export interface QFormerConfig {
  vocabSize: number;
  hiddenSize: number;
  layers: number;
  heads: number;
  headDim: number;
  intermediateSize: number;
  hiddenAct: string;
  layerNormEps: number;
  maxPositionEmbeddings: number;
  crossAttentionFrequency: number;
}

export interface InstructBlipConfig {
  vision: BlipVisionConfig;
  qformer: QFormerConfig;
  text: TextConfig;
  queries: number;
  /**
   * Absent in checkpoints converted before transformers placed the queries by token: the query rows
   * are then concatenated in front of the text's embeddings (the legacy forward), and `inputIds` hold
   * only the text.
   */
  imageTokenIndex: number | null;
}

type Json = Record<string, unknown>;

/** InstructBlipConfig with its sub-configs' class defaults for absent fields. */
export function parseInstructBlipConfig(raw: unknown): InstructBlipConfig {
  const json = object(raw, 'the document');
  if (json.model_type !== 'instructblip') {
    throw new ModelFormatError(
      'UNSUPPORTED_MODEL',
      `config.json: model_type ${JSON.stringify(json.model_type)} is not "instructblip"`,
    );
  }
  const v = new Fields(object(json.vision_config ?? {}, 'vision_config'), 'vision_config.');
  const vHidden = v.int('hidden_size', 1408);
  const vHeads = v.int('num_attention_heads', 16);
  const imageSize = v.int('image_size', 224);
  const patchSize = v.int('patch_size', 14);
  if (vHidden % vHeads !== 0) throw badConfig('vision_config.hidden_size must be a multiple of its heads');
  if (imageSize % patchSize !== 0)
    throw badConfig('vision_config.image_size must be a multiple of patch_size');
  if (!v.bool('qkv_bias', true)) {
    throw new ModelFormatError(
      'UNSUPPORTED_MODEL',
      'config.json: vision_config.qkv_bias false is not covered',
    );
  }
  const qJson = object(json.qformer_config ?? {}, 'qformer_config') as Json;
  const q = new Fields(qJson, 'qformer_config.');
  const qHidden = q.int('hidden_size', 768);
  const qHeads = q.int('num_attention_heads', 12);
  if (qHidden % qHeads !== 0) throw badConfig('qformer_config.hidden_size must be a multiple of its heads');
  const positionType = qJson.position_embedding_type ?? 'absolute';
  if (positionType !== 'absolute') {
    throw new ModelFormatError(
      'UNSUPPORTED_MODEL',
      `config.json: qformer_config.position_embedding_type ${JSON.stringify(positionType)} is not "absolute"`,
    );
  }
  const textJson = json.text_config as Json | undefined;
  if (textJson?.model_type !== 'llama') {
    throw new ModelFormatError('UNSUPPORTED_MODEL', 'config.json: text_config.model_type must be "llama"');
  }
  const f = new Fields(json, '');
  const tokenKey = json.image_token_index !== undefined ? 'image_token_index' : 'image_token_id';
  const tokenId = json[tokenKey];
  return {
    vision: {
      hiddenSize: vHidden,
      intermediateSize: v.int('intermediate_size', 6144),
      layers: v.int('num_hidden_layers', 39),
      heads: vHeads,
      headDim: vHidden / vHeads,
      imageSize,
      patchSize,
      hiddenAct: v.activation('hidden_act', 'gelu'),
      layerNormEps: v.positive('layer_norm_eps', 1e-6),
    },
    qformer: {
      vocabSize: q.int('vocab_size', 30522),
      hiddenSize: qHidden,
      layers: q.int('num_hidden_layers', 12),
      heads: qHeads,
      headDim: qHidden / qHeads,
      intermediateSize: q.int('intermediate_size', 3072),
      hiddenAct: q.activation('hidden_act', 'gelu'),
      layerNormEps: q.positive('layer_norm_eps', 1e-12),
      maxPositionEmbeddings: q.int('max_position_embeddings', 512),
      crossAttentionFrequency: q.int('cross_attention_frequency', 2),
    },
    text: parseText(textJson),
    queries: f.int('num_query_tokens', 32),
    imageTokenIndex: tokenId === undefined || tokenId === null ? null : f.int(tokenKey, 0, 0),
  };
}

interface BlipLayerWeights {
  /** Fused [3h, h] and its [3h] bias. */
  qkv: Linear;
  projection: Linear;
  layerNorm1: Norm;
  layerNorm2: Norm;
  fc1: Linear;
  fc2: Linear;
}

interface AttentionWeights {
  query: Linear;
  key: Linear;
  value: Linear;
  dense: Linear;
  norm: Norm;
}

interface FeedForwardWeights {
  intermediate: Linear;
  output: Linear;
  norm: Norm;
}

interface QFormerLayerWeights {
  attention: AttentionWeights;
  crossAttention?: AttentionWeights;
  text: FeedForwardWeights;
  query: FeedForwardWeights;
}

export interface InstructBlipWeights {
  vision: {
    classEmbedding: Vector;
    /** [h, 3, p, p] */
    patchWeight: Float64Array;
    patchBias: Vector;
    /** [1 + patches, h] */
    position: Matrix;
    layers: BlipLayerWeights[];
    postLayerNorm: Norm;
  };
  queryTokens: Matrix;
  qformer: {
    wordEmbeddings: Matrix;
    positionEmbeddings: Matrix;
    layerNorm: Norm;
    layers: QFormerLayerWeights[];
  };
  projection: Linear;
  decoder: DecoderWeights;
}

async function loadWeights(store: WeightStore, config: InstructBlipConfig): Promise<InstructBlipWeights> {
  const load = new Loader(store);
  const { vision: vc, qformer: qc, text: tc } = config;
  const hv = vc.hiddenSize;
  const patches = (vc.imageSize / vc.patchSize) ** 2;
  const visionLayers: BlipLayerWeights[] = [];
  for (let i = 0; i < vc.layers; i++) {
    const p = `vision_model.encoder.layers.${i}.`;
    visionLayers.push({
      qkv: await load.linear(`${p}self_attn.qkv`, 3 * hv, hv, true),
      projection: await load.linear(`${p}self_attn.projection`, hv, hv, true),
      layerNorm1: await load.norm(`${p}layer_norm1`, hv),
      layerNorm2: await load.norm(`${p}layer_norm2`, hv),
      fc1: await load.linear(`${p}mlp.fc1`, vc.intermediateSize, hv, true),
      fc2: await load.linear(`${p}mlp.fc2`, hv, vc.intermediateSize, true),
    });
  }
  const hq = qc.hiddenSize;
  const attention = async (prefix: string, keyInput: number): Promise<AttentionWeights> => ({
    query: await load.linear(`${prefix}.attention.query`, hq, hq, true),
    key: await load.linear(`${prefix}.attention.key`, hq, keyInput, true),
    value: await load.linear(`${prefix}.attention.value`, hq, keyInput, true),
    dense: await load.linear(`${prefix}.output.dense`, hq, hq, true),
    norm: await load.norm(`${prefix}.output.LayerNorm`, hq),
  });
  const feedForward = async (p: string, path: string): Promise<FeedForwardWeights> => ({
    intermediate: await load.linear(`${p}intermediate${path}.dense`, qc.intermediateSize, hq, true),
    output: await load.linear(`${p}output${path}.dense`, hq, qc.intermediateSize, true),
    norm: await load.norm(`${p}output${path}.LayerNorm`, hq),
  });
  const qLayers: QFormerLayerWeights[] = [];
  for (let i = 0; i < qc.layers; i++) {
    const p = `qformer.encoder.layer.${i}.`;
    qLayers.push({
      attention: await attention(`${p}attention`, hq),
      crossAttention:
        i % qc.crossAttentionFrequency === 0 ? await attention(`${p}crossattention`, hv) : undefined,
      text: await feedForward(p, ''),
      query: await feedForward(p, '_query'),
    });
  }
  const ht = tc.hiddenSize;
  const layers = await load.decoderLayers('language_model.model.', tc, {
    qkv: tc.attentionBias,
    o: tc.attentionBias,
    mlp: tc.mlpBias,
  });
  const embedTokens = await load.matrix('language_model.model.embed_tokens.weight', tc.vocabSize, ht);
  return {
    vision: {
      classEmbedding: await load.tensor('vision_model.embeddings.class_embedding', [1, 1, hv]),
      patchWeight: await load.tensor('vision_model.embeddings.patch_embedding.weight', [
        hv,
        3,
        vc.patchSize,
        vc.patchSize,
      ]),
      patchBias: await load.tensor('vision_model.embeddings.patch_embedding.bias', [hv]),
      position: {
        rows: patches + 1,
        cols: hv,
        data: await load.tensor('vision_model.embeddings.position_embedding', [1, patches + 1, hv]),
      },
      layers: visionLayers,
      postLayerNorm: await load.norm('vision_model.post_layernorm', hv),
    },
    queryTokens: {
      rows: config.queries,
      cols: hq,
      data: await load.tensor('query_tokens', [1, config.queries, hq]),
    },
    qformer: {
      wordEmbeddings: await load.matrix('qformer.embeddings.word_embeddings.weight', qc.vocabSize, hq),
      positionEmbeddings: await load.matrix(
        'qformer.embeddings.position_embeddings.weight',
        qc.maxPositionEmbeddings,
        hq,
      ),
      layerNorm: await load.norm('qformer.embeddings.layernorm', hq),
      layers: qLayers,
    },
    projection: await load.linear('language_projection', ht, hq, true),
    decoder: {
      embedTokens,
      layers,
      norm: await load.tensor('language_model.model.norm.weight', [ht]),
      lmHead: tc.tieWordEmbeddings
        ? embedTokens
        : await load.matrix('language_model.lm_head.weight', tc.vocabSize, ht),
    },
  };
}

const apply = (x: Vector, l: Linear): Vector => linear(x, l.weight, l.bias);
const norm = (x: Vector, n: Norm, eps: number): Vector => layerNorm(x, n.weight, n.bias, eps);

/**
 * Unmasked multi-head attention of `queries` over `keys`/`values` rows (already projected), scaled by
 * head_dim^−0.5. Returns the mixed rows and, per head, each query's probabilities.
 */
function multiHead(
  q: Vector[],
  k: Vector[],
  v: Vector[],
  heads: number,
  headDim: number,
): { mixed: Vector[]; probs: Vector[][] } {
  const slice = (t: Vector, h: number) => t.subarray(h * headDim, (h + 1) * headDim);
  const probs: Vector[][] = Array.from({ length: heads }, () => []);
  const mixed = q.map((qi, i) => {
    const out = new Float64Array(heads * headDim);
    for (let h = 0; h < heads; h++) {
      const p = softmax(Float64Array.from(k, (kj) => dot(slice(qi, h), slice(kj, h)) / Math.sqrt(headDim)));
      probs[h][i] = p;
      for (let j = 0; j < v.length; j++) {
        const vj = slice(v[j], h);
        for (let d = 0; d < headDim; d++) out[h * headDim + d] += p[j] * vj[d];
      }
    }
    return out;
  });
  return { mixed, probs };
}

/** BlipImageProcessor's output for an image already at the processor's size (PIL resize is then a copy). */
export function blipPixelValues(
  image: { width: number; height: number; data: Uint8Array },
  processor: {
    size: { height: number; width: number };
    rescaleFactor: number;
    mean: number[];
    std: number[];
  },
): Float64Array {
  const { width, height, data } = image;
  if (width !== processor.size.width || height !== processor.size.height) {
    throw new RangeError(
      `the reference does not resample: give a ${processor.size.width}×${processor.size.height} image (got ${width}×${height})`,
    );
  }
  const out = new Float64Array(3 * width * height);
  for (let c = 0; c < 3; c++) {
    for (let i = 0; i < width * height; i++) {
      out[c * width * height + i] =
        (data[i * 3 + c] * processor.rescaleFactor - processor.mean[c]) / processor.std[c];
    }
  }
  return out;
}

/** preprocessor_config.json's BlipImageProcessor fields the reference needs (transformers' defaults). */
export async function readBlipProcessor(dir: string) {
  const json = JSON.parse(await readFile(join(dir, 'preprocessor_config.json'), 'utf8')) as Json;
  const size = (json.size ?? { height: 384, width: 384 }) as { height: number; width: number };
  return {
    size,
    rescaleFactor: (json.rescale_factor as number | undefined) ?? 1 / 255,
    mean: (json.image_mean as number[] | undefined) ?? [0.48145466, 0.4578275, 0.40821073],
    std: (json.image_std as number[] | undefined) ?? [0.26862954, 0.26130258, 0.27577711],
  };
}

export interface InstructBlipInput {
  /**
   * The language model's ids: the image token `queries` times, then the tokenized prompt (BOS first);
   * without image_token_index in the config, only the tokenized prompt.
   */
  inputIds: readonly number[];
  /** [3, S, S], normalized. */
  pixelValues: Float32Array | Float64Array;
  /** The prompt through the Q-Former's tokenizer ([CLS] … [SEP]). */
  qformerInputIds: readonly number[];
  interventions?: readonly ReferenceIntervention[];
  readoutRows?: readonly number[];
}

export interface InstructBlipOutput extends ReferenceOutput {
  /** [cross-attention layer][head][query] → probabilities over the 1 + patches image embeddings. */
  crossAttention: Float64Array[][][];
}

export interface QFormerResult {
  /** Projected query outputs, one per query token. */
  features: Float64Array[];
  crossAttention: Float64Array[][][];
}

export class ReferenceInstructBlip {
  private constructor(
    readonly config: InstructBlipConfig,
    readonly weights: InstructBlipWeights,
  ) {}

  static async load(dir: string): Promise<ReferenceInstructBlip> {
    const config = parseInstructBlipConfig(JSON.parse(await readFile(join(dir, 'config.json'), 'utf8')));
    const store = await WeightStore.open(dir);
    try {
      return new ReferenceInstructBlip(config, await loadWeights(store, config));
    } finally {
      await store.close();
    }
  }

  /** InstructBlipVisionModel's last_hidden_state (after post_layernorm), CLS first. */
  imageEmbeds(pixelValues: Float32Array | Float64Array): Vector[] {
    const { vision: vc } = this.config;
    const w = this.weights.vision;
    const { imageSize: size, patchSize: p, hiddenSize: hv, heads, headDim } = vc;
    if (pixelValues.length !== 3 * size * size) {
      throw new RangeError(`pixelValues has ${pixelValues.length} values; expected 3×${size}×${size}`);
    }
    const grid = size / p;
    const tokens: Vector[] = [Float64Array.from(w.classEmbedding)];
    for (let py = 0; py < grid; py++) {
      for (let px = 0; px < grid; px++) {
        const token = Float64Array.from(w.patchBias);
        for (let o = 0; o < hv; o++) {
          for (let c = 0; c < 3; c++) {
            for (let ky = 0; ky < p; ky++) {
              for (let kx = 0; kx < p; kx++) {
                token[o] +=
                  w.patchWeight[((o * 3 + c) * p + ky) * p + kx] *
                  pixelValues[(c * size + py * p + ky) * size + px * p + kx];
              }
            }
          }
        }
        tokens.push(token);
      }
    }
    let x = tokens.map((t, i) => add(t, row(w.position, i)));
    const eps = vc.layerNormEps;
    const act = activation(vc.hiddenAct);
    for (const layer of w.layers) {
      const qkv = x.map((t) => apply(norm(t, layer.layerNorm1, eps), layer.qkv));
      const part = (k: number) => qkv.map((t) => t.subarray(k * hv, (k + 1) * hv));
      const { mixed } = multiHead(part(0), part(1), part(2), heads, headDim);
      x = x.map((t, i) => add(t, apply(mixed[i], layer.projection)));
      x = x.map((t) => add(t, apply(apply(norm(t, layer.layerNorm2, eps), layer.fc1).map(act), layer.fc2)));
    }
    return x.map((t) => norm(t, w.postLayerNorm, eps));
  }

  /** The Q-Former on the image embeddings and the instruction, then language_projection. */
  qformer(imageEmbeds: Vector[], qformerInputIds: readonly number[]): QFormerResult {
    const { qformer: qc, queries } = this.config;
    const w = this.weights.qformer;
    const eps = qc.layerNormEps;
    if (qformerInputIds.length > qc.maxPositionEmbeddings) {
      throw new RangeError(
        `${qformerInputIds.length} Q-Former ids exceed ${qc.maxPositionEmbeddings} positions`,
      );
    }
    const text = qformerInputIds.map((id, i) => {
      if (!Number.isInteger(id) || id < 0 || id >= qc.vocabSize) {
        throw new RangeError(`Q-Former id ${id} is outside its vocabulary (0 … ${qc.vocabSize - 1})`);
      }
      return add(row(w.wordEmbeddings, id), row(w.positionEmbeddings, i));
    });
    const queryRows = Array.from({ length: queries }, (_, i) => row(this.weights.queryTokens, i));
    let x = [...queryRows, ...text].map((t) => norm(t, w.layerNorm, eps));
    const act = activation(qc.hiddenAct);
    const attend = (a: AttentionWeights, rows: Vector[], keys: Vector[]) => {
      const { mixed, probs } = multiHead(
        rows.map((t) => apply(t, a.query)),
        keys.map((t) => apply(t, a.key)),
        keys.map((t) => apply(t, a.value)),
        qc.heads,
        qc.headDim,
      );
      return { out: rows.map((t, i) => norm(add(apply(mixed[i], a.dense), t), a.norm, eps)), probs };
    };
    const feedForward = (f: FeedForwardWeights, t: Vector) =>
      norm(add(apply(apply(t, f.intermediate).map(act), f.output), t), f.norm, eps);
    const crossAttention: Float64Array[][][] = [];
    for (const layer of w.layers) {
      const attended = attend(layer.attention, x, x).out;
      let queryPart = attended.slice(0, queries);
      if (layer.crossAttention) {
        const cross = attend(layer.crossAttention, queryPart, imageEmbeds);
        queryPart = cross.out;
        crossAttention.push(cross.probs);
      }
      x = [
        ...queryPart.map((t) => feedForward(layer.query, t)),
        ...attended.slice(queries).map((t) => feedForward(layer.text, t)),
      ];
    }
    const features = x.slice(0, queries).map((t) => apply(t, this.weights.projection));
    return { features, crossAttention };
  }

  imageFeatures(pixelValues: Float32Array | Float64Array, qformerInputIds: readonly number[]): QFormerResult {
    return this.qformer(this.imageEmbeds(pixelValues), qformerInputIds);
  }

  forward(input: InstructBlipInput): InstructBlipOutput {
    return this.run(input, this.imageFeatures(input.pixelValues, input.qformerInputIds));
  }

  /** Greedy decoding, recomputing the whole sequence each step; returns the new tokens (eos included). */
  generate(input: InstructBlipInput, options: { maxNewTokens: number; eosTokenId?: number }): number[] {
    const q = this.imageFeatures(input.pixelValues, input.qformerInputIds);
    const eos = options.eosTokenId !== undefined ? [options.eosTokenId] : this.config.text.eosTokenIds;
    return greedyDecode(input.inputIds, options.maxNewTokens, eos, (ids) => {
      const { logits } = this.run({ ...input, inputIds: ids, readoutRows: [] }, q);
      return logits[logits.length - 1];
    });
  }

  private run(input: InstructBlipInput, q: QFormerResult): InstructBlipOutput {
    const { inputIds } = input;
    const { text, imageTokenIndex } = this.config;
    checkTokenIds(inputIds, text.vocabSize);
    let span: [number, number];
    let embeddings: Vector[];
    if (imageTokenIndex === null) {
      // Legacy: torch.cat([language_model_inputs, inputs_embeds], dim=1).
      span = [0, q.features.length];
      embeddings = [...q.features.map((f) => Float64Array.from(f)), ...embed(this.weights.decoder, inputIds)];
    } else {
      // masked_scatter: the query features, in order, into the image-token rows.
      span = imageSpan(inputIds, imageTokenIndex, q.features.length);
      embeddings = embed(this.weights.decoder, inputIds);
      q.features.forEach((feature, i) => (embeddings[span[0] + i] = Float64Array.from(feature)));
    }
    const readoutRows = input.readoutRows ?? [embeddings.length - 1];
    const edits = resolveInterventions(input.interventions ?? [], span, text.layers, embeddings.length);
    const out = decoderForward(text, this.weights.decoder, embeddings, edits, readoutRows);
    return { ...out, imageFeatures: q.features, imageTokenSpan: span, crossAttention: q.crossAttention };
  }
}

/** The cross-attention probabilities flattened as the vision graph's [C, Hq, Q, 1 + patches]. */
export function flattenCrossAttention(crossAttention: Float64Array[][][]): Float64Array {
  const values: number[] = [];
  for (const layer of crossAttention)
    for (const head of layer) for (const query of head) values.push(...query);
  return Float64Array.from(values);
}
