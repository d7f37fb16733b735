/**
 * The closed word list of the benchmark. Tokenisation rule (also in FORMAT.md): lowercase text, the
 * trailing "?" split off as its own token, then split on single spaces. So
 * "is the red circle left of the blue square?" -> [is, the, red, circle, left, of, the, blue, square, ?].
 */
import { DIGITS, LETTERS } from './font.ts';
import { COLORS, SHAPES } from './types.ts';

const TEMPLATE_WORDS = [
  'what', 'color', 'is', 'the', 'shape', 'object', 'objects', 'how', 'many', 'are', 'there', 'a',
  'left', 'right', 'of', 'above', 'below', 'letter', 'digit', 'on',
]; // prettier-ignore

export const QUESTION_MARK = '?';

/** Words only the opt-in families (relate, twostep, locate) use. */
const OPT_IN_WORDS = ['with', 'large', 'small', 'or', 'at', 'top', 'bottom'];

const BASE_WORDS = [
  ...TEMPLATE_WORDS,
  ...COLORS,
  ...SHAPES,
  ...SHAPES.map((s) => `${s}s`),
  'yes',
  'no',
  ...DIGITS,
  ...LETTERS.map((l) => l.toLowerCase()),
  QUESTION_MARK,
];

/**
 * Every token that can appear in any question or answer of the default families (the v1 word list, 72
 * tokens), sorted by UTF-16 code unit (JS default sort). Manifests of datasets without an opt-in family
 * list exactly this, as they always have (tokenizers built from it stay unchanged).
 */
export const VOCABULARY: readonly string[] = [...new Set(BASE_WORDS)].sort();

/** VOCABULARY plus the opt-in families' words (79 tokens), listed by manifests of datasets that use them. */
export const VOCABULARY_EXTENDED: readonly string[] = [...new Set([...BASE_WORDS, ...OPT_IN_WORDS])].sort();

export function tokenize(text: string): string[] {
  const lower = text.toLowerCase().trim();
  const body = lower.endsWith(QUESTION_MARK) ? lower.slice(0, -1) : lower;
  const words = body.split(' ').filter((w) => w !== '');
  return lower.endsWith(QUESTION_MARK) ? [...words, QUESTION_MARK] : words;
}
