/**
 * Identities the run store matches on: a model folder's fingerprint (has the model changed since a run
 * began?) and a dataset's ordered item ids (is this the same set of items?).
 */
import { createHash } from 'node:crypto';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';

import { FusionError } from '../../common/errors.ts';
import { readRegularFile } from '../files/regularFile.ts';

/** Files whose change changes what a model computes; sizes and mtimes stand in for their (large) bytes. */
const WEIGHT_FILE = /\.(safetensors|bin|onnx|gguf|pt|pth)$/;
const CONFIG_FILES = ['config.json', 'generation_config.json', 'preprocessor_config.json', 'tokenizer.json'];

/**
 * sha256 over the config files' bytes and each weight file's name, size and mtime. Hashing the weights
 * themselves would take minutes for a 7B model; a copy with new mtimes yields a new fingerprint, which
 * only costs a fresh run, never a wrong resume. A `precision` other than auto (weights converted when
 * loaded) is part of the identity too, so an fp16 run never continues an fp32 one.
 */
export async function modelFingerprint(folder: string, precision = 'auto'): Promise<string> {
  let names: string[];
  try {
    names = (await readdir(folder)).sort();
  } catch (error) {
    throw new FusionError('MISSING_FILE', `cannot read model folder ${folder}`, { cause: error });
  }
  if (!names.includes('config.json')) {
    throw new FusionError('MISSING_FILE', `model folder ${folder} has no config.json`);
  }
  const hash = createHash('sha256');
  for (const name of names) {
    if (CONFIG_FILES.includes(name)) {
      hash
        .update(`file ${name}\n`)
        // A regular file only: a FIFO here would hang the read (files/regularFile.ts).
        .update(await readRegularFile(join(folder, name)))
        .update('\n');
    } else if (WEIGHT_FILE.test(name)) {
      const info = await stat(join(folder, name));
      hash.update(`weights ${name} ${info.size} ${Math.trunc(info.mtimeMs)}\n`);
    }
  }
  if (precision !== 'auto') hash.update(`precision ${precision}\n`);
  return hash.digest('hex');
}

export function itemsHash(ids: readonly string[]): string {
  return createHash('sha256').update(JSON.stringify(ids)).digest('hex');
}
