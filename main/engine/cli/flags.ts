/**
 * Flag parsing shared by every command: one option table, typed reads that name the flag and the bad
 * value, and the model/atomic-output helpers commands share.
 */
import { constants } from 'node:fs';
import { access, rename, stat, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

import { shownPath } from '../../../native-models/files/messageText.ts';

import { FusionError } from '../../common/errors.ts';
import { DEMO_MODEL_DIR } from '../demo.ts';
import { defaultModelCacheDir } from '../model/modelCache.ts';
import { openModel, type LoadedModel, type OpenModelOptions } from '../model/openModel.ts';
import { isPrecision, PRECISIONS } from '../../../native-models/onnx/storage.ts';
import { isProviderRequest, PROVIDERS, type ProviderRequest } from '../runtime/providers.ts';

/** The flags of the commands other than the analyses (whose flags come from their settings). */
export const OPTIONS = {
  model: { type: 'string' },
  revision: { type: 'string' },
  dataset: { type: 'string' },
  'dataset-format': { type: 'string' },
  count: { type: 'string' },
  image: { type: 'string' },
  question: { type: 'string' },
  prompt: { type: 'string' },
  json: { type: 'string' },
  provider: { type: 'string' },
  precision: { type: 'string' },
  'model-cache': { type: 'string' },
  key: { type: 'string' },
  'max-new-tokens': { type: 'string' },
  'mask-mode': { type: 'string' },
  'mask-layers': { type: 'string' },
  'mask-tokens': { type: 'string' },
  'mask-scale': { type: 'string' },
  'mask-heads': { type: 'string' },
  'mask-queries': { type: 'string' },
  'attention-rows': { type: 'string' },
  'per-head': { type: 'boolean' },
  'hidden-states': { type: 'boolean' },
  'per-generated-token': { type: 'boolean' },
  'pad-to-square': { type: 'boolean' },
  workspace: { type: 'string' },
  limit: { type: 'string' },
  resume: { type: 'string' },
  run: { type: 'string' },
  out: { type: 'string' },
  format: { type: 'string' },
  force: { type: 'boolean' },
  queue: { type: 'string' },
  'queue-window': { type: 'string' },
  concurrency: { type: 'string' },
  'lock-ms': { type: 'string' },
  'worker-id': { type: 'string' },
  jobs: { type: 'string' },
  threads: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** The common flags, typed; an analysis's own flags are read through its fields (cli/analysisFlags.ts). */
export type Flags = {
  [K in keyof typeof OPTIONS]?: (typeof OPTIONS)[K]['type'] extends 'boolean' ? boolean : string;
} & { readonly [flag: string]: string | boolean | undefined };

export function required(flags: Flags, name: keyof Flags): string {
  const value = flags[name];
  if (typeof value !== 'string' || value === '')
    throw new FusionError('BAD_ARGUMENT', `--${name} is required`);
  return value;
}

export function parseIntList(text: string, flag: string): number[] {
  return text.split(',').map((part) => {
    const trimmed = part.trim();
    if (!/^\d+$/.test(trimmed)) {
      throw new FusionError(
        'BAD_ARGUMENT',
        `--${flag}: "${trimmed}" is not a non-negative integer (expected e.g. 1,3)`,
      );
    }
    return Number(trimmed);
  });
}

/**
 * `--model A,B`: the models a command runs on, comma-separated, in the order given (`fusionscope
 * worker` holds them, `analyze` runs and compares them); `fallback` when the flag is absent. A model
 * named twice is refused: it would be computed (or held) twice.
 */
export function modelList(flags: Flags, fallback: readonly string[]): string[] {
  if (flags.model === undefined) return [...fallback];
  const models = flags.model
    .split(',')
    .map((m) => m.trim())
    .filter(Boolean);
  if (models.length === 0) {
    throw new FusionError('BAD_ARGUMENT', `--model ${JSON.stringify(flags.model)} names no model`);
  }
  const twice = models.find((m, i) => models.indexOf(m) !== i);
  if (twice !== undefined) {
    throw new FusionError('BAD_ARGUMENT', `--model names ${JSON.stringify(twice)} twice`);
  }
  return models;
}

/** A flag that counts something: 1 or more. */
export function positiveInt(text: string, flag: string): number {
  const value = Number(text.trim());
  if (!/^\d+$/.test(text.trim()) || value < 1) {
    throw new FusionError('BAD_ARGUMENT', `--${flag}: "${text}" is not a whole number of 1 or more`);
  }
  return value;
}

export function parseNumber(text: string, flag: string): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value))
    throw new FusionError('BAD_ARGUMENT', `--${flag}: "${text}" is not a number`);
  return value;
}

export function providerFlag(flags: Flags): ProviderRequest {
  const value = flags.provider ?? 'auto';
  if (!isProviderRequest(value)) {
    throw new FusionError('BAD_ARGUMENT', `--provider: "${value}" is not one of ${PROVIDERS.join(', ')}`);
  }
  return value;
}

/** How --revision, --provider, --precision and --model-cache ask for a model to be opened. */
export function modelOptions(flags: Flags): OpenModelOptions {
  const precision = flags.precision ?? 'auto';
  if (!isPrecision(precision)) {
    throw new FusionError(
      'BAD_ARGUMENT',
      `--precision: "${precision}" is not one of ${PRECISIONS.join(', ')}`,
    );
  }
  return {
    revision: flags.revision,
    provider: providerFlag(flags),
    precision,
    cacheDir: modelCacheFlag(flags),
    ...(flags.threads !== undefined ? { threads: positiveInt(flags.threads, 'threads') } : {}),
  };
}

export function modelCacheFlag(flags: Flags): string {
  return flags['model-cache'] ?? defaultModelCacheDir();
}

/**
 * Refuses an output path that could not be written, before any model is opened: its folder must
 * exist and be writable, and the path must not be a folder. Found only when the result is written,
 * such a mistake would throw away the whole computation.
 */
export async function checkOutputFile(path: string, flag: keyof Flags): Promise<void> {
  const target = resolve(path);
  const folder = dirname(target);
  const folderStats = await stat(folder).catch(() => undefined);
  if (!folderStats?.isDirectory()) {
    throw new FusionError('BAD_ARGUMENT', `--${flag}: the folder ${shownPath(folder)} does not exist`);
  }
  try {
    await access(folder, constants.W_OK);
  } catch {
    throw new FusionError('BAD_ARGUMENT', `--${flag}: cannot write in the folder ${shownPath(folder)}`);
  }
  if ((await stat(target).catch(() => undefined))?.isDirectory()) {
    throw new FusionError('BAD_ARGUMENT', `--${flag}: ${shownPath(target)} is a folder; give a file name`);
  }
}

/** Writes beside the target and renames, so readers never see a half-written file. */
export async function writeJsonAtomically(path: string, value: unknown): Promise<void> {
  const temp = `${path}.${process.pid}.tmp`;
  await writeFile(temp, JSON.stringify(value));
  await rename(temp, path);
}

export async function withModel<T>(flags: Flags, body: (model: LoadedModel) => Promise<T>): Promise<T> {
  const model = await openModel(flags.model ?? DEMO_MODEL_DIR, modelOptions(flags));
  try {
    return await body(model);
  } finally {
    await model.close();
  }
}
