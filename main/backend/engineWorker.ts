/**
 * The engine worker: owns the loaded models and runs jobs one at a time, off the thread that serves the
 * app. Also does the other CPU-heavy work (image geometry, figure rendering, reports) so the main thread
 * only reads the workspace. Started by engineClient.ts; speaks only workerProtocol.ts.
 *
 * The backend sends one job at a time; the worker still keeps a map of running jobs so a cancel finds
 * its AbortController and closeModel can refuse a model in use.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';

import { FusionError, errorToResult, type Result } from '../common/errors.ts';
import { displayCells, imageTokenLayout } from '../engine/analysis/imageTokens.ts';
import { runExperiment } from '../engine/experiments/experiment.ts';
import { loadImage, preprocessImage } from '../engine/image/index.ts';
import { openModel, type LoadedModel } from '../engine/model/openModel.ts';
import { askImage } from '../engine/playground/askImage.ts';
import { svgToPng } from '../engine/report/svgToPng.ts';
import { writeReport } from '../engine/report/writeReport.ts';
import { Workspace } from '../engine/store/workspace.ts';
import { describeModel, type DescribedModel } from './describeModel.ts';
import { svgToPdf } from './pdf.ts';
import { workerView } from './queue.ts';
import type {
  FromWorker,
  RequestOf,
  RequestType,
  ToWorker,
  WorkerEvent,
  WorkerInit,
  WorkerRequest,
  WorkerResults,
} from './workerProtocol.ts';
import { zipFolder } from './zip.ts';

/**
 * The engine computes beside the UI (this worker, the main thread, the renderer): its ONNX Runtime
 * runs leave one core free, so a click is answered while a sweep runs even on a 2-core machine.
 */
const ENGINE_THREADS = Math.max(1, availableParallelism() - 1);

if (!parentPort) throw new Error('engineWorker.ts must run in a worker thread');
const port = parentPort;
const init = workerData as WorkerInit;
const workspace = Workspace.open(init.workspace);

const models = new Map<string, Promise<LoadedModel>>();
const described = new Map<string, Promise<DescribedModel>>();
const running = new Map<number, { controller: AbortController; folder: string }>();
/** Playground questions in flight, per model folder (closing a model under one would free its sessions). */
const asking = new Map<string, number>();

function post(message: FromWorker): void {
  port.postMessage(message);
}

function emit(event: WorkerEvent): void {
  post({ kind: 'event', event });
}

function loadedModel(
  folder: string,
  { provider, precision, revision }: Pick<RequestOf<'openModel'>, 'provider' | 'precision' | 'revision'>,
): Promise<LoadedModel> {
  let pending = models.get(folder);
  if (!pending) {
    pending = openModel(folder, {
      provider,
      precision,
      revision,
      threads: ENGINE_THREADS,
      onProgress: (done, total, label) => emit({ type: 'model-loading', folder, done, total, label }),
    });
    models.set(folder, pending);
    pending.catch(() => models.delete(folder));
  }
  return pending;
}

/** A model's spec and image processor without its weights (for geometry and reports). */
function modelDescription(folder: string, info: unknown): Promise<DescribedModel> {
  let pending = described.get(folder);
  if (!pending) {
    pending = describeModel(folder, info);
    described.set(folder, pending);
    pending.catch(() => described.delete(folder));
  }
  return pending;
}

type Handlers = { [T in RequestType]: (request: RequestOf<T>) => Promise<WorkerResults[T]> };

const handlers: Handlers = {
  async openModel({ folder, provider, precision, revision }) {
    const model = await loadedModel(folder, { provider, precision, revision });
    const { layers, heads, hiddenSize } = model.spec.decoder;
    return { info: model.info(), layers, heads, hiddenSize };
  },

  async closeModel({ folder }) {
    const pending = models.get(folder);
    if (!pending) return { closed: false };
    if ([...running.values()].some((job) => job.folder === folder)) {
      throw new FusionError('BUSY', `model ${JSON.stringify(folder)} is used by a running job`);
    }
    if (asking.has(folder)) {
      throw new FusionError('BUSY', `model ${JSON.stringify(folder)} is answering a Playground question`);
    }
    models.delete(folder);
    await (await pending).close();
    return { closed: true };
  },

  async runJob({ jobId, target, experiment, resume, queue }) {
    const controller = new AbortController();
    running.set(jobId, { controller, folder: target.folder });
    try {
      const model = await loadedModel(target.folder, target);
      const outcome = await runExperiment(
        {
          model,
          workspace,
          dataset: target.dataset,
          datasetOptions: target.datasetOptions,
          limit: target.limit,
          itemIds: target.itemIds,
        },
        experiment,
        {
          resume,
          signal: controller.signal,
          onProgress: (progress) => emit({ type: 'progress', jobId, progress }),
          ...(queue
            ? {
                queue: {
                  address: queue,
                  onWorkers: (workers, unserved) =>
                    emit({ type: 'workers', jobId, workers: workers.map(workerView), unserved }),
                },
              }
            : {}),
        },
      );
      return { runId: outcome.runId, status: outcome.status };
    } finally {
      running.delete(jobId);
    }
  },

  async imageGeometry({ folder, imagePath, info }) {
    const model = await modelDescription(folder, info);
    const image = await loadImage(imagePath);
    // As the run prepared it (analyses/samples.ts: no padding to a square), so tokenRects match the stored [layer][token].
    const layout = displayCells(
      imageTokenLayout(model.spec, preprocessImage(image, model.imageConfig), model.imageConfig),
    );
    const grid = layout.grids[0];
    return {
      width: image.width,
      height: image.height,
      tokenRects: [...layout.rects],
      grid: grid ? { rows: grid.rows, cols: grid.cols } : null,
    };
  },

  async askImage({ folder, provider, precision, revision, image, name, question, maxNewTokens, mask }) {
    asking.set(folder, (asking.get(folder) ?? 0) + 1);
    try {
      const model = await loadedModel(folder, { provider, precision, revision });
      return await askImage(model, { image, name, question, maxNewTokens, mask });
    } finally {
      const left = (asking.get(folder) ?? 1) - 1;
      if (left > 0) asking.set(folder, left);
      else asking.delete(folder);
    }
  },

  async renderFigure({ svg, format, scale, size }) {
    return format === 'png' ? svgToPng(svg, { scale }) : svgToPdf(svg, size);
  },

  async report({ runId }) {
    const run = workspace.getRun(runId);
    const model = await modelDescription(run.model.folder, run.model.info);
    const temp = await mkdtemp(join(tmpdir(), 'fusionscope-report-'));
    try {
      const outDir = join(temp, 'report');
      const files = await writeReport(workspace, model, outDir, { run });
      return { files, zip: await zipFolder(outDir, files) };
    } finally {
      await rm(temp, { recursive: true, force: true });
    }
  },
};

async function handle(request: WorkerRequest): Promise<Result<unknown>> {
  try {
    const handler = handlers[request.type] as (r: WorkerRequest) => Promise<unknown>;
    return { ok: true, value: await handler(request) };
  } catch (error) {
    return errorToResult(error);
  }
}

port.on('message', (message: ToWorker) => {
  if (message.kind === 'cancel') {
    running.get(message.jobId)?.controller.abort(new FusionError('CANCELLED', 'cancelled by the user'));
    return;
  }
  void handle(message.request).then((reply) => post({ kind: 'reply', id: message.id, reply }));
});
