/**
 * Every dataset importer (main/engine/datasets, through `openDataset`) on datasetFixtures.ts's valid
 * datasets with one file changed: JSON structurally mutated (a field retyped, deleted, renamed, made
 * deep or huge, a list replaced by an object), any file's bytes flipped or truncated (images and
 * questions.csv included), or text noise inserted (quotes, commas, line breaks, a BOM, `../`), opened
 * with the format named or detected, with and without the image checks.
 *
 * Property: openDataset resolves or rejects with FusionError BAD_DATASET / MISSING_FILE. A dataset it
 * opens is usable: at least one item, unique ids, text questions and answers, four-number boxes, and
 * every image inside the dataset folder (and present, when images are checked). An unchanged fixture
 * opens as its format.
 */
import { execFileSync } from 'node:child_process';
import { constants, openSync, closeSync } from 'node:fs';
import { mkdir, mkdtemp, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join, relative, sep } from 'node:path';

import * as fc from 'fast-check';

import { FusionError } from '../../common/errors.ts';
import { openDataset, type OpenedDataset } from '../../engine/datasets/index.ts';
import { encodeRgbPng } from '../../engine/report/png.ts';
import { byteMutations, mutateBytes, type ByteMutation } from '../bytes.ts';
import { jsonMutations, jsonText, mutateJson, type JsonMutation } from '../json.ts';
import { ensure, rejectsOnlyWith, type FuzzTarget } from '../target.ts';
import { DATASET_FIXTURES, type DatasetFixture, type FixtureFile } from './datasetFixtures.ts';

interface Noise {
  readonly at: number;
  readonly text: string;
}

interface Opening {
  readonly fixture: number;
  /** Pick among the fixture's files (modulo their count). */
  readonly file: number;
  /** Let openDataset detect the format instead of naming it. */
  readonly detect: boolean;
  readonly checkImages: boolean;
}

/**
 * What a file can be instead of a file: a folder, a link out of the dataset, a dangling link, a FIFO
 * (opening one for reading blocks until a writer comes: it must be refused, never waited on).
 */
type Special = 'folder' | 'link-out' | 'dangling' | 'fifo' | 'empty';

type Recipe =
  | { readonly kind: 'valid'; readonly fixture: number; readonly detect: boolean }
  | ({ readonly kind: 'special'; readonly special: Special } & Opening)
  | ({ readonly kind: 'json'; readonly mutations: JsonMutation[] } & Opening)
  | ({ readonly kind: 'bytes'; readonly mutations: ByteMutation[] } & Opening)
  | ({ readonly kind: 'noise'; readonly noise: Noise[] } & Opening);

const NOISE = [
  '"',
  ',',
  '\n',
  '\r\n',
  '\r',
  '\ufeff',
  '|',
  '""',
  '../',
  '/',
  '\\',
  '\u0000',
  '{',
  '}',
  '[',
  ']',
  ':',
  ' ',
  '\ud800',
];

const opening = {
  fixture: fc.nat({ max: DATASET_FIXTURES.length - 1 }),
  file: fc.nat({ max: 16 }),
  detect: fc.boolean(),
  checkImages: fc.oneof(
    { arbitrary: fc.constant(true), weight: 3 },
    { arbitrary: fc.constant(false), weight: 1 },
  ),
};

const arbitrary: fc.Arbitrary<Recipe> = fc.oneof(
  {
    arbitrary: fc.record({
      kind: fc.constant('valid' as const),
      fixture: opening.fixture,
      detect: opening.detect,
    }),
    weight: 1,
  },
  {
    arbitrary: fc.record({ kind: fc.constant('json' as const), mutations: jsonMutations(), ...opening }),
    weight: 5,
  },
  {
    arbitrary: fc.record({ kind: fc.constant('bytes' as const), mutations: byteMutations(), ...opening }),
    weight: 3,
  },
  {
    arbitrary: fc.record({
      kind: fc.constant('noise' as const),
      noise: fc.array(fc.record({ at: fc.nat({ max: 1 << 16 }), text: fc.constantFrom(...NOISE) }), {
        minLength: 1,
        maxLength: 6,
      }),
      ...opening,
    }),
    weight: 2,
  },
  {
    arbitrary: fc.record({
      kind: fc.constant('special' as const),
      special: fc.constantFrom<Special>('folder', 'link-out', 'dangling', 'fifo', 'empty'),
      ...opening,
    }),
    weight: 1,
  },
);

const IMAGE = encodeRgbPng({ width: 1, height: 1, data: Uint8Array.from([9, 9, 9]) });

function fileText(content: Exclude<FixtureFile, 'image' | { readonly bytes: Uint8Array }>): string {
  if ('json' in content) return jsonText(content.json);
  if ('lines' in content)
    return content.lines.map((row) => (typeof row === 'string' ? row : jsonText(row))).join('\n') + '\n';
  return content.text;
}

const fileBytes = (content: FixtureFile): Uint8Array =>
  content === 'image' ? IMAGE : 'bytes' in content ? content.bytes : Buffer.from(fileText(content));

function insertNoise(bytes: Uint8Array, noise: readonly Noise[]): Uint8Array {
  let text = Buffer.from(bytes).toString('latin1');
  for (const { at, text: piece } of noise) {
    const i = at % (text.length + 1);
    text = text.slice(0, i) + Buffer.from(piece).toString('latin1') + text.slice(i);
  }
  return Buffer.from(text, 'latin1');
}

/** The fixture's files with the recipe's change applied to one of them. */
function filesOf(fixture: DatasetFixture, recipe: Recipe): Array<[string, Uint8Array]> {
  const entries = Object.entries(fixture.files);
  const files = entries.map(([path, content]): [string, Uint8Array] => [path, fileBytes(content)]);
  if (recipe.kind === 'valid' || recipe.kind === 'special') return files;
  if (recipe.kind === 'json') {
    // Structural mutations apply to one of the JSON and JSON Lines files.
    const structured = entries.flatMap(([, content], i) =>
      content !== 'image' && !('text' in content) && !('bytes' in content) ? [i] : [],
    );
    if (structured.length === 0) return files;
    const index = structured[recipe.file % structured.length];
    const content = entries[index][1] as { json: unknown } | { lines: readonly unknown[] };
    const mutated =
      'json' in content
        ? { json: mutateJson(content.json, recipe.mutations) }
        : mutatedLines(content.lines, recipe.mutations);
    files[index] = [entries[index][0], Buffer.from(fileText(mutated))];
    return files;
  }
  const index = recipe.file % files.length;
  const [path, bytes] = files[index];
  files[index] = [
    path,
    recipe.kind === 'bytes' ? mutateBytes(bytes, recipe.mutations) : insertNoise(bytes, recipe.noise),
  ];
  return files;
}

/** JSON Lines mutated as one list: a row can be retyped, removed, duplicated, or made a whole document. */
function mutatedLines(lines: readonly unknown[], mutations: readonly JsonMutation[]): { lines: unknown[] } {
  const mutated = mutateJson(lines, mutations);
  return { lines: Array.isArray(mutated) ? mutated : [mutated] };
}

/** Puts `special` where the file `path` was; `outside` is a file outside the dataset folder. */
async function makeSpecial(path: string, special: Special, outside: string): Promise<void> {
  await rm(path, { recursive: true, force: true });
  switch (special) {
    case 'folder':
      return void (await mkdir(path));
    case 'link-out':
      return symlink(outside, path);
    case 'dangling':
      return symlink(`${path}.missing`, path);
    case 'fifo':
      return void execFileSync('mkfifo', [path]);
    case 'empty':
      return writeFile(path, '');
  }
}

/**
 * Opens the FIFO's writing end and closes it, which lets go a reader blocked opening it; true when
 * there was one (with nobody reading, the open fails with ENXIO).
 */
function releaseFifo(path: string): boolean {
  try {
    closeSync(openSync(path, constants.O_WRONLY | constants.O_NONBLOCK));
    return true;
  } catch {
    return false;
  }
}

/** How long a case may take before a reader still holding a FIFO counts as blocked on it. */
const FIFO_WAIT_MS = 1000;

const isDatasetRejection = (error: unknown) =>
  error instanceof FusionError && (error.code === 'BAD_DATASET' || error.code === 'MISSING_FILE');

async function isFile(path: string): Promise<boolean> {
  return (await stat(path).catch(() => null))?.isFile() === true;
}

const isBox = (b: unknown): boolean =>
  Array.isArray(b) && b.length === 4 && b.every((v: unknown) => typeof v === 'number' && Number.isFinite(v));

/** What every dataset openDataset returns must satisfy. */
async function checkUsable(ds: OpenedDataset, folder: string, checkImages: boolean): Promise<void> {
  ensure(ds.items.length > 0, () => 'openDataset returned a dataset without items');
  const ids = new Set<string>();
  for (const item of ds.items) {
    const shown = JSON.stringify(item.id);
    ensure(typeof item.id === 'string' && !ids.has(item.id), () => `item id ${shown} is not a unique string`);
    ids.add(item.id);
    ensure(
      typeof item.question === 'string',
      () => `item ${shown} has question ${JSON.stringify(item.question)}`,
    );
    ensure(
      Array.isArray(item.answers) && item.answers.every((a) => typeof a === 'string'),
      () => `item ${shown} has answers ${JSON.stringify(item.answers)?.slice(0, 200)}`,
    );
    ensure(
      Array.isArray(item.boxes) && (item.boxes as readonly unknown[]).every(isBox),
      () => `item ${shown} has boxes ${JSON.stringify(item.boxes)?.slice(0, 200)}`,
    );
    const inside = relative(folder, item.imagePath);
    ensure(
      isAbsolute(item.imagePath) &&
        inside !== '' &&
        inside !== '..' &&
        !inside.startsWith(`..${sep}`) &&
        !isAbsolute(inside),
      () => `item ${shown} has image ${JSON.stringify(item.imagePath)}, outside the dataset folder ${folder}`,
    );
    if (checkImages)
      ensure(await isFile(item.imagePath), () => `item ${shown}'s image ${item.imagePath} is not a file`);
  }
  for (const s of ds.skipped) {
    ensure(
      typeof s.reason === 'string' && typeof s.file === 'string',
      () => `skipped entry ${JSON.stringify(s)}`,
    );
  }
}

export const datasetsTarget: FuzzTarget<Recipe> = {
  name: 'datasets',
  summary:
    'openDataset on every importer: mutated JSON, flipped bytes, CSV/JSONL noise, named and detected formats',
  weight: 1,
  async open() {
    const root = await mkdtemp(join(tmpdir(), 'fusionscope-fuzz-datasets-'));
    const folders = DATASET_FIXTURES.map((_, i) => join(root, String(i)));
    const outside = join(root, 'outside.png');
    await writeFile(outside, IMAGE);
    return {
      arbitrary,
      async check(recipe) {
        const fixture = DATASET_FIXTURES[recipe.fixture];
        const folder = folders[recipe.fixture];
        // A fresh folder per case: nothing one case wrote can change the next.
        await rm(folder, { recursive: true, force: true });
        for (const [path, bytes] of filesOf(fixture, recipe)) {
          await mkdir(dirname(join(folder, path)), { recursive: true });
          await writeFile(join(folder, path), bytes);
        }
        const special =
          recipe.kind === 'special'
            ? join(folder, Object.keys(fixture.files)[recipe.file % Object.keys(fixture.files).length])
            : undefined;
        if (special !== undefined && recipe.kind === 'special')
          await makeSpecial(special, recipe.special, outside);
        const checkImages = recipe.kind === 'valid' ? true : recipe.checkImages;
        // Images embedded in dataset files (TSV, Parquet) are written inside the case's folder.
        const imageCache = join(folder, '.image-cache');
        const options = { format: recipe.detect ? undefined : fixture.format, checkImages, imageCache };
        let blocked = false;
        const fifo = recipe.kind === 'special' && recipe.special === 'fifo' ? special : undefined;
        const watch =
          fifo === undefined ? undefined : setTimeout(() => (blocked = releaseFifo(fifo)), FIFO_WAIT_MS);
        const ds = await rejectsOnlyWith(
          () => openDataset(join(folder, fixture.open), options),
          isDatasetRejection,
          'openDataset',
        ).finally(() => clearTimeout(watch));
        ensure(
          !blocked,
          () => `openDataset blocked opening the FIFO ${fifo} (let go after ${FIFO_WAIT_MS} ms)`,
        );
        if (recipe.kind === 'valid') {
          ensure(ds !== undefined, () => `the unchanged ${fixture.name} fixture was refused`);
          ensure(ds.format === fixture.format, () => `the ${fixture.name} fixture opened as ${ds.format}`);
        }
        if (ds === undefined) return;
        if (!recipe.detect)
          ensure(ds.format === fixture.format, () => `asked for ${fixture.format}, opened ${ds.format}`);
        await checkUsable(ds, folder, checkImages);
      },
      dispose: () => rm(root, { recursive: true, force: true }),
    };
  },
};
