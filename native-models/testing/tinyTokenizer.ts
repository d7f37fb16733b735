/**
 * A small but real Llama-style tokenizer (SentencePiece BPE with byte fallback, as Hugging Face's
 * `tokenizer.json` serialises it): `<unk>`=0, `<s>`=1, `</s>`=2, the 256 `<0xXX>` byte tokens, single
 * characters, then pieces learnt by a deterministic BPE training run over a tiny corpus, and the added
 * tokens `<image>` and `<pad>` after the base vocabulary.
 *
 * `encodeTiny` is a plain re-statement of the Hugging Face pipeline for this tokenizer (split on added
 * tokens, normalize each piece with Prepend("▁") + Replace(" ", "▁"), BPE by merge rank, byte fallback),
 * used by tests to build prompts.
 */

import { addedTokenEntry } from './checkpointFiles.ts';

export const SPACE = '\u2581'; // ▁

/** Words the fixtures' prompts use; each becomes one token in its "▁word" and "▁Word" forms. */
export const TARGET_WORDS = [
  'what',
  'color',
  'is',
  'the',
  'shape',
  'left',
  'of',
  'square',
  'circle',
  'red',
  'blue',
  'green',
  'yes',
  'no',
];
const UPPER_WORDS = ['USER', 'ASSISTANT'];
const FILLER_WORDS = [
  'a',
  'an',
  'and',
  'are',
  'there',
  'this',
  'that',
  'image',
  'picture',
  'describe',
  'which',
  'where',
  'right',
  'above',
  'below',
  'on',
  'in',
  'to',
  'small',
  'large',
  'big',
  'triangle',
  'yellow',
  'purple',
  'orange',
  'black',
  'white',
  'gray',
  'how',
  'many',
  'shapes',
  'colors',
  'one',
  'two',
  'three',
  'four',
  'answer',
  'question',
  'with',
  'single',
  'word',
  'it',
  'next',
  'side',
  'top',
  'bottom',
  'inside',
  'outside',
];
const CHARACTERS = [
  SPACE,
  ...'abcdefghijklmnopqrstuvwxyz',
  ...'ABCDEFGHIJKLMNOPQRSTUVWXYZ',
  ...'0123456789',
  ...'.,?!:;\'"-()',
];

export const IMAGE_TOKEN = '<image>';
export const PAD_TOKEN = '<pad>';

export interface TinyTokenizer {
  /** Base vocabulary (model.vocab), id = index. */
  pieces: string[];
  /** BPE merges in rank order. */
  merges: Array<[string, string]>;
  /** Added tokens after the base vocabulary, id = pieces.length + index. */
  added: string[];
  ids: Map<string, number>;
}

function capitalize(word: string): string {
  return word[0].toUpperCase() + word.slice(1);
}

function trainingCorpus(): Map<string, number> {
  const corpus = new Map<string, number>();
  const add = (word: string, count: number) => corpus.set(word, (corpus.get(word) ?? 0) + count);
  for (const [words, weight] of [
    [TARGET_WORDS, 3],
    [FILLER_WORDS, 1],
  ] as const) {
    for (const word of words) {
      add(SPACE + word, 10 * weight);
      add(SPACE + capitalize(word), 3 * weight);
      add(capitalize(word), 2 * weight);
      add(word, weight);
    }
  }
  for (const word of UPPER_WORDS) {
    add(SPACE + word, 30);
    add(word, 6);
  }
  return corpus;
}

/** Classic BPE training: repeatedly merge the most frequent adjacent pair (ties: first in code-unit order). */
export function trainMerges(corpus: Map<string, number>): Array<[string, string]> {
  const words = [...corpus].map(([word, count]) => ({ symbols: [...word], count }));
  const merges: Array<[string, string]> = [];
  for (;;) {
    const pairs = new Map<string, number>();
    for (const { symbols, count } of words) {
      for (let i = 0; i + 1 < symbols.length; i++) {
        const key = `${symbols[i]} ${symbols[i + 1]}`;
        pairs.set(key, (pairs.get(key) ?? 0) + count);
      }
    }
    let best: string | undefined;
    for (const [key, count] of pairs) {
      const bestCount = best === undefined ? -1 : pairs.get(best)!;
      if (count > bestCount || (count === bestCount && key < best!)) best = key;
    }
    if (best === undefined) return merges;
    const [left, right] = best.split(' ') as [string, string];
    merges.push([left, right]);
    for (const word of words) word.symbols = applyMerge(word.symbols, left, right);
  }
}

export function applyMerge(symbols: string[], left: string, right: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < symbols.length; i++) {
    if (i + 1 < symbols.length && symbols[i] === left && symbols[i + 1] === right) {
      out.push(left + right);
      i++;
    } else {
      out.push(symbols[i]);
    }
  }
  return out;
}

let cached: TinyTokenizer | undefined;

export function buildTinyTokenizer(): TinyTokenizer {
  if (cached) return cached;
  const pieces = ['<unk>', '<s>', '</s>'];
  for (let b = 0; b < 256; b++) pieces.push(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);
  pieces.push(...CHARACTERS);
  const merges = trainMerges(trainingCorpus());
  for (const [left, right] of merges) if (!pieces.includes(left + right)) pieces.push(left + right);
  const added = [IMAGE_TOKEN, PAD_TOKEN];
  const ids = new Map<string, number>();
  pieces.forEach((piece, id) => ids.set(piece, id));
  added.forEach((token, i) => ids.set(token, pieces.length + i));
  cached = { pieces, merges, added, ids };
  return cached;
}

/** The `tokenizer.json` document, laid out as `tokenizers` serialises a converted Llama tokenizer. */
export function tokenizerJson(tokenizer: TinyTokenizer): object {
  const { pieces, merges, added } = tokenizer;
  const vocab: Record<string, number> = {};
  pieces.forEach((piece, id) => (vocab[piece] = id));
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [
      addedTokenEntry(0, '<unk>'),
      addedTokenEntry(1, '<s>'),
      addedTokenEntry(2, '</s>'),
      ...added.map((token, i) => addedTokenEntry(pieces.length + i, token)),
    ],
    normalizer: {
      type: 'Sequence',
      normalizers: [
        { type: 'Prepend', prepend: SPACE },
        { type: 'Replace', pattern: { String: ' ' }, content: SPACE },
      ],
    },
    pre_tokenizer: null,
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
      pair: [
        { SpecialToken: { id: '<s>', type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '<s>', type_id: 1 } },
        { Sequence: { id: 'B', type_id: 1 } },
      ],
      special_tokens: { '<s>': { id: '<s>', ids: [1], tokens: ['<s>'] } },
    },
    decoder: {
      type: 'Sequence',
      decoders: [
        { type: 'Replace', pattern: { String: SPACE }, content: ' ' },
        { type: 'ByteFallback' },
        { type: 'Fuse' },
        { type: 'Strip', content: ' ', start: 1, stop: 0 },
      ],
    },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: '<unk>',
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: true,
      byte_fallback: true,
      ignore_merges: false,
      vocab,
      merges: merges.map(([a, b]) => `${a} ${b}`),
    },
  };
}

/** BPE over one normalized piece: merges by rank, then byte fallback for symbols not in the vocabulary. */
function bpe(tokenizer: TinyTokenizer, text: string): number[] {
  const rank = new Map(tokenizer.merges.map(([a, b], i) => [`${a} ${b}`, i]));
  let symbols = [...text];
  for (;;) {
    let best = -1;
    let bestRank = Infinity;
    for (let i = 0; i + 1 < symbols.length; i++) {
      const r = rank.get(`${symbols[i]} ${symbols[i + 1]}`);
      if (r !== undefined && r < bestRank) [best, bestRank] = [i, r];
    }
    if (best < 0) break;
    const [left, right] = tokenizer.merges[bestRank];
    symbols = applyMerge(symbols, left, right);
  }
  const ids: number[] = [];
  for (const symbol of symbols) {
    const id = tokenizer.ids.get(symbol);
    if (id !== undefined && id >= 3 + 256) ids.push(id);
    else for (const byte of Buffer.from(symbol, 'utf8')) ids.push(3 + byte);
  }
  return ids;
}

/** Token ids as Hugging Face's tokenizer produces them for this tokenizer.json. */
export function encodeTiny(
  tokenizer: TinyTokenizer,
  text: string,
  options: { addBos?: boolean } = {},
): number[] {
  const ids = options.addBos === false ? [] : [1];
  const specials = ['<unk>', '<s>', '</s>', ...tokenizer.added];
  let rest = text;
  while (rest.length > 0) {
    let at = rest.length;
    let found: string | undefined;
    for (const special of specials) {
      const i = rest.indexOf(special);
      if (i >= 0 && (i < at || (i === at && found !== undefined && special.length > found.length))) {
        [at, found] = [i, special];
      }
    }
    const plain = rest.slice(0, at);
    if (plain.length > 0) ids.push(...bpe(tokenizer, SPACE + plain.replaceAll(' ', SPACE)));
    if (found === undefined) break;
    ids.push(tokenizer.ids.get(found)!);
    rest = rest.slice(at + found.length);
  }
  return ids;
}
