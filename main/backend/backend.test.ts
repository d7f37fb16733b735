/**
 * The backend end to end: a real engine worker thread, a real SQLite workspace in a temp folder and the
 * real demo model (12 layers, 64 image tokens; it loads in seconds). Runs use a few items only.
 */
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { ApiEvent } from '../common/api/index.ts';
import type { FusionError } from '../common/errors.ts';
import { layersFromSweep } from '../common/sweepLayers.ts';
import { crc32 } from '../engine/image/crc32.ts';
import { Workspace } from '../engine/store/workspace.ts';
import { createBackend } from './index.ts';
import { jsonSafe } from './jsonSafe.ts';
import { session, type Session } from './testing.ts';

/** Must match engineWorker.crash.testing.mjs. */
const CRASH_MARKER = 'crash the engine worker after one sample';

let root: string;
let app: Session;
let modelId: string;
let datasetId: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'fusionscope-backend-'));
  app = await session(join(root, 'workspace'));
});

afterAll(async () => {
  await app?.backend.close();
  await rm(root, { recursive: true, force: true });
});

describe('start', () => {
  it('opens the demo model and imports the demo dataset', async () => {
    const models = await app.ok('listModels', {});
    expect(models).toHaveLength(1);
    const [model] = models;
    expect(model).toMatchObject({ isDemo: true, name: 'demo', layers: 12, heads: 4, hiddenSize: 160 });
    expect(model.id).toMatch(/^\/.*native-models\/demo\/model$/);
    // auto keeps the demo's F32; tensors no graph reads (the tower's unused last layer) are not held.
    expect(model.precision).toBe('auto');
    expect(model.memoryBytes).toBeLessThanOrEqual(model.parameterCount * 4);
    expect(model.memoryBytes).toBeGreaterThan(model.parameterCount * 4 * 0.9);
    expect(model.imageGrid).toEqual({ rows: 8, cols: 8, leadingTokens: 0 });
    const loading = app.events.filter((e) => e.type === 'model-loading');
    expect(loading.at(-1)).toMatchObject({ folder: model.id, label: 'ready' });
    modelId = model.id;

    const [dataset] = await app.ok('listDatasets', {});
    expect(dataset).toMatchObject({ isDemo: true, itemCount: 400, skippedCount: 0 });
    expect(Object.values(dataset.families).reduce((a, b) => a + b, 0)).toBe(400);
    datasetId = dataset.id;
    const page = await app.ok('datasetItems', { datasetId, family: 'color', offset: 2, limit: 5 });
    expect(page.total).toBe(dataset.families.color);
    expect(page.items).toHaveLength(5);
    expect(page.items.every((item) => item.family === 'color')).toBe(true);
    expect(page.items[0].imagePath.startsWith(dirname(datasetId))).toBe(true);
  });
});

describe('start with a broken preloaded model', () => {
  it('says why in appInfo, lists no model, and keeps serving', async () => {
    const scratch = await mkdtemp(join(tmpdir(), 'fusionscope-backend-broken-'));
    const broken = join(scratch, 'broken-model');
    await mkdir(broken);
    await writeFile(join(broken, 'config.json'), '{"model_type": "llava", "text_config": 7}');
    const s = await session(join(scratch, 'workspace'), { demoModelFolder: broken });
    try {
      expect(await s.ok('listModels', {})).toEqual([]);
      const info = await s.ok('appInfo', {});
      expect(info.startupProblems).toHaveLength(1);
      expect(info.startupProblems[0]).toMatch(/^the demo model did not load: .*config\.json/);
      // The demo's test split (selected) and its several-questions-per-image split.
      const listed = await s.ok('listDatasets', {});
      expect(listed.map((d) => [d.name, d.isDemo])).toEqual([
        ['synthetic-vqa-test', true],
        ['synthetic-vqa-multi', false],
      ]);
    } finally {
      await s.backend.close();
      await rm(scratch, { recursive: true, force: true });
    }
  });
});

describe('close', () => {
  it('waits for a model load in flight instead of aborting the process inside ONNX Runtime', async () => {
    const scratch = await mkdtemp(join(tmpdir(), 'fusionscope-backend-close-'));
    const backend = await createBackend({
      workspace: join(scratch, 'workspace'),
      mode: 'browser',
      provider: 'cpu',
    });
    // Close while the worker is creating the demo model's sessions (after its third graph): stopping
    // the worker there aborted the whole process from inside ONNX Runtime before close() waited.
    await new Promise<void>((resolve) =>
      backend.onEvent((e) => {
        if (e.type === 'model-loading' && e.done >= 3) resolve();
      }),
    );
    await backend.close();
    expect(await backend.call('listModels', {})).toMatchObject({ ok: false });
    await rm(scratch, { recursive: true, force: true });
  });
});

describe('runs', () => {
  let sweepRun: number;

  it('sweep: job and per-sample progress events, then a labelled summary', async () => {
    const job = await app.ok('startRun', {
      kind: 'sweep',
      modelId,
      datasetId,
      limit: 3,
      config: { mode: 'hidden', maxNewTokens: 2 },
    });
    expect(['queued', 'running']).toContain(job.state);
    expect(job.total).toBe(3);
    const done = await app.finished(job.jobId);
    expect(done).toMatchObject({ outcome: 'done', done: 3, total: 3, error: null });
    sweepRun = done.runId!;
    const states = app.events.flatMap((e) => (e.type === 'job' && e.job.jobId === job.jobId ? [e.job] : []));
    expect(states.map((j) => j.state)).toEqual(expect.arrayContaining(['queued', 'running', 'finished']));
    expect(states.find((j) => j.state === 'running' && j.runId !== null)?.runId).toBe(sweepRun);
    const progress = app.events.flatMap((e) =>
      e.type === 'progress' && e.jobId === job.jobId ? [e.progress] : [],
    );
    expect(progress.filter((p) => p.itemId !== null).map((p) => p.done)).toEqual([1, 2, 3]);

    const summary = await app.ok('runSummary', { runId: sweepRun });
    if (summary.kind !== 'sweep') throw new Error(`expected a sweep summary, got ${summary.kind}`);
    expect(summary.summary).toMatchObject({
      runId: sweepRun,
      sampleCount: 3,
      layerCount: 12,
      metric: 'score',
    });
    expect(summary.summary.labels.layers).toHaveLength(12);
    const gold = await app.ok('runSummary', {
      runId: sweepRun,
      metric: 'gold_prob',
      labels: { scale: 'absolute', minDrop: 0.5 },
    });
    if (gold.kind !== 'sweep') throw new Error('expected a sweep summary');
    expect(gold.summary.metric).toBe('gold_prob');
    expect(gold.summary.labels.params).toMatchObject({ scale: 'absolute', minDrop: 0.5 });

    const samples = await app.ok('runSamples', { runId: sweepRun, offset: 1, limit: 5 });
    expect(samples.total).toBe(3);
    expect(samples.samples).toHaveLength(2);
    expect(samples.samples[0].item?.id).toBe(samples.samples[0].itemId);
    const runs = await app.ok('listRuns', { kind: 'sweep', modelId });
    expect(runs.map((r) => r.id)).toEqual([sweepRun]);
    expect(await app.ok('listRuns', { modelId: '/no/such/model' })).toEqual([]);
  });

  it('evolve with perHead: sampleDetail has maps, per_head and token rects on the image grid', async () => {
    const job = await app.ok('startRun', {
      kind: 'evolve',
      modelId,
      datasetId,
      limit: 2,
      config: { perHead: true },
    });
    const done = await app.finished(job.jobId);
    expect(done.outcome).toBe('done');
    const { samples } = await app.ok('runSamples', { runId: done.runId! });
    const detail = await app.ok('sampleDetail', { runId: done.runId!, itemId: samples[0].itemId });
    expect(detail.kind).toBe('evolve');
    expect(detail.image).toEqual({ width: 64, height: 64 });
    expect(detail.grid).toEqual({ rows: 8, cols: 8 });
    // 8×8 patches of 8 px on the 64 px demo image, row by row.
    expect(detail.tokenRects).toHaveLength(64);
    expect(detail.tokenRects[0]).toEqual({ x: 0, y: 0, width: 8, height: 8 });
    expect(detail.tokenRects[9]).toEqual({ x: 8, y: 8, width: 8, height: 8 });
    expect(detail.tokenRects[63]).toEqual({ x: 56, y: 56, width: 8, height: 8 });
    const maps = detail.arrays.maps as number[][];
    expect(maps).toHaveLength(12);
    for (const map of maps) {
      expect(map).toHaveLength(64);
      expect(map.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4); // renormalised over image tokens
    }
    const perHead = detail.arrays.per_head as number[][][];
    expect([perHead.length, perHead[0].length, perHead[0][0].length]).toEqual([12, 4, 64]);
    expect(detail.metrics.filter((m) => m.name === 'entropy')).toHaveLength(12);
  });

  it('contrast with layers left out reads them off the sweep; sampleDetail has ca, pre and final', async () => {
    const job = await app.ok('startRun', {
      kind: 'contrast',
      modelId,
      datasetId,
      limit: 2,
      config: { methods: ['mask'], maxNewTokens: 2 },
    });
    const done = await app.finished(job.jobId);
    expect(done).toMatchObject({ outcome: 'done', error: null });
    const sweep = await app.ok('runSummary', { runId: sweepRun });
    if (sweep.kind !== 'sweep') throw new Error('expected a sweep summary');
    const [run] = await app.ok('listRuns', { kind: 'contrast' });
    expect(run.config).toMatchObject(layersFromSweep(sweep.summary.labels, 12));
    const { samples } = await app.ok('runSamples', { runId: run.id });
    const detail = await app.ok('sampleDetail', { runId: run.id, itemId: samples[0].itemId });
    const [ca, pre, final] = ['ca', 'pre', 'final'].map((name) => detail.arrays[name] as number[]);
    expect([ca.length, pre.length, final.length]).toEqual([64, 64, 64]);
    ca.forEach((v, i) => expect(v).toBeCloseTo(final[i] - pre[i], 6));
    const summary = await app.ok('runSummary', { runId: run.id });
    expect(summary.kind).toBe('contrast');
  });

  it('cancel: a queued job is dropped, a running one stops resumable; resumeRun finishes the same run', async () => {
    const long = await app.ok('startRun', {
      kind: 'sweep',
      modelId,
      datasetId,
      limit: 60,
      config: { mode: 'knockout', maxNewTokens: 1 },
    });
    const queued = await app.ok('startRun', { kind: 'eval', modelId, datasetId, limit: 2, config: {} });
    expect(queued.state).toBe('queued');
    expect(await app.ok('cancelJob', { jobId: queued.jobId })).toMatchObject({
      state: 'finished',
      outcome: 'cancelled',
      runId: null,
    });
    const started = await app.event(
      (e): e is Extract<ApiEvent, { type: 'progress' }> => e.type === 'progress' && e.jobId === long.jobId,
    );
    const runId = started.progress.runId;
    const busy = await app.fails('deleteRun', { runId });
    expect(busy.code).toBe('BUSY');
    expect((await app.fails('resumeRun', { runId })).code).toBe('BUSY');
    await app.ok('cancelJob', { jobId: long.jobId });
    const cancelled = await app.finished(long.jobId);
    expect(cancelled).toMatchObject({ outcome: 'cancelled', runId });
    const [stopped] = await app.ok('listRuns', { kind: 'sweep' });
    expect(stopped).toMatchObject({ id: runId, status: 'cancelled' });
    expect(stopped.done).toBeLessThan(60);

    const resumed = await app.ok('resumeRun', { runId });
    expect(resumed.runId).toBe(runId);
    const finished = await app.finished(resumed.jobId);
    expect(finished).toMatchObject({ outcome: 'done', runId, done: 60, total: 60 });
    const samples = await app.ok('runSamples', { runId, limit: 1000 });
    expect(new Set(samples.samples.map((s) => s.itemId)).size).toBe(60);
    expect(await app.ok('listJobs', {})).toEqual(
      expect.arrayContaining([expect.objectContaining({ jobId: resumed.jobId, outcome: 'done' })]),
    );

    expect(await app.ok('deleteRun', { runId })).toEqual({ deleted: true });
    expect((await app.fails('runSummary', { runId })).code).toBe('NOT_FOUND');
    expect((await app.ok('listRuns', {})).map((r) => r.id)).not.toContain(runId);
  });
});

describe('hostile and mistaken calls', () => {
  it('are refused with a code and a message naming the problem, and the backend keeps working', async () => {
    const cases: Array<[unknown, unknown, string, RegExp]> = [
      ['dropTables', {}, 'BAD_REQUEST', /unknown API method "dropTables"/],
      [undefined, undefined, 'BAD_REQUEST', /unknown API method/],
      ['listModels', { extra: 1 }, 'BAD_REQUEST', /extra/],
      ['runSummary', { runId: '1' }, 'BAD_REQUEST', /runId/],
      ['runSummary', { runId: -1 }, 'BAD_REQUEST', /runId/],
      ['runSummary', { runId: 1.5 }, 'BAD_REQUEST', /runId/],
      ['runSummary', { runId: 999_999 }, 'NOT_FOUND', /999999/],
      ['sampleDetail', { runId: 999_999, itemId: 'x' }, 'NOT_FOUND', /999999/],
      ['cancelJob', { jobId: 4242 }, 'NOT_FOUND', /4242/],
      ['closeModel', { modelId: '/no/such/model' }, 'NOT_FOUND', /\/no\/such\/model/],
      ['datasetItems', { datasetId: '/no/such/data' }, 'NOT_FOUND', /\/no\/such\/data/],
      ['exportFigure', { svg: '<svg/>', format: 'exe', name: 'x' }, 'BAD_REQUEST', /format/],
      ['exportFigure', { svg: '<svg/>', format: 'svg', name: '../x' }, 'BAD_REQUEST', /name/],
      // Queue URLs: the shape at the boundary, then what the engine's parser cannot read, by name.
      ['listWorkers', {}, 'BAD_REQUEST', /queue/],
      ['listWorkers', { queue: 'redis://127.0.0.1:6379', as: 'admin' }, 'BAD_REQUEST', /"as"/],
      ['listWorkers', { queue: 'not a url' }, 'BAD_REQUEST', /queue: a redis:\/\/ or rediss:\/\/ URL/],
      ['listWorkers', { queue: 'http://127.0.0.1:6379' }, 'BAD_REQUEST', /redis:\/\/ or rediss:\/\//],
      ['listWorkers', { queue: 'redis://host\n:6379' }, 'BAD_REQUEST', /printable ASCII/],
      ['listWorkers', { queue: `redis://${'a'.repeat(3000)}` }, 'BAD_REQUEST', /2048/],
      [
        'listWorkers',
        { queue: 'redis://127.0.0.1:6379/db' },
        'BAD_ARGUMENT',
        /database "db" is not a number/,
      ],
      ['listWorkers', { queue: 'rediss://h:6379?tls=0' }, 'BAD_ARGUMENT', /query and fragment are not read/],
      ['listWorkers', { queue: 'redis://h:99999' }, 'BAD_ARGUMENT', /not a URL/],
      ['startRun', { kind: 'eval', modelId, datasetId, queue: 'file:///etc/passwd' }, 'BAD_REQUEST', /queue/],
      ['startRun', { kind: 'eval', modelId, datasetId, queue: 7 }, 'BAD_REQUEST', /queue/],
      [
        'startRun',
        { kind: 'eval', modelId, datasetId, queue: 'redis://u:%zz@h' },
        'BAD_ARGUMENT',
        /percent-encoding/,
      ],
    ];
    for (const [method, params, code, message] of cases) {
      const error = await app.fails(method, params);
      expect(error.code, `${String(method)} ${JSON.stringify(params)}`).toBe(code);
      expect(error.message).toMatch(message);
    }
    const start = (config: object, extra: object = {}) =>
      app.fails('startRun', { kind: 'contrast', modelId, datasetId, limit: 1, config, ...extra });
    expect(await start({ candidateLayers: [100_000], reviewLayer: 1 })).toMatchObject({
      code: 'BAD_REQUEST',
    });
    expect(await start({ candidateLayers: [1000], reviewLayer: 1 })).toMatchObject({
      code: 'BAD_ARGUMENT',
      message: expect.stringMatching(/within 0\.\.11.*1000/),
    });
    expect(await start({ candidateLayers: [1], reviewLayer: 900 })).toMatchObject({ code: 'BAD_ARGUMENT' });
    expect(await start({}, { modelId: '/no/model' })).toMatchObject({
      code: 'NOT_FOUND',
      message: expect.stringContaining('/no/model'),
    });
    expect(await start({}, { itemIds: ['test-000001', 'no-such-item'], limit: undefined })).toMatchObject({
      code: 'BAD_ARGUMENT',
      message: expect.stringContaining('"no-such-item"'),
    });
    expect(
      await app.fails('startRun', {
        kind: 'sweep',
        modelId,
        datasetId,
        config: { mode: 'hidden', window: 13 },
      }),
    ).toMatchObject({ code: 'BAD_ARGUMENT', message: expect.stringMatching(/1\.\.12/) });
    expect(await app.ok('listModels', {})).toHaveLength(1);
  });

  it('serves only files under the served folders', async () => {
    const image = (await app.ok('datasetItems', { datasetId, limit: 1 })).items[0].imagePath;
    expect(await app.backend.resolveServedFile(image)).toBe(image);
    const workspace = (await app.ok('appInfo', {})).workspace;
    await writeFile(join(workspace, 'inside.txt'), 'ok');
    expect(await app.backend.resolveServedFile(join(workspace, 'inside.txt'))).toBe(
      join(workspace, 'inside.txt'),
    );
    await symlink(join(root, '..'), join(workspace, 'escape'));
    await writeFile(join(root, 'secret.txt'), 'secret');
    await symlink(join(root, 'secret.txt'), join(workspace, 'secret-link.txt'));
    const refused: Array<[string, string, RegExp]> = [
      [`${dirname(image)}/../../../../../package.json`, 'FORBIDDEN', /\.\./],
      ['package.json', 'FORBIDDEN', /absolute/],
      [`${image}\0.png`, 'FORBIDDEN', /NUL/],
      ['/etc/passwd', 'FORBIDDEN', /outside/],
      [join(workspace, 'secret-link.txt'), 'FORBIDDEN', /symbolic link/],
      [join(workspace, 'escape', basename(root), 'secret.txt'), 'FORBIDDEN', /symbolic link/],
      [join(workspace, 'missing.png'), 'NOT_FOUND', /missing\.png/],
      [workspace, 'FORBIDDEN', /not a regular file/],
    ];
    for (const [path, code, message] of refused) {
      const error = (await app.backend.resolveServedFile(path).then(
        () => new Error(`served ${path}`),
        (e: unknown) => e,
      )) as FusionError;
      expect(error.code, path).toBe(code);
      expect(error.message).toMatch(message);
    }
  });
});

describe('exports', () => {
  const SVG =
    '<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="120" height="80" viewBox="0 0 120 80">' +
    '<rect width="120" height="80" fill="#36a"/><text x="10" y="40" font-family="sans-serif">Fusion</text></svg>';
  const bytes = (base64: string) => Buffer.from(base64, 'base64');

  it('exportFigure: SVG round trip, PNG at the chosen scale, one-page vector PDF', async () => {
    const svg = await app.ok('exportFigure', { svg: SVG, format: 'svg', name: 'curve' });
    expect(svg).toMatchObject({ fileName: 'curve.svg', mime: 'image/svg+xml' });
    expect(bytes(svg.base64).toString('utf8')).toBe(SVG);
    for (const scale of [1, 4] as const) {
      const png = bytes(
        (await app.ok('exportFigure', { svg: SVG, format: 'png', scale, name: 'curve' })).base64,
      );
      expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
      expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([120 * scale, 80 * scale]);
    }
    const pdf = await app.ok('exportFigure', { svg: SVG, format: 'pdf', name: 'curve' });
    expect(pdf).toMatchObject({ fileName: 'curve.pdf', mime: 'application/pdf' });
    const text = bytes(pdf.base64).toString('latin1');
    expect(text.startsWith('%PDF-')).toBe(true);
    expect(text.match(/\/Type\s*\/Page(?!s)/g)).toHaveLength(1);
    expect(text).toMatch(/\/MediaBox\s*\[\s*0 0 120 80\s*\]/);
    expect(text).toMatch(/\/BaseFont\s*\/\w*\+?DejaVuSans/); // the bundled font, embedded
    expect(text).not.toMatch(/\/Subtype\s*\/Image/); // vector: no raster inside
  });

  it('exportFigure saves and renders only the inert part of an SVG; refuses DTDs and non-SVG', async () => {
    const hostile = [
      SVG.replace('</svg>', '<script>alert(1)</script></svg>'),
      SVG.replace('<rect', '<rect onclick="alert(1)"'),
      SVG.replace('</svg>', '<foreignObject><div/></foreignObject></svg>'),
      SVG.replace('</svg>', '<image href="https://example.com/x.png"/></svg>'),
      SVG.replace('fill="#36a"', 'fill="#36a" style="stroke:url(http://example.com/p)"'),
      // The bypasses of the old pattern check: animation elements that set a link to javascript:.
      SVG.replace(
        '</svg>',
        '<a><set attributeName="href" to="javascript:alert(1)"/><text>x</text></a></svg>',
      ),
      SVG.replace('</svg>', '<animate attributeName="href" values="javascript:alert(1)"/></svg>'),
    ];
    for (const svg of hostile) {
      const saved = bytes((await app.ok('exportFigure', { svg, format: 'svg', name: 'fig' })).base64);
      expect(saved.toString('utf8')).toBe(SVG);
      const png = bytes((await app.ok('exportFigure', { svg, format: 'png', scale: 1, name: 'fig' })).base64);
      expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([120, 80]);
    }
    const refused = [
      ['<!DOCTYPE svg [<!ENTITY x "y">]>' + SVG.slice(SVG.indexOf('<svg')), /DOCTYPE/],
      ['<html><svg/></html>', /root element/],
    ] as const;
    for (const [svg, why] of refused) {
      const error = await app.fails('exportFigure', { svg, format: 'png', name: 'bad' });
      expect(error.code).toBe('BAD_ARGUMENT');
      expect(error.message).toMatch(why);
    }
  });

  it('exportRunData and exportReport: CSV, JSON and a zip of the report files', async () => {
    const [run] = await app.ok('listRuns', { kind: 'sweep' });
    const csv = bytes((await app.ok('exportRunData', { runId: run.id, format: 'csv' })).base64).toString();
    const lines = csv.trim().split('\r\n');
    expect(lines[0]).toBe('item_id,status,error,duration_ms,baselineAnswer,baselineScore,maskedAnswers');
    expect(lines).toHaveLength(1 + run.total);
    const json = JSON.parse(
      bytes((await app.ok('exportRunData', { runId: run.id, format: 'json' })).base64).toString(),
    );
    expect(json.summary.kind).toBe('sweep');
    expect(json.samples).toHaveLength(run.total);

    const report = await app.ok('exportReport', { runId: run.id });
    expect(report).toMatchObject({ fileName: `run-${run.id}-report.zip`, mime: 'application/zip' });
    const entries = readZip(bytes(report.base64));
    const names = entries.map((e) => e.name);
    expect(names).toEqual(
      expect.arrayContaining(['report.json', 'fusion-curve.svg', 'fusion-curve.png', 'evolution.csv']),
    );
    const summary = JSON.parse(entries.find((e) => e.name === 'report.json')!.data.toString());
    expect(summary.sweep.runId).toBe(run.id);
  });
});

describe('engine worker crash', () => {
  it('fails the running job clearly, keeps what was recorded, and restarts on the next job', async () => {
    const crashy = await session(join(root, 'crash-workspace'), {
      preloadDemo: false,
      engineWorker: new URL('./engineWorker.crash.testing.mjs', import.meta.url),
    });
    try {
      await crashy.ok('importDataset', { path: datasetId });
      await crashy.ok('openModel', { folder: modelId });
      const job = await crashy.ok('startRun', {
        kind: 'eval',
        modelId,
        datasetId,
        limit: 4,
        config: { promptSuffix: CRASH_MARKER, maxNewTokens: 1 },
      });
      const failed = await crashy.finished(job.jobId);
      expect(failed.outcome).toBe('failed');
      expect(failed.error).toMatch(/engine worker stopped unexpectedly \(exit code 70\)/);
      const [run] = await crashy.ok('listRuns', {});
      expect(run).toMatchObject({ id: failed.runId, status: 'failed' });
      expect(run.done).toBeGreaterThanOrEqual(1);
      const recorded = run.done;

      const resumed = await crashy.ok('resumeRun', { runId: run.id });
      const done = await crashy.finished(resumed.jobId);
      expect(done).toMatchObject({ outcome: 'done', runId: run.id, done: 4 });
      const first = crashy.events.find((e) => e.type === 'progress' && e.jobId === resumed.jobId);
      expect(first).toMatchObject({ progress: { done: recorded, itemId: null } }); // nothing recomputed

      // close() with a job running: the run is cancelled, not left 'running', and stays resumable.
      const long = await crashy.ok('startRun', {
        kind: 'sweep',
        modelId,
        datasetId,
        limit: 60,
        config: { mode: 'knockout', maxNewTokens: 1 },
      });
      const started = await crashy.event(
        (e): e is Extract<ApiEvent, { type: 'progress' }> => e.type === 'progress' && e.jobId === long.jobId,
      );
      await crashy.backend.close();
      const workspace = Workspace.open(join(root, 'crash-workspace'));
      try {
        expect(workspace.getRun(started.progress.runId).status).toBe('cancelled');
      } finally {
        workspace.close();
      }
      expect(await crashy.fails('listModels', {})).toMatchObject({
        message: expect.stringMatching(/closed/),
      });
    } finally {
      await crashy.backend.close();
    }
  });
});

describe('jsonSafe', () => {
  it('turns non-finite numbers into null and typed arrays into arrays, as JSON transports would', () => {
    const value = { mean: NaN, top: Infinity, data: new Float32Array([0.5, NaN]), rows: [{ n: -Infinity }] };
    expect(jsonSafe(value)).toEqual({ mean: null, top: null, data: [0.5, null], rows: [{ n: null }] });
  });
});

describe('restart', () => {
  it('lists the datasets runs refer to, and resumeRun opens the model it needs', async () => {
    // The workspace the crash test left: its cancelled sweep, and no record of imported datasets.
    const workspace = join(root, 'crash-workspace');
    await rm(join(workspace, 'app', 'datasets.json'), { force: true });
    const again = await session(workspace, { preloadDemo: false });
    try {
      expect(await again.ok('listModels', {})).toEqual([]);
      const datasets = await again.ok('listDatasets', {});
      expect(datasets).toEqual([expect.objectContaining({ id: datasetId, itemCount: 400, isDemo: true })]);
      const [run] = await again.ok('listRuns', { kind: 'sweep' });
      expect(run.status).toBe('cancelled');
      const job = await again.ok('resumeRun', { runId: run.id });
      expect(await again.finished(job.jobId)).toMatchObject({ outcome: 'done', runId: run.id, done: 60 });
      expect((await again.ok('listModels', {})).map((m) => m.id)).toEqual([modelId]);
    } finally {
      await again.backend.close();
    }
  });
});

/** Reads a store-only zip through its central directory, checking each entry's CRC-32. */
function readZip(zip: Buffer): Array<{ name: string; data: Buffer }> {
  const end = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  const count = zip.readUInt16LE(end + 10);
  let at = zip.readUInt32LE(end + 16);
  const entries: Array<{ name: string; data: Buffer }> = [];
  for (let i = 0; i < count; i++) {
    expect(zip.readUInt32LE(at)).toBe(0x02014b50);
    const crc = zip.readUInt32LE(at + 16);
    const size = zip.readUInt32LE(at + 24);
    const nameLength = zip.readUInt16LE(at + 28);
    const local = zip.readUInt32LE(at + 42);
    const name = zip.subarray(at + 46, at + 46 + nameLength).toString('utf8');
    expect(zip.readUInt32LE(local)).toBe(0x04034b50);
    const start = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
    const data = zip.subarray(start, start + size);
    expect(crc32(data), name).toBe(crc);
    entries.push({ name, data });
    at += 46 + nameLength;
  }
  return entries;
}
