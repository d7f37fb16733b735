/**
 * `npm run bench -- --shape llava-1.5-7b` (or qwen2-vl-2b, qwen2-vl-7b): a random-weight checkpoint
 * in that hub shape is written to a temporary folder (or --dir), then timed and measured as a
 * researcher would use it: cold open (building the model cache), warm open, peak RSS, one traced
 * forward (attention read from every question row), and a one-sample full-depth knockout sweep.
 * Prints numbers, never asserts. Everything it wrote is deleted unless --keep.
 */
import { mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { HUB_SHAPES } from './hubShapes.ts';
import { sweepConfig } from '../main/engine/analyses/sweep.ts';
import { sweepSample } from '../main/engine/experiments/sweep.ts';
import { forward, prepareSample } from '../main/engine/inference/forward.ts';
import { gib } from '../main/engine/model/modelCache.ts';
import { openModel } from '../main/engine/model/openModel.ts';
import type { ProviderRequest } from '../main/engine/runtime/providers.ts';
import type { Precision } from '../native-models/onnx/storage.ts';

export interface RealSizeOptions {
  readonly shape: string;
  readonly provider: ProviderRequest;
  readonly precision: Precision;
  /** Where the checkpoint and its cache go (default: a new folder under the OS temp dir). */
  readonly dir?: string;
  /** Keep the checkpoint and cache afterwards (a second run then skips writing and building). */
  readonly keep: boolean;
  readonly mode: 'knockout' | 'hidden';
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const peakRss = () => gib(process.resourceUsage().maxRSS * 1024);

async function timed<T>(label: string, body: () => Promise<T>): Promise<T> {
  const start = performance.now();
  const result = await body();
  console.log(`${label}: ${seconds(performance.now() - start)}  (peak RSS so far ${peakRss()})`);
  return result;
}

export async function realSizeBench(options: RealSizeOptions): Promise<void> {
  const shape = HUB_SHAPES[options.shape];
  if (!shape) {
    throw new Error(`unknown --shape ${options.shape} (expected ${Object.keys(HUB_SHAPES).join(', ')})`);
  }
  const root = options.dir ?? join(tmpdir(), `fusionscope-bench-${options.shape}`);
  const checkpoint = join(root, 'checkpoint');
  const cacheDir = join(root, 'model-cache');
  console.log(`shape: ${shape.description}`);
  console.log(`folder: ${root} (deleted afterwards${options.keep ? ': no, --keep' : ''})`);
  try {
    await mkdir(root, { recursive: true });
    const written = await import('node:fs/promises').then((fs) =>
      fs.stat(join(checkpoint, 'config.json')).then(
        () => true,
        () => false,
      ),
    );
    if (!written) await timed('write random-weight checkpoint', () => shape.write(checkpoint));
    const open = () =>
      openModel(checkpoint, { provider: options.provider, precision: options.precision, cacheDir });
    const cold = await timed('open (cold: builds the model cache, or finds it from a kept run)', open);
    const info = cold.info();
    console.log(
      `  ${info.parameterCount.toLocaleString('en-US')} parameters (${info.weightsDtype}), precision ${info.precision}: ` +
        `${gib(info.storedWeightBytes)} of weights, cache entry ${gib(info.cache.bytes)}, provider ${info.executionProvider}`,
    );
    await cold.close();
    const model = await timed('open (warm: cache built)', open);
    try {
      const side = model.spec.imageSize.width;
      const image = {
        width: side,
        height: side,
        data: Uint8Array.from({ length: side * side * 3 }, (_, i) => (i * 37) % 251),
      };
      const sample = await prepareSample(model, {
        image,
        prompt: { kind: 'question', text: 'What color is the shape to the left of the red square?' },
      });
      const tokens = sample.expandedIds.length;
      console.log(`  prompt: ${tokens} tokens (${sample.imageLayout.count} image tokens)`);
      await timed('trace (one forward, attention from every question row, every layer)', () =>
        forward(model, sample, { attentionRows: 'question' }),
      );
      const layers = model.spec.decoder.layers;
      await timed(`one-sample ${layers}-layer ${options.mode} sweep (one-token answers)`, () =>
        sweepSample(model, sample, sweepConfig.parse({ mode: options.mode, maxNewTokens: 1 })),
      );
    } finally {
      await model.close();
    }
    console.log(`peak RSS of the whole run: ${peakRss()}`);
  } finally {
    if (!options.keep) await rm(root, { recursive: true, force: true });
  }
}
