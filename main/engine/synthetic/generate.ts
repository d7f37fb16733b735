/**
 * Deterministic item generation. Item i of a split is a pure function of (seed, split, i, imageSize,
 * familyWeights): its PRNG is seeded from a hash of those, so a longer run reproduces a shorter one as a
 * prefix, and train/val/test draw from independent streams. Disjointness of the splits' scenes is
 * guaranteed separately by hash buckets (scene.ts: splitOfScene).
 */
import { FusionError } from '../../common/errors.ts';
import { QUESTION_BUILDERS, type QuestionAnswer } from './questions.ts';
import { Rng, hashString } from './random.ts';
import { generateScene, splitOfScene } from './scene.ts';
import { ALL_FAMILIES, FAMILIES, OPT_IN_FAMILIES, QUESTION_REGIONS, SPLITS } from './types.ts';
import type { Box, Family, FamilyWeights, GenerateOptions, Item, QuestionRegions, Split } from './types.ts';

export const DEFAULT_IMAGE_SIZE = 64;
export const MIN_IMAGE_SIZE = 32;
export const MAX_IMAGE_SIZE = 256;
/** Ids carry six digits ("test-000001"). */
export const MAX_COUNT = 999_999;
export const MAX_SEED = 0xffffffff;
export const MAX_QUESTIONS_PER_IMAGE = 4;
/** With `questionRegions: 'any'` nothing has to be disjoint, so an image can carry more questions. */
export const MAX_QUESTIONS_PER_IMAGE_ANY = 8;

/** Scenes drawn per item before giving up; a family needs a suitable scene, a split its hash bucket. */
const MAX_ATTEMPTS = 2000;

export interface ResolvedOptions {
  seed: number;
  split: Split;
  count: number;
  imageSize: number;
  weights: number[];
  questionsPerImage: number;
  questionRegions: QuestionRegions;
}

function bad(message: string): FusionError {
  return new FusionError('BAD_ARGUMENT', message);
}

export function resolveOptions(options: GenerateOptions): ResolvedOptions {
  const { seed, split, count } = options;
  const imageSize = options.imageSize ?? DEFAULT_IMAGE_SIZE;
  if (!Number.isInteger(seed) || seed < 0 || seed > MAX_SEED)
    throw bad(`seed: ${String(seed)} is not an integer in 0..${MAX_SEED}`);
  if (!(SPLITS as readonly string[]).includes(split))
    throw bad(`split: ${JSON.stringify(split)} is not one of ${SPLITS.join('|')}`);
  if (!Number.isInteger(count) || count < 0 || count > MAX_COUNT)
    throw bad(`count: ${String(count)} is not an integer in 0..${MAX_COUNT}`);
  if (!Number.isInteger(imageSize) || imageSize < MIN_IMAGE_SIZE || imageSize > MAX_IMAGE_SIZE)
    throw bad(`imageSize: ${String(imageSize)} is not an integer in ${MIN_IMAGE_SIZE}..${MAX_IMAGE_SIZE}`);
  const questionRegions = options.questionRegions ?? 'disjoint';
  if (!(QUESTION_REGIONS as readonly string[]).includes(questionRegions))
    throw bad(
      `questionRegions: ${JSON.stringify(questionRegions)} is not one of ${QUESTION_REGIONS.join('|')}`,
    );
  const maxQuestions = questionRegions === 'any' ? MAX_QUESTIONS_PER_IMAGE_ANY : MAX_QUESTIONS_PER_IMAGE;
  const questionsPerImage = options.questionsPerImage ?? 1;
  if (!Number.isInteger(questionsPerImage) || questionsPerImage < 1 || questionsPerImage > maxQuestions) {
    throw bad(
      `questionsPerImage: ${String(questionsPerImage)} is not an integer in 1..${maxQuestions} (with ${questionRegions} regions)`,
    );
  }
  const weights = resolveWeights(options.familyWeights);
  return { seed, split, count, imageSize, weights, questionsPerImage, questionRegions };
}

/**
 * One weight per family of ALL_FAMILIES. Without `familyWeights` the default families weigh 1 and the
 * opt-in ones 0; with it, every family not named weighs 0. The opt-in families come last, so their
 * zero weights leave rng.weightedIndex's draws (and so every default stream) exactly as before.
 */
export function resolveWeights(familyWeights: FamilyWeights | undefined): number[] {
  const given = familyWeights ?? {};
  for (const key of Object.keys(given)) {
    if (!(ALL_FAMILIES as readonly string[]).includes(key))
      throw bad(`familyWeights: unknown family ${JSON.stringify(key)} (expected ${ALL_FAMILIES.join('|')})`);
  }
  const byDefault = (f: Family) => (familyWeights || !(FAMILIES as readonly Family[]).includes(f) ? 0 : 1);
  const weights = ALL_FAMILIES.map((f) => given[f] ?? byDefault(f));
  for (const [i, w] of weights.entries()) {
    if (!Number.isFinite(w) || w < 0)
      throw bad(`familyWeights.${ALL_FAMILIES[i]}: ${String(w)} is not a finite non-negative number`);
  }
  if (!weights.some((w) => w > 0)) throw bad('familyWeights: at least one family needs a positive weight');
  return weights;
}

/** Families with a positive weight, in canonical order. */
export function activeFamilies(weights: readonly number[]): Family[] {
  return ALL_FAMILIES.filter((_, i) => weights[i] > 0);
}

/** Whether any opt-in family has a positive weight (such a dataset's manifest lists the extended vocabulary). */
export function usesOptInFamilies(weights: readonly number[]): boolean {
  return activeFamilies(weights).some((f) => (OPT_IN_FAMILIES as readonly Family[]).includes(f));
}

export function itemId(split: Split, index: number): string {
  return `${split}-${String(index + 1).padStart(6, '0')}`;
}

function itemSeed(resolved: ResolvedOptions, index: number): number {
  const { seed, split, imageSize, questionsPerImage, questionRegions } = resolved;
  // One question per image keeps the original stream, so existing datasets regenerate unchanged.
  const regions = questionRegions === 'any' ? '/any' : '';
  const group = questionsPerImage > 1 || questionRegions === 'any' ? `/q${questionsPerImage}${regions}` : '';
  return hashString(`fusionscope-vqa/v1/${seed}/${split}/${imageSize}/${index}${group}`);
}

/**
 * An opt-in family's question kind, drawn once per question before any scene (questions.ts); the default
 * families draw nothing here, so their streams are exactly what they were before opt-in families existed.
 */
function drawVariant(family: Family, rng: Rng): number | undefined {
  return (OPT_IN_FAMILIES as readonly Family[]).includes(family) ? rng.next() : undefined;
}

export function generateItem(resolved: ResolvedOptions, index: number): Item {
  const { split, imageSize, weights } = resolved;
  const rng = new Rng(itemSeed(resolved, index));
  const family = ALL_FAMILIES[rng.weightedIndex(weights)];
  const variant = drawVariant(family, rng);
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const scene = generateScene(rng, imageSize);
    if (splitOfScene(scene) !== split) continue;
    const qa = QUESTION_BUILDERS[family](scene, rng, variant);
    if (!qa) continue;
    const id = itemId(split, index);
    return {
      id,
      image: `images/${id}.png`,
      question: qa.question,
      answers: qa.answers,
      family,
      subtype: qa.subtype,
      boxes: qa.boxes,
      scene,
    };
  }
  throw new FusionError(
    'RUNTIME',
    `could not build a ${family} item for ${split} #${index} in ${MAX_ATTEMPTS} scenes`,
  );
}

function boxesMeet(a: Box, b: Box): boolean {
  return a[0] < b[2] && b[0] < a[2] && a[1] < b[3] && b[1] < a[3];
}

/** Draws per question until the image has this many, each about boxes no other question touches. */
const DRAWS_PER_QUESTION = 20;

type Asked = { family: Family; qa: QuestionAnswer }[];

/** `disjoint` regions: a question with a region that meets no region asked about before. */
function disjointRegion(asked: Asked, qa: QuestionAnswer): boolean {
  if (qa.boxes.length === 0) return false;
  const taken = asked.flatMap((a) => a.qa.boxes);
  return !qa.boxes.some((box) => taken.some((other) => boxesMeet(box, other)));
}

/** `any` regions: any question not asked of this image already. */
function distinctQuestion(asked: Asked, qa: QuestionAnswer): boolean {
  return !asked.some((a) => a.qa.question === qa.question);
}

/**
 * Image `index`'s questions when several are asked per image: up to `questionsPerImage`. With `disjoint`
 * regions at least two, each with a region (a box) that meets no other question's, so the difference
 * between two questions' attention maps has a known place to point at; with `any`, at least one, each
 * question distinct. Ids `test-000001-q1`, one image file.
 */
export function generateImageGroup(resolved: ResolvedOptions, index: number): Item[] {
  const { split, imageSize, weights, questionsPerImage, questionRegions } = resolved;
  const rng = new Rng(itemSeed(resolved, index));
  const image = `images/${itemId(split, index)}.png`;
  const admits = questionRegions === 'any' ? distinctQuestion : disjointRegion;
  const minimum = questionRegions === 'any' ? 1 : 2;
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const scene = generateScene(rng, imageSize);
    if (splitOfScene(scene) !== split) continue;
    const asked: Asked = [];
    for (let draw = 0; draw < DRAWS_PER_QUESTION * questionsPerImage; draw++) {
      if (asked.length === questionsPerImage) break;
      const family = ALL_FAMILIES[rng.weightedIndex(weights)];
      const qa = QUESTION_BUILDERS[family](scene, rng, drawVariant(family, rng));
      if (qa && admits(asked, qa)) asked.push({ family, qa });
    }
    if (asked.length < minimum) continue;
    return asked.map(({ family, qa }, k) => ({
      id: `${itemId(split, index)}-q${k + 1}`,
      image,
      question: qa.question,
      answers: qa.answers,
      family,
      subtype: qa.subtype,
      boxes: qa.boxes,
      scene,
    }));
  }
  throw new FusionError(
    'RUNTIME',
    questionRegions === 'any'
      ? `could not ask a question of one ${split} image (#${index}) in ${MAX_ATTEMPTS} scenes`
      : `could not ask two questions about disjoint regions of one ${split} image (#${index}) in ${MAX_ATTEMPTS} scenes`,
  );
}

/** Image `index`'s items: one, or its group when several questions are asked per image. */
export function generateImageItems(resolved: ResolvedOptions, index: number): Item[] {
  return resolved.questionsPerImage > 1 || resolved.questionRegions === 'any'
    ? generateImageGroup(resolved, index)
    : [generateItem(resolved, index)];
}

/** Lazily yields the items of images 0..count-1 (constant memory, for writing large datasets). */
export function* iterateItems(options: GenerateOptions): Generator<Item> {
  const resolved = resolveOptions(options);
  for (let i = 0; i < resolved.count; i++) yield* generateImageItems(resolved, i);
}

export function generateItems(options: GenerateOptions): Item[] {
  return [...iterateItems(options)];
}
