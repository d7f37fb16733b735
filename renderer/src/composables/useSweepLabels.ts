/**
 * The fusion and review layers of a model's newest finished sweep (on one dataset, or on any), for
 * the views that mark them (attention evolution) or start from them (contrastive attention).
 */
import { computed, type Ref } from 'vue';

import type { SweepSummary } from '../../../main/common/analysis.ts';
import { useRunsStore } from '../stores/runs.ts';
import { useAsyncData } from './useAsyncData.ts';

export function useSweepLabels(modelId: Ref<string | null>, datasetId?: Ref<string | null>) {
  const runs = useRunsStore();
  const run = computed(() =>
    modelId.value ? runs.latest('sweep', modelId.value, datasetId?.value ?? undefined) : undefined,
  );
  const summary = useAsyncData(
    () => run.value?.id,
    (id) => (id === undefined ? null : runs.summary(id)),
  );
  const sweep = computed<SweepSummary | null>(() =>
    summary.value.value?.kind === 'sweep' ? summary.value.value.summary : null,
  );
  return {
    run,
    sweep,
    error: summary.error,
    fusionLayers: computed(() => sweep.value?.labels.fusionLayers ?? []),
    reviewLayers: computed(() => sweep.value?.labels.reviewLayers ?? []),
  };
}
