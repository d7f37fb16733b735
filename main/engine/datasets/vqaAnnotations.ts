/**
 * The official VQA annotation file (VQAv2, VQA v1, OK-VQA), shared by the `vqav2` reader and LLaVA
 * question files that reuse VQAv2 question ids: `{annotations: [{question_id, image_id, answers:
 * [{answer, answer_confidence}], multiple_choice_answer?, answer_type?, question_type?}]}`.
 */
import { quoted, shownPath } from '../../../native-models/files/messageText.ts';
import { annotatorAnswers, idOf, isObject, nonEmptyString, optionalString, rankAnswers } from './fields.ts';
import { requireList } from './format.ts';
import type { ItemSink, Where } from './sink.ts';

export interface VqaGold {
  readonly answers: string[];
  readonly annotatorAnswers: string[];
  readonly answerType?: string;
  readonly questionType?: string;
}

const VQA_ANNOTATIONS_SHAPE = 'an object with an "annotations" list (VQA annotation file)';

/** Annotations by question id; entries without a usable id or answers become reasons, not golds. */
export function indexVqaAnnotations(file: string, doc: unknown): Map<string, VqaGold | string> {
  const index = new Map<string, VqaGold | string>();
  for (const entry of requireList(file, doc, 'annotations', VQA_ANNOTATIONS_SHAPE)) {
    if (!isObject(entry)) continue;
    const id = idOf(entry.question_id);
    if (id === null) continue;
    const raw = annotatorAnswers(entry.answers);
    const preferred = optionalString(entry.multiple_choice_answer);
    const answers = rankAnswers(raw ?? [], preferred);
    index.set(
      id,
      raw === null || answers.length === 0
        ? `annotation of question ${quoted(id)} in ${shownPath(file)} has no answers`
        : {
            answers,
            annotatorAnswers: raw,
            answerType: optionalString(entry.answer_type),
            questionType: optionalString(entry.question_type),
          },
    );
  }
  return index;
}

/** A VQA question entry (VQAv2, VQA-CP) checked, with its gold answers; the raw entry for extra fields. */
export interface VqaQuestion {
  readonly id: string;
  readonly imageId: number;
  readonly question: string;
  readonly gold: VqaGold;
  readonly entry: Readonly<Record<string, unknown>>;
  /** Where the entry is, with its id: for skips the caller adds. */
  readonly at: Where;
}

/**
 * `{question_id, image_id, question}` checked and paired with its annotation; null when the entry is
 * skipped, the sink told why.
 */
export function vqaQuestion(
  entry: unknown,
  where: Where,
  gold: Map<string, VqaGold | string>,
  annotationsFile: string,
  sink: ItemSink,
): VqaQuestion | null {
  if (!isObject(entry)) return skipped(sink, where, 'not a JSON object');
  const id = idOf(entry.question_id);
  if (id === null) return skipped(sink, where, 'missing "question_id"');
  const at = { ...where, id };
  const imageId = entry.image_id;
  if (!Number.isSafeInteger(imageId) || (imageId as number) < 0) {
    return skipped(sink, at, '"image_id" must be a non-negative integer');
  }
  const question = nonEmptyString(entry.question);
  if (question === null) return skipped(sink, at, '"question" must be a non-empty string');
  const answers =
    gold.get(id) ?? `no annotation for question_id ${quoted(id)} in ${shownPath(annotationsFile)}`;
  if (typeof answers === 'string') return skipped(sink, at, answers);
  return { id, imageId: imageId as number, question, gold: answers, entry, at };
}

function skipped(sink: ItemSink, where: Where, reason: string): null {
  sink.skip(where, reason);
  return null;
}
