import { describe, expect, it } from 'vitest';

import { openDataset } from '../openDataset.ts';
import { useTempDir, writeJson, writePng } from '../testing.ts';

const { dir, at } = useTempDir();

const answers = (...list: string[]) =>
  list.map((answer, i) => ({ answer, answer_confidence: 'yes', answer_id: i + 1 }));

async function fixture() {
  await writeJson(at('vqacp_v2_test_questions.json'), [
    { image_id: 9, question: 'What color is the cat?', question_id: 9000, coco_split: 'train2014' },
    { image_id: 42, question: 'How many dogs?', question_id: 42001, coco_split: 'val2014' },
    { image_id: 7, question: 'Where?', question_id: 7000, coco_split: 'test2015' },
    { image_id: 5, question: 'No gold?', question_id: 5000, coco_split: 'val2014' },
  ]);
  await writeJson(at('vqacp_v2_test_annotations.json'), [
    {
      question_id: 9000,
      image_id: 9,
      coco_split: 'train2014',
      question_type: 'what color is the',
      answer_type: 'other',
      multiple_choice_answer: 'black',
      answers: answers(
        'black',
        'black',
        'black and white',
        'black',
        'black',
        'black',
        'gray',
        'black',
        'black',
        'black',
      ),
    },
    {
      question_id: 42001,
      image_id: 42,
      coco_split: 'val2014',
      question_type: 'how many',
      answer_type: 'number',
      multiple_choice_answer: '2',
      answers: answers('2', '2', '2', '2', '3', '2', '2', '2', '2', '2'),
    },
    { question_id: 7000, image_id: 7, answers: answers('park') },
  ]);
  await writePng(at('train2014/COCO_train2014_000000000009.jpg'));
  await writePng(at('images/val2014/COCO_val2014_000000000042.jpg'));
}

describe('vqacp', () => {
  it('reads the top-level lists, each question from its own COCO split', async () => {
    await fixture();
    const ds = await openDataset(dir());
    expect(ds).toMatchObject({ format: 'vqacp', name: 'vqacp_v2_test_questions' });
    expect(ds.items.map((i) => [i.id, i.imagePath, i.answers[0], i.metric, i.family])).toEqual([
      ['9000', at('train2014/COCO_train2014_000000000009.jpg'), 'black', 'vqa', 'other'],
      ['42001', at('images/val2014/COCO_val2014_000000000042.jpg'), '2', 'vqa', 'number'],
    ]);
    expect(ds.items[0].annotatorAnswers).toHaveLength(10);
    expect(ds.skipped.map((s) => [s.index, s.reason])).toEqual([
      [2, '"coco_split" must name a COCO split such as "train2014", found "test2015"'],
      [3, `no annotation for question_id "5000" in ${at('vqacp_v2_test_annotations.json')}`],
    ]);
  });

  it('opens from the annotation file too, and refuses the VQAv2 wrapper shape', async () => {
    await fixture();
    expect((await openDataset(at('vqacp_v2_test_annotations.json'))).items).toHaveLength(2);
    await writeJson(at('vqacp_v2_test_questions.json'), { questions: [] });
    await expect(openDataset(dir())).rejects.toMatchObject({
      code: 'BAD_DATASET',
      message: `${at('vqacp_v2_test_questions.json')}: expected a list (VQA-CP), found an object`,
    });
  });
});
