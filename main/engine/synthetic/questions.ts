/**
 * Question builders, one per family. Each looks at a scene and either returns a question whose answer
 * follows from the scene description, or null when the scene cannot support that family (e.g. no unique
 * shape to ask about); the caller then draws another scene. Every item keeps at least one distractor:
 * an object that plays no part in the question.
 */
import { POPULARITY_RANKING } from './attributes.ts';
import type { Combo } from './attributes.ts';
import type { Rng } from './random.ts';
import { COLORS, SHAPES } from './types.ts';
import type { Box, Family, PopeSubtype, Scene, SceneObject } from './types.ts';

export interface QuestionAnswer {
  question: string;
  answers: string[];
  subtype: PopeSubtype | null;
  boxes: Box[];
}

export const SPATIAL_RELATIONS = ['left of', 'right of', 'above', 'below'] as const;
export type SpatialRelation = (typeof SPATIAL_RELATIONS)[number];

/** Minimum centre separation along the asked axis, as a fraction of the image side. */
export const SPATIAL_MIN_SEPARATION = 0.15;

/** Probability that a count question asks about an attribute absent from the scene (answer "0"). */
const COUNT_ZERO_PROBABILITY = 0.2;

export const POPE_SUBTYPES: readonly PopeSubtype[] = ['random', 'popular', 'adversarial'];

function countWhere(scene: Scene, test: (o: SceneObject) => boolean): number {
  let n = 0;
  for (const o of scene.objects) if (test(o)) n++;
  return n;
}

function hasCombo(scene: Scene, combo: Combo): boolean {
  return scene.objects.some((o) => o.color === combo.color && o.shape === combo.shape);
}

/** Objects that a "{color} {shape}" phrase identifies without ambiguity. */
function uniquelyNamed(scene: Scene): SceneObject[] {
  return scene.objects.filter(
    (o) => countWhere(scene, (p) => p.color === o.color && p.shape === o.shape) === 1,
  );
}

function withDistractor(scene: Scene, qa: QuestionAnswer): QuestionAnswer | null {
  return qa.boxes.length < scene.objects.length ? qa : null;
}

function colorQuestion(scene: Scene, rng: Rng): QuestionAnswer | null {
  const candidates = scene.objects.filter((o) => countWhere(scene, (p) => p.shape === o.shape) === 1);
  if (candidates.length === 0) return null;
  const target = rng.pick(candidates);
  return {
    question: `what color is the ${target.shape}?`,
    answers: [target.color],
    subtype: null,
    boxes: [target.box],
  };
}

function shapeQuestion(scene: Scene, rng: Rng): QuestionAnswer | null {
  const candidates = scene.objects.filter((o) => countWhere(scene, (p) => p.color === o.color) === 1);
  if (candidates.length === 0) return null;
  const target = rng.pick(candidates);
  return {
    question: `what shape is the ${target.color} object?`,
    answers: [target.shape],
    subtype: null,
    boxes: [target.box],
  };
}

function countQuestion(scene: Scene, rng: Rng): QuestionAnswer | null {
  const byColor = rng.chance(0.5);
  const values: readonly string[] = byColor ? COLORS : SHAPES;
  const present = values.filter((v) => scene.objects.some((o) => (byColor ? o.color : o.shape) === v));
  const absent = values.filter((v) => !present.includes(v));
  const value =
    absent.length > 0 && rng.chance(COUNT_ZERO_PROBABILITY) ? rng.pick(absent) : rng.pick(present);
  const counted = scene.objects.filter((o) => (byColor ? o.color : o.shape) === value);
  const question = byColor ? `how many ${value} objects are there?` : `how many ${value}s are there?`;
  return withDistractor(scene, {
    question,
    answers: [String(counted.length)],
    subtype: null,
    boxes: counted.map((o) => o.box),
  });
}

/** POPE negative: an absent colour+shape chosen by the given strategy. */
export function popeNegative(scene: Scene, subtype: PopeSubtype, rng: Rng): Combo | null {
  const absent = POPULARITY_RANKING.filter((c) => !hasCombo(scene, c));
  if (absent.length === 0) return null;
  switch (subtype) {
    case 'random':
      return rng.pick(absent);
    case 'popular':
      // The most frequent combination (by construction, see attributes.ts) that this scene lacks.
      return absent[0];
    case 'adversarial': {
      // Prefer combinations whose colour AND shape are both in the scene (just not together).
      const colorIn = (c: Combo) => scene.objects.some((o) => o.color === c.color);
      const shapeIn = (c: Combo) => scene.objects.some((o) => o.shape === c.shape);
      const both = absent.filter((c) => colorIn(c) && shapeIn(c));
      if (both.length > 0) return rng.pick(both);
      const either = absent.filter((c) => colorIn(c) || shapeIn(c));
      return either.length > 0 ? rng.pick(either) : null;
    }
  }
}

function existQuestion(scene: Scene, rng: Rng): QuestionAnswer | null {
  if (rng.chance(0.5)) {
    const target = rng.pick(scene.objects);
    const matches = scene.objects.filter((o) => o.color === target.color && o.shape === target.shape);
    return withDistractor(scene, {
      question: `is there a ${target.color} ${target.shape}?`,
      answers: ['yes'],
      subtype: null,
      boxes: matches.map((o) => o.box),
    });
  }
  const subtype = rng.pick(POPE_SUBTYPES);
  const combo = popeNegative(scene, subtype, rng);
  if (!combo) return null;
  return { question: `is there a ${combo.color} ${combo.shape}?`, answers: ['no'], subtype, boxes: [] };
}

/** Whether `a` stands in `relation` to `b`, by object centres (image y grows downwards). */
export function spatialHolds(a: SceneObject, b: SceneObject, relation: SpatialRelation): boolean {
  switch (relation) {
    case 'left of':
      return a.center[0] < b.center[0];
    case 'right of':
      return a.center[0] > b.center[0];
    case 'above':
      return a.center[1] < b.center[1];
    case 'below':
      return a.center[1] > b.center[1];
  }
}

function spatialQuestion(scene: Scene, rng: Rng): QuestionAnswer | null {
  const named = uniquelyNamed(scene);
  const minSeparation = SPATIAL_MIN_SEPARATION * scene.imageSize;
  const options: { a: SceneObject; b: SceneObject; horizontal: boolean }[] = [];
  for (const a of named) {
    for (const b of named) {
      if (a === b) continue;
      if (Math.abs(a.center[0] - b.center[0]) >= minSeparation) options.push({ a, b, horizontal: true });
      if (Math.abs(a.center[1] - b.center[1]) >= minSeparation) options.push({ a, b, horizontal: false });
    }
  }
  if (options.length === 0) return null;
  const { a, b, horizontal } = rng.pick(options);
  // Pick the answer first, then the relation that produces it, so yes/no stay balanced.
  const wantYes = rng.chance(0.5);
  const pair: SpatialRelation[] = horizontal ? ['left of', 'right of'] : ['above', 'below'];
  const relation = pair.find((r) => spatialHolds(a, b, r) === wantYes) as SpatialRelation;
  return withDistractor(scene, {
    question: `is the ${a.color} ${a.shape} ${relation} the ${b.color} ${b.shape}?`,
    answers: [wantYes ? 'yes' : 'no'],
    subtype: null,
    boxes: [a.box, b.box],
  });
}

function glyphQuestion(scene: Scene, rng: Rng): QuestionAnswer | null {
  const candidates = uniquelyNamed(scene).filter((o) => o.glyph !== null);
  if (candidates.length === 0) return null;
  const target = rng.pick(candidates);
  const glyph = target.glyph!;
  return {
    question: `what ${glyph.kind} is on the ${target.color} ${target.shape}?`,
    answers: [glyph.char.toLowerCase()],
    subtype: null,
    boxes: [target.box],
  };
}

// ---------------------------------------------------------------------------------------------------
// Opt-in families (weight 0 unless asked for): relational and two-step questions.
// ---------------------------------------------------------------------------------------------------

/** An attribute a relate/twostep question can ask for. */
type AskedAttribute = 'color' | 'shape';

function attributeOf(o: SceneObject, attribute: AskedAttribute): string {
  return attribute === 'color' ? o.color : o.shape;
}

/**
 * How far `a` stands in `relation` to `b` along the relation's axis, by cell centres: positive exactly
 * when spatialHolds(a, b, relation).
 */
export function relationDisplacement(a: SceneObject, b: SceneObject, relation: SpatialRelation): number {
  switch (relation) {
    case 'left of':
      return b.center[0] - a.center[0];
    case 'right of':
      return a.center[0] - b.center[0];
    case 'above':
      return b.center[1] - a.center[1];
    case 'below':
      return a.center[1] - b.center[1];
  }
}

/**
 * `relate`: "what color|shape is the object {relation} the {reference}?". The reference is named
 * without ambiguity ("{shape}" when its shape is unique, else "{color} {shape}"); exactly one other
 * object stands in the relation to it (by cell centres, as `spatial`), at least SPATIAL_MIN_SEPARATION
 * of the image side away along the axis; and some object other than these two has a different answer
 * value, so the answer cannot be read off the scene without the relation. Boxes: [answered object,
 * reference].
 */
function relateQuestion(scene: Scene, rng: Rng): QuestionAnswer | null {
  const minSeparation = SPATIAL_MIN_SEPARATION * scene.imageSize;
  const options: {
    target: SceneObject;
    reference: SceneObject;
    relation: SpatialRelation;
    attribute: AskedAttribute;
  }[] = [];
  for (const reference of uniquelyNamed(scene)) {
    for (const relation of SPATIAL_RELATIONS) {
      const standing = scene.objects.filter(
        (o) => o !== reference && relationDisplacement(o, reference, relation) > 0,
      );
      if (standing.length !== 1) continue;
      const target = standing[0];
      if (relationDisplacement(target, reference, relation) < minSeparation) continue;
      const others = scene.objects.filter((o) => o !== target && o !== reference);
      for (const attribute of ['color', 'shape'] as const) {
        if (others.some((o) => attributeOf(o, attribute) !== attributeOf(target, attribute)))
          options.push({ target, reference, relation, attribute });
      }
    }
  }
  if (options.length === 0) return null;
  const { target, reference, relation, attribute } = rng.pick(options);
  const shapeUnique = countWhere(scene, (o) => o.shape === reference.shape) === 1;
  const named = shapeUnique && rng.chance(0.5) ? reference.shape : `${reference.color} ${reference.shape}`;
  return withDistractor(scene, {
    question: `what ${attribute} is the object ${relation} the ${named}?`,
    answers: [attributeOf(target, attribute)],
    subtype: null,
    boxes: [target.box, reference.box],
  });
}

/** `locate`: which half of the image an object's centre lies in, along one axis. */
const LOCATE_SIDES = { horizontal: ['left', 'right'], vertical: ['top', 'bottom'] } as const;

/**
 * `locate`: "is the {color} {shape} on the left or the right?" / "... at the top or the bottom?" (the
 * object uniquely named). Its centre lies at least SPATIAL_MIN_SEPARATION / 2 of the image side from the
 * middle along the asked axis, as clear as a `spatial` comparison with an object at the middle; the axis
 * and the answer are drawn before the object, so the sides stay balanced. Boxes: [the object].
 */
function locateQuestion(scene: Scene, rng: Rng): QuestionAnswer | null {
  const horizontal = rng.chance(0.5);
  const [first, second] = horizontal ? LOCATE_SIDES.horizontal : LOCATE_SIDES.vertical;
  const wantFirst = rng.chance(0.5);
  const margin = (SPATIAL_MIN_SEPARATION / 2) * scene.imageSize;
  const middle = scene.imageSize / 2;
  const candidates = uniquelyNamed(scene).filter((o) => {
    const offset = (horizontal ? o.center[0] : o.center[1]) - middle;
    return wantFirst ? offset <= -margin : offset >= margin;
  });
  if (candidates.length === 0) return null;
  const target = rng.pick(candidates);
  const sides = horizontal ? 'on the left or the right' : 'at the top or the bottom';
  return withDistractor(scene, {
    question: `is the ${target.color} ${target.shape} ${sides}?`,
    answers: [wantFirst ? first : second],
    subtype: null,
    boxes: [target.box],
  });
}

/**
 * `twostep`: find an object by one attribute, answer another. Three kinds, drawn uniformly among those
 * the scene supports:
 * - by glyph: "what color|shape is the object with the letter|digit {c}?" (the glyph unique in the scene);
 * - by size: "what color|shape is the large|small object?" (the only object of that size);
 * - glyph read-out: "what letter|digit is on the {color} object?" / "... on the {shape}?" (colour or shape
 *   unique), asked only when another object carries a different glyph.
 * With `variant` (drawn once per item by the generator, in [0, 1)) the kind is fixed up front, third by
 * third, and a scene that cannot support it is refused: so the three kinds are equally frequent, though
 * scenes for the read-out are rarer.
 * The first two need an object whose asked attribute differs from the answer, so the answer cannot be
 * read off the scene without finding the object. Boxes: [the found object].
 */
function twostepQuestion(scene: Scene, rng: Rng, variant?: number): QuestionAnswer | null {
  const kinds: QuestionAnswer[][] = [[], [], []];
  const differs = (target: SceneObject, attribute: AskedAttribute) =>
    scene.objects.some((o) => o !== target && attributeOf(o, attribute) !== attributeOf(target, attribute));
  const ask = (target: SceneObject, question: string, answer: string): QuestionAnswer => ({
    question,
    answers: [answer],
    subtype: null,
    boxes: [target.box],
  });
  for (const target of scene.objects) {
    const glyph = target.glyph;
    const glyphUnique = glyph && countWhere(scene, (o) => o.glyph?.char === glyph.char) === 1;
    for (const attribute of ['color', 'shape'] as const) {
      if (!differs(target, attribute)) continue;
      const answer = attributeOf(target, attribute);
      if (glyph && glyphUnique) {
        const char = glyph.char.toLowerCase();
        kinds[0].push(ask(target, `what ${attribute} is the object with the ${glyph.kind} ${char}?`, answer));
      }
      if (countWhere(scene, (o) => o.size === target.size) === 1)
        kinds[1].push(ask(target, `what ${attribute} is the ${target.size} object?`, answer));
    }
    if (glyph && scene.objects.some((o) => o !== target && o.glyph && o.glyph.char !== glyph.char)) {
      const answer = glyph.char.toLowerCase();
      if (countWhere(scene, (o) => o.color === target.color) === 1)
        kinds[2].push(ask(target, `what ${glyph.kind} is on the ${target.color} object?`, answer));
      if (countWhere(scene, (o) => o.shape === target.shape) === 1)
        kinds[2].push(ask(target, `what ${glyph.kind} is on the ${target.shape}?`, answer));
    }
  }
  const supported =
    variant === undefined ? kinds.filter((k) => k.length > 0) : [kinds[Math.min(2, Math.floor(variant * 3))]];
  if (supported.length === 0 || supported[0].length === 0) return null;
  return withDistractor(scene, rng.pick(rng.pick(supported)));
}

/**
 * One builder per family. `variant` (a number in [0, 1) that the generator draws once per item, for the
 * opt-in families only, so default streams are unchanged) lets a builder fix its question kind before
 * seeing scenes; the default families take none.
 */
export const QUESTION_BUILDERS: Record<
  Family,
  (scene: Scene, rng: Rng, variant?: number) => QuestionAnswer | null
> = {
  color: colorQuestion,
  shape: shapeQuestion,
  count: countQuestion,
  exist: existQuestion,
  spatial: spatialQuestion,
  glyph: glyphQuestion,
  relate: relateQuestion,
  twostep: twostepQuestion,
  locate: locateQuestion,
};
