/**
 * The job queue the Runs form sends runs to: its Redis URL as typed (empty: runs compute here) and its
 * live workers. The URL lasts for this window only and is never written to storage: it may hold a
 * password.
 */
import { defineStore } from 'pinia';
import { computed, ref } from 'vue';

import type { WorkersView } from '../../../main/common/api/index.ts';
import { useTransport } from '../api/index.ts';

export const useQueueStore = defineStore('queue', () => {
  const transport = useTransport();
  const url = ref('');
  /** The queue to send runs to, or null when they compute here. */
  const queue = computed(() => url.value.trim() || null);

  function workers(queue: string): Promise<WorkersView> {
    return transport.call('listWorkers', { queue });
  }

  return { url, queue, workers };
});
