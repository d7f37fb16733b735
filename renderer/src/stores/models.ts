/** Open models (the demo is preloaded), the selected one, and the progress of a model being opened. */
import { defineStore } from 'pinia';
import { computed, ref } from 'vue';

import type { ModelView } from '../../../main/common/api/index.ts';
import { useTransport } from '../api/index.ts';
import { freshFetch } from '../lib/freshFetch.ts';

export interface ModelLoading {
  readonly folder: string;
  readonly done: number;
  readonly total: number;
  readonly label: string;
}

export const useModelsStore = defineStore('models', () => {
  const transport = useTransport();
  const models = ref<ModelView[]>([]);
  const selectedId = ref<string | null>(null);
  const selected = computed(() => models.value.find((m) => m.id === selectedId.value) ?? null);
  const loading = ref<ModelLoading | null>(null);
  const fetches = freshFetch();

  transport.onEvent((event) => {
    if (event.type !== 'model-loading') return;
    const { folder, done, total, label } = event;
    // The last step's event ends the strip even when another window opened the model.
    loading.value = total > 0 && done >= total ? null : { folder, done, total, label };
  });

  function keepSelection(): void {
    if (!models.value.some((m) => m.id === selectedId.value)) {
      selectedId.value = (models.value.find((m) => m.isDemo) ?? models.value[0])?.id ?? null;
    }
  }

  async function refresh(): Promise<void> {
    models.value = await fetches.latest(() => transport.call('listModels', {}));
    keepSelection();
  }

  async function open(folder: string): Promise<ModelView> {
    loading.value = { folder, done: 0, total: 0, label: 'Opening…' };
    try {
      const model = await transport.call('openModel', { folder });
      fetches.changed();
      models.value = [...models.value.filter((m) => m.id !== model.id), model];
      selectedId.value = model.id;
      return model;
    } finally {
      loading.value = null;
    }
  }

  async function close(id: string): Promise<void> {
    await transport.call('closeModel', { modelId: id });
    fetches.changed();
    models.value = models.value.filter((m) => m.id !== id);
    keepSelection();
  }

  function select(id: string | null): void {
    selectedId.value = id;
  }

  return { models, selectedId, selected, loading, refresh, open, close, select };
});
