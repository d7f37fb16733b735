/**
 * createBackend: the API handlers over the engine worker, the workspace and the registries; the event
 * stream; the file gate. The main thread only reads (SQLite, dataset files) and routes; every model pass
 * and every rendering runs in the engine worker.
 */
import { join, resolve } from 'node:path';

import packageJson from '../../package.json' with { type: 'json' };
import { validateCall, type ApiEvent, type ApiHandlers } from '../common/api/index.ts';
import { FusionError, errorToResult } from '../common/errors.ts';
import { DEMO_DATASET_DIR, DEMO_MODEL_DIR, DEMO_MULTI_DATASET_DIR } from '../engine/demo.ts';
import { ANALYSES, analysisOf } from '../engine/analyses/registry.ts';
import { compareSweeps } from '../engine/analyses/sweep.ts';
import { selectItems } from '../engine/experiments/experiment.ts';
import { parseQueueAddress } from '../engine/queue/address.ts';
import { Workspace } from '../engine/store/workspace.ts';
import { AppState } from './appState.ts';
import { DatasetRegistry } from './datasets.ts';
import { DEFAULT_ENGINE_WORKER, EngineClient } from './engineClient.ts';
import { exportFigure, exportReport, exportRunData } from './exports.ts';
import { JobQueue } from './jobs.ts';
import { jsonSafe } from './jsonSafe.ts';
import { ModelRegistry } from './models.ts';
import { inspectPath } from './pathKind.ts';
import { askImage } from './playground.ts';
import { listQueueWorkers } from './queue.ts';
import { imageLensLayer, requireRun, runSamples, runSummary, sampleDetail } from './reads.ts';
import { RecentItems } from './recentItems.ts';
import { resolveServedFile } from './servedFiles.ts';
import type { Backend, BackendOptions } from './types.ts';
import type { JobExperiment } from './workerProtocol.ts';

type Listener = (event: ApiEvent) => void;

/**
 * Parses the settings through the analysis's schema (the boundary check for the part of startRun the
 * API's own schema leaves open) and checks what can be checked before queueing: layers and tokens
 * within the model, and a run to read left-out settings from (finished, or queued before this one).
 */
function checkStart(
  experiment: JobExperiment,
  model: { layers: number; heads: number; imageTokensPerImage: number | null },
  runAvailable: (kind: string) => boolean,
): JobExperiment {
  const analysis = analysisOf(experiment.kind, 'BAD_REQUEST');
  const config = analysis.parseConfig(experiment.config, 'BAD_REQUEST');
  const needs = analysis.readsFrom(config);
  if (needs !== null && !runAvailable(needs)) {
    throw new FusionError(
      'BAD_ARGUMENT',
      `${analysis.kind} reads the settings left out off a ${needs} run of the same model, and there is none finished or queued: run one first, or give them`,
    );
  }
  analysis.check(config, model);
  return { kind: analysis.kind, config };
}

export async function createBackend(options: BackendOptions): Promise<Backend> {
  const workspace = Workspace.open(options.workspace);
  const state = new AppState(workspace.dir);
  const listeners = new Set<Listener>();
  const emit = (event: ApiEvent): void => {
    const safe = jsonSafe(event);
    for (const listener of listeners) {
      try {
        listener(safe);
      } catch {
        // One transport's failing listener must not stop the others or the job.
      }
    }
  };
  const engine = new EngineClient(
    options.engineWorker ?? DEFAULT_ENGINE_WORKER,
    { workspace: workspace.dir },
    {
      // Events only arrive after a request, so `queue` (declared below) exists by then.
      onEvent: (event) => {
        if (event.type === 'progress') queue.progress(event.jobId, event.progress);
        else if (event.type === 'workers') queue.workers(event.jobId, event.workers, event.unserved);
        else emit(event);
      },
      onCrash: () => {
        // Pending requests (the running job included) were failed with the reason; the next request
        // starts a new worker, which reloads models as jobs need them.
      },
    },
  );
  const queue = new JobQueue(engine, workspace, state, emit);
  const models = new ModelRegistry(engine, {
    provider: options.provider ?? 'auto',
    precision: options.precision ?? 'auto',
  });
  const datasets = new DatasetRegistry(state, workspace);
  const recent = await RecentItems.open(join(workspace.dir, 'app', 'recent.json'));
  const remember = (...args: Parameters<RecentItems['touch']>) =>
    emit({ type: 'recent', recent: recent.touch(...args) });
  const runAvailable = (modelId: string, kind: string) =>
    queue.pending(modelId, kind) ||
    workspace.listRuns({ kind, status: 'done' }).some((run) => run.model.folder === modelId);

  const startupProblems: string[] = [];

  const handlers: ApiHandlers = {
    appInfo: async () => ({
      version: packageJson.version,
      workspace: workspace.dir,
      demoModelFolder: resolve(DEMO_MODEL_DIR),
      demoDatasetPath: resolve(DEMO_DATASET_DIR),
      mode: options.mode,
      startupProblems: [...startupProblems],
    }),

    listModels: () => models.list(),
    openModel: async ({ folder, provider, precision, revision }) => {
      const model = await models.open(folder, { provider, precision, revision });
      // The demo is always open: remembering it would only push a real model off the list.
      if (!model.isDemo) remember('model', { path: model.id, name: model.name });
      return model;
    },
    closeModel: async ({ modelId }) => {
      if (queue.usesModel(modelId)) {
        throw new FusionError('BUSY', `model ${JSON.stringify(modelId)} is used by a queued or running job`);
      }
      return { closed: await models.close(modelId) };
    },

    listDatasets: () => datasets.list(),
    importDataset: async (params) => {
      const view = await datasets.import(params);
      if (!view.isDemo) {
        const { format, answers, images } = datasets.optionsOf(view.id);
        const options = Object.fromEntries(
          Object.entries({ format, answers, images }).filter(([, value]) => value !== undefined),
        );
        remember('dataset', { path: view.id, name: view.name, options });
      }
      return view;
    },
    datasetItems: ({ datasetId, offset, limit, family }) => datasets.items(datasetId, offset, limit, family),

    listAnalyses: async () =>
      ANALYSES.map(({ kind, title, description, fields }) => ({ kind, title, description, fields })),
    startRun: async (params) => {
      // Read first: a queue URL the engine cannot read is refused before any other work (BAD_ARGUMENT).
      const queueAddress = params.queue === undefined ? undefined : parseQueueAddress(params.queue);
      analysisOf(params.kind, 'BAD_REQUEST');
      const model = await models.get(params.modelId);
      const known = await datasets.get(params.datasetId);
      const items = selectItems(known.dataset.items, params);
      const experiment = checkStart(params, model, (kind) => runAvailable(model.id, kind));
      const datasetOptions = datasets.optionsOf(known.view.id);
      return queue.add({
        kind: params.kind,
        modelId: model.id,
        datasetId: known.view.id,
        total: items.length,
        target: {
          folder: model.id,
          ...models.loadOf(model.id),
          dataset: known.view.id,
          datasetOptions,
          limit: params.limit,
          itemIds: params.itemIds,
        },
        experiment,
        selection: { datasetOptions, limit: params.limit, itemIds: params.itemIds },
        ...(queueAddress ? { queue: queueAddress } : {}),
      });
    },
    listJobs: async () => queue.list(),
    listWorkers: async ({ queue: url }) => listQueueWorkers(parseQueueAddress(url)),
    cancelJob: async ({ jobId }) => queue.cancel(jobId),

    listRuns: async ({ kind, modelId }) =>
      workspace.listRuns({ kind }).filter((run) => modelId === undefined || run.model.folder === modelId),
    resumeRun: async ({ runId, queue: url }) => {
      const queueAddress = url === undefined ? undefined : parseQueueAddress(url);
      const run = requireRun(workspace, runId);
      if (queue.usesRun(runId) || run.status === 'running') {
        throw new FusionError('BUSY', `run ${runId} is already running or queued`);
      }
      const model = models.has(run.model.folder)
        ? await models.get(run.model.folder)
        : await models.open(run.model.folder);
      const known = await datasets.forRun(run);
      const saved = state.runSelection(runId);
      // Runs made elsewhere (the CLI) record no selection: its first `total` items, as --limit takes.
      const selection = saved ?? {
        datasetOptions: datasets.optionsOf(run.dataset.path),
        limit: run.total < known.dataset.items.length ? run.total : undefined,
      };
      return queue.add({
        kind: run.kind,
        modelId: model.id,
        datasetId: run.dataset.path,
        total: run.total,
        target: {
          folder: model.id,
          ...models.loadOf(model.id),
          dataset: run.dataset.path,
          datasetOptions: selection.datasetOptions,
          limit: selection.limit,
          itemIds: selection.itemIds,
        },
        experiment: { kind: run.kind, config: run.config },
        resume: runId,
        selection,
        ...(queueAddress ? { queue: queueAddress } : {}),
      });
    },
    deleteRun: async ({ runId }) => {
      const run = requireRun(workspace, runId);
      if (queue.usesRun(runId) || run.status === 'running') {
        throw new FusionError('BUSY', `run ${runId} is running or queued: cancel its job before deleting it`);
      }
      const deleted = workspace.deleteRun(runId);
      state.deleteRunSelection(runId);
      return { deleted };
    },
    runSummary: (params) => runSummary(workspace, datasets, params),
    compareSweeps: async ({ runIds, metric }) => {
      for (const id of runIds) requireRun(workspace, id);
      return compareSweeps(workspace, runIds, metric);
    },
    runSamples: (params) => runSamples(workspace, datasets, params),
    sampleDetail: (params) => sampleDetail(workspace, datasets, engine, params),
    imageLensLayer: (params) => imageLensLayer(workspace, datasets, engine, params),

    exportFigure: (params) => exportFigure(engine, params),
    exportRunData: async (params) => exportRunData(workspace, params),
    exportReport: (params) => exportReport(workspace, engine, params),

    askImage: (params) => askImage(engine, models, params),

    listRecent: async () => recent.view(),
    forgetRecent: async ({ kind, path }) => {
      if (kind === 'dataset') {
        if (path === resolve(DEMO_DATASET_DIR))
          throw new FusionError('BAD_ARGUMENT', 'the demo dataset is always available; it cannot be removed');
        datasets.forget(path);
      }
      recent.forget(kind, path);
      const view = recent.view();
      emit({ type: 'recent', recent: view });
      return view;
    },
    inspectPath: ({ path }) => inspectPath(path),
  };

  // Every handler's value is made JSON-safe, whether reached through call() or directly.
  const safeHandlers = Object.fromEntries(
    Object.entries(handlers).map(([method, handler]) => [
      method,
      async (params: unknown) => jsonSafe(await (handler as (p: unknown) => Promise<unknown>)(params)),
    ]),
  ) as ApiHandlers;

  if (options.preloadDemo ?? true) {
    // The model loads in the background (listModels waits for it); the dataset import is quick.
    models.open(options.demoModelFolder ?? DEMO_MODEL_DIR).catch((error: unknown) => {
      // listModels leaves a failed load out; appInfo carries the reason so the UI can show it.
      const problem = `the demo model did not load: ${(error as Error).message}`;
      startupProblems.push(problem);
      console.error(`FusionScope: ${problem}`);
    });
    await datasets.import({ path: DEMO_DATASET_DIR });
    // Several questions per image, for question contrast; the test split stays the one selected.
    await datasets.import({ path: DEMO_MULTI_DATASET_DIR });
  }

  let closed = false;
  return {
    handlers: safeHandlers,
    async call(method, params) {
      try {
        if (closed) throw new FusionError('INTERNAL', 'the backend is closed');
        const call = validateCall(method, params);
        const handler = safeHandlers[call.method] as (p: unknown) => Promise<unknown>;
        return { ok: true, value: await handler(call.params) };
      } catch (error) {
        return errorToResult(error);
      }
    },
    onEvent(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async resolveServedFile(path) {
      const roots = [workspace.dir, ...models.folders(), ...(await datasets.folders())];
      return resolveServedFile(path, roots);
    },
    async close() {
      if (closed) return;
      closed = true;
      await queue.close();
      await models.settled();
      await engine.close();
      workspace.close();
    },
  };
}
