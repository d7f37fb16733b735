/**
 * `npx tsx main/engine/synthetic/cli.ts --out DIR --split train|val|test --count N --seed S
 * [--image-size 64] [--name NAME] [--weights color=1,shape=1,...] [--force]`
 * Writes one split of the synthetic visual-QA benchmark; failures print `error [CODE]: message`, exit 2.
 * The opt-in families (relate, twostep, locate) are asked only when `--weights` names them.
 */
import { pathToFileURL } from 'node:url';

import { FusionError, errorToResult } from '../../common/errors.ts';
import {
  DEFAULT_IMAGE_SIZE,
  MAX_COUNT,
  MAX_IMAGE_SIZE,
  MAX_QUESTIONS_PER_IMAGE,
  MAX_QUESTIONS_PER_IMAGE_ANY,
  MAX_SEED,
  MIN_IMAGE_SIZE,
} from './generate.ts';
import { ALL_FAMILIES, FAMILIES, OPT_IN_FAMILIES, QUESTION_REGIONS, SPLITS } from './types.ts';
import type { FamilyWeights, QuestionRegions, Split } from './types.ts';
import { writeDataset } from './write.ts';
import type { WriteSummary } from './write.ts';

export const USAGE = `Usage: npx tsx main/engine/synthetic/cli.ts --out DIR --split ${SPLITS.join('|')} --count N --seed S
         [--image-size ${DEFAULT_IMAGE_SIZE}] [--questions-per-image 1..${MAX_QUESTIONS_PER_IMAGE}] [--question-regions ${QUESTION_REGIONS.join('|')}]
         [--name NAME] [--weights ${FAMILIES.map((f) => `${f}=1`).join(',')}] [--force]
  --question-regions: disjoint (default): the questions of one image are about boxes that do not meet;
             any: any distinct questions (up to ${MAX_QUESTIONS_PER_IMAGE_ANY} per image), for packing them into one training sequence.
  --weights: family mix (default: the six families above, weight 1 each; families not named weigh 0).
             Opt-in families, asked only when named: ${OPT_IN_FAMILIES.join(', ')} (FORMAT.md), e.g.
             --weights color=1,shape=1,count=1,exist=1,spatial=2,glyph=1,relate=2,twostep=2`;

export interface CliOptions {
  out: string;
  split: Split;
  count: number;
  seed: number;
  imageSize: number;
  name?: string;
  familyWeights?: FamilyWeights;
  questionsPerImage?: number;
  questionRegions?: QuestionRegions;
  force: boolean;
  help: boolean;
}

const VALUE_FLAGS = [
  'out',
  'split',
  'count',
  'seed',
  'image-size',
  'name',
  'weights',
  'questions-per-image',
  'question-regions',
] as const;
const BOOLEAN_FLAGS = ['force', 'help'] as const;
type ValueFlag = (typeof VALUE_FLAGS)[number];

function bad(message: string): FusionError {
  return new FusionError('BAD_ARGUMENT', `${message}\n${USAGE}`);
}

function parseInteger(text: string, flag: string, min: number, max: number): number {
  if (!/^\d+$/.test(text)) throw bad(`--${flag}: "${text}" is not a non-negative integer`);
  const value = Number(text);
  if (value < min || value > max) throw bad(`--${flag}: ${text} is out of range ${min}..${max}`);
  return value;
}

function parseWeights(text: string): FamilyWeights {
  const weights: FamilyWeights = {};
  for (const part of text.split(',')) {
    const match = /^\s*([a-z]+)\s*=\s*([0-9]*\.?[0-9]+)\s*$/.exec(part);
    if (!match) throw bad(`--weights: "${part}" is not FAMILY=NUMBER`);
    const family = match[1] as (typeof ALL_FAMILIES)[number];
    if (!ALL_FAMILIES.includes(family))
      throw bad(`--weights: unknown family "${match[1]}" (expected ${ALL_FAMILIES.join('|')})`);
    weights[family] = Number(match[2]);
  }
  if (!Object.values(weights).some((w) => w > 0))
    throw bad('--weights: at least one family needs a positive weight');
  return weights;
}

export function parseCliArgs(argv: readonly string[]): CliOptions {
  const values = new Map<ValueFlag, string>();
  const booleans = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) throw bad(`unexpected argument "${arg}"`);
    const eq = arg.indexOf('=');
    const name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
    if ((BOOLEAN_FLAGS as readonly string[]).includes(name)) {
      if (eq >= 0) throw bad(`--${name} takes no value`);
      booleans.add(name);
      continue;
    }
    if (!(VALUE_FLAGS as readonly string[]).includes(name)) throw bad(`unknown flag --${name}`);
    let value: string | undefined;
    if (eq >= 0) value = arg.slice(eq + 1);
    else {
      value = argv[i + 1];
      if (value === undefined || value.startsWith('--')) throw bad(`--${name} needs a value`);
      i++;
    }
    if (values.has(name as ValueFlag)) throw bad(`--${name} given twice`);
    values.set(name as ValueFlag, value);
  }
  if (booleans.has('help')) return { help: true } as CliOptions;

  const required = (flag: ValueFlag): string => {
    const value = values.get(flag);
    if (value === undefined || value === '') throw bad(`--${flag} is required`);
    return value;
  };
  const out = required('out');
  const splitText = required('split');
  if (!(SPLITS as readonly string[]).includes(splitText))
    throw bad(`--split: "${splitText}" is not one of ${SPLITS.join('|')}`);
  const options: CliOptions = {
    out,
    split: splitText as Split,
    count: parseInteger(required('count'), 'count', 1, MAX_COUNT),
    seed: parseInteger(required('seed'), 'seed', 0, MAX_SEED),
    imageSize: values.has('image-size')
      ? parseInteger(required('image-size'), 'image-size', MIN_IMAGE_SIZE, MAX_IMAGE_SIZE)
      : DEFAULT_IMAGE_SIZE,
    force: booleans.has('force'),
    help: false,
  };
  if (values.has('name')) options.name = required('name');
  if (values.has('weights')) options.familyWeights = parseWeights(required('weights'));
  if (values.has('question-regions')) {
    const regions = required('question-regions');
    if (!(QUESTION_REGIONS as readonly string[]).includes(regions))
      throw bad(`--question-regions: "${regions}" is not one of ${QUESTION_REGIONS.join('|')}`);
    options.questionRegions = regions as QuestionRegions;
  }
  if (values.has('questions-per-image')) {
    const text = required('questions-per-image');
    const max = options.questionRegions === 'any' ? MAX_QUESTIONS_PER_IMAGE_ANY : MAX_QUESTIONS_PER_IMAGE;
    options.questionsPerImage = parseInteger(text, 'questions-per-image', 1, max);
  }
  return options;
}

export function formatSummary(summary: WriteSummary, seconds: number): string {
  // The opt-in families are listed only when asked, so a default run prints what it always has.
  const shown = [...FAMILIES, ...OPT_IN_FAMILIES.filter((f) => summary.families[f] > 0)];
  const families = shown.map((f) => `${f} ${summary.families[f]}`).join(', ');
  const pope = `pope ${summary.popeSubtypes.random}/${summary.popeSubtypes.popular}/${summary.popeSubtypes.adversarial}`;
  return `wrote ${summary.count} ${summary.split} items to ${summary.dir} (${families}; yes ${summary.answers.yes} / no ${summary.answers.no}; ${pope} random/popular/adversarial) in ${seconds.toFixed(1)}s`;
}

export function main(argv: readonly string[]): number {
  try {
    const options = parseCliArgs(argv);
    if (options.help) {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    }
    const started = performance.now();
    const summary = writeDataset({
      out: options.out,
      split: options.split,
      count: options.count,
      seed: options.seed,
      imageSize: options.imageSize,
      name: options.name,
      familyWeights: options.familyWeights,
      questionsPerImage: options.questionsPerImage,
      questionRegions: options.questionRegions,
      overwrite: options.force,
    });
    process.stdout.write(`${formatSummary(summary, (performance.now() - started) / 1000)}\n`);
    return 0;
  } catch (error) {
    const { error: e } = errorToResult(error);
    process.stderr.write(`error [${e.code}]: ${e.message}\n`);
    return 2;
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href)
  process.exitCode = main(process.argv.slice(2));
