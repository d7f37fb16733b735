/**
 * Qwen2-VL (model_type qwen2_vl) and Qwen2.5-VL (qwen2_5_vl): a ViT on the image's own patch grid
 * (families/qwenVision.ts, grid inputs in families/qwenVisionGrid.ts) whose merger turns every
 * merge × merge block of patches into one token, and Qwen2 (families/qwen2.ts on llama.ts's layer)
 * with M-RoPE.
 *
 * Configs come flat (text fields at the top level, vision_config nested; the hub's originals) or with
 * a text_config (transformers ≥ 4.52 / v5); transformers reads the text fields from text_config when
 * it is there, and so do we. Checkpoint keys come in two layouts (see QWEN_KEY_LAYOUTS).
 *
 * Exported for the float64 reference, tiny checkpoints and tests (keep these names stable):
 *   qwen2Vl, qwen25Vl                       the Architectures (registry.ts)
 *   parseQwenVlConfig(json, source, type)   → QwenVlConfig { text, vision, token ids }
 *   QWEN_KEY_LAYOUTS, detectQwenLayout      the tensor-name layouts
 *   QWEN_QUESTION_TEMPLATE                  Qwen's default chat prompt
 *   from families/qwen2.ts: parseQwen2TextConfig, mropeTables, Qwen2TextConfig
 *   from families/qwenVision.ts: buildQwenVision, parseQwen2VisionConfig, parseQwen25VisionConfig,
 *     qwenPatchWidth, QwenVisionConfig
 *   from families/qwenVisionGrid.ts: qwenVisionGridInputs, visionRotaryTables, visionWindows,
 *     windowBias, patchCoordinates
 */
import { describeRopeScaling } from '../blocks/ropeTables.ts';
import { ConfigReader } from '../config/fields.ts';
import { ModelFormatError } from '../errors.ts';
import { type TextWeightNames, withLlamaDecoder } from '../families/llama.ts';
import {
  mropeTables,
  parseQwen2TextConfig,
  qwen2InverseFrequencies,
  type Qwen2TextConfig,
} from '../families/qwen2.ts';
import {
  buildQwenVision,
  parseQwen25VisionConfig,
  parseQwen2VisionConfig,
  type QwenVisionConfig,
} from '../families/qwenVision.ts';
import { qwenVisionGridInputs } from '../families/qwenVisionGrid.ts';
import type { Architecture, BuiltModel, ModelSpec } from './types.ts';

/** Qwen's default system prompt and chat format, for tokenizers without a chat template. */
export const QWEN_QUESTION_TEMPLATE =
  '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n{images}{question}<|im_end|>\n<|im_start|>assistant\n';

export type QwenVlModelType = 'qwen2_vl' | 'qwen2_5_vl';

export interface QwenVlConfig {
  readonly modelType: QwenVlModelType;
  readonly text: Qwen2TextConfig;
  readonly vision: QwenVisionConfig;
  readonly imageTokenId: number;
  readonly videoTokenId: number;
  readonly visionStartTokenId: number;
  readonly visionEndTokenId: number;
  /** Where the text fields were read: "flat" (top level) or "text_config". */
  readonly configLayout: 'flat' | 'text_config';
}

/** Qwen2VLConfig / Qwen2_5_VLConfig token defaults. */
const TOKEN_DEFAULTS = {
  image_token_id: 151655,
  video_token_id: 151656,
  vision_start_token_id: 151652,
  vision_end_token_id: 151653,
};

export function parseQwenVlConfig(json: unknown, source: string, modelType: QwenVlModelType): QwenVlConfig {
  const c = ConfigReader.root(json, source);
  const nested = c.has('text_config');
  const textReader = nested ? c.child('text_config') : c;
  // As llava: text_config's own value wins; older nested configs kept it at the top level only.
  const tie =
    nested && textReader.has('tie_word_embeddings')
      ? textReader.bool('tie_word_embeddings', false)
      : c.bool('tie_word_embeddings', false);
  const text = parseQwen2TextConfig(textReader, tie);
  const visionReader = c.child('vision_config');
  const vision =
    modelType === 'qwen2_vl' ? parseQwen2VisionConfig(visionReader) : parseQwen25VisionConfig(visionReader);
  const outKey = modelType === 'qwen2_vl' ? 'hidden_size' : 'out_hidden_size';
  if (vision.outWidth !== text.hiddenSize) {
    visionReader.fail(
      outKey,
      `the language model's hidden_size (${text.hiddenSize}): the merger's output replaces token embeddings`,
    );
  }
  const token = (key: keyof typeof TOKEN_DEFAULTS) => {
    const id = c.int(key, TOKEN_DEFAULTS[key], { min: 0 });
    if (id >= text.vocabSize) c.fail(key, `below the vocab_size (${text.vocabSize})`);
    return id;
  };
  return {
    modelType,
    text,
    vision,
    imageTokenId: token('image_token_id'),
    videoTokenId: token('video_token_id'),
    visionStartTokenId: token('vision_start_token_id'),
    visionEndTokenId: token('vision_end_token_id'),
    configLayout: nested ? 'text_config' : 'flat',
  };
}

export interface QwenKeyLayout {
  readonly text: TextWeightNames;
  readonly vision: string;
}

/**
 * legacy: Qwen2VLForConditionalGeneration before transformers 4.52 (the hub's original files);
 * modern: the same model saved by later versions (language model and tower under model.).
 */
export const QWEN_KEY_LAYOUTS = {
  legacy: { text: { base: 'model', lmHead: 'lm_head.weight' }, vision: 'visual' },
  modern: { text: { base: 'model.language_model', lmHead: 'lm_head.weight' }, vision: 'model.visual' },
} as const satisfies Record<string, QwenKeyLayout>;

export function detectQwenLayout(names: readonly string[]): QwenKeyLayout {
  if (names.some((n) => n.startsWith('model.language_model.'))) return QWEN_KEY_LAYOUTS.modern;
  if (names.some((n) => n.startsWith('model.layers.') || n.startsWith('model.embed_tokens.'))) {
    return QWEN_KEY_LAYOUTS.legacy;
  }
  throw new ModelFormatError(
    'BAD_WEIGHTS',
    `weights match neither Qwen2-VL key layout (expected names under "model.layers." with "visual.", or "model.language_model." with "model.visual."); first names: ${names.slice(0, 5).join(', ')}`,
  );
}

/** Tensors a checkpoint may carry that no forward pass reads (transformers ignores them too). */
function isUnusedByDesign(name: string): boolean {
  return /(rotary_emb|rotary_pos_emb)\.inv_freq$/.test(name);
}

function buildQwenVl(cfg: QwenVlConfig, names: readonly string[]): BuiltModel {
  const layout = detectQwenLayout(names);
  return withLlamaDecoder(
    buildQwenVision(cfg.vision, layout.vision),
    cfg.text,
    layout.text,
    names,
    isUnusedByDesign,
  );
}

const ARCHITECTURE_NAMES: Record<QwenVlModelType, string> = {
  qwen2_vl: 'Qwen2-VL (ViT with 2-D RoPE + patch merger, Qwen2 with M-RoPE)',
  qwen2_5_vl: 'Qwen2.5-VL (window-attention ViT with 2-D RoPE + patch merger, Qwen2 with M-RoPE)',
};

export function qwenVlSpec(cfg: QwenVlConfig): ModelSpec {
  const { text, vision } = cfg;
  const inverse = qwen2InverseFrequencies(text);
  const side = vision.patchSize * vision.mergeSize;
  return {
    modelType: cfg.modelType,
    decoder: text,
    imageTokenId: cfg.imageTokenId,
    imagePlaceholder: '<|image_pad|>',
    imagePlacement: 'placeholder',
    imageMarkup: '<|vision_start|><|image_pad|><|vision_end|>',
    questionTemplate: QWEN_QUESTION_TEMPLATE,
    positionScheme: 'mrope',
    maxPositions: text.maxPositionEmbeddings,
    imageTokens: {
      kind: 'merged-patches',
      patchSize: vision.patchSize,
      mergeSize: vision.mergeSize,
      temporalPatchSize: vision.temporalPatchSize,
      visionHeads: vision.heads,
    },
    // The smallest image the tower takes; each image gets its own size from the processor.
    imageSize: { height: side, width: side },
    slidingWindow: undefined,
    ropeTables: (streams) => mropeTables(streams, inverse, text.mropeSection),
    visionGridInputs: (grid) => qwenVisionGridInputs(vision, grid),
    summary: {
      architecture: ARCHITECTURE_NAMES[cfg.modelType],
      textModel: 'qwen2',
      configLayout: cfg.configLayout,
      decoderLayers: text.layers,
      hiddenSize: text.hiddenSize,
      attentionHeads: text.heads,
      keyValueHeads: text.kvHeads,
      vocabSize: text.vocabSize,
      ropeTheta: text.ropeTheta,
      ropeScaling: describeRopeScaling(text.ropeScaling),
      mropeSection: text.mropeSection.join(','),
      slidingWindow: 'none',
      visionLayers: vision.depth,
      visionWidth: vision.width,
      visionHeads: vision.heads,
      visionActivation: vision.hiddenAct,
      patchSize: vision.patchSize,
      spatialMergeSize: vision.mergeSize,
      temporalPatchSize: vision.temporalPatchSize,
      ...(vision.window
        ? {
            windowSize: vision.window.size,
            fullAttentionBlocks: vision.window.fullAttentionBlocks.join(','),
          }
        : {}),
      imageTokenId: cfg.imageTokenId,
      visionStartTokenId: cfg.visionStartTokenId,
      visionEndTokenId: cfg.visionEndTokenId,
    },
    build: (names) => buildQwenVl(cfg, names),
  };
}

const architecture = (modelType: QwenVlModelType): Architecture => ({
  modelType,
  parse: (json, source) => qwenVlSpec(parseQwenVlConfig(json, source, modelType)),
});

export const qwen2Vl: Architecture = architecture('qwen2_vl');
export const qwen25Vl: Architecture = architecture('qwen2_5_vl');
