import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

import { scoreAnswer } from '../../experiments/scoring.ts';
import { openDataset } from '../openDataset.ts';
import { useTempDir, writeJson, writePng } from '../testing.ts';

const FIXTURES = fileURLToPath(new URL('../fixtures/aokvqa/', import.meta.url));
const { at } = useTempDir();

describe('aokvqa', () => {
  it('reads multiple-choice questions over COCO 2017 images, the gold as a label', async () => {
    const ds = await openDataset(FIXTURES);
    expect(ds).toMatchObject({ format: 'aokvqa', name: 'aokvqa_v1p0_val' });
    expect(ds.items).toHaveLength(1);
    const [item] = ds.items;
    expect(item).toMatchObject({
      id: '22jbM6gDxdaMaunuzgrsBB',
      imagePath: join(FIXTURES, 'val2017', '000000000042.jpg'),
      question:
        "What is the animal most likely to eat?\nA. grass\nB. meat\nC. fish\nD. seeds\nAnswer with the option's letter from the given choices directly.",
      answers: ['A'],
      metric: 'choice',
      meta: { imageId: 42, difficultDirectAnswer: false },
    });
    expect((item.meta?.directAnswers as string[]).filter((a) => a === 'grass')).toHaveLength(7);
    expect([scoreAnswer(item, 'A'), scoreAnswer(item, 'grass'), scoreAnswer(item, 'B')]).toEqual([1, 1, 0]);
    expect(ds.skipped.map((s) => [s.index, s.reason.replace(/ \(looked in.*/, '')])).toEqual([
      [1, '"correct_choice_idx" must be an index into the 4 choices'],
      [2, 'image file "000000000099.jpg" not found'],
    ]);
  });

  it('is found by shape under another name, and refuses a document that is not a list', async () => {
    const entry = {
      question_id: 'q',
      image_id: 1,
      question: 'Why?',
      choices: ['a', 'b'],
      direct_answers: ['a'],
    };
    await writeJson(at('mine.json'), [{ ...entry, correct_choice_idx: 1 }]);
    await writePng(at('000000000001.jpg'));
    const ds = await openDataset(at('mine.json'));
    expect(ds.format).toBe('aokvqa');
    expect(ds.items.map((i) => i.answers)).toEqual([['B']]);
    await writeJson(at('aokvqa_v1p0_test.json'), { questions: [entry] });
    await expect(openDataset(at('aokvqa_v1p0_test.json'))).rejects.toMatchObject({
      code: 'BAD_DATASET',
      message: `${at('aokvqa_v1p0_test.json')}: expected a list of {question_id, image_id, question, choices} (A-OKVQA), found an object`,
    });
  });
});
