/**
 * The model folders and datasets used before (the backend keeps them in the workspace, so they survive
 * restarts), kept current by the backend's `recent` events; opening one again, or forgetting it.
 */
import { defineStore } from 'pinia';
import { ref } from 'vue';

import type { RecentItem, RecentKind, RecentView } from '../../../main/common/api/index.ts';
import { useTransport } from '../api/index.ts';
import { freshFetch } from '../lib/freshFetch.ts';
import { useAppStore } from './app.ts';
import { useDatasetsStore } from './datasets.ts';
import { useModelsStore } from './models.ts';

export const useRecentStore = defineStore('recent', () => {
  const transport = useTransport();
  const app = useAppStore();
  const models = ref<readonly RecentItem[]>([]);
  const datasets = ref<readonly RecentItem[]>([]);
  let noticeShown: string | null = null;
  const fetches = freshFetch();

  function apply(view: RecentView): void {
    models.value = view.models;
    datasets.value = view.datasets;
    // A damaged or unwritable list is said once, not at every change.
    if (view.notice !== null && view.notice !== noticeShown) app.notify('error', view.notice);
    noticeShown = view.notice;
  }

  transport.onEvent((event) => {
    if (event.type !== 'recent') return;
    fetches.changed();
    apply(event.recent);
  });

  async function refresh(): Promise<void> {
    apply(await fetches.latest(() => transport.call('listRecent', {})));
  }

  /** Opens the model or imports the dataset again (with the options it was imported with). */
  async function reopen(kind: RecentKind, item: RecentItem): Promise<void> {
    if (kind === 'model') {
      const model = await useModelsStore().open(item.path);
      app.notify('info', `Opened ${model.name}`);
    } else {
      const dataset = await useDatasetsStore().importDataset({ path: item.path, ...item.options });
      app.notify('info', `Imported ${dataset.name}: ${dataset.itemCount} items`);
    }
  }

  async function forget(kind: RecentKind, item: RecentItem): Promise<void> {
    const view = await transport.call('forgetRecent', { kind, path: item.path });
    fetches.changed();
    apply(view);
    // A forgotten dataset leaves the picker too (unless runs refer to it).
    if (kind === 'dataset') await useDatasetsStore().refresh();
  }

  return { models, datasets, refresh, reopen, forget };
});
