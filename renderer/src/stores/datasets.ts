/** Imported datasets (the demo is preloaded), the selected one, and paged access to their items. */
import { defineStore } from 'pinia';
import { computed, ref } from 'vue';

import type { ApiParamsIn, DatasetView, ItemPage } from '../../../main/common/api/index.ts';
import { useTransport } from '../api/index.ts';
import { freshFetch } from '../lib/freshFetch.ts';

export const useDatasetsStore = defineStore('datasets', () => {
  const transport = useTransport();
  const datasets = ref<DatasetView[]>([]);
  const selectedId = ref<string | null>(null);
  const selected = computed(() => datasets.value.find((d) => d.id === selectedId.value) ?? null);
  const fetches = freshFetch();

  async function refresh(): Promise<void> {
    datasets.value = await fetches.latest(() => transport.call('listDatasets', {}));
    if (!datasets.value.some((d) => d.id === selectedId.value)) {
      selectedId.value = (datasets.value.find((d) => d.isDemo) ?? datasets.value[0])?.id ?? null;
    }
  }

  async function importDataset(params: ApiParamsIn<'importDataset'>): Promise<DatasetView> {
    const dataset = await transport.call('importDataset', params);
    fetches.changed();
    datasets.value = [...datasets.value.filter((d) => d.id !== dataset.id), dataset];
    selectedId.value = dataset.id;
    return dataset;
  }

  function select(id: string | null): void {
    selectedId.value = id;
  }

  function items(params: ApiParamsIn<'datasetItems'>): Promise<ItemPage> {
    return transport.call('datasetItems', params);
  }

  return { datasets, selectedId, selected, refresh, importDataset, select, items };
});
