/**
 * A plain float64 LLaVA / VIP-LLaVA / LLaVA-NeXT forward pass (CLIP ViT → projector → LLaMA/Mistral decoder), used only as the
 * test oracle for the ONNX graphs. Reads a Hugging Face llava folder (legacy or modern tensor names,
 * single-file or sharded), follows transformers' semantics, and applies FusionScope's interventions:
 *
 *   knockout (layer l): every query at or after the image span's end gets −∞ on the chosen image key
 *                       positions before softmax, in every head.
 *   hidden   (layer l): the residual stream at the chosen image positions is multiplied by `scale`
 *                       (default 0) at the input of layer l, or replaced by the given `replacement`
 *                       rows (another image's states); the edit carries into later layers.
 */
import { ModelFormatError } from '../errors.ts';
import { WeightStore } from '../safetensors/read.ts';
import { readLlavaConfig, type LlavaConfig, type TextConfig } from './config.ts';
import {
  checkTokenIds,
  decoderForward,
  embed,
  greedyDecode,
  type DecoderLayerWeights,
  type DecoderWeights,
  type LayerEdit,
} from './decoder.ts';
import { packImageFeatures } from './llavaNext.ts';
import { matrix, type Matrix } from './math.ts';
import {
  projectImageFeatures,
  visionHiddenStates,
  type Linear,
  type Norm,
  type ProjectorWeights,
  type VisionLayerWeights,
  type VisionWeights,
} from './vision.ts';
import { LLAVA_KEY_LAYOUTS } from '../testing/llavaKeyLayouts.ts';
import { varEdits, type ReferenceVar } from './visualSinks.ts';

export interface ReferenceIntervention {
  mode: 'knockout' | 'attention' | 'hidden';
  /** Decoder layers, 0-based. */
  layers: readonly number[];
  /** Indexes inside the image span; default all. */
  tokens?: readonly number[];
  /** hidden: residual multiplier; attention: attention-weight multiplier; default 0. */
  scale?: number;
  /**
   * knockout/attention: whose attention changes — every position after the image ('all'), the last
   * position on ('last'), or the positions between the image and the last one ('question').
   */
  queries?: 'all' | 'last' | 'question';
  /** knockout/attention: only these heads (default every head). */
  heads?: readonly number[];
  /**
   * hidden, instead of scale: per layer, the rows that replace the chosen tokens' residual stream,
   * flattened [span tokens, hidden size] for the whole image span (the chosen tokens' rows are used).
   */
  replacement?: ReadonlyMap<number, Float32Array>;
}

export interface ReferenceInput {
  inputIds: readonly number[];
  /** [channels, height, width], already normalized (what the image processor returns). */
  pixelValues: Float32Array | Float64Array;
  imageSize: [h: number, w: number];
  interventions?: readonly ReferenceIntervention[];
  /** Query positions whose attention rows are read out; default the last position. */
  readoutRows?: readonly number[];
  /** VAR at the last position (visualSinks.ts); generate keeps it at the prompt's last position. */
  var?: ReferenceVar;
  /**
   * LLaVA-NeXT: the base image and tiles ([channels, S, S] each, base first, tiles row by row) and the
   * original (height, width); `pixelValues` is then ignored.
   */
  anyres?: { patches: readonly (Float32Array | Float64Array)[]; originalSize: [number, number] };
}

export interface ReferenceOutput {
  /** Per position, over the vocabulary. */
  logits: Float64Array[];
  /** [layer][head][readout row] → probabilities over all key positions (0 where masked). */
  attention: Float64Array[][][];
  /** [layer][position]: residual stream after each decoder layer, before the final norm. */
  hiddenStates: Float64Array[][];
  /** Projected image features, one per image token. */
  imageFeatures: Float64Array[];
  /** [first image token, one past the last]. */
  imageTokenSpan: [number, number];
}

export interface ReferenceWeights {
  vision: VisionWeights;
  projector: ProjectorWeights;
  decoder: DecoderWeights;
  /** LLaVA-NeXT's image_newline [text hidden size]. */
  imageNewline?: Float64Array;
}

/** Reads tensors as float64, checking each shape against the one the config implies. */
export class Loader {
  constructor(private readonly store: WeightStore) {}

  async tensor(name: string, shape: number[]): Promise<Float64Array> {
    const actual = this.store.entry(name).shape;
    if (actual.length !== shape.length || actual.some((d, i) => d !== shape[i])) {
      throw new ModelFormatError(
        'BAD_WEIGHTS',
        `tensor "${name}" has shape [${actual.join(', ')}] but config.json implies [${shape.join(', ')}]`,
      );
    }
    return Float64Array.from(await this.store.readFloat32(name));
  }

  async matrix(name: string, rows: number, cols: number): Promise<Matrix> {
    return matrix(rows, cols, await this.tensor(name, [rows, cols]));
  }

  async linear(prefix: string, out: number, inp: number, bias: boolean): Promise<Linear> {
    return {
      weight: await this.matrix(`${prefix}.weight`, out, inp),
      bias: bias ? await this.tensor(`${prefix}.bias`, [out]) : null,
    };
  }

  async norm(prefix: string, size: number): Promise<Norm> {
    return {
      weight: await this.tensor(`${prefix}.weight`, [size]),
      bias: await this.tensor(`${prefix}.bias`, [size]),
    };
  }

  /**
   * The decoder layers `${prefix}layers.{i}.` as LlamaDecoderLayer / Qwen2DecoderLayer name them:
   * `bias.qkv` for q/k/v_proj, `bias.o` for o_proj, `bias.mlp` for gate/up/down_proj.
   */
  async decoderLayers(
    prefix: string,
    tc: Pick<TextConfig, 'layers' | 'hiddenSize' | 'intermediateSize' | 'heads' | 'kvHeads' | 'headDim'>,
    bias: { qkv: boolean; o: boolean; mlp: boolean },
  ): Promise<DecoderLayerWeights[]> {
    const ht = tc.hiddenSize;
    const qSize = tc.heads * tc.headDim;
    const kvSize = tc.kvHeads * tc.headDim;
    const layers: DecoderLayerWeights[] = [];
    for (let i = 0; i < tc.layers; i++) {
      const p = `${prefix}layers.${i}.`;
      layers.push({
        q: await this.linear(`${p}self_attn.q_proj`, qSize, ht, bias.qkv),
        k: await this.linear(`${p}self_attn.k_proj`, kvSize, ht, bias.qkv),
        v: await this.linear(`${p}self_attn.v_proj`, kvSize, ht, bias.qkv),
        o: await this.linear(`${p}self_attn.o_proj`, ht, qSize, bias.o),
        gate: await this.linear(`${p}mlp.gate_proj`, tc.intermediateSize, ht, bias.mlp),
        up: await this.linear(`${p}mlp.up_proj`, tc.intermediateSize, ht, bias.mlp),
        down: await this.linear(`${p}mlp.down_proj`, ht, tc.intermediateSize, bias.mlp),
        inputLayerNorm: await this.tensor(`${p}input_layernorm.weight`, [ht]),
        postAttentionLayerNorm: await this.tensor(`${p}post_attention_layernorm.weight`, [ht]),
      });
    }
    return layers;
  }
}

async function loadWeights(store: WeightStore, config: LlavaConfig): Promise<ReferenceWeights> {
  const layout = store.has(`${LLAVA_KEY_LAYOUTS.legacy.text}embed_tokens.weight`)
    ? LLAVA_KEY_LAYOUTS.legacy
    : store.has(`${LLAVA_KEY_LAYOUTS.modern.text}embed_tokens.weight`)
      ? LLAVA_KEY_LAYOUTS.modern
      : undefined;
  if (!layout) {
    throw new ModelFormatError(
      'BAD_WEIGHTS',
      `${store.folder}: no language_model.model.embed_tokens.weight or model.language_model.embed_tokens.weight`,
    );
  }
  const load = new Loader(store);
  const { vision: vc, text: tc } = config;

  const v = layout.vision;
  const hv = vc.hiddenSize;
  const patches = (vc.imageSize / vc.patchSize) ** 2;
  const visionLayers: VisionLayerWeights[] = [];
  for (let i = 0; i < vc.layers; i++) {
    const p = `${v}encoder.layers.${i}.`;
    visionLayers.push({
      q: await load.linear(`${p}self_attn.q_proj`, hv, hv, true),
      k: await load.linear(`${p}self_attn.k_proj`, hv, hv, true),
      v: await load.linear(`${p}self_attn.v_proj`, hv, hv, true),
      out: await load.linear(`${p}self_attn.out_proj`, hv, hv, true),
      layerNorm1: await load.norm(`${p}layer_norm1`, hv),
      layerNorm2: await load.norm(`${p}layer_norm2`, hv),
      fc1: await load.linear(`${p}mlp.fc1`, vc.intermediateSize, hv, true),
      fc2: await load.linear(`${p}mlp.fc2`, hv, vc.intermediateSize, true),
    });
  }
  const vision: VisionWeights = {
    patchEmbedding: await load.tensor(`${v}embeddings.patch_embedding.weight`, [
      hv,
      vc.numChannels,
      vc.patchSize,
      vc.patchSize,
    ]),
    classEmbedding: await load.tensor(`${v}embeddings.class_embedding`, [hv]),
    positionEmbedding: await load.matrix(`${v}embeddings.position_embedding.weight`, patches + 1, hv),
    preLayerNorm: await load.norm(`${v}pre_layrnorm`, hv),
    layers: visionLayers,
  };

  const featureLayers = Array.isArray(config.visionFeatureLayer) ? config.visionFeatureLayer.length : 1;
  const ht = tc.hiddenSize;
  const projector: ProjectorWeights = {
    layerNorm:
      config.projectorLayerNormEps === undefined
        ? undefined
        : await load.norm(`${layout.projector}projector_layernorm`, hv * featureLayers),
    linear1: await load.linear(`${layout.projector}linear_1`, ht, hv * featureLayers, config.projectorBias),
    linear2: await load.linear(`${layout.projector}linear_2`, ht, ht, config.projectorBias),
  };

  const t = layout.text;
  const layers = await load.decoderLayers(t, tc, {
    qkv: tc.attentionBias,
    o: tc.attentionBias,
    mlp: tc.mlpBias,
  });
  const embedTokens = await load.matrix(`${t}embed_tokens.weight`, tc.vocabSize, ht);
  const decoder: DecoderWeights = {
    embedTokens,
    layers,
    norm: await load.tensor(`${t}norm.weight`, [ht]),
    lmHead: tc.tieWordEmbeddings ? embedTokens : await load.matrix(layout.lmHead, tc.vocabSize, ht),
  };
  const imageNewline =
    config.modelType === 'llava_next'
      ? await load.tensor(layout === LLAVA_KEY_LAYOUTS.legacy ? 'image_newline' : 'model.image_newline', [ht])
      : undefined;
  return { vision, projector, decoder, imageNewline };
}

export class ReferenceLlava {
  private constructor(
    readonly config: LlavaConfig,
    readonly weights: ReferenceWeights,
  ) {}

  static async load(dir: string): Promise<ReferenceLlava> {
    const config = await readLlavaConfig(dir);
    const store = await WeightStore.open(dir);
    try {
      return new ReferenceLlava(config, await loadWeights(store, config));
    } finally {
      await store.close();
    }
  }

  /** The projected image features for one image. */
  imageFeatures(pixelValues: Float32Array | Float64Array, imageSize: [number, number]): Float64Array[] {
    const states = visionHiddenStates(this.config.vision, this.weights.vision, pixelValues, imageSize);
    return projectImageFeatures(this.config, states, this.weights.projector);
  }

  /** LLaVA-NeXT: every patch through the tower and projector, then packed (llavaNext.ts). */
  anyresFeatures(anyres: NonNullable<ReferenceInput['anyres']>): Float64Array[] {
    const { imageGridPinpoints, vision } = this.config;
    const newline = this.weights.imageNewline;
    if (!imageGridPinpoints || !newline) throw new RangeError('not a llava_next checkpoint');
    const size: [number, number] = [vision.imageSize, vision.imageSize];
    const perPatch = anyres.patches.map((p) => this.imageFeatures(p, size));
    return packImageFeatures(perPatch, anyres.originalSize, imageGridPinpoints, vision.imageSize, newline);
  }

  private featuresFor(input: ReferenceInput): Float64Array[] {
    if (this.config.modelType === 'llava_next') {
      if (!input.anyres) throw new RangeError('a llava_next checkpoint needs input.anyres');
      return this.anyresFeatures(input.anyres);
    }
    return this.imageFeatures(input.pixelValues, input.imageSize);
  }

  forward(input: ReferenceInput): ReferenceOutput {
    return this.run(input, this.featuresFor(input));
  }

  /** Greedy decoding, recomputing the whole sequence each step; returns the new tokens (eos included). */
  generate(input: ReferenceInput, options: { maxNewTokens: number; eosTokenId?: number }): number[] {
    const features = this.featuresFor(input);
    const eos = options.eosTokenId !== undefined ? [options.eosTokenId] : this.config.text.eosTokenIds;
    const promptVar = input.var && { ...input.var, query: input.var.query ?? input.inputIds.length - 1 };
    return greedyDecode(input.inputIds, options.maxNewTokens, eos, (ids) => {
      const { logits } = this.run({ ...input, inputIds: ids, readoutRows: [], var: promptVar }, features);
      return logits[logits.length - 1];
    });
  }

  private run(input: ReferenceInput, features: Float64Array[]): ReferenceOutput {
    const { inputIds } = input;
    const { text, imageTokenIndex } = this.config;
    checkTokenIds(inputIds, text.vocabSize);
    const span = imageSpan(inputIds, imageTokenIndex, features.length);

    // LlavaModel: embed, then masked_scatter the image features into the image-token rows.
    const embeddings = embed(this.weights.decoder, inputIds);
    features.forEach((feature, i) => (embeddings[span[0] + i] = Float64Array.from(feature)));

    const readoutRows = input.readoutRows ?? [inputIds.length - 1];
    for (const r of readoutRows) {
      if (!Number.isInteger(r) || r < 0 || r >= inputIds.length) {
        throw new RangeError(`readout row ${r} is outside the sequence (0 … ${inputIds.length - 1})`);
      }
    }
    const edits = [
      ...resolveInterventions(input.interventions ?? [], span, text.layers, inputIds.length),
      ...(input.var ? varEdits(input.var, span, text.layers, inputIds.length) : []),
    ];
    const out = decoderForward(text, this.weights.decoder, embeddings, edits, readoutRows);
    return { ...out, imageFeatures: features, imageTokenSpan: span };
  }
}

/** The image tokens must form one contiguous run whose length matches the features. */
export function imageSpan(
  inputIds: readonly number[],
  imageTokenIndex: number,
  featureCount: number,
): [number, number] {
  const positions = inputIds.flatMap((id, i) => (id === imageTokenIndex ? [i] : []));
  if (positions.length !== featureCount) {
    throw new ModelFormatError(
      'BAD_CONFIG',
      `Image features and image tokens do not match: tokens: ${positions.length}, features ${featureCount}`,
    );
  }
  const span: [number, number] = [positions[0], positions[positions.length - 1] + 1];
  if (span[1] - span[0] !== positions.length) {
    throw new RangeError('the image tokens must be contiguous (one image)');
  }
  return span;
}

export function resolveInterventions(
  interventions: readonly ReferenceIntervention[],
  span: [number, number],
  layerCount: number,
  sequenceLength: number,
): LayerEdit[] {
  const spanLength = span[1] - span[0];
  const edits: LayerEdit[] = [];
  for (const intervention of interventions) {
    const tokens = intervention.tokens ?? Array.from({ length: spanLength }, (_, i) => i);
    for (const t of tokens) {
      if (!Number.isInteger(t) || t < 0 || t >= spanLength) {
        throw new RangeError(`intervention token ${t} is outside the image span (0 … ${spanLength - 1})`);
      }
    }
    const positions = tokens.map((t) => span[0] + t);
    const last = sequenceLength - 1;
    const queries = intervention.queries ?? 'all';
    const fromQuery = queries === 'last' ? last : span[1];
    const toQuery = queries === 'question' ? last : Infinity;
    for (const layer of intervention.layers) {
      if (!Number.isInteger(layer) || layer < 0 || layer >= layerCount) {
        throw new RangeError(`intervention layer ${layer} is outside the decoder (0 … ${layerCount - 1})`);
      }
      if (intervention.mode === 'knockout') {
        edits.push({
          kind: 'knockout',
          layer,
          keys: positions,
          fromQuery,
          toQuery,
          heads: intervention.heads,
        });
      } else if (intervention.mode === 'attention') {
        const factor = intervention.scale ?? 0;
        if (!(factor >= 0)) throw new RangeError(`intervention scale ${factor} must be ≥ 0`);
        edits.push({
          kind: 'weight',
          layer,
          keys: positions,
          fromQuery,
          toQuery,
          factor,
          heads: intervention.heads,
        });
      } else if (intervention.mode === 'hidden' && intervention.replacement) {
        const rows = intervention.replacement.get(layer);
        const width = rows ? rows.length / spanLength : 0;
        if (!rows || !Number.isInteger(width) || width === 0) {
          throw new RangeError(`intervention replacement for layer ${layer} is not one row per image token`);
        }
        const rowOf = (t: number) => Float64Array.from({ length: width }, (_, d) => rows[t * width + d]);
        edits.push({ kind: 'replace', layer, positions, rows: tokens.map(rowOf) });
      } else if (intervention.mode === 'hidden') {
        const factor = intervention.scale ?? 0;
        if (!Number.isFinite(factor)) throw new RangeError(`intervention scale ${factor} is not finite`);
        edits.push({ kind: 'scale', layer, positions, factor });
      } else {
        throw new RangeError(
          `unknown intervention mode ${JSON.stringify((intervention as { mode: unknown }).mode)}`,
        );
      }
    }
  }
  return edits;
}
