/**
 * What the tiny checkpoint writers (tinyLlava, tinyQwen, tinyInstructBlip) share: seeded parameters
 * materialised by logical name, their layout-specific tensor names, the sorted tensor list for
 * writeSafetensors, torch_dtype names, JSON files, and the added-token entries of tokenizer.json and
 * tokenizer_config.json.
 */
import { writeFile } from 'node:fs/promises';

import type { TensorToWrite } from '../safetensors/write.ts';
import { hashSeed, mulberry32, normals } from './random.ts';

export interface Param {
  /** Layout-independent name, used to seed the tensor's values. */
  logical: string;
  shape: number[];
  std: number;
  /** Added to every value (1 for norm weights). */
  mean?: number;
}

/** A parameter under its checkpoint tensor name. */
export interface NamedParam {
  name: string;
  param: Param;
}

/** The decoder sizes every tiny writer's text options carry. */
export interface TinyDecoderSizes {
  hiddenSize: number;
  layers: number;
  heads: number;
  kvHeads: number;
  intermediateSize: number;
  ropeTheta: number;
  rmsNormEps: number;
  tieWordEmbeddings: boolean;
}

/** The LLaMA/Qwen2 text config's size fields, vocab_size to rope_theta, in transformers' order. */
export function decoderConfigFields(
  t: TinyDecoderSizes,
  vocabSize: number,
  maxPositionEmbeddings: number,
): Record<string, unknown> {
  return {
    vocab_size: vocabSize,
    hidden_size: t.hiddenSize,
    intermediate_size: t.intermediateSize,
    num_hidden_layers: t.layers,
    num_attention_heads: t.heads,
    num_key_value_heads: t.kvHeads,
    hidden_act: 'silu',
    max_position_embeddings: maxPositionEmbeddings,
    rms_norm_eps: t.rmsNormEps,
    rope_theta: t.ropeTheta,
  };
}

export const TORCH_DTYPE = { F32: 'float32', F16: 'float16', BF16: 'bfloat16' } as const;

/** The parameter's values: normals seeded by (seed, logical name), times std, plus mean. */
export function materialize(seed: number, param: Param): Float32Array {
  const count = param.shape.reduce((a, b) => a * b, 1);
  const values = normals(mulberry32(hashSeed(seed, param.logical)), count);
  for (let i = 0; i < count; i++) values[i] = values[i] * param.std + (param.mean ?? 0);
  return values;
}

/** Tensor names `namePrefix + logical`, logical names `logicalPrefix + logical`. */
export function withNames(params: Param[], logicalPrefix: string, namePrefix: string): NamedParam[] {
  return params.map((param) => ({
    name: namePrefix + param.logical,
    param: { ...param, logical: logicalPrefix + param.logical },
  }));
}

/** Every named parameter materialised in `dtype`, unsorted. */
export function materializeNamed(
  named: readonly NamedParam[],
  seed: number,
  dtype: TensorToWrite['dtype'],
): TensorToWrite[] {
  return named.map(({ name, param }) => ({
    name,
    dtype,
    shape: param.shape,
    data: materialize(seed, param),
  }));
}

/** Tensors in code-unit order of their names, as the writers store them. */
export function sortedByName<T extends { name: string }>(tensors: T[]): T[] {
  return tensors.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

export async function writeJson(file: string, value: unknown): Promise<void> {
  await writeFile(file, JSON.stringify(value, null, 2) + '\n');
}

/** A special token in tokenizer.json's added_tokens. */
export function addedTokenEntry(id: number, content: string) {
  return { id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true };
}

/** A special token in tokenizer_config.json's added_tokens_decoder. */
export function addedTokenDecoder(content: string) {
  return { content, lstrip: false, normalized: false, rstrip: false, single_word: false, special: true };
}
