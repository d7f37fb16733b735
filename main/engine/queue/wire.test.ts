/**
 * The wire format both ways: a sample survives the trip bit for bit (NaN metrics and float32 arrays
 * included), and what a hostile or broken peer sends is refused by name.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { DatasetItem } from '../datasets/types.ts';
import { itemFromWire, itemToWire, replyOf, sampleJobSchema, sampleOfReply, WIRE_VERSION } from './wire.ts';

const worker = { id: 'w', host: 'h', pid: 1, provider: 'cpu', card: null };
let root: string;
let item: DatasetItem;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'fusionscope-wire-'));
  await writeFile(join(root, 'a.png'), Buffer.from([1, 2, 3, 250]));
  item = {
    id: 'q1',
    imagePath: join(root, 'a.png'),
    question: 'what color is the circle?',
    answers: ['red'],
    family: 'color',
    subtype: null,
    boxes: [[1, 2, 3, 4]],
    metric: 'exact',
    meta: { source: 7 },
  };
});
afterAll(() => rm(root, { recursive: true, force: true }));

describe('queue wire format', () => {
  it('an item travels with its image bytes and file name, and no folder', async () => {
    const wire = await itemToWire(item);
    expect(wire.image).toEqual({ name: 'a.png', base64: Buffer.from([1, 2, 3, 250]).toString('base64') });
    expect(JSON.stringify(wire)).not.toContain(root);
    expect(itemFromWire(wire, '/elsewhere/0-a.png')).toEqual({ ...item, imagePath: '/elsewhere/0-a.png' });
  });

  it('a reply round-trips metrics (NaN included) and float32 arrays exactly', () => {
    const data = new Float32Array([0.1, Number.NaN, -3.5e-12, 1e30, 7]);
    const reply = replyOf(
      {
        itemId: 'q1',
        status: 'ok',
        result: { answer: 'red' },
        metrics: [
          { layer: 0, name: 'score', value: 1 },
          { layer: 3, name: 'gold_prob', value: Number.NaN },
        ],
        arrays: [{ name: 'maps', shape: [5], data }],
      },
      12.5,
      worker,
    );
    const sample = sampleOfReply(JSON.parse(JSON.stringify(reply)), { itemId: 'q1', position: 4 });
    expect(sample).toMatchObject({
      itemId: 'q1',
      position: 4,
      status: 'ok',
      durationMs: 12.5,
      result: { answer: 'red' },
    });
    expect(sample.metrics?.[1].value).toBeNaN();
    const back = sample.arrays?.[0].data as Float32Array;
    expect(Buffer.from(back.buffer).equals(Buffer.from(data.buffer))).toBe(true);
  });

  it('refuses a reply for another item, a malformed one, and an array whose bytes do not fit its shape', () => {
    const reply = replyOf({ itemId: 'q1', status: 'ok', result: 1 }, 1, worker);
    expect(() => sampleOfReply(reply, { itemId: 'q2', position: 0 })).toThrow(
      "a worker replied for item 'q1' to the job of item 'q2'",
    );
    expect(() => sampleOfReply({ ...reply, version: 99 }, { itemId: 'q1', position: 0 })).toThrow(
      /reply for item 'q1' is malformed: version/,
    );
    expect(() => sampleOfReply({ ...reply, extra: 1 }, { itemId: 'q1', position: 0 })).toThrow(/malformed/);
    const bad = {
      ...reply,
      arrays: [{ name: 'maps', shape: [3], base64: Buffer.alloc(8).toString('base64') }],
    };
    expect(() => sampleOfReply(bad, { itemId: 'q1', position: 0 })).toThrow(
      /array 'maps' holds 8 bytes, but shape \[3\] needs 12/,
    );
    expect(() => sampleOfReply({ ...reply, status: 'error' }, { itemId: 'q1', position: 0 })).toThrow(
      /an error reply needs its error/,
    );
  });

  it('a job names its model by content hash, its image by file name; anything else is refused', async () => {
    const job = {
      version: WIRE_VERSION,
      run: { key: 'ab'.repeat(16), id: 3 },
      kind: 'sweep',
      config: { mode: 'knockout' },
      model: { name: 'demo', contentHash: 'a'.repeat(64), precision: 'auto' },
      position: 0,
      item: await itemToWire(item),
      companions: [],
    };
    expect(sampleJobSchema.safeParse(job).success).toBe(true);
    const refused = (patch: object) => sampleJobSchema.safeParse({ ...job, ...patch }).success;
    expect(refused({ model: { ...job.model, contentHash: 'not-a-hash' } })).toBe(false);
    expect(refused({ model: { ...job.model, folder: '/models/x' } })).toBe(false);
    expect(refused({ kind: 'Sweep; rm -rf' })).toBe(false);
    expect(refused({ item: { ...job.item, image: { name: 'a/b.png', base64: '' } } })).toBe(false);
    expect(refused({ item: { ...job.item, imagePath: '/etc/passwd' } })).toBe(false);
  });
});
