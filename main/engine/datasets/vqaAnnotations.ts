/**
 * The official VQA annotation file (VQAv2, VQA v1, OK-VQA), shared by the `vqav2` reader and LLaVA
 * question files that reuse VQAv2 question ids: `{annotations: [{question_id, image_id, answers:
 * [{answer, answer_confidence}], multiple_choice_answer?, answer_type?, question_type?}]}`.
 */
import { quoted, shownPath } from '../../../native-models/files/messageText.ts';
import { annotatorAnswers, idOf, isObject, optionalString, rankAnswers } from './fields.ts';
import { requireList } from './format.ts';

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
