/** Every sample of a run (paged from the backend 1000 at a time), reloaded when the run changes. */
import type { Ref } from 'vue';

import type { SampleListEntry } from '../../../main/common/api/index.ts';
import { useRunsStore } from '../stores/runs.ts';
import { useAsyncData, type AsyncData } from './useAsyncData.ts';

const PAGE = 1000;

export function useRunSamples(runId: Ref<number | undefined>): AsyncData<SampleListEntry[]> {
  const runs = useRunsStore();
  return useAsyncData(
    () => runId.value,
    (id) => {
      if (id === undefined) return null;
      return (async () => {
        const all: SampleListEntry[] = [];
        for (let offset = 0; ; offset += PAGE) {
          const page = await runs.samples(id, offset, PAGE);
          all.push(...page.samples);
          if (page.samples.length === 0 || all.length >= page.total) return all;
        }
      })();
    },
  );
}
