/**
 * Dataset-scale experiments end to end on a tiny checkpoint and a small synthetic dataset: runs are
 * recorded in a real SQLite workspace, summaries come back with the right shapes, and a second call
 * resumes the finished run instead of computing again.
 */
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { writeTinyLlava } from '../../../native-models/testing/tinyLlava.ts';
import packageJson from '../../../package.json' with { type: 'json' };
import { openDataset } from '../datasets/index.ts';
import { modelContentHash } from '../model/contentHash.ts';
import { openModel, type LoadedModel } from '../model/openModel.ts';
import { writeReport } from '../report/writeReport.ts';
import { Workspace } from '../store/workspace.ts';
import { writeDataset } from '../synthetic/write.ts';
import { runExperiment } from './experiment.ts';
import { datasetHash } from './provenance.ts';
import { summarizeContrast } from '../analyses/contrast.ts';
import { summarizeEval } from '../analyses/eval.ts';
import { summarizeEvolution } from '../analyses/evolve.ts';
import { summarizeSweep } from '../analyses/sweep.ts';

/** The installed ONNX Runtime, read from its package (not through the runtime's own report). */
const ortPackage = createRequire(import.meta.url)('onnxruntime-node/package.json') as { version: string };

let root: string;
let model: LoadedModel;
let workspace: Workspace;
let dataset: string;
const ITEMS = 6;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'fusionscope-experiment-'));
  await writeTinyLlava(join(root, 'model'), {
    seed: 51,
    dtype: 'F32',
    layout: 'modern',
    text: { layers: 4 },
  });
  model = await openModel(join(root, 'model'), { provider: 'cpu' });
  dataset = join(root, 'data');
  writeDataset({ out: dataset, split: 'test', count: ITEMS, seed: 5, imageSize: 32 });
  workspace = Workspace.open(join(root, 'workspace'));
});

afterAll(async () => {
  workspace?.close();
  await model?.close();
  await rm(root, { recursive: true, force: true });
});

describe('runExperiment', () => {
  it('sweeps every layer of every item, labels the curve, and resumes the finished run', async () => {
    const target = { model, workspace, dataset };
    const experiment = { kind: 'sweep' as const, config: { mode: 'hidden' as const, maxNewTokens: 2 } };
    const progress: number[] = [];
    const first = await runExperiment(target, experiment, { onProgress: (e) => progress.push(e.done) });
    expect(first.status).toBe('done');
    expect(progress.at(-1)).toBe(ITEMS);
    const summary = summarizeSweep(workspace, first.runId, { metric: 'gold_prob' });
    expect(summary.sampleCount).toBe(ITEMS);
    expect(summary.layerCount).toBe(4);
    expect(summary.masked.map((s) => s.layer)).toEqual([0, 1, 2, 3]);
    expect(summary.labels.layers).toHaveLength(4);
    const progressAgain: number[] = [];
    const again = await runExperiment(target, experiment, {
      resume: 'auto',
      onProgress: (e) => progressAgain.push(e.done),
    });
    expect(again.runId).toBe(first.runId); // the same command returns the finished run…
    expect(progressAgain).toEqual([]); // …without computing anything
    const fresh = await runExperiment(target, experiment); // no resume: a new run
    expect(fresh.runId).not.toBe(first.runId);
    expect(workspace.readSamples(first.runId)).toHaveLength(ITEMS);
  });

  it("places a windowed sweep's points at their first layer's depth in the model", async () => {
    // A workspace of its own: the report test below reads the newest sweeps of the shared one.
    const own = Workspace.open(join(root, 'workspace-windowed'));
    try {
      const outcome = await runExperiment(
        { model, workspace: own, dataset, limit: 2 },
        { kind: 'sweep', config: { mode: 'knockout', window: 2, maxNewTokens: 1 } },
      );
      const summary = summarizeSweep(own, outcome.runId);
      // 4 layers, windows {0,1} {1,2} {2,3}: starts 0, 1, 2 at depths 0, 1/3, 2/3.
      expect(summary.masked.map((s) => s.layer)).toEqual([0, 1, 2]);
      summary.masked.forEach((s, i) => expect(s.depth).toBeCloseTo(i / 3, 12));
    } finally {
      own.close();
    }
  });

  it('records attention evolution curves with box mass for items that have boxes', async () => {
    const outcome = await runExperiment(
      { model, workspace, dataset },
      { kind: 'evolve', config: { perHead: true } },
    );
    const summary = summarizeEvolution(workspace, outcome.runId);
    expect(Object.keys(summary.curves).sort()).toEqual(
      expect.arrayContaining(['box_mass', 'entropy', 'hellinger_to_final']),
    );
    expect(summary.curves.hellinger_to_final.at(-1)?.mean).toBe(0);
    const maps = workspace.readArray(outcome.runId, workspace.readSamples(outcome.runId)[0].itemId, 'maps');
    expect(maps?.shape).toEqual([4, 16]);
    const perHead = workspace.readArray(
      outcome.runId,
      workspace.readSamples(outcome.runId)[0].itemId,
      'per_head',
    );
    expect(perHead?.shape).toEqual([4, 4, 16]);
  });

  it('compares the unrefined answer with each refinement per item', async () => {
    const outcome = await runExperiment(
      { model, workspace, dataset, limit: 3 },
      { kind: 'contrast', config: { candidateLayers: [0, 1], reviewLayer: 2, maxNewTokens: 2 } },
    );
    const summary = summarizeContrast(workspace, outcome.runId);
    expect(summary.sampleCount).toBe(3);
    expect(summary.rows[0].maskedTokens).toHaveLength(3); // floor(0.2 × 16)
    expect(summary.methods.map((m) => m.method)).toEqual(['none', 'mask', 'crop', 'vicrop']);
    for (const m of summary.methods) expect(m.improved + m.worsened).toBeLessThanOrEqual(3);
    expect(summary.rows[0].refined.crop?.answer).toEqual(expect.any(String));
    // The maps CA is the difference of are stored beside it: CA = A^(final) − A^(i*).
    const itemId = summary.rows[0].itemId;
    const [ca, pre, final] = ['ca', 'pre', 'final'].map((name) =>
      workspace.readArray(outcome.runId, itemId, name)!,
    );
    expect(pre.shape).toEqual([16]);
    expect(final.shape).toEqual([16]);
    ca.data.forEach((v, i) => expect(v).toBeCloseTo(final.data[i] - pre.data[i], 6));
  });

  it('runs a subset of items in dataset order, and names unknown item ids', async () => {
    const ids = (await openDataset(dataset)).items.map((item) => item.id);
    const experiment = { kind: 'eval' as const, config: { maxNewTokens: 1 } };
    const outcome = await runExperiment({ model, workspace, dataset, itemIds: [ids[4], ids[1]] }, experiment);
    expect(workspace.readSamples(outcome.runId).map((s) => s.itemId)).toEqual([ids[1], ids[4]]);
    await expect(
      runExperiment({ model, workspace, dataset, itemIds: [ids[0], 'no-such-item'] }, experiment),
    ).rejects.toThrow(/no item "no-such-item"/);
  });

  it('refuses a config outside the model before creating a run', async () => {
    const before = workspace.listRuns().length;
    await expect(
      runExperiment(
        { model, workspace, dataset },
        { kind: 'contrast', config: { candidateLayers: [0, 9], reviewLayer: 2 } },
      ),
    ).rejects.toThrow(/within 0\.\.3/);
    await expect(
      runExperiment({ model, workspace, dataset }, { kind: 'sweep', config: { mode: 'hidden', window: 5 } }),
    ).rejects.toThrow(/1\.\.4/);
    expect(workspace.listRuns()).toHaveLength(before);
  });

  it('evaluates plain answering with per-family scores that agree with the stored samples', async () => {
    const outcome = await runExperiment(
      { model, workspace, dataset },
      { kind: 'eval', config: { maxNewTokens: 2 } },
    );
    const summary = summarizeEval(workspace, outcome.runId);
    expect(summary.sampleCount).toBe(ITEMS);
    const rows = workspace
      .readSamples<{ family: string; score: number }>(outcome.runId)
      .map((s) => s.result!);
    const families = [...new Set(rows.map((r) => r.family))];
    expect(Object.keys(summary.byFamily).sort()).toEqual(families.sort());
    for (const family of families) {
      const mine = rows.filter((r) => r.family === family);
      expect(summary.byFamily[family].n).toBe(mine.length);
      expect(summary.byFamily[family].mean).toBeCloseTo(
        mine.reduce((a, r) => a + r.score, 0) / mine.length,
        12,
      );
    }
    expect(summary.pope).toBeNull(); // the synthetic set is scored by exact match
  });

  it('records what produced each run: versions, provider, precision, content hashes, settings, prompt', async () => {
    const outcome = await runExperiment(
      { model, workspace, dataset, limit: 2 },
      { kind: 'eval', config: { maxNewTokens: 1, promptSuffix: 'One word.' } },
    );
    const run = workspace.getRun(outcome.runId);
    const p = run.provenance!;
    expect(p.fusionscopeVersion).toBe(packageJson.version);
    expect(p.onnxruntimeVersion).toBe(ortPackage.version);
    expect(p.commit === null || /^[0-9a-f]{40}$/.test(p.commit)).toBe(true);
    expect(p).toMatchObject({ executionProvider: 'cpu', precision: 'auto', modelRevision: null });
    // Fully defaulted settings, equal to the run's identity.
    expect(p.settings).toEqual({ maxNewTokens: 1, promptSuffix: 'One word.' });
    expect(p.settings).toEqual(run.config);
    expect(p.promptTemplate).toContain('{question}\nOne word.');
    expect(p.modelHash).toBe(await modelContentHash(model.folder, join(root, 'hash-cache')));
    const items = (await openDataset(dataset)).items.slice(0, 2);
    expect(p.datasetHash).toBe(await datasetHash(items));
    expect(p.datasetHash).not.toBe(await datasetHash([items[1], items[0]]));
    expect(p.datasetHash).not.toBe(await datasetHash([{ ...items[0], answers: ['other'] }, items[1]]));
  });

  it('writes the report: figures as SVG and PNG, data as CSV/JSON, for the newest runs', async () => {
    // A knockout sweep beside the hidden ones: the report draws the newest run of each mode.
    const knockout = await runExperiment(
      { model, workspace, dataset },
      { kind: 'sweep', config: { mode: 'knockout', maxNewTokens: 2 } },
    );
    const out = join(root, 'report');
    const written = await writeReport(workspace, model, out);
    expect(await readdir(out)).toEqual(written);
    for (const name of ['fusion-curve', 'fusion-curve-gold-prob', 'evolution', 'contrastive-results']) {
      expect(written).toEqual(expect.arrayContaining([`${name}.svg`, `${name}.png`, `${name}.csv`]));
    }
    expect(written.filter((f) => f.startsWith('attention-') && f.endsWith('.png'))).toHaveLength(3);
    const png = await readFile(join(out, 'fusion-curve.png'));
    expect([...png.subarray(1, 4)].map((c) => String.fromCharCode(c)).join('')).toBe('PNG');
    const report = JSON.parse(await readFile(join(out, 'report.json'), 'utf8'));
    expect(report.sweep.samples).toBe(ITEMS);
    const sweepRun = workspace.getRun(report.sweep.runId);
    expect(report.sweep.provenance).toEqual(sweepRun.provenance);
    for (const field of [
      'fusionscopeVersion',
      'commit',
      'onnxruntimeVersion',
      'executionProvider',
      'precision',
      'modelHash',
      'datasetHash',
      'settings',
      'promptTemplate',
    ]) {
      expect(report.provenance, field).toHaveProperty(field);
    }
    expect(report.provenance.modelHash).toBe(sweepRun.provenance!.modelHash);
    expect(report.provenance.settings.sweep).toEqual(sweepRun.config);
    // Every figure says what made it, under the figure.
    const svg = await readFile(join(out, 'fusion-curve.svg'), 'utf8');
    expect(svg).toContain('data-provenance');
    expect(svg).toContain(`model ${sweepRun.provenance!.modelHash.slice(0, 12)}`);
    expect(svg).toContain(`sweep run ${sweepRun.id}: `);
    expect(report.contrast.samples).toBe(3);
    // Both masking modes, on one chart per metric, each run in the footer; metric, n and band stated.
    expect(report.sweep.runId).toBe(knockout.runId);
    const scored = report.sweep.modes.filter((m: { metric: string }) => m.metric === 'score');
    expect(scored.map((m: { mode: string }) => m.mode)).toEqual(['hidden', 'knockout']);
    const hidden = scored[0].runId;
    expect(hidden).toBe(
      workspace.listRuns({ kind: 'sweep', status: 'done' }).find((r) => r.id !== knockout.runId)?.id,
    );
    for (const name of ['fusion-curve', 'fusion-curve-gold-prob']) {
      const chart = await readFile(join(out, `${name}.svg`), 'utf8');
      expect(chart).toContain('hidden (zero): image states \u00d70 from layer l on');
      expect(chart).toContain('knockout: no attention to image at layer l');
      expect(chart).toContain(`sweep run ${hidden}: `);
      expect(chart).toContain(`sweep run ${knockout.runId}: `);
      expect(chart).toContain(`n = ${ITEMS} questions`);
      expect(chart).toContain('band: 95% paired bootstrap CI of the drop');
    }
    expect(await readFile(join(out, 'fusion-curve.svg'), 'utf8')).toContain('exact-match accuracy');
    expect(await readFile(join(out, 'fusion-curve-gold-prob.svg'), 'utf8')).toMatch(
      /P\(gold answer(&#39;|')s first token\)/,
    );
    expect(await readFile(join(out, 'fusion-curve.csv'), 'utf8')).toMatch(
      /^mode,fill,window,layer,masked_mean,masked_ci_lower,masked_ci_upper,drop_mean,drop_ci_lower,drop_ci_upper,label,rule,label_drop,p,reason\r\nhidden,zero,1,0,/,
    );
    // Evolution: normalised entropy by name, box mass against its chance level.
    const evolution = await readFile(join(out, 'evolution.svg'), 'utf8');
    expect(evolution).toContain('normalised entropy');
    expect(evolution).toMatch(/chance 0\.\d{3}/);
    expect(report.evolve.boxMassChance.mean).toBeGreaterThan(0);
    // Sample figures: across families, titled with gold and the model's answer, beside the image.
    const items = new Map((await openDataset(dataset)).items.map((item) => [item.id, item]));
    const strips = report.evolve.drawnSamples as string[];
    expect(strips).toHaveLength(3);
    const families = strips.map((id) => items.get(id)!.family);
    expect(new Set(families).size).toBe(Math.min(3, new Set([...items.values()].map((i) => i.family)).size));
    const strip = await readFile(join(out, `attention-${strips[0]}.svg`), 'utf8');
    expect(strip).toContain('>image</text>');
    expect(strip).toMatch(/gold: [^<]+ \u00b7 model: /);
    expect(strip).toContain(`>layer ${model.spec.decoder.layers - 1}</text>`);
    const triptych = await readFile(join(out, `contrastive-${report.contrast.drawnSamples[0]}.svg`), 'utf8');
    expect(triptych).toMatch(
      /no refinement: [^<]+ \u00b7 CA mask: [^<]+ \u00b7 CA crop: [^<]+ \u00b7 ViCrop: /,
    );
    expect(triptych).toContain('>CA crop</text>');
    expect(await readFile(join(out, 'contrastive-results.csv'), 'utf8')).toMatch(
      /^method,n,score,delta,delta_ci_lower,delta_ci_upper,p_mcnemar,improved,worsened,latency_ms\r\nnone,/,
    );
  });
});
