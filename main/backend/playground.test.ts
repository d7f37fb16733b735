/**
 * askImage through the backend as the renderer calls it (validateCall → handler → engine worker) on the
 * demo model, and the same call made hostile: bytes that are not base64 or not an image, an image too
 * large for the schema, a truncated PNG, unknown keys, models and layers. Each is refused with a code
 * and a message naming what is wrong, and the backend answers the next question.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { MAX_PLAYGROUND_IMAGE_BASE64 } from '../common/api/index.ts';
import { DEMO_DATASET_DIR } from '../engine/demo.ts';
import { session, type Session } from './testing.ts';

let root: string;
let app: Session;
let modelId: string;
let png: Buffer;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'fusionscope-playground-'));
  app = await session(join(root, 'workspace'));
  [{ id: modelId }] = await app.ok('listModels', {});
  png = await readFile(join(DEMO_DATASET_DIR, 'images', 'test-000002.png'));
});

afterAll(async () => {
  await app?.backend.close();
  await rm(root, { recursive: true, force: true });
});

const ask = (over: Record<string, unknown> = {}, image: Record<string, unknown> = {}) => ({
  modelId,
  image: { base64: png.toString('base64'), name: 'triangle.png', ...image },
  question: 'what color is the triangle?',
  ...over,
});

describe('askImage', () => {
  it('answers with per-token maps over the image, and again with a layer masked', async () => {
    const result = await app.ok('askImage', {
      ...ask(),
      maxNewTokens: 3,
      mask: { mode: 'hidden', layers: [2], scale: 0 },
    });
    expect(result.modelId).toBe(modelId);
    expect(result.image).toMatchObject({ width: 64, height: 64, format: 'PNG' });
    expect(result.image.preview).toMatch(/^data:image\/png;base64,/);
    expect(result.tokenRects).toHaveLength(64);
    expect(result.grid).toEqual({ rows: 8, cols: 8 });
    expect(result.layers).toBe(12);
    expect(result.answer.text.length).toBeGreaterThan(0);
    expect(result.answer.maps).toHaveLength(result.answer.tokens.length);
    for (const map of result.answer.maps[0]) {
      expect(map).toHaveLength(64);
      expect(map.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    }
    expect(result.mask).toEqual({ mode: 'hidden', layers: [2], scale: 0 });
    expect(result.masked?.maps).toHaveLength(result.masked?.tokens.length ?? -1);
  });

  it('refuses hostile and mistaken uploads by name, and keeps answering', async () => {
    const text = Buffer.from('name,answer\ncat,yes\n').toString('base64');
    const truncated = png.subarray(0, 60).toString('base64');
    const cases: Array<[Record<string, unknown>, string, RegExp]> = [
      [ask({}, { base64: text, name: 'answers.csv' }), 'BAD_IMAGE', /"answers\.csv" is not an image/],
      [ask({}, { base64: truncated, name: 'cut.png' }), 'BAD_IMAGE', /cut\.png/],
      [ask({}, { base64: 'iVBORw0KGgo' }), 'BAD_REQUEST', /not valid base64/],
      [ask({}, { base64: '<svg onload=alert(1)>' }), 'BAD_REQUEST', /image\.base64: base64/],
      [
        ask({}, { base64: 'A'.repeat(MAX_PLAYGROUND_IMAGE_BASE64 + 4) }),
        'BAD_REQUEST',
        /larger than the Playground accepts/,
      ],
      [ask({}, { path: '/etc/passwd' }), 'BAD_REQUEST', /path/],
      [ask({ question: '   ' }), 'BAD_REQUEST', /question/],
      [ask({ maxNewTokens: 100_000 }), 'BAD_REQUEST', /maxNewTokens/],
      [ask({ modelId: '/no/such/model' }), 'NOT_FOUND', /\/no\/such\/model/],
      [
        ask({ mask: { mode: 'knockout', layers: [1], scale: 0.5 } }),
        'BAD_REQUEST',
        /knockout takes no scale/,
      ],
      [ask({ mask: { mode: 'hidden', layers: [] } }), 'BAD_REQUEST', /mask\.layers/],
      [ask({ mask: { mode: 'hidden', layers: [12] } }), 'BAD_ARGUMENT', /layer 12 is out of range.*0\.\.11/],
    ];
    for (const [params, code, message] of cases) {
      const error = await app.fails('askImage', params);
      const shown = JSON.stringify(params).slice(0, 200);
      expect(error.code, shown).toBe(code);
      expect(error.message, shown).toMatch(message);
    }
    const again = await app.ok('askImage', { ...ask(), maxNewTokens: 1 });
    expect(again.answer.tokens.length).toBeLessThanOrEqual(1);
  });
});
