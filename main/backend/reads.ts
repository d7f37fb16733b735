/**
 * Reads of recorded runs for the views: summaries (tagged by kind), sample pages joined with their
 * dataset items, one sample with everything needed to draw it on its image, and one layer of an
 * image-lens sample with its tokens placed on the image.
 */
import type {
  ApiParams,
  ImageLensLayerView,
  NestedNumbers,
  RunSummaryView,
  SampleDetail,
  SampleListEntry,
  SamplePage,
} from '../common/api/index.ts';
import { FusionError } from '../common/errors.ts';
import { groupFailures } from '../common/failureReasons.ts';
import type { RunRow, StoredArray } from '../common/runs.ts';
import { storedLensLayer } from '../engine/analyses/imageLensReads.ts';
import { restrictedToItems } from '../engine/analyses/itemScope.ts';
import type { ReadOptions } from '../engine/analyses/analysis.ts';
import { analysisOf } from '../engine/analyses/registry.ts';
import { runOfKind } from '../engine/analyses/runReads.ts';
import type { DatasetItem } from '../engine/datasets/types.ts';
import type { Workspace } from '../engine/store/workspace.ts';
import { itemView, type DatasetRegistry, type KnownDataset } from './datasets.ts';
import type { EngineClient } from './engineClient.ts';
import type { ImageGeometryReply } from './workerProtocol.ts';

export function requireRun(workspace: Workspace, runId: number): RunRow {
  const run = workspace.findRun(runId);
  if (!run) throw new FusionError('NOT_FOUND', `no run ${runId} in this workspace`);
  return run;
}

/** A run's summary through its analysis, tagged by kind, with the same summary as text. */
export function summaryView(reads: Workspace, run: RunRow, options: ReadOptions = {}): RunSummaryView {
  const analysis = analysisOf(run.kind, 'NOT_FOUND');
  const summary = analysis.summarize(reads, run, options);
  // The views know the paper's analyses' summaries by kind; any analysis comes with its text.
  return { kind: run.kind, summary, lines: analysis.describe(summary, run) } as RunSummaryView;
}

export async function runSummary(
  workspace: Workspace,
  datasets: DatasetRegistry,
  params: ApiParams<'runSummary'>,
): Promise<RunSummaryView> {
  const run = requireRun(workspace, params.runId);
  analysisOf(run.kind, 'NOT_FOUND');
  const reads =
    params.family === undefined ? workspace : await familyScope(workspace, datasets, run, params.family);
  return summaryView(reads, run, { metric: params.metric, labels: params.labels });
}

/** The run read as if it held only the items of one question family of its dataset. */
async function familyScope(
  workspace: Workspace,
  datasets: DatasetRegistry,
  run: RunRow,
  family: string,
): Promise<Workspace> {
  const known = await datasets.forRun(run).catch((error: unknown) => {
    throw new FusionError(
      'NOT_FOUND',
      `the dataset of run ${run.id} cannot be read to find its ${JSON.stringify(family)} items: ${(error as Error).message}`,
    );
  });
  const items = new Set(known.dataset.items.filter((item) => item.family === family).map((item) => item.id));
  if (items.size === 0) {
    throw new FusionError(
      'NOT_FOUND',
      `the dataset of run ${run.id} has no question family ${JSON.stringify(family)}`,
    );
  }
  return restrictedToItems(workspace, items);
}

/** The run's dataset, or null when it can no longer be read (samples are still listed). */
async function datasetOf(datasets: DatasetRegistry, run: RunRow): Promise<KnownDataset | null> {
  return datasets.forRun(run).catch(() => null);
}

export async function runSamples(
  workspace: Workspace,
  datasets: DatasetRegistry,
  params: ApiParams<'runSamples'>,
): Promise<SamplePage> {
  const run = requireRun(workspace, params.runId);
  const all = workspace.readSamples(run.id);
  const known = await datasetOf(datasets, run);
  const samples = all.slice(params.offset, params.offset + params.limit).map((s): SampleListEntry => {
    const item = known?.byId.get(s.itemId);
    return {
      itemId: s.itemId,
      status: s.status,
      result: s.result,
      error: s.error,
      durationMs: s.durationMs,
      item: item ? itemView(item) : null,
    };
  });
  const failed = all.filter((s) => s.status === 'error');
  const failures = groupFailures(failed, (id) => known?.byId.get(id)?.imagePath);
  return { total: all.length, offset: params.offset, samples, failures };
}

/** A stored array as nested arrays following its shape (row-major), e.g. [layer][head][token]. */
export function nestedArray(array: StoredArray): NestedNumbers {
  const { shape, data } = array;
  const build = (dim: number, offset: number): NestedNumbers => {
    const length = shape[dim];
    if (dim === shape.length - 1) return Array.from(data.subarray(offset, offset + length));
    const stride = shape.slice(dim + 1).reduce((a, b) => a * b, 1);
    return Array.from({ length }, (_, i) => build(dim + 1, offset + i * stride)) as NestedNumbers;
  };
  return shape.length === 0 ? Array.from(data) : build(0, 0);
}

/** A run's dataset item and its image's geometry as the run's model lays it out. */
async function itemOnImage(
  datasets: DatasetRegistry,
  engine: EngineClient,
  run: RunRow,
  itemId: string,
): Promise<{ item: DatasetItem; geometry: ImageGeometryReply }> {
  const known = await datasets.forRun(run).catch((error: unknown) => {
    throw new FusionError(
      'NOT_FOUND',
      `the dataset of run ${run.id} (${run.dataset.path}) cannot be read: ${(error as Error).message}`,
    );
  });
  const item = known.byId.get(itemId);
  if (!item) {
    throw new FusionError(
      'NOT_FOUND',
      `the dataset of run ${run.id} has no item ${JSON.stringify(itemId)} any more`,
    );
  }
  const geometry = await engine.request({
    type: 'imageGeometry',
    folder: run.model.folder,
    imagePath: item.imagePath,
    info: run.model.info,
  });
  return { item, geometry };
}

export async function sampleDetail(
  workspace: Workspace,
  datasets: DatasetRegistry,
  engine: EngineClient,
  params: ApiParams<'sampleDetail'>,
): Promise<SampleDetail> {
  const run = requireRun(workspace, params.runId);
  const { itemId } = params;
  const sample = workspace.readSamples(run.id).find((s) => s.itemId === itemId);
  if (!sample) {
    throw new FusionError('NOT_FOUND', `run ${run.id} has no sample for item ${JSON.stringify(itemId)}`);
  }
  const { item, geometry } = await itemOnImage(datasets, engine, run, itemId);
  const arrays: Record<string, NestedNumbers> = {};
  for (const name of workspace.arrayNames(run.id, itemId)) {
    const stored = workspace.readArray(run.id, itemId, name);
    if (stored) arrays[name] = nestedArray(stored);
  }
  return {
    runId: run.id,
    kind: run.kind,
    item: itemView(item),
    image: { width: geometry.width, height: geometry.height },
    tokenRects: geometry.tokenRects,
    grid: geometry.grid,
    result: sample.result,
    metrics: workspace.sampleMetrics(run.id, itemId),
    arrays,
  };
}

/** One recorded layer of an image-lens sample: each image token with a rectangle, labelled with its top-1 token. */
export async function imageLensLayer(
  workspace: Workspace,
  datasets: DatasetRegistry,
  engine: EngineClient,
  params: ApiParams<'imageLensLayer'>,
): Promise<ImageLensLayerView> {
  requireRun(workspace, params.runId);
  const run = runOfKind(workspace, params.runId, 'image-lens');
  const { itemId, layer } = params;
  const { result, tokens, probs } = storedLensLayer(workspace, run.id, itemId, layer);
  const { item, geometry } = await itemOnImage(datasets, engine, run, itemId);
  // Display cells are the image tokens themselves, except for learned queries (not drawn here).
  if (result.onImage && geometry.tokenRects.length !== result.tokens) {
    throw new FusionError(
      'NOT_FOUND',
      `the model now lays this image out as ${geometry.tokenRects.length} tokens; run ${run.id} recorded ${result.tokens}`,
    );
  }
  const rects = result.onImage ? geometry.tokenRects : [];
  const cells = rects.flatMap((rect, index) => {
    if (!rect) return [];
    const token = tokens[index];
    return [{ index, rect, token, text: result.texts[String(token)] ?? '', prob: probs[index] }];
  });
  const metrics = workspace.sampleMetrics(run.id, itemId).filter((m) => m.layer === layer);
  return {
    runId: run.id,
    item: itemView(item),
    image: { width: geometry.width, height: geometry.height },
    layer,
    layers: result.layers,
    cells,
    tokens: result.tokens,
    onImage: result.onImage,
    goldToken: result.goldToken,
    goldText: result.goldText,
    metrics: Object.fromEntries(metrics.map((m) => [m.name, m.value])),
  };
}
