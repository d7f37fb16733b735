import { describe, expect, it } from 'vitest';

import { openDataset } from '../openDataset.ts';
import { useTempDir, writeJson, writeLines, writePng, writeText } from '../testing.ts';

const { dir, at } = useTempDir();

const FILE = 'llava_vqav2_mscoco_val2014.jsonl';
const PROMPT = '\nAnswer the question using a single word or phrase.';
const question = (id: unknown, image = 'COCO_val2014_000000000001.jpg', category = 'default') => ({
  question_id: id,
  image,
  text: `How many dogs are there?${PROMPT}`,
  category,
});

async function fixture() {
  await writeLines(at(FILE), [
    question(10),
    question(20),
    'nope',
    question(30, 'absent.jpg'),
    { image: 'a.jpg', text: 'q' },
  ]);
  await writePng(at('val2014/COCO_val2014_000000000001.jpg'));
}

describe('llava-jsonl', () => {
  it('pairs a sibling answers file by question_id and keeps the prompt text as the question', async () => {
    await fixture();
    await writeLines(at('llava_vqav2_mscoco_val2014_answers.jsonl'), [
      { question_id: 10, text: '2' },
      { question_id: 30, answers: ['a', 'b'] },
      { question_id: 20 },
    ]);
    const ds = await openDataset(dir());
    expect(ds).toMatchObject({ format: 'llava-jsonl', name: 'llava_vqav2_mscoco_val2014' });
    expect(ds.items).toEqual([
      {
        id: '10',
        imagePath: at('val2014/COCO_val2014_000000000001.jpg'),
        question: `How many dogs are there?${PROMPT}`,
        answers: ['2'],
        metric: 'exact',
        family: 'default',
        questionType: 'default',
        subtype: null,
        boxes: [],
      },
    ]);
    const answers = at('llava_vqav2_mscoco_val2014_answers.jsonl');
    expect(ds.skipped.map((s) => [s.line, s.reason.replace(/ \(.*/, '')])).toEqual([
      [2, `answers line 3 of ${answers} has no answer`],
      [3, 'not valid JSON'],
      [4, 'image file "absent.jpg" not found'],
      [5, 'missing "question_id"'],
    ]);
  });

  it('takes VQA annotations through the answers option, scored with soft accuracy', async () => {
    await fixture();
    await writeJson(at('ann.json'), {
      annotations: [
        {
          question_id: 10,
          answer_type: 'number',
          question_type: 'how many',
          answers: [{ answer: '2' }, { answer: 'two' }],
        },
      ],
    });
    const ds = await openDataset(at(FILE), { answers: at('ann.json') });
    expect(ds.items[0]).toMatchObject({
      id: '10',
      metric: 'vqa',
      annotatorAnswers: ['2', 'two'],
      answerType: 'number',
    });
    expect(ds.skipped[0]).toMatchObject({
      line: 2,
      reason: `no answer for question_id "20" in ${at('ann.json')}`,
    });
  });

  it('without answers gives attention-only items (metric none)', async () => {
    await fixture();
    const ds = await openDataset(at(FILE));
    expect(ds.items.map((i) => [i.id, i.metric, i.answers])).toEqual([
      ['10', 'none', []],
      ['20', 'none', []],
    ]);
  });

  it("detects LLaVA-Bench's questions.jsonl + answers_gpt4.jsonl layout, and question lines by shape", async () => {
    await writeLines(at('questions.jsonl'), [
      { question_id: 0, image: '001.jpg', text: 'What is unusual?', category: 'complex' },
    ]);
    await writeLines(at('answers_gpt4.jsonl'), [{ question_id: 0, text: 'A man irons on a taxi.' }]);
    await writePng(at('images/001.jpg'));
    const bench = await openDataset(dir());
    expect(bench.items[0]).toMatchObject({ id: '0', answers: ['A man irons on a taxi.'], family: 'complex' });
    await writeLines(at('mine.jsonl'), [{ question_id: 5, image: '001.jpg', text: 'Describe it.' }]);
    expect(await openDataset(at('mine.jsonl'))).toMatchObject({
      format: 'llava-jsonl',
      items: [{ id: '5', family: 'llava' }],
    });
  });

  it('refuses an answers file it cannot read', async () => {
    await fixture();
    await writeJson(at('ann.json'), { questions: [] });
    await expect(openDataset(at(FILE), { answers: at('ann.json') })).rejects.toMatchObject({
      code: 'BAD_DATASET',
      message: expect.stringContaining(
        `${at('ann.json')}: expected JSON Lines of {question_id, answer|answers|label|text}`,
      ),
    });
    await writeText(at('ann.json'), '{"annotations": [');
    await expect(openDataset(at(FILE), { answers: at('ann.json') })).rejects.toThrow(
      `${at('ann.json')}: not valid JSON`,
    );
    await expect(openDataset(at(FILE), { answers: at('none.jsonl') })).rejects.toMatchObject({
      code: 'MISSING_FILE',
    });
  });
});
