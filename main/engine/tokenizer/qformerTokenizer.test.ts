/**
 * The InstructBLIP Q-Former's tokenizer (a BERT-uncased WordPiece tokenizer in `qformer_tokenizer/`)
 * as the tiny checkpoints write it: BertNormalizer (clean text, CJK spacing, accents stripped,
 * lowercase), BertPreTokenizer, WordPiece with `##`, TemplateProcessing `[CLS] $A [SEP]`, the WordPiece
 * decoder, and a `[DEC]` BOS in tokenizer_config.json that BERT's post-processing never adds.
 *
 * Ids are derived by hand from the vocabulary's layout (native-models/testing/tinyInstructBlip.ts):
 *   0 [PAD] 1 [UNK] 2 [CLS] 3 [SEP] 4 [MASK]; 5–15 . , ? ! : ; ' " - ( ); 16–25 digits;
 *   26–51 a–z; 52–77 ##a–##z; 78 what 79 is 80 the 81 of 82 color 83 shape 84 left 85 right
 *   86 square 87 circle 88 triangle 89 red 90 blue 91 green 92 yes 93 no 94 answer 95 question
 *   96 image 97 col 98 ##our 99 ##s 100 ##ed 101 中; 102 [DEC] (added).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  encodeQFormerTiny,
  qformerVocab,
  writeTinyInstructBlip,
} from '../../../native-models/testing/tinyInstructBlip.ts';
import { Tokenizer } from './index.ts';

let root: string;
let tok: Tokenizer;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'fusionscope-qformer-tok-'));
  await writeTinyInstructBlip(join(root, 'model'), { seed: 1, dtype: 'F32' });
  tok = await Tokenizer.fromFolder(join(root, 'model', 'qformer_tokenizer'));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('the Q-Former’s BERT WordPiece tokenizer', () => {
  it('has the vocabulary layout the ids below are derived from', () => {
    const v = qformerVocab();
    expect(
      ['[CLS]', '?', 'x', '##y', 'what', 'col', '##our', '中', '[DEC]'].map((t) => v.ids.get(t)),
    ).toEqual([2, 7, 49, 76, 78, 97, 98, 101, 102]);
    expect(tok.vocabSize).toBe(103);
  });

  it('lowercases, splits punctuation and continues words with ## pieces, inside [CLS] … [SEP]', () => {
    // "what is the colour of the squares ?": colour → col + ##our (no "colo"), squares → square + ##s.
    expect(tok.encode('What is the colour of the Squares?')).toEqual([
      2, 78, 79, 80, 97, 98, 81, 80, 86, 99, 7, 3,
    ]);
    expect(tok.encode('What is the colour of the Squares?', { addSpecialTokens: false })).toEqual([
      78, 79, 80, 97, 98, 81, 80, 86, 99, 7,
    ]);
    expect(tok.encode('')).toEqual([2, 3]);
  });

  it('strips accents, isolates CJK characters and cleans control characters', () => {
    // RÈD → red, Blüe → blue (NFD, marks dropped, lowercased).
    expect(tok.encode('RÈD Blüe')).toEqual([2, 89, 90, 3]);
    // 中 gets spaces around it, so "red中blue" is three words.
    expect(tok.encode('red中blue')).toEqual([2, 89, 101, 90, 3]);
    // \0 is dropped, tab and newline become spaces.
    expect(tok.encode('red\tgreen\u0000\n')).toEqual([2, 89, 91, 3]);
    // ré → re → r ##e.
    expect(tok.encode('ré')).toEqual([2, 43, 56, 3]);
  });

  it('falls back to letters and ## letters, and to [UNK] for a character outside the vocabulary', () => {
    // xyz → x ##y ##z; "@" is punctuation (its own word) and unknown.
    expect(tok.encode('xyz')).toEqual([2, 49, 76, 77, 3]);
    expect(tok.encode('red@blue')).toEqual([2, 89, 1, 90, 3]);
  });

  it('matches special tokens in the raw text, and never adds the [DEC] BOS', () => {
    expect(tok.encode('[CLS] red')).toEqual([2, 2, 89, 3]);
    expect(tok.bosTokenId).toBe(102);
    expect(tok.encode('red')).not.toContain(102);
  });

  it('decodes with the WordPiece decoder (## joined, punctuation spacing cleaned)', () => {
    expect(tok.decode([2, 78, 79, 97, 98, 7, 3], { skipSpecialTokens: true })).toBe('what is colour?');
    expect(tok.decode([2, 89, 3])).toBe('[CLS] red [SEP]');
  });

  it('agrees with the plain restatement the fixtures are built with', () => {
    for (const text of [
      'What is the colour of the square left of the circle?',
      'Answer: RED, blue; Green (yes/no)!',
      'x-ray Triangles',
    ]) {
      expect(tok.encode(text), text).toEqual(encodeQFormerTiny(text));
    }
  });
});
