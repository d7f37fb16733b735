/**
 * Question contrast: the same image asked about different regions. Attention evolution (paper §2)
 * finds high-attention noise that stays on irrelevant regions whatever the question; contrasting two
 * layers cancels it along depth (§3). Two questions about disjoint regions of one image cancel it
 * along the question instead: what one question's map has more of than the other's should lie in its
 * own region. Per layer, over the ordered pairs of questions of an image: the question's attention on
 * its own region (own), the other question's attention on that region (other), the paired difference
 * (specificity: own − other, > 0 where attention follows the question), and the renormalised
 * relu(A_q − A_other) on the region (contrast). Pairs of one image are not independent, so each image's
 * pairs are averaged first and the intervals resample images.
 *
 * Needs a dataset that asks several questions of one image with boxes (VQAv2-style question files,
 * GQA, or the synthetic generator's `--questions-per-image`; the demo ships `data/multi`).
 */
import { createHash } from 'node:crypto';

import { z } from 'zod';

import {
  QUESTION_CONTRAST_CURVES,
  type LayerStat,
  type QuestionContrastCurve,
  type QuestionContrastItemResult,
  type QuestionContrastSummary,
} from '../../common/analysis.ts';
import { questionContrastOption, questionContrastTable } from '../../common/charts/questionContrast.ts';
import { boxCoverage, massUnderCoverage } from '../analysis/imageTokens.ts';
import type { DatasetItem } from '../datasets/types.ts';
import { evolveSample } from '../experiments/evolution.ts';
import { layerBootstrap } from '../experiments/metrics/index.ts';
import type { Rect } from '../image/index.ts';
import { panelFigureSvg, imagePanel } from '../report/figures/panels.ts';
import { prepareOverlay } from '../report/overlay/prepare.ts';
import type { ReportContext } from '../report/reportContext.ts';
import { toCsv } from '../report/table/csv.ts';
import type { Workspace } from '../store/workspace.ts';
import { defineAnalysis, promptSettings } from './analysis.ts';
import { evolveConfig } from './evolve.ts';
import { modelAnswers, sampleTitle } from './reportSamples.ts';
import { runOfKind } from './runReads.ts';
import { prepareItem, stack } from './samples.ts';

export const questionContrastConfig = z.strictObject({ ...promptSettings });
export type QuestionContrastConfig = z.output<typeof questionContrastConfig>;

/** One question's stored maps ([layer][cell], each a distribution) and its region's coverage per cell. */
export interface QuestionMaps {
  readonly maps: readonly ArrayLike<number>[];
  readonly coverage: ArrayLike<number>;
}

/** relu(a − b), renormalised; uniform when a ≤ b everywhere (the maps agree: nothing singles out a cell). */
export function contrastMap(a: ArrayLike<number>, b: ArrayLike<number>): Float64Array {
  const out = Float64Array.from({ length: a.length }, (_, i) => Math.max(0, a[i] - b[i]));
  const total = out.reduce((s, v) => s + v, 0);
  return total > 0 ? out.map((v) => v / total) : out.fill(1 / a.length);
}

/** Per curve, per layer: question `q` against `other` on `q`'s region. */
export function pairCurves(q: QuestionMaps, other: QuestionMaps): Record<QuestionContrastCurve, number[]> {
  const own = q.maps.map((m) => massUnderCoverage(m, q.coverage));
  const others = other.maps.map((m) => massUnderCoverage(m, q.coverage));
  return {
    own_box_mass: own,
    other_box_mass: others,
    contrast_box_mass: q.maps.map((m, l) => massUnderCoverage(contrastMap(m, other.maps[l]), q.coverage)),
    specificity: own.map((v, l) => v - others[l]),
  };
}

/**
 * One row per curve for an image: every ordered pair of its questions, averaged. Questions without a
 * region (coverage all zero) take part only as the "other" of a pair.
 */
export function imageCurves(
  questions: readonly QuestionMaps[],
): Record<QuestionContrastCurve, number[]> | null {
  const sums = Object.fromEntries(QUESTION_CONTRAST_CURVES.map((c) => [c, [] as number[]])) as Record<
    QuestionContrastCurve,
    number[]
  >;
  let pairs = 0;
  questions.forEach((q, i) => {
    if (!Array.from(q.coverage).some((w) => w > 0)) return;
    questions.forEach((other, j) => {
      if (i === j) return;
      const curves = pairCurves(q, other);
      for (const c of QUESTION_CONTRAST_CURVES) {
        curves[c].forEach((v, l) => (sums[c][l] = (sums[c][l] ?? 0) + v));
      }
      pairs++;
    });
  });
  if (pairs === 0) return null;
  for (const c of QUESTION_CONTRAST_CURVES) sums[c] = sums[c].map((v) => v / pairs);
  return sums;
}

function pairCount(questions: readonly QuestionMaps[]): number {
  const withRegion = questions.filter((q) => Array.from(q.coverage).some((w) => w > 0)).length;
  return withRegion * (questions.length - 1);
}

function storedQuestion(workspace: Workspace, runId: number, itemId: string): QuestionMaps | null {
  const maps = workspace.readArray(runId, itemId, 'maps');
  const coverage = workspace.readArray(runId, itemId, 'box_coverage');
  if (!maps || !coverage) return null;
  const [layers, cells] = maps.shape;
  return {
    maps: Array.from({ length: layers }, (_, l) => maps.data.subarray(l * cells, (l + 1) * cells)),
    coverage: coverage.data,
  };
}

/** The run's finished samples grouped by image, in order of first appearance. */
function imageGroups(workspace: Workspace, runId: number): Map<string, string[]> {
  const groups = new Map<string, string[]>();
  for (const sample of workspace.readSamples<QuestionContrastItemResult>(runId)) {
    if (sample.status !== 'ok' || !sample.result) continue;
    const key = sample.result.imageKey;
    groups.set(key, [...(groups.get(key) ?? []), sample.itemId]);
  }
  return groups;
}

export function summarizeQuestionContrast(workspace: Workspace, runId: number): QuestionContrastSummary {
  runOfKind(workspace, runId, 'question-contrast');
  const rows = Object.fromEntries(QUESTION_CONTRAST_CURVES.map((c) => [c, [] as number[][]])) as Record<
    QuestionContrastCurve,
    number[][]
  >;
  let sampleCount = 0;
  let pairs = 0;
  let chanceSum = 0;
  let chanceN = 0;
  for (const itemIds of imageGroups(workspace, runId).values()) {
    sampleCount += itemIds.length;
    const questions = itemIds.flatMap((id) => storedQuestion(workspace, runId, id) ?? []);
    const curves = imageCurves(questions);
    if (!curves) continue;
    for (const c of QUESTION_CONTRAST_CURVES) rows[c].push(curves[c]);
    pairs += pairCount(questions);
    for (const q of questions) {
      const cells = q.coverage.length;
      if (!Array.from(q.coverage).some((w) => w > 0)) continue;
      chanceSum += Array.from(q.coverage).reduce((s, w) => s + w, 0) / cells;
      chanceN++;
    }
  }
  const curves: Partial<Record<QuestionContrastCurve, LayerStat[]>> = {};
  for (const c of QUESTION_CONTRAST_CURVES) if (rows[c].length) curves[c] = layerBootstrap(rows[c]);
  const specificity = curves.specificity ?? [];
  const peak = specificity.reduce<LayerStat | null>(
    (best, s) => (!best || s.mean > best.mean ? s : best),
    null,
  );
  return {
    runId,
    sampleCount,
    images: rows.specificity.length,
    pairs,
    layerCount: specificity.length,
    chance: chanceN ? chanceSum / chanceN : null,
    curves,
    peakLayer: peak?.layer ?? null,
  };
}

const imageKeyOf = (item: DatasetItem) =>
  createHash('sha256').update(item.imagePath).digest('hex').slice(0, 16);

/** A pair of one image drawn at a layer: both maps on one scale, then the contrast map on its own. */
async function pairFigure(
  report: ReportContext,
  layer: number,
  pair: readonly [DatasetItem, DatasetItem],
  maps: readonly [QuestionMaps, QuestionMaps],
  titles: readonly [string, string],
): Promise<string> {
  const { image, tokenRects } = await report.sampleView(pair[0]);
  const [a, b] = maps.map((m) => Array.from(m.maps[layer]));
  const high = Math.max(...a, ...b);
  const overlay = (map: readonly number[], boxes: DatasetItem['boxes'], range: [number, number]) =>
    prepareOverlay({ image, map, tokenRects, colormap: 'viridis', opacity: 0.6, range, boxes });
  const contrast = Array.from(contrastMap(a, b));
  const rect = (box: DatasetItem['boxes'][number]): Rect => ({
    x: box[0],
    y: box[1],
    width: box[2] - box[0],
    height: box[3] - box[1],
  });
  const marks = [
    ...pair[0].boxes.map((box) => ({ rect: rect(box), color: '#0072B2', label: 'Q1' })),
    ...pair[1].boxes.map((box) => ({ rect: rect(box), color: '#D55E00', label: 'Q2' })),
  ];
  return panelFigureSvg(
    [
      {
        panels: [
          imagePanel(image, 'image (Q1 / Q2 regions)', marks),
          { label: `Q1 layer ${layer}`, overlay: overlay(a, pair[0].boxes, [0, high]) },
          { label: `Q2 layer ${layer}`, overlay: overlay(b, pair[1].boxes, [0, high]) },
        ],
        colorbar: { colormap: 'viridis', range: [0, high], caption: 'attention', relative: false },
      },
      {
        panels: [
          {
            label: 'relu(Q1 − Q2)',
            overlay: overlay(contrast, pair[0].boxes, [0, Math.max(...contrast)]),
          },
        ],
        colorbar: {
          colormap: 'viridis',
          range: [0, Math.max(...contrast)],
          caption: 'contrast',
          relative: false,
        },
      },
    ],
    {
      title: `Question contrast at layer ${layer} (the peak of specificity)`,
      subtitle: `Q1: ${titles[0]} \u00b7 Q2: ${titles[1]} \u00b7 white: each map\u2019s own question\u2019s region`,
      panelWidth: 150,
    },
  );
}

export const questionContrastAnalysis = defineAnalysis({
  kind: 'question-contrast',
  title: 'Question contrast',
  description:
    'per layer, how much more a question attends its own region than another question on the same image does',
  config: questionContrastConfig,

  async perSample(model, item, config) {
    const sample = await prepareItem(model, item, config);
    const evo = await evolveSample(model, sample, item.boxes, evolveConfig.parse({}));
    const coverage = boxCoverage(evo.tokenRects, item.boxes);
    const result: QuestionContrastItemResult = { imageKey: imageKeyOf(item) };
    return {
      result,
      metrics: evo.massInBox ? evo.massInBox.map((value, layer) => ({ layer, name: 'box_mass', value })) : [],
      arrays: [
        {
          name: 'maps',
          data: stack(evo.displayMaps),
          shape: [evo.displayMaps.length, evo.displayMaps[0].length],
        },
        { name: 'box_coverage', data: Float32Array.from(coverage), shape: [coverage.length] },
      ],
    };
  },

  summarize: (workspace, run) => summarizeQuestionContrast(workspace, run.id),

  describe(s) {
    if (s.images === 0) {
      return [
        `question-contrast run ${s.runId}: ${s.sampleCount} samples, but no image has two questions with a region`,
        '  (ask several questions of one image: e.g. the demo’s data/multi, or a VQAv2/GQA question file)',
      ];
    }
    const lines = [
      `question-contrast run ${s.runId}: ${s.images} images, ${s.pairs} ordered question pairs, ${s.layerCount} layers`,
    ];
    for (const c of QUESTION_CONTRAST_CURVES) {
      const curve = s.curves[c];
      if (curve) lines.push(`  ${c.padEnd(17)} ${curve.map((x) => x.mean.toFixed(3)).join(' ')}`);
    }
    if (s.chance !== null) lines.push(`  chance (uniform attention) ${s.chance.toFixed(3)}`);
    const peak = s.curves.specificity?.find((x) => x.layer === s.peakLayer);
    if (peak) {
      lines.push(
        `  attention follows the question most at layer ${peak.layer}: own − other ${peak.mean.toFixed(3)} [${peak.lower.toFixed(3)}, ${peak.upper.toFixed(3)}]`,
      );
    }
    return lines;
  },

  async report(report, run, summary) {
    const option = questionContrastOption(summary);
    if (!option) return { runId: run.id, images: 0 };
    await report.addChart('question-contrast', option, { width: 720, height: 720 }, run);
    const table = questionContrastTable(summary);
    report.addFile('question-contrast.csv', toCsv(table.columns, table.rows));
    // One example: the first image with two questions, drawn at the peak layer.
    const items = await report.doneItems(run);
    const byId = new Map(items.map((item) => [item.id, item]));
    const answers = modelAnswers(report, run);
    let drawn: string[] = [];
    for (const ids of imageGroups(report.workspace, run.id).values()) {
      const pair = ids.map((id) => byId.get(id)).filter((item) => item && item.boxes.length > 0);
      if (pair.length < 2 || summary.peakLayer === null) continue;
      const [a, b] = pair as [DatasetItem, DatasetItem];
      const maps = [a, b].map((item) => storedQuestion(report.workspace, run.id, item.id));
      if (!maps[0] || !maps[1]) continue;
      const titles = [a, b].map((item) => sampleTitle(item, answers.get(item.id))) as [string, string];
      const svg = await pairFigure(report, summary.peakLayer, [a, b], [maps[0], maps[1]], titles);
      report.addFigure(`question-contrast-${a.id}`, svg, run);
      drawn = [a.id, b.id];
      break;
    }
    return {
      runId: run.id,
      images: summary.images,
      pairs: summary.pairs,
      peakLayer: summary.peakLayer,
      chance: summary.chance,
      curves: Object.fromEntries(
        Object.entries(summary.curves).map(([name, stats]) => [name, stats.map((s) => s.mean)]),
      ),
      drawnPair: drawn,
    };
  },
});
