import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { FusionError, type FusionErrorCode } from '../../common/errors.ts';
import { bertTokenizer, LLAVA_TEMPLATE, llamaTokenizer, qwen2Tokenizer } from './fixtures/tokenizers.ts';
import { Tokenizer } from './index.ts';

type Json = Record<string, unknown>;

function caught(run: () => unknown): FusionError {
  try {
    run();
  } catch (error) {
    if (error instanceof FusionError) return error;
    throw new Error(`expected a FusionError, got ${String(error)}`, { cause: error });
  }
  throw new Error('expected a FusionError, nothing was thrown');
}

async function caughtAsync(run: () => Promise<unknown>): Promise<FusionError> {
  try {
    await run();
  } catch (error) {
    if (error instanceof FusionError) return error;
    throw new Error(`expected a FusionError, got ${String(error)}`, { cause: error });
  }
  throw new Error('expected a FusionError, nothing was thrown');
}

function expectError(run: () => unknown, code: FusionErrorCode, message: string | RegExp): void {
  const error = caught(run);
  expect(error.code).toBe(code);
  if (typeof message === 'string') expect(error.message).toBe(message);
  else expect(error.message).toMatch(message);
}

/** A copy of `json` with `value` written at `path` (undefined deletes the key). */
function withValue(json: Json, path: (string | number)[], value: unknown): Json {
  const copy = structuredClone(json);
  let target: Record<string | number, unknown> = copy;
  for (const key of path.slice(0, -1)) target = target[key] as Record<string | number, unknown>;
  const last = path[path.length - 1];
  if (value === undefined) delete target[last];
  else target[last] = value;
  return copy;
}

describe('BAD_TOKENIZER: unsupported components name the type and its JSON path', () => {
  it('a nested pre-tokenizer', () => {
    const json = withValue(qwen2Tokenizer(), ['pre_tokenizer', 'pretokenizers', 1], { type: 'Foo' });
    const error = caught(() => Tokenizer.fromJSON(json));
    expect(error.code).toBe('BAD_TOKENIZER');
    expect(error.message).toMatch(
      /^tokenizer\.json: pre_tokenizer\.pretokenizers\[1\]\.type "Foo" is not supported \(supported: BertPreTokenizer, ByteLevel, .*WhitespaceSplit\)$/,
    );
  });

  it.each<[string, (string | number)[], unknown, RegExp]>([
    [
      'normalizer',
      ['normalizer'],
      { type: 'Precompiled', precompiled_charsmap: 'AAAA' },
      /^tokenizer\.json: normalizer\.type "Precompiled" is not supported \(supported: .*BertNormalizer/,
    ],
    [
      'decoder',
      ['decoder', 'decoders', 0],
      { type: 'CTC' },
      /^tokenizer\.json: decoder\.decoders\[0\]\.type "CTC" is not supported/,
    ],
    [
      'post-processor',
      ['post_processor'],
      { type: 'Magic' },
      /^tokenizer\.json: post_processor\.type "Magic" is not supported/,
    ],
    [
      'model',
      ['model', 'type'],
      'Tiktoken',
      /^tokenizer\.json: model\.type "Tiktoken" is not supported \(supported: BPE, Unigram, WordLevel, WordPiece\)$/,
    ],
    [
      'component without type',
      ['normalizer'],
      { lowercase: true },
      /^tokenizer\.json: normalizer\.type must be a string \(got nothing\)$/,
    ],
  ])('%s', (_name, path, value, message) => {
    expectError(
      () => Tokenizer.fromJSON(withValue(llamaTokenizer('legacy'), path, value)),
      'BAD_TOKENIZER',
      message,
    );
  });

  it('a regex JavaScript cannot express', () => {
    const json = withValue(qwen2Tokenizer(), ['pre_tokenizer', 'pretokenizers', 0, 'pattern'], {
      Regex: '(?>a|ab)c',
    });
    expectError(
      () => Tokenizer.fromJSON(json),
      'BAD_TOKENIZER',
      'tokenizer.json: pre_tokenizer.pretokenizers[0].pattern.Regex "(?>a|ab)c" uses an atomic group (?>...), which JavaScript regular expressions cannot express',
    );
  });
});

describe('BAD_TOKENIZER: malformed tokenizer.json', () => {
  it.each<[string, unknown, RegExp]>([
    ['not an object', [1, 2], /^tokenizer\.json: must be a tokenizer\.json object \(got \[1,2\]\)$/],
    ['null', null, /^tokenizer\.json: must be a tokenizer\.json object/],
    ['a JSON string that does not parse', '{"model": ', /^tokenizer\.json: not valid JSON/],
    ['no model', { added_tokens: [] }, /^tokenizer\.json: model is required$/],
  ])('%s', (_name, json, message) => {
    expectError(() => Tokenizer.fromJSON(json), 'BAD_TOKENIZER', message);
  });

  it.each<[string, (string | number)[], unknown, RegExp]>([
    [
      'vocab not an object',
      ['model', 'vocab'],
      [1],
      /^tokenizer\.json: model\.vocab must be an object \(got \[1\]\)$/,
    ],
    [
      'negative id',
      ['model', 'vocab', 'h'],
      -1,
      /^tokenizer\.json: model\.vocab\.h must be a non-negative integer \(got -1\)$/,
    ],
    ['fractional id', ['model', 'vocab', 'h'], 1.5, /must be a non-negative integer \(got 1\.5\)$/],
    [
      'merges missing',
      ['model', 'merges'],
      undefined,
      /^tokenizer\.json: model\.merges must be an array \(got nothing\)$/,
    ],
    [
      'merge with three parts',
      ['model', 'merges', 2],
      'e l l',
      /^tokenizer\.json: model\.merges\[2\] must be two tokens separated by one space/,
    ],
    [
      'merge of unknown token',
      ['model', 'merges', 0],
      '▁ q',
      /^tokenizer\.json: model\.merges\[0\] uses "q", which is not in model\.vocab$/,
    ],
    ['merge result not in vocab', ['model', 'merges', 0], 'h o', /uses "ho", which is not in model\.vocab$/],
    [
      'merge not a string or pair',
      ['model', 'merges', 0],
      7,
      /^tokenizer\.json: model\.merges\[0\] must be an array \(got 7\)$/,
    ],
    ['added_tokens not an array', ['added_tokens'], {}, /^tokenizer\.json: added_tokens must be an array/],
    [
      'added token without content',
      ['added_tokens', 3, 'content'],
      undefined,
      /^tokenizer\.json: added_tokens\[3\]\.content must be a string/,
    ],
    [
      'added token with a bad flag',
      ['added_tokens', 3, 'lstrip'],
      'yes',
      /^tokenizer\.json: added_tokens\[3\]\.lstrip must be true or false/,
    ],
    [
      'Replace without pattern',
      ['normalizer', 'normalizers', 1, 'pattern'],
      'x',
      /normalizer\.normalizers\[1\]\.pattern must be an object with a "String" or "Regex" key/,
    ],
    [
      'Strip with a bad count',
      ['decoder', 'decoders', 3, 'start'],
      'one',
      /decoder\.decoders\[3\]\.start must be a non-negative integer/,
    ],
    [
      'template with an undefined special token',
      ['post_processor', 'single', 0, 'SpecialToken', 'id'],
      '<x>',
      /post_processor\.single\[0\] uses special token "<x>", which special_tokens does not define$/,
    ],
    [
      'template with sequence C',
      ['post_processor', 'single', 1, 'Sequence', 'id'],
      'C',
      /post_processor\.single\[1\] refers to sequence "C"/,
    ],
  ])('%s', (_name, path, value, message) => {
    expectError(
      () => Tokenizer.fromJSON(withValue(llamaTokenizer('legacy'), path, value)),
      'BAD_TOKENIZER',
      message,
    );
  });

  it('Metaspace with contradicting add_prefix_space and prepend_scheme', () => {
    const json = withValue(llamaTokenizer('metaspace-first'), ['pre_tokenizer', 'add_prefix_space'], false);
    expectError(
      () => Tokenizer.fromJSON(json),
      'BAD_TOKENIZER',
      /pre_tokenizer add_prefix_space is false but prepend_scheme is "first"$/,
    );
  });

  it('Split with an unknown behaviour', () => {
    const json = withValue(qwen2Tokenizer(), ['pre_tokenizer', 'pretokenizers', 0, 'behavior'], 'Sideways');
    expectError(
      () => Tokenizer.fromJSON(json),
      'BAD_TOKENIZER',
      /behavior "Sideways" is not one of Removed, Isolated/,
    );
  });

  it('an unk token missing from the vocabulary fails when it is needed', () => {
    const json = withValue(llamaTokenizer('legacy'), ['model', 'unk_token'], '<nope>');
    const noFallback = withValue(json, ['model', 'byte_fallback'], false);
    const tok = Tokenizer.fromJSON(noFallback);
    expect(tok.encode('hello')).toEqual([1, 271]);
    expectError(
      () => tok.encode('q'),
      'BAD_TOKENIZER',
      'tokenizer.json: model.unk_token "<nope>" is not in model.vocab',
    );
  });

  it('errors name the file given as source', () => {
    expectError(
      () => Tokenizer.fromJSON({}, undefined, '/models/x/tokenizer.json'),
      'BAD_TOKENIZER',
      '/models/x/tokenizer.json: model is required',
    );
  });
});

describe('BAD_CONFIG: tokenizer_config.json', () => {
  it.each<[string, Json, RegExp]>([
    [
      'bos_token of the wrong type',
      { bos_token: 5 },
      /^tokenizer_config\.json: bos_token must be a token string or an AddedToken object \(got 5\)$/,
    ],
    [
      'bos_token not in the vocabulary',
      { bos_token: '<bos>' },
      /^tokenizer_config\.json: bos_token "<bos>" is not in the tokenizer's vocabulary$/,
    ],
    [
      'eos_token object without content',
      { eos_token: { lstrip: false } },
      /^tokenizer_config\.json: eos_token\.content must be a string/,
    ],
    [
      'pad_token not in the vocabulary',
      { pad_token: '[PAD]' },
      /pad_token "\[PAD\]" is not in the tokenizer's vocabulary/,
    ],
    [
      'add_bos_token not a boolean',
      { add_bos_token: 'yes' },
      /^tokenizer_config\.json: add_bos_token must be true or false \(got "yes"\)$/,
    ],
    [
      'add_bos_token without bos_token',
      { add_bos_token: true },
      /^tokenizer_config\.json: add_bos_token is true but bos_token is not set$/,
    ],
    [
      'add_eos_token without eos_token',
      { add_eos_token: true },
      /add_eos_token is true but eos_token is not set$/,
    ],
    [
      'chat_template of the wrong type',
      { chat_template: 3 },
      /^tokenizer_config\.json: chat_template must be a string or a list of \{name, template\}/,
    ],
    [
      'chat_template list entry without template',
      { chat_template: [{ name: 'default' }] },
      /chat_template\[0\]\.template must be a string/,
    ],
    [
      'model_max_length not a number',
      { model_max_length: '2048' },
      /^tokenizer_config\.json: model_max_length must be a finite number/,
    ],
    ['model_max_length not positive', { model_max_length: 0 }, /model_max_length must be positive/],
    [
      'added_tokens_decoder with a non-numeric key',
      { added_tokens_decoder: { x: { content: 'a' } } },
      /added_tokens_decoder\.x has a key that is not a token id/,
    ],
    [
      'clean_up_tokenization_spaces not a boolean',
      { clean_up_tokenization_spaces: 1 },
      /clean_up_tokenization_spaces must be true or false/,
    ],
  ])('%s', (_name, config, message) => {
    expectError(() => Tokenizer.fromJSON(llamaTokenizer('legacy'), config), 'BAD_CONFIG', message);
  });

  it('a config that is not an object', () => {
    expectError(
      () => Tokenizer.fromJSON(llamaTokenizer('legacy'), [1]),
      'BAD_CONFIG',
      /^tokenizer_config\.json: must be an object/,
    );
  });

  it('names tokenizer_config.json beside the source tokenizer.json', () => {
    expectError(
      () => Tokenizer.fromJSON(llamaTokenizer('legacy'), { bos_token: 1 }, '/m/tokenizer.json'),
      'BAD_CONFIG',
      /^\/m\/tokenizer_config\.json: bos_token/,
    );
  });

  it('applyChatTemplate without a template, with an ambiguous list, or with a broken template', () => {
    const plain = Tokenizer.fromJSON(llamaTokenizer('legacy'));
    expectError(() => plain.applyChatTemplate([]), 'BAD_CONFIG', /has no chat_template/);
    const listed = Tokenizer.fromJSON(llamaTokenizer('legacy'), {
      chat_template: [
        { name: 'a', template: 'A' },
        { name: 'b', template: 'B' },
      ],
    });
    expect(listed.chatTemplate).toBeUndefined();
    expectError(
      () => listed.applyChatTemplate([]),
      'BAD_CONFIG',
      /chat_template lists "a", "b" but none is named "default"/,
    );
    const broken = Tokenizer.fromJSON(llamaTokenizer('legacy'), { chat_template: '{% if %}' });
    expectError(
      () => broken.applyChatTemplate([]),
      'BAD_CONFIG',
      /^tokenizer_config\.json: chat_template does not parse/,
    );
  });
});

describe('BAD_ARGUMENT and BAD_PROMPT at call time', () => {
  const tok = Tokenizer.fromJSON(llamaTokenizer('legacy'), { chat_template: LLAVA_TEMPLATE });

  it('rejects non-string text and non-integer ids', () => {
    expectError(
      () => tok.encode(42 as unknown as string),
      'BAD_ARGUMENT',
      'encode expects a string (got number)',
    );
    expectError(() => tok.decode([1.5]), 'BAD_ARGUMENT', 'decode expects integer token ids (got 1.5)');
    expectError(() => tok.decode('12' as unknown as number[]), 'BAD_ARGUMENT', /expects an array/);
    expectError(
      () => tok.applyChatTemplate('hi' as unknown as []),
      'BAD_ARGUMENT',
      /expects an array of messages/,
    );
  });

  it('skips ids outside the vocabulary when decoding, like HF', () => {
    expect(tok.decode([271, 99999, -1])).toBe('hello');
  });

  it('reports a template that fails at render time as BAD_PROMPT', () => {
    const strict = Tokenizer.fromJSON(llamaTokenizer('legacy'), {
      chat_template: '{{ messages[0].content | nosuchfilter }}',
    });
    expectError(
      () => strict.applyChatTemplate([{ role: 'user', content: 'x' }]),
      'BAD_PROMPT',
      /^chat template failed to render: /,
    );
  });
});

describe('fromFolder', () => {
  let root: string;
  const folder = async (name: string, files: Record<string, string>): Promise<string> => {
    const dir = join(root, name);
    await mkdir(dir, { recursive: true });
    for (const [file, text] of Object.entries(files)) await writeFile(join(dir, file), text);
    return dir;
  };

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'fusionscope-tokenizer-'));
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('loads tokenizer.json and tokenizer_config.json', async () => {
    const dir = await folder('ok', {
      'tokenizer.json': JSON.stringify(llamaTokenizer('legacy')),
      'tokenizer_config.json': JSON.stringify({
        bos_token: '<s>',
        eos_token: '</s>',
        chat_template: LLAVA_TEMPLATE,
      }),
    });
    const tok = await Tokenizer.fromFolder(dir);
    expect(tok.encode('hello world')).toEqual([1, 271, 276]);
    expect([tok.bosTokenId, tok.eosTokenId]).toEqual([1, 2]);
    expect(tok.chatTemplate).toBe(LLAVA_TEMPLATE);
  });

  it('lets special_tokens_map.json override the config, as from_pretrained does', async () => {
    const dir = await folder('special-map', {
      'tokenizer.json': JSON.stringify(llamaTokenizer('legacy')),
      'tokenizer_config.json': JSON.stringify({ bos_token: '<unk>', eos_token: '</s>' }),
      'special_tokens_map.json': JSON.stringify({
        bos_token: { content: '<s>', lstrip: false, normalized: false, rstrip: false, single_word: false },
        pad_token: '<pad>',
      }),
    });
    const tok = await Tokenizer.fromFolder(dir);
    expect([tok.bosTokenId, tok.eosTokenId, tok.padTokenId]).toEqual([1, 2, 280]);
    const bad = await folder('bad-special-map', {
      'tokenizer.json': JSON.stringify(llamaTokenizer('legacy')),
      'special_tokens_map.json': '[]',
    });
    expect((await caughtAsync(() => Tokenizer.fromFolder(bad))).code).toBe('BAD_CONFIG');
  });

  it('works without tokenizer_config.json', async () => {
    const dir = await folder('bare', { 'tokenizer.json': JSON.stringify(bertTokenizer()) });
    expect((await Tokenizer.fromFolder(dir)).encode('dog')).toEqual([2, 21, 3]);
  });

  it('prefers chat_template.jinja, then the config, then chat_template.json', async () => {
    const tokenizer = JSON.stringify(llamaTokenizer('legacy'));
    const jinja = await folder('jinja', {
      'tokenizer.json': tokenizer,
      'tokenizer_config.json': JSON.stringify({ chat_template: 'CONFIG' }),
      'chat_template.jinja': 'JINJA',
    });
    expect((await Tokenizer.fromFolder(jinja)).chatTemplate).toBe('JINJA');
    const processor = await folder('processor', {
      'tokenizer.json': tokenizer,
      'chat_template.json': JSON.stringify({ chat_template: 'PROCESSOR' }),
    });
    expect((await Tokenizer.fromFolder(processor)).chatTemplate).toBe('PROCESSOR');
    const both = await folder('both', {
      'tokenizer.json': tokenizer,
      'tokenizer_config.json': JSON.stringify({ chat_template: 'CONFIG' }),
      'chat_template.json': JSON.stringify({ chat_template: 'PROCESSOR' }),
    });
    expect((await Tokenizer.fromFolder(both)).chatTemplate).toBe('CONFIG');
  });

  it('MISSING_FILE names the missing tokenizer.json', async () => {
    const dir = await folder('empty', { 'tokenizer_config.json': '{}' });
    const error = await caughtAsync(() => Tokenizer.fromFolder(dir));
    expect(error.code).toBe('MISSING_FILE');
    expect(error.message).toContain(join(dir, 'tokenizer.json'));
    const nowhere = await caughtAsync(() => Tokenizer.fromFolder(join(root, 'does-not-exist')));
    expect(nowhere.code).toBe('MISSING_FILE');
  });

  it('MISSING_FILE saying what is there when tokenizer.json is no file', async () => {
    const dir = await folder('dir-instead', {});
    await mkdir(join(dir, 'tokenizer.json'));
    const error = await caughtAsync(() => Tokenizer.fromFolder(dir));
    expect(error.code).toBe('MISSING_FILE');
    expect(error.message).toMatch(/tokenizer\.json is a directory, not a file/);
  });

  it('BAD_TOKENIZER / BAD_CONFIG for files that are not JSON', async () => {
    const badTokenizer = await folder('bad-tokenizer', { 'tokenizer.json': '{"model": ' });
    const error = await caughtAsync(() => Tokenizer.fromFolder(badTokenizer));
    expect(error.code).toBe('BAD_TOKENIZER');
    expect(error.message).toMatch(/tokenizer\.json: not valid JSON/);
    const badConfig = await folder('bad-config', {
      'tokenizer.json': JSON.stringify(bertTokenizer()),
      'tokenizer_config.json': 'nope',
    });
    const configError = await caughtAsync(() => Tokenizer.fromFolder(badConfig));
    expect(configError.code).toBe('BAD_CONFIG');
    expect(configError.message).toMatch(/tokenizer_config\.json: not valid JSON/);
    const badProcessor = await folder('bad-processor', {
      'tokenizer.json': JSON.stringify(bertTokenizer()),
      'chat_template.json': JSON.stringify({ chat_template: 1 }),
    });
    expect((await caughtAsync(() => Tokenizer.fromFolder(badProcessor))).code).toBe('BAD_CONFIG');
  });

  it('reports errors inside the file with its full path', async () => {
    const dir = await folder('unsupported', {
      'tokenizer.json': JSON.stringify(withValue(bertTokenizer(), ['pre_tokenizer'], { type: 'Foo' })),
    });
    const error = await caughtAsync(() => Tokenizer.fromFolder(dir));
    expect(
      error.message.startsWith(`${join(dir, 'tokenizer.json')}: pre_tokenizer.type "Foo" is not supported`),
    ).toBe(true);
  });
});

describe('robustness: wrong-typed fields never escape as TypeErrors', () => {
  /** Every path to a leaf or container of `json`, for replacement with ill-typed values. */
  function paths(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
    if (typeof value !== 'object' || value === null) return [prefix];
    const keys = Array.isArray(value)
      ? value.map((_, i) => i).slice(0, 4)
      : Object.keys(value).filter((k) => k !== 'vocab');
    return [
      prefix,
      ...keys.flatMap((key) => paths((value as Record<string | number, unknown>)[key], [...prefix, key])),
    ];
  }

  const fixtures: Array<[string, Json]> = [
    ['llama', llamaTokenizer('legacy')],
    ['qwen2', qwen2Tokenizer()],
    ['bert', bertTokenizer()],
  ];

  it.each(fixtures)('%s', (_name, json) => {
    let checked = 0;
    for (const path of paths(json).filter((p) => p.length > 0)) {
      for (const bad of [null, 7, 'x', [], {}, true]) {
        const mutated = withValue(json, path, bad);
        try {
          const tok = Tokenizer.fromJSON(mutated);
          tok.decode(tok.encode('Hello wörld <image> 123 😀'));
        } catch (error) {
          if (!(error instanceof FusionError)) {
            throw new Error(`${path.join('.')} = ${JSON.stringify(bad)} threw ${String(error)}`, {
              cause: error,
            });
          }
        }
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(100);
  });
});
