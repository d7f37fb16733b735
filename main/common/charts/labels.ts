/** Display names shared by the report, the CLI and the app, so a figure and a screen say the same. */
import type { Refinement, VarActivity } from '../analysis.ts';

export const METHOD_LABELS: Readonly<Record<'none' | Refinement, string>> = {
  none: 'no refinement',
  mask: 'contrastive attention (mask)',
  crop: 'contrastive attention (crop)',
  vicrop: 'ViCrop (relative attention)',
  var: 'VAR (visual-sink redistribution)',
};

/** Stored per-layer evolution metrics (engine/analyses/evolve.ts) → their names on a chart. */
export const EVOLUTION_METRIC_LABELS: Readonly<Record<string, string>> = {
  box_mass: 'box mass',
  // Shannon entropy divided by log(N image tokens): 0 = one token, 1 = uniform (experiments/metrics/attentionMaps.ts).
  entropy: 'normalised entropy',
  hellinger_to_final: 'Hellinger to final',
};

/** Chart order of the evolution metrics: the paper's box mass first, Hellinger last. */
export const EVOLUTION_METRIC_ORDER: readonly string[] = ['box_mass', 'entropy', 'hellinger_to_final'];

export function evolutionMetricLabel(name: string): string {
  return EVOLUTION_METRIC_LABELS[name] ?? name;
}

/** Short method names for narrow tables and legends (the full names in METHOD_LABELS). */
export const METHOD_SHORT_LABELS: Readonly<Record<'none' | Refinement, string>> = {
  none: 'no refinement',
  mask: 'CA mask',
  crop: 'CA crop',
  vicrop: 'ViCrop',
  var: 'VAR',
};

/**
 * How much VAR did, in one sentence: a sample on which no head qualified kept its attention (and its
 * answer), which the score alone would not tell apart from a change that did not matter.
 */
export function varActivityText(a: VarActivity): string {
  return `VAR moved attention on ${a.acted} of ${a.samples} samples (mean ${a.meanHeads.toFixed(1)} heads × layers per sample)`;
}
