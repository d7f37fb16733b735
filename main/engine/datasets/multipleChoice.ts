/**
 * What multiple-choice importers share: options read from `A`, `B`, ... columns, the prompts the two
 * harnesses ask them with, and VLMEvalKit's rules for circular evaluation (`vlmutil circular`,
 * vlmeval/tools.py `CIRCULAR`, restated from VLMEvalKit at commit e8e78f05).
 */
import type { Choice } from './types.ts';

const LETTERS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';

/** `A`, `B`, ... as many as `count`. */
export const optionLabels = (count: number): string[] => [...LETTERS.slice(0, count)];

/** Whether a column name is an option label (a single capital letter, as VLMEvalKit's `build_choices`). */
export const isOptionColumn = (name: string): boolean => name.length === 1 && LETTERS.includes(name);

/**
 * VLMEvalKit's default multiple-choice prompt (`ImageMCQDataset.build_prompt`), which its MMBench
 * numbers are produced with for models without a prompt of their own.
 */
export function vlmevalkitPrompt(question: string, hint: string | null, choices: readonly Choice[]): string {
  let prompt = hint !== null ? `Hint: ${hint}\n` : '';
  prompt += `Question: ${question}\n`;
  if (choices.length > 0) {
    prompt += `Options:\n${choices.map((c) => `${c.label}. ${c.text}\n`).join('')}`;
    prompt += 'Please select the correct answer from the options above. \n';
  }
  return prompt;
}

/** The instruction LLaVA-1.5's MMBench evaluation and lmms-eval's `post_prompt` end with. */
export const LLAVA_CHOICE_INSTRUCTION = "Answer with the option's letter from the given choices directly.";

/**
 * LLaVA-1.5's multiple-choice prompt (`model_vqa_mmbench.py`): the hint, the question, one line per
 * option, the instruction. lmms-eval's MMBench task asks nearly this (its separators vary by release).
 */
export function llavaChoicePrompt(question: string, hint: string | null, choices: readonly Choice[]): string {
  let text = hint !== null ? `${hint}\n${question}` : question;
  for (const c of choices) text += `\n${c.label}. ${c.text}`;
  return `${text}\n${LLAVA_CHOICE_INSTRUCTION}`;
}

/**
 * `abnormal_entry` of `vlmutil circular`: options whose text names two option labels as words, or an
 * option whose whole text is capital letters only (`text in string.ascii_uppercase`, a substring
 * test): rotating such options would change what they say, so the question is asked as written.
 */
export function rotationUnsafe(choices: readonly Choice[]): boolean {
  const labels = new Set(choices.map((c) => c.label));
  for (const choice of choices) {
    const words = choice.text.replace(/[^A-Za-z ]/g, ' ').split(/\s+/);
    if (new Set(words.filter((w) => labels.has(w))).size > 1) return true;
  }
  return choices.some((c) => LETTERS.includes(c.text));
}

export interface Rotation {
  readonly choices: Choice[];
  readonly answer: string;
}

/**
 * The k rotations `vlmutil circular` asks (k options, labels A.. in order, answer one of them):
 * rotation i shows at label j the text of label (j + i) mod k, so the answer moves to (a − i) mod k.
 * Rotation 0 is the question as written.
 */
export function rotations(choices: readonly Choice[], answer: string): Rotation[] {
  const k = choices.length;
  const labels = optionLabels(k);
  const a = labels.indexOf(answer);
  return labels.map((_, i) => ({
    choices: labels.map((label, j) => ({ label, text: choices[(j + i) % k].text })),
    answer: labels[(((a - i) % k) + k) % k],
  }));
}

/**
 * Why `vlmutil circular` would ask this question once only, or null when it rotates it: options must
 * be A, B, ... without gaps (at least two), the answer one of them, and rotation safe.
 */
export function whyNotRotated(choices: readonly Choice[], answer: string): string | null {
  const labels = optionLabels(choices.length);
  if (choices.length < 2) return 'fewer than two options';
  if (choices.some((c, i) => c.label !== labels[i])) return 'options are not A, B, ... without gaps';
  if (!labels.includes(answer)) return 'the answer is not one of the options';
  if (rotationUnsafe(choices)) return 'option texts name option labels';
  return null;
}
