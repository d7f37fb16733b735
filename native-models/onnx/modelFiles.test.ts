/**
 * writeModelFiles: weights in one external data file in their storage precision, widened in the
 * graph, shared between graphs and between row views (the sliced vocabulary projection), checked by
 * running the files in ONNX Runtime against float64 arithmetic on the same (rounded) weights.
 */
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { embeddingLookup, vocabChunkRows, vocabProjection } from '../blocks/linear.ts';
import { bf16ToFloat32, floatToBf16 } from '../safetensors/dtypes.ts';
import { maxRelativeError } from '../testing/compare.ts';
import { GraphBuilder } from './builder.ts';
import { TensorDataType } from './encode.ts';
import type { WeightSource } from './materialize.ts';
import { writeModelFiles, WEIGHTS_FILE } from './modelFiles.ts';

const VOCAB = 40;
// 2048-wide bf16 rows are 4 KiB: a 64 KiB-aligned slice can start every 16 rows.
const WIDTH = 2048;
const ROWS = 3;

let dir: string;
const table = Float32Array.from({ length: VOCAB * WIDTH }, (_, i) => Math.sin(i * 0.37) * 0.5);

function source(dtype: 'F32' | 'BF16'): WeightSource {
  const raw =
    dtype === 'F32'
      ? new Uint8Array(table.buffer.slice(0))
      : new Uint8Array(Uint16Array.from(table, floatToBf16).buffer);
  return {
    shapeOf: (name) => (name === 'table' ? [VOCAB, WIDTH] : undefined),
    dtypeOf: (name) => (name === 'table' ? dtype : undefined),
    readRaw: async () => raw,
  };
}

/** An embed graph and a projection graph over one table, the projection in slices of at most 16 KiB widened. */
function graphs() {
  const embed = new GraphBuilder('embed');
  const ids = embed.input('ids', TensorDataType.INT64, [1, 'T']);
  embed.output(embeddingLookup(embed, 'table', [VOCAB, WIDTH], ids), 'embeds', TensorDataType.FLOAT, [
    1,
    'T',
    WIDTH,
  ]);
  const head = new GraphBuilder('head');
  const x = head.input('x', TensorDataType.FLOAT, [1, 'R', WIDTH]);
  head.output(vocabProjection(head, x, 'table', WIDTH, VOCAB, 16 * 1024), 'logits', TensorDataType.FLOAT, [
    1,
    'R',
    VOCAB,
  ]);
  return [
    { file: 'embed', label: 'embed', built: embed.build() },
    { file: 'head', label: 'head', built: head.build() },
  ];
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fusionscope-modelfiles-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('GraphBuilder weights', () => {
  it('refuses one tensor declared both as stored and as widened', () => {
    const g = new GraphBuilder('conflict');
    g.weight('table', [2, 2], { storedAsIs: true });
    expect(g.weight('table', [2, 2], { storedAsIs: true })).toBe('table');
    expect(() => g.weight('table', [2, 2])).toThrow(
      /conflict: weight table is declared both as stored and as widened/,
    );
  });
});

describe('vocabChunkRows', () => {
  it.each([4096, 3584, 1536, 5120, 7168, 160])(
    'width %i: slices start on 64 KiB and fit the budget',
    (width) => {
      const rows = vocabChunkRows(width);
      expect((rows * 2 * width) % 65536).toBe(0);
      expect(rows * 4 * width).toBeLessThanOrEqual(Math.max(128 * 2 ** 20, (65536 / 2) * 4));
    },
  );
});

describe.each(['F32', 'BF16'] as const)('writeModelFiles with a %s table stored as bf16', (dtype) => {
  let sub: string;
  beforeAll(async () => {
    sub = join(dir, dtype);
    await import('node:fs/promises').then((fs) => fs.mkdir(sub));
    await writeModelFiles(sub, graphs(), source(dtype), { precision: 'bf16', inlineLimitBytes: 0 });
  });

  it('stores the table once, in 16 bits, shared by the lookup and every projection slice', async () => {
    expect((await stat(join(sub, WEIGHTS_FILE))).size).toBe(VOCAB * WIDTH * 2);
    const head = await readFile(join(sub, 'head.onnx'));
    // Slices of 16 rows (the aligned minimum), so 3 views; each read through a Cast.
    expect(vocabChunkRows(WIDTH, 16 * 1024)).toBe(16);
    const views = head.toString('latin1').match(/table\[\d+:\d+\]\/bf16/g) ?? [];
    expect(new Set(views)).toEqual(new Set(['table[0:16]/bf16', 'table[16:32]/bf16', 'table[32:40]/bf16']));
  });

  it('computes x·Wᵀ and the lookup on the rounded table to float32 accuracy (1e-5)', async () => {
    const rounded = bf16ToFloat32(Uint16Array.from(table, floatToBf16));
    const x = Float32Array.from({ length: ROWS * WIDTH }, (_, i) => Math.cos(i * 0.11));
    const head = await ort.InferenceSession.create(join(sub, 'head.onnx'));
    const { logits } = await head.run({ x: new ort.Tensor('float32', x, [1, ROWS, WIDTH]) });
    expect(logits.dims).toEqual([1, ROWS, VOCAB]);
    const expected = new Float64Array(ROWS * VOCAB);
    for (let r = 0; r < ROWS; r++)
      for (let v = 0; v < VOCAB; v++)
        for (let k = 0; k < WIDTH; k++) expected[r * VOCAB + v] += x[r * WIDTH + k] * rounded[v * WIDTH + k];
    // float32 sums of 2048 products: ~√2048 ulp.
    expect(maxRelativeError(logits.data as Float32Array, expected)).toBeLessThan(1e-5);

    const embed = await ort.InferenceSession.create(join(sub, 'embed.onnx'));
    const { embeds } = await embed.run({
      ids: new ort.Tensor('int64', BigInt64Array.of(0n, 39n, 16n), [1, 3]),
    });
    expect([...(embeds.data as Float32Array)]).toEqual([
      ...rounded.subarray(0, WIDTH),
      ...rounded.subarray(39 * WIDTH, 40 * WIDTH),
      ...rounded.subarray(16 * WIDTH, 17 * WIDTH),
    ]);
    await Promise.all([head.release(), embed.release()]);
  });
});
