/**
 * The analyses as the app sees them: listAnalyses offers the registry with form fields read off each
 * schema, and a run's identity is its fully defaulted settings, so the app and the CLI (in this process,
 * on the same workspace) find each other's runs instead of computing them again.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { runCli } from '../engine/cli.testing.ts';
import { ANALYSES } from '../engine/analyses/registry.ts';
import { session, type Session } from './testing.ts';

let root: string;
let workspace: string;
let app: Session;
let modelId: string;
let datasetId: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'fusionscope-analyses-'));
  workspace = join(root, 'workspace');
  app = await session(workspace);
  [{ id: modelId }] = await app.ok('listModels', {});
  [{ id: datasetId }] = await app.ok('listDatasets', {});
});

afterAll(async () => {
  await app?.backend.close();
  await rm(root, { recursive: true, force: true });
});

/** Runs the CLI in this process on the app's workspace, model and dataset. */
const cli = (args: string[]) =>
  runCli([...args, '--workspace', workspace, '--model', modelId, '--dataset', datasetId]);

describe('listAnalyses', () => {
  it('offers every analysis of the registry, its settings as fields with the schema’s defaults', async () => {
    const offered = await app.ok('listAnalyses', {});
    expect(offered.map((a) => a.kind)).toEqual(ANALYSES.map((a) => a.kind));
    const sweep = offered.find((a) => a.kind === 'sweep')!;
    expect(sweep.fields.find((f) => f.name === 'mode')).toMatchObject({
      flag: 'mode',
      type: 'choice',
      choices: ['hidden', 'knockout'],
      default: 'hidden',
    });
    expect(sweep.fields.find((f) => f.name === 'scale')).toMatchObject({
      type: 'number',
      min: 0,
      max: 10,
      default: 0,
      onlyWhen: { field: 'mode', equals: 'hidden' },
    });
    const contrast = offered.find((a) => a.kind === 'contrast')!;
    expect(contrast.fields.find((f) => f.name === 'candidateLayers')).toMatchObject({
      flag: 'candidate-layers',
      type: 'integers',
      whenOmitted: expect.stringContaining('sweep'),
    });
    expect(contrast.fields.find((f) => f.name === 'candidateLayers')).not.toHaveProperty('default');
  });

  it('refuses an unknown analysis and bad settings at the boundary, naming them', async () => {
    expect(await app.fails('startRun', { kind: 'nope', modelId, datasetId, config: {} })).toMatchObject({
      code: 'BAD_REQUEST',
      message: expect.stringMatching(/unknown analysis "nope".*sweep, evolve, contrast, eval/),
    });
    expect(
      await app.fails('startRun', { kind: 'sweep', modelId, datasetId, config: { window: 0, colour: 1 } }),
    ).toMatchObject({ code: 'BAD_REQUEST', message: expect.stringMatching(/window \(--window\)/) });
  });
});

describe('one identity for the app and the CLI', () => {
  it('the CLI finds the run the app made with the same settings, and the app resumes the CLI’s', async () => {
    const job = await app.ok('startRun', {
      kind: 'sweep',
      modelId,
      datasetId,
      limit: 2,
      config: { mode: 'knockout' },
    });
    const done = await app.finished(job.jobId);
    expect(done.outcome).toBe('done');
    // The CLI writes every setting out (flags, defaults); the app only what its form changed.
    const sweep = await cli(['sweep', '--mode', 'knockout', '--window', '1', '--limit', '2']);
    expect(sweep.code).toBe(0);
    expect(sweep.stdout).toContain(`sweep run ${done.runId} (knockout): `);
    expect((await app.ok('listRuns', { kind: 'sweep' })).map((r) => r.id)).toEqual([done.runId]);

    // The same summary for one question family covers only that family's samples.
    const [first] = (await app.ok('datasetItems', { datasetId, limit: 2 })).items;
    const inFamily = (await app.ok('datasetItems', { datasetId, limit: 2 })).items.filter(
      (item) => item.family === first.family,
    ).length;
    const scoped = await app.ok('runSummary', { runId: done.runId!, family: first.family });
    expect(scoped.kind === 'sweep' && scoped.summary.sampleCount).toBe(inFamily);
    expect(await app.fails('runSummary', { runId: done.runId, family: 'no-such-family' })).toMatchObject({
      code: 'NOT_FOUND',
      message: expect.stringContaining('"no-such-family"'),
    });

    const evolve = await cli(['evolve', '--limit', '2']);
    expect(evolve.code).toBe(0);
    const [cliRun] = await app.ok('listRuns', { kind: 'evolve' });
    const resumed = await app.ok('resumeRun', { runId: cliRun.id });
    expect((await app.finished(resumed.jobId)).runId).toBe(cliRun.id);
    expect(await app.ok('listRuns', { kind: 'evolve' })).toHaveLength(1);
    expect(cliRun.config).toEqual({
      rows: 'last',
      perHead: false,
      noiseTopFraction: 0.05,
      noiseMinLayers: 0.75,
    });
  });
});
