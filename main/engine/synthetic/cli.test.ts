import { execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
  mkdirSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, describe, expect, it, vi } from 'vitest';

import { FusionError } from '../../common/errors.ts';
import { main, parseCliArgs } from './cli.ts';
import { generateItems } from './generate.ts';
import { VOCABULARY } from './vocabulary.ts';
import { writeDataset } from './write.ts';

const BASE = ['--out', '/tmp/x', '--split', 'train', '--count', '10', '--seed', '1'];

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'fusionscope-synthetic-'));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  vi.restoreAllMocks();
});

function parseError(argv: string[]): FusionError {
  try {
    parseCliArgs(argv);
  } catch (error) {
    if (error instanceof FusionError) return error;
    throw error;
  }
  throw new Error(`expected ${argv.join(' ')} to be rejected`);
}

describe('parseCliArgs', () => {
  it('parses the documented flags, in both --flag value and --flag=value forms', () => {
    expect(parseCliArgs([...BASE, '--image-size=96', '--name', 'demo', '--force'])).toEqual({
      out: '/tmp/x',
      split: 'train',
      count: 10,
      seed: 1,
      imageSize: 96,
      name: 'demo',
      force: true,
      help: false,
    });
    expect(parseCliArgs(BASE).imageSize).toBe(64);
    const packed = parseCliArgs([...BASE, '--questions-per-image', '8', '--question-regions', 'any']);
    expect([packed.questionsPerImage, packed.questionRegions]).toEqual([8, 'any']);
    expect(parseCliArgs([...BASE, '--weights', 'glyph=2,count=0.5']).familyWeights).toEqual({
      glyph: 2,
      count: 0.5,
    });
  });

  it.each([
    [['--split', 'train', '--count', '1', '--seed', '1'], /--out is required/],
    [['--out', 'd', '--count', '1', '--seed', '1'], /--split is required/],
    [['--out', 'd', '--split', 'train', '--seed', '1'], /--count is required/],
    [['--out', 'd', '--split', 'train', '--count', '1'], /--seed is required/],
    [[...BASE, '--bogus', '1'], /unknown flag --bogus/],
    [[...BASE, 'extra'], /unexpected argument "extra"/],
    [
      ['--out', 'd', '--split', 'dev', '--count', '1', '--seed', '1'],
      /--split: "dev" is not one of train\|val\|test/,
    ],
    [
      ['--out', 'd', '--split', 'train', '--count', 'ten', '--seed', '1'],
      /--count: "ten" is not a non-negative integer/,
    ],
    [['--out', 'd', '--split', 'train', '--count', '0', '--seed', '1'], /--count: 0 is out of range 1\.\./],
    [
      ['--out', 'd', '--split', 'train', '--count', '1', '--seed', '-4'],
      /--seed: "-4" is not a non-negative integer/,
    ],
    [
      ['--out', 'd', '--split', 'train', '--count', '1', '--seed', '4294967296'],
      /--seed: 4294967296 is out of range/,
    ],
    [
      ['--out', 'd', '--split', 'train', '--count', '1', '--seed', '2.5'],
      /--seed: "2.5" is not a non-negative integer/,
    ],
    [[...BASE, '--image-size', '16'], /--image-size: 16 is out of range 32\.\.256/],
    [[...BASE, '--image-size', '300'], /--image-size: 300 is out of range 32\.\.256/],
    [[...BASE, '--image-size'], /--image-size needs a value/],
    [[...BASE, '--seed', '2'], /--seed given twice/],
    [[...BASE, '--force=yes'], /--force takes no value/],
    [[...BASE, '--weights', 'colour=1'], /unknown family "colour"/],
    [[...BASE, '--weights', 'color'], /"color" is not FAMILY=NUMBER/],
    [[...BASE, '--weights', 'color=0'], /at least one family needs a positive weight/],
    [[...BASE, '--question-regions', 'some'], /--question-regions: "some" is not one of disjoint\|any/],
    [[...BASE, '--questions-per-image', '5'], /--questions-per-image: 5 is out of range 1\.\.4/],
    [
      [...BASE, '--questions-per-image', '9', '--question-regions', 'any'],
      /--questions-per-image: 9 is out of range 1\.\.8/,
    ],
  ])('rejects %j with a clear BAD_ARGUMENT', (argv, message) => {
    const error = parseError(argv);
    expect(error.code).toBe('BAD_ARGUMENT');
    expect(error.message).toMatch(message);
    expect(error.message).toContain('Usage:');
  });
});

describe('main', () => {
  it('prints error [BAD_ARGUMENT] and returns 2 on a bad flag', () => {
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    expect(main([...BASE, '--nope'])).toBe(2);
    expect(String(stderr.mock.calls[0][0])).toMatch(/^error \[BAD_ARGUMENT\]: unknown flag --nope/);
  });

  it('writes a dataset and prints a one-line summary with per-family counts', () => {
    const out = join(tempDir(), 'ds');
    const stdout = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    expect(main(['--out', out, '--split', 'val', '--count', '30', '--seed', '4'])).toBe(0);
    const line = String(stdout.mock.calls[0][0]);
    expect(line.trim().split('\n')).toHaveLength(1);
    expect(line).toMatch(
      /^wrote 30 val items to .*\(color \d+, shape \d+, count \d+, exist \d+, spatial \d+, glyph \d+;/,
    );
  });
});

describe('writeDataset', () => {
  it('writes dataset.json, items.jsonl and one PNG per item, matching generateItems', () => {
    const out = join(tempDir(), 'ds');
    const summary = writeDataset({ out, split: 'test', count: 25, seed: 8, imageSize: 48 });
    const manifest = JSON.parse(readFileSync(join(out, 'dataset.json'), 'utf8'));
    expect(Object.keys(manifest)).toEqual([
      'format', 'version', 'name', 'split', 'seed', 'imageSize', 'count', 'families', 'vocabulary', 'boxFormat',
    ]); // prettier-ignore
    expect(manifest).toMatchObject({
      format: 'fusionscope-vqa',
      version: 1,
      split: 'test',
      seed: 8,
      imageSize: 48,
    });
    expect(manifest.count).toBe(25);
    expect(manifest.vocabulary).toEqual([...VOCABULARY]);
    expect(manifest.boxFormat).toBe('xyxy-pixels');
    expect(manifest.families).toEqual(['color', 'shape', 'count', 'exist', 'spatial', 'glyph']);

    const lines = readFileSync(join(out, 'items.jsonl'), 'utf8').split('\n');
    expect(lines.pop()).toBe('');
    const expected = generateItems({ split: 'test', count: 25, seed: 8, imageSize: 48 });
    expect(lines).toEqual(expected.map((item) => JSON.stringify(item)));
    const first = JSON.parse(lines[0]);
    expect(Object.keys(first)).toEqual([
      'id',
      'image',
      'question',
      'answers',
      'family',
      'subtype',
      'boxes',
      'scene',
    ]);
    expect(first.id).toBe('test-000001');
    expect(first.image).toBe('images/test-000001.png');
    expect(readdirSync(join(out, 'images')).sort()).toEqual(
      expected.map((i) => i.image.slice('images/'.length)),
    );
    expect(Object.values(summary.families).reduce((a, b) => a + b)).toBe(25);
    // No temporary folder is left beside the output.
    expect(readdirSync(join(out, '..'))).toEqual(['ds']);
  });

  it('is byte-for-byte reproducible', () => {
    const root = tempDir();
    writeDataset({ out: join(root, 'a'), split: 'train', count: 12, seed: 3 });
    writeDataset({ out: join(root, 'b'), split: 'train', count: 12, seed: 3 });
    for (const file of ['dataset.json', 'items.jsonl', 'images/train-000007.png']) {
      expect(readFileSync(join(root, 'a', file)).equals(readFileSync(join(root, 'b', file))), file).toBe(
        true,
      );
    }
  });

  it('refuses a non-empty output folder unless overwrite, then replaces it whole', () => {
    const out = join(tempDir(), 'ds');
    mkdirSync(out);
    writeFileSync(join(out, 'stale.txt'), 'old');
    expect(() => writeDataset({ out, split: 'train', count: 2, seed: 1 })).toThrow(
      /already exists and is not empty/,
    );
    writeDataset({ out, split: 'train', count: 2, seed: 1, overwrite: true });
    expect(existsSync(join(out, 'stale.txt'))).toBe(false);
    expect(readdirSync(join(out, '..'))).toEqual(['ds']);
  });

  it('leaves nothing behind when a run fails midway', () => {
    const root = tempDir();
    const out = join(root, 'ds');
    const onProgress = () => {
      throw new Error('killed');
    };
    expect(() => writeDataset({ out, split: 'train', count: 1500, seed: 1, onProgress })).toThrow('killed');
    expect(readdirSync(root)).toEqual([]);
  });
});

describe('cli entry point', () => {
  it('runs under tsx and exits non-zero with a clear message on a bad flag', () => {
    const cli = join(import.meta.dirname, 'cli.ts');
    const tsx = join(process.cwd(), 'node_modules', '.bin', 'tsx');
    let stderr = '';
    let status = 0;
    try {
      execFileSync(tsx, [cli, '--split', 'train'], { encoding: 'utf8', stdio: 'pipe' });
    } catch (error) {
      const e = error as { status: number; stderr: string };
      status = e.status;
      stderr = e.stderr;
    }
    expect(status).toBe(2);
    expect(stderr).toMatch(/^error \[BAD_ARGUMENT\]: --out is required/);
  });
});
