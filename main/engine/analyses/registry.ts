/**
 * Every analysis FusionScope offers, one line each: the CLI's commands and flags, the API's kinds, the
 * app's forms, the report's sections (in this order) and the run store all come from this list.
 */
import { FusionError, type FusionErrorCode } from '../../common/errors.ts';
import type { Analysis } from './analysis.ts';
import { attentionShareAnalysis } from './attentionShare.ts';
import { contrastAnalysis } from './contrast.ts';
import { evalAnalysis } from './eval.ts';
import { evolveAnalysis } from './evolve.ts';
import { headKnockoutAnalysis } from './headKnockout.ts';
import { imageLensAnalysis } from './imageLens.ts';
import { logitLensAnalysis } from './logitLens.ts';
import { questionContrastAnalysis } from './questionContrast.ts';
import { sweepAnalysis } from './sweep.ts';

export const ANALYSES: readonly Analysis[] = [
  sweepAnalysis,
  evolveAnalysis,
  contrastAnalysis,
  evalAnalysis,
  logitLensAnalysis,
  imageLensAnalysis,
  attentionShareAnalysis,
  headKnockoutAnalysis,
  questionContrastAnalysis,
];

const BY_KIND = new Map(ANALYSES.map((analysis) => [analysis.kind, analysis]));

export const ANALYSIS_KINDS: readonly string[] = ANALYSES.map((analysis) => analysis.kind);

/** The analysis named `kind`; refused with `code`, listing the ones there are. */
export function analysisOf(kind: string, code: FusionErrorCode = 'BAD_ARGUMENT'): Analysis {
  const analysis = BY_KIND.get(kind);
  if (!analysis) {
    const shown = JSON.stringify(String(kind).slice(0, 64));
    throw new FusionError(code, `unknown analysis ${shown} (expected ${ANALYSIS_KINDS.join(', ')})`);
  }
  return analysis;
}
