/**
 * `fusionscope trace --per-generated-token` on the demo model, as a user types it: per generated token
 * the head-mean attention of the row that chose it (JSON and one printed line per token). The first
 * token's row is the prompt's last position, which plain `trace` reads through another path (a full
 * forward pass); the answer must be `fusionscope answer`'s.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { maxRelativeError } from '../../../native-models/testing/compare.ts';
import { runCli } from '../cli.testing.ts';
import { DEMO_DATASET_DIR } from '../demo.ts';

const IMAGE = join(DEMO_DATASET_DIR, 'images', 'test-000002.png');
const QUESTION = 'what color is the triangle?';
const LAYERS = 12;
const HEADS = 4;
const IMAGE_TOKENS = 64;

interface GeneratedJson {
  text: string;
  stoppedBy: string;
  tokens: { id: number; text: string; chosenAt: number }[];
  imageAttention: number[][][];
  attention?: number[][][];
}

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fusionscope-trace-generated-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function trace(name: string, extra: string[]) {
  const out = join(dir, `${name}.json`);
  const run = await runCli(['trace', '--image', IMAGE, '--question', QUESTION, '--json', out, ...extra]);
  const json = run.code === 0 ? JSON.parse(await readFile(out, 'utf8')) : null;
  return { run, json };
}

describe('fusionscope trace --per-generated-token', () => {
  it('writes each generated token’s maps, the first being the prompt’s last row, and prints a line per token', async () => {
    const { run, json } = await trace('plain', [
      '--per-generated-token',
      '--max-new-tokens',
      '4',
      '--per-head',
    ]);
    expect(run.code, run.stderr).toBe(0);
    const generated = json.generated as GeneratedJson;
    const answer = await runCli([
      'answer',
      '--image',
      IMAGE,
      '--question',
      QUESTION,
      '--max-new-tokens',
      '4',
    ]);
    expect(generated.text).toBe(answer.stdout.trim());
    expect(generated.tokens.length).toBeGreaterThan(0);
    expect(generated.tokens[0].chosenAt).toBe(json.expandedLength - 1);
    expect(generated.imageAttention).toHaveLength(generated.tokens.length);
    for (const perLayer of generated.imageAttention) {
      expect(perLayer).toHaveLength(LAYERS);
      for (const map of perLayer) expect(map).toHaveLength(IMAGE_TOKENS);
    }
    for (let l = 0; l < LAYERS; l++) {
      expect(maxRelativeError(generated.imageAttention[0][l], json.imageAttention[l])).toBeLessThan(1e-5);
    }
    expect(generated.attention![0]).toHaveLength(LAYERS);
    expect(generated.attention![0][0]).toHaveLength(HEADS * IMAGE_TOKENS);
    const lines = run.stdout.trim().split('\n');
    expect(lines[0]).toBe(`answer: ${JSON.stringify(generated.text)} (stopped by ${generated.stoppedBy})`);
    expect(lines.slice(1)).toHaveLength(generated.tokens.length);
    expect(lines[1]).toMatch(
      /^token 0 ".*" chosen at position \d+: layer 11 looks most at image tokens \d+ \(0\.\d{3}\)/,
    );
  });

  it('holds the mask at every generated step: knocked out everywhere, no token sees the image', async () => {
    const all = Array.from({ length: LAYERS }, (_, l) => l).join(',');
    const { run, json } = await trace('masked', [
      '--per-generated-token',
      '--mask-mode',
      'knockout',
      '--mask-layers',
      all,
    ]);
    expect(run.code, run.stderr).toBe(0);
    const generated = json.generated as GeneratedJson;
    expect(generated.tokens.length).toBeGreaterThan(0);
    for (const perLayer of generated.imageAttention)
      for (const map of perLayer) expect(Math.max(...map)).toBe(0);
  });

  it('refuses --max-new-tokens without --per-generated-token, and a bad count', async () => {
    const alone = await trace('alone', ['--max-new-tokens', '3']);
    expect(alone.run.code).toBe(2);
    expect(alone.run.stderr).toMatch(/--max-new-tokens applies to trace --per-generated-token only/);
    const zero = await trace('zero', ['--per-generated-token', '--max-new-tokens', '0']);
    expect(zero.run.code).toBe(2);
    expect(zero.run.stderr).toMatch(/--max-new-tokens: "0" is not a positive integer/);
  });
});
