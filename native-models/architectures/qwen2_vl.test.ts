import { describe, expect, it } from 'vitest';

import type { ModelFormatError } from '../errors.ts';
import { VISION_IO } from './contract.ts';
import { parseQwenVlConfig, qwen25Vl, qwen2Vl, QWEN_QUESTION_TEMPLATE } from './qwen2_vl.ts';
import type { Architecture } from './types.ts';

/** A tiny Qwen2-VL text config (head_dim 12, so mrope_section sums to 6). */
const TEXT = {
  hidden_size: 48,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  intermediate_size: 64,
  vocab_size: 300,
  rms_norm_eps: 1e-6,
  rope_theta: 1000000,
  max_position_embeddings: 4096,
  use_sliding_window: false,
  rope_scaling: { type: 'mrope', mrope_section: [2, 2, 2] },
};
const TOKENS = {
  image_token_id: 290,
  video_token_id: 291,
  vision_start_token_id: 288,
  vision_end_token_id: 289,
};
const VISION_2 = {
  depth: 2,
  embed_dim: 32,
  hidden_size: 48,
  num_heads: 4,
  mlp_ratio: 2,
  in_chans: 3,
  patch_size: 4,
  spatial_merge_size: 2,
  temporal_patch_size: 2,
  hidden_act: 'quick_gelu',
};
const VISION_25 = {
  depth: 3,
  hidden_size: 32,
  out_hidden_size: 48,
  intermediate_size: 40,
  num_heads: 4,
  hidden_act: 'silu',
  patch_size: 4,
  spatial_merge_size: 2,
  temporal_patch_size: 2,
  window_size: 16,
  fullatt_block_indexes: [1],
  in_channels: 3,
};

/** The hub's original layout: text fields at the top level. */
const flat = (
  modelType: 'qwen2_vl' | 'qwen2_5_vl',
  text: object = {},
  vision: object = {},
  top: object = {},
) => ({
  model_type: modelType,
  ...TEXT,
  ...text,
  ...TOKENS,
  ...top,
  vision_config: { ...(modelType === 'qwen2_vl' ? VISION_2 : VISION_25), ...vision },
});

/** transformers v5's layout: a text_config, rope_parameters with rope_theta inside. */
const nested = (modelType: 'qwen2_vl' | 'qwen2_5_vl', text: object = {}) => {
  const { rope_theta, rope_scaling, ...rest } = TEXT;
  return {
    model_type: modelType,
    ...TOKENS,
    text_config: {
      model_type: `${modelType}_text`,
      ...rest,
      rope_parameters: { rope_type: 'default', rope_theta, mrope_section: rope_scaling.mrope_section },
      ...text,
    },
    vision_config: modelType === 'qwen2_vl' ? VISION_2 : VISION_25,
  };
};

const archOf = (json: { model_type: string }): Architecture =>
  json.model_type === 'qwen2_vl' ? qwen2Vl : qwen25Vl;
const parse = (json: { model_type: string }) => archOf(json).parse(json, 'config.json');

function failure(json: { model_type: string }): ModelFormatError {
  try {
    parse(json);
  } catch (error) {
    return error as ModelFormatError;
  }
  throw new Error('no error');
}

describe('Qwen2-VL / Qwen2.5-VL config', () => {
  it('reads a flat qwen2_vl config into the spec the engine drives', () => {
    const spec = parse(flat('qwen2_vl'));
    expect(spec.modelType).toBe('qwen2_vl');
    expect(spec.decoder).toMatchObject({
      layers: 2,
      hiddenSize: 48,
      heads: 4,
      kvHeads: 2,
      headDim: 12,
      vocabSize: 300,
    });
    expect(spec.imageTokenId).toBe(290);
    expect(spec.imagePlaceholder).toBe('<|image_pad|>');
    expect(spec.imageMarkup).toBe('<|vision_start|><|image_pad|><|vision_end|>');
    expect(spec.imagePlacement).toBe('placeholder');
    expect(spec.positionScheme).toBe('mrope');
    expect(spec.questionTemplate).toBe(QWEN_QUESTION_TEMPLATE);
    expect(spec.questionTemplate).toBe(
      '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n{images}{question}<|im_end|>\n<|im_start|>assistant\n',
    );
    expect(spec.imageTokens).toEqual({
      kind: 'merged-patches',
      patchSize: 4,
      mergeSize: 2,
      temporalPatchSize: 2,
      visionHeads: 4,
    });
    expect(spec.imageSize).toEqual({ height: 8, width: 8 });
    expect(spec.slidingWindow).toBeUndefined();
    expect(spec.summary).toMatchObject({
      mropeSection: '2,2,2',
      visionLayers: 2,
      visionWidth: 32,
      configLayout: 'flat',
    });
    expect(spec.summary.windowSize).toBeUndefined();
  });

  it('reads the nested text_config layout (v5 rope_parameters) to the same text model, for both families', () => {
    for (const type of ['qwen2_vl', 'qwen2_5_vl'] as const) {
      const a = parseQwenVlConfig(flat(type), 'config.json', type);
      const b = parseQwenVlConfig(nested(type), 'config.json', type);
      expect(b.text).toEqual(a.text);
      expect(b.vision).toEqual(a.vision);
      expect(b.configLayout).toBe('text_config');
      expect(a.text).toMatchObject({
        ropeTheta: 1e6,
        mropeSection: [2, 2, 2],
        qkvBias: true,
        attentionBias: false,
      });
    }
    // As transformers: with a text_config, top-level text fields are not read.
    const withStray = { ...nested('qwen2_vl'), hidden_size: 999 };
    expect(parse(withStray).decoder.hiddenSize).toBe(48);
  });

  it('fills transformers defaults: rope_theta 1e6, token ids, tower sizes', () => {
    const { rope_theta: _theta, ...text } = TEXT;
    const json = { model_type: 'qwen2_vl', ...text, vocab_size: 152064, vision_config: { ...VISION_2 } };
    const cfg = parseQwenVlConfig(json, 'config.json', 'qwen2_vl');
    expect(cfg.text.ropeTheta).toBe(1e6);
    expect(cfg.imageTokenId).toBe(151655);
    expect(cfg.visionStartTokenId).toBe(151652);
    expect(cfg.visionEndTokenId).toBe(151653);
    expect(cfg.vision.intermediateSize).toBe(64); // int(embed_dim · mlp_ratio)
  });

  it('reads Qwen2.5-VL window attention facts', () => {
    const spec = parse(flat('qwen2_5_vl'));
    const cfg = parseQwenVlConfig(flat('qwen2_5_vl'), 'config.json', 'qwen2_5_vl');
    expect(cfg.vision).toMatchObject({
      variant: 'qwen2_5_vl',
      width: 32,
      outWidth: 48,
      headDim: 8,
      intermediateSize: 40,
      window: { size: 16, units: 2, fullAttentionBlocks: [1] },
    });
    expect(spec.summary).toMatchObject({ windowSize: 16, fullAttentionBlocks: '1' });
  });

  it('takes tie_word_embeddings from text_config, else the top level', () => {
    const headWeight = (json: object) =>
      parse(json as { model_type: string })
        .build(['model.embed_tokens.weight'])
        .graphs.head.weights.map((w) => w.source)
        .find((s) => s.includes('embed_tokens') || s.includes('lm_head'));
    expect(headWeight(flat('qwen2_vl', { tie_word_embeddings: true }))).toBe('model.embed_tokens.weight');
    expect(headWeight(flat('qwen2_vl'))).toBe('lm_head.weight');
    expect(
      headWeight({ ...nested('qwen2_vl', { tie_word_embeddings: true }), tie_word_embeddings: false }),
    ).toBe('model.embed_tokens.weight');
    expect(headWeight({ ...nested('qwen2_vl'), tie_word_embeddings: true })).toBe(
      'model.embed_tokens.weight',
    );
  });

  it('accepts use_sliding_window when no layer would slide, and an explicit mrope type "default"', () => {
    expect(() => parse(flat('qwen2_vl', { use_sliding_window: true, max_window_layers: 2 }))).not.toThrow();
    const spec = parse(
      flat('qwen2_vl', { rope_scaling: { rope_type: 'default', mrope_section: [1, 2, 3] } }),
    );
    expect(spec.summary.mropeSection).toBe('1,2,3');
    const linear = parse(
      flat('qwen2_vl', { rope_scaling: { type: 'linear', factor: 2, mrope_section: [2, 2, 2] } }),
    );
    expect(linear.summary.ropeScaling).toBe('linear ×2');
  });

  it('refuses bad configs by key, naming what was expected', () => {
    const cases: [object, string, RegExp][] = [
      [
        flat('qwen2_vl', { rope_scaling: { type: 'mrope', mrope_section: [2, 2, 1] } }),
        'BAD_CONFIG',
        /rope_scaling\.mrope_section must be three non-negative integers \(temporal, height, width\) summing to head_dim \/ 2 = 6 \(head_dim = hidden_size \/ num_attention_heads = 12\); its sum is 5, got \[2,2,1\]/,
      ],
      [
        nested('qwen2_vl', { rope_parameters: { rope_type: 'default', mrope_section: [16, 24, 24] } }),
        'BAD_CONFIG',
        /text_config\.rope_parameters\.mrope_section .*head_dim \/ 2 = 6.*its sum is 64/,
      ],
      [
        flat('qwen2_vl', { rope_scaling: { type: 'mrope', mrope_section: [3, 3] } }),
        'BAD_CONFIG',
        /mrope_section must be three non-negative integers/,
      ],
      [
        flat('qwen2_vl', { rope_scaling: null }),
        'BAD_CONFIG',
        /rope_scaling must be present with mrope_section/,
      ],
      [
        flat('qwen2_vl', { rope_scaling: { type: 'yarn', factor: 4, mrope_section: [2, 2, 2] } }),
        'UNSUPPORTED_MODEL',
        /rope_scaling\.type "yarn" is not supported/,
      ],
      [
        flat('qwen2_vl', { hidden_size: 36 }),
        'BAD_CONFIG',
        /num_attention_heads must be a divisor of hidden_size giving an even head_dim .* 36 \/ 4 = 9/,
      ],
      [
        flat('qwen2_vl', { hidden_size: 50 }),
        'BAD_CONFIG',
        /num_attention_heads must be a divisor of hidden_size \(50\)/,
      ],
      [
        flat('qwen2_vl', { num_key_value_heads: 3 }),
        'BAD_CONFIG',
        /num_key_value_heads must be a divisor of num_attention_heads \(4\), got 3/,
      ],
      [
        flat('qwen2_vl', { use_sliding_window: true, max_window_layers: 1 }),
        'UNSUPPORTED_MODEL',
        /use_sliding_window is true and max_window_layers \(1\) < num_hidden_layers \(2\)/,
      ],
      [
        flat('qwen2_vl', { layer_types: ['full_attention', 'sliding_attention'] }),
        'UNSUPPORTED_MODEL',
        /layer_types has sliding_attention layers/,
      ],
      [
        flat('qwen2_vl', {}, { embed_dim: 30 }),
        'BAD_CONFIG',
        /vision_config\.num_heads must be a divisor of embed_dim \(30\)/,
      ],
      [
        flat('qwen2_vl', {}, { embed_dim: 24 }),
        'BAD_CONFIG',
        /vision_config\.num_heads must be such that embed_dim \/ num_heads is a multiple of 4 .*head dim 6/,
      ],
      [
        flat('qwen2_vl', {}, { in_chans: 4 }),
        'BAD_CONFIG',
        /vision_config\.in_chans must be 3 \(RGB\), got 4/,
      ],
      [
        flat('qwen2_vl', {}, { hidden_size: 64 }),
        'BAD_CONFIG',
        /vision_config\.hidden_size must be the language model's hidden_size \(48\).*got 64/,
      ],
      [
        flat('qwen2_5_vl', {}, { out_hidden_size: 32 }),
        'BAD_CONFIG',
        /vision_config\.out_hidden_size must be the language model's hidden_size \(48\)/,
      ],
      [
        flat('qwen2_5_vl', {}, { window_size: 12 }),
        'BAD_CONFIG',
        /vision_config\.window_size must be a multiple of patch_size × spatial_merge_size \(4 × 2 = 8\).*got 12/,
      ],
      [
        flat('qwen2_5_vl', {}, { fullatt_block_indexes: [1, 3] }),
        'BAD_CONFIG',
        /vision_config\.fullatt_block_indexes must be a list of block indexes in \[0, 2\] \(vision_config\.depth is 3\), got \[1,3\]/,
      ],
      [
        flat('qwen2_5_vl', {}, { fullatt_block_indexes: undefined }),
        'BAD_CONFIG',
        /fullatt_block_indexes is absent, and transformers' default \[7,15,23,31\] does not fit/,
      ],
      [
        flat('qwen2_vl', {}, {}, { image_token_id: 300 }),
        'BAD_CONFIG',
        /config\.json\.image_token_id must be below the vocab_size \(300\), got 300/,
      ],
      [
        flat('qwen2_vl', {}, { hidden_act: 'swish' }),
        'BAD_CONFIG',
        /vision_config\.hidden_act "swish" is not supported/,
      ],
    ];
    for (const [json, code, message] of cases) {
      const error = failure(json as { model_type: string });
      expect(error.code, message.source).toBe(code);
      expect(error.message).toMatch(message);
    }
  });
});

describe('M-RoPE tables', () => {
  const theta = 1e6;
  const spec = parse(flat('qwen2_vl', { rope_scaling: { type: 'mrope', mrope_section: [1, 2, 3] } }));
  const d = 12;
  const section = [1, 2, 3];

  /** transformers' table in float64: column j's frequency index i = j mod d/2, its stream by section. */
  function direct(streams: number[][], row: number, j: number): { cos: number; sin: number } {
    const i = j % (d / 2);
    const stream = i < section[0] ? 0 : i < section[0] + section[1] ? 1 : 2;
    const angle = streams[stream][row] / theta ** ((2 * i) / d);
    return { cos: Math.cos(angle), sin: Math.sin(angle) };
  }

  it('takes each section of both halves from its own stream, as apply_multimodal_rotary_pos_emb', () => {
    const streams = [
      [0, 4, 4, 4, 4, 9, 10],
      [0, 4, 4, 5, 5, 9, 10],
      [0, 4, 5, 4, 5, 9, 10],
    ];
    const { cos, sin } = spec.ropeTables(streams);
    expect(cos.length).toBe(7 * d);
    for (let r = 0; r < 7; r++) {
      for (let j = 0; j < d; j++) {
        const want = direct(streams, r, j);
        const p = Math.max(...streams.map((s) => s[r]));
        // float32 inv_freq and angle: |Δ| ≤ ~1e-7·p + float32 rounding of cos/sin.
        expect(Math.abs(cos[r * d + j] - want.cos)).toBeLessThan(1e-7 * p + 2e-7);
        expect(Math.abs(sin[r * d + j] - want.sin)).toBeLessThan(1e-7 * p + 2e-7);
      }
    }
    // The streams really differ where the sections split: row 2 has height 4 and width 5.
    const row = 2;
    expect(cos[row * d + 1]).not.toBeCloseTo(cos[row * d + 3], 6); // height chunk vs width chunk
    expect(cos[row * d + 1 + d / 2]).toBe(cos[row * d + 1]); // second half repeats the split
  });

  it('treats one stream as text rows: all three streams equal', () => {
    const positions = [0, 1, 7, 300];
    const one = spec.ropeTables([positions]);
    const three = spec.ropeTables([positions, positions, positions]);
    expect(Array.from(one.cos)).toEqual(Array.from(three.cos));
    expect(Array.from(one.sin)).toEqual(Array.from(three.sin));
    expect(() =>
      spec.ropeTables([
        [0, 1],
        [0, 1],
      ]),
    ).toThrow(/one stream or three/);
  });
});

describe('vision grid inputs on a 6 × 10 patch grid (merge 2, windows of 2 × 2 merged tokens)', () => {
  const grid = { t: 1, h: 6, w: 10 };
  const m = 2;
  const n = grid.h * grid.w;
  const dv = 8;
  const unitsPerRow = grid.w / m;

  /** The processor's order, spelled as the nested loops of its (h/m, w/m, m, m) transpose. */
  const processorOrder: { row: number; col: number; unit: number }[] = [];
  for (let R = 0; R < grid.h / m; R++) {
    for (let C = 0; C < unitsPerRow; C++) {
      for (let a = 0; a < m; a++) {
        for (let b = 0; b < m; b++)
          processorOrder.push({ row: R * m + a, col: C * m + b, unit: R * unitsPerRow + C });
      }
    }
  }
  const freq = (k: number) => 1 / 10000 ** ((2 * k) / (dv / 2));
  /** rot_pos_emb then cat(emb, emb): [row·f0, row·f1, col·f0, col·f1] twice, in float64. */
  const angle = (row: number, col: number, j: number) => {
    const q = j % (dv / 2);
    return q < dv / 4 ? row * freq(q) : col * freq(q - dv / 4);
  };
  const expectTable = (cos: Float32Array, sin: Float32Array, order: { row: number; col: number }[]) => {
    order.forEach(({ row, col }, k) => {
      for (let j = 0; j < dv; j++) {
        expect(Math.abs(cos[k * dv + j] - Math.cos(angle(row, col, j)))).toBeLessThan(1e-6);
        expect(Math.abs(sin[k * dv + j] - Math.sin(angle(row, col, j)))).toBeLessThan(1e-6);
      }
    });
  };

  it('Qwen2-VL: 2-D rotary tables in the processor order', () => {
    const inputs = parse(flat('qwen2_vl')).visionGridInputs!(grid);
    expect(Object.keys(inputs).sort()).toEqual([VISION_IO.ropeCos, VISION_IO.ropeSin].sort());
    expect(inputs[VISION_IO.ropeCos].dims).toEqual([n, dv]);
    expectTable(
      inputs[VISION_IO.ropeCos].data as Float32Array,
      inputs[VISION_IO.ropeSin].data as Float32Array,
      processorOrder,
    );
  });

  it('Qwen2.5-VL: windows listed row by row over the merged grid, partial ones kept, tables in window order', () => {
    const inputs = parse(flat('qwen2_5_vl')).visionGridInputs!(grid);
    // Merged grid 3 × 5, windows of 2 × 2 units: window (wr, wc) holds unit (R, C) with R/2 = wr, C/2 = wc.
    const windowOf = (unit: number) =>
      Math.floor(Math.floor(unit / unitsPerRow) / 2) * 3 + Math.floor((unit % unitsPerRow) / 2);
    const expected = Array.from({ length: 15 }, (_, u) => u).sort(
      (x, y) => windowOf(x) - windowOf(y) || x - y,
    );
    const index = Array.from(inputs[VISION_IO.windowIndex].data as BigInt64Array, Number);
    expect(index).toEqual(expected);
    expect(index.slice(0, 6)).toEqual([0, 1, 5, 6, 2, 3]);
    const restore = Array.from(inputs[VISION_IO.windowRestore].data as BigInt64Array, Number);
    restore.forEach((at, u) => expect(index[at]).toBe(u));
    expect(inputs[VISION_IO.windowIndex].dims).toEqual([15]);

    // Patch p (window order) is patch 4·index[p/4] + p mod 4 of the processor order.
    const windowOrder = Array.from(
      { length: n },
      (_, p) => processorOrder[4 * index[Math.floor(p / 4)] + (p % 4)],
    );
    expectTable(
      inputs[VISION_IO.ropeCos].data as Float32Array,
      inputs[VISION_IO.ropeSin].data as Float32Array,
      windowOrder,
    );

    const bias = inputs[VISION_IO.windowBias];
    expect(bias.dims).toEqual([1, 1, n, n]);
    const data = bias.data as Float32Array;
    for (let p = 0; p < n; p++) {
      for (let q = 0; q < n; q++) {
        const same = windowOf(windowOrder[p].unit) === windowOf(windowOrder[q].unit);
        expect(data[p * n + q]).toBe(same ? 0 : -Infinity);
      }
    }
  });

  it('refuses grids the merge size does not divide, and video grids', () => {
    const spec = parse(flat('qwen2_5_vl'));
    expect(() => spec.visionGridInputs!({ t: 1, h: 6, w: 9 })).toThrow(
      /6×9 patch grid is not divisible by vision_config\.spatial_merge_size \(2\)/,
    );
    expect(() => spec.visionGridInputs!({ t: 2, h: 6, w: 10 })).toThrow(/only still images/);
  });
});

describe('Qwen graphs', () => {
  const legacy = [
    'model.embed_tokens.weight',
    'model.layers.0.self_attn.q_proj.weight',
    'visual.blocks.0.attn.qkv.weight',
  ];
  const modern = [
    'model.language_model.embed_tokens.weight',
    'model.visual.patch_embed.proj.weight',
    'lm_head.weight',
  ];

  it('Qwen2-VL: the vision graph takes patches and rotary tables, the decoder has q/k/v biases only', () => {
    const built = parse(flat('qwen2_vl')).build(legacy);
    const vision = built.graphs.vision.graph;
    expect(vision.inputs.map((i) => [i.name, i.shape])).toEqual([
      [VISION_IO.pixels, ['N', 96]],
      [VISION_IO.ropeCos, ['N', 8]],
      [VISION_IO.ropeSin, ['N', 8]],
    ]);
    expect(vision.outputs.map((o) => [o.name, o.shape])).toEqual([[VISION_IO.features, [1, 'U', 48]]]);
    const visionWeights = built.graphs.vision.weights.map((w) => w.source);
    expect(visionWeights).toContain('visual.patch_embed.proj.weight');
    expect(visionWeights).toContain('visual.blocks.1.mlp.fc2.bias');
    expect(visionWeights).toContain('visual.merger.ln_q.bias');
    expect(visionWeights).toContain('visual.merger.mlp.2.weight');
    expect(
      built.graphs.vision.weights.find((w) => w.source === 'visual.patch_embed.proj.weight')?.shape,
    ).toEqual([32, 3, 2, 4, 4]);
    const layer = built.graphs.layers[1].weights.map((w) => w.source);
    for (const p of ['q', 'k', 'v']) expect(layer).toContain(`model.layers.1.self_attn.${p}_proj.bias`);
    expect(layer).not.toContain('model.layers.1.self_attn.o_proj.bias');
    expect(built.graphs.layers).toHaveLength(2);
  });

  it('Qwen2.5-VL: the window inputs, RMSNorm and SwiGLU weights, modern key layout', () => {
    const built = parse(flat('qwen2_5_vl')).build(modern);
    const vision = built.graphs.vision.graph;
    expect(vision.inputs.map((i) => [i.name, i.shape])).toEqual([
      [VISION_IO.pixels, ['N', 96]],
      [VISION_IO.ropeCos, ['N', 8]],
      [VISION_IO.ropeSin, ['N', 8]],
      [VISION_IO.windowIndex, ['U']],
      [VISION_IO.windowRestore, ['U']],
      [VISION_IO.windowBias, [1, 1, 'N', 'N']],
    ]);
    const weights = built.graphs.vision.weights.map((w) => w.source);
    expect(weights).toContain('model.visual.blocks.2.mlp.gate_proj.bias');
    expect(weights).toContain('model.visual.merger.ln_q.weight');
    expect(weights).not.toContain('model.visual.merger.ln_q.bias');
    expect(weights).not.toContain('model.visual.blocks.0.norm1.bias');
    expect(built.graphs.embed.weights.map((w) => w.source)).toEqual([
      'model.language_model.embed_tokens.weight',
    ]);
    // Block 1 attends over the whole image: its attention adds no bias.
    const biasUsers = (block: number) =>
      vision.nodes.filter(
        (node) => node.name.includes(`/blocks.${block}/`) && node.inputs.includes(VISION_IO.windowBias),
      );
    expect(biasUsers(0)).toHaveLength(1);
    expect(biasUsers(1)).toHaveLength(0);
    expect(biasUsers(2)).toHaveLength(1);
  });

  it('reports unexpected tensors, ignores rotary buffers, and refuses unknown key layouts', () => {
    const spec = parse(flat('qwen2_vl'));
    const { unexpectedTensors } = spec.build([
      ...legacy,
      'visual.rotary_pos_emb.inv_freq',
      'visual.extra.weight',
    ]);
    expect(unexpectedTensors).toEqual(['visual.extra.weight']);
    expect(() => spec.build(['language_model.model.embed_tokens.weight'])).toThrow(
      /neither Qwen2-VL key layout/,
    );
  });
});
