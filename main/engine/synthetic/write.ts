/**
 * Writes a dataset folder (FORMAT.md). Everything goes into a temporary sibling folder that is renamed
 * into place only when complete, so a killed run never leaves a half-written dataset at `out`.
 */
import {
  existsSync,
  mkdirSync,
  readdirSync,
  renameSync,
  rmSync,
  writeFileSync,
  openSync,
  closeSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';

import { FusionError } from '../../common/errors.ts';
import { activeFamilies, generateImageItems, resolveOptions, usesOptInFamilies } from './generate.ts';
import { encodePng, renderScene } from './render.ts';
import { ALL_FAMILIES } from './types.ts';
import type { Family, GenerateOptions, PopeSubtype, QuestionRegions } from './types.ts';
import { VOCABULARY, VOCABULARY_EXTENDED } from './vocabulary.ts';

export const DATASET_FORMAT = 'fusionscope-vqa';
export const DATASET_VERSION = 1;

export interface WriteOptions extends GenerateOptions {
  /** Destination folder; must not exist (or be empty) unless `overwrite`. */
  out: string;
  name?: string;
  overwrite?: boolean;
  onProgress?: (written: number, total: number) => void;
}

export interface WriteSummary {
  dir: string;
  split: string;
  count: number;
  families: Record<Family, number>;
  popeSubtypes: Record<PopeSubtype, number>;
  answers: { yes: number; no: number };
}

export interface DatasetManifest {
  format: typeof DATASET_FORMAT;
  version: typeof DATASET_VERSION;
  name: string;
  split: string;
  seed: number;
  imageSize: number;
  /** Items (questions); with several questions per image, more than the images. */
  count: number;
  /** Present when above 1: each image is asked this many questions (at least two) about disjoint boxes. */
  questionsPerImage?: number;
  /** Present when `any`: the image's questions are any distinct ones, regions free to overlap. */
  questionRegions?: QuestionRegions;
  families: Family[];
  vocabulary: string[];
  boxFormat: 'xyxy-pixels';
}

function isEmptyDir(path: string): boolean {
  try {
    return readdirSync(path).length === 0;
  } catch {
    return false;
  }
}

export function writeDataset(options: WriteOptions): WriteSummary {
  const resolved = resolveOptions(options);
  const dir = resolve(options.out);
  if (existsSync(dir) && !options.overwrite && !isEmptyDir(dir))
    throw new FusionError(
      'BAD_ARGUMENT',
      `out: ${dir} already exists and is not empty (pass overwrite / --force)`,
    );

  const parent = dirname(dir);
  mkdirSync(parent, { recursive: true });
  // Same parent folder, so the final rename stays on one filesystem (atomic).
  const tag = `${process.pid}-${Date.now().toString(36)}`;
  const tmp = join(parent, `.${basename(dir)}.tmp-${tag}`);
  mkdirSync(join(tmp, 'images'), { recursive: true });

  const summary: WriteSummary = {
    dir,
    split: resolved.split,
    count: resolved.count,
    families: Object.fromEntries(ALL_FAMILIES.map((f) => [f, 0])) as Record<Family, number>,
    popeSubtypes: { random: 0, popular: 0, adversarial: 0 },
    answers: { yes: 0, no: 0 },
  };
  try {
    const manifest: DatasetManifest = {
      format: DATASET_FORMAT,
      version: DATASET_VERSION,
      name: options.name ?? `synthetic-vqa-${resolved.split}`,
      split: resolved.split,
      seed: resolved.seed,
      imageSize: resolved.imageSize,
      count: 0,
      ...(resolved.questionsPerImage > 1 ? { questionsPerImage: resolved.questionsPerImage } : {}),
      ...(resolved.questionRegions === 'any' ? { questionRegions: resolved.questionRegions } : {}),
      families: activeFamilies(resolved.weights),
      // The v1 list unless an opt-in family is asked (FORMAT.md), so default manifests stay unchanged.
      vocabulary: [...(usesOptInFamilies(resolved.weights) ? VOCABULARY_EXTENDED : VOCABULARY)],
      boxFormat: 'xyxy-pixels',
    };
    const jsonl = openSync(join(tmp, 'items.jsonl'), 'w');
    try {
      for (let i = 0; i < resolved.count; i++) {
        const items = generateImageItems(resolved, i);
        // A group's questions share their scene, so one image file serves them all.
        writeFileSync(join(tmp, items[0].image), encodePng(renderScene(items[0].scene)));
        for (const item of items) {
          writeSync(jsonl, `${JSON.stringify(item)}\n`);
          summary.families[item.family]++;
          if (item.subtype) summary.popeSubtypes[item.subtype]++;
          if (item.answers[0] === 'yes') summary.answers.yes++;
          if (item.answers[0] === 'no') summary.answers.no++;
        }
        manifest.count += items.length;
        if (options.onProgress && (i + 1) % 1000 === 0) options.onProgress(i + 1, resolved.count);
      }
      summary.count = manifest.count;
    } finally {
      closeSync(jsonl);
    }
    // The manifest goes last: a folder with dataset.json is a finished dataset even before the rename.
    writeFileSync(join(tmp, 'dataset.json'), `${JSON.stringify(manifest, null, 2)}\n`);

    if (existsSync(dir)) {
      // rename() cannot replace a non-empty folder: move the old one aside first, delete it after.
      const old = join(parent, `.${basename(dir)}.old-${tag}`);
      renameSync(dir, old);
      renameSync(tmp, dir);
      rmSync(old, { recursive: true, force: true });
    } else {
      renameSync(tmp, dir);
    }
  } catch (error) {
    rmSync(tmp, { recursive: true, force: true });
    throw error;
  }
  return summary;
}
