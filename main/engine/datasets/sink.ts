/**
 * Where format readers put what they read. The checks every format shares live here (non-empty id and
 * question, text that is valid Unicode, unique ids, answers present unless the metric is `none`, image
 * inside the dataset, on disk and readable: `paths.ts`, `imageCheck.ts`), so a reader only maps
 * fields, and every refusal lands in `skipped` with its reason, in file order.
 */
import { quoted } from '../../../native-models/files/messageText.ts';
import type { ImageLocator } from './paths.ts';
import type { DatasetItem, SkippedItem } from './types.ts';

/** An item before its image is located: `image` is relative to the locator's folders. */
export type Draft = Omit<DatasetItem, 'imagePath' | 'subtype' | 'boxes'> & {
  readonly image: string;
  readonly subtype?: string | null;
  readonly boxes?: DatasetItem['boxes'];
};

export type Where = Omit<SkippedItem, 'reason'>;

const CONCURRENCY = 32;

/** In `u` mode `\p{Cs}` matches only a surrogate without its pair (a `\ud800` escape in JSON). */
const hasUnpairedSurrogate = (text: string) => /\p{Cs}/u.test(text);

export class ItemSink {
  private readonly ids = new Set<string>();
  private readonly drafts: { order: number; where: Where; draft: Draft }[] = [];
  private readonly refused: { order: number; skipped: SkippedItem }[] = [];
  private order = 0;

  constructor(private readonly locator: ImageLocator) {}

  skip(where: Where, reason: string): void {
    this.refused.push({ order: this.order++, skipped: { ...where, reason } });
  }

  /** A draft, or the reason the reader could not build one. */
  add(where: Where, draft: Draft | string): void {
    if (typeof draft === 'string') return this.skip(where, draft);
    const at = { ...where, id: draft.id };
    if (draft.id.trim() === '') return this.skip(where, 'empty id');
    if (draft.image.trim() === '') return this.skip(at, 'no image name');
    if (draft.question.trim() === '') return this.skip(at, 'no question text');
    if (draft.metric === 'none' ? draft.answers.length > 0 : draft.answers.length === 0) {
      return this.skip(at, draft.metric === 'none' ? 'answers given with metric "none"' : 'no answers');
    }
    const choiceProblem = checkChoices(draft);
    if (choiceProblem !== null) return this.skip(at, choiceProblem);
    if (hasUnpairedSurrogate(draft.question) || draft.answers.some(hasUnpairedSurrogate)) {
      // Half a character has no UTF-8 encoding: the tokenizer could not take it.
      return this.skip(at, 'question or answers hold an unpaired surrogate escape (not valid Unicode text)');
    }
    if (this.ids.has(draft.id)) return this.skip(at, `duplicate id ${quoted(draft.id)}`);
    this.ids.add(draft.id);
    this.drafts.push({ order: this.order++, where: at, draft });
  }

  /** Locates every image (a few at a time) and returns the items and the skipped entries in order. */
  async finish(): Promise<{ items: DatasetItem[]; skipped: SkippedItem[] }> {
    const located = new Array<Awaited<ReturnType<ImageLocator['locate']>>>(this.drafts.length);
    let next = 0;
    const worker = async () => {
      while (next < this.drafts.length) {
        const index = next++;
        located[index] = await this.locator.locate(this.drafts[index].draft.image);
      }
    };
    await Promise.all(Array.from({ length: Math.min(CONCURRENCY, this.drafts.length) }, worker));
    const items: DatasetItem[] = [];
    const refused = [...this.refused];
    this.drafts.forEach(({ order, where, draft }, index) => {
      const found = located[index];
      if ('reason' in found) refused.push({ order, skipped: { ...where, reason: found.reason } });
      else items.push(toItem(draft, found.path));
    });
    refused.sort((a, b) => a.order - b.order);
    return { items, skipped: refused.map((r) => r.skipped) };
  }
}

/** Why a multiple-choice draft cannot be scored, or null: options present, labels unique, gold among them. */
function checkChoices(draft: Draft): string | null {
  if (draft.metric !== 'choice') return null;
  const choices = draft.choices ?? [];
  if (choices.length < 2) return `${choices.length} option(s); a multiple-choice question needs at least 2`;
  const labels = choices.map((c) => c.label);
  if (new Set(labels).size !== labels.length) return `option labels repeat (${labels.join(', ')})`;
  if (choices.some((c) => c.text.trim() === '')) return 'an option has no text';
  if (!labels.includes(draft.answers[0])) {
    return `gold answer ${quoted(draft.answers[0])} is not one of the options (${labels.join(', ')})`;
  }
  return null;
}

/** Optional fields a reader left undefined are not set, so items print and compare cleanly. */
function toItem(draft: Draft, imagePath: string): DatasetItem {
  const item: { -readonly [K in keyof DatasetItem]: DatasetItem[K] } = {
    id: draft.id,
    imagePath,
    question: draft.question,
    answers: draft.answers,
    metric: draft.metric,
    family: draft.family,
    subtype: draft.subtype ?? null,
    boxes: draft.boxes ?? [],
  };
  if (draft.annotatorAnswers !== undefined) item.annotatorAnswers = draft.annotatorAnswers;
  if (draft.answerType !== undefined) item.answerType = draft.answerType;
  if (draft.questionType !== undefined) item.questionType = draft.questionType;
  if (draft.meta !== undefined) item.meta = draft.meta;
  if (draft.choices !== undefined) item.choices = draft.choices;
  if (draft.circular !== undefined) item.circular = draft.circular;
  return item;
}
