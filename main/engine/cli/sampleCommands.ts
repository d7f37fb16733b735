/** Commands on one image: demo, answer, trace, info. */
import { FusionError } from '../../common/errors.ts';
import type { Intervention } from '../../common/interventions.ts';
import { DEMO_DATASET_DIR, runDemo } from '../demo.ts';
import { forward, headMean, prepareSample, type PreparedSample } from '../inference/forward.ts';
import { generate, tokenPieces, type Generation } from '../inference/generate.ts';
import type { PromptSpec } from '../inference/prompt.ts';
import type { LoadedModel } from '../model/openModel.ts';
import {
  checkOutputFile,
  parseIntList,
  parseNumber,
  required,
  withModel,
  writeJsonAtomically,
  type Flags,
} from './flags.ts';

function promptFlag(flags: Flags): PromptSpec {
  if (flags.prompt !== undefined && flags.question !== undefined) {
    throw new FusionError('BAD_ARGUMENT', 'give either --prompt or --question, not both');
  }
  if (flags.prompt !== undefined) return { kind: 'raw', text: flags.prompt };
  return { kind: 'question', text: required(flags, 'question') };
}

export function interventionFlags(flags: Flags): Intervention[] {
  const mode = flags['mask-mode'];
  if (mode === undefined) {
    for (const f of ['mask-layers', 'mask-tokens', 'mask-scale', 'mask-heads', 'mask-queries'] as const) {
      if (flags[f] !== undefined)
        throw new FusionError('BAD_ARGUMENT', `--${f} needs --mask-mode knockout|attention|hidden`);
    }
    return [];
  }
  if (mode !== 'knockout' && mode !== 'hidden' && mode !== 'attention') {
    throw new FusionError('BAD_ARGUMENT', `--mask-mode: "${mode}" is not one of knockout, attention, hidden`);
  }
  if (mode === 'knockout' && flags['mask-scale'] !== undefined) {
    throw new FusionError('BAD_ARGUMENT', '--mask-scale applies to --mask-mode hidden and attention only');
  }
  for (const f of ['mask-heads', 'mask-queries'] as const) {
    if (mode === 'hidden' && flags[f] !== undefined) {
      throw new FusionError('BAD_ARGUMENT', `--${f} applies to --mask-mode knockout and attention only`);
    }
  }
  const queries = flags['mask-queries'];
  if (queries !== undefined && queries !== 'all' && queries !== 'last' && queries !== 'question') {
    throw new FusionError('BAD_ARGUMENT', `--mask-queries: "${queries}" is not one of all, last, question`);
  }
  return [
    {
      mode,
      layers: parseIntList(required(flags, 'mask-layers'), 'mask-layers'),
      tokens:
        flags['mask-tokens'] !== undefined ? parseIntList(flags['mask-tokens'], 'mask-tokens') : undefined,
      scale: flags['mask-scale'] !== undefined ? parseNumber(flags['mask-scale'], 'mask-scale') : undefined,
      heads: flags['mask-heads'] !== undefined ? parseIntList(flags['mask-heads'], 'mask-heads') : undefined,
      queries,
    },
  ];
}

export async function answerCommand(flags: Flags): Promise<void> {
  const question = required(flags, 'question');
  const image = required(flags, 'image');
  const maxNewTokens = maxNewTokensFlag(flags);
  await withModel(flags, async (model) => {
    const sample = await prepareSample(model, {
      image,
      prompt: { kind: 'question', text: question },
      padToSquare: flags['pad-to-square'] ? 'mean-color' : 'none',
    });
    const result = await generate(model, sample, { maxNewTokens });
    process.stdout.write(`${result.text}\n`);
    process.stderr.write(
      `[${result.executionProvider}, ${result.tokenIds.length} tokens, stopped by ${result.stoppedBy}]\n`,
    );
  });
}

/** Checked before the model opens, so a typo costs no model load. */
function maxNewTokensFlag(flags: Flags): number {
  const text = flags['max-new-tokens'];
  if (text === undefined) return 32;
  const [count] = parseIntList(text, 'max-new-tokens');
  if (count < 1)
    throw new FusionError('BAD_ARGUMENT', `--max-new-tokens: "${text}" is not a positive integer`);
  return count;
}

export async function traceCommand(flags: Flags): Promise<void> {
  const out = required(flags, 'json');
  const image = required(flags, 'image');
  const prompt = promptFlag(flags);
  const interventions = interventionFlags(flags);
  const rowsFlag = flags['attention-rows'] ?? 'last';
  if (rowsFlag !== 'last' && rowsFlag !== 'question') {
    throw new FusionError('BAD_ARGUMENT', `--attention-rows: "${rowsFlag}" is not one of last, question`);
  }
  const perToken = flags['per-generated-token'] === true;
  if (!perToken && flags['max-new-tokens'] !== undefined) {
    throw new FusionError('BAD_ARGUMENT', '--max-new-tokens applies to trace --per-generated-token only');
  }
  const maxNewTokens = maxNewTokensFlag(flags);
  await checkOutputFile(out, 'json');
  await withModel(flags, async (model) => {
    const sample = await prepareSample(model, {
      image,
      prompt,
      padToSquare: flags['pad-to-square'] ? 'mean-color' : 'none',
    });
    const result = await forward(model, sample, { interventions, attentionRows: rowsFlag });
    const top = topTokens(model, result.lastLogits, 5);
    // The same interventions hold at every generated step.
    const generated = perToken
      ? await generate(model, sample, { maxNewTokens, interventions, tokenAttention: true })
      : undefined;
    await writeJsonAtomically(out, {
      model: model.folder,
      executionProvider: result.executionProvider,
      promptText: sample.text,
      inputIds: sample.inputIds,
      expandedLength: sample.expandedIds.length,
      imageTokenSpan: sample.imageTokenSpan,
      ...model.imageTokens.traceFields(sample.schemeState),
      ...(sample.positions.streams.length > 1
        ? {
            mropePositionIds: {
              temporal: [...sample.positions.streams[0]],
              height: [...sample.positions.streams[1]],
              width: [...sample.positions.streams[2]],
            },
          }
        : {}),
      interventions,
      lastLogits: Array.from(result.lastLogits),
      topTokens: top,
      imageAttention: result.imageAttention.map((a) => Array.from(a)),
      attentionRows: result.attentionRows,
      ...(flags['per-head']
        ? {
            attention: result.attention.map((a) => Array.from(a)),
            attentionLayout: '[layer][head][row][imageToken] flattened per layer',
          }
        : {}),
      ...(flags['hidden-states'] ? { hiddenStates: result.hiddenStates.map((h) => Array.from(h)) } : {}),
      ...(generated
        ? { generated: generatedFields(model, sample, generated, flags['per-head'] === true) }
        : {}),
    });
    if (generated)
      for (const line of generatedLines(model, sample, generated)) process.stdout.write(`${line}\n`);
    process.stderr.write(
      `trace written to ${out} [${result.executionProvider}]; next token: ${JSON.stringify(top[0].token)}\n`,
    );
  });
}

/** The row that chose generated token i: the last prompt position, then each generated token's. */
const chooserPosition = (sample: PreparedSample, i: number) => sample.expandedIds.length - 1 + i;

/** `trace --per-generated-token`'s JSON: per generated token, its choosing row's attention to the image. */
function generatedFields(
  model: LoadedModel,
  sample: PreparedSample,
  generation: Generation,
  perHead: boolean,
) {
  const { heads } = model.spec.decoder;
  const maps = generation.tokenAttention ?? [];
  const pieces = tokenPieces(model, generation.tokenIds);
  return {
    text: generation.text,
    stoppedBy: generation.stoppedBy,
    tokens: generation.tokenIds.map((id, i) => ({
      id,
      text: pieces[i],
      chosenAt: chooserPosition(sample, i),
    })),
    imageAttention: maps.map((layers) => layers.map((a) => Array.from(headMean(a, heads, 1, 0)))),
    imageAttentionLayout:
      '[token][layer][imageToken]: head mean of the attention from the position that chose the token',
    ...(perHead
      ? {
          attention: maps.map((layers) => layers.map((a) => Array.from(a))),
          attentionLayout: '[token][layer][head][imageToken] flattened per layer',
        }
      : {}),
  };
}

/** One line per generated token: where its choosing row looked at the last layer (top 3 image tokens). */
function generatedLines(model: LoadedModel, sample: PreparedSample, generation: Generation): string[] {
  const { heads, layers } = model.spec.decoder;
  const pieces = tokenPieces(model, generation.tokenIds);
  const lines = [`answer: ${JSON.stringify(generation.text)} (stopped by ${generation.stoppedBy})`];
  (generation.tokenAttention ?? []).forEach((perLayer, i) => {
    const mean = headMean(perLayer[layers - 1], heads, 1, 0);
    const top = Array.from(mean.keys())
      .sort((a, b) => mean[b] - mean[a])
      .slice(0, 3)
      .map((t) => `${t} (${mean[t].toFixed(3)})`);
    lines.push(
      `token ${i} ${JSON.stringify(pieces[i])} chosen at position ${chooserPosition(sample, i)}: ` +
        `layer ${layers - 1} looks most at image tokens ${top.join(', ')}`,
    );
  });
  return lines;
}

function topTokens(model: LoadedModel, logits: Float32Array, k: number) {
  const order = Array.from(logits.keys())
    .sort((a, b) => logits[b] - logits[a])
    .slice(0, k);
  return order.map((id) => ({ id, token: model.tokenizer.idToToken(id) ?? '', logit: logits[id] }));
}

export async function infoCommand(flags: Flags): Promise<void> {
  await withModel(flags, async (model) => {
    process.stdout.write(`${JSON.stringify(model.info(), null, 2)}\n`);
  });
}

export async function demoCommand(flags: Flags): Promise<void> {
  const count = flags.count !== undefined ? parseIntList(flags.count, 'count')[0] : 6;
  await withModel(flags, async (model) => {
    await runDemo(model, flags.dataset ?? DEMO_DATASET_DIR, count, (line) =>
      process.stdout.write(`${line}\n`),
    );
  });
}
