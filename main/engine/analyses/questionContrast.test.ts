/**
 * Question contrast: the pair arithmetic on hand-computed maps, and a run on the demo model over the
 * demo's several-questions-per-image split, checked against what the items' boxes alone imply.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { QuestionContrastItemResult } from '../../common/analysis.ts';
import { runCli } from '../cli.testing.ts';
import { openDataset } from '../datasets/index.ts';
import { DEMO_MODEL_DIR } from '../demo.ts';
import { openModel } from '../model/openModel.ts';
import { writeReport } from '../report/writeReport.ts';
import { Workspace } from '../store/workspace.ts';
import { contrastMap, imageCurves, pairCurves, summarizeQuestionContrast } from './questionContrast.ts';

const MULTI = join(DEMO_MODEL_DIR, '..', 'data', 'multi');

describe('the pair arithmetic', () => {
  it('keeps what one map has more of than the other, renormalised; uniform where it has nothing more', () => {
    expect(Array.from(contrastMap([0.5, 0.3, 0.2], [0.2, 0.3, 0.5]))).toEqual([1, 0, 0]);
    const c = contrastMap([0.4, 0.4, 0.2, 0], [0.1, 0.2, 0.2, 0.5]);
    expect(c[0]).toBeCloseTo(0.6, 12);
    expect(c[1]).toBeCloseTo(0.4, 12);
    expect(Array.from(contrastMap([0.25, 0.75], [0.25, 0.75]))).toEqual([0.5, 0.5]);
  });

  // Four cells; q's region covers cell 0 and half of cell 1, the other question's covers cell 2.
  const q = {
    maps: [
      [0.25, 0.25, 0.25, 0.25],
      [0.6, 0.2, 0.1, 0.1],
    ],
    coverage: [1, 0.5, 0, 0],
  };
  const other = {
    maps: [
      [0.25, 0.25, 0.25, 0.25],
      [0.1, 0.1, 0.7, 0.1],
    ],
    coverage: [0, 0, 1, 0],
  };

  it('measures own, other, contrast and specificity per layer on the question’s own region', () => {
    const curves = pairCurves(q, other);
    // Layer 0: identical uniform maps: own = other = 0.25 + 0.125; contrast uniform gives the same.
    expect(curves.own_box_mass[0]).toBeCloseTo(0.375, 12);
    expect(curves.other_box_mass[0]).toBeCloseTo(0.375, 12);
    expect(curves.contrast_box_mass[0]).toBeCloseTo(0.375, 12);
    expect(curves.specificity[0]).toBeCloseTo(0, 12);
    // Layer 1: own 0.6 + 0.1 = 0.7, other 0.1 + 0.05 = 0.15; relu(q − other) = [0.5, 0.1, 0, 0] → 5/6 + 1/12.
    expect(curves.own_box_mass[1]).toBeCloseTo(0.7, 12);
    expect(curves.other_box_mass[1]).toBeCloseTo(0.15, 12);
    expect(curves.contrast_box_mass[1]).toBeCloseTo(5 / 6 + 1 / 12, 12);
    expect(curves.specificity[1]).toBeCloseTo(0.55, 12);
  });

  it('averages an image’s ordered pairs; a question without a region is only ever the other', () => {
    const both = imageCurves([q, other])!;
    const reverse = pairCurves(other, q);
    // Layer 1, other on its region (cell 2): own 0.7, q there 0.1, specificity 0.6.
    expect(reverse.specificity[1]).toBeCloseTo(0.6, 12);
    expect(both.specificity[1]).toBeCloseTo((0.55 + 0.6) / 2, 12);
    const noRegion = { ...other, coverage: [0, 0, 0, 0] };
    expect(imageCurves([q, noRegion])!.specificity[1]).toBeCloseTo(
      pairCurves(q, noRegion).specificity[1],
      12,
    );
    expect(imageCurves([noRegion, noRegion])).toBeNull();
  });
});

describe('fusionscope question-contrast on the demo model', () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'fusionscope-question-contrast-'));
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('pairs the questions of each image and prints where attention follows the question', async () => {
    const workspacePath = join(root, 'workspace');
    const { code, stdout } = await runCli([
      'question-contrast',
      '--dataset',
      MULTI,
      '--limit',
      '7',
      '--workspace',
      workspacePath,
    ]);
    expect(code).toBe(0);
    const dataset = await openDataset(MULTI);
    const items = dataset.items.slice(0, 7);
    const byImage = new Map<string, typeof items>();
    for (const item of items) byImage.set(item.imagePath, [...(byImage.get(item.imagePath) ?? []), item]);
    const groups = [...byImage.values()].filter((g) => g.length >= 2);
    const pairs = groups.reduce((n, g) => n + g.length * (g.length - 1), 0);
    expect(stdout).toMatch(
      new RegExp(
        `^question-contrast run \\d+: ${groups.length} images, ${pairs} ordered question pairs, 12 layers$`,
        'm',
      ),
    );
    expect(stdout).toMatch(
      /^ {2}attention follows the question most at layer \d: own − other -?\d\.\d{3} \[/m,
    );

    const workspace = Workspace.open(workspacePath);
    try {
      const run = workspace.listRuns().find((r) => r.kind === 'question-contrast')!;
      const summary = summarizeQuestionContrast(workspace, run.id);
      expect(summary).toMatchObject({ sampleCount: 7, images: groups.length, pairs, layerCount: 12 });
      // The demo's grid tiles the whole image, so uniform attention's box mass is the box's share of
      // the image area: an independent check of the stored coverage.
      const model = await openModel(DEMO_MODEL_DIR);
      const [width, height] = [64, 64];
      const areas = groups.flat().map((item) => {
        const area = item.boxes.reduce((s, [x0, y0, x1, y1]) => s + (x1 - x0) * (y1 - y0), 0);
        return area / (width * height);
      });
      expect(summary.chance).toBeCloseTo(areas.reduce((a, b) => a + b, 0) / areas.length, 6);
      expect(model.spec.decoder.layers).toBe(12);
      for (const stat of summary.curves.specificity!) {
        const own = summary.curves.own_box_mass!.find((s) => s.layer === stat.layer)!;
        const other = summary.curves.other_box_mass!.find((s) => s.layer === stat.layer)!;
        expect(stat.mean).toBeCloseTo(own.mean - other.mean, 12);
        expect(stat.n).toBe(groups.length);
      }
      const keys = workspace.readSamples<QuestionContrastItemResult>(run.id).map((s) => s.result!.imageKey);
      expect(new Set(keys).size).toBe(byImage.size);

      const out = join(root, 'report');
      const written = await writeReport(workspace, model, out);
      expect(written).toEqual(expect.arrayContaining(['question-contrast.svg', 'question-contrast.csv']));
      expect(written.some((name) => /^question-contrast-test-\d{6}-q1\.svg$/.test(name))).toBe(true);
      const svg = await readFile(join(out, 'question-contrast.svg'), 'utf8');
      expect(svg).toContain(`n = ${groups.length} images`);
      const report = JSON.parse(await readFile(join(out, 'report.json'), 'utf8'));
      expect(report['question-contrast']).toMatchObject({ runId: run.id, images: groups.length, pairs });
    } finally {
      workspace.close();
    }
  });
});
