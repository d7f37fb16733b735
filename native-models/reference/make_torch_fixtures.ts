/**
 * Dev tool: regenerates fixtures/torch-<variant>.json, the PyTorch oracle that torch.test.ts checks the
 * TS float64 reference against. Needs PyTorch (Debian's python3-torch is enough); the test does not.
 *
 *   npx tsx native-models/reference/make_torch_fixtures.ts
 *
 * For each variant: writes the tiny checkpoint (deterministic from its options), tokenizes the prompt,
 * builds the pixels from their recipe, runs torch_llava.py for every intervention run, and stores the
 * outputs rounded to 9 significant digits. Set FUSIONSCOPE_TORCH_PYTHON to use another interpreter.
 */
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { writeTinyLlava } from '../testing/tinyLlava.ts';
import { IMAGE_TOKEN, buildTinyTokenizer, encodeTiny } from '../testing/tinyTokenizer.ts';
import { selectBestResolution, unpadRange } from './llavaNext.ts';
import {
  TORCH_ANYRES_SIZES,
  TORCH_PROMPT,
  TORCH_RUNS,
  TORCH_VARIANTS,
  patchRecipe,
  pixelRecipe,
  pixelsFromRecipe,
  type TorchFixture,
  type TorchRun,
} from './torchFixture.ts';

const here = fileURLToPath(new URL('.', import.meta.url));
const python = process.env.FUSIONSCOPE_TORCH_PYTHON ?? '/usr/bin/python3';

interface TorchResult {
  image_span: [number, number];
  runs: Record<string, { logits: number[]; attention: number[][]; hidden: number[][] }>;
}

const round = (x: number): number => Number(x.toPrecision(9));
const roundAll = (rows: number[][]): number[][] => rows.map((r) => r.map(round));

/** JSON with objects and arrays of arrays indented, arrays of numbers on one line. */
function format(value: unknown, indent = ''): string {
  const inner = indent + '  ';
  if (Array.isArray(value)) {
    if (value.every((v) => typeof v === 'number')) return JSON.stringify(value);
    return `[\n${value.map((v) => inner + format(v, inner)).join(',\n')}\n${indent}]`;
  }
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined);
    if (entries.length === 0) return '{}';
    return `{\n${entries.map(([k, v]) => `${inner}${JSON.stringify(k)}: ${format(v, inner)}`).join(',\n')}\n${indent}}`;
  }
  return JSON.stringify(value);
}

/** An any-resolution variant's patches (1 + tiles, from its size and pinpoints) and token count. */
function anyresInput(variant: string, config: object, size: number) {
  const imageSize = TORCH_ANYRES_SIZES[variant];
  if (!imageSize) return undefined;
  const pinpoints = (config as { image_grid_pinpoints: [number, number][] }).image_grid_pinpoints;
  const [h, w] = selectBestResolution(imageSize, pinpoints);
  const tiles = (h / size) * (w / size);
  const side = size / (config as { vision_config: { patch_size: number } }).vision_config.patch_size;
  const kept = unpadRange(imageSize, (h / size) * side, (w / size) * side);
  const rows = kept.rows[1] - kept.rows[0];
  const tokens = side * side + rows * (kept.cols[1] - kept.cols[0] + 1);
  const patches = Array.from({ length: 1 + tiles }, (_, i) => patchRecipe(size, i));
  return { imageSize, patches, tokens };
}

async function main(): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'fusionscope-torch-fixtures-'));
  const outDir = join(here, 'fixtures');
  await mkdir(outDir, { recursive: true });
  const tokenizer = buildTinyTokenizer();
  try {
    for (const [variant, options] of Object.entries(TORCH_VARIANTS)) {
      const dir = join(root, variant);
      const { config, imageTokensPerImage } = await writeTinyLlava(dir, options);
      const size = (config as { vision_config: { image_size: number } }).vision_config.image_size;
      const pixels = pixelRecipe(size);
      const anyres = anyresInput(variant, config, size);
      // The prompt needs the token count; torch_llava.py checks it against its own packing.
      const count = imageTokensPerImage ?? anyres!.tokens;
      const inputIds = encodeTiny(
        tokenizer,
        `USER: ${IMAGE_TOKEN.repeat(count)}\n${TORCH_PROMPT} ASSISTANT:`,
      );
      const recipes = anyres?.patches ?? [pixels];
      const request = {
        model: dir,
        input_ids: inputIds,
        pixel_values: recipes.flatMap((r) => Array.from(pixelsFromRecipe(r))),
        image_size: anyres?.imageSize,
        runs: Object.fromEntries(TORCH_RUNS.map((r) => [r.name, r.interventions])),
      };
      const requestFile = join(root, `${variant}.request.json`);
      await writeFile(requestFile, JSON.stringify(request));
      const proc = spawnSync(python, [join(here, 'torch_llava.py'), requestFile], {
        encoding: 'utf8',
        maxBuffer: 256 * 1024 * 1024,
      });
      if (proc.status !== 0) {
        throw new Error(`torch_llava.py failed for ${variant} (${proc.status}):\n${proc.stderr}`);
      }
      if (proc.stderr.trim()) process.stderr.write(proc.stderr);
      const result = JSON.parse(proc.stdout) as TorchResult;
      const runs: TorchRun[] = TORCH_RUNS.map(({ name, interventions }) => {
        const r = result.runs[name];
        return {
          name,
          interventions,
          logits: r.logits.map(round),
          attention: roundAll(r.attention),
          hidden: roundAll(r.hidden),
        };
      });
      const fixture: TorchFixture = {
        about:
          'Generated by native-models/reference/make_torch_fixtures.ts with torch_llava.py (PyTorch float64). ' +
          'Checkpoint: writeTinyLlava(dir, options); pixels: pixelsFromRecipe(pixels). Do not edit by hand.',
        variant,
        options,
        inputIds,
        imageTokenSpan: result.image_span,
        pixels,
        anyres: anyres && { imageSize: anyres.imageSize, patches: anyres.patches },
        runs,
      };
      const file = join(outDir, `torch-${variant}.json`);
      await writeFile(file, format(fixture) + '\n');
      console.log(`${file}: ${inputIds.length} tokens, image span ${result.image_span.join('…')}`);
    }
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

await main();
