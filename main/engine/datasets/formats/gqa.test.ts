import { describe, expect, it } from 'vitest';

import { openDataset } from '../openDataset.ts';
import { useTempDir, writeJson, writePng, writeText } from '../testing.ts';

const { dir, at } = useTempDir();

const FILE = 'val_balanced_questions.json';
const question = (imageId: unknown, extra: object = {}) => ({
  imageId,
  question: 'Is the bowl to the right of the green apple?',
  answer: 'no',
  fullAnswer: 'No, the bowl is to the left of the apple.',
  isBalanced: true,
  types: { structural: 'verify', semantic: 'rel', detailed: 'relVerify' },
  annotations: {
    question: { '2': '1001', '7:9': '1002' },
    answer: {},
    fullAnswer: { '2': '1001', '9': '1003' },
  },
  ...extra,
});

async function fixture() {
  await writeJson(at(FILE), {
    '05451384': question('2354786'),
    '05451385': question('2354786', { answer: undefined }),
    '05451386': question(undefined),
    '05451387': question('../../secret'),
    '05451388': question('2400000'),
  });
  await writePng(at('images/2354786.jpg'));
}

describe('gqa', () => {
  it('reads the question map with types as family/subtype/questionType', async () => {
    await fixture();
    const ds = await openDataset(dir());
    expect(ds).toMatchObject({ format: 'gqa', name: 'val_balanced_questions' });
    expect(ds.items).toEqual([
      {
        id: '05451384',
        imagePath: at('images/2354786.jpg'),
        question: 'Is the bowl to the right of the green apple?',
        answers: ['no'],
        metric: 'exact',
        family: 'rel',
        subtype: 'verify',
        questionType: 'relVerify',
        boxes: [],
        meta: {
          imageId: '2354786',
          fullAnswer: 'No, the bowl is to the left of the apple.',
          isBalanced: true,
          objectIds: ['1001', '1002', '1003'],
        },
      },
    ]);
    expect(ds.skipped.map((s) => [s.id, s.reason.replace(/ \(looked in.*/, '')])).toEqual([
      ['05451385', 'no answers'],
      ['05451386', 'missing "imageId"'],
      ['05451387', '"image" "../../secret.jpg" leaves the dataset folder'],
      ['05451388', 'image file "2400000.jpg" not found'],
    ]);
  });

  it("turns annotated objects into boxes with the split's scene graph", async () => {
    await fixture();
    await writeJson(at('val_sceneGraphs.json'), {
      '2354786': {
        width: 500,
        height: 333,
        objects: {
          '1001': { name: 'bowl', x: 10, y: 20, w: 30, h: 40 },
          '1002': { name: 'apple', x: 0, y: 0, w: 5, h: 5 },
        },
      },
    });
    const [item] = (await openDataset(at(FILE))).items;
    expect(item.boxes).toEqual([
      [10, 20, 40, 60],
      [0, 0, 5, 5],
    ]);
    expect(item.meta).toMatchObject({ unresolvedObjects: ['1003'] });
  });

  it('is detected by shape, and refuses files of the wrong shape', async () => {
    await fixture();
    await writeJson(at('subset.json'), { '1': question('2354786') });
    expect((await openDataset(at('subset.json'))).format).toBe('gqa');
    await writeJson(at(FILE), [question('2354786')]);
    await expect(openDataset(dir())).rejects.toThrow(
      `${at(FILE)}: expected an object from question id to {imageId, question, answer} (GQA questions), found a list`,
    );
    await writeJson(at(FILE), { questions: [question('2354786')] });
    await expect(openDataset(dir())).rejects.toThrow(/but the first entry holds a list/);
    await writeText(at(FILE), '{"1": ');
    await expect(openDataset(dir())).rejects.toThrow(`${at(FILE)}: not valid JSON`);
  });

  it('refuses a scene-graph file of the wrong shape', async () => {
    await fixture();
    await writeJson(at('graphs.json'), []);
    await expect(openDataset(dir(), { sceneGraphs: at('graphs.json') })).rejects.toThrow(
      `${at('graphs.json')}: expected an object from image id to scene graph, found a list`,
    );
  });
});
