/** Commands on one image: demo, answer, trace, info. */
import { FusionError } from '../../common/errors.ts';
import type { Intervention } from '../../common/interventions.ts';
import { DEMO_DATASET_DIR, runDemo } from '../demo.ts';
import { forward, prepareSample } from '../inference/forward.ts';
import { generate } from '../inference/generate.ts';
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
  const maxNewTokens =
    flags['max-new-tokens'] !== undefined ? parseIntList(flags['max-new-tokens'], 'max-new-tokens')[0] : 32;
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

export async function traceCommand(flags: Flags): Promise<void> {
  const out = required(flags, 'json');
  const image = required(flags, 'image');
  const prompt = promptFlag(flags);
  const interventions = interventionFlags(flags);
  const rowsFlag = flags['attention-rows'] ?? 'last';
  if (rowsFlag !== 'last' && rowsFlag !== 'question') {
    throw new FusionError('BAD_ARGUMENT', `--attention-rows: "${rowsFlag}" is not one of last, question`);
  }
  await checkOutputFile(out, 'json');
  await withModel(flags, async (model) => {
    const sample = await prepareSample(model, {
      image,
      prompt,
      padToSquare: flags['pad-to-square'] ? 'mean-color' : 'none',
    });
    const result = await forward(model, sample, { interventions, attentionRows: rowsFlag });
    const top = topTokens(model, result.lastLogits, 5);
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
    });
    process.stderr.write(
      `trace written to ${out} [${result.executionProvider}]; next token: ${JSON.stringify(top[0].token)}\n`,
    );
  });
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
