/**
 * Question contrast over depth (the report's figure and the app's chart): one panel per curve, bands
 * over images, chance on the box-mass panels and zero on specificity, the peak layer marked.
 */
import type { EChartsOption } from 'echarts';

import {
  QUESTION_CONTRAST_CURVES,
  type LayerStat,
  type QuestionContrastCurve,
  type QuestionContrastSummary,
} from '../analysis.ts';
import { evolutionCurvesOption } from './evolutionCurves.ts';
import type { LayerTable } from './layerReadouts.ts';

/** Short: they are the panels' axis names (the subtitle says what each is). */
export const QUESTION_CONTRAST_LABELS: Readonly<Record<QuestionContrastCurve, string>> = {
  own_box_mass: 'own box mass',
  other_box_mass: 'other Q, same box',
  contrast_box_mass: 'contrast box mass',
  specificity: 'own − other',
};

const curvesOf = (summary: QuestionContrastSummary) =>
  QUESTION_CONTRAST_CURVES.flatMap((c) => {
    const stats = summary.curves[c];
    return stats?.length ? [{ curve: c, stats }] : [];
  });

/** Null when no image had two questions with a region. */
export function questionContrastOption(summary: QuestionContrastSummary): EChartsOption | null {
  const curves = curvesOf(summary);
  if (!curves.length) return null;
  const { chance } = summary;
  return evolutionCurvesOption({
    title: 'Question contrast: one image, questions about different regions',
    subtitle: [
      `n = ${summary.images} images (${summary.pairs} ordered pairs, averaged per image) · bands: 95% bootstrap CI over images`,
      'own: a question’s attention on its region · other: another question’s on that region',
      'contrast: relu(A_q − A_other) renormalised · dashed: chance (uniform), zero',
    ].join('\n'),
    layers: curves[0].stats.map((s) => s.layer),
    series: curves.map(({ curve, stats }) => {
      const reference =
        curve === 'specificity'
          ? { value: 0, label: 'no preference' }
          : chance !== null
            ? { value: chance, label: `chance ${chance.toFixed(3)}` }
            : undefined;
      return {
        name: QUESTION_CONTRAST_LABELS[curve],
        mean: stats.map((s) => s.mean),
        lower: stats.map((s) => s.lower),
        upper: stats.map((s) => s.upper),
        ...(reference ? { reference } : {}),
      };
    }),
    cursorLayer: summary.peakLayer ?? undefined,
  });
}

export function questionContrastTable(summary: QuestionContrastSummary): LayerTable {
  const curves = curvesOf(summary);
  return {
    columns: ['layer', ...curves.flatMap(({ curve }) => [curve, `${curve}_lower`, `${curve}_upper`])],
    rows: (curves[0]?.stats ?? []).map((s: LayerStat, i) => [
      s.layer,
      ...curves.flatMap(({ stats }) => [stats[i].mean, stats[i].lower, stats[i].upper]),
    ]),
  };
}
