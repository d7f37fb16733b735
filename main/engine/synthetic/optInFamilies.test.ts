/**
 * The opt-in families (relate, twostep, locate): answers follow from the scene, scenes that cannot
 * support them are refused, a distractor is always kept, and asking for them leaves every default
 * stream unchanged.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { formatSummary, parseCliArgs, USAGE } from './cli.ts';
import { generateItems, resolveWeights } from './generate.ts';
import { QUESTION_BUILDERS, SPATIAL_MIN_SEPARATION, relationDisplacement } from './questions.ts';
import type { SpatialRelation } from './questions.ts';
import { Rng } from './random.ts';
import { boxKey, oracle } from './testing.ts';
import { ALL_FAMILIES, COLORS, FAMILIES, OPT_IN_FAMILIES, SHAPES } from './types.ts';
import type { Box, Color, Glyph, Item, Scene, SceneObject, Shape, Size } from './types.ts';
import { VOCABULARY, VOCABULARY_EXTENDED, tokenize } from './vocabulary.ts';
import { writeDataset } from './write.ts';

const RELATE: Item[] = [
  ...generateItems({ seed: 31, split: 'train', count: 800, familyWeights: { relate: 1 } }),
  ...generateItems({ seed: 32, split: 'test', count: 150, imageSize: 32, familyWeights: { relate: 1 } }),
  ...generateItems({ seed: 33, split: 'val', count: 150, imageSize: 160, familyWeights: { relate: 1 } }),
];
const TWOSTEP: Item[] = [
  ...generateItems({ seed: 34, split: 'train', count: 900, familyWeights: { twostep: 1 } }),
  ...generateItems({ seed: 35, split: 'test', count: 150, imageSize: 48, familyWeights: { twostep: 1 } }),
  ...generateItems({ seed: 36, split: 'val', count: 150, imageSize: 128, familyWeights: { twostep: 1 } }),
];

const LOCATE: Item[] = [
  ...generateItems({ seed: 37, split: 'train', count: 600, familyWeights: { locate: 1 } }),
  ...generateItems({ seed: 38, split: 'test', count: 150, imageSize: 48, familyWeights: { locate: 1 } }),
];

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'fs-optin-'));
  dirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** A hand-made object at cell [x, y, x + side, y + side] of a 64 px image. */
function object(
  id: number,
  shape: Shape,
  color: Color,
  size: Size,
  x: number,
  y: number,
  glyph: Pick<Glyph, 'char' | 'kind'> | null = null,
): SceneObject {
  const side = size === 'large' ? 23 : 14;
  const cell: Box = [x, y, x + side, y + side];
  return {
    id,
    shape,
    color,
    size,
    glyph: glyph && { ...glyph, ink: 'white', scale: 1, box: [x + 9, y + 8, x + 14, y + 15] },
    box: cell,
    cell,
    center: [x + side / 2, y + side / 2],
  };
}

function scene(...objects: SceneObject[]): Scene {
  return { imageSize: 64, background: [232, 232, 232], objects };
}

/** Every question a builder can ask of `s` (it draws among its options; many seeds find them all). */
function allAsked(family: 'relate' | 'twostep', s: Scene): Set<string> {
  const asked = new Set<string>();
  for (let seed = 0; seed < 400; seed++) {
    const qa = QUESTION_BUILDERS[family](s, new Rng(seed));
    if (qa) asked.add(`${qa.question} ${qa.answers[0]}`);
  }
  return asked;
}

describe('default streams are unchanged', () => {
  it('opt-in families weigh 0 unless named, and come after the default ones', () => {
    expect(ALL_FAMILIES).toEqual([...FAMILIES, ...OPT_IN_FAMILIES]);
    expect(resolveWeights(undefined)).toEqual([1, 1, 1, 1, 1, 1, 0, 0, 0]);
    expect(resolveWeights({ relate: 2, color: 1 })).toEqual([1, 0, 0, 0, 0, 0, 2, 0, 0]);
  });

  it('naming the six default families, or giving the opt-in ones weight 0, reproduces the default stream', () => {
    const plain = JSON.stringify(generateItems({ seed: 77, split: 'train', count: 60 }));
    const six = Object.fromEntries(FAMILIES.map((f) => [f, 1]));
    expect(JSON.stringify(generateItems({ seed: 77, split: 'train', count: 60, familyWeights: six }))).toBe(
      plain,
    );
    const zeros = { ...six, relate: 0, twostep: 0 };
    expect(JSON.stringify(generateItems({ seed: 77, split: 'train', count: 60, familyWeights: zeros }))).toBe(
      plain,
    );
  });

  it('keeps the v1 vocabulary (72 tokens) and extends it only for the opt-in words', () => {
    expect(VOCABULARY).toHaveLength(72);
    expect([...VOCABULARY_EXTENDED]).toEqual(
      [...VOCABULARY, 'large', 'small', 'with', 'at', 'bottom', 'or', 'top'].sort(),
    );
  });

  it('a default manifest lists the v1 vocabulary, one asking an opt-in family the extended one', () => {
    const root = tempDir();
    writeDataset({ out: join(root, 'a'), split: 'val', count: 5, seed: 1 });
    const plain = JSON.parse(readFileSync(join(root, 'a', 'dataset.json'), 'utf8'));
    expect(plain.vocabulary).toEqual([...VOCABULARY]);
    expect(plain.families).toEqual([...FAMILIES]);
    const summary = writeDataset({
      out: join(root, 'b'),
      split: 'val',
      count: 40,
      seed: 1,
      familyWeights: { spatial: 1, relate: 1, twostep: 1 },
    });
    const mixed = JSON.parse(readFileSync(join(root, 'b', 'dataset.json'), 'utf8'));
    expect(mixed.vocabulary).toEqual([...VOCABULARY_EXTENDED]);
    expect(mixed.families).toEqual(['spatial', 'relate', 'twostep']);
    expect(summary.families.relate + summary.families.twostep + summary.families.spatial).toBe(40);
    expect(formatSummary(summary, 1)).toMatch(/glyph 0, relate \d+, twostep \d+;/);
  });

  it('the CLI accepts the opt-in families in --weights and its help names them', () => {
    const options = parseCliArgs([
      '--out',
      'x',
      '--split',
      'test',
      '--count',
      '1',
      '--seed',
      '1',
      '--weights',
      'relate=1,twostep=2',
    ]);
    expect(options.familyWeights).toEqual({ relate: 1, twostep: 2 });
    expect(USAGE).toMatch(/relate, twostep, locate/);
  });
});

describe('relate', () => {
  it('answers as the independent oracle does, with a unique reference and a unique related object', () => {
    expect(RELATE.every((i) => i.family === 'relate')).toBe(true);
    for (const item of RELATE) {
      const result = oracle(item);
      expect(item.answers, `${item.id}: ${item.question}`).toEqual([result.answer]);
      for (const group of result.referenced) expect(group, `${item.id}: ${item.question}`).toHaveLength(1);
      expect(item.boxes.map(boxKey)).toEqual(result.relevant.map((o) => boxKey(o.box)));
    }
  });

  it('keeps the related object clearly apart, a distractor, and one with a different answer', () => {
    for (const item of RELATE) {
      const [target, reference] = oracle(item).relevant;
      const relation = /(left of|right of|above|below)/.exec(item.question)![1] as SpatialRelation;
      expect(relationDisplacement(target, reference, relation)).toBeGreaterThanOrEqual(
        SPATIAL_MIN_SEPARATION * item.scene.imageSize,
      );
      expect(item.boxes.length).toBeLessThan(item.scene.objects.length);
      const asked = item.question.startsWith('what color') ? 'color' : 'shape';
      const others = item.scene.objects.filter((o) => o !== target && o !== reference);
      expect(
        others.some((o) => o[asked] !== target[asked]),
        item.question,
      ).toBe(true);
    }
  });

  it('covers every relation, both attributes, both reference forms and every colour and shape', () => {
    const questions = RELATE.map((i) => i.question);
    for (const relation of ['left of', 'right of', 'above', 'below'])
      expect(
        questions.some((q) => q.includes(` ${relation} `)),
        relation,
      ).toBe(true);
    expect(questions.some((q) => /^what color/.test(q))).toBe(true);
    expect(questions.some((q) => /^what shape/.test(q))).toBe(true);
    expect(
      questions.some((q) => / the (circle|square|triangle|diamond)\?$/.test(q.split(' of ').pop()!)),
    ).toBe(true);
    expect(questions.some((q) => / the \w+ \w+\?$/.test(q))).toBe(true);
    const answers = new Set(RELATE.map((i) => i.answers[0]));
    for (const word of [...COLORS, ...SHAPES]) expect(answers.has(word), word).toBe(true);
  });

  it('is refused for scenes that cannot support it', () => {
    // Two objects: nothing else can differ from the answer (and no distractor would be left).
    expect(
      allAsked(
        'relate',
        scene(object(0, 'circle', 'red', 'small', 4, 4), object(1, 'square', 'blue', 'small', 40, 40)),
      ).size,
    ).toBe(0);
    // Three objects, but the only other one shares both the colour and the shape of the related object.
    const same = scene(
      object(0, 'circle', 'red', 'small', 4, 25),
      object(1, 'square', 'blue', 'small', 40, 25),
      object(2, 'square', 'blue', 'small', 40, 4),
    );
    expect(allAsked('relate', same).size).toBe(0);
    // Related objects closer than the minimum separation along the axis are never asked about.
    const close = scene(
      object(0, 'circle', 'red', 'small', 20, 4),
      object(1, 'square', 'blue', 'small', 26, 30),
      object(2, 'triangle', 'green', 'small', 20, 48),
    );
    for (const asked of allAsked('relate', close)) expect(asked).not.toMatch(/left of|right of/);
  });

  it('asks about a supportable scene exactly what holds there', () => {
    const s = scene(
      object(0, 'circle', 'red', 'small', 4, 25),
      object(1, 'square', 'blue', 'small', 40, 25),
      object(2, 'triangle', 'green', 'small', 40, 48),
    );
    const asked = allAsked('relate', s);
    expect(asked).toContain('what color is the object left of the square? red');
    expect(asked).toContain('what shape is the object left of the blue square? circle');
    expect(asked).toContain('what color is the object below the circle? green');
    // Two objects stand right of the circle: never asked.
    for (const q of asked) expect(q).not.toMatch(/right of the (red )?circle/);
  });
});

describe('twostep', () => {
  it('answers as the independent oracle does, with the found object unique and a distractor kept', () => {
    expect(TWOSTEP.every((i) => i.family === 'twostep')).toBe(true);
    for (const item of TWOSTEP) {
      const result = oracle(item);
      expect(item.answers, `${item.id}: ${item.question}`).toEqual([result.answer]);
      for (const group of result.referenced) expect(group, `${item.id}: ${item.question}`).toHaveLength(1);
      expect(item.boxes.map(boxKey)).toEqual(result.relevant.map((o) => boxKey(o.box)));
      expect(item.boxes.length).toBeLessThan(item.scene.objects.length);
    }
  });

  it('cannot be answered without finding the object', () => {
    for (const item of TWOSTEP) {
      const [target] = oracle(item).relevant;
      const others = item.scene.objects.filter((o) => o !== target);
      const m = /^what (color|shape) is/.exec(item.question);
      if (m) {
        const asked = m[1] as 'color' | 'shape';
        expect(
          others.some((o) => o[asked] !== target[asked]),
          item.question,
        ).toBe(true);
      } else {
        expect(
          others.some((o) => o.glyph && o.glyph.char !== target.glyph!.char),
          item.question,
        ).toBe(true);
      }
    }
  });

  it('asks all three kinds, and its answers cover colours, shapes, letters and digits', () => {
    const questions = TWOSTEP.map((i) => i.question);
    const kinds = {
      glyphKey: questions.filter((q) => / with the (letter|digit) /.test(q)).length,
      sizeKey: questions.filter((q) => / the (large|small) object\?$/.test(q)).length,
      readOut: questions.filter((q) => /^what (letter|digit) is on /.test(q)).length,
    };
    for (const [kind, n] of Object.entries(kinds)) expect(n / questions.length, kind).toBeGreaterThan(0.15);
    const answers = new Set(TWOSTEP.map((i) => i.answers[0]));
    for (const word of [...COLORS, ...SHAPES]) expect(answers.has(word), word).toBe(true);
    expect(TWOSTEP.some((i) => /^[a-z]$/.test(i.answers[0]))).toBe(true);
    expect(TWOSTEP.some((i) => /^[0-9]$/.test(i.answers[0]))).toBe(true);
  });

  it('is refused for scenes that cannot support it', () => {
    // Same colour and shape everywhere, both sizes twice, no glyph: nothing to find one object by.
    const flat = scene(
      object(0, 'circle', 'red', 'small', 4, 4),
      object(1, 'circle', 'red', 'small', 40, 4),
      object(2, 'circle', 'red', 'large', 4, 35),
      object(3, 'circle', 'red', 'large', 35, 35),
    );
    expect(allAsked('twostep', flat).size).toBe(0);
  });

  it('asks about a supportable scene exactly what holds there', () => {
    const s = scene(
      object(0, 'circle', 'red', 'large', 2, 2, { char: 'K', kind: 'letter' }),
      object(1, 'square', 'blue', 'large', 36, 2, { char: '7', kind: 'digit' }),
      object(2, 'triangle', 'blue', 'small', 20, 40),
    );
    const asked = allAsked('twostep', s);
    expect(asked).toContain('what color is the object with the letter k? red');
    expect(asked).toContain('what shape is the object with the digit 7? square');
    expect(asked).toContain('what shape is the small object? triangle');
    expect(asked).toContain('what letter is on the red object? k');
    expect(asked).toContain('what digit is on the square? 7');
    // Two large objects: "the large object" is never asked; blue is not unique.
    for (const q of asked) expect(q).not.toMatch(/large object|on the blue object/);
  });
});

describe('locate', () => {
  it('answers as the independent oracle does, about a uniquely named object, with a distractor kept', () => {
    for (const item of LOCATE) {
      const { answer, relevant } = oracle(item);
      expect(item.answers, item.question).toEqual([answer]);
      expect(relevant).toHaveLength(1);
      expect(item.boxes.map(boxKey)).toEqual([boxKey(relevant[0].box)]);
      expect(item.scene.objects.length).toBeGreaterThan(1);
    }
  });

  it('keeps the centre clearly off the middle and balances the four sides', () => {
    const sides: Record<string, number> = {};
    for (const item of LOCATE) {
      const { relevant } = oracle(item);
      const horizontal = item.question.includes('left or the right');
      const centre = horizontal ? relevant[0].center[0] : relevant[0].center[1];
      expect(Math.abs(centre - item.scene.imageSize / 2)).toBeGreaterThanOrEqual(
        (SPATIAL_MIN_SEPARATION / 2) * item.scene.imageSize,
      );
      sides[item.answers[0]] = (sides[item.answers[0]] ?? 0) + 1;
    }
    expect(Object.keys(sides).sort()).toEqual(['bottom', 'left', 'right', 'top']);
    for (const n of Object.values(sides)) expect(n / LOCATE.length).toBeGreaterThan(0.18);
  });

  it('asks about a hand-made scene exactly what holds there, and refuses an object at the middle', () => {
    const s = scene(object(0, 'circle', 'red', 'small', 2, 2), object(1, 'square', 'blue', 'small', 25, 25));
    const asked = new Set<string>();
    for (let seed = 0; seed < 200; seed++) {
      const qa = QUESTION_BUILDERS.locate(s, new Rng(seed));
      if (qa) asked.add(`${qa.question} ${qa.answers[0]}`);
    }
    // The square's centre (32, 32) is at the middle: never asked about. The circle sits top left.
    expect([...asked].sort()).toEqual([
      'is the red circle at the top or the bottom? top',
      'is the red circle on the left or the right? left',
    ]);
  });
});

describe('vocabulary of the opt-in families', () => {
  it('questions and answers use only the extended vocabulary and the documented shape', () => {
    const vocabulary = new Set(VOCABULARY_EXTENDED);
    for (const item of [...RELATE, ...TWOSTEP, ...LOCATE]) {
      expect(item.question).toMatch(/^[a-z0-9 ]+\?$/);
      for (const token of [...tokenize(item.question), ...item.answers])
        expect(vocabulary.has(token), `${JSON.stringify(token)} in ${item.question}`).toBe(true);
    }
  });
});
