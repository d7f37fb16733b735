/**
 * The workspace's runs (newest first) and cached reads of their results. Refreshes itself whenever a
 * job changes state, and forgets a run's cached summaries/details when its job finishes (a resumed
 * run gains samples).
 */
import { defineStore } from 'pinia';
import { ref } from 'vue';

import type {
  ApiParamsIn,
  ImageLensLayerView,
  JobView,
  RunSummaryView,
  SampleDetail,
  SamplePage,
} from '../../../main/common/api/index.ts';
import type { RunKind, RunRow } from '../../../main/common/runs.ts';
import { useTransport } from '../api/index.ts';
import { useJobsStore } from './jobs.ts';

export type SummaryOptions = Omit<ApiParamsIn<'runSummary'>, 'runId'>;

const REFRESH_DELAY_MS = 150;

export const useRunsStore = defineStore('runs', () => {
  const transport = useTransport();
  const jobs = useJobsStore();
  const runs = ref<RunRow[]>([]);
  /** The run the user last picked (Runs table, or a view showing one); the menu's "Export report" uses it. */
  const selectedId = ref<number | null>(null);
  const summaries = new Map<string, Promise<RunSummaryView>>();
  const details = new Map<string, Promise<SampleDetail>>();
  const lensLayers = new Map<string, Promise<ImageLensLayerView>>();

  function forget(runId: number): void {
    for (const cache of [summaries, details, lensLayers]) {
      for (const key of cache.keys()) if (key.startsWith(`${runId}|`)) cache.delete(key);
    }
  }

  async function refresh(): Promise<void> {
    const rows = await transport.call('listRuns', {});
    runs.value = [...rows].sort((a, b) => b.createdAt - a.createdAt || b.id - a.id);
  }

  let pending: ReturnType<typeof setTimeout> | undefined;
  function refreshSoon(): void {
    clearTimeout(pending);
    pending = setTimeout(() => void refresh().catch(() => undefined), REFRESH_DELAY_MS);
  }

  transport.onEvent((event) => {
    if (event.type !== 'job') return;
    if (event.job.runId !== null) forget(event.job.runId);
    refreshSoon();
  });

  /** The newest finished ('done') run of this kind for the model (and dataset, when given). */
  function latest(kind: RunKind, modelId: string, datasetId?: string): RunRow | undefined {
    return runs.value.find(
      (run) =>
        run.kind === kind &&
        run.status === 'done' &&
        run.model.folder === modelId &&
        (datasetId === undefined || run.dataset.path === datasetId),
    );
  }

  function cached<T>(cache: Map<string, Promise<T>>, key: string, load: () => Promise<T>): Promise<T> {
    let promise = cache.get(key);
    if (!promise) {
      promise = load();
      cache.set(key, promise);
      // A failed read is not remembered: the next call asks again.
      promise.catch(() => cache.delete(key));
    }
    return promise;
  }

  function summary(runId: number, options: SummaryOptions = {}): Promise<RunSummaryView> {
    const key = `${runId}|${JSON.stringify(options)}`;
    return cached(summaries, key, () => transport.call('runSummary', { runId, ...options }));
  }

  function samples(runId: number, offset = 0, limit = 100): Promise<SamplePage> {
    return transport.call('runSamples', { runId, offset, limit });
  }

  function detail(runId: number, itemId: string): Promise<SampleDetail> {
    return cached(details, `${runId}|${itemId}`, () => transport.call('sampleDetail', { runId, itemId }));
  }

  /** One recorded layer of an image-lens sample, its tokens placed on the image. */
  function lensLayer(runId: number, itemId: string, layer: number): Promise<ImageLensLayerView> {
    return cached(lensLayers, `${runId}|${itemId}|${layer}`, () =>
      transport.call('imageLensLayer', { runId, itemId, layer }),
    );
  }

  async function remove(runId: number): Promise<void> {
    await transport.call('deleteRun', { runId });
    forget(runId);
    runs.value = runs.value.filter((run) => run.id !== runId);
  }

  async function resume(runId: number): Promise<JobView> {
    const job = await transport.call('resumeRun', { runId });
    jobs.upsert(job);
    forget(runId);
    refreshSoon();
    return job;
  }

  /** Exports a run's report (zip) or its data and saves it; resolves to where it went (null: cancelled). */
  async function exportReport(runId: number): Promise<string | null> {
    return transport.saveFile(await transport.call('exportReport', { runId }));
  }

  async function exportData(runId: number, format: 'csv' | 'json'): Promise<string | null> {
    return transport.saveFile(await transport.call('exportRunData', { runId, format }));
  }

  return {
    runs,
    selectedId,
    refresh,
    latest,
    summary,
    samples,
    detail,
    lensLayer,
    remove,
    resume,
    exportReport,
    exportData,
  };
});
