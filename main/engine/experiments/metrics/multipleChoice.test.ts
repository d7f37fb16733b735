/**
 * VLMEvalKit's exact-matching option extraction and circular accuracy, on cases worked out by hand
 * from matching_util.py's rules (each case says which rule decides it).
 */
import { describe, expect, it } from 'vitest';

import type { Choice } from '../../../common/analysis.ts';
import {
  choiceScore,
  circularAccuracy,
  inferChoice,
  inferOptionLetter,
  type CircularRow,
} from './multipleChoice.ts';

const options = (...texts: string[]): Choice[] =>
  texts.map((text, i) => ({ label: String.fromCharCode(65 + i), text }));

const ABCD = options('a red apple', 'a cat', 'two dogs', 'the sea');

describe('inferChoice (VLMEvalKit can_infer)', () => {
  it('reads a lone option letter once punctuation is spaced out', () => {
    expect(inferChoice('B', ABCD)).toBe('B');
    expect(inferChoice('(C)', ABCD)).toBe('C');
    expect(inferChoice('D. the sea', ABCD)).toBe('D');
    expect(inferChoice('Answer: A', ABCD)).toBe('A');
  });

  it('wants the letter among the last five words', () => {
    // 7 words, "B" is word 1: index 1 > 7 - 5 = 2 fails; no option text inside; no "answer is X".
    expect(inferOptionLetter('I B think it could be this', ['A', 'B', 'C', 'D'])).toBeNull();
    // 5 words, "B" at index 1 > 0: accepted.
    expect(inferOptionLetter('so B is my pick', ['A', 'B', 'C', 'D'])).toBe('B');
  });

  it('gives up on two letters unless "the answer is X" settles it', () => {
    expect(inferOptionLetter('A or B', ['A', 'B', 'C', 'D'])).toBeNull();
    expect(inferOptionLetter('Not A. The correct answer is **B**.', ['A', 'B', 'C', 'D'])).toBe('B');
  });

  it('maps refusals and a lone Z to Z, which is never right', () => {
    expect(inferChoice('Cannot determine the answer from this.', ABCD)).toBe('Z');
    expect(inferChoice('Z', ABCD)).toBe('Z');
    expect(choiceScore('Z', ABCD, 'A')).toBe(0);
  });

  it('falls back to the one option whose text the answer contains', () => {
    expect(inferChoice('It shows a cat.', ABCD)).toBe('B');
    // Two option texts inside ("a cat" and "the sea"): undecided.
    expect(inferChoice('a cat by the sea', ABCD)).toBeNull();
    // Longer than twice all option texts together (2 x 31 code points): not read at all.
    expect(inferChoice(`${'very '.repeat(12)}clearly a cat`, ABCD)).toBeNull();
  });

  it('scores 1 only for the gold option', () => {
    expect(choiceScore('B', ABCD, 'B')).toBe(1);
    expect(choiceScore('C', ABCD, 'B')).toBe(0);
    expect(choiceScore('no idea', ABCD, 'B')).toBe(0);
  });

  it('refuses a question without options', () => {
    expect(() => inferChoice('A', [])).toThrow(/at least one option/);
  });
});

describe('circularAccuracy (VLMEvalKit mcq_circular_eval + report_acc)', () => {
  const row = (group: string, rotation: number, rotations: number, score: number | null, family = 'f') =>
    ({ circular: { group, rotation, rotations }, score, family }) satisfies CircularRow;

  it('counts a question only when every rotation is right, and reports per family', () => {
    const summary = circularAccuracy([
      // q1: 4 rotations, all right → hit
      row('1', 0, 4, 1, 'ocr'),
      row('1', 1, 4, 1, 'ocr'),
      row('1', 2, 4, 1, 'ocr'),
      row('1', 3, 4, 1, 'ocr'),
      // q2: one rotation wrong → miss
      row('2', 0, 3, 1, 'ocr'),
      row('2', 1, 3, 0, 'ocr'),
      row('2', 2, 3, 1, 'ocr'),
      // q3: 2 rotations right → hit, other family
      row('3', 0, 2, 1, 'count'),
      row('3', 1, 2, 1, 'count'),
    ]);
    expect(summary.overall).toBeCloseTo(2 / 3, 12);
    expect(summary.byFamily).toEqual({ ocr: { mean: 0.5, n: 2 }, count: { mean: 1, n: 1 } });
    expect([summary.groups, summary.incomplete]).toEqual([3, 0]);
  });

  it('leaves out a question with a rotation missing or unscored', () => {
    const summary = circularAccuracy([
      row('1', 0, 3, 1),
      row('1', 1, 3, 1), // rotation 2 never ran
      row('2', 0, 2, 1),
      row('2', 1, 2, null), // failed sample
      row('3', 0, 2, 0),
      row('3', 1, 2, 1),
    ]);
    expect([summary.overall, summary.groups, summary.incomplete]).toEqual([0, 1, 2]);
    expect(Number.isNaN(circularAccuracy([row('9', 0, 2, 1)]).overall)).toBe(true);
  });
});
