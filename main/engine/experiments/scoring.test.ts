import { describe, expect, it } from 'vitest';

import type { DatasetItem } from '../datasets/types.ts';
import { probabilityOf, scoreAnswer } from './scoring.ts';

const item = (over: Partial<DatasetItem>): DatasetItem => ({
  id: 'x',
  imagePath: '/x.png',
  question: 'q',
  answers: ['2'],
  family: 'f',
  subtype: null,
  boxes: [],
  metric: 'exact',
  ...over,
});

describe('scoreAnswer', () => {
  it('uses VQA soft accuracy over the annotators when there are several', () => {
    const annotators = ['two', '2', '2', '3', '3', '3', '3', '3', '3', '3'];
    // "2" (normalised from "two" too) matches 3 annotators' raw answers only where they are "2": the
    // official ground-truth handling keeps "two" un-normalised, so 2 of 10 match → 0.6 on average.
    expect(scoreAnswer(item({ metric: 'vqa', annotatorAnswers: annotators }), 'two')).toBeCloseTo(0.6, 9);
  });

  it('falls back to exact match for a VQA item with a single answer', () => {
    expect(scoreAnswer(item({ metric: 'vqa', answers: ['red'] }), 'Red.')).toBe(1);
  });

  it('scores POPE by the yes/no the answer text expresses', () => {
    expect(scoreAnswer(item({ metric: 'pope', answers: ['no'] }), 'No, there is not.')).toBe(1);
    expect(scoreAnswer(item({ metric: 'pope', answers: ['no'] }), 'Yes')).toBe(0);
  });

  it('uses ANLS for documents and gives no score without gold answers', () => {
    expect(scoreAnswer(item({ metric: 'anls', answers: ['coca cola'] }), 'coca cola')).toBe(1);
    expect(scoreAnswer(item({ metric: 'none', answers: [] }), 'anything')).toBeNull();
  });

  it('reads the option a multiple-choice answer names, by letter or by text', () => {
    const choices = [
      { label: 'A', text: 'a dog' },
      { label: 'B', text: 'a horse' },
    ];
    const mcq = item({ metric: 'choice', answers: ['B'], choices });
    expect(scoreAnswer(mcq, 'B.')).toBe(1);
    expect(scoreAnswer(mcq, 'It is a horse')).toBe(1);
    expect(scoreAnswer(mcq, 'A')).toBe(0);
    expect(scoreAnswer(mcq, 'a zebra')).toBe(0);
  });
});

describe('probabilityOf', () => {
  it('is the softmax probability, stable for large logits', () => {
    expect(probabilityOf([1000, 1000 + Math.log(3)], 1)).toBeCloseTo(0.75, 12);
  });
});
