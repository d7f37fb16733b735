/**
 * Answer scoring for the benchmarks the paper reports (VQAv2, OKVQA, VizWiz, TextVQA, GQA, POPE, DocVQA).
 *
 * VQA normalisation follows the official evaluation script (GT-Vision-Lab/VQA,
 * PythonEvaluationTools/vqaEvaluation/vqaEval.py, Python 3 version) step for step, quirks included,
 * because researchers compare our numbers with numbers produced by that script:
 *   - a prediction goes through: '\n' and '\t' → ' ', strip, processPunctuation, processDigitArticle;
 *   - processPunctuation: each punctuation mark is deleted if it touches a space anywhere in the text
 *     (or if the text contains digit,digit anywhere — then every mark is deleted), else replaced by a
 *     space; apostrophe and colon are not in the list (possessives, times like 2:50);
 *   - then every '.' not followed by a digit is deleted (the script's look-behind is mistyped as a
 *     look-ahead, so "(?!<=\d)" never fires) — at most 32 of them, because the script passes re.UNICODE
 *     (= 32) where re.sub expects `count`;
 *   - processDigitArticle: lowercase, split on whitespace, number words zero..ten and "none" → digits,
 *     drop a/an/the, restore missing apostrophes from the contractions table;
 *   - ground-truth answers only get processPunctuation, and only when the ten answers are not all the
 *     same string (see `GroundTruthNormalization`).
 */
import { FusionError } from '../../../common/errors.ts';
import type { PopeMetrics } from '../../../common/analysis.ts';
export type { PopeMetrics } from '../../../common/analysis.ts';

// Python's str.strip()/split() whitespace (str.isspace), which differs from JS \s: Python also
// splits on \x1c-\x1f and \x85, and does not treat U+FEFF as space.
const PY_SPACE =
  '\\t\\n\\v\\f\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const PY_SPLIT = new RegExp(`[${PY_SPACE}]+`, 'u');
const PY_STRIP = new RegExp(`^[${PY_SPACE}]+|[${PY_SPACE}]+$`, 'gu');

/** Python's str.strip() with no argument. */
function pyStrip(text: string): string {
  return text.replace(PY_STRIP, '');
}

/** Python's str.split() with no argument: runs of whitespace, no empty pieces. */
function pySplit(text: string): string[] {
  return text.split(PY_SPLIT).filter((word) => word.length > 0);
}

/** Marks processPunctuation handles, in the script's order (Python 3 version of vqaEval.py). */
// prettier-ignore
export const VQA_PUNCTUATION: readonly string[] = Object.freeze([
  ';', '/', '[', ']', '"', '{', '}', '(', ')', '=', '+', '\\', '_', '-', '>', '<', '@', '`', ',', '?', '!',
]);

/** The script's manualMap: number words → digits ("none" counts as zero). */
// prettier-ignore
export const VQA_NUMBER_WORDS: ReadonlyMap<string, string> = new Map([
  ['none', '0'], ['zero', '0'], ['one', '1'], ['two', '2'], ['three', '3'], ['four', '4'],
  ['five', '5'], ['six', '6'], ['seven', '7'], ['eight', '8'], ['nine', '9'], ['ten', '10'],
]);

export const VQA_ARTICLES: readonly string[] = Object.freeze(['a', 'an', 'the']);

/**
 * The script's contractions table, re-typed as data. Kept exactly, oddities included: keys with capitals
 * ("Im", "Ive", "Id've", "I'dve") can never match because words are lowercased first, and
 * "somebody'd" maps to "somebodyd". A Map, not an object, so that words such as "constructor" or
 * "__proto__" are not found on Object.prototype.
 */
// prettier-ignore
export const VQA_CONTRACTIONS: ReadonlyMap<string, string> = new Map([
  ['aint', "ain't"], ['arent', "aren't"], ['cant', "can't"], ['couldve', "could've"],
  ['couldnt', "couldn't"], ["couldn'tve", "couldn't've"], ["couldnt've", "couldn't've"],
  ['didnt', "didn't"], ['doesnt', "doesn't"], ['dont', "don't"], ['hadnt', "hadn't"],
  ["hadnt've", "hadn't've"], ["hadn'tve", "hadn't've"], ['hasnt', "hasn't"], ['havent', "haven't"],
  ['hed', "he'd"], ["hed've", "he'd've"], ["he'dve", "he'd've"], ['hes', "he's"], ['howd', "how'd"],
  ['howll', "how'll"], ['hows', "how's"], ["Id've", "I'd've"], ["I'dve", "I'd've"], ['Im', "I'm"],
  ['Ive', "I've"], ['isnt', "isn't"], ['itd', "it'd"], ["itd've", "it'd've"], ["it'dve", "it'd've"],
  ['itll', "it'll"], ["let's", "let's"], ['maam', "ma'am"], ['mightnt', "mightn't"],
  ["mightnt've", "mightn't've"], ["mightn'tve", "mightn't've"], ['mightve', "might've"],
  ['mustnt', "mustn't"], ['mustve', "must've"], ['neednt', "needn't"], ['notve', "not've"],
  ['oclock', "o'clock"], ['oughtnt', "oughtn't"], ["ow's'at", "'ow's'at"], ["'ows'at", "'ow's'at"],
  ["'ow'sat", "'ow's'at"], ['shant', "shan't"], ["shed've", "she'd've"], ["she'dve", "she'd've"],
  ["she's", "she's"], ['shouldve', "should've"], ['shouldnt', "shouldn't"],
  ["shouldnt've", "shouldn't've"], ["shouldn'tve", "shouldn't've"], ["somebody'd", 'somebodyd'],
  ["somebodyd've", "somebody'd've"], ["somebody'dve", "somebody'd've"], ['somebodyll', "somebody'll"],
  ['somebodys', "somebody's"], ['someoned', "someone'd"], ["someoned've", "someone'd've"],
  ["someone'dve", "someone'd've"], ['someonell', "someone'll"], ['someones', "someone's"],
  ['somethingd', "something'd"], ["somethingd've", "something'd've"],
  ["something'dve", "something'd've"], ['somethingll', "something'll"], ['thats', "that's"],
  ['thered', "there'd"], ["thered've", "there'd've"], ["there'dve", "there'd've"],
  ['therere', "there're"], ['theres', "there's"], ['theyd', "they'd"], ["theyd've", "they'd've"],
  ["they'dve", "they'd've"], ['theyll', "they'll"], ['theyre', "they're"], ['theyve', "they've"],
  ['twas', "'twas"], ['wasnt', "wasn't"], ["wed've", "we'd've"], ["we'dve", "we'd've"],
  ['weve', "we've"], ['werent', "weren't"], ['whatll', "what'll"], ['whatre', "what're"],
  ['whats', "what's"], ['whatve', "what've"], ['whens', "when's"], ['whered', "where'd"],
  ['wheres', "where's"], ['whereve', "where've"], ['whod', "who'd"], ["whod've", "who'd've"],
  ["who'dve", "who'd've"], ['wholl', "who'll"], ['whos', "who's"], ['whove', "who've"],
  ['whyll', "why'll"], ['whyre', "why're"], ['whys', "why's"], ['wont', "won't"],
  ['wouldve', "would've"], ['wouldnt', "wouldn't"], ["wouldnt've", "wouldn't've"],
  ["wouldn'tve", "wouldn't've"], ['yall', "y'all"], ["yall'll", "y'all'll"], ["y'allll", "y'all'll"],
  ["yall'd've", "y'all'd've"], ["y'alld've", "y'all'd've"], ["y'all'dve", "y'all'd've"],
  ['youd', "you'd"], ["youd've", "you'd've"], ["you'dve", "you'd've"], ['youll', "you'll"],
  ['youre', "you're"], ['youve', "you've"],
]);

// Python's \d matches any Unicode decimal digit, hence \p{Nd}.
const DIGIT_COMMA_DIGIT = /\p{Nd},\p{Nd}/u;
const PERIOD_NOT_BEFORE_DIGIT = /\.(?!\p{Nd})/gu;
/** re.sub(pattern, '', text, re.UNICODE) in the script: re.UNICODE (32) lands in `count`. */
const PERIOD_REPLACEMENT_LIMIT = 32;

/** The script's processPunctuation (see the module comment for the rules). */
export function processPunctuation(text: string): string {
  // Both conditions look at the input text, not at the text being rewritten, as the script does.
  const digitComma = DIGIT_COMMA_DIGIT.test(text);
  let out = text;
  for (const mark of VQA_PUNCTUATION) {
    const touchesSpace = text.includes(`${mark} `) || text.includes(` ${mark}`);
    out = out.split(mark).join(touchesSpace || digitComma ? '' : ' ');
  }
  let replaced = 0;
  return out.replace(PERIOD_NOT_BEFORE_DIGIT, (period) =>
    replaced++ < PERIOD_REPLACEMENT_LIMIT ? '' : period,
  );
}

/** The script's processDigitArticle: lowercase, number words → digits, drop articles, contractions. */
export function processDigitArticle(text: string): string {
  const words: string[] = [];
  for (const raw of pySplit(text.toLowerCase())) {
    const word = VQA_NUMBER_WORDS.get(raw) ?? raw;
    if (!VQA_ARTICLES.includes(word)) words.push(word);
  }
  return words.map((word) => VQA_CONTRACTIONS.get(word) ?? word).join(' ');
}

/** What the script does to a predicted answer before comparing it with the annotators' answers. */
export function normalizeVqaAnswer(answer: string): string {
  const flat = pyStrip(answer.replace(/\n/g, ' ').replace(/\t/g, ' '));
  return processDigitArticle(processPunctuation(flat));
}

/**
 * How the annotators' answers are prepared.
 * - 'official' (default): as vqaEval.py — processPunctuation only, and only when the answers are not
 *   all identical. VQAv2 annotations are already normalised, so this matches the published numbers.
 * - 'full': the whole prediction normalisation applied to every answer, as MLLM harnesses built on
 *   the EvalAI/m4c answer processor do (use it for datasets whose raw answers say "Two" or "A dog").
 */
export type GroundTruthNormalization = 'official' | 'full';

export interface VqaAccuracyOptions {
  readonly groundTruth?: GroundTruthNormalization;
}

function prepareGroundTruth(answers: readonly string[], mode: GroundTruthNormalization): string[] {
  if (mode === 'full') return answers.map(normalizeVqaAnswer);
  return new Set(answers).size > 1 ? answers.map(processPunctuation) : [...answers];
}

function checkAnswers(answers: readonly string[], minimum: number, what: string): void {
  if (answers.length < minimum) {
    throw new FusionError(
      'BAD_ARGUMENT',
      `${what} needs at least ${minimum} ground-truth answer(s), got ${answers.length}`,
    );
  }
}

function countMatches(prediction: string, answers: readonly string[], options: VqaAccuracyOptions): number[] {
  const predicted = normalizeVqaAnswer(prediction);
  return prepareGroundTruth(answers, options.groundTruth ?? 'official').map((gt) =>
    gt === predicted ? 1 : 0,
  );
}

/**
 * The official VQA accuracy: for each annotator left out, min(#matches among the others / 3, 1),
 * averaged over the leave-one-out subsets (the 10-choose-9 sets for VQA's ten answers). With k of ten
 * annotators matching this gives 0.3, 0.6, 0.9, 1 for k = 1..4. Needs at least two answers: with one,
 * every subset is empty and the score is always 0 (use exactMatch for single-answer datasets like GQA).
 */
export function vqaAccuracy(
  prediction: string,
  answers: readonly string[],
  options: VqaAccuracyOptions = {},
): number {
  checkAnswers(answers, 2, 'vqaAccuracy');
  const matches = countMatches(prediction, answers, options);
  const total = matches.reduce((sum, m) => sum + m, 0);
  let sum = 0;
  for (const m of matches) sum += Math.min(1, (total - m) / 3);
  return sum / matches.length;
}

/** The simplified form quoted in papers: min(#annotators who gave the answer / 3, 1). */
export function vqaSimpleAccuracy(
  prediction: string,
  answers: readonly string[],
  options: VqaAccuracyOptions = {},
): number {
  checkAnswers(answers, 1, 'vqaSimpleAccuracy');
  const total = countMatches(prediction, answers, options).reduce((sum, m) => sum + m, 0);
  return Math.min(1, total / 3);
}

/**
 * 1 when the normalised prediction equals any normalised reference answer, else 0. Both sides get the
 * full prediction normalisation (GQA-style single answers are not pre-normalised like VQAv2's).
 */
export function exactMatch(prediction: string, answers: string | readonly string[]): 0 | 1 {
  const list = typeof answers === 'string' ? [answers] : answers;
  checkAnswers(list, 1, 'exactMatch');
  const predicted = normalizeVqaAnswer(prediction);
  return list.some((answer) => normalizeVqaAnswer(answer) === predicted) ? 1 : 0;
}

// ---------------------------------------------------------------------------------------------------
// POPE

export type YesNo = 'yes' | 'no';

/**
 * The POPE convention (POPE's evaluate.py, reused by LLaVA's eval_pope.py): keep the text before the
 * first '.', delete commas, split on single spaces; the answer is "no" if a word is exactly "No", "no"
 * or "not", else "yes". Case-sensitive as written there: "NO" or "Not" alone count as yes, and so does
 * an empty or unrelated answer — the reason POPE reports the yes-ratio beside accuracy.
 */
export function popeAnswer(text: string): YesNo {
  const period = text.indexOf('.');
  const sentence = (period === -1 ? text : text.slice(0, period)).split(',').join('');
  const words = sentence.split(' ');
  return words.includes('No') || words.includes('not') || words.includes('no') ? 'no' : 'yes';
}

function toYesNo(value: string, index: number, what: string): YesNo {
  if (value === 'yes' || value === 'no') return value;
  throw new FusionError(
    'BAD_ARGUMENT',
    `${what}[${index}] must be "yes" or "no", got ${JSON.stringify(value)}`,
  );
}

/** POPE scores from extracted answers (see popeAnswer) and the dataset's "yes"/"no" labels. */
export function popeMetrics(predictions: readonly string[], labels: readonly string[]): PopeMetrics {
  if (predictions.length !== labels.length || predictions.length === 0) {
    throw new FusionError(
      'BAD_ARGUMENT',
      `popeMetrics needs as many predictions as labels (at least one), got ${predictions.length} and ${labels.length}`,
    );
  }
  let tp = 0;
  let fp = 0;
  let tn = 0;
  let fn = 0;
  predictions.forEach((raw, i) => {
    const predicted = toYesNo(raw, i, 'predictions');
    const label = toYesNo(labels[i], i, 'labels');
    if (predicted === 'yes') {
      if (label === 'yes') tp++;
      else fp++;
    } else if (label === 'no') tn++;
    else fn++;
  });
  const count = predictions.length;
  const precision = tp + fp > 0 ? tp / (tp + fp) : 0;
  const recall = tp + fn > 0 ? tp / (tp + fn) : 0;
  return {
    count,
    truePositives: tp,
    falsePositives: fp,
    trueNegatives: tn,
    falseNegatives: fn,
    accuracy: (tp + tn) / count,
    precision,
    recall,
    f1: precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0,
    yesRatio: (tp + fp) / count,
  };
}

/** popeMetrics on free-text answers, each reduced with popeAnswer first. */
export function evaluatePope(answers: readonly string[], labels: readonly string[]): PopeMetrics {
  return popeMetrics(answers.map(popeAnswer), labels);
}

// ---------------------------------------------------------------------------------------------------
// ANLS (DocVQA)

/** Edit distance (insert, delete, substitute, each cost 1) over Unicode code points, as Python's str. */
export function levenshtein(a: string, b: string): number {
  const s = Array.from(a);
  const t = Array.from(b);
  if (s.length === 0) return t.length;
  if (t.length === 0) return s.length;
  let previous = Array.from({ length: t.length + 1 }, (_, j) => j);
  let current = new Array<number>(t.length + 1);
  for (let i = 1; i <= s.length; i++) {
    current[0] = i;
    for (let j = 1; j <= t.length; j++) {
      const substitute = previous[j - 1] + (s[i - 1] === t[j - 1] ? 0 : 1);
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, substitute);
    }
    [previous, current] = [current, previous];
  }
  return previous[t.length];
}

/** levenshtein / the longer length in code points; 0 for two empty strings. */
export function normalizedLevenshtein(a: string, b: string): number {
  const longest = Math.max(Array.from(a).length, Array.from(b).length);
  return longest === 0 ? 0 : levenshtein(a, b) / longest;
}

/** DocVQA/ST-VQA answer preparation: case-insensitive, whitespace runs collapsed, ends stripped. */
function anlsNormalize(text: string): string {
  return pySplit(pyStrip(text).toLowerCase()).join(' ');
}

/**
 * ANLS for one question (Biten et al., ICCV 2019, as used by DocVQA): max over the reference answers of
 * 1 − NL if NL < τ else 0, NL = normalised Levenshtein distance after lowercasing and collapsing
 * whitespace. NL exactly τ scores 0. Average over questions for the dataset score.
 */
export function anls(prediction: string, answers: readonly string[], threshold = 0.5): number {
  checkAnswers(answers, 1, 'anls');
  if (!(threshold > 0 && threshold <= 1)) {
    throw new FusionError('BAD_ARGUMENT', `ANLS threshold must be in (0, 1], got ${threshold}`);
  }
  const predicted = anlsNormalize(prediction);
  let best = 0;
  for (const answer of answers) {
    const distance = normalizedLevenshtein(predicted, anlsNormalize(answer));
    if (distance < threshold) best = Math.max(best, 1 - distance);
  }
  return best;
}
