/**
 * Prompt → token ids with the image span marked. A question gets the model's own template (its chat
 * template when the tokenizer carries one, else the family's `questionTemplate`); a raw
 * prompt is used verbatim, with the tokenizer's post-processing (BOS) still applied, as transformers'
 * processor does.
 */
import { FusionError } from '../../common/errors.ts';
import type { LoadedModel } from '../model/openModel.ts';

export type PromptSpec =
  { readonly kind: 'question'; readonly text: string } | { readonly kind: 'raw'; readonly text: string };

export type Span = readonly [number, number];

export interface TokenizedPrompt {
  readonly text: string;
  /** Tokenizer output, with the image placeholder once. */
  readonly inputIds: readonly number[];
  /** The sequence the decoder sees: the placeholder repeated once per image token. */
  readonly expandedIds: readonly number[];
  /** [start, end) of the (first) image's tokens in expandedIds: the image interventions act on. */
  readonly imageTokenSpan: Span;
  /** Every image's span, in prompt order (the first is imageTokenSpan). */
  readonly imageTokenSpans: readonly Span[];
}

/** The prompt text; a question with several images lists them all before the text, in order. */
export function promptText(model: LoadedModel, prompt: PromptSpec, images = 1): string {
  if (prompt.kind === 'raw') return prompt.text;
  const { tokenizer, spec } = model;
  // A prefix family's chat template would ask for image parts it has no placeholder for.
  if (tokenizer.chatTemplate && spec.imagePlacement === 'placeholder') {
    const parts = Array.from({ length: images }, () => ({ type: 'image' as const }));
    return tokenizer.applyChatTemplate(
      [{ role: 'user', content: [...parts, { type: 'text', text: prompt.text }] }],
      {
        addGenerationPrompt: true,
      },
    );
  }
  const markup = Array.from({ length: images }, () => spec.imageMarkup).join('\n');
  // Function replacers: a question may contain "$&" and friends.
  return spec.questionTemplate.replace('{images}', () => markup).replace('{question}', () => prompt.text);
}

/**
 * The prompt's text and token ids, each image placeholder once (checked against the image count); a
 * prefix family's ids start with one placeholder per image, in front of BOS, as its processor does.
 */
export interface EncodedPrompt {
  readonly text: string;
  readonly inputIds: readonly number[];
}

export function encodePrompt(model: LoadedModel, prompt: PromptSpec, images = 1): EncodedPrompt {
  const { tokenizer, spec } = model;
  const text = promptText(model, prompt, images);
  const textIds = tokenizer.encode(text);
  checkPositions(textIds.length, spec.maxPositions, 'before its image tokens are added');
  const found = textIds.filter((id) => id === spec.imageTokenId).length;
  if (spec.imagePlacement === 'prefix') {
    if (found > 0 || text.includes(spec.imagePlaceholder)) {
      throw new FusionError(
        'BAD_PROMPT',
        `${spec.modelType} places its image tokens before the prompt; the prompt must not contain ${spec.imagePlaceholder}: ${JSON.stringify(text)}`,
      );
    }
    return { text, inputIds: [...Array.from({ length: images }, () => spec.imageTokenId), ...textIds] };
  }
  if (found === 0) {
    throw new FusionError(
      'BAD_PROMPT',
      `the prompt has no ${spec.imagePlaceholder} placeholder: ${JSON.stringify(text)}`,
    );
  }
  if (found !== images) {
    throw new FusionError(
      'BAD_PROMPT',
      `the prompt has ${found} ${spec.imagePlaceholder} placeholders but ${images} image(s) were given`,
    );
  }
  return { text, inputIds: textIds };
}

/** A prompt needing more rotary positions than the model has is refused (before any allocation). */
export function checkPositions(needed: number, available: number, when: string): void {
  if (needed > available) {
    throw new FusionError(
      'BAD_PROMPT',
      `the prompt needs ${needed} positions ${when}; the model has ${available} (max_position_embeddings): shorten the question`,
    );
  }
}

/**
 * Expands the k-th placeholder into `imageTokenCounts[k]` image tokens (each image's own layout count:
 * LLaVA-NeXT's varies with the image size); later placeholders shift by the earlier growth.
 */
export function expandImageTokens(
  imageTokenId: number,
  encoded: EncodedPrompt,
  imageTokenCounts: readonly number[],
): TokenizedPrompt {
  const placeholders = encoded.inputIds.filter((id) => id === imageTokenId).length;
  if (placeholders !== imageTokenCounts.length) {
    throw new FusionError(
      'BAD_ARGUMENT',
      `the prompt has ${placeholders} image placeholder(s) but ${imageTokenCounts.length} token count(s) were given`,
    );
  }
  const expandedIds: number[] = [];
  const imageTokenSpans: Span[] = [];
  for (const id of encoded.inputIds) {
    if (id !== imageTokenId) {
      expandedIds.push(id);
      continue;
    }
    const n = imageTokenCounts[imageTokenSpans.length];
    if (!Number.isSafeInteger(n) || n < 1) {
      throw new FusionError(
        'BAD_ARGUMENT',
        `image ${imageTokenSpans.length} needs a positive whole number of image tokens, got ${n}`,
      );
    }
    imageTokenSpans.push([expandedIds.length, expandedIds.length + n]);
    for (let i = 0; i < n; i++) expandedIds.push(id);
  }
  return { ...encoded, expandedIds, imageTokenSpan: imageTokenSpans[0], imageTokenSpans };
}

/** encodePrompt then expandImageTokens, one count per image. */
export function tokenizePrompt(
  model: LoadedModel,
  prompt: PromptSpec,
  imageTokenCounts: readonly number[],
): TokenizedPrompt {
  const encoded = encodePrompt(model, prompt, imageTokenCounts.length);
  return expandImageTokens(model.spec.imageTokenId, encoded, imageTokenCounts);
}
