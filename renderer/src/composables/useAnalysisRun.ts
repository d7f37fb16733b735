/**
 * What every analysis view shares: the selected model and dataset (pickers), the run on screen (the
 * URL's ?run=<id>, else the newest finished run of the view's kind), starting a run with the limit
 * field, and the live job computing one for this model and dataset.
 */
import { storeToRefs } from 'pinia';
import { computed, ref, watch } from 'vue';
import { useRoute, useRouter } from 'vue-router';

import type { ApiParamsIn, JobView } from '../../../main/common/api/index.ts';
import type { RunKind } from '../../../main/common/runs.ts';
import { parseLimit, pickRun, queryRunId, runsFor } from '../lib/analysisRuns.ts';
import { useAppStore } from '../stores/app.ts';
import { useDatasetsStore } from '../stores/datasets.ts';
import { useJobsStore } from '../stores/jobs.ts';
import { useModelsStore } from '../stores/models.ts';
import { useRunsStore } from '../stores/runs.ts';

/** Default number of items for a quick look (0 or empty = the whole dataset). */
export const QUICK_LIMIT = '40';

export function useAnalysisRun(kind: RunKind) {
  const route = useRoute();
  const router = useRouter();
  const app = useAppStore();
  const models = useModelsStore();
  const datasets = useDatasetsStore();
  const runsStore = useRunsStore();
  const jobs = useJobsStore();
  const { selectedId: modelId, selected: model } = storeToRefs(models);
  const { selectedId: datasetId, selected: dataset } = storeToRefs(datasets);
  const { runs } = storeToRefs(runsStore);

  const requested = computed(() => queryRunId(route.query.run));
  const run = computed(() => pickRun(runs.value, kind, modelId.value, datasetId.value, requested.value));
  const choices = computed(() => runsFor(runs.value, kind, modelId.value, datasetId.value));

  // A run opened by link shows its own model and dataset in the pickers (once they are open here)...
  watch(
    [run, () => models.models.length, () => datasets.datasets.length],
    ([shown]) => {
      if (!shown || shown.id !== requested.value) return;
      if (models.models.some((m) => m.id === shown.model.folder)) models.select(shown.model.folder);
      if (datasets.datasets.some((d) => d.id === shown.dataset.path)) datasets.select(shown.dataset.path);
    },
    { immediate: true },
  );
  // ...and choosing another model or dataset in the pickers lets go of the link (this watcher runs
  // after the one above in the same flush, so it sees the pickers already synced to a linked run).
  watch([modelId, datasetId], ([model, data]) => {
    const shown = run.value;
    if (!shown || shown.id !== requested.value) return;
    const showable =
      models.models.some((m) => m.id === shown.model.folder) &&
      datasets.datasets.some((d) => d.id === shown.dataset.path);
    if (showable && (shown.model.folder !== model || shown.dataset.path !== data)) showRun(undefined);
  });

  const job = computed<JobView | null>(
    () =>
      jobs.active.find(
        (j) => j.kind === kind && j.modelId === modelId.value && j.datasetId === datasetId.value,
      ) ?? null,
  );
  const progress = computed(() => (job.value ? jobs.progressOf(job.value.jobId) : null));
  const limit = ref<string>(QUICK_LIMIT);
  const starting = ref(false);

  function showRun(id: number | undefined): void {
    const query = { ...route.query };
    if (id === undefined) delete query.run;
    else query.run = String(id);
    void router.replace({ query });
  }

  /** Starts a run of this view's kind; resolves with its job, or null when nothing started. */
  async function start(
    config: Record<string, unknown>,
    options: { itemIds?: string[]; modelId?: string; limit?: string } = {},
  ): Promise<JobView | null> {
    const target = options.modelId ?? modelId.value;
    if (!target || !datasetId.value) {
      app.notify('error', 'Choose a model and a dataset first.');
      return null;
    }
    const parsed = parseLimit(options.limit ?? limit.value);
    if ('error' in parsed) {
      app.notify('error', parsed.error);
      return null;
    }
    starting.value = true;
    try {
      const params = {
        kind,
        modelId: target,
        datasetId: datasetId.value,
        config,
        ...(parsed.limit !== undefined ? { limit: parsed.limit } : {}),
        ...(options.itemIds ? { itemIds: options.itemIds } : {}),
      } as ApiParamsIn<'startRun'>;
      const started = await jobs.start(params);
      // The new run replaces whatever the URL pinned once it finishes.
      if (requested.value !== undefined) showRun(undefined);
      jobs.finished(started.jobId).then(
        (done) => {
          if (done.outcome === 'cancelled')
            app.notify('info', `${kind} run cancelled (it can be resumed from Runs).`);
        },
        (error: unknown) => app.reportError(error),
      );
      return started;
    } catch (error) {
      app.reportError(error);
      return null;
    } finally {
      starting.value = false;
    }
  }

  async function cancel(): Promise<void> {
    if (!job.value) return;
    try {
      await jobs.cancel(job.value.jobId);
    } catch (error) {
      app.reportError(error);
    }
  }

  return {
    modelId,
    datasetId,
    model,
    dataset,
    run,
    choices,
    job,
    progress,
    limit,
    starting,
    start,
    cancel,
    showRun,
  };
}
