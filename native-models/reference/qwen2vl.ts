/**
 * A plain float64 Qwen2-VL / Qwen2.5-VL forward pass, preprocessing included, used only as the test
 * oracle for the engine. Restated from transformers' semantics (image_processing_qwen2_vl.py,
 * modeling_qwen2_vl.py, modeling_qwen2_5_vl.py); it shares no code with the engine except the
 * Pillow-exact resampler for the pixel resize itself.
 *
 *   preprocess: smart_resize (multiples of patch·merge within min/max pixels, Python's round),
 *               bicubic resize, x/255, (x − mean)/std, the frame repeated to temporal_patch_size,
 *               patches flattened as (t, h/m, w/m, m, m) × (c, tt, py, px)
 *   vision:     x = W_patch · patch (Conv3d as a matrix); per block
 *                 x += proj(attn(rot(q), rot(k), v)) on norm1(x);  x += mlp(norm2(x))
 *               rot: 2-D RoPE, the first dv/4 frequencies turned by the patch's row, the next dv/4 by
 *               its column (rotate-half pairs i, i + dv/2);
 *               Qwen2-VL: LayerNorm(1e-6), fc2(quick_gelu(fc1 x)); full attention over the image;
 *               Qwen2.5-VL: RMSNorm(1e-6), down(silu(gate x)·up x); outside fullatt_block_indexes a
 *               patch sees only the patches of its window: windows of window_size/patch/merge merged
 *               tokens a side, tiled from the top-left of the merged grid (transformers permutes the
 *               tokens into window order and back; attention within each window is the same thing);
 *               merger: norm each patch, concatenate each merge×merge block, mlp.2(gelu(mlp.0 ·)).
 *   text:       Qwen2 decoder (q/k/v biases, no o bias) with M-RoPE: frequency j of a head turns by the
 *               token's temporal, height or width position as mrope_section assigns j; positions from
 *               get_rope_index (text: the same number in all three; image token (r, c): (s, s+r, s+c);
 *               text after an image resumes at max + 1).
 *
 * Interventions are those of reference/llava.ts (knockout from the image span's end; hidden scaling).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { ModelFormatError } from '../errors.ts';
import { WeightStore } from '../safetensors/read.ts';
import type { TextConfig } from './config.ts';
import { decoderForward, embed, greedyDecode, type DecoderWeights } from './decoder.ts';
import { Loader, resolveInterventions, type ReferenceIntervention, type ReferenceOutput } from './llava.ts';
import {
  ACTIVATIONS,
  dot,
  layerNorm,
  linear,
  rmsNorm,
  ropeInverseFrequencies,
  softmax,
  type Matrix,
  type Vector,
} from './math.ts';
import type { Linear, Norm } from './vision.ts';

type Json = Record<string, unknown>;

/** An 8-bit RGB image, pixels interleaved row by row. */
export interface RgbImage {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array;
}
export type Resample = 'nearest' | 'bilinear' | 'bicubic' | 'lanczos' | 'box' | 'hamming';
/**
 * Pillow's Image.resize. Injected (the tests pass the app's Pillow-exact resampler) because
 * native-models imports no app code; everything after the resize is this file's own.
 */
export type Resizer = (image: RgbImage, width: number, height: number, resample: Resample) => RgbImage;
export type QwenFamilyType = 'qwen2_vl' | 'qwen2_5_vl';

export interface QwenVisionConfig {
  depth: number;
  width: number;
  heads: number;
  intermediateSize: number;
  hiddenAct: string;
  patchSize: number;
  mergeSize: number;
  temporalPatchSize: number;
  outHidden: number;
  /** Qwen2.5-VL only (0 and [] for Qwen2-VL). */
  windowSize: number;
  fullAttBlockIndexes: number[];
}

export interface QwenConfig {
  family: QwenFamilyType;
  imageTokenId: number;
  visionStartTokenId: number;
  mropeSection: [number, number, number];
  text: TextConfig;
  vision: QwenVisionConfig;
}

export interface QwenProcessorConfig {
  minPixels: number;
  maxPixels: number;
  patchSize: number;
  mergeSize: number;
  temporalPatchSize: number;
  mean: number[];
  std: number[];
  rescale: number;
  resample: Resample;
}

const bad = (detail: string) => new ModelFormatError('BAD_CONFIG', detail);

function need<T>(json: Json, key: string, where: string, fallback?: T): T {
  const value = json[key] ?? fallback;
  if (value === undefined) throw bad(`${where}: ${key} is required`);
  return value as T;
}

/** config.json in either layout: modern (text_config) or legacy (text fields at the top level). */
export async function readQwenConfig(dir: string): Promise<QwenConfig> {
  const raw = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8')) as Json;
  const family = raw.model_type;
  if (family !== 'qwen2_vl' && family !== 'qwen2_5_vl') throw bad(`model_type ${String(family)}`);
  const text = (raw.text_config as Json | undefined) ?? raw;
  const visionRaw = need<Json>(raw, 'vision_config', 'config.json');
  const where = raw.text_config ? 'config.json text_config' : 'config.json';
  const hidden = need<number>(text, 'hidden_size', where);
  const heads = need<number>(text, 'num_attention_heads', where);
  const headDim = hidden / heads;
  const rope = (text.rope_scaling ?? text.rope_parameters) as Json | undefined;
  const section = rope?.mrope_section as [number, number, number] | undefined;
  if (!section || section.length !== 3 || section[0] + section[1] + section[2] !== headDim / 2)
    throw bad(`${where}: rope_scaling.mrope_section must be three numbers summing to ${headDim / 2}`);
  const qwen25 = family === 'qwen2_5_vl';
  const width = need<number>(visionRaw, qwen25 ? 'hidden_size' : 'embed_dim', 'vision_config');
  // The language model ties (or not) as its own config says; the top level is the fallback.
  const tie = (text.tie_word_embeddings ?? raw.tie_word_embeddings ?? false) as boolean;
  const eos = need<number | number[]>(text, 'eos_token_id', where, raw.eos_token_id as number);
  return {
    family,
    imageTokenId: need(raw, 'image_token_id', 'config.json', 151655),
    visionStartTokenId: need(raw, 'vision_start_token_id', 'config.json', 151652),
    mropeSection: section,
    text: {
      modelType: 'llama',
      vocabSize: need(text, 'vocab_size', where),
      hiddenSize: hidden,
      intermediateSize: need(text, 'intermediate_size', where),
      layers: need(text, 'num_hidden_layers', where),
      heads,
      kvHeads: need(text, 'num_key_value_heads', where),
      headDim,
      hiddenAct: need(text, 'hidden_act', where, 'silu'),
      rmsNormEps: need(text, 'rms_norm_eps', where, 1e-6),
      ropeTheta: need(text, 'rope_theta', where, 1e6),
      ropeScaling: { type: 'default' },
      attentionBias: true,
      mlpBias: false,
      tieWordEmbeddings: tie,
      slidingWindow: null,
      bosTokenId: null,
      eosTokenIds: Array.isArray(eos) ? eos : [eos],
    },
    vision: {
      depth: need(visionRaw, 'depth', 'vision_config'),
      width,
      heads: need(visionRaw, 'num_heads', 'vision_config'),
      intermediateSize: qwen25
        ? need(visionRaw, 'intermediate_size', 'vision_config')
        : width * need<number>(visionRaw, 'mlp_ratio', 'vision_config', 4),
      hiddenAct: need(visionRaw, 'hidden_act', 'vision_config', qwen25 ? 'silu' : 'quick_gelu'),
      patchSize: need(visionRaw, 'patch_size', 'vision_config', 14),
      mergeSize: need(visionRaw, 'spatial_merge_size', 'vision_config', 2),
      temporalPatchSize: need(visionRaw, 'temporal_patch_size', 'vision_config', 2),
      outHidden: need(visionRaw, qwen25 ? 'out_hidden_size' : 'hidden_size', 'vision_config'),
      windowSize: qwen25 ? need(visionRaw, 'window_size', 'vision_config', 112) : 0,
      fullAttBlockIndexes: qwen25
        ? need(visionRaw, 'fullatt_block_indexes', 'vision_config', [7, 15, 23, 31])
        : [],
    },
  };
}

const PIL_CODES: Record<number, Resample> = {
  0: 'nearest',
  1: 'lanczos',
  2: 'bilinear',
  3: 'bicubic',
  4: 'box',
  5: 'hamming',
};

export async function readQwenProcessorConfig(dir: string): Promise<QwenProcessorConfig> {
  const raw = JSON.parse(await readFile(join(dir, 'preprocessor_config.json'), 'utf8')) as Json;
  const size = (raw.size ?? {}) as Json;
  return {
    // Qwen2VLImageProcessor: size {shortest_edge, longest_edge} wins over min/max_pixels.
    minPixels: (size.shortest_edge ?? raw.min_pixels ?? 56 * 56) as number,
    maxPixels: (size.longest_edge ?? raw.max_pixels ?? 28 * 28 * 1280) as number,
    patchSize: (raw.patch_size ?? 14) as number,
    mergeSize: (raw.merge_size ?? 2) as number,
    temporalPatchSize: (raw.temporal_patch_size ?? 2) as number,
    mean: raw.image_mean as number[],
    std: raw.image_std as number[],
    rescale: (raw.rescale_factor ?? 1 / 255) as number,
    resample: PIL_CODES[(raw.resample ?? 3) as number],
  };
}

// ---------------------------------------------------------------------------------------------------
// Preprocessing
// ---------------------------------------------------------------------------------------------------

/** Python 3's round(): halves go to the even neighbour. */
function pyRound(x: number): number {
  const floor = Math.floor(x);
  const diff = x - floor;
  if (diff > 0.5) return floor + 1;
  if (diff < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

/** image_processing_qwen2_vl.smart_resize → [height, width]. */
export function smartResize(
  height: number,
  width: number,
  factor: number,
  minPixels: number,
  maxPixels: number,
): [number, number] {
  if (Math.max(height, width) / Math.min(height, width) > 200)
    throw new RangeError('absolute aspect ratio must be smaller than 200');
  let h = pyRound(height / factor) * factor;
  let w = pyRound(width / factor) * factor;
  if (h * w > maxPixels) {
    const beta = Math.sqrt((height * width) / maxPixels);
    h = Math.max(factor, Math.floor(height / beta / factor) * factor);
    w = Math.max(factor, Math.floor(width / beta / factor) * factor);
  } else if (h * w < minPixels) {
    const beta = Math.sqrt(minPixels / (height * width));
    h = Math.ceil((height * beta) / factor) * factor;
    w = Math.ceil((width * beta) / factor) * factor;
  }
  return [h, w];
}

export interface QwenPatches {
  grid: { t: number; h: number; w: number };
  /** Resized image size. */
  height: number;
  width: number;
  patchWidth: number;
  /** [t·h·w, patchWidth] in the processor's order. */
  values: Float64Array;
}

export function preprocessQwen(image: RgbImage, p: QwenProcessorConfig, resize: Resizer): QwenPatches {
  const [height, width] = smartResize(
    image.height,
    image.width,
    p.patchSize * p.mergeSize,
    p.minPixels,
    p.maxPixels,
  );
  const resized = resize(image, width, height, p.resample);
  const P = p.patchSize;
  const m = p.mergeSize;
  const T = p.temporalPatchSize;
  const gh = height / P;
  const gw = width / P;
  const patchWidth = 3 * T * P * P;
  const values = new Float64Array(gh * gw * patchWidth);
  let n = 0;
  // A still image is one frame repeated T times: grid_t = 1.
  for (let bh = 0; bh < gh / m; bh++)
    for (let bw = 0; bw < gw / m; bw++)
      for (let mh = 0; mh < m; mh++)
        for (let mw = 0; mw < m; mw++, n++) {
          const y0 = (bh * m + mh) * P;
          const x0 = (bw * m + mw) * P;
          let k = n * patchWidth;
          for (let c = 0; c < 3; c++)
            for (let tt = 0; tt < T; tt++)
              for (let py = 0; py < P; py++)
                for (let px = 0; px < P; px++) {
                  const byte = resized.data[((y0 + py) * width + x0 + px) * 3 + c];
                  values[k++] = (byte * p.rescale - p.mean[c]) / p.std[c];
                }
        }
  return { grid: { t: 1, h: gh, w: gw }, height, width, patchWidth, values };
}

// ---------------------------------------------------------------------------------------------------
// Weights
// ---------------------------------------------------------------------------------------------------

interface VisionBlock {
  norm1: Norm | Vector;
  norm2: Norm | Vector;
  qkv: Linear;
  proj: Linear;
  /** Qwen2-VL: fc1, fc2; Qwen2.5-VL: gate, up, down. */
  mlp: Record<string, Linear>;
}

interface QwenWeights {
  patchEmbed: Matrix;
  blocks: VisionBlock[];
  mergerNorm: Norm | Vector;
  merger0: Linear;
  merger2: Linear;
  decoder: DecoderWeights;
}

async function loadWeights(store: WeightStore, config: QwenConfig): Promise<QwenWeights> {
  const modern = store.has('model.language_model.embed_tokens.weight');
  if (!modern && !store.has('model.embed_tokens.weight'))
    throw new ModelFormatError('BAD_WEIGHTS', `${store.folder}: no embed_tokens tensor in either layout`);
  const textPrefix = modern ? 'model.language_model.' : 'model.';
  const v = modern ? 'model.visual.' : 'visual.';
  const load = new Loader(store);
  const vc = config.vision;
  const d = vc.width;
  const qwen25 = config.family === 'qwen2_5_vl';
  const norm = async (name: string, size: number): Promise<Norm | Vector> =>
    qwen25 ? load.tensor(`${name}.weight`, [size]) : load.norm(name, size);
  const patchIn = 3 * vc.temporalPatchSize * vc.patchSize ** 2;
  const conv = await load.tensor(`${v}patch_embed.proj.weight`, [
    d,
    3,
    vc.temporalPatchSize,
    vc.patchSize,
    vc.patchSize,
  ]);
  const blocks: VisionBlock[] = [];
  for (let i = 0; i < vc.depth; i++) {
    const p = `${v}blocks.${i}.`;
    const I = vc.intermediateSize;
    blocks.push({
      norm1: await norm(`${p}norm1`, d),
      norm2: await norm(`${p}norm2`, d),
      qkv: await load.linear(`${p}attn.qkv`, 3 * d, d, true),
      proj: await load.linear(`${p}attn.proj`, d, d, true),
      mlp: qwen25
        ? {
            gate: await load.linear(`${p}mlp.gate_proj`, I, d, true),
            up: await load.linear(`${p}mlp.up_proj`, I, d, true),
            down: await load.linear(`${p}mlp.down_proj`, d, I, true),
          }
        : {
            fc1: await load.linear(`${p}mlp.fc1`, I, d, true),
            fc2: await load.linear(`${p}mlp.fc2`, d, I, true),
          },
    });
  }
  const merged = d * vc.mergeSize ** 2;
  const tc = config.text;
  const h = tc.hiddenSize;
  // Qwen2: biased q/k/v, unbiased o_proj and MLP (q is heads × head_dim = hidden wide).
  const layers = await load.decoderLayers(textPrefix, tc, { qkv: true, o: false, mlp: false });
  const embedTokens = await load.matrix(`${textPrefix}embed_tokens.weight`, tc.vocabSize, h);
  return {
    patchEmbed: { rows: d, cols: patchIn, data: conv },
    blocks,
    mergerNorm: await norm(`${v}merger.ln_q`, d),
    merger0: await load.linear(`${v}merger.mlp.0`, merged, merged, true),
    merger2: await load.linear(`${v}merger.mlp.2`, vc.outHidden, merged, true),
    decoder: {
      embedTokens,
      layers,
      norm: await load.tensor(`${textPrefix}norm.weight`, [h]),
      lmHead: tc.tieWordEmbeddings ? embedTokens : await load.matrix('lm_head.weight', tc.vocabSize, h),
    },
  };
}

// ---------------------------------------------------------------------------------------------------
// Vision tower
// ---------------------------------------------------------------------------------------------------

const apply = (x: Vector, l: Linear): Vector => linear(x, l.weight, l.bias);

/** Rotate-half with per-frequency angles (angles.length = x.length / 2). */
function rotate(x: Vector, angles: Float64Array): Vector {
  const half = x.length / 2;
  const out = new Float64Array(x.length);
  for (let i = 0; i < half; i++) {
    const c = Math.cos(angles[i]);
    const s = Math.sin(angles[i]);
    out[i] = x[i] * c - x[i + half] * s;
    out[i + half] = x[i + half] * c + x[i] * s;
  }
  return out;
}

/** The grid row and column of each patch in the processor's (h/m, w/m, m, m) order. */
function patchCoordinates(grid: { h: number; w: number }, m: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let bh = 0; bh < grid.h / m; bh++)
    for (let bw = 0; bw < grid.w / m; bw++)
      for (let mh = 0; mh < m; mh++) for (let mw = 0; mw < m; mw++) out.push([bh * m + mh, bw * m + mw]);
  return out;
}

export class ReferenceQwen {
  private constructor(
    readonly config: QwenConfig,
    readonly processor: QwenProcessorConfig,
    private readonly weights: QwenWeights,
    private readonly resize: Resizer,
  ) {}

  static async load(dir: string, resize: Resizer): Promise<ReferenceQwen> {
    const config = await readQwenConfig(dir);
    const processor = await readQwenProcessorConfig(dir);
    const store = await WeightStore.open(dir);
    try {
      return new ReferenceQwen(config, processor, await loadWeights(store, config), resize);
    } finally {
      await store.close();
    }
  }

  preprocess(image: RgbImage): QwenPatches {
    return preprocessQwen(image, this.processor, this.resize);
  }

  /** Merged image features [tokens][outHidden] in raster order of the merged grid. */
  imageFeatures(patches: QwenPatches): Vector[] {
    const vc = this.config.vision;
    const qwen25 = this.config.family === 'qwen2_5_vl';
    const { grid } = patches;
    const m = vc.mergeSize;
    if (grid.t !== 1) throw new RangeError('still images only (grid t = 1)');
    if (grid.h % m || grid.w % m) throw bad(`patch grid ${grid.h}x${grid.w} is not a multiple of ${m}`);
    const n = grid.h * grid.w;
    const dv = vc.width / vc.heads;
    const coords = patchCoordinates(grid, m);
    // 2-D RoPE: VisionRotaryEmbedding(dv / 2) → dv / 4 frequencies θ^(−2i/(dv/2)), row then column.
    const inv = ropeInverseFrequencies(dv / 2, 10000);
    const angles = coords.map(([r, c]) =>
      Float64Array.from([...inv.map((f) => r * f), ...inv.map((f) => c * f)]),
    );
    // Window of each patch (Qwen2.5-VL): merged-grid windows tiled from the top-left.
    const side = vc.windowSize / m / vc.patchSize;
    const windowOf = coords.map(([r, c]) =>
      qwen25 ? `${Math.floor(r / m / side)},${Math.floor(c / m / side)}` : '',
    );
    const normed = (x: Vector, norm: Norm | Vector): Vector =>
      norm instanceof Float64Array ? rmsNorm(x, norm, 1e-6) : layerNorm(x, norm.weight, norm.bias, 1e-6);
    const act = ACTIVATIONS[vc.hiddenAct];
    if (!act) throw bad(`vision hidden_act ${vc.hiddenAct}`);

    let x = Array.from({ length: n }, (_, i) =>
      linear(
        patches.values.subarray(i * patches.patchWidth, (i + 1) * patches.patchWidth),
        this.weights.patchEmbed,
      ),
    );
    this.weights.blocks.forEach((block, b) => {
      const windowed = qwen25 && !vc.fullAttBlockIndexes.includes(b);
      const y = x.map((t) => normed(t, block.norm1));
      const qkv = y.map((t) => apply(t, block.qkv));
      const d = vc.width;
      const head = (t: Vector, part: number, h: number) =>
        t.subarray(part * d + h * dv, part * d + (h + 1) * dv);
      const q = qkv.map((t, i) =>
        Array.from({ length: vc.heads }, (_, h) => rotate(head(t, 0, h), angles[i])),
      );
      const k = qkv.map((t, i) =>
        Array.from({ length: vc.heads }, (_, h) => rotate(head(t, 1, h), angles[i])),
      );
      const attended = x.map((_, i) => {
        const mixed = new Float64Array(d);
        for (let h = 0; h < vc.heads; h++) {
          const scores = Float64Array.from(k, (kj, j) =>
            windowed && windowOf[i] !== windowOf[j] ? -Infinity : dot(q[i][h], kj[h]) / Math.sqrt(dv),
          );
          const p = softmax(scores);
          for (let j = 0; j < n; j++) {
            if (p[j] === 0) continue;
            const vj = head(qkv[j], 2, h);
            for (let e = 0; e < dv; e++) mixed[h * dv + e] += p[j] * vj[e];
          }
        }
        return apply(mixed, block.proj);
      });
      x = x.map((t, i) => t.map((val, e) => val + attended[i][e]));
      x = x.map((t) => {
        const z = normed(t, block.norm2);
        let out: Vector;
        if (qwen25) {
          const up = apply(z, block.mlp.up);
          out = apply(
            apply(z, block.mlp.gate).map((g, e) => act(g) * up[e]),
            block.mlp.down,
          );
        } else out = apply(apply(z, block.mlp.fc1).map(act), block.mlp.fc2);
        return t.map((val, e) => val + out[e]);
      });
    });
    // PatchMerger: m² consecutive patches (one merged token) → one feature.
    const gelu = ACTIVATIONS.gelu;
    const features: Vector[] = [];
    for (let k = 0; k < n / (m * m); k++) {
      const joined = new Float64Array(vc.width * m * m);
      for (let j = 0; j < m * m; j++)
        joined.set(normed(x[k * m * m + j], this.weights.mergerNorm), j * vc.width);
      features.push(apply(apply(joined, this.weights.merger0).map(gelu), this.weights.merger2));
    }
    return features;
  }

  /** Qwen2VLProcessor: each <|image_pad|> becomes (h·w / merge²) of them. */
  expandPrompt(inputIds: readonly number[], grids: readonly { h: number; w: number }[]): number[] {
    const m = this.config.vision.mergeSize;
    const out: number[] = [];
    let k = 0;
    for (const id of inputIds) {
      if (id !== this.config.imageTokenId) out.push(id);
      else {
        const g = grids[k++];
        for (let i = 0; i < (g.h * g.w) / (m * m); i++) out.push(id);
      }
    }
    if (k !== grids.length) throw new RangeError(`${k} image placeholders for ${grids.length} images`);
    return out;
  }

  /**
   * get_rope_index for still images: each image is found as the first <|image_pad|> after the cursor
   * and takes t·(h/m)·(w/m) tokens; text runs count on from one past the largest position so far.
   */
  ropeIndex(expandedIds: readonly number[], grids: readonly { h: number; w: number }[]): number[][] {
    const m = this.config.vision.mergeSize;
    const streams: number[][] = [[], [], []];
    let cursor = 0;
    let start = 0;
    const pushText = (count: number) => {
      for (let i = 0; i < count; i++) for (const s of streams) s.push(start + i);
      start += count;
    };
    for (const grid of grids) {
      const at = expandedIds.indexOf(this.config.imageTokenId, cursor);
      if (at < 0) throw new RangeError('fewer image tokens than images');
      pushText(at - cursor);
      const rows = grid.h / m;
      const cols = grid.w / m;
      for (let r = 0; r < rows; r++)
        for (let c = 0; c < cols; c++) {
          streams[0].push(start);
          streams[1].push(start + r);
          streams[2].push(start + c);
        }
      start += Math.max(rows, cols);
      cursor = at + rows * cols;
    }
    pushText(expandedIds.length - cursor);
    return streams;
  }

  /** Every image of the input (the first, then the extra ones) as flattened patches. */
  private allPatches(input: QwenReferenceInput): QwenPatches[] {
    const first = input.patches ?? this.preprocess(input.image!);
    return [first, ...(input.extraImages ?? []).map((image) => this.preprocess(image))];
  }

  forward(input: QwenReferenceInput): QwenReferenceOutput {
    const patches = this.allPatches(input);
    return this.run(
      input,
      patches,
      patches.map((p) => this.imageFeatures(p)),
    );
  }

  /** Greedy decoding, recomputing the whole sequence each step; returns the new tokens (eos included). */
  generate(input: QwenReferenceInput, options: { maxNewTokens: number; eosTokenIds?: number[] }): number[] {
    const eos = options.eosTokenIds ?? this.config.text.eosTokenIds;
    const patches = this.allPatches(input);
    const features = patches.map((p) => this.imageFeatures(p));
    return greedyDecode(input.inputIds, options.maxNewTokens, eos, (ids) => {
      const { logits } = this.run({ ...input, inputIds: ids, readoutRows: [] }, patches, features);
      return logits[logits.length - 1];
    });
  }

  private run(input: QwenReferenceInput, patches: QwenPatches[], features: Vector[][]): QwenReferenceOutput {
    const { text, mropeSection, imageTokenId } = this.config;
    const grids = patches.map((p) => p.grid);
    const expandedIds = this.expandPrompt(input.inputIds, grids);
    for (const id of expandedIds)
      if (!Number.isInteger(id) || id < 0 || id >= text.vocabSize) throw new RangeError(`token id ${id}`);
    // Each image's tokens are one run of <|image_pad|>; its features go there (masked_scatter order).
    const spans: Array<[number, number]> = [];
    expandedIds.forEach((id, i) => {
      if (id !== imageTokenId) return;
      if (spans.length > 0 && spans[spans.length - 1][1] === i) spans[spans.length - 1][1] = i + 1;
      else spans.push([i, i + 1]);
    });
    const embeddings = embed(this.weights.decoder, expandedIds);
    spans.forEach(([start, end], k) => {
      if (end - start !== features[k].length) throw new RangeError(`image ${k}: ${end - start} tokens`);
      features[k].forEach((f, i) => (embeddings[start + i] = Float64Array.from(f)));
    });
    const positions = this.ropeIndex(expandedIds, grids);
    // M-RoPE: frequency j turns by stream 0 (temporal), 1 (height) or 2 (width) per mrope_section.
    const inv = ropeInverseFrequencies(text.headDim, text.ropeTheta);
    const streamOf = Array.from(inv, (_, j) =>
      j < mropeSection[0] ? 0 : j < mropeSection[0] + mropeSection[1] ? 1 : 2,
    );
    const rotary = (x: Vector, i: number) =>
      rotate(
        x,
        Float64Array.from(inv, (f, j) => positions[streamOf[j]][i] * f),
      );
    const readoutRows = input.readoutRows ?? [expandedIds.length - 1];
    // Interventions act on the first image, as FusionScope defines them.
    const edits = resolveInterventions(input.interventions ?? [], spans[0], text.layers, embeddings.length);
    const out = decoderForward(text, this.weights.decoder, embeddings, edits, readoutRows, rotary);
    return {
      ...out,
      imageFeatures: features[0],
      imageTokenSpan: spans[0],
      imageTokenSpans: spans,
      expandedIds,
      positions,
      patches: patches[0],
    };
  }
}

export interface QwenReferenceInput {
  /** Prompt ids with one <|image_pad|> for the image (the processor's expansion is done here). */
  inputIds: readonly number[];
  /** The source image (preprocessed here), or already flattened patches. */
  image?: RgbImage;
  patches?: QwenPatches;
  /** More images after the first, each with its own <|image_pad|> in the prompt. */
  extraImages?: readonly RgbImage[];
  interventions?: readonly ReferenceIntervention[];
  readoutRows?: readonly number[];
}

/** ReferenceOutput (imageFeatures and imageTokenSpan: the first image's) and what Qwen adds. */
export interface QwenReferenceOutput extends ReferenceOutput {
  /** Every image's span, in prompt order. */
  imageTokenSpans: Array<[number, number]>;
  expandedIds: number[];
  /** M-RoPE position ids [3][tokens]. */
  positions: number[][];
  patches: QwenPatches;
}
