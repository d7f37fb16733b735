/**
 * Which rows (runs, jobs, …) have an action in flight, so their buttons disable while it runs.
 * `act(key, work)` marks the key, runs the work, reports a failure as a notice and clears the mark.
 */
import { shallowRef } from 'vue';

import { useAppStore } from '../stores/app.ts';

export function useBusyKeys<K>() {
  const app = useAppStore();
  const keys = shallowRef<ReadonlySet<K>>(new Set());

  async function act(key: K, work: () => Promise<unknown>): Promise<void> {
    keys.value = new Set([...keys.value, key]);
    try {
      await work();
    } catch (error) {
      app.reportError(error);
    } finally {
      const next = new Set(keys.value);
      next.delete(key);
      keys.value = next;
    }
  }

  return { isBusy: (key: K) => keys.value.has(key), act };
}
