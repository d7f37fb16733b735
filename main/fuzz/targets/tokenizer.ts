/**
 * tokenizer.json / tokenizer_config.json parsing (main/engine/tokenizer, `Tokenizer.fromJSON`) on the
 * tiny LLaVA tokenizer exactly as the fixture model writes it (native-models/testing/tinyLlava.ts
 * `writeTokenizerFiles`) and on the hand-written Llama, Qwen2 and BERT documents of the tokenizer
 * tests: structurally mutated (a node replaced by an odd, deep or huge value, deleted, renamed, or
 * overwritten by another component: a BPE model's fields under WordPiece), or with the JSON text
 * itself flipped and truncated. A tokenizer that builds is then used: encode, decode (of odd ids too)
 * and the chat template.
 *
 * Property: each step returns or throws FusionError. An unmutated document builds, and the tiny
 * tokenizer encodes any text exactly as `encodeTiny` (the fixture's re-statement of Hugging Face's
 * pipeline) does.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import * as fc from 'fast-check';

import { buildTinyTokenizer, encodeTiny } from '../../../native-models/testing/tinyTokenizer.ts';
import { writeTokenizerFiles } from '../../../native-models/testing/tinyLlava.ts';
import { FusionError } from '../../common/errors.ts';
import {
  bertTokenizer,
  LLAVA_TEMPLATE,
  llamaTokenizer,
  QWEN2_VL_TEMPLATE,
  qwen2Tokenizer,
} from '../../engine/tokenizer/fixtures/tokenizers.ts';
import { Tokenizer } from '../../engine/tokenizer/index.ts';
import { byteMutations, mutateBytes, type ByteMutation } from '../bytes.ts';
import { jsonMutations, jsonText, mutateJson, type JsonMutation } from '../json.ts';
import { ensure, rejectsOnlyWith, type FuzzTarget } from '../target.ts';

interface Base {
  readonly name: string;
  readonly tokenizer: unknown;
  readonly config: unknown;
}

interface Use {
  readonly texts: string[];
  readonly ids: number[];
}

type Recipe =
  | ({ readonly kind: 'valid'; readonly base: number } & Use)
  | ({
      readonly kind: 'mutated';
      readonly base: number;
      readonly tokenizer: JsonMutation[];
      readonly config: JsonMutation[];
    } & Use)
  | ({ readonly kind: 'text'; readonly base: number; readonly mutations: ByteMutation[] } & Use);

const text = fc.oneof(
  fc.constantFrom('hello world', 'What color is the circle?', '<image>\nUSER: hi', '  ', '<s></s><pad>', ''),
  fc.string({ unit: 'grapheme', maxLength: 24 }),
  fc.string({ unit: 'binary', maxLength: 24 }),
  fc.string({
    unit: fc.constantFrom('a', 'e', 'l', 'o', ' ', '\u2581', '<', '>', 's', '/', '\n', 'é', '中'),
    maxLength: 30,
  }),
);

const use = {
  texts: fc.array(text, { maxLength: 3 }),
  ids: fc.array(fc.oneof(fc.nat({ max: 400 }), fc.integer(), fc.constantFrom(-1, 2 ** 53, 0.5, NaN)), {
    maxLength: 8,
  }),
};

function arbitrary(bases: number): fc.Arbitrary<Recipe> {
  const base = fc.nat({ max: bases - 1 });
  return fc.oneof(
    { arbitrary: fc.record({ kind: fc.constant('valid' as const), base, ...use }), weight: 1 },
    {
      arbitrary: fc.record({
        kind: fc.constant('mutated' as const),
        base,
        tokenizer: fc.oneof(fc.constant<JsonMutation[]>([]), jsonMutations()),
        config: fc.oneof(fc.constant<JsonMutation[]>([]), jsonMutations(2)),
        ...use,
      }),
      weight: 6,
    },
    {
      arbitrary: fc.record({ kind: fc.constant('text' as const), base, mutations: byteMutations(), ...use }),
      weight: 2,
    },
  );
}

const MESSAGES = [
  { role: 'user', content: [{ type: 'image' as const }, { type: 'text' as const, text: 'What is this?' }] },
  { role: 'assistant', content: 'A circle.' },
];

const isFusionError = (error: unknown) => error instanceof FusionError;

/** The tokenizer built from a recipe, or undefined when it was (rightly) refused. */
async function build(recipe: Recipe, base: Base): Promise<Tokenizer | undefined> {
  switch (recipe.kind) {
    case 'valid': {
      const tok = await rejectsOnlyWith(
        () => Tokenizer.fromJSON(base.tokenizer, base.config),
        isFusionError,
        'fromJSON',
      );
      ensure(tok !== undefined, () => `the unmutated ${base.name} tokenizer was refused`);
      return tok;
    }
    case 'mutated':
      return rejectsOnlyWith(
        () =>
          Tokenizer.fromJSON(
            mutateJson(base.tokenizer, recipe.tokenizer),
            mutateJson(base.config, recipe.config),
          ),
        isFusionError,
        'fromJSON',
      );
    case 'text': {
      const bytes = mutateBytes(Buffer.from(jsonText(base.tokenizer)), recipe.mutations);
      return rejectsOnlyWith(
        () => Tokenizer.fromJSON(Buffer.from(bytes).toString('utf8'), base.config),
        isFusionError,
        'fromJSON (text)',
      );
    }
  }
}

async function exercise(tok: Tokenizer, recipe: Recipe): Promise<void> {
  for (const t of recipe.texts) {
    const ids = await rejectsOnlyWith(() => tok.encode(t), isFusionError, 'encode');
    if (ids !== undefined) {
      ensure(
        ids.every((id) => Number.isSafeInteger(id) && id >= 0),
        () => `encode returned ids ${JSON.stringify(ids.slice(0, 20))}`,
      );
      await rejectsOnlyWith(() => tok.decode(ids), isFusionError, 'decode of encoded ids');
    }
  }
  await rejectsOnlyWith(() => tok.decode(recipe.ids, { skipSpecialTokens: true }), isFusionError, 'decode');
  if (tok.chatTemplate !== undefined) {
    await rejectsOnlyWith(
      () => tok.applyChatTemplate(MESSAGES, { addGenerationPrompt: true }),
      isFusionError,
      'applyChatTemplate',
    );
  }
}

export const tokenizerTarget: FuzzTarget<Recipe> = {
  name: 'tokenizer',
  summary:
    'Tokenizer.fromJSON + encode/decode/chat template on mutated tiny, Llama, Qwen2 and BERT tokenizers',
  weight: 2,
  async open() {
    const dir = await mkdtemp(join(tmpdir(), 'fusionscope-fuzz-tokenizer-'));
    try {
      await writeTokenizerFiles(dir, true);
      const read = async (name: string) => JSON.parse(await readFile(join(dir, name), 'utf8')) as unknown;
      const bases: Base[] = [
        {
          name: 'tiny LLaVA',
          tokenizer: await read('tokenizer.json'),
          config: await read('tokenizer_config.json'),
        },
        ...(['legacy', 'metaspace-first', 'metaspace-always'] as const).map((variant) => ({
          name: `Llama (${variant})`,
          tokenizer: llamaTokenizer(variant),
          config: { bos_token: '<s>', eos_token: '</s>', add_bos_token: true, chat_template: LLAVA_TEMPLATE },
        })),
        { name: 'Qwen2', tokenizer: qwen2Tokenizer(), config: { chat_template: QWEN2_VL_TEMPLATE } },
        { name: 'BERT', tokenizer: bertTokenizer(), config: undefined },
      ];
      const tiny = buildTinyTokenizer();
      return {
        arbitrary: arbitrary(bases.length),
        async check(recipe) {
          const base = bases[recipe.base];
          const tok = await build(recipe, base);
          if (tok === undefined) return;
          await exercise(tok, recipe);
          if (recipe.kind === 'valid' && recipe.base === 0) {
            for (const t of recipe.texts) {
              const ours = tok.encode(t);
              const reference = encodeTiny(tiny, t);
              ensure(
                JSON.stringify(ours) === JSON.stringify(reference),
                () =>
                  `encode(${JSON.stringify(t)}) = ${JSON.stringify(ours)}, encodeTiny gives ${JSON.stringify(reference)}`,
              );
            }
          }
        },
      };
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
};
