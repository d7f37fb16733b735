/**
 * The GPU check's numerics step (bench/gpu.sh): a tiny checkpoint opened on the given provider in
 * each precision, its last-position logits compared with the float64 reference on the same weights
 * (rounded to the precision). Prints the errors; the bar is the CPU tests' (1e-4 on rounded weights).
 *
 *   npx tsx bench/gpuNumerics.ts [--provider auto|cuda|webgpu|…]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import { forward, prepareSample } from '../main/engine/inference/forward.ts';
import { openModel } from '../main/engine/model/openModel.ts';
import { isProviderRequest } from '../main/engine/runtime/providers.ts';
import { ReferenceLlava } from '../native-models/reference/llava.ts';
import {
  bf16ToFloat32,
  f16ToFloat32,
  floatToBf16,
  floatToHalf,
} from '../native-models/safetensors/dtypes.ts';
import { maxRelativeError } from '../native-models/testing/compare.ts';
import { lcgImage } from '../native-models/testing/random.ts';
import { rewriteCheckpoint } from '../native-models/testing/rewrite.ts';
import { writeTinyLlava } from '../native-models/testing/tinyLlava.ts';

const { values } = parseArgs({ options: { provider: { type: 'string', default: 'auto' } } });
const provider = values.provider ?? 'auto';
if (!isProviderRequest(provider)) throw new Error(`unknown provider ${provider}`);

const ROUND = {
  fp32: (data: Float32Array) => data,
  fp16: (data: Float32Array) => f16ToFloat32(Uint16Array.from(data, floatToHalf)),
  bf16: (data: Float32Array) => bf16ToFloat32(Uint16Array.from(data, floatToBf16)),
};

const root = await mkdtemp(join(tmpdir(), 'fusionscope-gpu-numerics-'));
try {
  const checkpoint = join(root, 'f32');
  await writeTinyLlava(checkpoint, { seed: 31, dtype: 'F32', layout: 'modern' });
  for (const precision of ['fp32', 'fp16', 'bf16'] as const) {
    const rounded = join(root, precision);
    await rewriteCheckpoint(checkpoint, rounded, {
      tensors: (tensors) => tensors.forEach((t) => (t.data = ROUND[precision](t.data))),
    });
    const reference = await ReferenceLlava.load(rounded);
    const model = await openModel(checkpoint, { provider, precision, cacheDir: join(root, 'cache') });
    try {
      const sample = await prepareSample(model, {
        image: lcgImage(5, 40, 30),
        prompt: { kind: 'question', text: 'what color is the shape left of the square' },
      });
      const ours = await forward(model, sample, { interventions: [{ mode: 'knockout', layers: [1] }] });
      const expected = reference
        .forward({
          inputIds: [...sample.expandedIds],
          pixelValues: sample.image.pixelValues,
          imageSize: [sample.image.height, sample.image.width],
          interventions: [{ mode: 'knockout', layers: [1] }],
        })
        .logits.at(-1)!;
      const error = maxRelativeError(ours.lastLogits, expected);
      console.log(
        `${model.provider.provider} ${precision}: logits vs float64 reference on ${precision}-rounded weights ${error.toExponential(2)} (bar 1e-4)`,
      );
    } finally {
      await model.close();
    }
  }
} finally {
  await rm(root, { recursive: true, force: true });
}
