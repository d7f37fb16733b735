/**
 * A value loaded from the backend whenever its source changes: the newest request wins (a slow reply
 * for an old source never overwrites a newer one), errors are kept for the view to show.
 */
import { ref, shallowRef, watch, type Ref, type WatchSource } from 'vue';

import { errorText } from '../stores/app.ts';

export interface AsyncData<T> {
  readonly value: Ref<T | null>;
  readonly loading: Ref<boolean>;
  readonly error: Ref<string | null>;
  reload(): void;
}

export function useAsyncData<S, T>(
  source: WatchSource<S>,
  load: (source: S) => Promise<T> | null,
): AsyncData<T> {
  const value = shallowRef<T | null>(null);
  const loading = ref(false);
  const error = ref<string | null>(null);
  let generation = 0;
  let current: S;

  async function run(next: S): Promise<void> {
    current = next;
    const mine = ++generation;
    const pending = load(next);
    if (!pending) {
      value.value = null;
      loading.value = false;
      error.value = null;
      return;
    }
    loading.value = true;
    try {
      const result = await pending;
      if (mine !== generation) return;
      value.value = result;
      error.value = null;
    } catch (e) {
      if (mine !== generation) return;
      value.value = null;
      error.value = errorText(e);
    } finally {
      if (mine === generation) loading.value = false;
    }
  }

  watch(source, (next) => void run(next), { immediate: true, deep: true });
  return { value, loading, error, reload: () => void run(current) };
}
