import { describe, expect, it } from 'vitest';

import { openDataset } from '../openDataset.ts';
import { useTempDir, writeJson, writePng, writeText } from '../testing.ts';

const { dir, at } = useTempDir();

const Q = 'v2_OpenEnded_mscoco_val2014_questions.json';
const A = 'v2_mscoco_val2014_annotations.json';
const ten = (...answers: string[]) =>
  answers.map((answer, i) => ({ answer, answer_confidence: 'yes', answer_id: i + 1 }));

const annotation = (questionId: number, imageId: number, extra: object = {}) => ({
  question_id: questionId,
  image_id: imageId,
  question_type: 'how many',
  answer_type: 'number',
  multiple_choice_answer: '2',
  answers: ten('2', 'two', 'two', '2', '2', '3', '2', 'two', '2', '2'),
  ...extra,
});

async function fixture() {
  await writeJson(at(Q), {
    data_type: 'mscoco',
    data_subtype: 'val2014',
    questions: [
      { image_id: 1, question: 'How many dogs are there?', question_id: 10 },
      { image_id: 2, question: 'What is this?', question_id: 20 },
      { image_id: 3, question: 'Is it raining?', question_id: 30 }, // image file absent
      { image_id: 1, question: 'Unannotated?', question_id: 40 },
      { image_id: 'x', question: 'Bad image id?', question_id: 50 },
      { image_id: 1, question: 'No id?' },
      'not an object',
    ],
  });
  await writeJson(at(A), {
    data_subtype: 'val2014',
    annotations: [
      annotation(10, 1),
      // OK-VQA style: no multiple_choice_answer, so the most frequent answer leads.
      annotation(20, 2, {
        multiple_choice_answer: undefined,
        answer_type: 'other',
        question_type: 'what is this',
        answers: ten('net', 'netting', 'net'),
      }),
      annotation(30, 3),
      annotation(50, 1),
    ],
  });
  await writePng(at('val2014/COCO_val2014_000000000001.jpg'));
  await writePng(at('val2014/COCO_val2014_000000000002.jpg'));
}

describe('vqav2', () => {
  it('pairs questions with annotations and names COCO images', async () => {
    await fixture();
    const ds = await openDataset(dir());
    expect(ds.format).toBe('vqav2');
    expect(ds.name).toBe('v2_OpenEnded_mscoco_val2014_questions');
    expect(ds.items).toHaveLength(2);
    expect(ds.items[0]).toEqual({
      id: '10',
      imagePath: at('val2014/COCO_val2014_000000000001.jpg'),
      question: 'How many dogs are there?',
      answers: ['2', 'two', '3'],
      annotatorAnswers: ['2', 'two', 'two', '2', '2', '3', '2', 'two', '2', '2'],
      metric: 'vqa',
      family: 'number',
      subtype: null,
      answerType: 'number',
      questionType: 'how many',
      boxes: [],
      meta: { imageId: 1 },
    });
    expect(ds.items[1]).toMatchObject({ id: '20', answers: ['net', 'netting'], family: 'other' });
  });

  it('lists every unusable question with its reason', async () => {
    await fixture();
    const ds = await openDataset(dir());
    expect(ds.skipped.map((s) => [s.index, s.id, s.reason.replace(/ \(looked in.*/, '')])).toEqual([
      [2, '30', 'image file "COCO_val2014_000000000003.jpg" not found'],
      [3, '40', `no annotation for question_id "40" in ${at(A)}`],
      [4, '50', '"image_id" must be a non-negative integer'],
      [5, undefined, 'missing "question_id"'],
      [6, undefined, 'not a JSON object'],
    ]);
  });

  it('is detected from the question file, the annotation file, or a renamed file by shape', async () => {
    await fixture();
    expect((await openDataset(at(Q))).format).toBe('vqav2');
    const fromAnnotations = await openDataset(at(A));
    expect(fromAnnotations.items.map((i) => i.id)).toEqual(['10', '20']);
    await writeJson(at('mine.json'), {
      data_subtype: 'val2014',
      questions: [{ image_id: 1, question: 'q?', question_id: 10 }],
    });
    const renamed = await openDataset(at('mine.json'), { answers: at(A) });
    expect(renamed).toMatchObject({ format: 'vqav2', items: [{ id: '10' }] });
  });

  it('uses test2015 images for test-dev questions', async () => {
    await writeJson(at('v2_OpenEnded_mscoco_test-dev2015_questions.json'), {
      data_subtype: 'test-dev2015',
      questions: [{ image_id: 7, question: 'q?', question_id: 70 }],
    });
    await writeJson(at('v2_mscoco_test-dev2015_annotations.json'), { annotations: [annotation(70, 7)] });
    await writePng(at('test2015/COCO_test2015_000000000007.jpg'));
    const ds = await openDataset(dir());
    expect(ds.items[0].imagePath).toBe(at('test2015/COCO_test2015_000000000007.jpg'));
  });

  it('refuses malformed files with the file name and what is wrong', async () => {
    await fixture();
    await writeText(at(Q), '{"questions": [');
    await expect(openDataset(dir())).rejects.toMatchObject({
      code: 'BAD_DATASET',
      message: expect.stringContaining(`${at(Q)}: not valid JSON`),
    });
    await writeJson(at(Q), [{ image_id: 1, question: 'q?', question_id: 10 }]);
    await expect(openDataset(dir())).rejects.toThrow(
      `${at(Q)}: expected an object with a "questions" list (VQA question file), found a list`,
    );
    await writeJson(at(Q), { data_subtype: 'val2014', questions: [] });
    await writeJson(at(A), { info: {} });
    await expect(openDataset(dir())).rejects.toThrow(`${at(A)}: missing "annotations"`);
    await writeJson(at(A), { annotations: [] });
    await writeJson(at('q.json'), { questions: [] });
    await expect(openDataset(at('q.json'), { answers: at(A) })).rejects.toThrow(/q\.json: no "data_subtype"/);
  });

  it('needs the annotation file', async () => {
    await fixture();
    await writeJson(at(A), null);
    await expect(openDataset(at(Q))).rejects.toThrow(
      `${at(A)}: expected an object with an "annotations" list`,
    );
    await writeJson(at('v2_OpenEnded_mscoco_train2014_questions.json'), { questions: [] });
    await expect(openDataset(at('v2_OpenEnded_mscoco_train2014_questions.json'))).rejects.toMatchObject({
      code: 'MISSING_FILE',
      message: expect.stringContaining('no annotation file beside it for train2014'),
    });
  });
});
