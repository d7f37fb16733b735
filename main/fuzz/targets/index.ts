/** Every fuzz target, by name; the unit test and the long run (cli.ts) both run this list. */
import type { FuzzTarget } from '../target.ts';
import { apiTarget } from './api.ts';
import { bmpTarget } from './bmp.ts';
import { datasetsTarget } from './datasets.ts';
import { jpegTarget } from './jpeg.ts';
import { pngTarget } from './png.ts';
import { safetensorsTarget } from './safetensors.ts';
import { tokenizerTarget } from './tokenizer.ts';

export const FUZZ_TARGETS: readonly FuzzTarget[] = [
  safetensorsTarget,
  pngTarget,
  jpegTarget,
  bmpTarget,
  tokenizerTarget,
  datasetsTarget,
  apiTarget,
];

export function targetByName(name: string): FuzzTarget {
  const target = FUZZ_TARGETS.find((t) => t.name === name);
  if (target === undefined) {
    throw new Error(`unknown fuzz target "${name}"; known: ${FUZZ_TARGETS.map((t) => t.name).join(', ')}`);
  }
  return target;
}
