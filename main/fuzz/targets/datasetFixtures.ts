/**
 * One small valid dataset per importer in main/engine/datasets/formats (and the manifest's ways of
 * pinning a format), taken from the importers' own tests: the starting points the datasets target
 * mutates. Each opens with at least one usable item.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import type { FormatName } from '../../engine/datasets/index.ts';
import { encodeRgbPng } from '../../engine/report/png.ts';

export type FixtureFile =
  | { readonly json: unknown }
  /** JSON Lines: each row serialised on its own line (a string row is written as it is). */
  | { readonly lines: readonly unknown[] }
  | { readonly text: string }
  /** A binary file as it is (Parquet). */
  | { readonly bytes: Uint8Array }
  /** A 1×1 PNG, whatever the name's extension says. */
  | 'image';

export interface DatasetFixture {
  readonly name: string;
  readonly format: FormatName;
  /** Paths relative to the dataset folder. */
  readonly files: Readonly<Record<string, FixtureFile>>;
  /** What openDataset opens, relative to the folder ('.' for the folder itself). */
  readonly open: string;
}

const PROMPT = '\nAnswer the question using a single word or phrase.';
/** A 2×2 PNG as VLMEvalKit stores images in a TSV (base64, longer than its 64-character references). */
const BASE64_PNG = Buffer.from(
  encodeRgbPng({ width: 2, height: 2, data: Uint8Array.from({ length: 12 }, (_, i) => i * 20) }),
).toString('base64');
const tsvRow = (...cells: (string | number)[]) => cells.join('\t');
const COCO = 'COCO_val2014_000000000001.jpg';
const ten = (...answers: string[]) =>
  answers.map((answer, i) => ({ answer, answer_confidence: 'yes', answer_id: i + 1 }));

const vqaItem = (id: string) => ({
  id,
  image: `images/${id}.png`,
  question: 'what color is the circle?',
  answers: ['red'],
  family: 'color',
  subtype: null,
  boxes: [[1, 2, 3, 4]],
});

const gqaQuestion = (imageId: string) => ({
  imageId,
  question: 'Is the bowl to the right of the green apple?',
  answer: 'no',
  fullAnswer: 'No, the bowl is to the left of the apple.',
  isBalanced: true,
  types: { structural: 'verify', semantic: 'rel', detailed: 'relVerify' },
  annotations: { question: { '2': '1001', '7:9': '1002' }, answer: {}, fullAnswer: { '2': '1001' } },
});

export const DATASET_FIXTURES: readonly DatasetFixture[] = [
  {
    name: 'fusionscope-vqa (manifest)',
    format: 'fusionscope-vqa',
    files: {
      'dataset.json': { json: { format: 'fusionscope-vqa', version: 1, name: 'tiny' } },
      'items.jsonl': { lines: [vqaItem('a'), vqaItem('b')] },
      'images/a.png': 'image',
      'images/b.png': 'image',
    },
    open: '.',
  },
  {
    name: 'manifest pinning pope, its file and images',
    format: 'pope',
    files: {
      'dataset.json': { json: { format: 'pope', name: 'pinned', file: 'mine.txt', images: 'pics' } },
      'mine.txt': { lines: [{ question_id: 1, image: 'x.jpg', text: 'Is there a dog?', label: 'no' }] },
      'pics/x.jpg': 'image',
    },
    open: '.',
  },
  {
    name: 'llava-jsonl with sibling answers',
    format: 'llava-jsonl',
    files: {
      'llava_vqav2_mscoco_val2014.jsonl': {
        lines: [10, 20].map((id) => ({
          question_id: id,
          image: COCO,
          text: `How many dogs?${PROMPT}`,
          category: 'default',
        })),
      },
      'llava_vqav2_mscoco_val2014_answers.jsonl': {
        lines: [
          { question_id: 10, text: '2' },
          { question_id: 20, answers: ['a', 'b'] },
        ],
      },
      [`val2014/${COCO}`]: 'image',
    },
    open: 'llava_vqav2_mscoco_val2014.jsonl',
  },
  {
    name: 'LLaVA-Bench questions + answers_gpt4',
    format: 'llava-jsonl',
    files: {
      'questions.jsonl': {
        lines: [{ question_id: 0, image: '001.jpg', text: 'What is unusual?', category: 'complex' }],
      },
      'answers_gpt4.jsonl': { lines: [{ question_id: 0, text: 'A man irons on a taxi.' }] },
      'images/001.jpg': 'image',
    },
    open: '.',
  },
  {
    name: 'vqav2 questions + annotations',
    format: 'vqav2',
    files: {
      'v2_OpenEnded_mscoco_val2014_questions.json': {
        json: {
          data_type: 'mscoco',
          data_subtype: 'val2014',
          questions: [
            { image_id: 1, question: 'How many dogs are there?', question_id: 10 },
            { image_id: 1, question: 'What is this?', question_id: 20 },
          ],
        },
      },
      'v2_mscoco_val2014_annotations.json': {
        json: {
          data_subtype: 'val2014',
          annotations: [10, 20].map((id) => ({
            question_id: id,
            image_id: 1,
            question_type: 'how many',
            answer_type: 'number',
            multiple_choice_answer: '2',
            answers: ten('2', 'two', '2'),
          })),
        },
      },
      [`val2014/${COCO}`]: 'image',
    },
    open: '.',
  },
  {
    name: 'textvqa',
    format: 'textvqa',
    files: {
      'TextVQA_0.5.1_val.json': {
        json: {
          dataset_type: 'val',
          data: [
            {
              question: 'what brand is the phone?',
              image_id: '0054c91397f2fe05',
              question_id: 34602,
              answers: ['nokia', 'nokia', 'toshiba'],
              set_name: 'val',
            },
          ],
        },
      },
      'train_images/0054c91397f2fe05.jpg': 'image',
    },
    open: '.',
  },
  {
    name: 'vizwiz',
    format: 'vizwiz',
    files: {
      'val.json': {
        json: [
          {
            image: 'VizWiz_val_00000000.jpg',
            question: 'What color?',
            answers: ten('red', 'red', 'unanswerable'),
            answer_type: 'other',
            answerable: 1,
          },
        ],
      },
      'val/VizWiz_val_00000000.jpg': 'image',
    },
    open: '.',
  },
  {
    name: 'gqa with scene graphs',
    format: 'gqa',
    files: {
      'val_balanced_questions.json': {
        json: { '05451384': gqaQuestion('2354786'), '05451385': gqaQuestion('2354786') },
      },
      'val_sceneGraphs.json': {
        json: {
          '2354786': {
            width: 500,
            height: 333,
            objects: {
              '1001': { name: 'bowl', x: 10, y: 20, w: 30, h: 40 },
              '1002': { name: 'apple', x: 0, y: 0, w: 5, h: 5 },
            },
          },
        },
      },
      'images/2354786.jpg': 'image',
    },
    open: '.',
  },
  {
    name: 'pope',
    format: 'pope',
    files: {
      'coco_pope_random.json': {
        lines: [
          { question_id: 1, image: COCO, text: 'Is there a snowboard in the image?', label: 'yes' },
          { question_id: 2, image: COCO, text: 'Is there a dog in the image?', label: 'No' },
        ],
      },
      [`val2014/${COCO}`]: 'image',
    },
    open: 'coco_pope_random.json',
  },
  {
    name: 'docvqa',
    format: 'docvqa',
    files: {
      'val/val_v1.0.json': {
        json: {
          dataset_name: 'docvqa',
          data: [
            {
              questionId: 337,
              question: 'what is the date mentioned in this letter?',
              question_types: ['handwritten', 'form'],
              image: 'documents/xnbl0037_1.png',
              docId: 279,
              ucsf_document_id: 'xnbl0037',
              ucsf_document_page_no: '1',
              answers: ['1/8/93', 'January 8, 1993'],
            },
          ],
        },
      },
      'val/documents/xnbl0037_1.png': 'image',
    },
    open: 'val',
  },
  {
    name: 'vlmevalkit-tsv (MMBench with rotated rows and image references)',
    format: 'vlmevalkit-tsv',
    files: {
      'MMBench_DEV_EN.tsv': {
        text: [
          tsvRow('index', 'question', 'hint', 'A', 'B', 'C', 'answer', 'category', 'l2-category', 'image'),
          tsvRow(0, 'What colour?', '', 'red', 'blue', 'green', 'A', 'color', 'perception', BASE64_PNG),
          tsvRow(1, 'How many?', 'Count them.', 'one', 'two', '', 'B', 'count', 'perception', BASE64_PNG),
          tsvRow(1000000, 'What colour?', '', 'blue', 'green', 'red', 'C', 'color', 'perception', 0),
          tsvRow(2000000, 'What colour?', '', 'green', 'red', 'blue', 'B', 'color', 'perception', 0),
          tsvRow(1000001, 'How many?', 'Count them.', 'two', 'one', '', 'A', 'count', 'perception', 1),
        ].join('\n'),
      },
    },
    open: 'MMBench_DEV_EN.tsv',
  },
  {
    name: 'hf-parquet (an lmms-eval MMBench export)',
    format: 'hf-parquet',
    files: {
      'dev-00000-of-00001.parquet': {
        bytes: readFileSync(
          fileURLToPath(
            new URL(
              '../../engine/datasets/fixtures/parquet/mmbench/dev-00000-of-00001.parquet',
              import.meta.url,
            ),
          ),
        ),
      },
    },
    open: '.',
  },
  {
    name: 'vqacp questions + annotations (lists, a COCO split per question)',
    format: 'vqacp',
    files: {
      'vqacp_v2_test_questions.json': {
        json: [{ image_id: 1, question: 'What is it?', question_id: 1000, coco_split: 'val2014' }],
      },
      'vqacp_v2_test_annotations.json': {
        json: [{ question_id: 1000, image_id: 1, answer_type: 'other', answers: ten('cat', 'cat', 'dog') }],
      },
      'val2014/COCO_val2014_000000000001.jpg': 'image',
    },
    open: '.',
  },
  {
    name: 'aokvqa',
    format: 'aokvqa',
    files: {
      'aokvqa_v1p0_val.json': {
        json: [
          {
            split: 'val',
            image_id: 42,
            question_id: 'q1',
            question: 'What is the animal most likely to eat?',
            choices: ['grass', 'meat', 'fish', 'seeds'],
            correct_choice_idx: 0,
            direct_answers: ['grass', 'grass', 'hay'],
            difficult_direct_answer: false,
            rationales: ['Cows graze.'],
          },
        ],
      },
      'val2017/000000000042.jpg': 'image',
    },
    open: '.',
  },
  {
    name: 'image-folder with questions.csv',
    format: 'image-folder',
    files: {
      'a.png': 'image',
      'pics/b.jpg': 'image',
      'questions.csv': {
        text: [
          'image,question,answers',
          'a.png,"What color is it, roughly?",red|crimson',
          'a.png,How many?,',
          'pics/b.jpg,Where is this?',
        ].join('\n'),
      },
    },
    open: '.',
  },
];
