import { describe, expect, it } from 'vitest';

import { ModelFormatError } from '../errors.ts';
import { describeWeightProblems, type WeightSource } from '../onnx/materialize.ts';
import { EMBED_IO, HEAD_IO, LAYER_IO, VISION_IO } from './contract.ts';
import {
  INSTRUCTBLIP_DEFAULT_IMAGE_TOKEN_ID,
  instructBlip,
  instructBlipKeyLayout,
  parseInstructBlipConfig,
} from './instructblip.ts';
import { architectureFor } from './registry.ts';

/** Shaped like Salesforce/instructblip-vicuna-7b's config.json (the fields that matter here). */
const VICUNA_7B = {
  architectures: ['InstructBlipForConditionalGeneration'],
  model_type: 'instructblip',
  num_query_tokens: 32,
  image_token_index: 32001,
  vision_config: {
    model_type: 'instructblip_vision_model',
    hidden_size: 1408,
    intermediate_size: 6144,
    num_hidden_layers: 39,
    num_attention_heads: 16,
    image_size: 224,
    patch_size: 14,
    qkv_bias: true,
    layer_norm_eps: 1e-6,
  },
  qformer_config: {
    model_type: 'instructblip_qformer',
    hidden_size: 768,
    num_hidden_layers: 12,
    num_attention_heads: 12,
    intermediate_size: 3072,
    cross_attention_frequency: 2,
    encoder_hidden_size: 1408,
    vocab_size: 30523,
    max_position_embeddings: 512,
  },
  text_config: {
    model_type: 'llama',
    vocab_size: 32002,
    hidden_size: 4096,
    num_hidden_layers: 32,
    num_attention_heads: 32,
    intermediate_size: 11008,
    tie_word_embeddings: false,
  },
};

/** A tiny config: vision 32 px in 8 px patches (4 × 4 grid), Q-Former `depth` layers. */
function tiny(depth: number, frequency: number, queries = 3) {
  return {
    model_type: 'instructblip',
    num_query_tokens: queries,
    image_token_index: 5,
    vision_config: {
      hidden_size: 16,
      intermediate_size: 32,
      num_hidden_layers: 2,
      num_attention_heads: 2,
      image_size: 32,
      patch_size: 8,
    },
    qformer_config: {
      hidden_size: 24,
      num_hidden_layers: depth,
      num_attention_heads: 3,
      intermediate_size: 48,
      cross_attention_frequency: frequency,
      encoder_hidden_size: 16,
      vocab_size: 50,
      max_position_embeddings: 20,
    },
    text_config: {
      model_type: 'llama',
      vocab_size: 64,
      hidden_size: 32,
      num_hidden_layers: 2,
      num_attention_heads: 4,
      intermediate_size: 64,
    },
  };
}

const LEGACY_NAMES = ['language_model.model.embed_tokens.weight', 'language_model.lm_head.weight'];

function with_(base: object, path: string, value: unknown): object {
  const copy = structuredClone(base) as Record<string, Record<string, unknown>>;
  const [head, key] = path.split('.');
  if (key === undefined) (copy as Record<string, unknown>)[head] = value;
  else copy[head] = { ...copy[head], [key]: value };
  return copy;
}

function parseError(config: object): ModelFormatError {
  try {
    instructBlip.parse(config, 'config.json');
  } catch (error) {
    expect(error).toBeInstanceOf(ModelFormatError);
    return error as ModelFormatError;
  }
  throw new Error('expected an error');
}

describe('instructblip config', () => {
  it('is registered and reads a Vicuna-7B-shaped config as a prefix family with 32 query tokens', () => {
    expect(architectureFor('instructblip', 'config.json')).toBe(instructBlip);
    const spec = instructBlip.parse(VICUNA_7B, 'config.json');
    expect(spec).toMatchObject({
      modelType: 'instructblip',
      imageTokenId: 32001,
      imagePlaceholder: '<image>',
      imagePlacement: 'prefix',
      imageMarkup: '',
      questionTemplate: '{question}',
      positionScheme: 'sequential',
      imageTokens: { kind: 'queries', count: 32, rows: 16, cols: 16 },
      imageSize: { height: 224, width: 224 },
      slidingWindow: undefined,
      decoder: { layers: 32, hiddenSize: 4096, heads: 32, kvHeads: 32, headDim: 128, vocabSize: 32002 },
    });
    expect(spec.summary).toMatchObject({
      textModel: 'llama',
      queryTokens: 32,
      qformerLayers: 12,
      qformerHiddenSize: 768,
      crossAttentionFrequency: 2,
      crossAttentionLayers: '0,2,4,6,8,10',
      visionLayers: 39,
      imageSize: 224,
      patchSize: 14,
      imageTokenId: 32001,
    });
    // Sequential 1-D RoPE: position 0 is the identity rotation.
    const { cos, sin } = spec.ropeTables([[0, 1]]);
    expect(cos.length).toBe(2 * 128);
    expect([cos[0], sin[0]]).toEqual([1, 0]);
  });

  it("takes InstructBlipConfig's defaults for absent sub-configs and keys", () => {
    const cfg = parseInstructBlipConfig(
      { model_type: 'instructblip', text_config: { model_type: 'llama' } },
      'config.json',
    );
    expect(cfg.queryTokens).toBe(32);
    expect(cfg.vision).toEqual({
      hiddenSize: 1408,
      intermediateSize: 6144,
      layers: 39,
      heads: 16,
      imageSize: 224,
      patchSize: 14,
      hiddenAct: 'gelu',
      layerNormEps: 1e-6,
      qkvBias: true,
    });
    expect(cfg.qformer).toEqual({
      hiddenSize: 768,
      layers: 12,
      heads: 12,
      intermediateSize: 3072,
      hiddenAct: 'gelu',
      layerNormEps: 1e-12,
      maxPositionEmbeddings: 512,
      vocabSize: 30522,
      crossAttentionFrequency: 2,
      encoderHiddenSize: 1408,
    });
    expect(cfg.text.tieWordEmbeddings).toBe(false);
  });

  it('uses the documented default image token id when config.json has no image_token_index', () => {
    const { image_token_index: _, ...older } = VICUNA_7B;
    const spec = instructBlip.parse(older, 'config.json');
    expect(spec.imageTokenId).toBe(INSTRUCTBLIP_DEFAULT_IMAGE_TOKEN_ID);
    expect(spec.summary.imageTokenId).toBe('0 (default; no image_token_index)');
    expect(instructBlip.parse({ ...older, image_token_id: 7 }, 'config.json').imageTokenId).toBe(7);
  });

  it('reads the encoder width from vision_config, as InstructBlipConfig overwrites encoder_hidden_size', () => {
    const stale = with_(tiny(2, 2), 'qformer_config.encoder_hidden_size', 1408);
    const cfg = parseInstructBlipConfig(stale, 'config.json');
    expect(cfg.qformer.encoderHiddenSize).toBe(16);
    const built = instructBlip.parse(stale, 'config.json').build(LEGACY_NAMES);
    const key = built.graphs.vision.weights.find(
      (w) => w.source === 'qformer.encoder.layer.0.crossattention.attention.key.weight',
    );
    expect(key?.shape).toEqual([24, 16]);
  });

  it('ties the head to embed_tokens from text_config, or from the top level when text_config is silent', () => {
    const headWeight = (config: object) =>
      instructBlip
        .parse(config, 'config.json')
        .build(['language_model.model.embed_tokens.weight'])
        .graphs.head.weights.map((w) => w.source)
        .find((s) => s.includes('embed_tokens') || s.includes('lm_head'));
    const base = tiny(2, 2);
    expect(headWeight(base)).toBe('language_model.lm_head.weight');
    expect(headWeight({ ...base, tie_word_embeddings: true })).toBe(
      'language_model.model.embed_tokens.weight',
    );
    expect(
      headWeight(with_({ ...base, tie_word_embeddings: true }, 'text_config.tie_word_embeddings', false)),
    ).toBe('language_model.lm_head.weight');
  });

  it('rejects bad values by key with BAD_CONFIG, naming what was expected', () => {
    const cases: [object, string][] = [
      [
        with_(tiny(2, 2), 'qformer_config.cross_attention_frequency', 0),
        'config.json.qformer_config.cross_attention_frequency must be an integer in [1, 10000000], got 0',
      ],
      [
        with_(tiny(2, 2), 'qformer_config.num_attention_heads', 5),
        'config.json.qformer_config.num_attention_heads must be a divisor of hidden_size (24), got 5',
      ],
      [
        with_(tiny(2, 2), 'vision_config.num_attention_heads', 3),
        'config.json.vision_config.num_attention_heads must be a divisor of hidden_size (16), got 3',
      ],
      [
        with_(tiny(2, 2), 'vision_config.patch_size', 5),
        'config.json.vision_config.patch_size must be a divisor of image_size (32), got 5',
      ],
      [
        with_(tiny(2, 2), 'num_query_tokens', 0),
        'config.json.num_query_tokens must be an integer in [1, 10000000], got 0',
      ],
      [
        with_(tiny(2, 2), 'image_token_index', 64),
        'config.json.image_token_index must be below text_config.vocab_size (64), got 64',
      ],
      [
        with_(tiny(2, 2), 'qformer_config.hidden_act', 'swish'),
        'config.json.qformer_config.hidden_act "swish" is not supported',
      ],
    ];
    for (const [config, message] of cases) {
      const error = parseError(config);
      expect(error.code).toBe('BAD_CONFIG');
      expect(error.message).toContain(message);
    }
  });

  it('refuses non-LLaMA language models, relative Q-Former positions and other towers as UNSUPPORTED_MODEL', () => {
    const cases: [object, RegExp][] = [
      [
        with_(tiny(2, 2), 'text_config', { model_type: 't5' }),
        /text_config\.model_type is "t5".*Flan-T5 and OPT/,
      ],
      [
        with_(tiny(2, 2), 'text_config', { vocab_size: 64 }),
        /text_config\.model_type is absent \(transformers then builds OPT\)/,
      ],
      [
        with_(tiny(2, 2), 'qformer_config.position_embedding_type', 'relative_key'),
        /qformer_config\.position_embedding_type "relative_key" is not supported \(supported: absolute\)/,
      ],
      [
        with_(tiny(2, 2), 'vision_config.model_type', 'clip_vision_model'),
        /vision_config\.model_type "clip_vision_model"/,
      ],
    ];
    for (const [config, message] of cases) {
      const error = parseError(config);
      expect(error.code).toBe('UNSUPPORTED_MODEL');
      expect(error.message).toMatch(message);
    }
  });
});

describe('instructblip graphs', () => {
  it('follow the contract: vision takes pixels and Q-Former ids, gives features and cross-attention', () => {
    const spec = instructBlip.parse(tiny(4, 2, 3), 'config.json');
    const { graphs } = spec.build(LEGACY_NAMES);
    const io = (values: readonly { name: string; shape: readonly unknown[] }[]) =>
      values.map((v) => [v.name, [...v.shape]]);
    expect(io(graphs.vision.graph.inputs)).toEqual([
      [VISION_IO.pixels, [1, 3, 32, 32]],
      [VISION_IO.qformerIds, [1, 'Tq']],
    ]);
    // 2 cross-attention layers, 3 heads, 3 queries, CLS + 16 patches.
    expect(io(graphs.vision.graph.outputs)).toEqual([
      [VISION_IO.features, [1, 3, 32]],
      [VISION_IO.qformerCrossAttention, [2, 3, 3, 17]],
    ]);
    expect(graphs.embed.graph.inputs.map((i) => i.name)).toEqual([EMBED_IO.ids]);
    expect(graphs.layers).toHaveLength(2);
    expect(graphs.layers[1].graph.outputs.map((o) => o.name)).toEqual([
      LAYER_IO.presentKey,
      LAYER_IO.presentValue,
      LAYER_IO.probs,
      LAYER_IO.hiddenOut,
    ]);
    expect(graphs.head.graph.outputs.map((o) => [o.name, [...o.shape]])).toEqual([
      [HEAD_IO.logits, [1, 'R', 64]],
    ]);
  });

  it('cross-attends on layers l with l % cross_attention_frequency == 0, one output slice each', () => {
    for (const [frequency, layers] of [
      [1, [0, 1, 2, 3]],
      [2, [0, 2]],
      [3, [0, 3]],
      [5, [0]],
    ] as const) {
      const spec = instructBlip.parse(tiny(4, frequency), 'config.json');
      const vision = spec.build(LEGACY_NAMES).graphs.vision;
      const crossLayers = new Set(
        vision.weights
          .map((w) =>
            /^qformer\.encoder\.layer\.(\d+)\.crossattention\.attention\.query\.weight$/.exec(w.source),
          )
          .filter((m) => m !== null)
          .map((m) => Number(m[1])),
      );
      expect([...crossLayers]).toEqual(layers);
      expect(vision.graph.outputs[1].shape[0]).toBe(layers.length);
      expect(spec.summary.crossAttentionLayers).toBe(layers.join(','));
    }
  });

  it('reads the query path in every layer and the text path in all but the last', () => {
    const vision = instructBlip.parse(tiny(3, 2), 'config.json').build(LEGACY_NAMES).graphs.vision;
    const sources = new Set(vision.weights.map((w) => w.source));
    for (let l = 0; l < 3; l++) {
      expect(sources.has(`qformer.encoder.layer.${l}.intermediate_query.dense.weight`)).toBe(true);
      expect(sources.has(`qformer.encoder.layer.${l}.output_query.LayerNorm.bias`)).toBe(true);
      expect(sources.has(`qformer.encoder.layer.${l}.intermediate.dense.weight`)).toBe(l < 2);
    }
    expect(vision.weights.find((w) => w.source === 'query_tokens')?.shape).toEqual([1, 3, 24]);
    expect(
      vision.weights.find((w) => w.source === 'vision_model.embeddings.position_embedding')?.shape,
    ).toEqual([1, 17, 16]);
    expect(
      vision.weights.find((w) => w.source === 'vision_model.encoder.layers.1.self_attn.qkv.bias')?.shape,
    ).toEqual([48]);
    // qkv_bias false: transformers' qkv linear has no bias at all.
    const noBias = instructBlip
      .parse(with_(tiny(3, 2), 'vision_config.qkv_bias', false), 'config.json')
      .build(LEGACY_NAMES).graphs.vision;
    expect(noBias.weights.some((w) => w.source.endsWith('self_attn.qkv.bias'))).toBe(false);
  });
});

describe('instructblip checkpoints', () => {
  it('detects the language model under language_model.model.* or, for a bare InstructBlipModel, language_model.*', () => {
    expect(instructBlipKeyLayout(LEGACY_NAMES).text).toEqual({
      base: 'language_model.model',
      lmHead: 'language_model.lm_head.weight',
    });
    expect(instructBlipKeyLayout(['language_model.embed_tokens.weight']).text.base).toBe('language_model');
    expect(() => instructBlipKeyLayout(['model.language_model.embed_tokens.weight'])).toThrow(
      /weights match no InstructBLIP key layout/,
    );
  });

  it('reports stray tensors as unexpected but not buffers or the dropped last text feed-forward', () => {
    const spec = instructBlip.parse(tiny(2, 2), 'config.json');
    const read = spec.build(LEGACY_NAMES);
    const all = [read.graphs.vision, read.graphs.embed, ...read.graphs.layers, read.graphs.head].flatMap(
      (g) => g.weights.map((w) => w.source),
    );
    const extras = [
      'qformer.embeddings.position_ids',
      'qformer.encoder.layer.1.intermediate.dense.weight',
      'qformer.encoder.layer.1.output.LayerNorm.bias',
      // Layer 1 has no cross-attention at frequency 2: its presence means the config is wrong.
      'qformer.encoder.layer.1.crossattention.attention.key.weight',
      'vision_model.encoder.layers.2.mlp.fc1.weight',
    ];
    expect(spec.build([...all, ...extras]).unexpectedTensors).toEqual([
      'qformer.encoder.layer.1.crossattention.attention.key.weight',
      'vision_model.encoder.layers.2.mlp.fc1.weight',
    ]);
  });

  it('reports a query_tokens shape that disagrees with num_query_tokens as a weight problem', () => {
    const vision = instructBlip.parse(tiny(2, 2, 3), 'config.json').build(LEGACY_NAMES).graphs.vision;
    const shapes = new Map(vision.weights.map((w) => [w.source, [...w.shape]]));
    shapes.set('query_tokens', [1, 32, 24]);
    const source: WeightSource = {
      shapeOf: (name) => shapes.get(name),
      dtypeOf: () => 'F32',
      readRaw: () => Promise.reject(new Error('not read')),
    };
    expect(describeWeightProblems(vision.weights, source)).toEqual([
      'tensor "query_tokens" has shape [1, 32, 24], expected [1, 3, 24]',
    ]);
  });
});
