/**
 * Multiple-choice scoring as VLMEvalKit does it with its `exact_matching` judge (no LLM to extract an
 * option): `can_infer` in vlmeval/utils/matching_util.py and the circular evaluation of
 * vlmeval/dataset/utils/multiple_choice.py (`prefetch_circular_group`, `mcq_circular_eval`,
 * `report_acc`), restated from VLMEvalKit at commit e8e78f05.
 */
import type { Choice, CircularSlot, CircularSummary } from '../../../common/analysis.ts';
import { FusionError } from '../../../common/errors.ts';

/** A refusal VLMEvalKit maps to the pseudo-option `Z` (never a right answer). */
const REFUSALS = [
  "Sorry, I can't help with images of people yet.",
  "I can't process this file.",
  "I'm sorry, but without the image provided",
  'Cannot determine the answer',
];
const PUNCTUATION = /[.()[\],:;!*#{}]/g;
/** "The correct answer is **B**." (VLMEvalKit reads only A to D this way.) */
const VERBOSE_ANSWER = /(?:correct\s+)?answer\s+is\s+\**([ABCD])\**/i;

/** Python's `len` counts code points, not UTF-16 units. */
const codePoints = (text: string) => [...text].length;

/** `can_infer_option`: an option letter standing alone near the end of the answer, or `Z`, or null. */
export function inferOptionLetter(answer: string, labels: readonly string[]): string | null {
  if (answer.includes('Failed to obtain answer via API')) return null;
  if (REFUSALS.some((refusal) => answer.includes(refusal))) return 'Z';
  const words = answer
    .replace(PUNCTUATION, ' ')
    .split(/\s+/)
    .filter((w) => w !== '');
  const present = labels.filter((label) => words.includes(label));
  if (present.length === 1) {
    // The letter must be among the last five words ("A" early in a sentence is often an article).
    const label = present[0];
    if (words.indexOf(label) > words.length - 5) return label;
  } else if (present.length === 0 && words.includes('Z')) {
    return 'Z';
  }
  const verbose = VERBOSE_ANSWER.exec(answer);
  const letter = verbose?.[1].toUpperCase();
  return letter !== undefined && labels.includes(letter) ? letter : null;
}

/** `can_infer_text`: the one option whose text the (short enough) answer contains, else null. */
export function inferOptionText(answer: string, choices: readonly Choice[]): string | null {
  const lower = answer.toLowerCase();
  const budget = 2 * choices.reduce((sum, c) => sum + codePoints(c.text), 0);
  if (codePoints(lower) > budget) return null;
  const found = choices.filter((c) => lower.includes(c.text.toLowerCase()));
  return found.length === 1 ? found[0].label : null;
}

/** `can_infer`: the option a free-text answer names (a label, or `Z` for a refusal), or null. */
export function inferChoice(answer: string, choices: readonly Choice[]): string | null {
  if (choices.length === 0) throw new FusionError('BAD_ARGUMENT', 'inferChoice needs at least one option');
  return (
    inferOptionLetter(
      answer,
      choices.map((c) => c.label),
    ) ?? inferOptionText(answer, choices)
  );
}

/** 1 when the option read from `answer` is `gold`; an answer naming no option scores 0. */
export function choiceScore(answer: string, choices: readonly Choice[], gold: string): 0 | 1 {
  return inferChoice(answer, choices) === gold ? 1 : 0;
}

export interface CircularRow {
  readonly circular: CircularSlot;
  /** The rotation's score (0 or 1), or null when it has none (failed, or not run). */
  readonly score: number | null;
  readonly family: string;
}

/**
 * VLMEvalKit's circular accuracy: a question (group) is right only if every one of its rotations is;
 * overall and per family (the group's rotation-0 family, as `report_acc` reads the main rows) the mean
 * over groups. A group with a rotation missing or unscored is left out and counted in `incomplete`:
 * judging it on the rotations present would score it as a plain question.
 */
export function circularAccuracy(rows: readonly CircularRow[]): CircularSummary {
  const groups = new Map<string, { rows: CircularRow[]; expected: number }>();
  for (const row of rows) {
    const group = groups.get(row.circular.group) ?? { rows: [], expected: row.circular.rotations };
    group.rows.push(row);
    groups.set(row.circular.group, group);
  }
  let incomplete = 0;
  let hits = 0;
  let scored = 0;
  const byFamily: Record<string, { mean: number; n: number }> = {};
  for (const group of groups.values()) {
    const rotations = new Set(group.rows.map((r) => r.circular.rotation));
    if (rotations.size !== group.expected || group.rows.some((r) => r.score === null)) {
      incomplete++;
      continue;
    }
    const hit = group.rows.every((r) => r.score === 1) ? 1 : 0;
    const main = group.rows.find((r) => r.circular.rotation === 0) ?? group.rows[0];
    const family = (byFamily[main.family] ??= { mean: 0, n: 0 });
    family.mean += (hit - family.mean) / ++family.n;
    hits += hit;
    scored++;
  }
  return { overall: scored ? hits / scored : NaN, byFamily, groups: scored, incomplete };
}
